// The console: sign in, see your organizations; owners and admins invite,
// reinvite and confirm members.
"use strict";
(async () => {
  const { api, el, say, masterPasswordHash, randomKey } = window.Admit;
  const content = document.getElementById("content");
  const show = (...nodes) => content.replaceChildren(...nodes);

  const me = await api("GET", "/me");
  if (me.status === 401) return signIn();
  if (!me.ok) return say("Could not load your account.", "error");

  const logout = el("button", { type: "button", onclick: async () => { await api("POST", "/auth/logout"); location.reload(); } }, "Sign out");
  const sections = me.data.memberships.map(orgSection);
  show(el("p", {}, `Signed in as ${me.data.email}. `, logout),
       ...(sections.length ? sections : [el("p", {}, "You are not a member of any organization yet.")]));

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
      const hash = await masterPasswordHash(email.value, pw.value);
      const res = await api("POST", "/auth/login", { email: email.value, master_password_hash: hash });
      if (res.ok) location.reload();
      else if (res.status === 403 && res.data && res.data.error === "sso_required") say("Your organization requires single sign-on.", "error");
      else say("Wrong email or master password.", "error");
    });
    show(form);
  }

  function orgSection(m) {
    const s = el("section", { "aria-labelledby": `h-${m.org_id}` },
      el("h2", { id: `h-${m.org_id}` }, m.org_name),
      el("p", {}, `Your role: ${m.role}, status: ${m.status}.`));
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
      members.load();
    });
    const members = memberTable(org);
    section.append(invite, el("h3", {}, "Members"), members.node, ssoSettings(org));
    members.load();
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

  function memberTable(org) {
    const body = el("tbody");
    const more = el("button", { type: "button", hidden: true }, "Show more");
    let cursor = null;
    const node = el("div", {}, el("table", {},
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
    function row(m) {
      let action = "";
      if (m.status === "accepted") {
        // A real client encrypts the organization key with the member's public key;
        // this console hands over an opaque random key.
        action = el("button", { type: "button", onclick: async () => {
          const res = await api("POST", `/orgs/${org}/members/${m.member_id}/confirm`, { key: randomKey() });
          say(res.ok ? `${m.email} confirmed.` : ((res.data && res.data.message) || "Could not confirm."), res.ok ? "ok" : "error");
          load();
        } }, "Confirm");
      } else if (m.status === "invited") {
        action = el("button", { type: "button", onclick: async () => {
          const res = await api("POST", `/orgs/${org}/members/${m.member_id}/reinvite`);
          say(res.ok ? `New invitation sent to ${m.email}.` : "Could not reinvite.", res.ok ? "ok" : "error");
          load();
        } }, "Reinvite");
      }
      const move = async (what) => {
        const res = await api("POST", `/orgs/${org}/members/${m.member_id}/${what}`);
        say(res.ok ? `${m.email} is now ${res.data.status}.` : ((res.data && res.data.message) || `Could not ${what}.`), res.ok ? "ok" : "error");
        load();
      };
      const seat = m.role === "owner" ? "" : m.status === "revoked"
        ? el("button", { type: "button", onclick: () => move("restore") }, "Restore")
        : el("button", { type: "button", onclick: () => move("revoke") }, "Revoke");
      const inv = m.invitation_expires_at
        ? (m.invitation_expired ? "expired" : `expires ${m.invitation_expires_at.replace("T", " ").slice(0, 16)} UTC`)
        : "";
      return el("tr", {}, el("td", {}, m.email), el("td", {}, m.role), el("td", {}, m.status), el("td", {}, inv), el("td", {}, action, " ", seat));
    }
    return { node, load };
  }
})();
