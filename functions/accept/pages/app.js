// The console: sign in, see your organizations; owners and admins invite,
// reinvite and confirm members, change their roles, set the seats, the
// invitation settings and (owners) the admin group, read the organization's
// events, verify its domains by DNS and connect its identity provider's SCIM
// provisioning; every member may link single sign-on and delete the account.
"use strict";
(async () => {
  const { api, el, say, masterKeys, masterPasswordHash, unlockKeys, unsealWith, sealFor, fingerprint,
    publicKeyFingerprint, devices, pendingInvitation } = window.Admit;
  const content = document.getElementById("content");
  const show = (...nodes) => content.replaceChildren(...nodes);
  // The audit log's event types (openapi.yaml EventType) and what `via` means.
  const EVENT_TYPES = ["org.created", "member.invited", "member.reinvited", "member.reminded", "member.accepted",
    "member.confirmed", "member.revoked", "member.restored", "member.removed", "member.role_changed",
    "member.groups_changed", "sso.signed_in", "sso.linked", "sso.jit_created", "sso.refused", "auth.login_failed",
    "sso.settings_changed", "policies.changed", "org.seats_changed", "org.settings_changed", "domain.added", "domain.verified", "domain.removed",
    "scim.token_issued", "scim.token_deleted", "scim.user_created", "scim.user_updated", "scim.user_deleted",
    "scim.group_created", "scim.group_updated", "scim.group_deleted"];
  const VIA = { invitation: "invitation", setup: "account setup", sso_identifier: "SSO identifier", domain: "claimed domain",
    link: "the member's own link", account_deleted: "account deleted" };

  // The unlocked keys, in this tab's memory only: the private key (not
  // extractable) and each organization's key (the bytes, to hand over).
  const vault = { privateKey: null, orgKeys: new Map() };
  let account = null; // GET /me
  const keyLines = new Map(); // org id → the paragraph that shows its key's fingerprint
  const me = await api("GET", "/me");
  if (me.status === 401) return signIn();
  if (!me.ok) return say("Could not load your account.", "error");
  await render(me.data);

  // `stretched`: from signing in here, the key that unlocks the keys at once.
  async function render(data, stretched) {
    account = data;
    keyLines.clear();
    const logout = el("button", { type: "button", onclick: async () => { await api("POST", "/auth/logout"); location.reload(); } }, "Sign out");
    const sections = account.memberships.map(orgSection);
    show(...backToInvitation(), el("p", {}, `Signed in as ${account.email}. `, logout),
         await keysPanel(stretched),
         ...(sections.length ? sections : [el("p", {}, "You are not a member of any organization yet.")]),
         accountPanel());
    await showOrgKeys();
  }

  // An invitation the accept page was left for, to sign in with single sign-on first.
  function backToInvitation() {
    const href = pendingInvitation.get();
    return href ? [el("p", { id: "pending-invitation" }, el("a", { href }, "Back to your invitation"))] : [];
  }

  // Start a single sign-on that links the identity coming back to this
  // account: `link=1` with the session, or the `link_token` of a refused sign-in.
  function startLink(identifier, linkToken) {
    const id = encodeURIComponent(identifier.trim());
    location.assign(linkToken
      ? `/sso/start?identifier=${id}&link_token=${encodeURIComponent(linkToken)}`
      : `/sso/start?identifier=${id}&link=1`);
  }

  function signIn() {
    const email = el("input", { id: "email", type: "email", autocomplete: "username", required: true });
    const pw = el("input", { id: "pw", type: "password", autocomplete: "current-password", required: true });
    const form = el("form", {}, el("h2", {}, "Sign in"),
      el("label", { for: "email" }, "Email"), email,
      el("label", { for: "pw" }, "Master password"), pw,
      el("button", { type: "submit" }, "Sign in"));
    const ssoPart = el("div", { id: "sso-required" });
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      say("Signing in…");
      ssoPart.replaceChildren();
      const { hash, stretched } = await masterKeys(email.value, pw.value);
      const res = await api("POST", "/auth/login", { email: email.value, master_password_hash: hash });
      if (res.ok) {
        const again = await api("GET", "/me");
        if (!again.ok) return location.reload();
        say("");
        await render(again.data, stretched);
      } else if (res.status === 403 && res.data && res.data.error === "sso_required") {
        say("Your organization requires single sign-on.", "error");
        ssoRequired(res.data.link_token);
      } else say("Wrong email or master password.", "error");
    });
    // The credentials were right, but the organization requires single
    // sign-on: with a link token, the identity the IdP proves next is linked
    // to this account (whatever email the IdP asserts); without one (an
    // identity is linked already), an ordinary single sign-on.
    function ssoRequired(linkToken) {
      const ident = el("input", { id: "link-identifier", type: "text", autocomplete: "organization", spellcheck: "false", required: true });
      const go = el("button", { type: "submit" }, linkToken ? "Link with single sign-on" : "Sign in with single sign-on");
      const f = el("form", { "aria-label": "Single sign-on required" },
        el("p", {}, linkToken
          ? "Your organization requires single sign-on. Link your account:"
          : "Your organization requires single sign-on. Sign in with it:"),
        el("label", { for: "link-identifier" }, "Your organization's SSO identifier"), ident, go);
      f.addEventListener("submit", (ev) => {
        ev.preventDefault();
        if (!ident.value.trim()) return;
        if (linkToken) startLink(ident.value, linkToken);
        else location.assign(`/sso/start?identifier=${encodeURIComponent(ident.value.trim())}`);
      });
      ssoPart.replaceChildren(f);
      ident.focus();
    }
    show(...backToInvitation(), form, ssoPart);
  }

  // Your keys: their public fingerprint (to compare with what an
  // administrator sees when confirming you), and unlocking them with the
  // master password or with this browser's device key.
  async function keysPanel(stretched) {
    const panel = el("section", { class: "keys", "aria-labelledby": "h-keys" }, el("h2", { id: "h-keys" }, "Your keys"));
    if (!account.keys) {
      panel.append(el("p", {}, "Your account has no keys yet."));
      return panel;
    }
    const mine = await publicKeyFingerprint(account.keys.public_key);
    panel.append(el("p", {}, "Your public key fingerprint: ", el("code", { id: "my-fingerprint" }, mine)));
    if (stretched) {
      try {
        vault.privateKey = await unlockKeys(account.keys, stretched);
      } catch (_) {
        vault.privateKey = null;
      }
    }
    if (vault.privateKey) {
      panel.append(el("p", { id: "unlocked" }, "Your keys are unlocked in this tab."));
      return panel;
    }
    const device = await devices.get(account.email).catch(() => null);
    const pw = el("input", { id: "unlock-pw", type: "password", autocomplete: "current-password", required: true });
    const unlockButton = el("button", { type: "submit" }, "Unlock");
    const form = el("form", { "aria-label": "Unlock your keys" },
      el("p", {}, "Your keys are locked. Unlocking them here, in this tab only, shows your organizations' keys and lets you confirm members."),
      el("label", { for: "unlock-pw" }, "Master password"), pw, unlockButton);
    const withDevice = device && device.key
      ? el("button", { type: "button", class: "secondary" }, "Unlock with this device")
      : null;
    if (withDevice) form.append(" ", withDevice);
    const unlocked = () => {
      form.replaceWith(el("p", { id: "unlocked" }, "Your keys are unlocked in this tab."));
      say("Keys unlocked.", "ok");
      return showOrgKeys();
    };
    const attempt = async (wrapKey, why) => {
      unlockButton.disabled = true;
      if (withDevice) withDevice.disabled = true;
      say("Unlocking…");
      try {
        vault.privateKey = await unlockKeys(account.keys, await wrapKey());
      } catch (_) {
        unlockButton.disabled = false;
        if (withDevice) withDevice.disabled = false;
        return say(why, "error");
      }
      pw.value = "";
      await unlocked();
    };
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      attempt(async () => (await masterKeys(account.email, pw.value)).stretched,
        "That master password does not unlock your keys.");
    });
    if (withDevice) {
      withDevice.addEventListener("click", () => attempt(async () => device.key,
        "This device's key does not unlock your keys."));
    }
    panel.append(form);
    return panel;
  }

  // Each confirmed membership's organization key: decrypted with the private
  // key into memory, and shown by its fingerprint.
  async function showOrgKeys() {
    for (const m of account.memberships) {
      const line = keyLines.get(m.org_id);
      if (!line || m.status !== "confirmed") continue;
      if (!m.key) { line.textContent = "No organization key was handed over to you."; continue; }
      if (!vault.privateKey) { line.textContent = "Unlock your keys to see the organization key's fingerprint."; continue; }
      try {
        const orgKey = await unsealWith(vault.privateKey, m.key);
        vault.orgKeys.set(m.org_id, orgKey);
        line.replaceChildren("Organization key fingerprint: ", el("code", { class: "org-fingerprint" }, await fingerprint(orgKey)));
      } catch (_) {
        line.textContent = "The organization key handed over to you does not open with your keys.";
      }
    }
  }

  function orgSection(m) {
    const keyLine = el("p", { class: "org-key" });
    keyLines.set(m.org_id, keyLine);
    const s = el("section", { "aria-labelledby": `h-${m.org_id}` },
      el("h2", { id: `h-${m.org_id}` }, m.org_name),
      el("p", {}, `Your role: ${m.role}, status: ${m.status}.`), keyLine);
    const admin = m.status === "confirmed" && (m.role === "owner" || m.role === "admin");
    if (admin) adminTools(s, m);
    else if (m.status === "accepted" || m.status === "confirmed") s.append(linkSsoForm(m));
    return s;
  }

  // A member who cannot read the organization's settings types its SSO identifier.
  function linkSsoForm(m) {
    const id = `link-sso-${m.org_id}`;
    const ident = el("input", { id, type: "text", autocomplete: "organization", spellcheck: "false", required: true });
    const f = el("form", { "aria-label": `Link single sign-on of ${m.org_name}` },
      el("h3", {}, "Single sign-on"),
      el("p", { class: "muted" }, `If ${m.org_name} signs its members in with single sign-on, link your account to its identity provider: you can then sign in with it.`),
      el("label", { for: id }, `${m.org_name}'s SSO identifier`), ident,
      el("button", { type: "submit" }, "Link single sign-on"));
    f.addEventListener("submit", (ev) => {
      ev.preventDefault();
      if (ident.value.trim()) startLink(ident.value);
    });
    return f;
  }

  // The organization's settings (GET /orgs/{org}), loaded once and again
  // after each change; `on(fn)` calls `fn` with each view loaded.
  function orgView(org) {
    const listeners = [];
    let current = null;
    return {
      on(fn) { listeners.push(fn); if (current) fn(current); },
      set(view) { current = view; for (const fn of listeners) fn(view); },
      async load() {
        const res = await api("GET", `/orgs/${org}`);
        if (res.ok) this.set(res.data);
      },
    };
  }

  // An administrator links with the organization's own identifier, when it has SSO.
  function linkSsoButton(view) {
    const go = el("button", { type: "button", class: "secondary" }, "Link single sign-on");
    const note = el("p", { class: "muted" });
    const node = el("div", { hidden: true }, el("h3", {}, "Single sign-on"), note, go);
    let ident = null;
    go.addEventListener("click", () => { if (ident) startLink(ident); });
    view.on((v) => {
      ident = v.sso_identifier;
      node.hidden = !v.sso_enabled;
      note.textContent = `Link your account to the identity provider of this organization (SSO identifier ${v.sso_identifier}): you can then sign in with it.`;
    });
    return node;
  }

  // "5", "" → 5, null; anything else → undefined.
  function count(text) {
    const t = text.trim();
    if (!t) return null;
    return /^\d+$/.test(t) ? Number(t) : undefined;
  }

  // Seats: what is occupied; owners set the limit and autoscaling.
  function seatsPanel(org, view, isOwner) {
    const line = el("p", { id: `seats-occupied-${org}` }, "Loading…");
    const node = el("div", {}, el("h3", {}, "Seats"), line);
    const limit = el("input", { id: `seat-limit-${org}`, type: "number", min: 0, step: 1, inputmode: "numeric" });
    const autoscale = el("input", { id: `seat-autoscale-${org}`, type: "number", min: 0, step: 1, inputmode: "numeric" });
    const save = el("button", { type: "submit" }, "Save seats");
    view.on((v) => {
      const s = v.seats || {};
      const parts = [`${s.occupied} occupied`, s.limit === null || s.limit === undefined ? "no limit" : `limit ${s.limit}`];
      if (s.autoscale_max !== null && s.autoscale_max !== undefined) parts.push(`autoscales up to ${s.autoscale_max}`);
      line.textContent = `Seats: ${parts.join(", ")}.`;
      limit.value = s.limit === null || s.limit === undefined ? "" : String(s.limit);
      autoscale.value = s.autoscale_max === null || s.autoscale_max === undefined ? "" : String(s.autoscale_max);
    });
    if (!isOwner) return node;
    const form = el("form", { "aria-label": "Seats" },
      el("label", { for: `seat-limit-${org}` }, "Seat limit (empty: no limit)"), limit,
      el("label", { for: `seat-autoscale-${org}` }, "Autoscale up to (empty: no autoscaling)"), autoscale, save);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const body = { limit: count(limit.value), autoscale_max: count(autoscale.value) };
      if (body.limit === undefined || body.autoscale_max === undefined) return say("Seats are whole numbers, or empty.", "error");
      save.disabled = true;
      const res = await api("PUT", `/orgs/${org}/seats`, body);
      save.disabled = false;
      if (!res.ok) return say((res.data && res.data.message) || "Could not save the seats.", "error");
      view.set(res.data);
      say("Seats saved.", "ok");
    });
    node.append(form);
    return node;
  }

  // How long invitations last, and the days after sending that reminders go out.
  function invitationSettings(org, view) {
    const days = el("input", { id: `invitation-days-${org}`, type: "number", min: 1, max: 30, step: 1, inputmode: "numeric" });
    const reminders = el("input", { id: `reminder-days-${org}`, type: "text", inputmode: "numeric", autocomplete: "off", placeholder: "e.g. 2, 4" });
    const save = el("button", { type: "submit" }, "Save invitation settings");
    const form = el("form", { "aria-label": "Invitation settings" }, el("h3", {}, "Invitations"),
      el("label", { for: `invitation-days-${org}` }, "Invitations expire after (days, 1 to 30)"), days,
      el("label", { for: `reminder-days-${org}` }, "Reminders go out on these days after sending (comma-separated; empty: none)"), reminders,
      save);
    view.on((v) => {
      days.value = String(v.invitation_lifetime_days);
      reminders.value = (v.reminder_days || []).join(", ");
    });
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const body = {};
      const d = count(days.value);
      if (d === undefined) return say("The invitation lifetime is a whole number of days.", "error");
      if (d !== null) body.invitation_days = d;
      const list = reminders.value.split(/[\s,;]+/).filter(Boolean);
      if (list.some((x) => !/^\d+$/.test(x))) return say("Reminder days are whole numbers, separated by commas.", "error");
      body.reminder_days = list.map(Number);
      save.disabled = true;
      const res = await api("PUT", `/orgs/${org}/settings`, body);
      save.disabled = false;
      if (!res.ok) return say((res.data && res.data.message) || "Could not save the invitation settings.", "error");
      view.set(res.data);
      say("Invitation settings saved.", "ok");
    });
    return form;
  }

  // The admin group (owners only): its members are admins. Roles follow it
  // at once; `saved` runs after a change (the members and events show it).
  function adminGroupSettings(org, view, saved) {
    const id = `admin-group-${org}`;
    const group = el("input", { id, type: "text", autocomplete: "off", autocapitalize: "none", spellcheck: "false",
      "aria-describedby": `admin-group-hint-${org}` });
    const save = el("button", { type: "submit" }, "Save admin group");
    const form = el("form", { "aria-label": "Admin group" }, el("h3", {}, "Admin group"),
      el("label", { for: id }, "Admin group (optional)"), group,
      el("p", { id: `admin-group-hint-${org}`, class: "muted hint" },
        "Members of this group — pushed by SCIM, or sent by your IdP at sign-in — are admins. " +
        "Leaving the group takes back an admin role it gave; a role set by hand stays. Never makes anyone owner."),
      save);
    view.on((v) => { group.value = v.admin_group || ""; });
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      save.disabled = true;
      const res = await api("PUT", `/orgs/${org}/settings`, { admin_group: group.value.trim() || null });
      save.disabled = false;
      if (!res.ok) return say((res.data && res.data.message) || "Could not save the admin group.", "error");
      view.set(res.data);
      say(res.data.admin_group ? "Admin group saved." : "Admin group cleared.", "ok");
      saved();
    });
    return form;
  }

  // Your account: deleting it, after typing its email (and its master
  // password, when it has one, hashed here as signing in does).
  function accountPanel() {
    const start = el("button", { type: "button", class: "secondary" }, "Delete my account");
    const email = el("input", { id: "delete-email", type: "email", autocomplete: "off", required: true });
    const pw = el("input", { id: "delete-pw", type: "password", autocomplete: "current-password" });
    const confirmDelete = el("button", { type: "submit" }, "Delete my account for good");
    const cancel = el("button", { type: "button", class: "secondary" }, "Cancel");
    const form = el("form", { class: "review", "aria-label": "Delete your account", hidden: true },
      el("p", {}, "Deleting your account removes you from every organization you belong to, frees your seats, and forgets your keys and devices. It cannot be undone."),
      el("label", { for: "delete-email" }, `Type your email (${account.email}) to confirm`), email,
      el("label", { for: "delete-pw" }, "Your master password (leave empty if your account has none)"), pw,
      el("p", {}, confirmDelete, " ", cancel));
    start.addEventListener("click", () => { form.hidden = false; start.hidden = true; email.focus(); });
    cancel.addEventListener("click", () => {
      form.hidden = true; start.hidden = false; email.value = ""; pw.value = ""; say("");
    });
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      if (email.value.trim().toLowerCase() !== account.email.trim().toLowerCase()) {
        return say("Type your account's email exactly to confirm.", "error");
      }
      confirmDelete.disabled = true;
      say("Deleting your account…");
      const body = {};
      let res;
      try {
        if (pw.value) body.master_password_hash = await masterPasswordHash(account.email, pw.value);
        res = await api("DELETE", "/me", body);
      } catch (e) {
        return say(`Your account could not be deleted: ${e.message}`, "error");
      } finally {
        confirmDelete.disabled = false;
      }
      if (res.status === 204) {
        pw.value = "";
        account = null;
        vault.privateKey = null;
        vault.orgKeys.clear();
        signIn();
        return say("Your account is deleted. You are signed out.", "ok");
      }
      if (res.status === 401 && body.master_password_hash) return say("That master password is not right.", "error");
      if (res.status === 401) return location.reload();
      if (res.status === 400 && !body.master_password_hash) return say("Your account has a master password: type it to delete the account.", "error");
      if (res.status === 403) {
        return say("An account without a master password is deleted within 5 minutes of signing in: sign out, sign in again with single sign-on, then delete it.", "error");
      }
      say((res.data && res.data.message) || "Could not delete your account.", "error");
    });
    return el("section", { "aria-labelledby": "h-account" }, el("h2", { id: "h-account" }, "Your account"),
      el("p", {}, start), form);
  }

  function adminTools(section, membership) {
    const org = membership.org_id;
    const view = orgView(org);
    const emails = el("textarea", { id: `emails-${org}`, rows: 3, placeholder: "one email per line" });
    const role = el("select", { id: `role-${org}` }, el("option", { value: "user" }, "user"), el("option", { value: "admin" }, "admin"));
    const invite = el("form", {},
      el("h3", {}, "Invite members"),
      el("label", { for: `emails-${org}` }, "Emails"), emails,
      el("label", { for: `role-${org}` }, "Role"), role,
      el("button", { type: "submit" }, "Send invitations"));
    invite.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const list = emails.value.split(/[\s,;]+/).filter(Boolean);
      const res = await api("POST", `/orgs/${org}/invitations`, { emails: list, role: role.value });
      if (!res.ok) return say((res.data && res.data.message) || "Could not invite.", "error");
      const skipped = res.data.skipped.map((x) => `${x.email} (${x.reason})`).join(", ");
      say(`Invited ${res.data.invited.length}.` + (skipped ? ` Skipped: ${skipped}.` : ""), "ok");
      emails.value = "";
      changed();
    });
    const events = eventLog(org);
    // After a change to members, the lists and the seats show it.
    const changed = () => { members.load(); events.load(); view.load(); };
    const members = memberTable(org, { changed, events: (m) => events.ofMember(m), me: membership });
    const domains = domainsPanel(org, () => events.load());
    const scim = scimPanel(org, () => events.load());
    const isOwner = membership.role === "owner";
    // Roles the admin group moved show in the listing and the events.
    const adminGroup = isOwner ? [adminGroupSettings(org, view, () => { members.load(); events.load(); })] : [];
    section.append(invite, el("h3", {}, "Members"), members.node, seatsPanel(org, view, isOwner),
      invitationSettings(org, view), ...adminGroup, events.node, ssoSettings(org, () => view.load()), linkSsoButton(view), domains.node,
      scim.node);
    members.load();
    events.load();
    view.load();
    domains.load();
    scim.load();
  }


  // Copies `field`'s text; where the clipboard is out of reach, selects it for the reader to copy.
  async function copy(field, what) {
    try {
      if (!navigator.clipboard || !navigator.clipboard.writeText) throw new Error("no clipboard");
      await navigator.clipboard.writeText(field.value);
      say(`${what} copied.`, "ok");
    } catch (_) {
      field.focus();
      field.select();
      say(`${what} is selected: copy it with Ctrl+C (⌘C on a Mac).`, "info");
    }
  }

  // "2026-11-30T12:00:00.123Z" → a <time> showing "2026-11-30 12:00 UTC" (the date kept on one line).
  function utcTime(at) {
    const [date, time] = at.split("T");
    return el("time", { datetime: at, title: at }, el("span", { class: "nowrap" }, date), " ", `${(time || "").slice(0, 5)} UTC`);
  }

  // Domains the organization verifies by DNS (a TXT record it publishes): an
  // email in a verified domain finds the organization's single sign-on at
  // /sso. `changed` runs after each change (the events list shows it).
  function domainsPanel(org, changed) {
    const id = (name) => `domain-${name}-${org}`;
    const input = el("input", { id: id("new"), type: "text", autocomplete: "off", autocapitalize: "none", spellcheck: "false",
      required: true, placeholder: "example.com" });
    const add = el("button", { type: "submit" }, "Add domain");
    const form = el("form", { "aria-label": "Add a domain" },
      el("label", { for: id("new") }, "Domain"), input, add);
    const body = el("tbody");
    const review = el("div", { class: "review", role: "region", "aria-label": "Remove a domain", hidden: true });
    const node = el("div", { class: "domains" }, el("h3", {}, "Domains"),
      el("p", { class: "muted" }, "Verify a domain your organization owns by publishing a DNS TXT record: " +
        "members who type an email in a verified domain at the single sign-on page then find your organization's single sign-on."),
      form,
      el("div", { class: "scroll" }, el("table", { class: "domains" }, el("caption", {}, "Domains"),
        el("thead", {}, el("tr", {}, ["Domain", "Status", "Last check", "TXT record to publish", ""].map((h) => el("th", { scope: "col" }, h)))),
        body)),
      review);
    const path = (domain) => `/orgs/${org}/domains/${encodeURIComponent(domain)}`;
    const message = (res, otherwise) => (res.data && res.data.message) || otherwise;
    let generation = 0;

    // `keep`: {domain, action}, the button to give the focus back to in the
    // rows drawn again (or, when it is gone, that row's first button).
    async function load(keep) {
      const mine = ++generation;
      const res = await api("GET", `/orgs/${org}/domains`);
      if (mine !== generation) return; // a newer load replaced this one
      if (!res.ok) return say(message(res, "Could not list the domains."), "error");
      body.replaceChildren(...res.data.domains.map(row));
      if (!body.children.length) body.append(el("tr", {}, el("td", { colspan: 5, class: "muted" }, "No domains yet.")));
      if (keep) {
        const again = [...body.querySelectorAll("tr[data-domain]")].find((tr) => tr.dataset.domain === keep.domain);
        const target = again && (again.querySelector(`[data-action="${keep.action}"]`) || again.querySelector("button"));
        if (target) target.focus();
      }
    }

    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const domain = input.value.trim();
      if (!domain) return;
      add.disabled = true;
      const res = await api("POST", `/orgs/${org}/domains`, { domain });
      add.disabled = false;
      input.focus();
      if (!res.ok) return say(message(res, "Could not add the domain."), "error");
      input.value = "";
      say(res.status === 201
        ? `${res.data.domain} added. Publish its TXT record, then choose Verify now.`
        : `${res.data.domain} was added already.`, "ok");
      await load();
      changed();
    });

    function record(d, which, label, value) {
      const fieldId = `domain-${which}-${org}-${d.domain}`;
      const field = el("input", { id: fieldId, type: "text", class: "txt", readonly: true, value, spellcheck: "false" });
      const button = el("button", { type: "button", class: "secondary", "data-action": `copy-${which}`, "data-copy": which,
        "aria-describedby": fieldId, onclick: () => copy(field, `The TXT record's ${label.toLowerCase()} for ${d.domain}`) }, "Copy");
      return el("div", { class: "record" }, el("label", { for: fieldId, class: "inline" }, label), " ", field, " ", button);
    }

    function row(d) {
      const status = d.verified
        ? el("span", { class: "verified" }, "verified", ...(d.verified_at ? [" ", utcTime(d.verified_at)] : []))
        : el("span", { class: "unverified" }, "not verified",
          ...(d.recheck_until ? [el("br"), el("span", { class: "muted" }, "checked again about hourly until ", utcTime(d.recheck_until))] : []));
      const actions = [];
      if (!d.verified) {
        const verify = el("button", { type: "button", "data-action": "verify" }, "Verify now");
        verify.addEventListener("click", async () => {
          verify.disabled = true;
          say(`Looking up the TXT record of ${d.domain}…`);
          const res = await api("POST", `${path(d.domain)}/verify`);
          verify.disabled = false;
          if (res.ok) say(`${d.domain} is verified.`, "ok");
          else if (res.status === 409 && res.data && res.data.error === "not_verified") {
            say(`${d.domain}: ${message(res, "the TXT record was not found")}`, "error");
          } else say(`${d.domain}: ${message(res, "could not be verified")}`, "error");
          await load({ domain: d.domain, action: "verify" });
          if (res.ok) changed();
        });
        actions.push(verify, " ");
      }
      const remove = el("button", { type: "button", class: "secondary", "data-action": "remove" }, "Remove");
      remove.addEventListener("click", () => confirmRemove(d, remove));
      actions.push(remove);
      return el("tr", { "data-domain": d.domain },
        el("td", {}, d.domain), el("td", { class: "status" }, status),
        el("td", { class: "checked" }, d.last_checked_at ? utcTime(d.last_checked_at) : "never"),
        el("td", { class: "txt" }, record(d, "name", "Name", d.txt_name), record(d, "value", "Value", d.txt_value)),
        el("td", { class: "actions" }, actions));
    }

    // Removing asks first, as the console does before other changes that cannot be undone.
    function confirmRemove(d, from) {
      const yes = el("button", { type: "button" }, "Confirm removal");
      const cancel = el("button", { type: "button", class: "secondary" }, "Cancel");
      const close = () => { review.hidden = true; review.replaceChildren(); };
      cancel.addEventListener("click", () => {
        close();
        if (from.isConnected) from.focus();
      });
      yes.addEventListener("click", async () => {
        yes.disabled = true;
        const res = await api("DELETE", path(d.domain));
        close();
        if (res.ok) say(`${d.domain} removed.`, "ok");
        else say(`${d.domain}: ${message(res, "could not be removed")}`, "error");
        await load(res.ok ? null : { domain: d.domain, action: "remove" });
        if (res.ok) input.focus();
        if (res.ok) changed();
      });
      review.replaceChildren(el("h4", {}, `Remove ${d.domain}?`),
        el("p", {}, d.verified
          ? `Emails in ${d.domain} no longer find this organization's single sign-on by their domain, and another organization may then verify it. Adding ${d.domain} again needs a new TXT record and a new verification.`
          : `Its TXT record is forgotten: adding ${d.domain} again gives a new one.`),
        el("p", {}, yes, " ", cancel));
      review.hidden = false;
      yes.focus();
      say(`Confirm the removal of ${d.domain}.`);
    }

    return { node, load };
  }

  // SCIM provisioning: the organization's identity provider invites, revokes
  // and removes members, and keeps their groups. Issuing a token shows it once,
  // with the base URL to paste in the identity provider; a new token replaces
  // the old one at once; turning SCIM off deletes it. Whether one exists (and
  // since when) and the newest change SCIM made are GET /orgs/{org}/scim.
  // `changed` runs after each change (the events list shows it).
  function scimPanel(org, changed) {
    const id = (name) => `scim-${name}-${org}`;
    const state = el("p", { id: id("state") }, "Loading…");
    const activity = el("p", { id: id("activity"), hidden: true });
    const issue = el("button", { type: "button" }, "Issue a SCIM token");
    const off = el("button", { type: "button", class: "secondary" }, "Turn SCIM off");
    const review = el("div", { class: "review", role: "region", "aria-label": "Confirm a SCIM change", hidden: true });
    const issued = el("div", { class: "review scim-issued", role: "region", "aria-label": "New SCIM token", hidden: true });
    const node = el("div", { class: "scim" }, el("h3", {}, "SCIM provisioning"),
      el("p", { class: "muted" }, "Let your identity provider (Microsoft Entra ID, Okta, …) invite, deactivate and remove members " +
        "and keep their groups, over SCIM 2.0: issue a token here and paste it, with the base URL, in its provisioning settings. " +
        "SCIM acts as an administrator: it never changes an owner's membership."),
      state, activity, el("p", {}, issue, " ", off), review, issued);
    const message = (res, otherwise) => (res.data && res.data.message) || otherwise;
    // true: a token exists; false: none does; null: unknown (one may exist).
    let on = null;
    let generation = 0;

    function showState(enabled, issuedAt) {
      on = !!enabled;
      if (enabled && issuedAt) state.replaceChildren("SCIM is on: the current token was issued ", utcTime(issuedAt), ".");
      else if (enabled) state.replaceChildren("SCIM is on.");
      else state.replaceChildren("SCIM is off: no token exists.");
    }

    // The newest user or group SCIM created, updated or deleted (never a token's issue or deletion).
    function showActivity(last) {
      activity.hidden = false;
      if (!last) return activity.replaceChildren("No SCIM activity yet.");
      const what = [last.type.replace(/^scim\./, "").replace(/_/g, " "), last.email, last.group].filter(Boolean); // "user created", …
      activity.replaceChildren("Last SCIM activity: ", utcTime(last.at), ` (${what.join(", ")}).`);
    }

    // `afterChange`: a token was just issued or deleted here, and the state
    // line says so already: only the activity is read again (busy meanwhile).
    async function load(afterChange = false) {
      const mine = ++generation;
      activity.setAttribute("aria-busy", "true");
      const res = await api("GET", `/orgs/${org}/scim`);
      if (mine !== generation) return; // a change made here since says more
      activity.removeAttribute("aria-busy");
      if (!res.ok || !res.data) {
        if (afterChange) return;
        on = null;
        activity.hidden = true;
        return state.replaceChildren("Whether SCIM is on could not be read.");
      }
      if (!afterChange) showState(res.data.enabled, res.data.token_issued_at);
      showActivity(res.data.last_activity);
    }

    // A read-only field with its label and a Copy button, as the domains' records.
    function field(name, label, value) {
      const fieldId = id(name);
      const input = el("input", { id: fieldId, type: "text", readonly: true, autocomplete: "off", spellcheck: "false" });
      input.value = value;
      const button = el("button", { type: "button", class: "secondary", "data-copy": name, "aria-describedby": fieldId,
        onclick: () => copy(input, label === "SCIM token" ? "The SCIM token" : "The SCIM base URL") }, "Copy");
      return { input, node: el("div", { class: "record" }, el("label", { for: fieldId, class: "inline" }, label), " ", input, " ", button) };
    }

    function busy(yes) { issue.disabled = yes; off.disabled = yes; }
    function closeReview() { review.hidden = true; review.replaceChildren(); }

    // Asks first (`title`, `text`, the button that goes ahead), as the console
    // does before changes that cannot be undone; `from` gets the focus back.
    function confirmFirst(from, title, text, yesLabel, go) {
      const yes = el("button", { type: "button" }, yesLabel);
      const cancel = el("button", { type: "button", class: "secondary" }, "Cancel");
      cancel.addEventListener("click", () => { closeReview(); say(""); from.focus(); });
      yes.addEventListener("click", () => { closeReview(); from.focus(); go(); });
      review.replaceChildren(el("h4", {}, title), el("p", {}, text), el("p", {}, yes, " ", cancel));
      review.hidden = false;
      yes.focus();
      say(title);
    }

    async function issueToken() {
      busy(true);
      say("Issuing a SCIM token…");
      const res = await api("POST", `/orgs/${org}/scim/token`);
      busy(false);
      if (!res.ok || !res.data || !res.data.token) {
        issue.focus();
        return say(message(res, "Could not issue a SCIM token."), "error");
      }
      load(true); // what was read before is out of date
      on = true;
      state.replaceChildren("SCIM is on: the current token was issued just now, by you.");
      const url = field("url", "SCIM base URL", res.data.base_url);
      const token = field("token", "SCIM token", res.data.token);
      issued.replaceChildren(el("h4", {}, "Your new SCIM token"),
        el("p", {}, "Copy the token now: it is shown only this once, and Admit cannot show it again. " +
          "Paste both in your identity provider: Entra ID's Tenant URL and Secret Token, " +
          "or Okta's SCIM connector base URL and Bearer token."),
        url.node, token.node);
      issued.hidden = false;
      token.input.focus();
      say("SCIM token issued: copy it now, it is shown only once.", "ok");
      changed();
    }

    async function deleteToken() {
      busy(true);
      const res = await api("DELETE", `/orgs/${org}/scim/token`);
      busy(false);
      if (!res.ok) {
        off.focus();
        return say(message(res, "Could not turn SCIM off."), "error");
      }
      load(true);
      on = false;
      issued.hidden = true;
      issued.replaceChildren();
      state.replaceChildren("SCIM is off: the token was deleted just now, by you.");
      say("SCIM is off: the identity provider can no longer provision members.", "ok");
      off.focus();
      changed();
    }

    issue.addEventListener("click", () => {
      if (on === false) return issueToken();
      confirmFirst(issue, "Issue a new SCIM token?",
        "A new token replaces the current token at once: the identity provider can no longer provision members " +
          "until you paste the new token in its provisioning settings.",
        "Issue a new token", issueToken);
    });
    off.addEventListener("click", () => {
      confirmFirst(off, "Turn SCIM off?",
        "The token is deleted: the identity provider can no longer invite, deactivate or remove members here. " +
          "Members it provisioned stay as they are. Issuing a new token turns SCIM on again.",
        "Delete the token", deleteToken);
    });

    return { node, load };
  }

  // The audit log: newest first, 100 a page, filtered by type, member and time.
  // "2026-11-30T12:00" (a datetime-local value, the browser's local time) →
  // "2026-11-30T11:00:00Z" (RFC 3339 UTC, whole seconds). `end` of a value
  // without seconds takes the whole minute (the API's bounds are inclusive).
  function rfc3339(value, end) {
    if (!value) return "";
    const d = new Date(value);
    if (Number.isNaN(d.getTime())) return null;
    if (end && value.length <= 16) d.setSeconds(59);
    return d.toISOString().replace(/\.\d{3}Z$/, "Z");
  }

  function eventLog(org) {
    const id = (name) => `ev-${name}-${org}`;
    const type = el("select", { id: id("type") }, el("option", { value: "" }, "all"),
      EVENT_TYPES.map((t) => el("option", { value: t }, t)));
    const member = el("input", { id: id("member"), type: "text", autocomplete: "off", spellcheck: "false", placeholder: "mem_…" });
    const from = el("input", { id: id("from"), type: "datetime-local" });
    const to = el("input", { id: id("to"), type: "datetime-local" });
    const field = (name, label, input) => el("div", {}, el("label", { for: id(name) }, label), input);
    const clear = el("button", { type: "button", class: "secondary" }, "Clear filters");
    const filters = el("form", { class: "filters", "aria-label": "Event filters" },
      field("type", "Event type", type), field("member", "Member ID", member),
      field("from", "From (your local time)", from), field("to", "To (your local time)", to),
      el("div", { class: "actions" }, el("button", { type: "submit" }, "Apply"), " ", clear));
    const caption = el("caption", {}, "Events, newest first");
    const body = el("tbody");
    const more = el("button", { type: "button", hidden: true }, "More");
    const heading = el("h3", { id: id("h"), tabindex: "-1" }, "Events");
    const node = el("div", { class: "events" }, heading, filters,
      el("div", { class: "scroll" }, el("table", { class: "events" }, caption,
        el("thead", {}, el("tr", {}, ["When", "Event", "Who", "Member", "From", "Details"].map((h) => el("th", { scope: "col" }, h)))),
        body)),
      more);
    // The query the shown rows answer; the email the member filter was set for.
    let query = null, memberEmail = null, cursor = null, generation = 0, failed = null;

    function current() {
      const start = rfc3339(from.value, false), end = rfc3339(to.value, true);
      if (start === null || end === null) { failed = "Enter the times as a date and a time."; say(failed, "error"); return null; }
      const q = {};
      if (type.value) q.type = type.value;
      if (member.value.trim()) q.member = member.value.trim();
      if (start) q.start = start;
      if (end) q.end = end;
      return q;
    }
    function describe(q) {
      const parts = [];
      if (q.type) parts.push(`type ${q.type}`);
      if (q.member) parts.push(`member ${memberEmail && memberEmail.id === q.member ? memberEmail.email : q.member}`);
      if (q.start) parts.push(`from ${q.start}`);
      if (q.end) parts.push(`to ${q.end}`);
      return "Events, newest first" + (parts.length ? ` (${parts.join(", ")})` : "");
    }
    async function load(append = false) {
      const q = append ? query : current();
      if (!q) return;
      const mine = ++generation;
      const params = new URLSearchParams(q);
      if (append && cursor) params.set("cursor", cursor);
      const qs = params.toString();
      const res = await api("GET", `/orgs/${org}/events${qs ? `?${qs}` : ""}`);
      if (mine !== generation) return; // a newer load (Apply, a member's Events) replaced this one
      if (!res.ok) {
        failed = (res.data && res.data.message) || "Could not list events.";
        return say(failed, "error");
      }
      // The error of an earlier load is over (unless something else was said since).
      if (failed && document.getElementById("status").textContent === failed) say("");
      failed = null;
      query = q;
      if (!append) body.replaceChildren();
      for (const e of res.data.events) body.append(row(e));
      if (!body.children.length) body.append(el("tr", {}, el("td", { colspan: 6, class: "muted" }, "No events match these filters.")));
      caption.textContent = describe(q);
      cursor = res.data.next_cursor || null;
      more.hidden = !cursor;
    }
    function who(a) {
      if (a.kind === "user") return a.email || a.user_id || "a user";
      return { operator: "operator", scim: "SCIM", system: "Admit" }[a.kind] || a.kind;
    }
    function details(d) {
      const out = [];
      // A role the admin group gave or took back names the group: "role user → admin (group admins)".
      const byGroup = d.via === "group" && d.role && d.group ? ` (group ${d.group})` : "";
      if (d.old_role && d.role) out.push(`role ${d.old_role} → ${d.role}${byGroup}`);
      else if (d.role) out.push(`role ${d.role}${byGroup}`);
      if (d.code) out.push(`refused: ${d.code}`);
      if (d.changed && d.changed.length) out.push(`changed ${d.changed.join(", ")}`);
      if (d.protocol) out.push(d.protocol === "saml" ? "SAML" : "OpenID Connect");
      if (d.domain) out.push(`domain ${d.domain}`);
      if (d.group && !byGroup) out.push(`group ${d.group}`);
      const groups = [...(d.groups_added || []).map((g) => `+${g}`), ...(d.groups_removed || []).map((g) => `−${g}`)];
      if (groups.length) out.push(`groups ${groups.join(", ")}`);
      if (d.via && !byGroup) out.push(`via ${VIA[d.via] || d.via}`);
      if (d.key_handed_over) out.push("key handed over");
      return out.join("; ");
    }
    function row(e) {
      const d = e.details || {};
      const when = el("time", { datetime: e.at }, `${e.at.replace("T", " ").replace(/(\.\d+)?Z$/, "")} UTC`);
      return el("tr", { "data-id": e.id },
        el("td", { class: "nowrap" }, when), el("td", { class: "nowrap" }, e.type), el("td", {}, who(e.actor || {})),
        el("td", {}, d.email || e.member_id || ""), el("td", {}, e.ip || ""), el("td", {}, details(d)));
    }
    filters.addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
    clear.addEventListener("click", () => {
      type.value = ""; member.value = ""; from.value = ""; to.value = "";
      load();
    });
    more.addEventListener("click", () => load(true));
    // A member's "Events" button: every event of that member (the time range stays).
    function ofMember(m) {
      member.value = m.member_id;
      memberEmail = { id: m.member_id, email: m.email };
      type.value = "";
      heading.focus();
      load();
    }
    return { node, load: () => load(), ofMember };
  }

  // Single sign-on: the IdP (OpenID Connect or SAML 2.0) and the members' decryption option.
  function ssoSettings(org, saved) {
    const f = (id, label, attrs = {}, tag = "input") => [el("label", { for: `${id}-${org}` }, label), el(tag, { id: `${id}-${org}`, ...attrs })];
    const protocol = el("select", { id: `protocol-${org}` },
      el("option", { value: "oidc" }, "OpenID Connect"),
      el("option", { value: "saml" }, "SAML 2.0"));
    const [issuerL, issuer] = f("issuer", "Issuer URL", { type: "url" });
    const [clientL, client] = f("client", "Client ID");
    const [secretL, secret] = f("secret", "Client secret (leave empty to keep the stored one)", { type: "password", autocomplete: "off" });
    const [metaL, meta] = f("idp-metadata", "IdP metadata XML (paste it, or fill in the three fields below)", { rows: 3 }, "textarea");
    const [entityL, entity] = f("idp-entity", "IdP entity ID");
    const [ssoUrlL, ssoUrl] = f("idp-sso", "IdP SSO URL (HTTP-Redirect)", { type: "url" });
    const [certL, cert] = f("idp-cert", "IdP signing certificate (PEM)", { rows: 3 }, "textarea");
    // A claim or attribute name, with its hint.
    const nameField = (id, label, ...hint) => [
      ...f(id, label, { type: "text", autocomplete: "off", autocapitalize: "none", spellcheck: "false", "aria-describedby": `${id}-hint-${org}` }),
      el("p", { id: `${id}-hint-${org}`, class: "muted hint" }, ...hint)];
    // The SAML attributes carrying the member's email and name (empty: the defaults).
    const [emailAttrL, emailAttr, emailAttrHint] = nameField("email-attribute", "Email attribute (optional)",
      "Default: ", el("code", {}, "email"), ", ", el("code", {}, "mail"), ", ", el("code", {}, "emailaddress"),
      ", the emailaddress claim URI or the mail OID, else an email-format NameID.");
    const [nameAttrL, nameAttr, nameAttrHint] = nameField("name-attribute", "Name attribute (optional)",
      "Default: ", el("code", {}, "name"), ", ", el("code", {}, "displayName"),
      ", the name claim URI, the displayName OID or ", el("code", {}, "cn"), ".");
    // Groups read at sign-in: the claim (OpenID Connect) or the attribute (SAML) naming them.
    const replaces = "At each sign-in the member's groups from the IdP replace those it sent before; groups pushed by SCIM stay SCIM's. " +
      "Empty: groups are not read at sign-in.";
    const groupsField = (id, label, ...hint) => nameField(id, label, ...hint, " ", replaces);
    const [groupsClaimL, groupsClaim, groupsClaimHint] = groupsField("groups-claim", "Groups claim (optional)",
      "e.g. ", el("code", {}, "groups"), ".");
    const [groupsAttrL, groupsAttr, groupsAttrHint] = groupsField("groups-attribute", "Groups attribute (optional)",
      "Entra ID: ", el("code", {}, "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"),
      " (it sends group IDs unless set to send names); Okta, Google Workspace: the name you give groups in the app's settings.");
    const unsolicited = el("input", { id: `unsolicited-${org}`, type: "checkbox" });
    // Scopes beyond `openid` (some IdPs send groups only for a `groups` scope); empty: email and profile.
    const [scopesL, scopes, scopesHint] = nameField("scopes", "Scopes (optional)",
      "Space-separated; ", el("code", {}, "openid"), " is always asked for. Empty: ", el("code", {}, "email profile"),
      ". Some IdPs (Okta's authorization servers) send groups only for a ", el("code", {}, "groups"), " scope.");
    const oidcPart = el("div", {}, issuerL, issuer, clientL, client, secretL, secret, scopesL, scopes, scopesHint,
      groupsClaimL, groupsClaim, groupsClaimHint);
    const samlPart = el("div", {}, metaL, meta, entityL, entity, ssoUrlL, ssoUrl, certL, cert,
      emailAttrL, emailAttr, emailAttrHint, nameAttrL, nameAttr, nameAttrHint, groupsAttrL, groupsAttr, groupsAttrHint,
      el("p", {}, unsolicited, " ", el("label", { for: `unsolicited-${org}`, class: "inline" }, "Accept IdP-initiated sign-ins")));
    const show = () => { oidcPart.hidden = protocol.value !== "oidc"; samlPart.hidden = protocol.value !== "saml"; };
    protocol.addEventListener("change", show);
    const option = el("select", { id: `option-${org}` },
      el("option", { value: "master_password" }, "Master password"),
      el("option", { value: "trusted_devices" }, "Trusted devices"),
      el("option", { value: "key_connector" }, "Key connector"));
    const [kcL, kc] = f("kc", "Key connector URL (key connector only)", { type: "url" });
    const enabled = el("input", { id: `enabled-${org}`, type: "checkbox" });
    const about = el("p", { class: "muted" });
    const form = el("form", {}, el("h3", {}, "Single sign-on"), about,
      el("label", { for: `protocol-${org}` }, "Protocol"), protocol, oidcPart, samlPart,
      el("label", { for: `option-${org}` }, "Members decrypt with"), option, kcL, kc,
      el("p", {}, enabled, " ", el("label", { for: `enabled-${org}`, class: "inline" }, "Enabled")),
      el("button", { type: "submit" }, "Save single sign-on"));
    // The settings as stored: what the form does not show (the OIDC signing algorithm) is sent back as it was.
    let stored = null;
    const fill = (v) => {
      stored = v;
      about.textContent = `SSO identifier: ${v.sso_identifier}. OpenID Connect redirect URI: ${v.redirect_uri}. ` +
        `SAML entity ID (and metadata URL): ${v.sp_entity_id}; assertion consumer service: ${v.acs_url}.`;
      protocol.value = v.protocol || "oidc";
      issuer.value = v.issuer || ""; client.value = v.client_id || ""; kc.value = v.key_connector_url || "";
      entity.value = v.idp_entity_id || ""; ssoUrl.value = v.idp_sso_url || ""; cert.value = v.idp_certificate_pem || "";
      emailAttr.value = v.email_attribute || ""; nameAttr.value = v.name_attribute || "";
      groupsClaim.value = v.groups_claim || ""; groupsAttr.value = v.groups_attribute || "";
      scopes.value = (v.scopes || []).filter((s) => s !== "openid").join(" ");
      unsolicited.checked = !!v.allow_idp_initiated;
      option.value = v.member_decryption; enabled.checked = v.enabled;
      show();
    };
    // The protocol can be chosen once the stored settings are in: filling
    // them in would otherwise undo a choice made while they loaded.
    protocol.disabled = true;
    api("GET", `/orgs/${org}/sso`).then((res) => {
      if (res.ok) fill(res.data);
      protocol.disabled = false;
    });
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const body = { protocol: protocol.value, member_decryption: option.value, enabled: enabled.checked };
      if (protocol.value === "oidc") {
        Object.assign(body, { issuer: issuer.value, client_id: client.value });
        if (secret.value) body.client_secret = secret.value;
        if (groupsClaim.value) body.groups_claim = groupsClaim.value;
        const asked = scopes.value.split(/\s+/).filter(Boolean);
        if (asked.length) body.scopes = asked;
        if (stored && stored.signing_algorithm) body.signing_algorithm = stored.signing_algorithm;
      } else {
        body.allow_idp_initiated = unsolicited.checked;
        if (meta.value.trim()) body.idp_metadata_xml = meta.value;
        if (entity.value) body.idp_entity_id = entity.value;
        if (ssoUrl.value) body.idp_sso_url = ssoUrl.value;
        if (cert.value) body.idp_certificate_pem = cert.value;
        if (emailAttr.value) body.email_attribute = emailAttr.value;
        if (nameAttr.value) body.name_attribute = nameAttr.value;
        if (groupsAttr.value) body.groups_attribute = groupsAttr.value;
      }
      if (kc.value) body.key_connector_url = kc.value;
      const res = await api("PUT", `/orgs/${org}/sso`, body);
      say(res.ok ? "Single sign-on saved." : ((res.data && res.data.message) || "Could not save."), res.ok ? "ok" : "error");
      if (res.ok) { secret.value = ""; meta.value = ""; fill(res.data); saved(); }
    });
    return form;
  }

  function memberTable(org, { changed, events, me }) {
    const body = el("tbody");
    const more = el("button", { type: "button", hidden: true }, "Show more");
    const all = el("button", { type: "button", class: "secondary" }, "Confirm all accepted");
    const review = el("div", { class: "review", role: "region", "aria-label": "Confirm members", hidden: true });
    let cursor = null;
    const node = el("div", {}, el("p", {}, all), review, el("table", {},
      el("thead", {}, el("tr", {}, ["Email", "Role", "Status", "Groups", "Invitation", ""].map((h) => el("th", { scope: "col" }, h)))), body), more);
    async function load(append = false) {
      const q = append && cursor ? `?cursor=${encodeURIComponent(cursor)}` : "";
      const res = await api("GET", `/orgs/${org}/members${q}`);
      if (!res.ok) return say("Could not list members.", "error");
      if (!append) body.replaceChildren();
      for (const m of res.data.members) body.append(row(m));
      cursor = res.data.next_cursor || null;
      more.hidden = !cursor;
    }
    more.addEventListener("click", () => load(true));
    all.addEventListener("click", async () => {
      const accepted = [];
      let next = null;
      do {
        const res = await api("GET", `/orgs/${org}/members?status=accepted${next ? `&cursor=${encodeURIComponent(next)}` : ""}`);
        if (!res.ok) return say("Could not list members.", "error");
        accepted.push(...res.data.members.filter((m) => m.status === "accepted"));
        next = res.data.next_cursor || null;
      } while (next);
      if (!accepted.length) return say("No member is waiting for confirmation.", "info");
      prepare(accepted, true);
    });

    // Confirming hands over the organization key: for each member, this page
    // fetches the public key, computes its fingerprint itself (refusing one
    // that differs from the server's), and encrypts the organization key for
    // it; the administrator compares the fingerprints with what each member's
    // console shows, then sends.
    async function prepare(list, bulk = false) {
      const orgKey = vault.orgKeys.get(org);
      if (!orgKey) {
        return say(vault.privateKey
          ? "Your membership holds no organization key that your keys can open, so there is nothing to hand over."
          : "Unlock your keys first: confirming hands over the organization key, which only your unlocked keys can read.", "error");
      }
      say(`Fetching ${list.length === 1 ? "the public key" : `${list.length} public keys`}…`);
      const ready = [], refused = [];
      for (const m of list) {
        const res = await api("GET", `/orgs/${org}/members/${m.member_id}/public-key`);
        if (!res.ok) { refused.push(`${m.email}: ${(res.data && res.data.message) || "no public key"}`); continue; }
        try {
          const fp = await publicKeyFingerprint(res.data.public_key);
          if (fp !== res.data.fingerprint) {
            refused.push(`${m.email}: the server's fingerprint ${res.data.fingerprint} is not the key's (${fp})`);
            continue;
          }
          ready.push({ m, fp, key: await sealFor(res.data.public_key, orgKey) });
        } catch (_) {
          refused.push(`${m.email}: the public key cannot be used`);
        }
      }
      const items = ready.map(({ m, fp }) => el("li", { "data-member": m.member_id },
        `${m.email}: public key fingerprint `, el("code", { class: "fingerprint" }, fp)));
      const send = el("button", { type: "button" }, bulk
        ? `Confirm ${ready.length} member${ready.length === 1 ? "" : "s"} and hand over the key`
        : `Confirm ${ready.length ? ready[0].m.email : ""} and hand over the key`);
      const cancel = el("button", { type: "button", class: "secondary" }, "Cancel");
      const close = () => { review.hidden = true; review.replaceChildren(); };
      cancel.addEventListener("click", close);
      send.addEventListener("click", async () => {
        send.disabled = true;
        const ok = [], failed = [];
        if (!bulk) {
          const { m, key } = ready[0];
          const res = await api("POST", `/orgs/${org}/members/${m.member_id}/confirm`, { key });
          (res.ok ? ok : failed).push(res.ok ? m.email : `${m.email} (${(res.data && res.data.message) || "refused"})`);
        } else {
          for (let i = 0; i < ready.length; i += 100) {
            const chunk = ready.slice(i, i + 100);
            const res = await api("POST", `/orgs/${org}/members/confirm`, { keys: chunk.map(({ m, key }) => ({ member_id: m.member_id, key })) });
            if (!res.ok) { failed.push(...chunk.map(({ m }) => `${m.email} (${(res.data && res.data.message) || "refused"})`)); continue; }
            for (const r of res.data.results) {
              const email = (chunk.find((x) => x.m.member_id === r.member_id) || { m: { email: r.member_id } }).m.email;
              if (r.status) ok.push(email); else failed.push(`${email} (${r.error})`);
            }
          }
        }
        close();
        const said = [ok.length ? `Confirmed: ${ok.join(", ")}.` : "", failed.length ? `Not confirmed: ${failed.join(", ")}.` : ""];
        say(said.filter(Boolean).join(" "), failed.length ? "error" : "ok");
        changed();
      });
      review.replaceChildren(el("h4", {}, "Confirm members"),
        el("p", {}, "Compare each fingerprint with the one the member's console shows under “Your keys” before you confirm: confirming hands that key the organization key."),
        ...(items.length ? [el("ul", {}, items)] : []),
        ...(refused.length ? [el("p", { class: "refused" }, `Not offered: ${refused.join("; ")}.`)] : []),
        el("p", {}, ...(ready.length ? [send, " "] : []), cancel));
      review.hidden = false;
      say(ready.length ? "Check the fingerprints, then confirm." : "No member can be confirmed.", ready.length ? "info" : "error");
    }

    function row(m) {
      let action = "";
      if (m.status === "accepted") {
        action = el("button", { type: "button", "aria-label": `Confirm ${m.email}`, onclick: () => prepare([m]) }, "Confirm");
      } else if (m.status === "invited") {
        action = el("button", { type: "button", onclick: async () => {
          const res = await api("POST", `/orgs/${org}/members/${m.member_id}/reinvite`);
          say(res.ok ? `New invitation sent to ${m.email}.` : "Could not reinvite.", res.ok ? "ok" : "error");
          changed();
        } }, "Reinvite");
      }
      const move = async (what) => {
        const res = await api("POST", `/orgs/${org}/members/${m.member_id}/${what}`);
        say(res.ok ? `${m.email} is now ${res.data.status}.` : ((res.data && res.data.message) || `Could not ${what}.`), res.ok ? "ok" : "error");
        changed();
      };
      const seat = m.role === "owner" ? "" : m.status === "revoked"
        ? el("button", { type: "button", onclick: () => move("restore") }, "Restore")
        : el("button", { type: "button", onclick: () => move("revoke") }, "Revoke");
      const inv = m.invitation_expires_at
        ? (m.invitation_expired ? "expired" : `expires ${m.invitation_expires_at.replace("T", " ").slice(0, 16)} UTC`)
        : "";
      const log = el("button", { type: "button", class: "secondary", "aria-label": `Events of ${m.email}`, onclick: () => events(m) }, "Events");
      return el("tr", { "data-member": m.member_id }, el("td", {}, m.email), el("td", { class: "role" }, roleCell(m)), el("td", {}, m.status),
        el("td", { class: "groups" }, (m.groups || []).join(", ")), el("td", {}, inv), el("td", {}, action, " ", seat, " ", log));
    }

    // The roles the signed-in administrator may give: only an owner makes or
    // unmakes owners; an admin moves users and admins.
    function roleCell(m) {
      const choices = me.role === "owner" ? ["owner", "admin", "user"] : m.role === "owner" ? [] : ["admin", "user"];
      if (!choices.length) return m.role;
      const select = el("select", { "aria-label": `Role of ${m.email}`, class: "member-role" },
        choices.map((r) => el("option", { value: r, selected: r === m.role }, r)));
      const change = el("button", { type: "button", "aria-label": `Change role of ${m.email}` }, "Change role");
      change.addEventListener("click", async () => {
        if (select.value === m.role) return say(`${m.email} is already ${m.role}.`, "info");
        change.disabled = true;
        const res = await api("PATCH", `/orgs/${org}/members/${m.member_id}`, { role: select.value });
        change.disabled = false;
        if (!res.ok) {
          select.value = m.role;
          return say((res.data && res.data.message) || "Could not change the role.", "error");
        }
        say(`${m.email} is now ${res.data.role}.`, "ok");
        if (m.member_id === me.member_id) {
          // One's own role: the console shows what it now allows.
          const again = await api("GET", "/me");
          if (again.ok) return render(again.data);
        }
        changed();
      });
      return [select, " ", change];
    }
    return { node, load };
  }
})();
