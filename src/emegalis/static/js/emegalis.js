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

// Wide tables scroll inside their own frame, never the page: each table is put in a
// .table-responsive frame (unless it has one) that the keyboard can reach and scroll.
function frameTables(root) {
  root.querySelectorAll("main table").forEach(function (table) {
    let frame = table.parentElement;
    if (!frame.classList.contains("table-responsive")) {
      frame = document.createElement("div");
      frame.className = "table-responsive";
      table.replaceWith(frame);
      frame.append(table);
    }
    if (!frame.hasAttribute("tabindex")) {
      const caption = table.querySelector("caption");
      frame.setAttribute("tabindex", "0");
      frame.setAttribute("role", "region");
      frame.setAttribute("aria-label", caption ? caption.textContent.trim() : "Tableau");
    }
  });
}

document.addEventListener("DOMContentLoaded", function () {
  frameTables(document);
});
document.addEventListener("htmx:afterSettle", function (event) {
  frameTables(event.target);
});
