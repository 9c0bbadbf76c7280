// The CPV picker: an input with a list of suggestions fetched as you type (by code or by
// words, accents ignored) from /marches/cpv/. Without JavaScript the input takes a code typed.
"use strict";

(function () {
  function attach(input) {
    const list = document.getElementById(input.getAttribute("list"));
    const label = document.getElementById(input.id + "_cpvlabel");
    let timer = null;
    let last = "";
    function show(items) {
      list.replaceChildren(...items.map(function (item) {
        const option = document.createElement("option");
        option.value = item.code;
        option.label = item.code + " — " + item.label;
        option.textContent = item.code + " — " + item.label;
        return option;
      }));
      const exact = items.find(function (item) { return item.code === input.value.trim(); });
      if (label) label.textContent = exact ? exact.label : "";
    }
    function lookup() {
      const query = input.value.trim();
      if (query === last) return;
      last = query;
      if (query.length < 2) { show([]); return; }
      fetch(input.dataset.cpvPicker + "?q=" + encodeURIComponent(query), {
        headers: { "Accept": "application/json" },
      })
        .then(function (response) { return response.ok ? response.json() : { results: [] }; })
        .then(function (data) { if (input.value.trim() === query) show(data.results); })
        .catch(function () {});
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(lookup, 150);
    });
    if (input.value) lookup();
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[data-cpv-picker]").forEach(attach);
  });
})();
