// A real OpenID Connect provider (the npm package `oidc-provider`) for
// Admit's black-box tests. `tests/src/oidc.rs` starts it:
//
//   node provider.mjs --port N --config '{"clients":[...]}'
//                     [--tls-cert cert.pem --tls-key key.pem]
//
// Issuer `http://127.0.0.1:N` (`https://127.0.0.1:N` with --tls-cert and
// --tls-key, served with that certificate); authorization code flow; PKCE (S256) checked
// whenever the relying party sends a code_challenge (and required for every
// client when the config says `"pkce_required": true`).
//
// Sign-in: any login name and any password. The login name IS the account:
//   sub            "sub-" + the first 16 hex digits of sha256(login)
//   email          the login name, lower-cased (no email claim at all when the
//                  login contains "+noemail")
//   email_verified true, false when the login contains "+unverified"; left
//                  out altogether when the config says
//                  `"omit_email_verified": true` (as some large IdPs do)
//   name           the part of the login before "@"
//   groups         what the login form's optional `groups` field said
//                  (comma-separated names), in a claim named by the config's
//                  `"groups_claim"` (default "groups"), sent whatever the
//                  scopes. Each login replaces the account's groups; a login
//                  without the field, or with it empty, leaves the claim out.
//                  The value `overage` sends Entra ID's overage reference
//                  instead: no groups claim, but
//                    "_claim_names": {"<claim>": "src1"},
//                    "_claim_sources": {"src1": {"endpoint": "https://graph.microsoft.com/..."}}
// The claims are in the ID token (for the scopes asked) and at UserInfo.
//
// The login and consent pages are plain HTML forms (see `interaction` below),
// so a test drives them with form posts and cookies.
//
// It exits when the process that started it does, so no test run leaves a
// provider behind, and it prints nothing but real errors.

import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { parseArgs } from 'node:util';

// oidc-provider announces its development conveniences (the in-memory store,
// default helpers, the runtime it prefers) on the console when imported and
// configured; here they are the point, so those notices are dropped. Anything
// else (real errors) still reaches stderr.
const quiet = (write) => (...args) => {
  if (typeof args[0] === 'string' && /^(\x1b\[[0-9;]*m)?oidc-provider (NOTICE|WARNING): /.test(args[0])) {
    return;
  }
  write(...args);
};
console.info = quiet(console.info.bind(console));
console.warn = quiet(console.warn.bind(console));

const { default: Provider } = await import('oidc-provider');

const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    config: { type: 'string', default: '{}' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
  },
});
const port = Number(args.port);
if (!Number.isInteger(port) || port <= 0) {
  console.error('provider.mjs: --port N is required');
  process.exit(2);
}
const config = JSON.parse(args.config);
const groupsClaim = config.groups_claim ?? 'groups';
if (Boolean(args['tls-cert']) !== Boolean(args['tls-key'])) {
  console.error('provider.mjs: --tls-cert and --tls-key go together');
  process.exit(2);
}
const tls = args['tls-cert']
  ? { cert: readFileSync(args['tls-cert']), key: readFileSync(args['tls-key']) }
  : undefined;
const issuer = `${tls ? 'https' : 'http'}://${args.host}:${port}`;

// Exit when the parent (the test process) does.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(0);
}, 500).unref();

// --- accounts: the login name is the account --------------------------------

/** sub -> login name, for every login seen by this process. */
const accounts = new Map();

/** sub -> the groups its latest login posted (non-empty), or 'overage'. */
const groupsOf = new Map();

/** The form's `groups` field: names, or 'overage', or undefined for none. */
function parseGroups(raw) {
  const value = (raw ?? '').trim();
  if (value === 'overage') return 'overage';
  const names = value.split(',').map((g) => g.trim()).filter(Boolean);
  return names.length ? names : undefined;
}

/** The groups claim (or Entra ID's overage reference) of the account `sub`. */
function groupsClaimsFor(sub) {
  const groups = groupsOf.get(sub);
  if (groups === undefined) return {};
  if (groups === 'overage') {
    return {
      _claim_names: { [groupsClaim]: 'src1' },
      _claim_sources: {
        src1: { endpoint: 'https://graph.microsoft.com/v1.0/users/x/getMemberObjects' },
      },
    };
  }
  return { [groupsClaim]: groups };
}

function subFor(login) {
  return `sub-${createHash('sha256').update(login).digest('hex').slice(0, 16)}`;
}

function claimsFor(login) {
  const lower = login.toLowerCase();
  const claims = { name: login.split('@')[0] };
  if (!lower.includes('+noemail')) {
    claims.email = lower;
    if (config.omit_email_verified !== true) {
      claims.email_verified = !lower.includes('+unverified');
    }
  }
  return claims;
}

async function findAccount(ctx, id) {
  const login = accounts.get(id);
  if (login === undefined) return undefined;
  return {
    accountId: id,
    async claims() {
      return { sub: id, ...claimsFor(login), ...groupsClaimsFor(id) };
    },
  };
}

// --- a fresh signing key per run; no key material is committed --------------

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = {
  ...privateKey.export({ format: 'jwk' }),
  kid: `test-${randomBytes(6).toString('hex')}`,
  alg: 'RS256',
  use: 'sig',
};

// --- the provider ------------------------------------------------------------

const clients = (config.clients ?? []).map((c) => ({
  client_id: c.client_id,
  client_secret: c.client_secret,
  redirect_uris: c.redirect_uris,
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
  id_token_signed_response_alg: c.id_token_signed_response_alg ?? 'RS256',
}));

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

const provider = new Provider(issuer, {
  clients,
  findAccount,
  jwks: { keys: [signingKey] },
  claims: {
    // The groups claim comes with `openid`, so that it is sent whatever the
    // relying party asks for (as IdPs configured to send groups do).
    // oidc-provider keeps an `_claim_names` reference only for the claims
    // sent, so the overage reference goes with it.
    openid: ['sub', groupsClaim],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  scopes: ['openid', 'email', 'profile'],
  // Put the claims of the scopes asked for into the ID token too, not only
  // at UserInfo.
  conformIdTokenClaims: false,
  pkce: { required: () => config.pkce_required === true },
  features: {
    devInteractions: { enabled: false },
    userinfo: { enabled: true },
  },
  interactions: {
    url: (ctx, interaction) => `/interaction/${interaction.uid}`,
  },
  cookies: {
    // Cookies do not tell ports apart: name them per provider so that two
    // providers (and the relying party) on 127.0.0.1 keep their own.
    names: {
      session: `idp${port}_session`,
      interaction: `idp${port}_interaction`,
      resume: `idp${port}_resume`,
    },
    keys: [randomBytes(32).toString('hex')],
    long: { httpOnly: true, sameSite: 'lax', signed: true },
    short: { httpOnly: true, sameSite: 'lax', signed: true },
  },
  ttl: {
    AccessToken: 600,
    AuthorizationCode: 120,
    IdToken: 600,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
  },
  clientBasedCORS: () => false,
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = `<!DOCTYPE html><html><head><title>oidc-provider error</title></head><body>${
      Object.entries(out).map(([k, v]) => `<p><strong>${escapeHtml(k)}</strong>: <span class="${escapeHtml(k)}">${escapeHtml(v)}</span></p>`).join('')
    }</body></html>`;
  },
});

// --- login and consent pages ---------------------------------------------------

function page(title, body) {
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body><h1>${escapeHtml(title)}</h1>
${body}
</body></html>`;
}

function loginPage(uid, params) {
  const hint = params.login_hint ? ` value="${escapeHtml(params.login_hint)}"` : '';
  return page('Sign-in', `<form autocomplete="off" action="/interaction/${escapeHtml(uid)}/login" method="post">
  <input type="hidden" name="prompt" value="login"/>
  <input required type="text" name="login" placeholder="Enter any login"${hint}/>
  <input required type="password" name="password" placeholder="and any password"/>
  <input type="text" name="groups" placeholder="groups, comma-separated (optional)"/>
  <button type="submit">Sign-in</button>
</form>
<p><a href="/interaction/${escapeHtml(uid)}/abort">Cancel</a></p>`);
}

function consentPage(uid, client, details) {
  const scopes = (details.missingOIDCScope ?? []).map((s) => `<li>${escapeHtml(s)}</li>`).join('');
  return page('Authorize', `<p>${escapeHtml(client?.clientName ?? client?.clientId ?? '')} asks for:</p>
<ul>${scopes}</ul>
<form autocomplete="off" action="/interaction/${escapeHtml(uid)}/confirm" method="post">
  <input type="hidden" name="prompt" value="consent"/>
  <button type="submit">Continue</button>
</form>
<p><a href="/interaction/${escapeHtml(uid)}/abort">Cancel</a></p>`);
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function send(res, status, html) {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
  });
  res.end(html);
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) {
    return send(res, 400, page('Error', '<p>interaction mismatch</p>'));
  }
  const { prompt, params, session, grantId } = details;

  if (req.method === 'GET' && action === undefined) {
    if (prompt.name === 'login') return send(res, 200, loginPage(uid, params));
    if (prompt.name === 'consent') {
      const client = await provider.Client.find(params.client_id);
      return send(res, 200, consentPage(uid, client, prompt.details));
    }
    return send(res, 501, page('Error', `<p>prompt ${escapeHtml(prompt.name)} not implemented</p>`));
  }

  if (action === 'abort') {
    return provider.interactionFinished(req, res, {
      error: 'access_denied',
      error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
  }

  if (req.method !== 'POST') return send(res, 405, page('Error', '<p>method not allowed</p>'));
  const form = await readForm(req);

  if (action === 'login') {
    if (prompt.name !== 'login') return send(res, 400, page('Error', '<p>not at the login prompt</p>'));
    const login = (form.get('login') ?? '').trim();
    if (!login) return send(res, 200, loginPage(uid, params));
    const sub = subFor(login);
    accounts.set(sub, login);
    const groups = parseGroups(form.get('groups'));
    if (groups === undefined) groupsOf.delete(sub);
    else groupsOf.set(sub, groups);
    return provider.interactionFinished(req, res, {
      login: { accountId: sub },
    }, { mergeWithLastSubmission: false });
  }

  if (action === 'confirm') {
    if (prompt.name !== 'consent') return send(res, 400, page('Error', '<p>not at the consent prompt</p>'));
    const grant = grantId
      ? await provider.Grant.find(grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const d = prompt.details;
    if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
    if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
    if (d.missingResourceScopes) {
      for (const [indicator, scope] of Object.entries(d.missingResourceScopes)) {
        grant.addResourceScope(indicator, scope.join(' '));
      }
    }
    return provider.interactionFinished(req, res, {
      consent: { grantId: await grant.save() },
    }, { mergeWithLastSubmission: true });
  }

  return send(res, 404, page('Error', '<p>not found</p>'));
}

const handleProvider = provider.callback();

const handle = (req, res) => {
  const { pathname } = new URL(req.url, issuer);
  const m = /^\/interaction\/([^/]+)(?:\/(login|confirm|abort))?$/.exec(pathname);
  if (!m) return handleProvider(req, res);
  interaction(req, res, m[1], m[2]).catch((err) => {
    if (!res.headersSent) {
      send(res, 400, page('Error', `<p class="error">${escapeHtml(err.name)}: ${escapeHtml(err.message)}</p>`));
    } else {
      res.end();
    }
  });
};

const server = tls ? createTlsServer(tls, handle) : createServer(handle);
server.listen(port, args.host);
