// Commission member keys and shares, in the member's browser (ADR 0004).
// The member's ECDH P-256 key pair is made here and kept in this browser's IndexedDB; the
// platform only ever receives its public key. A share arrives encrypted to that key
// (ephemeral ECDH P-256 + HKDF-SHA256 + AES-256-GCM, core/sealing.py) and is opened here.
(function () {
  "use strict";
  const subtle = window.crypto && window.crypto.subtle;
  const enc = new TextEncoder();
  const SHARE_INFO = concat(enc.encode("e-megalis share to member v1"), new Uint8Array([0]));
  const COMMITMENT_TAG = concat(enc.encode("e-megalis opening share v1"), new Uint8Array([0]));
  const CURVE = { name: "ECDH", namedCurve: "P-256" };

  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  }
  const hex = (bytes) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
  const unhex = (text) => new Uint8Array(text.match(/../g).map((h) => parseInt(h, 16)));
  const unb64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  const b64url = (text) => unb64(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
  async function sha256hex(bytes) { return hex(await subtle.digest("SHA-256", bytes)); }
  function csrf() { const input = document.querySelector("[name=csrfmiddlewaretoken]"); return input ? input.value : ""; }

  // --- IndexedDB: one store of member keys, by fingerprint (SHA-256 of the raw public key)
  function db() {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open("e-megalis", 1);
      request.onupgradeneeded = () => request.result.createObjectStore("member-keys");
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }
  async function storeKey(fingerprint, record) {
    const base = await db();
    return new Promise((resolve, reject) => {
      const tx = base.transaction("member-keys", "readwrite");
      tx.objectStore("member-keys").put(record, fingerprint);
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
  }
  async function loadKey(fingerprint) {
    const base = await db();
    return new Promise((resolve, reject) => {
      const request = base.transaction("member-keys").objectStore("member-keys").get(fingerprint);
      request.onsuccess = () => resolve(request.result || null);
      request.onerror = () => reject(request.error);
    });
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf(), "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    let data = {};
    try { data = await response.json(); } catch (e) { /* not JSON */ }
    if (!response.ok) throw new Error(data.detail || "Erreur " + response.status + ".");
    return data;
  }

  function keyFile(jwk, email) {
    const content = JSON.stringify({ e_megalis_member_key: 1, email: email, jwk: jwk }, null, 2);
    return URL.createObjectURL(new Blob([content], { type: "application/json" }));
  }

  // --- the key page
  const keyApp = document.getElementById("member-key-app");
  if (keyApp) {
    const result = document.getElementById("member-key-result");
    const button = document.getElementById("member-key-create");
    const download = document.getElementById("member-key-download");
    const browserInfo = document.getElementById("member-key-browser");
    if (!subtle || !window.indexedDB) {
      button.disabled = true;
      result.textContent = "Ce navigateur ne permet pas de créer une clé (WebCrypto ou IndexedDB indisponible). Utilisez un navigateur récent.";
    } else if (keyApp.dataset.current) {
      loadKey(keyApp.dataset.current).then((record) => {
        browserInfo.textContent = record
          ? "Cette clé est enregistrée dans ce navigateur."
          : "Cette clé n'est pas dans ce navigateur : pour y retirer une part, il faudra votre fichier de clé.";
      });
    }
    button.addEventListener("click", async () => {
      button.disabled = true;
      result.textContent = "Création de la clé…";
      try {
        const pair = await subtle.generateKey(CURVE, true, ["deriveBits"]);
        const raw = new Uint8Array(await subtle.exportKey("raw", pair.publicKey));
        const jwk = await subtle.exportKey("jwk", pair.privateKey);
        const fingerprint = await sha256hex(raw);
        await storeKey(fingerprint, { privateKey: pair.privateKey, publicKey: hex(raw), email: keyApp.dataset.email, created: new Date().toISOString() });
        const answer = await post(keyApp.dataset.registerUrl, { public_key: hex(raw) });
        if (answer.fingerprint !== fingerprint) throw new Error("Empreinte inattendue : réessayez.");
        download.href = keyFile(jwk, keyApp.dataset.email);
        download.download = "cle-membre-" + fingerprint.slice(0, 12) + ".json";
        download.classList.remove("d-none");
        result.innerHTML = "";
        const done = document.createElement("div");
        done.className = "alert alert-success";
        done.id = "member-key-created";
        done.textContent = "Clé créée et enregistrée dans ce navigateur. Empreinte : " + fingerprint + ". Enregistrez maintenant votre fichier de clé.";
        result.appendChild(done);
      } catch (error) {
        result.textContent = "La clé n'a pas été créée : " + error.message;
        button.disabled = false;
      }
    });
  }

  // --- the share page
  const shareApp = document.getElementById("share-app");
  if (!shareApp) return;
  const data = shareApp.dataset;
  const errorBox = document.getElementById("share-error");
  const missing = document.getElementById("share-key-missing");
  const fileInput = document.getElementById("share-key-file");
  const openButton = document.getElementById("share-open");
  let words = null;

  function fail(message) { errorBox.textContent = message; errorBox.classList.remove("d-none"); }

  async function privateKeyFromFile() {
    const file = fileInput.files && fileInput.files[0];
    if (!file) return null;
    let parsed;
    try { parsed = JSON.parse(await file.text()); } catch (e) { throw new Error("Ce fichier n'est pas un fichier de clé e-mégalis."); }
    const jwk = parsed && parsed.jwk;
    if (!jwk || jwk.kty !== "EC" || jwk.crv !== "P-256" || !jwk.d) throw new Error("Ce fichier n'est pas un fichier de clé e-mégalis.");
    const raw = concat(new Uint8Array([4]), b64url(jwk.x), b64url(jwk.y));
    if (await sha256hex(raw) !== data.memberKeyFingerprint) throw new Error("Ce fichier de clé n'est pas celui pour lequel votre part a été chiffrée.");
    const privateKey = await subtle.importKey("jwk", jwk, CURVE, true, ["deriveBits"]);
    await storeKey(data.memberKeyFingerprint, { privateKey: privateKey, publicKey: hex(raw), created: new Date().toISOString() });
    return privateKey;
  }

  async function openShare(privateKey) {
    const blob = unb64(data.blob);
    const context = unb64(data.context);
    const ephemeral = blob.slice(0, 65), nonce = blob.slice(65, 77), body = blob.slice(77);
    const ephemeralKey = await subtle.importKey("raw", ephemeral, CURVE, false, []);
    const shared = await subtle.deriveBits({ name: "ECDH", public: ephemeralKey }, privateKey, 256);
    const hkdf = await subtle.importKey("raw", shared, "HKDF", false, ["deriveKey"]);
    const kek = await subtle.deriveKey(
      { name: "HKDF", hash: "SHA-256", salt: concat(ephemeral, unhex(data.memberPublicKey)), info: concat(SHARE_INFO, context) },
      hkdf, { name: "AES-GCM", length: 256 }, false, ["decrypt"]);
    try {
      const plain = await subtle.decrypt({ name: "AES-GCM", iv: nonce, additionalData: context }, kek, body);
      return new TextDecoder().decode(plain);
    } catch (e) {
      throw new Error("Cette clé n'ouvre pas votre part.");
    }
  }

  if (!subtle || !window.indexedDB) {
    openButton.disabled = true;
    fail("Ce navigateur ne permet pas d'ouvrir votre part (WebCrypto ou IndexedDB indisponible).");
    return;
  }
  loadKey(data.memberKeyFingerprint).then((record) => { if (!record) missing.classList.remove("d-none"); });

  openButton.addEventListener("click", async () => {
    errorBox.classList.add("d-none");
    try {
      const record = await loadKey(data.memberKeyFingerprint);
      const privateKey = record ? record.privateKey : await privateKeyFromFile();
      if (!privateKey) { missing.classList.remove("d-none"); throw new Error("Choisissez votre fichier de clé."); }
      words = (await openShare(privateKey)).split(" ");
      const list = document.getElementById("share-words");
      list.innerHTML = "";
      words.forEach((word, i) => {
        const item = document.createElement("li");
        item.className = "col share-word";
        item.textContent = (i + 1) + ". " + word;
        list.appendChild(item);
      });
      document.getElementById("share-shown").classList.remove("d-none");
      openButton.classList.add("d-none");
      missing.classList.add("d-none");
    } catch (error) { fail(error.message); }
  });

  document.getElementById("share-print").addEventListener("click", () => window.print());
  document.getElementById("share-download").addEventListener("click", () => {
    const text = "e-mégalis — part de clé d'ouverture des plis\n" +
      "Consultation : " + data.reference + " — " + data.title + "\n" +
      "Acheteur : " + data.buyer + "\n" + "Membre : " + data.member + "\n" +
      "Part n° " + data.position + " ; " + data.threshold + " parts nécessaires sur " + data.count + "\n" +
      "Empreinte de la clé publique (SHA-256) : " + data.fingerprint + "\n\n" +
      words.map((w, i) => String(i + 1).padStart(2, " ") + ". " + w).join("\n") + "\n";
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" }));
    link.download = "part-" + data.reference + "-" + data.position + ".txt";
    document.body.appendChild(link);
    link.click();
    link.remove();
    const saved = document.getElementById("share-download-done");
    saved.textContent = "Fichier « " + link.download + " » enregistré dans vos téléchargements. " +
      "Rangez-le hors de la plateforme, puis confirmez ci-dessous.";
    saved.classList.remove("d-none");
  });
  document.getElementById("share-confirm").addEventListener("click", async () => {
    try {
      const commitment = await sha256hex(concat(COMMITMENT_TAG, unhex(data.openingPublicKey), enc.encode(words.join(" "))));
      const answer = await post(window.location.pathname, { commitment: commitment });
      const done = document.getElementById("share-done");
      done.textContent = "Part retirée : la plateforme a effacé sa copie chiffrée." +
        (answer.all_collected ? " Toutes les parts sont retirées : les dépôts sont ouverts." : "");
      done.classList.remove("d-none");
      // Collected once: the buttons that handled the share go away with it.
      document.getElementById("share-shown").classList.add("d-none");
      done.focus();
    } catch (error) { fail(error.message); }
  });
})();
