// SCIM provisioning in a real browser (Debian's chromium, driven by
// playwright-core): an owner, already signed in, opens /app's "SCIM
// provisioning" section, which says "No SCIM activity yet.", and issues a
// token (through the confirmation step when one may exist); the token and the
// base URL are read from the page's read-only fields, and this script then
// uses them as an identity provider would (`application/scim+json`, the
// bearer token): it creates the member's user, then a group "Engineering"
// holding it. Reloaded, the page lists the member with "Engineering" in its
// Groups column, says "Last SCIM activity: <time> (group created, Engineering).", and no
// longer shows the token. "Turn SCIM off", confirmed, deletes the token (the
// last activity stays the group's: token events are not SCIM's changes): the
// identity provider is then refused (401, a SCIM error body).
//
//   node scim_journey.mjs --app <base>/app --session=<owner session token> --member <email to provision>
//        [--shots <dir>]
//
// The token is never printed. Exits 0 when every check holds; otherwise
// prints why and exits 1.
import { chromium } from "playwright-core";
import { parseArgs } from "node:util";

const { values: a } = parseArgs({
  options: {
    app: { type: "string" }, session: { type: "string" }, member: { type: "string" }, shots: { type: "string" },
  },
});
const browser = await chromium.launch({
  executablePath: process.env.ADMIT_CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
const errors = [];
let page;
const shot = async (name) => { if (a.shots) await page.screenshot({ path: `${a.shots}/${name}.png`, fullPage: true }); };

const MEDIA_TYPE = "application/scim+json";
const USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error";

// One SCIM request as an identity provider sends it: { status, type, body }.
async function scim(base, token, method, path, body) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, accept: MEDIA_TYPE, ...(body ? { "content-type": MEDIA_TYPE } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (_) { json = text; }
  return { status: res.status, type: res.headers.get("content-type") || "", www: res.headers.get("www-authenticate"), body: json };
}
const said = (r) => `${r.status} ${r.type}: ${JSON.stringify(r.body)}`;

const section = () => page.locator("div.scim");
const state = () => section().locator('p[id^="scim-state-"]');
const activity = () => section().locator('p[id^="scim-activity-"]');
// After a token change the panel reads GET /orgs/{org}/scim again, the activity line busy meanwhile.
const activityRead = () => section().locator('p[id^="scim-activity-"]:not([aria-busy])').waitFor({ state: "attached", timeout: 20000 });
// The activity line says the group was created, at a time near now.
async function groupCreatedShown(when) {
  const text = (await activity().textContent()).trim();
  if (!/^Last SCIM activity: \d{4}-\d\d-\d\d \d\d:\d\d UTC \(group created, Engineering\)\.$/.test(text)) {
    throw new Error(`${when}, the SCIM activity line says ${JSON.stringify(text)}`);
  }
  const at = Date.parse(await activity().locator("time").getAttribute("datetime"));
  if (!(Math.abs(Date.now() - at) < 10 * 60 * 1000)) throw new Error(`${when}, the last SCIM activity is dated ${new Date(at).toISOString()}`);
}
const members = () => page.locator("table").filter({ has: page.locator("thead th", { hasText: /^Groups$/ }) });
const memberRow = (email) => members().locator("tbody tr").filter({ has: page.locator("td:first-child", { hasText: email }) });

try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.addCookies([{ name: "admit_session", value: a.session, url: a.app }]);
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: new URL(a.app).origin });
  page = await context.newPage();
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(a.app);
  await section().getByRole("heading", { name: "SCIM provisioning" }).waitFor({ timeout: 20000 });
  await page.waitForFunction(() => !/Loading/.test(document.querySelector('p[id^="scim-state-"]')?.textContent || "Loading"),
    null, { timeout: 20000 });
  if (!(await activity().isVisible()) || (await activity().textContent()).trim() !== "No SCIM activity yet.") {
    throw new Error(`before any provisioning, the SCIM activity line says ${JSON.stringify(await activity().textContent())}`);
  }
  await shot("1-scim-section");

  // 1. A token, after its confirmation when the page cannot tell that none exists.
  await section().getByRole("button", { name: "Issue a SCIM token" }).click();
  const again = section().getByRole("button", { name: "Issue a new token" });
  const tokenField = page.getByLabel("SCIM token", { exact: true });
  await again.or(tokenField).first().waitFor({ timeout: 20000 });
  if (await again.isVisible()) {
    await shot("2-confirm-issue");
    await again.click();
  }
  await tokenField.waitFor({ timeout: 20000 });
  const urlField = page.getByLabel("SCIM base URL", { exact: true });
  const token = await tokenField.inputValue();
  const base = await urlField.inputValue();
  if (!(await tokenField.evaluate((x) => x.readOnly)) || !(await urlField.evaluate((x) => x.readOnly))) {
    throw new Error("the token or the base URL can be edited");
  }
  if (token.length < 32 || /\s/.test(token)) throw new Error(`the token shown is not a token (${token.length} characters)`);
  const scimRoot = new URL("/scim/v2/", a.app).href;
  if (!base.startsWith(scimRoot) || !/^[^/]+$/.test(base.slice(scimRoot.length))) {
    throw new Error(`the base URL shown is ${base}, not ${scimRoot}<org>`);
  }
  const issued = page.getByRole("region", { name: "New SCIM token" });
  if ((await issued.getByRole("button", { name: "Copy" }).count()) !== 2) throw new Error("not two Copy buttons");
  if (!/SCIM is on/.test(await state().textContent())) throw new Error(`the state says: ${await state().textContent()}`);
  // "Copy" puts the token itself on the clipboard (or selects it where the clipboard is out of reach).
  await issued.locator('button[data-copy="token"]').click();
  await page.waitForSelector("#status:has-text('The SCIM token')", { timeout: 20000 });
  const copied = await page.locator("#status").textContent();
  if (/copied/.test(copied)) {
    if ((await page.evaluate(() => navigator.clipboard.readText())) !== token) throw new Error("Copy put something else on the clipboard");
  } else if (!/selected/.test(copied)) {
    throw new Error(`after Copy, the page says: ${copied}`);
  }
  // Read again after the token was issued: a token's issue is no SCIM activity.
  await activityRead();
  if ((await activity().textContent()).trim() !== "No SCIM activity yet.") {
    throw new Error(`after a token was issued, the SCIM activity line says ${JSON.stringify(await activity().textContent())}`);
  }
  await shot("3-token-issued");

  // 2. The identity provider provisions the member, then a group holding it.
  const user = await scim(base, token, "POST", "/Users", {
    schemas: [USER_URN], userName: a.member, emails: [{ value: a.member, type: "work", primary: true }],
  });
  if (user.status !== 201 || !user.type.startsWith(MEDIA_TYPE) || !user.body?.id) throw new Error(`POST /Users: ${said(user)}`);
  if (user.body.userName !== a.member) throw new Error(`POST /Users answered userName ${user.body.userName}`);
  const group = await scim(base, token, "POST", "/Groups", {
    schemas: [GROUP_URN], displayName: "Engineering", members: [{ value: user.body.id }],
  });
  if (group.status !== 201 || !group.type.startsWith(MEDIA_TYPE) || group.body?.displayName !== "Engineering") {
    throw new Error(`POST /Groups: ${said(group)}`);
  }

  // 3. Reloaded: the member and its group are listed; the token is no longer shown.
  await page.reload();
  await memberRow(a.member).waitFor({ timeout: 20000 });
  const groups = (await memberRow(a.member).locator("td.groups").textContent()).trim();
  if (groups !== "Engineering") throw new Error(`the Groups column of ${a.member} says ${JSON.stringify(groups)}`);
  const status = (await memberRow(a.member).locator("td").nth(2).textContent()).trim();
  if (status !== "invited") throw new Error(`${a.member} is shown ${status}, not invited`);
  await page.waitForFunction(() => /SCIM is on/.test(document.querySelector('p[id^="scim-state-"]')?.textContent || ""),
    null, { timeout: 20000 }).catch(async () => { throw new Error(`after a reload, the state says: ${await state().textContent()}`); });
  if ((await page.content()).includes(token)) throw new Error("the token is still shown after a reload");
  if (await tokenField.count()) throw new Error("a SCIM token field is still shown after a reload");
  // The state and the activity come from the same read.
  await groupCreatedShown("after a reload");
  await shot("4-member-in-engineering");

  // 4. SCIM off, after its confirmation: the old token is refused.
  await section().getByRole("button", { name: "Turn SCIM off" }).click();
  await section().getByRole("button", { name: "Delete the token" }).click();
  await page.waitForFunction(() => /SCIM is off/.test(document.querySelector('p[id^="scim-state-"]')?.textContent || ""),
    null, { timeout: 20000 });
  await page.waitForSelector("#status:has-text('SCIM is off')", { timeout: 20000 });
  // Read again after the token was deleted: a token's deletion is no SCIM activity.
  await activityRead();
  await groupCreatedShown("after SCIM was turned off");
  await shot("5-scim-off");
  const refused = await scim(base, token, "GET", "/Users");
  if (refused.status !== 401 || !refused.type.startsWith(MEDIA_TYPE) || !refused.body?.schemas?.includes(ERROR_URN)
      || refused.body.status !== "401" || typeof refused.body.detail !== "string") {
    throw new Error(`GET /Users with the deleted token: ${said(refused)}`);
  }
  if (!/^Bearer/.test(refused.www || "")) throw new Error(`WWW-Authenticate: ${refused.www}`);

  if (errors.length) throw new Error(`page errors: ${errors.join("; ")}`);
  console.log("SCIM turned on, the member provisioned into Engineering, SCIM turned off");
  await browser.close();
} catch (e) {
  if (page) await shot("failed").catch(() => {});
  console.error(`journey failed at ${page ? page.url() : "start"}: ${e.message}`);
  if (errors.length) console.error(`page errors: ${errors.join("; ")}`);
  await browser.close();
  process.exit(1);
}
