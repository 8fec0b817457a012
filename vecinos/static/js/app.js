/* Small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") {
      fn();
    } else {
      document.addEventListener("DOMContentLoaded", fn);
    }
  }

  ready(function () {
    // Language switcher: submit on change, hide the button.
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      var form = select.form;
      var button = form && form.querySelector("[data-autosubmit-button]");
      if (button) {
        button.hidden = true;
      }
      select.addEventListener("change", function () {
        form.submit();
      });
    });

    // Ask before destructive actions.
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) {
          event.preventDefault();
        }
      });
    });

    // Copy a secret (token, invitation link) to the clipboard.
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      var source = document.getElementById(button.getAttribute("data-copy"));
      if (!source || !navigator.clipboard) {
        return;
      }
      var label = button.textContent;
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(source.textContent.trim()).then(function () {
          button.textContent = "✓ " + label;
        });
      });
    });

    // After a refused submission, the summary of what to fix takes the focus, so the page
    // opens on it and screen readers read it (on a phone the field at fault may be far below
    // the button that was pressed).
    var summary = document.querySelector("[data-error-summary]");
    if (summary) {
      summary.focus();
    }

    // Print recovery codes.
    document.querySelectorAll("button[data-print]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        window.print();
      });
    });
  });
})();
