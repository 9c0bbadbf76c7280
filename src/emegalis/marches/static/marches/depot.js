// Deposit of a pli: resumable chunked upload with progress bars (protocol in marches/views.py).
// A deposit cut by a network failure resumes by itself; one cut by a reload or a closed
// browser is listed on the page (« Dépôts en cours ») and resumes once the company selects
// the same files again: the upload continues from the server's offset (HEAD on the file URL).
//
// The server cannot compare a file with what it already holds (it keeps ciphertext only), so
// this script keeps in localStorage, per file of a deposit, the SHA-256 of its first chunk and
// of the last chunk acknowledged, and refuses to resume with a file whose bytes differ there.
// In another browser there is no such fingerprint: the receipt's SHA-256 is then the check.
(function () {
  "use strict";
  const progressBox = document.getElementById("deposit-progress");
  const statusBox = document.getElementById("deposit-status");
  const csrfInput = document.querySelector("[name=csrfmiddlewaretoken]");
  if (!progressBox || !statusBox || !csrfInput) return;
  const csrf = csrfInput.value;
  const form = document.getElementById("deposit-form");
  // Encryption chunks per PUT request: 4 at first, doubled while a request takes under a
  // second, up to 32 (fewer requests, each with its fixed cost, on a fast line), halved when
  // one takes over 4 s (each request stays short on a slow line; the bars follow the bytes
  // sent within a request, and a cut loses at most the chunk being received).
  const REQUEST_CHUNKS_FIRST = 4;
  const REQUEST_CHUNKS_MAX = 32;
  const RETRIES = 30;
  const FINGERPRINT = "emegalis-depot:";

  function say(text, kind) {
    statusBox.className = "alert alert-" + (kind || "info");
    statusBox.textContent = text;
  }

  function sleep(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  async function json(response) {
    try { return await response.json(); } catch (e) { return {}; }
  }

  function octets(n) {
    return n.toLocaleString("fr-FR") + " octets";
  }

  function bar(label, id) {
    const wrapper = document.createElement("div");
    wrapper.className = "mb-2";
    const text = document.createElement("label");
    text.setAttribute("for", id);
    text.textContent = label;
    const progress = document.createElement("progress");
    progress.id = id;
    progress.className = "w-100";
    progress.max = 100;
    progress.value = 0;
    wrapper.append(text, progress);
    progressBox.append(wrapper);
    return progress;
  }

  // --- Local fingerprints (SubtleCrypto, secure contexts only) ---------------------------------

  async function sha256(blob) {
    if (!window.crypto || !window.crypto.subtle) return null;
    const digest = await window.crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
    return Array.from(new Uint8Array(digest), function (b) {
      return b.toString(16).padStart(2, "0");
    }).join("");
  }

  function loadPrint(target) {
    try { return JSON.parse(window.localStorage.getItem(FINGERPRINT + target.url)); } catch (e) { return null; }
  }

  function savePrint(target, print) {
    try { window.localStorage.setItem(FINGERPRINT + target.url, JSON.stringify(print)); } catch (e) { /* full or disabled */ }
  }

  function forgetPrint(target) {
    try { window.localStorage.removeItem(FINGERPRINT + target.url); } catch (e) { /* disabled */ }
  }

  async function remember(file, target, chunkSize, offset) {
    const first = await sha256(file.slice(0, Math.min(chunkSize, file.size)));
    if (first === null) return;
    const print = { first: first, at: 0, last: null };
    if (offset > 0) {
      print.at = offset;
      print.last = await sha256(file.slice(Math.max(0, offset - chunkSize), offset));
    }
    savePrint(target, print);
  }

  // "" when the file matches the fingerprint kept by this browser (or none is kept).
  async function differs(file, target, chunkSize) {
    const print = loadPrint(target);
    if (!print || !print.first) return "";
    if (await sha256(file.slice(0, Math.min(chunkSize, file.size))) !== print.first) return "début";
    if (print.at > 0 && print.at <= file.size && print.last &&
        await sha256(file.slice(Math.max(0, print.at - chunkSize), print.at)) !== print.last) {
      return "dernier bloc envoyé";
    }
    return "";
  }

  // --- Upload ----------------------------------------------------------------------------------

  async function serverOffset(url) {
    const response = await fetch(url, { method: "HEAD", credentials: "same-origin", cache: "no-store" });
    if (!response.ok) {
      const error = new Error("offset");
      error.status = response.status;
      throw error;
    }
    return parseInt(response.headers.get("Upload-Offset"), 10);
  }

  // One PUT through XMLHttpRequest rather than fetch: it reports the bytes sent as they go,
  // so the bars move within a request (a slow line takes tens of seconds for 4 MiB).
  // Resolves to {ok, status, data} or null when the connection failed.
  function put(url, offset, body, onSent) {
    return new Promise(function (resolve) {
      const xhr = new XMLHttpRequest();
      xhr.open("PUT", url);
      xhr.setRequestHeader("X-CSRFToken", csrf);
      xhr.setRequestHeader("Upload-Offset", String(offset));
      xhr.setRequestHeader("Content-Type", "application/octet-stream");
      xhr.upload.onprogress = function (event) { onSent(event.loaded); };
      xhr.onload = function () {
        let data = {};
        try { data = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
        resolve({ ok: xhr.status >= 200 && xhr.status < 300, status: xhr.status, data: data });
      };
      xhr.onerror = xhr.onabort = xhr.ontimeout = function () { resolve(null); };
      xhr.send(body);
    });
  }

  async function upload(file, target, chunkSize, onProgress) {
    let offset = target.offset;
    let failures = 0;
    let perRequest = REQUEST_CHUNKS_FIRST;
    onProgress(offset);
    while (offset < file.size) {
      const end = Math.min(offset + perRequest * chunkSize, file.size);
      const began = Date.now();
      const from = offset;
      // Bytes sent count on the bars at once; the server's answer then gives what it kept.
      const response = await put(target.url, offset, file.slice(offset, end), function (sent) {
        onProgress(from + Math.min(sent, end - from));
      });
      if (response && (response.ok || response.status === 409)) {
        const data = response.data;
        if (typeof data.offset === "number") {
          if (response.ok && data.offset <= offset && end > offset) failures += 1;
          if (response.ok && data.offset > offset) await remember(file, target, chunkSize, data.offset);
          offset = data.offset;
          onProgress(offset);
          if (response.ok) {
            failures = 0;
            const seconds = (Date.now() - began) / 1000;
            if (seconds < 1) perRequest = Math.min(perRequest * 2, REQUEST_CHUNKS_MAX);
            else if (seconds > 4) perRequest = Math.max(perRequest / 2, 1);
          }
          continue;
        }
        throw new Error(data.detail || "Erreur du serveur.");
      }
      if (response && response.status < 500) {
        throw new Error(response.data.detail || "Envoi refusé.");
      }
      failures += 1;
      if (failures > RETRIES) throw new Error("La connexion est interrompue : réessayez plus tard, le dépôt reprendra où il s'est arrêté.");
      say("Connexion interrompue : reprise de l'envoi de « " + file.name + " »…", "warning");
      await sleep(Math.min(500 * failures, 5000));
      try { offset = await serverOffset(target.url); } catch (e) { /* retry */ }
      onProgress(offset);
    }
  }

  // Upload every file (files[i] for targets[i]; null when the server has it whole), then
  // confirm. The bars start at the share the server already holds.
  async function send(files, targets, chunkSize, confirmUrl, backupCopy) {
    progressBox.replaceChildren();
    const total = targets.reduce(function (sum, t) { return sum + t.size; }, 0) || 1;
    const overall = bar("Ensemble du pli", "progress-overall");
    const done = targets.map(function (t) { return t.offset; });
    const own = targets.map(function (t, i) { return bar(t.name, "progress-file-" + i); });
    function show(i, offset) {
      done[i] = offset;
      own[i].value = targets[i].size ? (100 * offset) / targets[i].size : 100;
      overall.value = (100 * done.reduce(function (a, b) { return a + b; }, 0)) / total;
    }
    targets.forEach(function (t, i) { show(i, t.offset); });
    for (let i = 0; i < targets.length; i += 1) {
      if (!files[i]) continue;
      say("Envoi chiffré de « " + targets[i].name + " »…");
      await upload(files[i], targets[i], chunkSize, function (offset) { show(i, offset); });
    }
    say("Tous les fichiers sont reçus : confirmation du dépôt…");
    const confirm = await fetch(confirmUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, "Content-Type": "application/json" },
      body: JSON.stringify({ backup_copy: backupCopy }),
    });
    const result = await json(confirm);
    if (!confirm.ok) throw new Error(result.detail || "Confirmation refusée.");
    targets.forEach(forgetPrint);
    const kind = result.status === "recu" ? "success" : "warning";
    if (!result.receipt_url) {
      say("Pli reçu — " + result.status_label + ", à l'heure enregistrée par la plateforme. " +
          "L'accusé de réception signé vous sera envoyé par courriel dès que le service " +
          "d'horodatage répondra.", kind);
      return;
    }
    say("Pli reçu — " + result.status_label + ". Accusé de réception envoyé par courriel.", kind);
    const link = document.createElement("a");
    link.href = result.receipt_url;
    link.id = "receipt-link";
    link.className = "btn btn-outline-primary ms-2";
    link.textContent = "Télécharger l'accusé de réception";
    statusBox.append(link);
  }

  // --- A new deposit ---------------------------------------------------------------------------

  if (form) {
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      const entries = [];
      form.querySelectorAll("input[type=file]").forEach(function (input) {
        Array.from(input.files).forEach(function (file) {
          entries.push({ kind: input.dataset.kind, lot: input.dataset.lot || null,
            document: input.dataset.document || "", file: file });
        });
      });
      if (!entries.some(function (e) { return e.kind === "offre"; })) {
        say("Ajoutez au moins un fichier d'offre.", "danger");
        return;
      }
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      progressBox.replaceChildren();
      say("Préparation du dépôt…");
      const start = await fetch(form.dataset.startUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrf, "Content-Type": "application/json" },
        body: JSON.stringify({ files: entries.map(function (e) {
          return { kind: e.kind, lot: e.lot, document: e.document, name: e.file.name,
            size: e.file.size };
        }) }),
      });
      const created = await json(start);
      if (!start.ok) {
        say(created.detail || "Dépôt refusé.", "danger");
        button.disabled = false;
        return;
      }
      const files = entries.map(function (e) { return e.file; });
      try {
        for (let i = 0; i < files.length; i += 1) {
          await remember(files[i], created.files[i], created.chunk_size, 0);
        }
        await send(files, created.files, created.chunk_size, created.confirm_url,
                   form.querySelector("#backup-copy").checked);
      } catch (error) {
        say(error.message + " Le dépôt reste en cours : après un rechargement de la page, « Reprendre ce dépôt » le continue.", "danger");
        button.disabled = false;
      }
    });
  }

  // --- Resuming a deposit listed « en cours » --------------------------------------------------

  const dataNode = document.getElementById("resume-data");
  if (!dataNode) return;
  const deposits = JSON.parse(dataNode.textContent);

  function report(box, lines, kind) {
    box.replaceChildren();
    box.className = "resume-check mt-2 alert alert-" + kind;
    box.setAttribute("role", kind === "danger" ? "alert" : "status");
    if (lines.length === 1) {
      box.textContent = lines[0];
      return;
    }
    const list = document.createElement("ul");
    list.className = "mb-0";
    lines.forEach(function (line) {
      const item = document.createElement("li");
      item.textContent = line;
      list.append(item);
    });
    box.append(list);
  }

  // Pair the server's files with the selected ones by name and size; say what is wrong.
  async function match(targets, selected, chunkSize) {
    const used = new Set();
    const files = [];
    const problems = [];
    const unchecked = [];
    for (const target of targets) {
      if (target.offset >= target.size) { files.push(null); continue; }
      const index = selected.findIndex(function (f, i) {
        return !used.has(i) && f.name === target.name && f.size === target.size;
      });
      if (index < 0) {
        const sameName = selected.find(function (f) { return f.name === target.name; });
        if (sameName) {
          problems.push("« " + target.name + " » diffère : " + octets(sameName.size) + " sélectionnés, " + octets(target.size) + " annoncés au début du dépôt.");
        } else {
          problems.push("« " + target.name + " » (" + octets(target.size) + ") manque : sélectionnez-le à nouveau.");
        }
        files.push(null);
        continue;
      }
      used.add(index);
      const where = await differs(selected[index], target, chunkSize);
      if (where) {
        problems.push("« " + target.name + " » n'est pas le fichier dont l'envoi a commencé : même nom et même taille, mais le contenu diffère (" + where + ").");
      } else if (!loadPrint(target)) {
        unchecked.push(target.name);
      }
      files.push(selected[index]);
    }
    return { files: files, problems: problems, unchecked: unchecked };
  }

  document.querySelectorAll(".resume-deposit").forEach(function (card) {
    const deposit = deposits.find(function (d) { return String(d.pli) === card.dataset.pli; });
    if (!deposit) return;
    const panel = card.querySelector(".resume-panel");
    const input = card.querySelector("input[type=file]");
    const check = card.querySelector(".resume-check");
    const go = card.querySelector(".resume-start");
    card.querySelector(".abandon-form").addEventListener("submit", function (event) {
      if (!window.confirm("Abandonner le dépôt n° " + deposit.pli + " ? Les octets déjà reçus seront supprimés et ce dépôt ne pourra plus être repris.")) {
        event.preventDefault();
        return;
      }
      deposit.files.forEach(forgetPrint);
    });
    card.querySelector(".resume-open").addEventListener("click", function () {
      panel.hidden = false;
      input.focus();
    });
    go.addEventListener("click", async function () {
      go.disabled = true;
      let targets;
      try {
        targets = [];
        for (const file of deposit.files) {
          targets.push(Object.assign({}, file, { offset: await serverOffset(file.url) }));
        }
      } catch (error) {
        report(check, [error.status === 404
          ? "Ce dépôt n'existe plus (il a été abandonné) : rechargez la page."
          : "La plateforme ne répond pas : réessayez dans un instant."], "danger");
        go.disabled = false;
        return;
      }
      const matched = await match(targets, Array.from(input.files), deposit.chunk_size);
      if (matched.problems.length) {
        report(check, matched.problems, "danger");
        go.disabled = false;
        return;
      }
      const lines = ["Fichiers retrouvés : l'envoi reprend à partir des octets déjà reçus."];
      if (matched.unchecked.length) {
        lines.push("Ce navigateur n'a pas commencé l'envoi de " + matched.unchecked.map(function (n) { return "« " + n + " »"; }).join(", ") + " : il ne peut pas vérifier que c'est le même fichier. Comparez l'empreinte SHA-256 de l'accusé de réception avec celle de votre fichier.");
      }
      report(check, lines, matched.unchecked.length ? "warning" : "info");
      card.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
      try {
        await send(matched.files, targets, deposit.chunk_size, deposit.confirm_url,
                   card.querySelector(".resume-backup").checked);
      } catch (error) {
        say(error.message, "danger");
        card.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
      }
    });
  });
})();
