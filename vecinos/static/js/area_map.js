/* Areas on the map.
   - Alert composer ([data-area-map]): draw a circle or a polygon (leaflet-geoman), or tap zones
     to choose them; the form's own fields (zones, latitude, longitude, radius, the hidden
     polygon) are what is sent, so the typed fields stay the keyboard path. As the area or the
     tiers change, "would reach N people (by tier, by language)" is asked of the server, which
     runs the fan-out's own selection.
   - Subscription areas ([data-pick-area]): tap a place, set the radius; the pin fills the
     form's latitude/longitude (rounded to about 100 m) and the circle follows the radius.
   Zone names come from JSON and are set as text, never as HTML. */
(function () {
  "use strict";

  // Geoman's toolbar buttons are links with only an icon; their name is on the parent's title.
  // Give each one an accessible name (WCAG: links must have discernible text).
  function nameToolbarButtons(map) {
    var root = map.getContainer();
    Array.prototype.forEach.call(
      root.querySelectorAll(".leaflet-buttons-control-button"),
      function (button) {
        var holder = button.closest("[title]");
        if (holder && !button.getAttribute("aria-label")) {
          button.setAttribute("aria-label", holder.getAttribute("title"));
        }
      }
    );
  }

  // The drawing tools speak the page's language: our own catalogs' words (json_script
  // "draw-strings"), over geoman's English for anything else.
  function drawLanguage(map) {
    var strings = readJSON("draw-strings");
    if (strings) {
      map.pm.setLang("vecinos", strings, "en");
    }
  }

  var DEFAULT_CENTER = [34.05, -118.25];
  var DEFAULT_ZOOM = 11;

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

  /* A zone's name as text: Leaflet puts a string tooltip in as HTML, and a name is typed by
     a coordinator (outside probe, session 18: a name with <a> and <img> became markup). */
  function textOnly(text) {
    var span = document.createElement("span");
    span.textContent = text;
    return span;
  }

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(fn, ms);
    };
  }

  // --- the alert composer ----------------------------------------------------------------------

  function composer(box) {
    var L = window.L;
    var form = box.closest("form");
    var field = function (name) {
      return form.querySelector("[name=" + name + "]");
    };
    var lat = field("lat");
    var lng = field("lng");
    var radius = field("radius_m");
    var polygon = field("polygon");
    var zonesSelect = field("zones");
    var out = box.querySelector("[data-reach]");
    box.hidden = false;
    var map = L.map(box.querySelector("#alert-map"), { zoomSnap: 0.5, attributionControl: false });
    map.setView(DEFAULT_CENTER, DEFAULT_ZOOM);
    if (map.pm) {
      drawLanguage(map);
      map.pm.addControls({
        position: "topleft",
        drawMarker: false,
        drawCircleMarker: false,
        drawPolyline: false,
        drawText: false,
        cutPolygon: false,
        rotateMode: false,
        drawRectangle: true,
        drawPolygon: true,
        drawCircle: true,
        editMode: true,
        dragMode: true,
        removalMode: true,
      });
      nameToolbarButtons(map);
    }
    var drawn = null;
    var zoneLayers = {};

    function selectedZones() {
      if (!zonesSelect) {
        return [];
      }
      return Array.prototype.filter
        .call(zonesSelect.options, function (o) {
          return o.selected;
        })
        .map(function (o) {
          return o.value;
        });
    }

    function styleZones() {
      var chosen = selectedZones();
      Object.keys(zoneLayers).forEach(function (id) {
        var on = chosen.indexOf(id) >= 0;
        zoneLayers[id].forEach(function (layer) {
          layer.setStyle({ className: "", weight: on ? 3 : 1, fillOpacity: on ? 0.35 : 0.08 });
          var path = layer.getElement && layer.getElement();
          if (path) {
            path.classList.toggle("am-zone-on", on);
          }
        });
      });
    }

    (readJSON("area-map-zones") || []).forEach(function (zone) {
      zoneLayers[String(zone.id)] = (zone.rings || []).map(function (ring) {
        var layer = L.polygon(
          ring.map(function (pt) {
            return [pt[1], pt[0]];
          }),
          { className: "am-zone", weight: 1, fillOpacity: 0.08, pmIgnore: true }
        ).addTo(map);
        layer.bindTooltip(textOnly(zone.name), { sticky: true });
        layer.on("click", function () {
          if (!zonesSelect) {
            return;
          }
          Array.prototype.forEach.call(zonesSelect.options, function (o) {
            if (o.value === String(zone.id)) {
              o.selected = !o.selected;
            }
          });
          zonesSelect.dispatchEvent(new Event("change", { bubbles: true }));
        });
        return layer;
      });
    });
    styleZones();

    function setDrawn(layer) {
      if (drawn && drawn !== layer) {
        map.removeLayer(drawn);
      }
      drawn = layer;
      if (layer) {
        layer.on("pm:edit pm:dragend", function () {
          fromShape(layer);
        });
      }
    }

    function fromShape(layer) {
      if (layer instanceof L.Circle) {
        var c = layer.getLatLng();
        lat.value = c.lat.toFixed(6);
        lng.value = c.lng.toFixed(6);
        radius.value = String(Math.max(50, Math.min(50000, Math.round(layer.getRadius()))));
        polygon.value = "";
      } else if (layer instanceof L.Polygon) {
        var ring = layer.getLatLngs()[0].map(function (p) {
          return [Number(p.lat.toFixed(6)), Number(p.lng.toFixed(6))];
        });
        polygon.value = JSON.stringify(ring);
        lat.value = "";
        lng.value = "";
      }
      count();
    }

    map.on("pm:create", function (event) {
      setDrawn(event.layer);
      fromShape(event.layer);
    });
    map.on("pm:remove", function (event) {
      if (event.layer === drawn) {
        drawn = null;
        polygon.value = "";
        lat.value = "";
        lng.value = "";
        count();
      }
    });

    function fromFields() {
      // The typed fields win: redraw the circle they describe (or the stored polygon).
      var la = parseFloat(lat.value);
      var ln = parseFloat(lng.value);
      var r = parseFloat(radius.value);
      if (isFinite(la) && isFinite(ln) && isFinite(r) && r > 0) {
        setDrawn(L.circle([la, ln], { radius: r, className: "am-drawn" }).addTo(map));
        map.fitBounds(drawn.getBounds(), { padding: [16, 16] });
      } else if (polygon.value) {
        try {
          var ring = JSON.parse(polygon.value);
          setDrawn(L.polygon(ring, { className: "am-drawn" }).addTo(map));
          map.fitBounds(drawn.getBounds(), { padding: [16, 16] });
        } catch (e) {
          polygon.value = "";
        }
      }
    }

    var asked = 0;
    function ask() {
      // A field still being typed in (a radius at "8" on its way to "800") is not asked
      // about: its change event asks when the person leaves it. A value left out of range
      // is, and the server's message (in the person's language) says what is wrong.
      var editing = document.activeElement;
      if (
        editing &&
        [lat, lng, radius].indexOf(editing) !== -1 &&
        editing.validity &&
        !editing.validity.valid
      ) {
        return;
      }
      var params = new URLSearchParams();
      form.querySelectorAll("[name=tiers]:checked").forEach(function (box) {
        params.append("tiers", box.value);
      });
      selectedZones().forEach(function (id) {
        params.append("zones", id);
      });
      ["lat", "lng", "radius_m", "polygon"].forEach(function (name) {
        var el = field(name);
        if (el && el.value) {
          params.append(name, el.value);
        }
      });
      var mine = ++asked;
      out.textContent = box.getAttribute("data-msg-counting");
      fetch(box.getAttribute("data-reach-url") + "?" + params.toString(), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (response) {
          return response.json().then(function (data) {
            return { ok: response.ok, data: data };
          });
        })
        .then(function (answer) {
          if (mine !== asked) {
            return; // a newer count is on its way
          }
          if (answer.ok) {
            out.textContent = answer.data.text;
            out.setAttribute("data-total", String(answer.data.total));
          } else {
            var errors = answer.data.errors || {};
            var first = Object.keys(errors)[0];
            out.textContent = first ? errors[first][0] : box.getAttribute("data-msg-failed");
            out.removeAttribute("data-total");
          }
        })
        .catch(function () {
          if (mine === asked) {
            out.textContent = box.getAttribute("data-msg-failed");
          }
        });
    }
    var count = debounce(ask, 250);

    if (zonesSelect) {
      zonesSelect.addEventListener("change", function () {
        styleZones();
        count();
      });
    }
    [lat, lng, radius].forEach(function (el) {
      if (el) {
        el.addEventListener("change", function () {
          polygon.value = "";
          fromFields();
          count();
        });
      }
    });
    form.querySelectorAll("[name=tiers]").forEach(function (el) {
      el.addEventListener("change", count);
    });
    fromFields();
    count();
  }

  // --- subscription areas: tap a place, set a radius ----------------------------------------------

  function picker(box) {
    var L = window.L;
    var form = box.closest("form");
    var lat = form.querySelector("input[name=lat]");
    var lng = form.querySelector("input[name=lng]");
    var radius = form.querySelector("[name=radius_m]");
    var zone = form.querySelector("select[name=zone]");
    var status = box.querySelector("[data-pick-status]");
    box.hidden = false;
    var map = L.map(box.querySelector("[data-pick-map]"), {
      zoomSnap: 0.5,
      attributionControl: false,
    });
    map.setView(DEFAULT_CENTER, DEFAULT_ZOOM);
    var circle = null;

    function radiusM() {
      var r = parseFloat(radius && radius.value);
      return isFinite(r) && r > 0 ? r : 1000;
    }

    function show(la, ln, zoom) {
      if (!circle) {
        circle = L.circle([la, ln], { radius: radiusM(), className: "am-drawn" }).addTo(map);
      } else {
        circle.setLatLng([la, ln]);
        circle.setRadius(radiusM());
      }
      if (zoom) {
        map.fitBounds(circle.getBounds(), { padding: [16, 16] });
      }
    }

    map.on("click", function (event) {
      // About 100 m: enough for a radius of 500 m or more, and no one's front door.
      var la = Number(event.latlng.lat.toFixed(3));
      var ln = Number(event.latlng.lng.toFixed(3));
      lat.value = String(la);
      lng.value = String(ln);
      if (zone) {
        zone.value = "";
      }
      show(la, ln, false);
      if (status) {
        status.textContent = status.getAttribute("data-picked");
      }
      box.setAttribute("data-picked", "1");
    });
    if (radius) {
      radius.addEventListener("change", function () {
        if (circle) {
          circle.setRadius(radiusM());
          map.fitBounds(circle.getBounds(), { padding: [16, 16] });
        }
      });
    }
    if (zone) {
      zone.addEventListener("change", function () {
        if (zone.value && circle) {
          map.removeLayer(circle);
          circle = null;
          box.removeAttribute("data-picked");
          if (status) {
            status.textContent = "";
          }
        }
      });
    }
    if (lat.value && lng.value) {
      show(parseFloat(lat.value), parseFloat(lng.value), true);
    }
  }

  // --- zones drawn by coalition coordinators ----------------------------------------------------

  function zoneEditor(box) {
    var L = window.L;
    var form = box.closest("form");
    var boundary = form.querySelector("input[name=boundary]");
    box.hidden = false;
    var map = L.map(box.querySelector("#zone-map"), { zoomSnap: 0.5, attributionControl: false });
    map.setView(DEFAULT_CENTER, DEFAULT_ZOOM);
    var bounds = L.latLngBounds([]);
    (readJSON("area-map-zones") || []).forEach(function (zone) {
      (zone.rings || []).forEach(function (ring) {
        if (ring.length < 3) {
          return;
        }
        var other = L.polygon(
          ring.map(function (pt) {
            return [pt[1], pt[0]];
          }),
          { className: "am-zone", weight: 1, fillOpacity: 0.08, pmIgnore: true, interactive: true }
        ).addTo(map);
        other.bindTooltip(textOnly(zone.name), { sticky: true });
        bounds.extend(other.getBounds());
      });
    });
    var shape = null;

    function save() {
      if (!shape) {
        boundary.value = "";
        return;
      }
      boundary.value = JSON.stringify(
        shape.getLatLngs()[0].map(function (p) {
          return [Number(p.lat.toFixed(6)), Number(p.lng.toFixed(6))];
        })
      );
    }

    function adopt(layer) {
      if (shape && shape !== layer) {
        map.removeLayer(shape);
      }
      shape = layer;
      layer.on("pm:edit pm:dragend", save);
      save();
    }

    if (map.pm) {
      drawLanguage(map);
      map.pm.addControls({
        position: "topleft",
        drawMarker: false,
        drawCircleMarker: false,
        drawPolyline: false,
        drawCircle: false,
        drawText: false,
        cutPolygon: false,
        rotateMode: false,
        drawRectangle: true,
        drawPolygon: true,
        editMode: true,
        dragMode: true,
        removalMode: true,
      });
      nameToolbarButtons(map);
      map.on("pm:create", function (event) {
        adopt(event.layer);
      });
      map.on("pm:remove", function (event) {
        if (event.layer === shape) {
          shape = null;
          save();
        }
      });
    }
    if (boundary.value) {
      try {
        adopt(L.polygon(JSON.parse(boundary.value), { className: "am-drawn" }).addTo(map));
        bounds = shape.getBounds();
      } catch (e) {
        boundary.value = "";
      }
    }
    if (bounds.isValid()) {
      map.fitBounds(bounds, { padding: [16, 16] });
    }
  }

  ready(function () {
    if (typeof window.L === "undefined") {
      return;
    }
    document.querySelectorAll("[data-area-map]").forEach(composer);
    document.querySelectorAll("[data-pick-area]").forEach(picker);
    document.querySelectorAll("[data-zone-editor]").forEach(zoneEditor);
  });
})();
