// Tracegate console: a little plain JavaScript, no framework, nothing the pages need to work.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // A disposition's meaning follows its decision (the server checks the pair again).
  for (const form of document.querySelectorAll("form[data-meanings]")) {
    const meanings = JSON.parse(form.dataset.meanings);
    const decision = form.querySelector("select[name=decision]");
    const meaning = form.querySelector("select[name=meaning]");
    const update = () => {
      const chosen = meanings[decision.value] || [];
      meaning.replaceChildren(...chosen.map((m) => new Option(m, m)));
    };
    decision.addEventListener("change", update);
    update();
  }
  // A wide genealogy scrolls inside its box: start with the unit itself in view.
  for (const box of document.querySelectorAll(".graph-box")) {
    const root = box.querySelector("[data-root] rect");
    if (root) {
      const x = Number(root.getAttribute("x"));
      box.scrollLeft = Math.max(0, x - (box.clientWidth - Number(root.getAttribute("width"))) / 2);
    }
  }
  // Irreversible steps ask once more.
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
});
