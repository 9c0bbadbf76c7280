// « Tester mon poste »: what this browser offers for a deposit (marches/workstation_test.html).
"use strict";

(function () {
  function show(id, text) {
    const element = document.getElementById(id);
    if (element) element.textContent = text;
  }
  show("check-js", "activé");
  show(
    "check-crypto",
    window.crypto && window.crypto.subtle
      ? "disponible"
      : "indisponible (connexion non sécurisée ?)",
  );
  show(
    "check-cookies",
    navigator.cookieEnabled ? "activés" : "désactivés : la connexion ne fonctionnera pas",
  );
})();
