// A minimal OpenID provider that can be told to misbehave, for testing that
// Admit (the relying party) refuses what it must. `tests/src/evil.rs` starts
// it:
//
//   node evil.mjs --port N --client-id ID --client-secret S
//
// Issuer `http://127.0.0.1:N`; one confidential client (client_secret_basic);
// authorization code flow with PKCE S256; no login page: /authorize sends the
// browser straight back to the redirect URI with a code.
//
// The test picks how the next ID tokens are built with
//
//   POST /scenario  {"name": "...", "email": "...", "sub": "..."}
//
// (see `scenarios` below), and reads what happened with `GET /events` (one
// string per request served: "discovery", "jwks", "authorize",
// "token:<scenario>" for each ID token issued, "token-error:<error>",
// "token-redirect", "token-elsewhere", "userinfo", "userinfo-error"). Every ID token starts from the same claims: iss =
// the issuer, aud = the client id, sub (default "evil-sub-1"), email,
// email_verified true, nonce = the one the relying party sent, iat = now,
// exp = now + 300; signed RS256 with key A (kid "key-a"). UserInfo answers
// {sub, email, email_verified: true} for the access token.
//
// It exits when the process that started it does, and prints nothing but
// real errors.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { SignJWT, UnsecuredJWT, exportJWK, generateKeyPair } from 'jose';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
  },
});
const port = Number(args.port);
if (!Number.isInteger(port) || port <= 0 || !args['client-id'] || !args['client-secret']) {
  console.error('evil.mjs: --port N --client-id ID --client-secret S are required');
  process.exit(2);
}
const clientId = args['client-id'];
const clientSecret = args['client-secret'];
const issuer = `http://${args.host}:${port}`;

// Exit when the parent (the test process) does.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(0);
}, 500).unref();

// --- keys: fresh per run; no key material is committed -----------------------

async function rsaKey(kid) {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  return { privateKey, jwk };
}

const keyA = await rsaKey('key-a');
const keyB = await rsaKey('key-b');
// Never published: signs ID tokens that claim to be from key A.
const impostor = await rsaKey('key-a');

/** Whether key B is published too (from the moment `rotate` is set). */
let publishB = false;

// --- scenarios -------------------------------------------------------------

let scenario = { name: 'ok', email: 'evil@example.test', sub: 'evil-sub-1' };

const now = () => Math.floor(Date.now() / 1000);

function baseClaims(grant) {
  const t = now();
  return {
    iss: issuer,
    aud: clientId,
    sub: grant.sub,
    email: grant.email,
    email_verified: true,
    nonce: grant.nonce,
    iat: t,
    exp: t + 300,
  };
}

const rs256 = (claims, key = keyA, kid = key.jwk.kid) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid }).sign(key.privateKey);

/** name -> (claims, grant) -> the ID token (compact JWS). */
const scenarios = {
  ok: (c) => rs256(c),
  wrong_iss: (c) => rs256({ ...c, iss: `http://127.0.0.1:${port === 1 ? 2 : port - 1}` }),
  aud_missing: ({ aud, ...c }) => rs256(c),
  aud_other: (c) => rs256({ ...c, aud: 'someone-else' }),
  bad_signature: (c) => rs256(c, impostor, 'key-a'),
  alg_none: (c) => new UnsecuredJWT(c).encode(),
  hs256_client_secret: (c) =>
    new SignJWT(c)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .sign(new TextEncoder().encode(clientSecret)),
  missing_sub: ({ sub, ...c }) => rs256(c),
  missing_iat: ({ iat, ...c }) => rs256(c),
  expired: (c) => rs256({ ...c, iat: now() - 1200, exp: now() - 600 }),
  nonce_missing: ({ nonce, ...c }) => rs256(c),
  nonce_other: (c) => rs256({ ...c, nonce: randomBytes(16).toString('base64url') }),
  userinfo_sub_other: (c) => rs256(c),
  rotate: (c) => rs256(c, keyB),
  // /token answers 307 to /token-elsewhere, which would issue an `ok` token:
  // the relying party's HTTP client must not follow.
  token_redirect: (c) => rs256(c),
};

// --- state ---------------------------------------------------------------------

/** code -> what /authorize remembered. Each code works once. */
const codes = new Map();
/** access token -> what /userinfo answers. */
const accessTokens = new Map();
/** What was served, in order (GET /events). */
const events = [];

const b64url = (buf) => Buffer.from(buf).toString('base64url');

function json(res, status, body, headers = {}) {
  res.writeHead(status, {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(JSON.stringify(body));
}

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function sameString(a, b) {
  const x = Buffer.from(String(a));
  const y = Buffer.from(String(b));
  return x.length === y.length && timingSafeEqual(x, y);
}

// application/x-www-form-urlencoded decoding, as RFC 6749 §2.3.1 asks for
// the client id and secret inside HTTP Basic.
const formDecode = (s) => decodeURIComponent(s.replace(/\+/g, ' '));

function clientAuthenticated(req) {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(req.headers.authorization ?? '');
  if (!m) return false;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  try {
    return sameString(formDecode(decoded.slice(0, colon)), clientId)
      && sameString(formDecode(decoded.slice(colon + 1)), clientSecret);
  } catch {
    return false;
  }
}

// --- endpoints ---------------------------------------------------------------

function discovery(res) {
  events.push('discovery');
  json(res, 200, {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    userinfo_endpoint: `${issuer}/userinfo`,
    jwks_uri: `${issuer}/jwks`,
    response_types_supported: ['code'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    token_endpoint_auth_methods_supported: ['client_secret_basic'],
    code_challenge_methods_supported: ['S256'],
    scopes_supported: ['openid', 'email', 'profile'],
    grant_types_supported: ['authorization_code'],
  });
}

function authorize(res, url) {
  const p = url.searchParams;
  const redirectUri = p.get('redirect_uri');
  if (p.get('client_id') !== clientId || !redirectUri || p.get('response_type') !== 'code') {
    return json(res, 400, { error: 'invalid_request', error_description: 'client_id, redirect_uri and response_type=code are required' });
  }
  if (!p.get('code_challenge') || p.get('code_challenge_method') !== 'S256') {
    return json(res, 400, { error: 'invalid_request', error_description: 'PKCE S256 is required' });
  }
  events.push('authorize');
  const code = b64url(randomBytes(24));
  codes.set(code, {
    nonce: p.get('nonce') ?? undefined,
    codeChallenge: p.get('code_challenge'),
    redirectUri,
    state: p.get('state'),
  });
  const back = new URL(redirectUri);
  back.searchParams.set('code', code);
  if (p.get('state') !== null) back.searchParams.set('state', p.get('state'));
  res.writeHead(302, { location: back.toString(), 'cache-control': 'no-store' });
  res.end();
}

function tokenError(res, status, error, description, headers = {}) {
  events.push(`token-error:${error}`);
  return json(res, status, { error, error_description: description }, headers);
}

async function token(req, res, elsewhere) {
  if (req.method !== 'POST') return tokenError(res, 405, 'invalid_request', 'POST only');
  const current = scenario;
  if (current.name === 'token_redirect' && !elsewhere) {
    events.push('token-redirect');
    res.writeHead(307, { location: `${issuer}/token-elsewhere`, 'cache-control': 'no-store' });
    return res.end();
  }
  if (elsewhere) events.push('token-elsewhere');
  if (!clientAuthenticated(req)) {
    return tokenError(res, 401, 'invalid_client', 'HTTP Basic client authentication failed', { 'www-authenticate': 'Basic realm="evil"' });
  }
  const form = new URLSearchParams(await readBody(req));
  if (form.get('grant_type') !== 'authorization_code') {
    return tokenError(res, 400, 'unsupported_grant_type', 'authorization_code only');
  }
  const code = form.get('code') ?? '';
  const remembered = codes.get(code);
  codes.delete(code); // each code works once, whatever happens next
  if (!remembered) return tokenError(res, 400, 'invalid_grant', 'unknown or used code');
  if (form.get('redirect_uri') !== remembered.redirectUri) {
    return tokenError(res, 400, 'invalid_grant', 'redirect_uri mismatch');
  }
  const verifier = form.get('code_verifier') ?? '';
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  if (!verifier || !sameString(challenge, remembered.codeChallenge)) {
    return tokenError(res, 400, 'invalid_grant', 'PKCE verification failed');
  }

  const build = scenarios[elsewhere ? 'ok' : current.name];
  const grant = { ...remembered, sub: current.sub, email: current.email };
  const idToken = await build(baseClaims(grant), grant);
  const accessToken = b64url(randomBytes(24));
  accessTokens.set(accessToken, {
    sub: current.name === 'userinfo_sub_other' ? `${current.sub}-other` : current.sub,
    email: current.email,
    email_verified: true,
  });
  events.push(`token:${elsewhere ? 'ok' : current.name}`);
  json(res, 200, {
    access_token: accessToken,
    token_type: 'Bearer',
    expires_in: 300,
    id_token: idToken,
  });
}

function userinfo(req, res) {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  const claims = m && accessTokens.get(m[1]);
  if (!claims) {
    events.push('userinfo-error');
    return json(res, 401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
  }
  events.push('userinfo');
  json(res, 200, claims);
}

function jwks(res) {
  events.push('jwks');
  json(res, 200, { keys: publishB ? [keyA.jwk, keyB.jwk] : [keyA.jwk] });
}

async function setScenario(req, res) {
  if (req.method !== 'POST') return json(res, 405, { error: 'method not allowed' });
  const body = JSON.parse(await readBody(req));
  if (!Object.hasOwn(scenarios, body.name)) {
    return json(res, 400, { error: `unknown scenario ${JSON.stringify(body.name)}`, known: Object.keys(scenarios) });
  }
  scenario = {
    name: body.name,
    email: body.email ?? 'evil@example.test',
    sub: body.sub ?? 'evil-sub-1',
  };
  if (body.name === 'rotate') publishB = true;
  json(res, 200, { scenario, published: publishB ? ['key-a', 'key-b'] : ['key-a'] });
}

const server = createServer((req, res) => {
  const url = new URL(req.url, issuer);
  const route = {
    '/.well-known/openid-configuration': () => discovery(res),
    '/authorize': () => authorize(res, url),
    '/token': () => token(req, res, false),
    '/token-elsewhere': () => token(req, res, true),
    '/userinfo': () => userinfo(req, res),
    '/jwks': () => jwks(res),
    '/scenario': () => setScenario(req, res),
    '/events': () => json(res, 200, events),
  }[url.pathname];
  if (!route) return json(res, 404, { error: 'not found' });
  Promise.resolve()
    .then(route)
    .catch((err) => {
      console.error(`evil.mjs: ${req.method} ${url.pathname}: ${err?.stack ?? err}`);
      if (!res.headersSent) json(res, 500, { error: 'server_error', error_description: String(err?.message ?? err) });
      else res.end();
    });
});

server.listen(port, args.host);
