/* The public map of checked reports: coarse hexagons (H3 res 7) or zone centres, from the
   page's own data (json_script "public-map-data"); the list below says the same in words. */
(function () {
  "use strict";

  var DEFAULT_CENTER = [34.05, -118.25];
  var DEFAULT_ZOOM = 10;

  function popup(point, labels) {
    var box = document.createElement("div");
    var strong = document.createElement("strong");
    strong.textContent = point.confirmed ? labels.confirmed : labels.falseAlarm;
    box.appendChild(strong);
    [point.title + (point.agency ? " · " + point.agency : ""), point.place, point.when].forEach(
      function (line) {
        if (line) {
          box.appendChild(document.createElement("br"));
          box.appendChild(document.createTextNode(line));
        }
      }
    );
    return box;
  }

  function draw() {
    var el = document.getElementById("public-map");
    var dataEl = document.getElementById("public-map-data");
    if (!el || !dataEl || typeof window.L === "undefined") {
      return;
    }
    var points = JSON.parse(dataEl.textContent);
    var labels = {
      confirmed: el.getAttribute("data-confirmed"),
      falseAlarm: el.getAttribute("data-false"),
    };
    el.hidden = false;
    var L = window.L;
    var map = L.map(el, { zoomSnap: 0.5, attributionControl: false });
    var bounds = L.latLngBounds([]);
    points.forEach(function (p) {
      var cls = p.confirmed ? "pm-confirmed" : "pm-false";
      var shape;
      if (p.ring && p.ring.length) {
        shape = L.polygon(p.ring, { className: cls, weight: 2 });
      } else {
        shape = L.circleMarker([p.lat, p.lng], { className: cls, radius: 10, weight: 2 });
      }
      shape.bindPopup(popup(p, labels)).addTo(map);
      bounds.extend(shape.getBounds ? shape.getBounds() : L.latLng(p.lat, p.lng));
    });
    if (bounds.isValid()) {
      map.fitBounds(bounds, { paddingTopLeft: [56, 24], paddingBottomRight: [24, 24], maxZoom: 12 });
    } else {
      map.setView(DEFAULT_CENTER, DEFAULT_ZOOM);
    }
  }

  if (document.readyState !== "loading") {
    draw();
  } else {
    document.addEventListener("DOMContentLoaded", draw);
  }
})();
