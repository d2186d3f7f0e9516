// Domains in a real browser (Debian's chromium, driven by playwright-core):
// an owner, already signed in, opens /app's Domains section; a bad name is
// refused with the API's message; a domain added through the form shows the
// TXT record to publish and "Verify now" says it is not there yet; the
// domain whose record the test published verifies; the added one is removed.
// Then, signed out, the /sso page takes an email: one of another domain is
// answered on the page, one of the verified domain lands at the IdP.
//
//   node domains_journey.mjs --app <base>/app --session=<owner session token> --domain <added, record published>
//        --member <email in that domain> --stranger <email in no verified domain> [--shots <dir>]
//
// Exits 0 when every check holds; otherwise prints why and exits 1.
import { chromium } from "playwright-core";
import { parseArgs } from "node:util";

const { values: a } = parseArgs({
  options: {
    app: { type: "string" }, session: { type: "string" }, domain: { type: "string" },
    member: { type: "string" }, stranger: { type: "string" }, shots: { type: "string" },
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
const table = () => page.getByRole("table", { name: /^Domains/ });
const row = (domain) => table().locator(`tbody tr[data-domain="${domain}"]`);

try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.addCookies([{ name: "admit_session", value: a.session, url: a.app }]);
  page = await context.newPage();
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(a.app);
  await table().waitFor({ timeout: 20000 });
  await row(a.domain).waitFor({ timeout: 20000 });
  const status = await row(a.domain).textContent();
  if (!/not verified/.test(status)) throw new Error(`${a.domain} is not shown unverified: ${status}`);

  // 1. A public suffix is refused with the API's reason; nothing is added.
  const input = page.getByLabel("Domain", { exact: true });
  await input.fill("co.uk");
  await page.getByRole("button", { name: "Add domain" }).click();
  await page.waitForSelector("text=/public suffix/", { timeout: 20000 });
  if (await table().locator('tbody tr[data-domain="co.uk"]').count()) throw new Error("co.uk was added");
  await shot("1-refused");

  // 2. Added through the form: the record to publish, and not verified yet.
  const extra = `extra.${a.domain}`;
  await input.fill(extra.toUpperCase());
  await page.getByRole("button", { name: "Add domain" }).click();
  await row(extra).waitFor({ timeout: 20000 });
  const values = await row(extra).locator("input[readonly]").evaluateAll((xs) => xs.map((x) => x.value));
  if (values[0] !== `_admit-challenge.${extra}` || !/^admit-verification=[A-Za-z0-9_-]{43}$/.test(values[1] || "")) {
    throw new Error(`the record shown for ${extra}: ${JSON.stringify(values)}`);
  }
  if ((await row(extra).getByRole("button", { name: "Copy" }).count()) !== 2) throw new Error("no Copy buttons");
  await row(extra).getByRole("button", { name: "Verify now" }).click();
  await page.waitForSelector("text=/DNS record that proves this domain was not found/", { timeout: 20000 });
  await shot("2-not-verified");

  // 3. The published record verifies the test's domain.
  await row(a.domain).getByRole("button", { name: "Verify now" }).click();
  await page.waitForFunction(
    (d) => /(^|\s)verified/.test(document.querySelector(`tr[data-domain="${d}"]`)?.cells[1]?.textContent || "")
      && !/not verified/.test(document.querySelector(`tr[data-domain="${d}"]`)?.cells[1]?.textContent || ""),
    a.domain, { timeout: 20000 });
  await shot("3-verified");

  // 4. The added one is removed, after its confirmation.
  await row(extra).getByRole("button", { name: "Remove" }).click();
  await page.getByRole("button", { name: "Confirm removal" }).click();
  await row(extra).waitFor({ state: "detached", timeout: 20000 });
  await shot("4-removed");

  // 5. Signed out, the /sso page takes an email.
  await context.clearCookies();
  const sso = new URL("/sso", a.app).href;
  await page.goto(sso);
  await page.getByLabel(/work email/).fill(a.stranger);
  await page.getByRole("button", { name: "Continue" }).click();
  await page.waitForSelector("text=/No organization with single sign-on has verified/", { timeout: 20000 });
  if (new URL(page.url()).pathname !== "/sso") throw new Error(`left the /sso page: ${page.url()}`);
  await shot("5-unknown-domain");
  await page.getByLabel(/work email/).fill(a.member);
  await page.getByRole("button", { name: "Continue" }).click();
  await page.waitForSelector('input[name="login"]', { timeout: 20000 });
  await shot("6-at-the-idp");

  if (errors.length) throw new Error(`page errors: ${errors.join("; ")}`);
  console.log("domains shown, verified, and an email routed to its IdP");
  await browser.close();
} catch (e) {
  if (page) await shot("failed").catch(() => {});
  console.error(`journey failed at ${page ? page.url() : "start"}: ${e.message}`);
  if (errors.length) console.error(`page errors: ${errors.join("; ")}`);
  await browser.close();
  process.exit(1);
}
