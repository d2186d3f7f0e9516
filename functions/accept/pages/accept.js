// The page an invitation email links to: /accept?token=…
"use strict";
(async () => {
  const { api, el, say, masterKeys, newAccountKeys, newOrgKey, sealFor, KDF } = window.Admit;
  const content = document.getElementById("content");
  const title = document.getElementById("title");
  const token = new URLSearchParams(location.search).get("token") || "";
  // Keep the token out of the address bar (and of anything copied from it).
  history.replaceState(null, "", "/accept");

  const show = (...nodes) => content.replaceChildren(...nodes);
  const lookup = await api("POST", "/invitations/lookup", { token });
  if (lookup.status === 410) {
    title.textContent = "This invitation has expired";
    show(el("p", {}, "Ask an administrator of the organization to send you a new invitation."));
    return;
  }
  if (!lookup.ok) {
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
  show(form);

  // The bootstrap owner brings the organization key, encrypted for its own
  // public key: a new account's, made here, or an existing account's, read
  // from /me after signing in.
  const owner = inv.role === "owner";
  async function orgKeyForExisting(hash) {
    const login = await api("POST", "/auth/login", { email: inv.email, master_password_hash: hash });
    if (login.status === 401) return { wrong: true };
    if (!login.ok) return { note: "Signing in failed, so this page could not hand over the organization key." };
    const me = await api("GET", "/me");
    const publicKey = me.ok && me.data.keys && me.data.keys.public_key;
    if (!publicKey) return { note: "Your account has no keys yet, so this page could not hand over the organization key." };
    return { org_key: await sealFor(publicKey, newOrgKey()) };
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!existing && pw.value !== pw2.value) { say("The two passwords differ.", "error"); return; }
    button.disabled = true;
    say("Working…");
    try {
      await submit();
    } catch (e) {
      button.disabled = false;
      say(`This browser could not make or use your keys: ${e.message}`, "error");
    }
  });

  async function submit() {
    const { hash, stretched } = await masterKeys(inv.email, pw.value);
    const body = { token, master_password_hash: hash };
    let note = "";
    if (existing) {
      if (owner) {
        const got = await orgKeyForExisting(hash);
        if (got.wrong) { button.disabled = false; say("That master password is not right.", "error"); return; }
        if (got.org_key) body.org_key = got.org_key;
        else note = `${got.note} Without an organization key, the console cannot hand one over to the members it confirms.`;
      }
    } else {
      body.kdf = KDF;
      if (name.value.trim()) body.name = name.value.trim();
      const made = await newAccountKeys(stretched);
      body.keys = made.keys;
      if (owner) body.org_key = await sealFor(made.publicKey, newOrgKey());
    }
    const res = await api("POST", "/invitations/accept", body);
    button.disabled = false;
    if (res.ok) {
      const confirmed = res.data.status === "confirmed";
      title.textContent = `You joined ${inv.org_name}`;
      show(el("p", {}, confirmed
             ? "Your account is ready."
             : "An administrator will confirm you shortly; you will get an email when your access is ready."),
           ...(note ? [el("p", {}, note)] : []),
           el("p", {}, el("a", { href: "/app" }, "Sign in")));
      say(`Status: ${res.data.status}`, "ok");
    } else if (res.status === 401) {
      say("That master password is not right.", "error");
    } else {
      say((res.data && res.data.message) || "Something went wrong.", "error");
    }
  }
})();
