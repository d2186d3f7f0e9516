// /setup#setup_token=… — the setup step after a just-in-time SSO sign-in.
"use strict";
(async () => {
  const { api, el, say, masterPasswordHash, KDF, randomKey } = window.Admit;
  const content = document.getElementById("content");
  const title = document.getElementById("title");
  const show = (...nodes) => content.replaceChildren(...nodes);
  const token = new URLSearchParams(location.hash.slice(1)).get("setup_token") || "";
  history.replaceState(null, "", "/setup");

  const lookup = await api("POST", "/setup/lookup", { setup_token: token });
  if (!lookup.ok) {
    title.textContent = lookup.status === 410 ? "This setup link has expired" : "This setup link is not valid";
    show(el("p", {}, "Sign in with single sign-on again to get a new one."), el("p", {}, el("a", { href: "/sso" }, "Sign in")));
    return;
  }
  const info = lookup.data;
  title.textContent = `Finish setting up for ${info.org_name}`;
  // A real client generates and encrypts its keys here; this page sends opaque stand-ins.
  const keys = () => ({ user_key: randomKey(), public_key: randomKey(), encrypted_private_key: randomKey() });
  const button = el("button", { type: "submit" }, "Finish account setup");
  let form, body;
  if (info.member_decryption === "master_password") {
    const pw = el("input", { id: "pw", type: "password", autocomplete: "new-password", required: true, minlength: 12 });
    const pw2 = el("input", { id: "pw2", type: "password", autocomplete: "new-password", required: true });
    // The email as the username, so password managers file the new master password under it.
    const user = el("input", { type: "email", autocomplete: "username", value: info.email, readonly: true, hidden: true });
    form = el("form", {}, el("p", {}, `Signed in as ${info.email}.`), user,
      el("label", { for: "pw" }, "Create a master password (at least 12 characters)"), pw,
      el("label", { for: "pw2" }, "Type it again"), pw2, button);
    body = async () => {
      if (pw.value !== pw2.value) { say("The two passwords differ.", "error"); return null; }
      return ["/setup/master-password", { setup_token: token, master_password_hash: await masterPasswordHash(info.email, pw.value), kdf: KDF, keys: keys() }];
    };
  } else if (info.member_decryption === "trusted_devices") {
    const remember = el("input", { id: "remember", type: "checkbox", checked: true });
    form = el("form", {}, el("p", {}, `Signed in as ${info.email}.`),
      el("p", {}, remember, " ", el("label", { for: "remember", class: "inline" }, "Remember this device")), button);
    body = async () => ["/setup/trusted-device", { setup_token: token, remember: remember.checked,
      device: { identifier: randomKey(), name: navigator.userAgent.slice(0, 100) || "browser", type: "browser" }, keys: keys() }];
  } else {
    form = el("form", {}, el("p", {}, `Signed in as ${info.email}. Your keys are kept by your organization's key connector.`), button);
    body = async () => ["/setup/key-connector", { setup_token: token, keys: keys() }];
  }
  show(form);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const req = await body();
    if (!req) return;
    button.disabled = true;
    say("Working…");
    const res = await api("POST", req[0], req[1]);
    button.disabled = false;
    if (res.ok) {
      title.textContent = `You joined ${info.org_name}`;
      show(el("p", {}, "An administrator will confirm you shortly; you will get an email when your access is ready."),
           el("p", {}, el("a", { href: "/app" }, "Continue")));
      say(`Status: ${res.data.status}`, "ok");
    } else {
      say((res.data && res.data.message) || "Something went wrong.", "error");
    }
  });
})();
