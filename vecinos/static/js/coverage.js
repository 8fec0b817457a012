/* Patrol maps on Leaflet with no tile layer: nothing is fetched from another host.
   - #coverage-map: one circle marker per place, colored (by CSS class) with its most pressing
     state; data from json_script "coverage-data". The list below the map says the same in words.
   - #place-map: a pin for a place's latitude/longitude inputs (tap the map or drag the pin);
     neighborhood outlines from json_script "place-zones" give landmarks.
   Progressive enhancement only: without JS the list and the number fields work. */
(function () {
  "use strict";

  var DEFAULT_CENTER = [34.05, -118.25]; // Los Angeles
  var DEFAULT_ZOOM = 11;
  var PIN_ZOOM = 14;

  function ready(fn) {
    if (document.readyState !== "loading") {
      fn();
    } else {
      document.addEventListener("DOMContentLoaded", fn);
    }
  }

  function readJSON(id) {
    var el = document.getElementById(id);
    if (!el) {
      return null;
    }
    try {
      return JSON.parse(el.textContent);
    } catch (e) {
      return null;
    }
  }

  function newMap(el) {
    el.hidden = false;
    return window.L.map(el, { zoomSnap: 0.5, attributionControl: false });
  }

  function drawZones(map, zones, bounds) {
    (zones || []).forEach(function (zone) {
      var ring = (zone.ring || []).map(function (pt) {
        return [pt[1], pt[0]];
      });
      if (ring.length < 3) {
        return;
      }
      var polygon = window.L.polygon(ring, { className: "cov-zone", interactive: false }).addTo(map);
      if (bounds) {
        bounds.extend(polygon.getBounds());
      }
    });
  }

  // A DOM node, never an HTML string: place names are user input.
  function popupNode(place, shiftsLabel) {
    var box = document.createElement("div");
    box.className = "cov-popup";
    var name = document.createElement("strong");
    name.textContent = place.name;
    box.appendChild(name);
    if (place.zone) {
      box.appendChild(document.createElement("br"));
      box.appendChild(document.createTextNode(place.zone));
    }
    box.appendChild(document.createElement("br"));
    var state = document.createElement("span");
    state.className = "cov-state cov-" + place.state;
    state.textContent = place.label;
    box.appendChild(state);
    if (place.counts && place.counts.length) {
      var title = document.createElement("div");
      title.textContent = shiftsLabel;
      box.appendChild(title);
      var list = document.createElement("ul");
      place.counts.forEach(function (pair) {
        var item = document.createElement("li");
        item.textContent = pair[0] + ": " + pair[1];
        list.appendChild(item);
      });
      box.appendChild(list);
    }
    return box;
  }

  // Leaflet puts a string into the tooltip as HTML: hand it a text node instead.
  function textOnly(text) {
    var span = document.createElement("span");
    span.textContent = text;
    return span;
  }

  function coverageMap() {
    var el = document.getElementById("coverage-map");
    var data = readJSON("coverage-data");
    if (!el || !data) {
      return;
    }
    var map = newMap(el);
    var bounds = window.L.latLngBounds([]);
    drawZones(map, data.zones, null);
    var shiftsLabel = el.getAttribute("data-msg-shifts") || "";
    (data.places || []).forEach(function (place) {
      if (typeof place.lat !== "number" || typeof place.lng !== "number") {
        return;
      }
      var marker = window.L.circleMarker([place.lat, place.lng], {
        radius: 9,
        className: "cov-marker cov-marker-" + place.state,
      }).addTo(map);
      marker.bindPopup(popupNode(place, shiftsLabel));
      marker.bindTooltip(textOnly(place.name + " — " + place.label));
      bounds.extend([place.lat, place.lng]);
    });
    if (bounds.isValid()) {
      map.fitBounds(bounds, { padding: [24, 24], maxZoom: PIN_ZOOM });
    } else {
      map.setView(DEFAULT_CENTER, DEFAULT_ZOOM);
    }
  }

  function parse(input) {
    if (!input || input.value === "") {
      return null;
    }
    var n = Number(input.value);
    return isFinite(n) ? n : null;
  }

  function round(value) {
    return Math.round(value * 1e6) / 1e6;
  }

  function placeMap() {
    var el = document.getElementById("place-map");
    if (!el) {
      return;
    }
    var form = el.closest("form");
    var latInput = form && form.querySelector("input[name=lat]");
    var lngInput = form && form.querySelector("input[name=lng]");
    if (!latInput || !lngInput) {
      return;
    }
    var hint = form.querySelector("[data-map-hint]");
    if (hint) {
      hint.hidden = false;
    }
    var map = newMap(el);
    var bounds = window.L.latLngBounds([]);
    drawZones(map, readJSON("place-zones"), bounds);
    var marker = null;

    function setInputs(lat, lng) {
      latInput.value = String(round(lat));
      lngInput.value = String(round(lng));
    }

    function pin(lat, lng) {
      if (marker) {
        marker.setLatLng([lat, lng]);
        return;
      }
      marker = window.L.marker([lat, lng], { draggable: true, keyboard: true }).addTo(map);
      marker.on("dragend", function () {
        var pos = marker.getLatLng().wrap();
        setInputs(pos.lat, pos.lng);
      });
    }

    map.on("click", function (event) {
      var pos = event.latlng.wrap();
      setInputs(pos.lat, pos.lng);
      pin(pos.lat, pos.lng);
    });

    function fromInputs(recenter) {
      var lat = parse(latInput);
      var lng = parse(lngInput);
      if (lat === null || lng === null || Math.abs(lat) > 90 || Math.abs(lng) > 180) {
        return false;
      }
      pin(lat, lng);
      if (recenter) {
        map.setView([lat, lng], PIN_ZOOM);
      }
      return true;
    }

    latInput.addEventListener("change", function () {
      fromInputs(true);
    });
    lngInput.addEventListener("change", function () {
      fromInputs(true);
    });
    if (!fromInputs(true)) {
      if (bounds.isValid()) {
        map.fitBounds(bounds, { padding: [16, 16] });
      } else {
        map.setView(DEFAULT_CENTER, DEFAULT_ZOOM);
      }
    }
  }

  ready(function () {
    if (typeof window.L === "undefined") {
      return;
    }
    coverageMap();
    placeMap();
  });
})();
