// Confirmation hands over the organization key, in a real browser (Debian's
// chromium, driven by playwright-core), with Admit's pages as the client:
//
//  1. the owner opens the organization's first invitation and creates an
//     account on the accept page (keys and the organization key made there),
//     signs in on /app, turns on single sign-on (this IdP, `--decryption`)
//     and invites the member;
//  2. the member follows the invitation through the IdP to the setup page:
//     a master password, or this device ("Remember this device"); then
//     unlocks the keys on /app (with the password, or with the device);
//  3. the owner reloads /app, unlocks with the master password and confirms
//     the member (one **Confirm**, or **Confirm all accepted** with
//     `--bulk`), after checking the member's public key fingerprint;
//  4. the member's console unlocks again and shows the same organization key
//     fingerprint as the owner's;
//  5. with `--second-link` (the owner's invitation to bootstrap a second
//     organization, mailed before the account existed): the owner, now an
//     existing account, accepts it on the accept page (a wrong password
//     first, which sends no acceptance), which signs in, reads the account's
//     public key from /me and brings the new organization's key; the console
//     then shows both organizations' keys.
//
// Every request either browser sends is recorded (URL, headers, body). This
// script then works the keys out itself, with Node's WebCrypto and its own
// code: the master keys from the passwords, the user keys, private keys and
// the organization key from what /me returns (the device-wrapped user key
// with the browser's device key, read from IndexedDB by code of this script
// run in the page). No recorded request may carry any of them (base64 at any
// byte offset, base64url, hex), nor a master password; the encrypted keys,
// on the other hand, must be found where they were sent (the scan sees the
// bodies).
//
//   node keys_journey.mjs --app <base>/app --link <owner's invitation link> --owner <email> --password <pw>
//        --member <email> --member-password <pw> --decryption master_password|trusted_devices
//        --issuer <url> --client-id <id> --client-secret <secret> --outbox <dir> [--bulk]
//        [--second-link <the owner's invitation to a second organization>] [--shots <dir>]
//
// Prints `RESULT {json}` and exits 0 when every check holds; otherwise prints
// why and exits 1.
import { chromium } from "playwright-core";
import { parseArgs } from "node:util";
import { readdirSync, readFileSync } from "node:fs";
import { webcrypto } from "node:crypto";

const { values: a } = parseArgs({
  options: {
    app: { type: "string" }, link: { type: "string" }, owner: { type: "string" }, password: { type: "string" },
    member: { type: "string" }, "member-password": { type: "string" }, decryption: { type: "string" },
    issuer: { type: "string" }, "client-id": { type: "string" }, "client-secret": { type: "string" },
    outbox: { type: "string" }, bulk: { type: "boolean" }, "second-link": { type: "string" }, shots: { type: "string" },
  },
});
const subtle = webcrypto.subtle;
const devices = a.decryption === "trusted_devices";
const base = new URL(a.app).origin;

const browser = await chromium.launch({
  executablePath: process.env.ADMIT_CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
const errors = [];
let page;
let step = 0;
const shot = async (p, name) => { if (a.shots) await p.screenshot({ path: `${a.shots}/${++step}-${name}.png`, fullPage: true }); };
const fail = (why) => { throw new Error(why); };

// Every request of both browsers.
const sent = [];
const record = (who) => (req) => sent.push({ who, method: req.method(), url: req.url(), headers: JSON.stringify(req.headers()), body: req.postData() || "" });

// The invitation mailed to `to` (the outbox's newest `.eml` for it): its link.
async function invitationLink(to) {
  const deadline = Date.now() + 20000;
  for (;;) {
    const names = readdirSync(a.outbox).filter((n) => n.endsWith(`-${to}.eml`)).sort();
    if (names.length) {
      // Quoted-printable: soft line breaks out, `=XX` decoded.
      const raw = readFileSync(`${a.outbox}/${names[names.length - 1]}`, "latin1")
        .replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
      const m = /(https?:\/\/[^\s"<>]+\/accept\?token=[^\s"<>&]+)/.exec(raw);
      if (m) return m[1];
    }
    if (Date.now() > deadline) fail(`no invitation mailed to ${to} in ${a.outbox}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const text = async (p, selector) => (await p.locator(selector).first().textContent({ timeout: 30000 })).trim();

// --- The scheme, written again here (documented in ARCHITECTURE.md) ---
const utf8 = (s) => new TextEncoder().encode(s);
const b64 = (bytes) => Buffer.from(bytes).toString("base64");
const unb64 = (s) => new Uint8Array(Buffer.from(s, "base64"));
async function masterKeyOf(email, password) {
  const pw = await subtle.importKey("raw", utf8(password), "PBKDF2", false, ["deriveBits"]);
  return new Uint8Array(await subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt: utf8(email.trim().toLowerCase()), iterations: 600000 }, pw, 256));
}
async function hashOf(masterKey, password) {
  const k = await subtle.importKey("raw", masterKey, "PBKDF2", false, ["deriveBits"]);
  return b64(await subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt: utf8(password), iterations: 1 }, k, 256));
}
async function stretchedOf(masterKey) {
  const k = await subtle.importKey("raw", masterKey, "HKDF", false, ["deriveBits"]);
  return new Uint8Array(await subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: utf8("admit user key wrap") }, k, 256));
}
async function unseal(rawKey, sealed) {
  const m = /^g\.([A-Za-z0-9+/=]+)\|([A-Za-z0-9+/=]+)$/.exec(sealed) || fail(`not a sealed key: ${sealed.slice(0, 40)}…`);
  const key = await subtle.importKey("raw", rawKey, "AES-GCM", false, ["decrypt"]);
  return new Uint8Array(await subtle.decrypt({ name: "AES-GCM", iv: unb64(m[1]) }, key, unb64(m[2])));
}
const RSA = { name: "RSA-OAEP", hash: "SHA-256" };
async function openOrgKey(pkcs8, sealed) {
  const m = /^r\.([A-Za-z0-9+/=]+)$/.exec(sealed || "") || fail(`not an encrypted organization key: ${sealed}`);
  const key = await subtle.importKey("pkcs8", pkcs8, RSA, false, ["decrypt"]);
  return new Uint8Array(await subtle.decrypt(RSA, key, unb64(m[1])));
}
async function fingerprint(bytes) {
  const d = new Uint8Array(await subtle.digest("SHA-256", bytes)).subarray(0, 16);
  return Buffer.from(d).toString("hex").match(/.{4}/g).join("-");
}
// The private key's parts as a JWK has them (base64url), should one be sent that way.
async function jwkParts(pkcs8) {
  const jwk = await subtle.exportKey("jwk", await subtle.importKey("pkcs8", pkcs8, RSA, true, ["decrypt"]));
  return ["d", "p", "q", "dp", "dq", "qi"].map((k) => [k, new Uint8Array(Buffer.from(jwk[k], "base64url"))]);
}

// --- The scan ---
// What `bytes` look like inside a text: hex, and the base64 (and base64url)
// of them at each of the three byte offsets a longer base64 text may hold
// them at (the characters that mix in neighbouring bytes dropped).
function encodings(bytes) {
  const out = [Buffer.from(bytes).toString("hex")];
  for (const shift of [0, 1, 2]) {
    const padded = Buffer.concat([Buffer.alloc(shift), Buffer.from(bytes)]);
    for (const enc of ["base64", "base64url"]) {
      let s = padded.toString(enc).replace(/=+$/, "");
      s = s.slice(shift ? 4 : 0, s.length - 4);
      out.push(s);
    }
  }
  return out;
}
function hits(records, secrets) {
  const found = [];
  for (const r of records) {
    for (const [field, value] of [["url", r.url], ["headers", r.headers], ["body", r.body]]) {
      let decoded = value;
      try { decoded = decodeURIComponent(value.replace(/\+/g, " ")); } catch (_) { /* not URI-encoded */ }
      const hay = [value, decoded].join("\n");
      const lower = hay.toLowerCase();
      for (const [name, needles] of secrets) {
        if (needles.some((n) => (/^[0-9a-f]+$/.test(n) ? lower.includes(n) : hay.includes(n)))) {
          found.push(`${name} in the ${field} of ${r.who}'s ${r.method} ${r.url}`);
        }
      }
    }
  }
  return found;
}
const bytesSecret = (name, bytes) => [name, encodings(bytes)];
const textSecret = (name, s) => [name, [s]];
// The request that carries `needle` (a string sent as is), or a failure.
function carrier(records, needle, what, where) {
  const r = records.find((x) => x.body.includes(needle) && where.test(x.url));
  if (!r) fail(`the scan did not find ${what} in a request to ${where}: it does not see the bodies`);
  return r;
}

const sessionOf = async (ctx) => (await ctx.cookies(base)).find((c) => c.name === "admit_session");

try {
  const owner = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const member = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  owner.on("request", record("owner"));
  member.on("request", record("member"));
  const op = await owner.newPage();
  const mp = await member.newPage();
  for (const p of [op, mp]) p.on("pageerror", (e) => errors.push(e.message));

  // 1. The owner: the accept page makes the account's keys and the organization key.
  page = op;
  await op.goto(a.link);
  await op.waitForSelector("#pw2", { timeout: 20000 });
  await op.fill("#name", "The Owner");
  await op.fill("#pw", a.password);
  await op.fill("#pw2", a.password);
  await op.click('button[type="submit"]');
  await op.waitForSelector("text=Status: confirmed", { timeout: 60000 });
  await shot(op, "owner-accepted");
  await op.click("text=Sign in");
  await op.waitForSelector("#email", { timeout: 20000 });
  await op.fill("#email", a.owner);
  await op.fill("#pw", a.password);
  await op.getByRole("button", { name: "Sign in", exact: true }).click();
  // Signing in here unlocks the keys at once.
  await op.waitForSelector("#unlocked", { timeout: 60000 });
  const ownerOrgFp = await text(op, ".org-fingerprint");
  await shot(op, "owner-console");

  // Single sign-on, once the stored settings are in (they would overwrite what is typed).
  await op.waitForSelector('select[id^="protocol-"]:not([disabled])', { timeout: 20000 });
  await op.locator('input[id^="issuer-"]').fill(a.issuer);
  await op.locator('input[id^="client-"]').fill(a["client-id"]);
  await op.locator('input[id^="secret-"]').fill(a["client-secret"]);
  await op.locator('select[id^="option-"]').selectOption(a.decryption);
  await op.locator('input[id^="enabled-"]').check();
  await op.click("text=Save single sign-on");
  await op.waitForSelector("text=Single sign-on saved.", { timeout: 20000 });
  await op.getByLabel("Emails").fill(a.member);
  await op.getByRole("button", { name: "Send invitations" }).click();
  await op.waitForSelector("text=Invited 1.", { timeout: 20000 });
  const link = await invitationLink(a.member);

  // 2. The member: the IdP, then the setup page.
  page = mp;
  await mp.goto(link);
  await mp.waitForSelector('input[name="login"]', { timeout: 20000 });
  await mp.fill('input[name="login"]', a.member);
  await mp.fill('input[name="password"]', "anything");
  await mp.click('button[type="submit"]');
  const next = await Promise.race([
    mp.waitForSelector('input[name="prompt"][value="consent"]', { state: "attached", timeout: 20000 }).then(() => "consent"),
    mp.waitForURL(/\/setup$/, { timeout: 20000 }).then(() => "setup"),
  ]);
  if (next === "consent") await mp.click('button[type="submit"]');
  if (devices) {
    await mp.waitForSelector("#remember", { timeout: 20000 });
    if (!(await mp.isChecked("#remember"))) fail("“Remember this device” is not ticked by default");
  } else {
    await mp.waitForSelector("#pw2", { timeout: 20000 });
    await mp.fill("#pw", a["member-password"]);
    await mp.fill("#pw2", a["member-password"]);
  }
  await shot(mp, "member-setup");
  await mp.click('button[type="submit"]');
  await mp.waitForSelector("text=Status: accepted", { timeout: 60000 });
  await mp.click("text=Continue");
  const unlockMember = async () => {
    await mp.waitForSelector("#my-fingerprint", { timeout: 20000 });
    if (devices) {
      await mp.getByRole("button", { name: "Unlock with this device" }).click();
    } else {
      if (await mp.getByRole("button", { name: "Unlock with this device" }).count()) fail("a device to unlock with, after a master-password setup");
      await mp.fill("#unlock-pw", a["member-password"]);
      await mp.getByRole("button", { name: "Unlock", exact: true }).click();
    }
    await mp.waitForSelector("#unlocked", { timeout: 60000 });
  };
  await unlockMember();
  const memberFp = await text(mp, "#my-fingerprint");
  await shot(mp, "member-unlocked");

  // 3. The owner: a new tab's console is locked; unlock, then confirm.
  page = op;
  await op.reload();
  await op.waitForSelector("#unlock-pw", { timeout: 20000 });
  if ((await text(op, ".org-key")).startsWith("Organization key fingerprint")) fail("the organization key shows while locked");
  await op.fill("#unlock-pw", "not the master password");
  await op.getByRole("button", { name: "Unlock", exact: true }).click();
  await op.waitForSelector("text=That master password does not unlock your keys.", { timeout: 60000 });
  await op.fill("#unlock-pw", a.password);
  await op.getByRole("button", { name: "Unlock", exact: true }).click();
  await op.waitForSelector("#unlocked", { timeout: 60000 });
  if ((await text(op, ".org-fingerprint")) !== ownerOrgFp) fail("the organization key's fingerprint changed after unlocking again");
  if (a.bulk) await op.getByRole("button", { name: "Confirm all accepted" }).click();
  else await op.getByRole("button", { name: `Confirm ${a.member}`, exact: true }).click();
  const review = op.getByRole("region", { name: "Confirm members" });
  await review.waitFor({ timeout: 30000 });
  const shown = await review.locator(`li:has-text("${a.member}") code.fingerprint`).textContent({ timeout: 30000 });
  if (shown !== memberFp) fail(`the owner is shown the fingerprint ${shown}; the member's console shows ${memberFp}`);
  await shot(op, "owner-reviews");
  await review.getByRole("button", { name: a.bulk ? "Confirm 1 member and hand over the key" : `Confirm ${a.member} and hand over the key`, exact: true }).click();
  await op.waitForSelector(`text=Confirmed: ${a.member}.`, { timeout: 30000 });
  await shot(op, "owner-confirmed");

  // 4. The member: the same organization key.
  page = mp;
  await mp.reload();
  await unlockMember();
  const memberOrgFp = await text(mp, ".org-fingerprint");
  await shot(mp, "member-confirmed");
  if (memberOrgFp !== ownerOrgFp) fail(`the member's console shows the organization key ${memberOrgFp}, the owner's ${ownerOrgFp}`);

  // 5. The owner, an existing account, bootstraps a second organization.
  let secondOrgFp = null;
  if (a["second-link"]) {
    page = op;
    await op.goto(a["second-link"]);
    await op.waitForSelector("#pw", { timeout: 20000 });
    if (await op.locator("#pw2").count()) fail("the accept page offers a new account to an existing one");
    const accepts = () => sent.filter((r) => r.who === "owner" && /\/invitations\/accept$/.test(r.url)).length;
    const before = accepts();
    await op.fill("#pw", "not the master password");
    await op.getByRole("button", { name: "Accept invitation" }).click();
    await op.waitForSelector("text=That master password is not right.", { timeout: 60000 });
    if (accepts() !== before) fail("a wrong password was sent to /invitations/accept after sign-in refused it");
    await op.fill("#pw", a.password);
    await op.getByRole("button", { name: "Accept invitation" }).click();
    await op.waitForSelector("text=Status: confirmed", { timeout: 60000 });
    if (accepts() !== before + 1) fail(`${accepts() - before} acceptances sent`);
    const body = JSON.parse(sent.filter((r) => /\/invitations\/accept$/.test(r.url)).pop().body);
    if (!body.org_key || body.keys || body.kdf) fail(`the existing owner's acceptance: ${Object.keys(body)}`);
    await shot(op, "owner-second-org-accepted");
    await op.click("text=Sign in");
    await op.waitForSelector("#unlock-pw", { timeout: 20000 });
    await op.fill("#unlock-pw", a.password);
    await op.getByRole("button", { name: "Unlock", exact: true }).click();
    await op.waitForSelector("#unlocked", { timeout: 60000 });
    await op.waitForFunction(() => document.querySelectorAll(".org-fingerprint").length === 2, null, { timeout: 30000 });
    const fps = await op.locator(".org-fingerprint").allTextContents();
    if (!fps.includes(ownerOrgFp)) fail(`the first organization's key is gone: ${fps}`);
    secondOrgFp = fps.find((f) => f !== ownerOrgFp) || fail(`the second organization has the first one's key: ${fps}`);
    await shot(op, "owner-two-orgs");
  }
  if (errors.length) fail(`page errors: ${errors.join("; ")}`);

  // 6. What was sent, against the keys worked out here.
  const records = sent.slice();
  const meOf = async (ctx) => {
    const res = await ctx.request.get(`${base}/me`);
    if (!res.ok()) fail(`GET /me: ${res.status()}`);
    return res.json();
  };
  const ownerMe = await meOf(owner);
  const memberMe = await meOf(member);
  const secrets = [textSecret("the owner's master password", a.password)];

  const ownerMaster = await masterKeyOf(a.owner, a.password);
  const ownerHash = await hashOf(ownerMaster, a.password);
  carrier(records, `"master_password_hash":"${ownerHash}"`, "the owner's master password hash (worked out here)", /\/invitations\/accept$/);
  carrier(records, `"master_password_hash":"${ownerHash}"`, "the owner's master password hash (worked out here)", /\/auth\/login$/);
  const ownerStretched = await stretchedOf(ownerMaster);
  const ownerUserKey = await unseal(ownerStretched, ownerMe.keys.user_key);
  const ownerPkcs8 = await unseal(ownerUserKey, ownerMe.keys.encrypted_private_key);
  const orgKeys = [];
  for (const m of ownerMe.memberships) {
    if (m.role !== "owner" || m.status !== "confirmed") fail(`the owner's membership: ${JSON.stringify(m)}`);
    const key = await openOrgKey(ownerPkcs8, m.key);
    if (key.length !== 32) fail(`an organization key of ${key.length} bytes`);
    orgKeys.push({ m, key, fp: await fingerprint(key) });
  }
  const first = orgKeys.find((k) => k.fp === ownerOrgFp) || fail("the organization key worked out here is not the one the console shows");
  const ownerMembership = first.m, orgKey = first.key;
  if (a["second-link"]) {
    if (orgKeys.length !== 2 || !orgKeys.some((k) => k.fp === secondOrgFp)) fail("the second organization's key worked out here is not the one the console shows");
    const second = orgKeys.find((k) => k.fp === secondOrgFp);
    secrets.push(bytesSecret("the second organization's key", second.key));
    carrier(records, second.m.key, "the second organization's key encrypted for the owner", /\/invitations\/accept$/);
  }
  if ((await fingerprint(unb64(ownerMe.keys.public_key))) !== ownerMe.fingerprint) fail("/me's fingerprint is not the public key's");
  secrets.push(bytesSecret("the owner's master key", ownerMaster), bytesSecret("the owner's stretched key", ownerStretched),
    bytesSecret("the owner's user key", ownerUserKey), bytesSecret("the owner's private key", ownerPkcs8),
    bytesSecret("the organization key", orgKey));
  for (const [k, v] of await jwkParts(ownerPkcs8)) secrets.push(bytesSecret(`the owner's private key (${k})`, v));
  carrier(records, ownerMe.keys.user_key, "the owner's encrypted user key", /\/invitations\/accept$/);
  carrier(records, ownerMe.keys.public_key, "the owner's public key", /\/invitations\/accept$/);
  carrier(records, ownerMembership.key, "the organization key encrypted for the owner", /\/invitations\/accept$/);

  let memberUserKey;
  if (devices) {
    // The device key is in this browser's IndexedDB, and cannot be exported:
    // it opens the user key there, by this script's code.
    const got = await mp.evaluate(async ({ email, sealed }) => {
      const db = await new Promise((resolve, reject) => {
        const req = indexedDB.open("admit");
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
      const device = await new Promise((resolve, reject) => {
        const req = db.transaction("devices").objectStore("devices").get(email.toLowerCase());
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
      db.close();
      if (!device) return { missing: true };
      let exported = "refused";
      try { await crypto.subtle.exportKey("raw", device.key); exported = "exported"; } catch (_) { /* as it should */ }
      const [iv, ct] = sealed.slice(2).split("|").map((s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0)));
      const raw = await crypto.subtle.decrypt({ name: "AES-GCM", iv }, device.key, ct);
      return { identifier: device.identifier, extractable: device.key.extractable, exported, userKey: [...new Uint8Array(raw)] };
    }, { email: a.member, sealed: memberMe.keys.user_key });
    if (got.missing) fail("no device key in the member's IndexedDB");
    if (got.extractable || got.exported !== "refused") fail("the device key can be exported");
    memberUserKey = Uint8Array.from(got.userKey);
    const setup = carrier(records, memberMe.keys.user_key, "the member's encrypted user key", /\/setup\/trusted-device$/);
    const body = JSON.parse(setup.body);
    if (body.remember !== true || body.device.identifier !== got.identifier) fail(`the setup body's device: ${JSON.stringify(body.device)}, remember ${body.remember}`);
  } else {
    const memberMaster = await masterKeyOf(a.member, a["member-password"]);
    const memberStretched = await stretchedOf(memberMaster);
    carrier(records, `"master_password_hash":"${await hashOf(memberMaster, a["member-password"])}"`,
      "the member's master password hash (worked out here)", /\/setup\/master-password$/);
    carrier(records, memberMe.keys.user_key, "the member's encrypted user key", /\/setup\/master-password$/);
    memberUserKey = await unseal(memberStretched, memberMe.keys.user_key);
    secrets.push(bytesSecret("the member's master key", memberMaster), bytesSecret("the member's stretched key", memberStretched),
      textSecret("the member's master password", a["member-password"]));
  }
  const memberPkcs8 = await unseal(memberUserKey, memberMe.keys.encrypted_private_key);
  const memberMembership = memberMe.memberships.find((m) => m.org_id === ownerMembership.org_id) || fail("the member's membership is not in /me");
  if (memberMembership.status !== "confirmed") fail(`the member is ${memberMembership.status}`);
  const memberOrgKey = await openOrgKey(memberPkcs8, memberMembership.key);
  if (Buffer.compare(Buffer.from(memberOrgKey), Buffer.from(orgKey)) !== 0) fail("the member was handed another organization key");
  if ((await fingerprint(unb64(memberMe.keys.public_key))) !== memberFp) fail("the member's console shows a fingerprint that is not its public key's");
  secrets.push(bytesSecret("the member's user key", memberUserKey), bytesSecret("the member's private key", memberPkcs8));
  for (const [k, v] of await jwkParts(memberPkcs8)) secrets.push(bytesSecret(`the member's private key (${k})`, v));
  carrier(records, memberMembership.key, "the organization key encrypted for the member",
    a.bulk ? /\/members\/confirm$/ : /\/members\/mem_[^/]+\/confirm$/);

  // The scan can fail: a key hidden at an odd offset in base64, or in hex, is found.
  const planted = [
    { who: "test", method: "POST", url: `${base}/x`, headers: "{}", body: JSON.stringify({ k: b64(Buffer.concat([Buffer.from([7]), orgKey, Buffer.from([1, 2])])) }) },
    { who: "test", method: "GET", url: `${base}/x?k=${Buffer.from(memberUserKey).toString("hex").toUpperCase()}`, headers: "{}", body: "" },
    { who: "test", method: "POST", url: `${base}/x`, headers: "{}", body: `pw=${encodeURIComponent(a.password)}` },
  ];
  const caught = hits(planted, secrets);
  for (const what of ["the organization key", "the member's user key", "the owner's master password"]) {
    if (!caught.some((h) => h.startsWith(`${what} in`))) fail(`the scan misses ${what} planted in a request: ${caught.join("; ")}`);
  }

  const leaks = hits(records, secrets);
  if (leaks.length) fail(`a request carries a key in clear:\n${leaks.join("\n")}`);
  const withBody = records.filter((r) => r.body).length;
  const ownerSession = await sessionOf(owner);
  console.log(`scanned ${records.length} requests (${withBody} with a body) for ${secrets.length} secrets: none found`);
  console.log(`RESULT ${JSON.stringify({
    org_key_fingerprint: ownerOrgFp, member_fingerprint: memberFp, owner_session: ownerSession && ownerSession.value,
    second_org_key_fingerprint: secondOrgFp, requests: records.length, with_body: withBody,
  })}`);
  await browser.close();
} catch (e) {
  if (page) await shot(page, "failed").catch(() => {});
  console.error(`journey failed at ${page ? page.url() : "start"}: ${e.message}`);
  if (errors.length) console.error(`page errors: ${errors.join("; ")}`);
  await browser.close();
  process.exit(1);
}
