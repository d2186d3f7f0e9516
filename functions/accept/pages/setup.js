// /setup#setup_token=… — the setup step after a just-in-time SSO sign-in.
"use strict";
(async () => {
  const { api, el, say, masterKeys, newAccountKeys, newDeviceKey, newDeviceIdentifier, devices, KDF } = window.Admit;
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
  const button = el("button", { type: "submit" }, "Finish account setup");
  let form, body, after = () => [];
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
      const { hash, stretched } = await masterKeys(info.email, pw.value);
      const { keys } = await newAccountKeys(stretched);
      return ["/setup/master-password", { setup_token: token, master_password_hash: hash, kdf: KDF, keys }];
    };
  } else if (info.member_decryption === "trusted_devices") {
    // The user key is wrapped with a key of this device that cannot be
    // exported: remembered in this browser's storage, or, unticked, only in
    // this page's memory.
    const remember = el("input", { id: "remember", type: "checkbox", checked: true });
    form = el("form", {}, el("p", {}, `Signed in as ${info.email}.`),
      el("p", {}, remember, " ", el("label", { for: "remember", class: "inline" }, "Remember this device")),
      el("p", { class: "muted" }, "Your keys are unlocked with a key kept by this browser. Without “Remember this device”, that key lives only in this page: once you leave or close it, your keys cannot be unlocked here."),
      button);
    body = async () => {
      const key = await newDeviceKey();
      const known = await devices.get(info.email).catch(() => null);
      const identifier = (known && known.identifier) || newDeviceIdentifier();
      if (remember.checked) {
        try {
          await devices.put(info.email, { identifier, key });
        } catch (e) {
          say(`This browser cannot remember the device (${e && e.message}). Untick “Remember this device” to go on.`, "error");
          return null;
        }
      }
      const { keys } = await newAccountKeys(key);
      if (!remember.checked) after = () => [el("p", {}, "This device is not remembered: your keys can be unlocked only in this tab, on this page, until you leave or close it.")];
      return ["/setup/trusted-device", { setup_token: token, remember: remember.checked,
        device: { identifier, name: navigator.userAgent.slice(0, 100) || "browser", type: "browser" }, keys }];
    };
  } else {
    // The key connector holds the user key: only the organization's
    // key-connector client can make and store the keys. This page sends nothing.
    show(el("p", {}, `Signed in as ${info.email}. ${info.org_name} keeps its members' keys with a key connector.`),
         el("p", {}, "Finish setting up with your organization's key-connector client: it makes your keys and hands them to the key connector. This page cannot do it for you."));
    return;
  }
  show(form);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    button.disabled = true;
    say("Working…");
    let req;
    try {
      req = await body();
    } catch (e) {
      button.disabled = false;
      say(`This browser could not make your keys: ${e.message}`, "error");
      return;
    }
    if (!req) { button.disabled = false; return; }
    const res = await api("POST", req[0], req[1]);
    button.disabled = false;
    if (res.ok) {
      title.textContent = `You joined ${info.org_name}`;
      show(el("p", {}, "An administrator will confirm you shortly; you will get an email when your access is ready."),
           ...after(),
           el("p", {}, el("a", { href: "/app" }, "Continue")));
      say(`Status: ${res.data.status}`, "ok");
    } else {
      say((res.data && res.data.message) || "Something went wrong.", "error");
    }
  });
})();
