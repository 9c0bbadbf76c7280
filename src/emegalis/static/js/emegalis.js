// Small behaviours shared by every page, loaded from a file: the Content-Security-Policy
// forbids inline scripts and event handlers (onclick=…).
"use strict";

document.addEventListener("click", function (event) {
  // <button data-em-print>: print the page.
  const button = event.target.closest("[data-em-print]");
  if (button) {
    event.preventDefault();
    window.print();
  }
});
