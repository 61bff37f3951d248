// The page that shows a new key's token: a copy button, and an address that a reload
// turns into a GET of the key's page (which never shows the token) instead of creating
// a second key by posting the form again.
(function () {
  "use strict";

  const panel = document.querySelector("[data-replace-url]");
  if (panel && window.history && history.replaceState) {
    history.replaceState(null, "", panel.dataset.replaceUrl);
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-copy]");
    if (!button) return;
    const field = document.getElementById(button.dataset.copy);
    if (!field) return;
    const status = button.parentElement.querySelector(".copy-status");
    const done = function () {
      if (status) status.textContent = button.dataset.copied;
    };
    field.focus();
    field.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () {
        // The browser refused the clipboard: the token stays selected for Ctrl+C.
      });
    } else if (document.execCommand && document.execCommand("copy")) {
      done();
    }
  });
})();
