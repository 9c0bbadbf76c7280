// Deposit of a pli: resumable chunked upload with progress bars (protocol in marches/views.py).
(function () {
  "use strict";
  const form = document.getElementById("deposit-form");
  if (!form) return;
  const csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;
  const startUrl = form.dataset.startUrl;
  const progressBox = document.getElementById("deposit-progress");
  const statusBox = document.getElementById("deposit-status");
  const REQUEST_CHUNKS = 4; // encryption chunks per PUT request
  const RETRIES = 30;

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

  async function serverOffset(url) {
    const response = await fetch(url, { method: "HEAD", credentials: "same-origin" });
    if (!response.ok) throw new Error("offset");
    return parseInt(response.headers.get("Upload-Offset"), 10);
  }

  async function upload(entry, target, chunkSize, onProgress) {
    let offset = target.offset;
    let failures = 0;
    onProgress(offset);
    while (offset < entry.file.size) {
      const end = Math.min(offset + REQUEST_CHUNKS * chunkSize, entry.file.size);
      let response;
      try {
        response = await fetch(target.url, {
          method: "PUT",
          credentials: "same-origin",
          headers: { "X-CSRFToken": csrf, "Upload-Offset": String(offset),
                     "Content-Type": "application/octet-stream" },
          body: entry.file.slice(offset, end),
        });
      } catch (error) {
        response = null;
      }
      if (response && (response.ok || response.status === 409)) {
        const data = await json(response);
        if (typeof data.offset === "number") {
          if (response.ok && data.offset <= offset && end > offset) failures += 1;
          offset = data.offset;
          onProgress(offset);
          if (response.ok) failures = 0;
          continue;
        }
        throw new Error(data.detail || "Erreur du serveur.");
      }
      if (response && response.status < 500) {
        throw new Error((await json(response)).detail || "Envoi refusé.");
      }
      failures += 1;
      if (failures > RETRIES) throw new Error("La connexion est interrompue : réessayez plus tard, le dépôt reprendra où il s'est arrêté.");
      say("Connexion interrompue : reprise de l'envoi de « " + entry.file.name + " »…", "warning");
      await sleep(Math.min(500 * failures, 5000));
      try { offset = await serverOffset(target.url); } catch (e) { /* retry */ }
    }
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    const entries = [];
    form.querySelectorAll("input[type=file]").forEach(function (input) {
      Array.from(input.files).forEach(function (file) {
        entries.push({ kind: input.dataset.kind, lot: input.dataset.lot || null, file: file });
      });
    });
    if (!entries.some(function (e) { return e.kind === "offre"; })) {
      say("Ajoutez au moins un fichier d'offre.", "danger");
      return;
    }
    form.querySelector("button[type=submit]").disabled = true;
    progressBox.replaceChildren();
    say("Préparation du dépôt…");
    const start = await fetch(startUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, "Content-Type": "application/json" },
      body: JSON.stringify({ files: entries.map(function (e) {
        return { kind: e.kind, lot: e.lot, name: e.file.name, size: e.file.size };
      }) }),
    });
    const created = await json(start);
    if (!start.ok) {
      say(created.detail || "Dépôt refusé.", "danger");
      form.querySelector("button[type=submit]").disabled = false;
      return;
    }
    const total = entries.reduce(function (sum, e) { return sum + e.file.size; }, 0) || 1;
    const overall = bar("Ensemble du pli", "progress-overall");
    const done = entries.map(function () { return 0; });
    try {
      for (let i = 0; i < entries.length; i += 1) {
        const own = bar(entries[i].file.name, "progress-file-" + i);
        say("Envoi chiffré de « " + entries[i].file.name + " »…");
        await upload(entries[i], created.files[i], created.chunk_size, function (offset) {
          done[i] = offset;
          own.value = entries[i].file.size ? (100 * offset) / entries[i].file.size : 100;
          overall.value = (100 * done.reduce(function (a, b) { return a + b; }, 0)) / total;
        });
      }
      say("Tous les fichiers sont reçus : confirmation du dépôt…");
      const confirm = await fetch(created.confirm_url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrf, "Content-Type": "application/json" },
        body: JSON.stringify({ backup_copy: form.querySelector("#backup-copy").checked }),
      });
      const result = await json(confirm);
      if (!confirm.ok) throw new Error(result.detail || "Confirmation refusée.");
      say("Pli reçu — " + result.status_label + ". Accusé de réception envoyé par courriel.", result.status === "recu" ? "success" : "warning");
      const link = document.createElement("a");
      link.href = result.receipt_url;
      link.id = "receipt-link";
      link.className = "btn btn-outline-primary ms-2";
      link.textContent = "Télécharger l'accusé de réception";
      statusBox.append(link);
    } catch (error) {
      say(error.message, "danger");
      form.querySelector("button[type=submit]").disabled = false;
    }
  });
})();
