// The audit log in a real browser (Debian's chromium, driven by
// playwright-core): an owner, already signed in, opens /app and reads the
// organization's Events table; filters it by type (and gets the API's error
// for a bad time range); shows one member's events with that member's
// "Events" button; then invites 100 people and pages with "More".
//
//   node events_journey.mjs --app <base>/app --session=<owner session token> --owner <owner email>
//        --kept <email of a member invited> --revoked <email of a member invited, then revoked>
//        [--shots <dir>]
//
// Exits 0 when every check holds; otherwise prints why and exits 1.
import { chromium } from "playwright-core";
import { parseArgs } from "node:util";

const { values: a } = parseArgs({
  options: {
    app: { type: "string" }, session: { type: "string" }, owner: { type: "string" },
    kept: { type: "string" }, revoked: { type: "string" }, shots: { type: "string" },
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

// The Events table (found by its caption, its accessible name) as rows of
// { id, when, type, who, member, from, details }; the "no events" row is left out.
const table = () => page.getByRole("table", { name: /^Events/ });
const rows = () => table().locator("tbody tr[data-id]").evaluateAll((trs) => trs.map((tr) => {
  const [when, type, who, member, from, details] = [...tr.cells].map((td) => td.textContent);
  return { id: tr.dataset.id, when, type, who, member, from, details };
}));
// Poll until `check(rows)` returns nothing (all is well) or time runs out;
// then fail with the last complaint and the rows shown.
async function until(what, check, timeout = 20000) {
  const deadline = Date.now() + timeout;
  let complaint, seen;
  for (;;) {
    seen = await rows().catch((e) => { complaint = e.message; return null; });
    if (seen) {
      complaint = check(seen);
      if (!complaint) return seen;
    }
    if (Date.now() > deadline) throw new Error(`${what}: ${complaint}\nrows: ${JSON.stringify(seen, null, 1)}`);
    await page.waitForTimeout(200);
  }
}
const has = (rs, type, member, who) => rs.some((r) => r.type === type && r.member === member && (!who || r.who === who));

try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.addCookies([{ name: "admit_session", value: a.session, url: a.app }]);
  page = await context.newPage();
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(a.app);
  await table().waitFor({ timeout: 20000 });

  // 1. Everything: both invitations and the revocation, by the owner.
  await until("the unfiltered log", (rs) => {
    for (const [type, member] of [["member.invited", a.kept], ["member.invited", a.revoked], ["member.revoked", a.revoked]]) {
      if (!has(rs, type, member, a.owner)) return `no ${type} of ${member} by ${a.owner}`;
    }
    if (rs.some((r) => !/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/.test(r.when))) return "a time not shown as YYYY-MM-DD hh:mm:ss UTC";
    if (rs[0].type !== "member.revoked") return "the newest event (the revocation) is not first";
  });
  const headers = await table().locator("thead th[scope=col]").allTextContents();
  if (headers.join("|") !== "When|Event|Who|Member|From|Details") throw new Error(`column headers: ${headers}`);
  await shot("1-events");

  // 2. Only revocations.
  await page.getByLabel("Event type").selectOption("member.revoked");
  await page.getByRole("button", { name: "Apply" }).click();
  await until("filtered by type member.revoked", (rs) => {
    if (rs.length !== 1) return `${rs.length} rows, not 1`;
    if (!has(rs, "member.revoked", a.revoked, a.owner)) return "not the revocation";
  });
  if (!(await table().locator("caption").textContent()).includes("type member.revoked")) throw new Error("the caption does not say the filter");
  await shot("2-revocations");

  // 3. A bad filter (from after to): the API's 400 shows in the status line.
  await page.getByLabel("From (your local time)").fill("2030-01-02T00:00");
  await page.getByLabel("To (your local time)").fill("2030-01-01T00:00");
  await page.getByRole("button", { name: "Apply" }).click();
  await page.waitForSelector("#status.error", { timeout: 20000 });
  const said = await page.locator("#status").textContent();
  if (!/start/.test(said)) throw new Error(`the error says: ${said}`);
  await shot("3-bad-filter");
  await page.getByLabel("From (your local time)").fill("");
  await page.getByLabel("To (your local time)").fill("");

  // 4. One member's events, from the member listing's "Events" button: the
  // type filter goes back to all, the member filter holds the member's id.
  await page.getByRole("button", { name: `Events of ${a.kept}` }).click();
  await until(`the events of ${a.kept}`, (rs) => {
    if (!rs.length) return "no rows";
    const other = rs.find((r) => r.member !== a.kept);
    if (other) return `a row of ${other.member}`;
    if (!has(rs, "member.invited", a.kept, a.owner)) return "no invitation";
  });
  if ((await page.getByLabel("Event type").inputValue()) !== "") throw new Error("the type filter stayed");
  if (!/^mem_/.test(await page.getByLabel("Member ID").inputValue())) throw new Error("the member filter holds no member id");
  if (!(await table().locator("caption").textContent()).includes(a.kept)) throw new Error("the caption does not name the member");
  await shot("4-member-events");

  // 5. The revoked member's events: its invitation and revocation.
  await page.getByRole("button", { name: `Events of ${a.revoked}` }).click();
  await until(`the events of ${a.revoked}`, (rs) => {
    const other = rs.find((r) => r.member !== a.revoked);
    if (other) return `a row of ${other.member}`;
    if (!has(rs, "member.invited", a.revoked, a.owner) || !has(rs, "member.revoked", a.revoked, a.owner)) return "not its invitation and revocation";
  });
  await shot("5-revoked-member-events");

  // 6. More than a page: 100 invitations through the invite form make 105
  // events; the first page holds 100, "More" brings the rest below them.
  const domain = a.kept.split("@")[1];
  await page.getByLabel("Emails").fill(Array.from({ length: 100 }, (_, i) => `bulk-${i}@${domain}`).join("\n"));
  await page.getByRole("button", { name: "Send invitations" }).click();
  await page.waitForSelector("text=Invited 100.", { timeout: 30000 });
  await page.getByRole("button", { name: "Clear filters" }).click();
  const more = page.getByRole("button", { name: "More", exact: true });
  await more.waitFor({ timeout: 20000 });
  await until("the first page", (rs) => (rs.length === 100 ? undefined : `${rs.length} rows, not 100`));
  await more.click();
  const all = await until("after More", (rs) => {
    if (rs.length < 105) return `${rs.length} rows, not at least 105`;
    if (new Set(rs.map((r) => r.id)).size !== rs.length) return "an event twice";
    if (rs[rs.length - 1].type !== "org.created") return "the oldest event (org.created) is not last";
  });
  if (await more.isVisible()) throw new Error(`"More" still shown after all ${all.length} events`);
  await shot("6-more");

  if (errors.length) throw new Error(`page errors: ${errors.join("; ")}`);
  console.log("events shown");
  await browser.close();
} catch (e) {
  if (page) await shot("failed").catch(() => {});
  console.error(`journey failed at ${page ? page.url() : "start"}: ${e.message}`);
  if (errors.length) console.error(`page errors: ${errors.join("; ")}`);
  await browser.close();
  process.exit(1);
}
