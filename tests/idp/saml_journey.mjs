// The SAML journey in a real browser (Debian's chromium, driven by
// playwright-core), as a newcomer does it in the demo: an owner switches the
// organization to SAML on the /app page by pasting the IdP's metadata, then
// an invited member opens the invitation link, signs in at the SAML IdP
// (tests/idp/saml_idp.py), whose form posts back to Admit, and sets a master
// password. The owner also sets the groups and email attributes, and the
// form shows them again after a reload.
//
//   node saml_journey.mjs --app <base>/app --session <owner session token>
//        --metadata <IdP metadata XML file> --link <invitation link>
//        --email <member email> --password <master password> [--shots <dir>]
//
// Exits 0 when the member's page says "Status: accepted"; otherwise prints why and exits 1.
import { chromium } from "playwright-core";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

const { values: a } = parseArgs({
  options: {
    app: { type: "string" }, session: { type: "string" }, metadata: { type: "string" },
    link: { type: "string" }, email: { type: "string" }, password: { type: "string" }, shots: { type: "string" },
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
try {
  // The owner, already signed in (the session cookie the pages use).
  const owner = await browser.newContext();
  await owner.addCookies([{ name: "admit_session", value: a.session, url: a.app }]);
  page = await owner.newPage();
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(a.app);
  const protocol = page.locator('select[id^="protocol-"]').first();
  await protocol.waitFor({ timeout: 20000 });
  await protocol.selectOption("saml");
  await page.locator('textarea[id^="idp-metadata-"]').first().fill(readFileSync(a.metadata, "utf8"));
  // The attributes naming the member's groups and email (`email` is the test IdP's).
  const groupsUri = "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups";
  await page.getByLabel("Groups attribute (optional)", { exact: true }).fill(groupsUri);
  await page.getByLabel("Email attribute (optional)", { exact: true }).fill("email");
  await page.locator('input[id^="enabled-"]').first().check();
  await page.click("text=Save single sign-on");
  await page.waitForSelector("text=Single sign-on saved.", { timeout: 20000 });
  await shot("1-saml-configured");
  // Reloaded, the form shows what was saved: the attributes round-trip.
  await page.reload();
  await page.locator('select[id^="protocol-"]:not([disabled])').first().waitFor({ timeout: 20000 });
  const saved = {
    protocol: await protocol.inputValue(),
    groups: await page.locator('input[id^="groups-attribute-"]').first().inputValue(),
    email: await page.locator('input[id^="email-attribute-"]').first().inputValue(),
    name: await page.locator('input[id^="name-attribute-"]').first().inputValue(),
  };
  const expected = { protocol: "saml", groups: groupsUri, email: "email", name: "" };
  if (JSON.stringify(saved) !== JSON.stringify(expected)) {
    throw new Error(`after a reload the form shows ${JSON.stringify(saved)}, not ${JSON.stringify(expected)}`);
  }
  await owner.close();

  // The member, in a browser of their own.
  const member = await browser.newContext();
  page = await member.newPage();
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(a.link);
  await page.waitForSelector('input[name="email"]', { timeout: 20000 });
  await shot("2-saml-idp");
  await page.fill('input[name="email"]', a.email);
  await page.click('button[type="submit"]');
  await page.waitForSelector("#pw", { timeout: 20000 });
  await shot("3-setup");
  if (!page.url().endsWith("/setup")) throw new Error(`the setup token is left in the address bar: ${page.url()}`);
  await page.fill("#pw", a.password);
  await page.fill("#pw2", a.password);
  await page.click('button[type="submit"]');
  await page.waitForSelector("text=Status: accepted", { timeout: 30000 });
  await shot("4-accepted");
  if (errors.length) throw new Error(`page errors: ${errors.join("; ")}`);
  console.log("accepted");
  await browser.close();
} catch (e) {
  if (page) await shot("failed").catch(() => {});
  console.error(`journey failed at ${page ? page.url() : "start"}: ${e.message}`);
  await browser.close();
  process.exit(1);
}
