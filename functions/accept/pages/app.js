// The console: sign in, see your organizations; owners and admins invite,
// reinvite and confirm members, and read the organization's events.
"use strict";
(async () => {
  const { api, el, say, masterKeys, unlockKeys, unsealWith, sealFor, fingerprint,
    publicKeyFingerprint, devices } = window.Admit;
  const content = document.getElementById("content");
  const show = (...nodes) => content.replaceChildren(...nodes);
  // The audit log's event types (openapi.yaml EventType) and what `via` means.
  const EVENT_TYPES = ["org.created", "member.invited", "member.reinvited", "member.reminded", "member.accepted",
    "member.confirmed", "member.revoked", "member.restored", "member.removed", "member.role_changed",
    "sso.signed_in", "sso.linked", "sso.jit_created", "sso.refused", "auth.login_failed",
    "sso.settings_changed", "policies.changed", "domain.added", "domain.verified", "domain.removed",
    "scim.token_issued"];
  const VIA = { invitation: "invitation", setup: "account setup", sso_identifier: "SSO identifier", domain: "claimed domain" };

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
    show(el("p", {}, `Signed in as ${account.email}. `, logout),
         await keysPanel(stretched),
         ...(sections.length ? sections : [el("p", {}, "You are not a member of any organization yet.")]));
    await showOrgKeys();
  }

  function signIn() {
    const email = el("input", { id: "email", type: "email", autocomplete: "username", required: true });
    const pw = el("input", { id: "pw", type: "password", autocomplete: "current-password", required: true });
    const form = el("form", {}, el("h2", {}, "Sign in"),
      el("label", { for: "email" }, "Email"), email,
      el("label", { for: "pw" }, "Master password"), pw,
      el("button", { type: "submit" }, "Sign in"));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      say("Signing in…");
      const { hash, stretched } = await masterKeys(email.value, pw.value);
      const res = await api("POST", "/auth/login", { email: email.value, master_password_hash: hash });
      if (res.ok) {
        const again = await api("GET", "/me");
        if (!again.ok) return location.reload();
        say("");
        await render(again.data, stretched);
      } else if (res.status === 403 && res.data && res.data.error === "sso_required") say("Your organization requires single sign-on.", "error");
      else say("Wrong email or master password.", "error");
    });
    show(form);
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
    if (m.status === "confirmed" && (m.role === "owner" || m.role === "admin")) adminTools(s, m.org_id);
    return s;
  }

  function adminTools(section, org) {
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
    // After a change to members, both lists show it.
    const changed = () => { members.load(); events.load(); };
    const members = memberTable(org, { changed, events: (m) => events.ofMember(m) });
    section.append(invite, el("h3", {}, "Members"), members.node, events.node, ssoSettings(org));
    members.load();
    events.load();
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
      if (d.old_role && d.role) out.push(`role ${d.old_role} → ${d.role}`);
      else if (d.role) out.push(`role ${d.role}`);
      if (d.code) out.push(`refused: ${d.code}`);
      if (d.changed && d.changed.length) out.push(`changed ${d.changed.join(", ")}`);
      if (d.protocol) out.push(d.protocol === "saml" ? "SAML" : "OpenID Connect");
      if (d.domain) out.push(`domain ${d.domain}`);
      if (d.via) out.push(`via ${VIA[d.via] || d.via}`);
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
  function ssoSettings(org) {
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
    const unsolicited = el("input", { id: `unsolicited-${org}`, type: "checkbox" });
    const oidcPart = el("div", {}, issuerL, issuer, clientL, client, secretL, secret);
    const samlPart = el("div", {}, metaL, meta, entityL, entity, ssoUrlL, ssoUrl, certL, cert,
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
    const fill = (v) => {
      about.textContent = `SSO identifier: ${v.sso_identifier}. OpenID Connect redirect URI: ${v.redirect_uri}. ` +
        `SAML entity ID (and metadata URL): ${v.sp_entity_id}; assertion consumer service: ${v.acs_url}.`;
      protocol.value = v.protocol || "oidc";
      issuer.value = v.issuer || ""; client.value = v.client_id || ""; kc.value = v.key_connector_url || "";
      entity.value = v.idp_entity_id || ""; ssoUrl.value = v.idp_sso_url || ""; cert.value = v.idp_certificate_pem || "";
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
      } else {
        body.allow_idp_initiated = unsolicited.checked;
        if (meta.value.trim()) body.idp_metadata_xml = meta.value;
        if (entity.value) body.idp_entity_id = entity.value;
        if (ssoUrl.value) body.idp_sso_url = ssoUrl.value;
        if (cert.value) body.idp_certificate_pem = cert.value;
      }
      if (kc.value) body.key_connector_url = kc.value;
      const res = await api("PUT", `/orgs/${org}/sso`, body);
      say(res.ok ? "Single sign-on saved." : ((res.data && res.data.message) || "Could not save."), res.ok ? "ok" : "error");
      if (res.ok) { secret.value = ""; meta.value = ""; fill(res.data); }
    });
    return form;
  }

  function memberTable(org, { changed, events }) {
    const body = el("tbody");
    const more = el("button", { type: "button", hidden: true }, "Show more");
    const all = el("button", { type: "button", class: "secondary" }, "Confirm all accepted");
    const review = el("div", { class: "review", role: "region", "aria-label": "Confirm members", hidden: true });
    let cursor = null;
    const node = el("div", {}, el("p", {}, all), review, el("table", {},
      el("thead", {}, el("tr", {}, ["Email", "Role", "Status", "Invitation", ""].map((h) => el("th", { scope: "col" }, h)))), body), more);
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
      return el("tr", {}, el("td", {}, m.email), el("td", {}, m.role), el("td", {}, m.status), el("td", {}, inv), el("td", {}, action, " ", seat, " ", log));
    }
    return { node, load };
  }
})();
