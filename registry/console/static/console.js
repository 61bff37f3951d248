// The console's few behaviours beyond htmx: all progressive, the pages work without them.
(function () {
  "use strict";

  // A finding's "go to" button puts the cursor at its line and column in the editor.
  function positionOf(text, line, column) {
    let offset = 0;
    for (let i = 1; i < line; i++) {
      const next = text.indexOf("\n", offset);
      if (next === -1) return text.length;
      offset = next + 1;
    }
    // Columns count code points, as the style engine does.
    const rest = Array.from(text.slice(offset));
    return offset + rest.slice(0, Math.max(0, column - 1)).join("").length;
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-goto]");
    if (!button) return;
    const field = document.getElementById(button.dataset.goto);
    if (!field) return;
    const at = positionOf(field.value, Number(button.dataset.line), Number(button.dataset.column));
    field.focus();
    field.setSelectionRange(at, at);
    // Scroll the line into view: a textarea does not do it for a programmatic selection.
    const lines = field.value.slice(0, at).split("\n").length;
    const lineHeight = parseFloat(getComputedStyle(field).lineHeight) || 20;
    field.scrollTop = Math.max(0, (lines - 3) * lineHeight);
  });

  // Adding a variable row in the editor: a copy of the template row, with fresh ids.
  document.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-add-row]");
    if (!button) return;
    const table = document.getElementById(button.dataset.addRow);
    const template = document.getElementById(button.dataset.template);
    if (!table || !template) return;
    const index = table.querySelectorAll("tbody tr").length;
    const html = template.innerHTML.replaceAll("__i__", String(index));
    table.querySelector("tbody").insertAdjacentHTML("beforeend", html);
    const first = table.querySelector("tbody tr:last-child input");
    if (first) first.focus();
  });

  document.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-remove-row]");
    if (!button) return;
    const row = button.closest("tr");
    const form = button.closest("form");
    row.remove();
    if (form && window.htmx) htmx.trigger(form, "change");
  });
})();
