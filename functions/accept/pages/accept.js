// The page an invitation email links to: /accept?token=…
"use strict";
(async () => {
  const { api, el, say, masterKeys, newAccountKeys, newOrgKey, sealFor, KDF, pendingInvitation } = window.Admit;
  const content = document.getElementById("content");
  const title = document.getElementById("title");
  const token = new URLSearchParams(location.search).get("token") || "";
  // Keep the token out of the address bar (and of anything copied from it).
  history.replaceState(null, "", "/accept");

  const show = (...nodes) => content.replaceChildren(...nodes);
  const lookup = await api("POST", "/invitations/lookup", { token });
  if (lookup.status === 410) {
    pendingInvitation.clear(token);
    title.textContent = "This invitation has expired";
    show(el("p", {}, "Ask an administrator of the organization to send you a new invitation."));
    return;
  }
  if (!lookup.ok) {
    pendingInvitation.clear(token);
    title.textContent = "This invitation link is not valid";
    show(el("p", {}, "It may have been used already, or replaced by a newer invitation. Check your latest email, or ask an administrator to invite you again."));
    return;
  }
  const inv = lookup.data;
  const expires = new Date(inv.expires_at).toISOString().replace("T", " ").slice(0, 16) + " UTC";

  if (inv.sso.enabled && !inv.account_exists) {
    title.textContent = `Join ${inv.org_name}`;
    const href = `/sso/start?identifier=${encodeURIComponent(inv.sso.sso_identifier)}&invitation=${encodeURIComponent(token)}`;
    show(el("p", {}, `${inv.org_name} signs you in with single sign-on. Continue to your company's sign-in page to finish setting up your account.`),
         el("p", {}, el("a", { href }, "Continue with single sign-on")));
    location.assign(href);
    return;
  }

  const existing = inv.account_exists;
  const owner = inv.role === "owner";
  const sameEmail = (x, y) => x.trim().toLowerCase() === y.trim().toLowerCase();
  // Who this browser is signed in as (only an existing account can be the invited one).
  const meRes = existing ? await api("GET", "/me") : null;
  const signedIn = meRes && meRes.ok ? meRes.data : null;
  const signedInAsInvited = !!signedIn && sameEmail(signedIn.email, inv.email);

  title.textContent = existing ? `Accept invitation to ${inv.org_name}` : `Finish account setup for ${inv.org_name}`;
  const pw = el("input", { id: "pw", type: "password", autocomplete: existing ? "current-password" : "new-password", required: true, minlength: existing ? 1 : 12 });
  const pw2 = el("input", { id: "pw2", type: "password", autocomplete: "new-password", required: true });
  const name = el("input", { id: "name", type: "text", autocomplete: "name", maxlength: 100 });
  const button = el("button", { type: "submit" }, existing ? "Accept invitation" : "Finish account setup");
  const fields = existing
    ? [el("label", { for: "pw" }, "Your master password"), pw]
    : [el("label", { for: "name" }, "Your name (optional)"), name,
       el("label", { for: "pw" }, "Create a master password (at least 12 characters)"), pw,
       el("label", { for: "pw2" }, "Type it again"), pw2];
  const user = el("input", { type: "email", autocomplete: "username", value: inv.email, readonly: true, hidden: true });
  const form = el("form", {}, el("p", {}, `Invited: ${inv.email}`), user, ...fields, button,
                  el("p", { class: "muted" }, `This invitation expires on ${expires}.`));
  const parts = [];
  if (signedInAsInvited) {
    parts.push(acceptAsPanel(), el("h2", {}, "Or accept with your master password"));
  }
  parts.push(form);
  if (existing && !signedInAsInvited) parts.push(signInPanel());
  show(...parts);

  // The bootstrap owner brings the organization key, encrypted for its own
  // public key: a new account's, made here, or an existing account's, read
  // from /me after signing in (or from the session's /me).
  async function orgKeyForExisting(hash) {
    const login = await api("POST", "/auth/login", { email: inv.email, master_password_hash: hash });
    if (login.status === 401) return { wrong: true };
    if (!login.ok) return { note: "Signing in failed, so this page could not hand over the organization key." };
    const me = await api("GET", "/me");
    return orgKeyFor(me.ok ? me.data : null);
  }
  async function orgKeyFor(account) {
    const publicKey = account && account.keys && account.keys.public_key;
    if (!publicKey) return { note: "Your account has no keys yet, so this page could not hand over the organization key." };
    return { org_key: await sealFor(publicKey, newOrgKey()) };
  }
  const noOrgKey = (why) => `${why} Without an organization key, the console cannot hand one over to the members it confirms.`;

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!existing && pw.value !== pw2.value) { say("The two passwords differ.", "error"); return; }
    await busy([button], submit);
  });

  // Run `act` with `buttons` disabled; a WebCrypto failure is said.
  async function busy(buttons, act) {
    for (const b of buttons) b.disabled = true;
    say("Working…");
    try {
      await act();
    } catch (e) {
      say(`This browser could not make or use your keys: ${e.message}`, "error");
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  }

  async function submit() {
    const { hash, stretched } = await masterKeys(inv.email, pw.value);
    const body = { token, master_password_hash: hash };
    let note = "";
    if (existing) {
      if (owner) {
        const got = await orgKeyForExisting(hash);
        if (got.wrong) { say("That master password is not right.", "error"); return; }
        if (got.org_key) body.org_key = got.org_key;
        else note = noOrgKey(got.note);
      }
    } else {
      body.kdf = KDF;
      if (name.value.trim()) body.name = name.value.trim();
      const made = await newAccountKeys(stretched);
      body.keys = made.keys;
      if (owner) body.org_key = await sealFor(made.publicKey, newOrgKey());
    }
    finish(await api("POST", "/invitations/accept", body), note, false);
  }

  // Accept with the browser's session of the invited account: no master
  // password (how an account that has none joins another organization).
  async function acceptWithSession(account) {
    const body = { token };
    let note = "";
    if (owner) {
      const got = await orgKeyFor(account);
      if (got.org_key) body.org_key = got.org_key;
      else note = noOrgKey(got.note);
    }
    finish(await api("POST", "/invitations/accept", body), note, true);
  }

  function finish(res, note, withSession) {
    if (res.ok) {
      pendingInvitation.clear(token);
      const confirmed = res.data.status === "confirmed";
      title.textContent = `You joined ${inv.org_name}`;
      show(el("p", {}, confirmed
             ? "Your account is ready."
             : "An administrator will confirm you shortly; you will get an email when your access is ready."),
           ...(note ? [el("p", {}, note)] : []),
           el("p", {}, el("a", { href: "/app" }, withSession ? "Continue to the console" : "Sign in")));
      say(`Status: ${res.data.status}`, "ok");
    } else if (res.status === 401) {
      say("That master password is not right.", "error");
    } else if (res.status === 403) {
      say(`This browser is signed in as another account than ${inv.email}.`, "error");
    } else {
      say((res.data && res.data.message) || "Something went wrong.", "error");
    }
  }

  // Signed in as the invited account: one button.
  function acceptAsPanel() {
    const accept = el("button", { type: "button", id: "accept-as" }, `Accept as ${signedIn.email}`);
    accept.addEventListener("click", () => busy([accept], () => acceptWithSession(signedIn)));
    return el("section", { "aria-labelledby": "h-accept-as" },
      el("h2", { id: "h-accept-as" }, `You are signed in as ${signedIn.email}`),
      el("p", {}, `Accept the invitation to ${inv.org_name} with this account.`), accept);
  }

  // Not signed in as the invited account: sign in first, with the master
  // password or with the single sign-on of an organization the account
  // already belongs to (an account without a master password), then accept.
  function signInPanel() {
    const spw = el("input", { id: "signin-pw", type: "password", autocomplete: "current-password", required: true });
    const signInButton = el("button", { type: "submit" }, "Sign in and accept");
    const withPassword = el("form", { "aria-label": "Sign in with your master password" },
      el("label", { for: "signin-pw" }, `Master password of ${inv.email}`), spw, signInButton);
    withPassword.addEventListener("submit", (ev) => {
      ev.preventDefault();
      busy([signInButton], async () => {
        const { hash } = await masterKeys(inv.email, spw.value);
        const login = await api("POST", "/auth/login", { email: inv.email, master_password_hash: hash });
        if (login.status === 401) return say("That master password is not right.", "error");
        if (login.status === 403 && login.data && login.data.error === "sso_required") {
          return say("Your organization requires single sign-on: sign in with it below.", "error");
        }
        if (!login.ok) return say((login.data && login.data.message) || "Signing in failed.", "error");
        const me = await api("GET", "/me");
        if (!me.ok) return say("Signed in, but your account could not be read. Reload this page.", "error");
        spw.value = "";
        await acceptWithSession(me.data);
      });
    });
    const ident = el("input", { id: "signin-sso", type: "text", autocomplete: "organization", spellcheck: "false", required: true });
    const ssoButton = el("button", { type: "submit" }, "Sign in with single sign-on");
    const withSso = el("form", { "aria-label": "Sign in with single sign-on" },
      el("h3", {}, "Sign in with single sign-on of an organization you belong to"),
      el("p", { class: "muted" }, "For an account without a master password. After signing in, follow “Back to your invitation” in the console."),
      el("label", { for: "signin-sso" }, "That organization's SSO identifier"), ident, ssoButton);
    withSso.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const id = ident.value.trim();
      if (!id) return;
      // The way back, for /app: this tab's storage, the link's token in it.
      pendingInvitation.save(token);
      location.assign(`/sso/start?identifier=${encodeURIComponent(id)}`);
    });
    return el("section", { "aria-labelledby": "h-sign-in" },
      el("h2", { id: "h-sign-in" }, "Sign in to accept"),
      ...(signedIn ? [el("p", {}, `This browser is signed in as ${signedIn.email}, not as ${inv.email}.`)] : []),
      withPassword, withSso);
  }
})();
