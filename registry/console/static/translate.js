// The translation editor: tokens of the source inserted exactly as written, and the
// plural filter written from one field per form. Progressive: without it the text is
// typed by hand and the server's checks say what is missing.
(function () {
  "use strict";

  function insertAt(field, text) {
    const start = field.selectionStart ?? field.value.length;
    const end = field.selectionEnd ?? start;
    field.focus();
    field.setRangeText(text, start, end, "end");
    // The live check and anything else listening hear of the change.
    field.dispatchEvent(new Event("input", { bubbles: true }));
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-insert]");
    if (!button) return;
    const field = document.getElementById(button.dataset.target);
    if (field && !field.readOnly) insertAt(field, button.dataset.insert);
  });

  // A Jinja string literal: backslashes and double quotes escaped.
  function literal(text) {
    return '"' + text.replaceAll("\\", "\\\\").replaceAll('"', '\\"') + '"';
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-plural-insert]");
    if (!button) return;
    const box = document.querySelector('[data-plural="' + button.dataset.pluralInsert + '"]');
    if (!box) return;
    const field = document.getElementById(box.dataset.target);
    if (!field) return;
    const forms = [];
    box.querySelectorAll("input[data-form]").forEach(function (input) {
      const text = input.value || input.placeholder;
      if (text) forms.push(input.dataset.form + "=" + literal(text));
    });
    insertAt(field, "{{ " + box.dataset.value + " | plural(" + forms.join(", ") + ") }}");
  });

  // Review lists: one box selects or clears every row.
  document.addEventListener("change", function (event) {
    const all = event.target.closest("input[data-select-all]");
    if (!all) return;
    document.querySelectorAll('input[name="' + all.dataset.selectAll + '"]').forEach(function (box) {
      box.checked = all.checked;
    });
  });
})();
