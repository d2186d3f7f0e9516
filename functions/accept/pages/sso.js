// /sso?identifier=… fills the identifier in.
"use strict";
(() => {
  const id = new URLSearchParams(location.search).get("identifier");
  if (id) document.getElementById("identifier").value = id;
})();
