/* Rights pages: keep them on the phone for use without a connection, and a print button.
 * Registers the service worker served at /rights/sw.js (scope /rights/) and asks it to save
 * every rights page listed by /rights/offline.json. Pages work the same without this file.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var swUrl = script && script.getAttribute("data-sw");
  var listUrl = script && script.getAttribute("data-offline");

  function ready(fn) {
    if (document.readyState !== "loading") {
      fn();
    } else {
      document.addEventListener("DOMContentLoaded", fn);
    }
  }

  ready(function () {
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        window.print();
      });
    });
    if (!swUrl || !("serviceWorker" in navigator)) {
      return;
    }
    navigator.serviceWorker
      .register(swUrl, { scope: swUrl.replace(/[^/]*$/, "") })
      .then(function (registration) {
        var worker = registration.active || registration.waiting || registration.installing;
        function save(target) {
          target.postMessage({ type: "save-rights", list: listUrl });
        }
        if (registration.active) {
          save(registration.active);
        } else if (worker) {
          worker.addEventListener("statechange", function () {
            if (worker.state === "activated") {
              save(worker);
            }
          });
        }
        var note = document.querySelector("[data-offline-note]");
        if (note) {
          note.hidden = false;
        }
      })
      .catch(function () {});
  });
})();
