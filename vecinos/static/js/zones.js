/* Draws zone outlines on a Leaflet map with no tile layer: nothing is fetched from other hosts.
   The data comes from the page (json_script "zones-data"); without JS the zone list still works. */
(function () {
  "use strict";

  var DEFAULT_CENTER = [34.05, -118.25]; // Los Angeles
  var DEFAULT_ZOOM = 10;

  function textNode(zone) {
    var box = document.createElement("div");
    var name = document.createElement("strong");
    name.textContent = zone.name;
    box.appendChild(name);
    [zone.kind, zone.organization].forEach(function (line) {
      if (line) {
        box.appendChild(document.createElement("br"));
        box.appendChild(document.createTextNode(line));
      }
    });
    return box;
  }

  function draw() {
    var el = document.getElementById("zones-map");
    var dataEl = document.getElementById("zones-data");
    if (!el || !dataEl || typeof window.L === "undefined") {
      return;
    }
    var zones;
    try {
      zones = JSON.parse(dataEl.textContent);
    } catch (e) {
      return;
    }
    el.hidden = false;
    var map = window.L.map(el, { zoomSnap: 0.5, attributionControl: false });
    var bounds = window.L.latLngBounds([]);
    zones.forEach(function (zone) {
      (zone.rings || []).forEach(function (ring) {
        var latlngs = ring.map(function (pt) {
          return [pt[1], pt[0]];
        });
        if (latlngs.length < 3) {
          return;
        }
        var polygon = window.L.polygon(latlngs, {
          color: "#0b5d4b",
          weight: 2,
          fillColor: "#1a9c7e",
          fillOpacity: 0.25,
        }).addTo(map);
        // A DOM node, never an HTML string: zone names are user input.
        polygon.bindPopup(textNode(zone));
        bounds.extend(polygon.getBounds());
      });
    });
    if (bounds.isValid()) {
      map.fitBounds(bounds, { padding: [16, 16] });
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
