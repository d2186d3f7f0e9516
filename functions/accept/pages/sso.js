// /sso?identifier=… fills the identifier in. Submitting navigates to
// /sso/start (a navigation, not a form post: the pages' CSP allows forms to
// post only to this origin, and /sso/start redirects to the IdP).
"use strict";
(() => {
  const form = document.getElementById("sso");
  const input = document.getElementById("identifier");
  const id = new URLSearchParams(location.search).get("identifier");
  if (id) input.value = id;
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    location.assign(`/sso/start?identifier=${encodeURIComponent(input.value.trim())}`);
  });
})();
