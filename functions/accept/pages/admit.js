// Shared by Admit's pages. No framework: fetch, WebCrypto and the DOM.
"use strict";

const KDF = { type: "pbkdf2_sha256", iterations: 600000 };

// The master password never leaves the browser: what is sent is
// base64(PBKDF2-SHA256(password, salt = normalized email)).
async function masterPasswordHash(email, password, kdf = KDF) {
  const enc = new TextEncoder();
  const key = await crypto.subtle.importKey("raw", enc.encode(password), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt: enc.encode(email.trim().toLowerCase()), iterations: kdf.iterations },
    key, 256);
  return btoa(String.fromCharCode(...new Uint8Array(bits)));
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

function say(text, kind = "info") {
  const s = document.getElementById("status");
  s.textContent = text;
  s.className = kind;
}

function randomKey() {
  const b = new Uint8Array(32);
  crypto.getRandomValues(b);
  return btoa(String.fromCharCode(...b));
}

window.Admit = { KDF, masterPasswordHash, api, el, say, randomKey };
