/* Patrol pages: "use my location" for the shift finder, and an optional location at check-in.
   Progressive enhancement only: without this file the finder lists the member's areas and
   check-in works without a location. The finder sends a rounded position (about 100 m) in the
   query string; check-in sends one position that the server turns into "at the place: yes/no"
   and forgets. Messages come from data-msg-* attributes so the page translates them. */
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") {
      fn();
    } else {
      document.addEventListener("DOMContentLoaded", fn);
    }
  }

  function locate(ok, fail, timeout) {
    navigator.geolocation.getCurrentPosition(ok, fail, {
      enableHighAccuracy: true,
      timeout: timeout,
      maximumAge: 60000,
    });
  }

  function setupFinder(form) {
    var button = form.querySelector("[data-near-me]");
    var status = form.querySelector("[data-near-status]");
    var lat = form.querySelector("input[name=lat]");
    var lng = form.querySelector("input[name=lng]");
    if (!button || !lat || !lng || !navigator.geolocation) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      button.disabled = true;
      if (status) {
        status.textContent = form.getAttribute("data-msg-wait") || "";
      }
      locate(
        function (pos) {
          lat.value = pos.coords.latitude.toFixed(3);
          lng.value = pos.coords.longitude.toFixed(3);
          form.submit();
        },
        function (error) {
          button.disabled = false;
          if (status) {
            status.textContent =
              form.getAttribute(error && error.code === 1 ? "data-msg-denied" : "data-msg-fail") ||
              "";
          }
        },
        15000
      );
    });
  }

  function setupCheckIn(form) {
    var share = form.querySelector("[data-share-location]");
    var box = share && share.querySelector("input[type=checkbox]");
    var status = form.querySelector("[data-check-in-status]");
    var lat = form.querySelector("input[name=lat]");
    var lng = form.querySelector("input[name=lng]");
    if (!share || !box || !lat || !lng || !navigator.geolocation) {
      return;
    }
    share.hidden = false;
    var sending = false;
    form.addEventListener("submit", function (event) {
      if (sending || !box.checked) {
        return;
      }
      event.preventDefault();
      sending = true;
      var button = form.querySelector("button[type=submit]");
      if (button) {
        button.disabled = true;
      }
      if (status) {
        status.textContent = form.getAttribute("data-msg-wait") || "";
      }
      locate(
        function (pos) {
          lat.value = pos.coords.latitude.toFixed(6);
          lng.value = pos.coords.longitude.toFixed(6);
          form.submit();
        },
        function () {
          if (status) {
            status.textContent = form.getAttribute("data-msg-fail") || "";
          }
          lat.value = "";
          lng.value = "";
          form.submit();
        },
        10000
      );
    });
  }

  ready(function () {
    document.querySelectorAll("form[data-near-form]").forEach(setupFinder);
    document.querySelectorAll("form[data-check-in]").forEach(setupCheckIn);
  });
})();
