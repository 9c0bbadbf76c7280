// The trainer's tablet: the trainee draws a signature with a finger, a pen or the mouse; the
// drawing is sent as a PNG with the form. An empty canvas is not sent.
document.querySelectorAll("form.em-signature").forEach((form) => {
  const canvas = form.querySelector("canvas");
  const field = form.querySelector("input[name=drawing]");
  const status = form.querySelector(".em-signature-status");
  const context = canvas.getContext("2d");
  let drawing = false;
  let drawn = false;
  context.lineWidth = 2.5;
  context.lineCap = "round";
  context.strokeStyle = "#1b1b35";
  const point = (event) => {
    const box = canvas.getBoundingClientRect();
    return [
      ((event.clientX - box.left) * canvas.width) / box.width,
      ((event.clientY - box.top) * canvas.height) / box.height,
    ];
  };
  canvas.addEventListener("pointerdown", (event) => {
    drawing = true;
    canvas.setPointerCapture(event.pointerId);
    context.beginPath();
    context.moveTo(...point(event));
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    context.lineTo(...point(event));
    context.stroke();
    drawn = true;
  });
  canvas.addEventListener("pointerup", () => {
    drawing = false;
  });
  form.querySelector(".em-signature-clear").addEventListener("click", () => {
    context.clearRect(0, 0, canvas.width, canvas.height);
    drawn = false;
  });
  form.addEventListener("submit", (event) => {
    if (!drawn) {
      event.preventDefault();
      status.textContent = "Signez dans le cadre avant d'enregistrer.";
      return;
    }
    field.value = canvas.toDataURL("image/png");
  });
});
