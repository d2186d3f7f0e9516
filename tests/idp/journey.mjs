// A member's journey in a real browser (Debian's chromium, driven by
// playwright-core): the invitation link → the IdP's sign-in → a new master
// password → accepted.
//
//   node journey.mjs --link <invitation link> --login <email> --password <master password> [--shots <dir>]
//
// Exits 0 when the page says "Status: accepted"; otherwise prints why and exits 1.
import { chromium } from "playwright-core";
import { parseArgs } from "node:util";

const { values: a } = parseArgs({
  options: { link: { type: "string" }, login: { type: "string" }, password: { type: "string" }, shots: { type: "string" } },
});
const executablePath = process.env.ADMIT_CHROMIUM || "/usr/bin/chromium";

const browser = await chromium.launch({
  executablePath,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
const page = await browser.newPage();
const errors = [];
page.on("pageerror", (e) => errors.push(e.message));
const shot = async (name) => { if (a.shots) await page.screenshot({ path: `${a.shots}/${name}.png`, fullPage: true }); };
try {
  // The invitation page sends a member without an account straight to the IdP.
  await page.goto(a.link);
  await page.waitForSelector('input[name="login"]', { timeout: 20000 });
  await shot("1-idp-sign-in");
  await page.fill('input[name="login"]', a.login);
  await page.fill('input[name="password"]', "anything");
  await page.click('button[type="submit"]');
  // Consent, when the IdP asks for it.
  const next = await Promise.race([
    page.waitForSelector('input[name="prompt"][value="consent"]', { state: "attached", timeout: 20000 }).then(() => "consent"),
    page.waitForURL(/\/setup$/, { timeout: 20000 }).then(() => "setup"),
  ]);
  if (next === "consent") await page.click('button[type="submit"]');
  await page.waitForSelector("#pw", { timeout: 20000 });
  await shot("2-setup");
  if (!page.url().endsWith("/setup")) throw new Error(`the setup token is left in the address bar: ${page.url()}`);
  await page.fill("#pw", a.password);
  await page.fill("#pw2", a.password);
  await page.click('button[type="submit"]');
  await page.waitForSelector("text=Status: accepted", { timeout: 30000 });
  await shot("3-accepted");
  if (errors.length) throw new Error(`page errors: ${errors.join("; ")}`);
  console.log("accepted");
  await browser.close();
} catch (e) {
  await shot("failed").catch(() => {});
  console.error(`journey failed at ${page.url()}: ${e.message}`);
  await browser.close();
  process.exit(1);
}
