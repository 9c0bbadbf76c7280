// Upload with a progress bar: the form is sent by XMLHttpRequest and the page then follows the
// server's redirection (its message says what was stored). Without JavaScript the form posts.
document.querySelectorAll("form.em-upload").forEach((form) => {
  form.addEventListener("submit", (event) => {
    const input = form.querySelector("input[type=file]");
    const max = Number(form.dataset.maxBytes || 0);
    const status = form.querySelector(".em-upload-status");
    if (input && input.files.length && max && input.files[0].size > max) {
      event.preventDefault();
      status.textContent = "Ce fichier dépasse la taille maximale autorisée.";
      return;
    }
    event.preventDefault();
    const bar = form.querySelector(".em-upload-progress");
    const request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    request.upload.addEventListener("progress", (progress) => {
      if (progress.lengthComputable) {
        bar.hidden = false;
        bar.value = Math.round((100 * progress.loaded) / progress.total);
        status.textContent = `Envoi : ${bar.value} %`;
      }
    });
    request.addEventListener("load", () => {
      let target = window.location.href;
      try {
        target = JSON.parse(request.responseText).location || target;
      } catch (error) {
        // not JSON: stay on this page, whose reload shows the outcome
      }
      window.location.assign(target);
    });
    request.addEventListener("error", () => {
      status.textContent = "L'envoi a échoué : rien n'a été enregistré. Réessayez.";
    });
    request.send(new FormData(form));
  });
});
