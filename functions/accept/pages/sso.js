// /sso: one field for a work email or the organization's SSO identifier.
// /sso?identifier=… or /sso?email=… fills it in. An email is looked up with
// POST /sso/discover (the organization that verified its domain and uses
// single sign-on); an identifier is used as typed. Either way the page then
// navigates to /sso/start (a navigation, not a form post: the pages' CSP
// allows forms to post only to this origin, and /sso/start redirects to the IdP).
"use strict";
(() => {
  const { api, say } = window.Admit;
  const form = document.getElementById("sso");
  const input = document.getElementById("identifier");
  const button = form.querySelector("button[type=submit]");
  const params = new URLSearchParams(location.search);
  const prefill = params.get("identifier") || params.get("email");
  if (prefill) input.value = prefill;
  const start = (identifier) => location.assign(`/sso/start?identifier=${encodeURIComponent(identifier)}`);
  let busy = false;
  // Back from the IdP (the page restored from the back/forward cache): the form works again.
  window.addEventListener("pageshow", (ev) => {
    if (ev.persisted) { busy = false; button.disabled = false; say(""); }
  });

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const value = input.value.trim();
    if (!value || busy) return;
    if (!value.includes("@")) return start(value);
    busy = true;
    button.disabled = true;
    say("Looking up your organization…");
    let res;
    try {
      res = await api("POST", "/sso/discover", { email: value });
    } catch (_) {
      res = null;
    }
    if (res && res.ok && res.data && res.data.sso_identifier) {
      say("Taking you to your organization's sign-in…");
      return start(res.data.sso_identifier);
    }
    busy = false;
    button.disabled = false;
    if (!res) say("Admit could not be reached. Check your connection and try again.", "error");
    else if (res.status === 404) {
      const domain = value.slice(value.lastIndexOf("@") + 1);
      say(`No organization with single sign-on has verified ${domain ? `the domain ${domain}` : "that email's domain"}. ` +
        "Type your organization's SSO identifier instead (your administrator can tell you what it is).", "error");
    } else say((res.data && res.data.message) || "Could not look up that email. Try again, or type your organization's SSO identifier.", "error");
    input.focus();
  });
})();
