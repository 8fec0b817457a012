/* Streets under every Leaflet map, from the coalition's own tiles (settings VECINOS_MAP_TILES,
   given by the {% basemap %} tag as data-tiles on this script tag). Loaded right after
   leaflet.js and before the scripts that make maps: an init hook adds the basemap to each map
   they make, so pages need no code of their own.
   - a .pmtiles archive (served by Vecinos at /tiles/<name>, or by the coalition's own server):
     vector tiles are drawn by protomaps-leaflet, with labels in the page's language where the
     tiles have them; raster archives by pmtiles' raster layer;
   - a {z}/{x}/{y} template: vector (.mvt/.pbf) through protomaps-leaflet, images as a tile layer;
   - nothing configured: the map stays a plain background and says how to add streets.
   Nothing here contacts any host but the configured one (and the CSP admits no other). */
(function () {
  "use strict";

  var script = document.currentScript || document.querySelector("script[data-basemap]");
  if (!script || typeof window.L === "undefined") {
    return;
  }
  var L = window.L;
  var url = script.getAttribute("data-tiles") || "";
  var hint = script.getAttribute("data-hint") || "";
  var attribution = script.getAttribute("data-attribution") || "";
  var lang = tilesLanguage(document.documentElement.lang || "en");
  var headerPromise = null;

  // The name:<lang> key the Protomaps basemap uses for the page's language: the base language
  // ("es-us" -> "es"), but Chinese by script ("zh-hans" -> "zh-Hans", "zh-hant" -> "zh-Hant").
  function tilesLanguage(tag) {
    var parts = tag.toLowerCase().split("-");
    if (parts[0] === "zh" && (parts[1] === "hans" || parts[1] === "hant")) {
      return "zh-H" + parts[1].slice(1);
    }
    return parts[0];
  }

  // Leaflet's zoom buttons are named in the page's language (their title is their label).
  ["zoomIn", "zoomOut"].forEach(function (name) {
    var text = script.getAttribute(name === "zoomIn" ? "data-zoom-in" : "data-zoom-out");
    if (text) {
      L.Control.Zoom.prototype.options[name + "Title"] = text;
    }
  });

  function isPmtiles(u) {
    return /\.pmtiles$/i.test(u.split(/[?#]/)[0]);
  }

  function header() {
    // One archive header per page, shared by every map on it.
    if (!headerPromise) {
      headerPromise = new window.pmtiles.PMTiles(url).getHeader();
    }
    return headerPromise;
  }

  function vectorLayer(maxDataZoom) {
    var options = { url: url, flavor: "light", lang: lang, attribution: attribution };
    if (maxDataZoom) {
      options.maxDataZoom = maxDataZoom;
    }
    return window.protomapsL.leafletLayer(options);
  }

  // Bottom right: the zoom and drawing buttons stand in a column on the left, as tall as a
  // phone's map (outside walk: the note covered "Move the shape" and "Remove the shape").
  function note(map, text, className) {
    var Control = L.Control.extend({
      options: { position: "bottomright" },
      onAdd: function () {
        var box = L.DomUtil.create("div", className);
        box.textContent = text;
        L.DomEvent.disableClickPropagation(box);
        return box;
      },
    });
    new Control().addTo(map);
  }

  function addBasemap(map) {
    if (map.options.basemap === false || map._vecinosBasemap) {
      return;
    }
    map._vecinosBasemap = true;
    if (!url || !window.protomapsL) {
      if (hint) {
        note(map, hint, "map-hint-streets");
      }
      return;
    }
    map.getContainer().classList.add("has-basemap");
    if (attribution) {
      note(map, attribution, "map-attribution");
    }
    if (isPmtiles(url)) {
      header().then(
        function (h) {
          var layer;
          if (h.tileType === 1 || h.tileType === 6) {
            layer = vectorLayer(h.maxZoom);
          } else {
            layer = window.pmtiles.leafletRasterLayer(new window.pmtiles.PMTiles(url), {
              maxNativeZoom: h.maxZoom,
              maxZoom: 20,
            });
          }
          layer.addTo(map);
          layer.bringToBack();
        },
        function () {
          map.getContainer().classList.remove("has-basemap");
          if (hint) {
            note(map, hint, "map-hint-streets");
          }
        }
      );
    } else if (/\.(mvt|pbf)$/i.test(url.split(/[?#]/)[0])) {
      vectorLayer(null).addTo(map).bringToBack();
    } else {
      L.tileLayer(url, { maxZoom: 19 }).addTo(map).bringToBack();
    }
  }

  L.Map.addInitHook(function () {
    addBasemap(this);
  });
  window.VecinosBasemap = { url: url, add: addBasemap, lang: lang };
})();
