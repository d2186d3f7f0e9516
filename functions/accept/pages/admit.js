// Shared by Admit's pages. No framework: fetch, WebCrypto and the DOM.
//
// The keys (documented in ARCHITECTURE.md). No plaintext key leaves the
// browser: the server sees a hash of the master key, public keys, and keys
// encrypted here.
//   master key     = PBKDF2-SHA256(password, salt = email trimmed + lower-cased, KDF.iterations), 256 bits
//   sent as master_password_hash = base64(PBKDF2-SHA256(master key, salt = password, 1 iteration, 256 bits))
//   stretched key  = HKDF-SHA256(master key, salt = empty, info = "admit user key wrap") → AES-GCM-256
//   user key       = 32 random bytes (AES-GCM-256); key pair = RSA-OAEP 2048, SHA-256, e = 65537
//   keys.user_key  = seal(stretched key or device key, user key)
//   keys.public_key = base64(SPKI); keys.encrypted_private_key = seal(user key, PKCS#8)
//   seal(k, bytes) = "g." + base64(12-byte iv) + "|" + base64(AES-GCM ciphertext and tag)
//   organization key = 32 random bytes; for a member: "r." + base64(RSA-OAEP-SHA256(org key, member's public key))
"use strict";

const KDF = { type: "pbkdf2_sha256", iterations: 600000 };
const subtle = crypto.subtle;
const utf8 = (s) => new TextEncoder().encode(s);

function b64(bytes) {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}

function unb64(text) {
  const s = atob(text);
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}

function randomBytes(n) {
  return crypto.getRandomValues(new Uint8Array(n));
}

// The master key, from the password, never leaves this function: out come
// what the server sees (`hash`) and the key that wraps the user key
// (`stretched`, not extractable).
async function masterKeys(email, password, kdf = KDF) {
  const pw = await subtle.importKey("raw", utf8(password), "PBKDF2", false, ["deriveBits"]);
  const master = new Uint8Array(await subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt: utf8(email.trim().toLowerCase()), iterations: kdf.iterations }, pw, 256));
  try {
    const forHash = await subtle.importKey("raw", master, "PBKDF2", false, ["deriveBits"]);
    const hash = await subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt: utf8(password), iterations: 1 }, forHash, 256);
    const forWrap = await subtle.importKey("raw", master, "HKDF", false, ["deriveKey"]);
    const stretched = await subtle.deriveKey(
      { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: utf8("admit user key wrap") },
      forWrap, { name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
    return { hash: b64(hash), stretched };
  } finally {
    master.fill(0);
  }
}

// What sign-in and accept send: never the password, never the master key.
async function masterPasswordHash(email, password, kdf = KDF) {
  return (await masterKeys(email, password, kdf)).hash;
}

// "g.<iv>|<ciphertext>": AES-GCM-256 with a fresh 12-byte iv.
async function seal(key, bytes) {
  const iv = randomBytes(12);
  const ct = await subtle.encrypt({ name: "AES-GCM", iv }, key, bytes);
  return `g.${b64(iv)}|${b64(ct)}`;
}

async function unseal(key, text) {
  const m = /^g\.([A-Za-z0-9+/=]+)\|([A-Za-z0-9+/=]+)$/.exec(text || "");
  if (!m) throw new Error("not a key sealed by Admit's pages");
  return new Uint8Array(await subtle.decrypt({ name: "AES-GCM", iv: unb64(m[1]) }, key, unb64(m[2])));
}

const aesKey = (raw) => subtle.importKey("raw", raw, { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
const RSA = { name: "RSA-OAEP", hash: "SHA-256" };

// A new account's keys, the user key wrapped with `wrapKey` (the stretched
// key, or a device key). `keys` is what accept and setup send; `publicKey`
// is for encrypting the organization key to this account.
async function newAccountKeys(wrapKey) {
  const userKeyBytes = randomBytes(32);
  const pair = await subtle.generateKey(
    { ...RSA, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) }, true, ["encrypt", "decrypt"]);
  const spki = await subtle.exportKey("spki", pair.publicKey);
  const pkcs8 = new Uint8Array(await subtle.exportKey("pkcs8", pair.privateKey));
  try {
    const userKey = await aesKey(userKeyBytes);
    return {
      keys: {
        user_key: await seal(wrapKey, userKeyBytes),
        public_key: b64(spki),
        encrypted_private_key: await seal(userKey, pkcs8),
      },
      publicKey: pair.publicKey,
    };
  } finally {
    userKeyBytes.fill(0);
    pkcs8.fill(0);
  }
}

// The private key (not extractable) from the account's stored keys and the
// key that wraps its user key. Throws when `wrapKey` is not that key.
async function unlockKeys(keys, wrapKey) {
  const userKeyBytes = await unseal(wrapKey, keys.user_key);
  let pkcs8;
  try {
    pkcs8 = await unseal(await aesKey(userKeyBytes), keys.encrypted_private_key);
    return await subtle.importKey("pkcs8", pkcs8, RSA, false, ["decrypt"]);
  } finally {
    userKeyBytes.fill(0);
    if (pkcs8) pkcs8.fill(0);
  }
}

const publicKeyFrom = (spkiBase64) => subtle.importKey("spki", unb64(spkiBase64), RSA, false, ["encrypt"]);

function newOrgKey() {
  return randomBytes(32);
}

// The organization key for the holder of `publicKey` (a CryptoKey, or the base64 of an SPKI).
async function sealFor(publicKey, orgKey) {
  const key = typeof publicKey === "string" ? await publicKeyFrom(publicKey) : publicKey;
  return `r.${b64(await subtle.encrypt(RSA, key, orgKey))}`;
}

async function unsealWith(privateKey, text) {
  const m = /^r\.([A-Za-z0-9+/=]+)$/.exec(text || "");
  if (!m) throw new Error("not a key encrypted by Admit's pages");
  return new Uint8Array(await subtle.decrypt(RSA, privateKey, unb64(m[1])));
}

// The first 16 bytes of SHA-256(bytes), as eight groups of four hex digits
// (the server renders public keys the same way).
async function fingerprint(bytes) {
  const d = new Uint8Array(await subtle.digest("SHA-256", bytes)).subarray(0, 16);
  const hex = [...d].map((x) => x.toString(16).padStart(2, "0")).join("");
  return hex.match(/.{4}/g).join("-");
}

const publicKeyFingerprint = (spkiBase64) => fingerprint(unb64(spkiBase64));

// This browser's device keys (trusted devices with "remember this device"):
// in IndexedDB, one per account email, `{identifier, key}`, the key an
// AES-GCM CryptoKey that cannot be exported.
const devices = (() => {
  const open = () => new Promise((resolve, reject) => {
    const req = indexedDB.open("admit", 1);
    req.onupgradeneeded = () => req.result.createObjectStore("devices");
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  const run = async (mode, act) => {
    const db = await open();
    try {
      return await new Promise((resolve, reject) => {
        const tx = db.transaction("devices", mode);
        const req = act(tx.objectStore("devices"));
        tx.oncomplete = () => resolve(req.result);
        tx.onerror = () => reject(tx.error);
        tx.onabort = () => reject(tx.error);
      });
    } finally {
      db.close();
    }
  };
  const id = (email) => email.trim().toLowerCase();
  return {
    get: (email) => run("readonly", (s) => s.get(id(email))),
    put: (email, device) => run("readwrite", (s) => s.put(device, id(email))),
  };
})();

function newDeviceKey() {
  return subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
}

function newDeviceIdentifier() {
  return [...randomBytes(16)].map((x) => x.toString(16).padStart(2, "0")).join("");
}

async function api(method, path, body) {
  const opts = { method, headers: {}, credentials: "same-origin" };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const res = await fetch(path, opts);
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
  return { status: res.status, ok: res.ok, data };
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== false && v !== undefined && v !== null) e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

// An invitation the member left the accept page for, to sign in with single
// sign-on first: its /accept link, kept in this tab's sessionStorage (gone
// when the tab closes), so that /app can lead back to it.
const pendingInvitation = (() => {
  const NAME = "admit.pending_invitation";
  const PREFIX = "/accept?token=";
  const get = () => {
    let v = null;
    try { v = sessionStorage.getItem(NAME); } catch (_) { v = null; }
    return v && v.startsWith(PREFIX) && v.length > PREFIX.length ? v : null;
  };
  return {
    save(token) {
      try { sessionStorage.setItem(NAME, PREFIX + encodeURIComponent(token)); } catch (_) { /* storage off */ }
    },
    get,
    // Forget it; with `token`, only when it is that invitation.
    clear(token) {
      const v = get();
      if (token !== undefined && v && v !== PREFIX + encodeURIComponent(token)) return;
      try { sessionStorage.removeItem(NAME); } catch (_) { /* storage off */ }
    },
  };
})();

function say(text, kind = "info") {
  const s = document.getElementById("status");
  s.textContent = text;
  s.className = kind;
}

window.Admit = {
  KDF, masterKeys, masterPasswordHash, newAccountKeys, unlockKeys, newOrgKey, sealFor, unsealWith,
  fingerprint, publicKeyFingerprint, devices, newDeviceKey, newDeviceIdentifier, api, el, say, pendingInvitation,
};
