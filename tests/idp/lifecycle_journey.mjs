// A member's whole lifecycle in a real browser (Debian's chromium, driven by
// playwright-core), with Admit's pages as the client. One part per run
// (`--part`); the Rust test sets the stage through the API between parts and
// checks, through the API, what each part did.
//
//  roles      an owner, signed in (--session), changes --member's role to
//             admin on /app (and cannot demote itself, the last owner), sets
//             the seat limit and autoscaling (a limit below the --occupied
//             seats, and autoscaling without a limit, are refused on the
//             page), the invitation lifetime and reminder days, and the
//             admin group; after a reload the page shows them. The member,
//             now an admin (--member-session), is offered only the roles an
//             admin may give, and no seat or admin group form.
//  delete     a new member creates an account on the accept page (--link-a),
//             accepts a second invitation signed out, through "Sign in to
//             accept" with the master password (--link-b), and a third signed
//             in, with "Accept as" (--link-c): both sent with the token only.
//             Then deletes the account on /app through the confirmation step
//             (a wrong email and a wrong master password first): signed out,
//             and signing in again fails.
//  sso-setup  a new member creates an account on the accept page (--link-a)
//             and accepts an invitation of an organization with single
//             sign-on with that master password (--link-b).
//  sso-link   that member (its organization now requires single sign-on)
//             signs in on /app: refused with a link token, the page offers to
//             link; the IdP signs in --idp-login (another email) and the
//             identity is linked; signing in with the password again is
//             refused without a link token. Then, signed out, it opens
//             --link-c and signs in with the single sign-on of its
//             organization (--identifier) from the accept page, comes back
//             through /app's "Back to your invitation" and accepts as
//             itself; then "Link single sign-on" in the console with the
//             identifier typed (link=1) signs it in again. With
//             --owner-session, that organization's owner links its own
//             account from the console ("Link single sign-on", the
//             identifier from the settings; --owner-idp-login at the IdP).
//
//   node lifecycle_journey.mjs --part roles --app <base>/app --session=<owner session> --member <email>
//        --member-session=<member session> --occupied <seats occupied> [--shots <dir>]
//   node lifecycle_journey.mjs --part delete --app <base>/app --link-a <link> --link-b <link> --link-c <link>
//        --email <member> --password <master password> [--shots <dir>]
//   node lifecycle_journey.mjs --part sso-setup --app <base>/app --link-a <link> --link-b <link>
//        --email <member> --password <master password> [--shots <dir>]
//   node lifecycle_journey.mjs --part sso-link --app <base>/app --email <member> --password <master password>
//        --identifier <sso identifier> --idp-login <login> --link-c <link>
//        [--owner-session=<session> --owner-idp-login <login>] [--shots <dir>]
//
// Prints `RESULT {json}` and exits 0 when every check holds; otherwise
// prints why and exits 1.
import { chromium } from "playwright-core";
import { parseArgs } from "node:util";

const { values: a } = parseArgs({
  options: {
    part: { type: "string" }, app: { type: "string" }, shots: { type: "string" },
    session: { type: "string" }, member: { type: "string" }, "member-session": { type: "string" }, occupied: { type: "string" },
    "link-a": { type: "string" }, "link-b": { type: "string" }, "link-c": { type: "string" },
    email: { type: "string" }, password: { type: "string" },
    identifier: { type: "string" }, "idp-login": { type: "string" },
    "owner-session": { type: "string" }, "owner-idp-login": { type: "string" },
  },
});
const base = new URL(a.app).origin;
const browser = await chromium.launch({
  executablePath: process.env.ADMIT_CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
const errors = [];
let page;
let step = 0;
const shot = async (name) => { if (a.shots && page) await page.screenshot({ path: `${a.shots}/${++step}-${name}.png`, fullPage: true }); };
const fail = (why) => { throw new Error(why); };
const T = 30000;

// Every request to Admit, by browser context.
const sent = [];
async function newPage(who, session) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  if (session) await context.addCookies([{ name: "admit_session", value: session, url: a.app }]);
  const p = await context.newPage();
  p.on("pageerror", (e) => errors.push(`${who}: ${e.message}`));
  p.on("request", (req) => {
    if (req.url().startsWith(base)) sent.push({ who, method: req.method(), path: new URL(req.url()).pathname, query: new URL(req.url()).searchParams, body: req.postData() || "" });
  });
  return p;
}
const requests = (who, method, path) => sent.filter((r) => r.who === who && r.method === method && r.path === path);
const status = () => page.locator("#status");
// The status line says `text` (a string: contained; a RegExp: matched), as `kind`.
async function said(text, kind) {
  const deadline = Date.now() + T;
  for (;;) {
    const [got, cls] = await Promise.all([status().textContent(), status().getAttribute("class")]);
    const ok = typeof text === "string" ? got.includes(text) : text.test(got);
    if (ok && (!kind || cls === kind)) return got;
    if (Date.now() > deadline) fail(`the status line says "${got}" (${cls}), not ${text} (${kind || "any"})`);
    await page.waitForTimeout(100);
  }
}
// Poll `check` (returns nothing when all is well, else a complaint).
async function until(what, check, timeout = T) {
  const deadline = Date.now() + timeout;
  for (;;) {
    let complaint;
    try { complaint = await check(); } catch (e) { complaint = e.message; }
    if (!complaint) return;
    if (Date.now() > deadline) fail(`${what}: ${complaint}`);
    await page.waitForTimeout(150);
  }
}

// Sign in at the test IdP as `login` (a login form, a consent form, or
// neither when the IdP remembers the browser) until the browser is back at
// Admit on a path matching `back`.
async function idpSignIn(login, back) {
  const deadline = Date.now() + T;
  for (;;) {
    const url = new URL(page.url());
    if (url.origin === base && back.test(url.pathname)) return;
    if (url.origin === base && /\/sso\//.test(url.pathname)) {
      const text = await page.locator("body").textContent().catch(() => "");
      if (/error|could not/i.test(text || "")) fail(`Admit refused the sign-in: ${(text || "").trim().slice(0, 300)}`);
    }
    try {
      const form = page.locator('input[name="login"]');
      const consent = page.locator('input[name="prompt"][value="consent"]');
      if (await form.count()) {
        await form.fill(login);
        await page.fill('input[name="password"]', "anything");
        await page.click('button[type="submit"]');
        await form.waitFor({ state: "detached", timeout: T });
        continue;
      }
      if (await consent.count()) {
        await page.click('button[type="submit"]');
        await consent.waitFor({ state: "detached", timeout: T });
        continue;
      }
    } catch (_) { /* the page navigated meanwhile */ }
    if (Date.now() > deadline) fail(`not back at Admit (${back}) from the IdP: at ${page.url()}`);
    await page.waitForTimeout(200);
  }
}

// The member listing's row of `email`, and its role select.
const memberRow = (email) => page.locator("tr[data-member]").filter({ has: page.locator("td:first-child", { hasText: email }) });
const roleSelect = (email) => page.getByLabel(`Role of ${email}`, { exact: true });
const options = (email) => roleSelect(email).locator("option").evaluateAll((os) => os.map((o) => o.value));

const result = {};

async function roles() {
  page = await newPage("owner", a.session);
  await page.goto(a.app);
  await memberRow(a.member).waitFor({ timeout: T });
  const owner = (await page.locator("#content > p").filter({ hasText: "Signed in as" }).textContent()).match(/Signed in as (\S+)\. /)[1];
  if ((await options(a.member)).join() !== "owner,admin,user") fail(`an owner is offered ${await options(a.member)}`);
  if ((await roleSelect(a.member).inputValue()) !== "user") fail("the member is not shown as a user");
  await shot("owner-console");

  // 1. The member becomes an admin; the listing (reloaded) and the events say so.
  await roleSelect(a.member).selectOption("admin");
  await page.getByRole("button", { name: `Change role of ${a.member}`, exact: true }).click();
  await said(`${a.member} is now admin.`, "ok");
  await until("the role change in the events", async () => {
    const rows = await page.locator("tr[data-id]").evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
    if (!rows.some((r) => r[1] === "member.role_changed" && r[3] === a.member && r[5].includes("role user → admin"))) return "no member.role_changed row";
  });
  if ((await roleSelect(a.member).inputValue()) !== "admin") fail("the reloaded listing does not show the member as admin");
  await shot("member-made-admin");

  // 2. The last confirmed owner cannot demote itself: refused, the choice undone.
  await roleSelect(owner).selectOption("admin");
  await page.getByRole("button", { name: `Change role of ${owner}`, exact: true }).click();
  await said("last confirmed owner", "error");
  if ((await roleSelect(owner).inputValue()) !== "owner") fail("the owner's select stays at the refused role");
  await shot("last-owner-kept");

  // 3. Seats.
  const line = page.locator('[id^="seats-occupied-"]');
  const occupied = Number(a.occupied);
  await until("the seats line", async () => {
    const t = await line.textContent();
    if (t !== `Seats: ${occupied} occupied, no limit.`) return `it says "${t}"`;
  });
  const limit = page.getByLabel("Seat limit (empty: no limit)");
  const autoscale = page.getByLabel("Autoscale up to (empty: no autoscaling)");
  const saveSeats = page.getByRole("button", { name: "Save seats", exact: true });
  await limit.fill(String(occupied - 1));
  await saveSeats.click();
  await said("below the seats occupied", "error");
  await limit.fill("");
  await autoscale.fill("8");
  await saveSeats.click();
  await said("autoscale_max", "error");
  await limit.fill("5");
  await saveSeats.click();
  await said("Seats saved.", "ok");
  if ((await line.textContent()) !== `Seats: ${occupied} occupied, limit 5, autoscales up to 8.`) fail(`after saving: ${await line.textContent()}`);
  await shot("seats");

  // 4. Invitations: the lifetime and the reminder days (sorted by the server).
  const days = page.getByLabel("Invitations expire after (days, 1 to 30)");
  const reminders = page.getByLabel("Reminders go out on these days after sending (comma-separated; empty: none)");
  const saveInv = page.getByRole("button", { name: "Save invitation settings", exact: true });
  if ((await days.inputValue()) !== "5" || (await reminders.inputValue()) !== "2, 4") {
    fail(`the defaults shown: ${await days.inputValue()} days, reminders ${await reminders.inputValue()}`);
  }
  await days.fill("7");
  await reminders.fill("9");
  await saveInv.click();
  await said("reminder_days", "error");
  await reminders.fill("3,1");
  await saveInv.click();
  await said("Invitation settings saved.", "ok");
  if ((await reminders.inputValue()) !== "1, 3") fail(`the reminder days shown: ${await reminders.inputValue()}`);
  await shot("invitation-settings");

  // 5. The admin group: sent alone, trimmed.
  const adminGroup = page.getByLabel("Admin group (optional)", { exact: true });
  if ((await adminGroup.inputValue()) !== "") fail(`an admin group is shown before any: ${await adminGroup.inputValue()}`);
  const hint = await adminGroup.evaluate((i) => document.getElementById(i.getAttribute("aria-describedby")).textContent);
  if (!hint.includes("Never makes anyone owner.")) fail(`the admin group's hint: ${hint}`);
  await adminGroup.fill(" Vault Admins ");
  await page.getByRole("button", { name: "Save admin group", exact: true }).click();
  await said("Admin group saved.", "ok");
  if ((await adminGroup.inputValue()) !== "Vault Admins") fail(`the admin group shown: ${await adminGroup.inputValue()}`);
  const put = sent.filter((r) => r.who === "owner" && r.method === "PUT" && r.path.endsWith("/settings")).at(-1);
  if (put.body !== JSON.stringify({ admin_group: "Vault Admins" })) fail(`the admin group's request: ${put.body}`);
  await shot("admin-group");

  // 6. What the page shows after a reload is what was saved.
  await page.reload();
  await memberRow(a.member).waitFor({ timeout: T });
  await until("the saved settings after a reload", async () => {
    const got = [await line.textContent(), await limit.inputValue(), await autoscale.inputValue(), await days.inputValue(), await reminders.inputValue(),
      await adminGroup.inputValue()];
    const want = [`Seats: ${occupied} occupied, limit 5, autoscales up to 8.`, "5", "8", "7", "1, 3", "Vault Admins"];
    if (got.join("|") !== want.join("|")) return `shown: ${got.join(" | ")}`;
  });
  if ((await roleSelect(a.member).inputValue()) !== "admin") fail("after a reload, the member is not admin");
  await shot("after-reload");

  // 7. The member, now an admin: only admin and user to give, none for the owner; no seat or admin group form.
  page = await newPage("admin", a["member-session"]);
  await page.goto(a.app);
  await memberRow(a.member).waitFor({ timeout: T });
  if ((await options(a.member)).join() !== "admin,user") fail(`an admin is offered ${await options(a.member)}`);
  if (await roleSelect(owner).count()) fail("an admin is offered to change an owner's role");
  if ((await memberRow(owner).locator("td.role").textContent()) !== "owner") fail("the owner's role is not shown to the admin");
  if (await page.getByRole("button", { name: "Save seats" }).count()) fail("an admin is offered the seat form");
  if (await page.getByLabel("Admin group (optional)").count()) fail("an admin is offered the admin group form");
  await until("the admin's seats line", async () => {
    const t = await page.locator('[id^="seats-occupied-"]').textContent();
    if (t !== `Seats: ${occupied} occupied, limit 5, autoscales up to 8.`) return `it says "${t}"`;
  });
  await shot("admin-console");
  result.owner = owner;
}

// On an accept page showing an existing account's choices: the accept
// request it sends carries `token` only.
function tokenOnly(who) {
  const accepts = requests(who, "POST", "/invitations/accept");
  const body = JSON.parse(accepts[accepts.length - 1].body);
  if (Object.keys(body).join() !== "token") fail(`the accept request with a session carries ${Object.keys(body)}`);
}

async function newAccount(link) {
  await page.goto(link);
  await page.waitForSelector("#pw2", { timeout: T });
  await page.fill("#pw", a.password);
  await page.fill("#pw2", a.password);
  await page.getByRole("button", { name: "Finish account setup" }).click();
  await page.waitForSelector("text=Status: accepted", { timeout: 60000 });
}

async function deleteAccount() {
  page = await newPage("member");
  // 1. A new account.
  await newAccount(a["link-a"]);
  await shot("account-created");

  // 2. Signed out: "Sign in to accept", with the master password.
  await page.goto(a["link-b"]);
  await page.waitForSelector("#signin-pw", { timeout: T });
  if (await page.locator("#accept-as").count()) fail("“Accept as” offered to a browser not signed in");
  if (!(await page.getByRole("heading", { name: "Sign in to accept" }).count())) fail("no “Sign in to accept”");
  await shot("sign-in-to-accept");
  await page.fill("#signin-pw", "not the master password");
  await page.getByRole("button", { name: "Sign in and accept" }).click();
  await said("That master password is not right.", "error");
  if (requests("member", "POST", "/invitations/accept").length !== 1) fail("an acceptance was sent after sign-in refused the password");
  await page.fill("#signin-pw", a.password);
  await page.getByRole("button", { name: "Sign in and accept" }).click();
  await said("Status: accepted", "ok");
  tokenOnly("member");
  const login = JSON.parse(requests("member", "POST", "/auth/login").pop().body);
  await page.getByRole("link", { name: "Continue to the console" }).waitFor({ timeout: T });

  // 3. Signed in as the invited account: "Accept as".
  await page.goto(a["link-c"]);
  const acceptAs = page.getByRole("button", { name: `Accept as ${a.email}`, exact: true });
  await acceptAs.waitFor({ timeout: T });
  await shot("accept-as");
  await acceptAs.click();
  await said("Status: accepted", "ok");
  tokenOnly("member");
  if (requests("member", "POST", "/invitations/accept").length !== 3) fail("not one acceptance per invitation");

  // 4. The console: delete the account through the confirmation step.
  await page.getByRole("link", { name: "Continue to the console" }).click();
  await page.waitForSelector(`text=Signed in as ${a.email}.`, { timeout: T });
  await page.getByRole("button", { name: "Delete my account", exact: true }).click();
  const confirm = page.getByRole("button", { name: "Delete my account for good", exact: true });
  await confirm.waitFor({ timeout: T });
  await shot("delete-confirmation");
  await page.getByLabel(/^Type your email/).fill(`not-${a.email}`);
  await confirm.click();
  await said("Type your account's email exactly to confirm.", "error");
  if (requests("member", "DELETE", "/me").length) fail("DELETE /me sent with the wrong email typed");
  await page.getByLabel(/^Type your email/).fill(a.email.toUpperCase());
  await confirm.click();
  await said("Your account has a master password: type it", "error");
  await page.getByLabel(/^Your master password/).fill("not the master password");
  await confirm.click();
  await said("That master password is not right.", "error");
  await shot("delete-refused");
  await page.getByLabel(/^Your master password/).fill(a.password);
  await confirm.click();
  await said("Your account is deleted. You are signed out.", "ok");
  await page.waitForSelector("#email", { timeout: T });
  await shot("deleted");
  const deletes = requests("member", "DELETE", "/me").map((r) => JSON.parse(r.body));
  if (deletes.length !== 3) fail(`${deletes.length} DELETE /me sent, not 3`);
  if (Object.keys(deletes[0]).length) fail(`the first DELETE /me (no password typed) carries ${Object.keys(deletes[0])}`);
  // The password hashed as signing in hashes it.
  if (deletes[2].master_password_hash !== login.master_password_hash) fail("DELETE /me's master_password_hash is not what signing in sends");
  if (JSON.stringify(deletes).includes(a.password)) fail("the master password itself was sent");

  // 5. Signed out: a reload asks to sign in, and that account is gone.
  await page.reload();
  await page.waitForSelector("#email", { timeout: T });
  await page.fill("#email", a.email);
  await page.fill("#pw", a.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await said("Wrong email or master password.", "error");
}

async function ssoSetup() {
  page = await newPage("member");
  await newAccount(a["link-a"]);
  // An organization with single sign-on, an existing account: the password form.
  await page.goto(a["link-b"]);
  await page.waitForSelector("#pw", { timeout: T });
  if (await page.locator("#pw2").count()) fail("a new account offered to an existing one");
  await page.fill("#pw", a.password);
  await page.getByRole("button", { name: "Accept invitation" }).click();
  await said("Status: accepted", "ok");
  await shot("sso-org-accepted");
}

async function signInOnApp() {
  await page.goto(a.app);
  await page.waitForSelector("#email", { timeout: T });
  await page.fill("#email", a.email);
  await page.fill("#pw", a.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await said("Your organization requires single sign-on.", "error");
}

async function ssoLink() {
  page = await newPage("member");
  // 1. Refused with a link token: link through the IdP, as another email.
  await signInOnApp();
  await page.waitForSelector("text=Your organization requires single sign-on. Link your account:", { timeout: T });
  await shot("link-offered");
  await page.getByLabel("Your organization's SSO identifier").fill(a.identifier);
  await page.getByRole("button", { name: "Link with single sign-on" }).click();
  await idpSignIn(a["idp-login"], /^\/done$/);
  await shot("linked-done");
  const linking = requests("member", "GET", "/sso/start");
  if (linking.length !== 1 || !linking[0].query.get("link_token") || linking[0].query.get("identifier") !== a.identifier) {
    fail(`the linking sign-in did not start with a link token: ${linking.map((r) => r.query.toString())}`);
  }
  await page.getByRole("link", { name: "Continue" }).click();
  await page.waitForSelector(`text=Signed in as ${a.email}.`, { timeout: T });
  await shot("linked-console");

  // 2. Signed out, the password again: refused, no link token this time.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForSelector("#email", { timeout: T });
  await signInOnApp();
  await page.waitForSelector("text=Your organization requires single sign-on. Sign in with it:", { timeout: T });

  // 3. A new invitation, accepted after the single sign-on of the organization.
  await page.goto(a["link-c"]);
  await page.waitForSelector("#signin-sso", { timeout: T });
  await page.fill("#signin-sso", a.identifier);
  await page.getByRole("button", { name: "Sign in with single sign-on" }).click();
  await idpSignIn(a["idp-login"], /^\/done$/);
  await page.getByRole("link", { name: "Continue" }).click();
  const back = page.getByRole("link", { name: "Back to your invitation" });
  await back.waitFor({ timeout: T });
  await page.waitForSelector(`text=Signed in as ${a.email}.`, { timeout: T });
  await shot("back-to-invitation");
  await back.click();
  const acceptAs = page.getByRole("button", { name: `Accept as ${a.email}`, exact: true });
  await acceptAs.waitFor({ timeout: T });
  await acceptAs.click();
  await said("Status: accepted", "ok");
  tokenOnly("member");
  await shot("accepted-after-sso");
  // Accepted: the way back is forgotten.
  await page.getByRole("link", { name: "Continue to the console" }).click();
  await page.waitForSelector(`text=Signed in as ${a.email}.`, { timeout: T });
  if (await page.getByRole("link", { name: "Back to your invitation" }).count()) fail("the accepted invitation is still offered");

  // 4. Linking from the console, a member typing its organization's
  // identifier (link=1): the identity is this account's already, so it
  // simply signs in again.
  await page.getByLabel("Acme's SSO identifier").fill(a.identifier);
  await page.getByRole("button", { name: "Link single sign-on", exact: true }).click();
  await idpSignIn(a["idp-login"], /^\/done$/);
  const fromConsole = requests("member", "GET", "/sso/start").pop();
  if (fromConsole.query.get("link") !== "1" || fromConsole.query.get("identifier") !== a.identifier) {
    fail(`the console's link did not start /sso/start?identifier=…&link=1: ${fromConsole.query}`);
  }

  // 5. The owner links its own account from the console (link=1), with the
  // organization's identifier from its settings.
  if (a["owner-session"]) {
    page = await newPage("owner", a["owner-session"]);
    await page.goto(a.app);
    const link = page.getByRole("button", { name: "Link single sign-on", exact: true });
    await link.waitFor({ timeout: T });
    await shot("owner-link");
    await link.click();
    await idpSignIn(a["owner-idp-login"], /^\/done$/);
    const start = requests("owner", "GET", "/sso/start");
    if (start.length !== 1 || start[0].query.get("link") !== "1" || start[0].query.get("identifier") !== a.identifier) {
      fail(`the console's link did not start /sso/start?identifier=…&link=1: ${start.map((r) => r.query.toString())}`);
    }
    await shot("owner-linked");
  }
}

try {
  const parts = { roles, delete: deleteAccount, "sso-setup": ssoSetup, "sso-link": ssoLink };
  const run = parts[a.part] || fail(`--part: one of ${Object.keys(parts)}`);
  await run();
  if (errors.length) fail(`page errors: ${errors.join("; ")}`);
  console.log(`RESULT ${JSON.stringify(result)}`);
  await browser.close();
} catch (e) {
  await shot("failed").catch(() => {});
  console.error(`journey failed at ${page ? page.url() : "start"}: ${e.message}`);
  if (errors.length) console.error(`page errors: ${errors.join("; ")}`);
  const status = page ? await page.locator("#status").textContent().catch(() => "") : "";
  if (status) console.error(`status line: ${status}`);
  await browser.close();
  process.exit(1);
}
