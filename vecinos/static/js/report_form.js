/* Public report form: "use my location", a pin on a small map, photo checks.
   Progressive enhancement only: without this file (or without JS) the form posts as plain HTML
   and the place is typed in the text field. The map has no tile layer: nothing is fetched from
   another host, so a visitor's address never leaks to a tile server. Messages come from
   data-msg-* attributes so they are translated by the page. */
(function () {
  "use strict";

  var DEFAULT_CENTER = [34.05, -118.25]; // Los Angeles
  var DEFAULT_ZOOM = 11;
  var PIN_ZOOM = 16;
  var MAX_PHOTOS = 5;
  var MAX_PHOTO_BYTES = 10 * 1024 * 1024;

  function ready(fn) {
    if (document.readyState !== "loading") {
      fn();
    } else {
      document.addEventListener("DOMContentLoaded", fn);
    }
  }

  function round(value) {
    return Math.round(value * 1e6) / 1e6;
  }

  function parse(input) {
    if (!input || input.value === "") {
      return null;
    }
    var n = Number(input.value);
    return isFinite(n) ? n : null;
  }

  ready(function () {
    var form = document.querySelector("form.report-form");
    if (!form) {
      return;
    }
    var latInput = form.querySelector("input[name=lat]");
    var lngInput = form.querySelector("input[name=lng]");
    var locate = form.querySelector("[data-locate]");
    var locateButton = form.querySelector("[data-locate-button]");
    var clearButton = form.querySelector("[data-clear-pin]");
    var status = form.querySelector("[data-locate-status]");
    var mapEl = document.getElementById("report-map");
    var mapHint = form.querySelector("[data-map-hint]");
    var map = null;
    var marker = null;

    function msg(name) {
      return form.getAttribute("data-msg-" + name) || "";
    }

    function say(text) {
      if (status) {
        status.textContent = text;
      }
    }

    function setInputs(lat, lng) {
      latInput.value = lat === null ? "" : String(round(lat));
      lngInput.value = lng === null ? "" : String(round(lng));
      if (clearButton) {
        clearButton.hidden = lat === null;
      }
    }

    function placePin(lat, lng, zoom) {
      setInputs(lat, lng);
      if (!map) {
        return;
      }
      if (marker) {
        marker.setLatLng([lat, lng]);
      } else {
        marker = window.L.marker([lat, lng], { draggable: true, keyboard: true }).addTo(map);
        marker.on("dragend", function () {
          var pos = marker.getLatLng().wrap();
          setInputs(pos.lat, pos.lng);
          say(msg("pinned"));
        });
      }
      if (zoom) {
        map.setView([lat, lng], Math.max(map.getZoom(), zoom));
      }
    }

    // The map: only when Leaflet loaded.
    if (mapEl && typeof window.L !== "undefined") {
      mapEl.hidden = false;
      if (mapHint) {
        mapHint.hidden = false;
      }
      map = window.L.map(mapEl, { zoomSnap: 0.5, attributionControl: false }).setView(DEFAULT_CENTER, DEFAULT_ZOOM);
      window.L.control.scale({ imperial: true, metric: true }).addTo(map);
      map.on("click", function (event) {
        var pos = event.latlng.wrap();
        placePin(pos.lat, pos.lng, 0);
        say(msg("pinned"));
      });
    }

    // A pin the server sent back (the form had an error): keep it on the map.
    var lat0 = parse(latInput);
    var lng0 = parse(lngInput);
    if (lat0 !== null && lng0 !== null && Math.abs(lat0) <= 90 && Math.abs(lng0) <= 180) {
      placePin(lat0, lng0, PIN_ZOOM);
    }

    if (clearButton) {
      clearButton.addEventListener("click", function () {
        setInputs(null, null);
        if (marker && map) {
          map.removeLayer(marker);
        }
        marker = null;
        say(msg("removed"));
      });
    }

    if (locate && locateButton && navigator.geolocation) {
      locate.hidden = false;
      locateButton.addEventListener("click", function () {
        locateButton.disabled = true;
        say(msg("locating"));
        navigator.geolocation.getCurrentPosition(
          function (position) {
            locateButton.disabled = false;
            placePin(position.coords.latitude, position.coords.longitude, PIN_ZOOM);
            say(msg("located"));
          },
          function (error) {
            locateButton.disabled = false;
            say(error && error.code === 1 ? msg("denied") : msg("failed"));
          },
          { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
        );
      });
    }

    // Photos: say at once what the server would refuse anyway.
    var photos = form.querySelector("input[type=file][name=photos]");
    var photoStatus = form.querySelector("[data-photo-status]");
    if (photos) {
      photos.addEventListener("change", function () {
        var problem = "";
        if (photos.files.length > MAX_PHOTOS) {
          problem = msg("too-many");
        } else {
          for (var i = 0; i < photos.files.length; i += 1) {
            if (photos.files[i].size > MAX_PHOTO_BYTES) {
              problem = msg("too-big");
            }
          }
        }
        photos.setCustomValidity(problem);
        photos.setAttribute("aria-invalid", problem ? "true" : "false");
        if (photoStatus) {
          photoStatus.textContent = problem;
          photoStatus.className = problem ? "photo-status errorlist" : "photo-status";
        }
      });
      form.addEventListener("submit", function (event) {
        if (photos.validationMessage) {
          event.preventDefault();
          photos.focus();
        }
      });
    }

    // After a refused submission, bring the summary into view for screen readers.
    var summary = document.getElementById("report-errors");
    if (summary) {
      summary.focus();
    }
  });
})();
