/* The dispatcher console's map, beside the queue: new reports, open incidents by state (both
   clustered when dense), verifiers on duty who gave a location, patrol places with people
   checked in and the staging points of open call-outs (a click opens the call-out's board).
   Polled every second like the queue (X-Live-Digest; 204 when nothing changed).
   A click opens the item; the markers take no keyboard focus: the lists are the keyboard path. */
(function () {
  "use strict";

  var DIGEST_HEADER = "X-Live-Digest";
  var DEFAULT_CENTER = [34.05, -118.25];
  var DEFAULT_ZOOM = 10;
  var KNOWN_STATUSES = ["new", "verifying", "confirmed"];

  function ready(fn) {
    if (document.readyState !== "loading") {
      fn();
    } else {
      document.addEventListener("DOMContentLoaded", fn);
    }
  }

  function dot(className, text) {
    var el = document.createElement("span");
    el.className = "cm-dot " + className;
    if (text) {
      el.textContent = text;
    }
    return el;
  }

  function lines(parts) {
    var box = document.createElement("div");
    parts.forEach(function (text, i) {
      if (!text) {
        return;
      }
      if (box.childNodes.length) {
        box.appendChild(document.createElement("br"));
      }
      if (i === 0) {
        var strong = document.createElement("strong");
        strong.textContent = text;
        box.appendChild(strong);
      } else {
        box.appendChild(document.createTextNode(text));
      }
    });
    return box;
  }

  function openRow(key) {
    var row = document.querySelector('[data-row="' + key + '"]');
    if (!row) {
      return false;
    }
    var details = row.closest("details");
    if (details) {
      details.open = true;
    }
    row.scrollIntoView({ block: "center" });
    row.focus();
    return true;
  }

  function setup() {
    var el = document.getElementById("console-map");
    if (!el || typeof window.L === "undefined") {
      return;
    }
    var L = window.L;
    var msg = function (name) {
      return el.getAttribute("data-msg-" + name) || "";
    };
    el.hidden = false;
    var wrap = el.closest(".console-map-wrap");
    wrap.querySelectorAll("[hidden]").forEach(function (node) {
      node.hidden = false;
    });
    // maxZoom up front: the cluster layer needs it before any tile layer has loaded.
    var map = L.map(el, { zoomSnap: 0.5, attributionControl: false, keyboard: false, maxZoom: 19 });
    map.setView(DEFAULT_CENTER, DEFAULT_ZOOM);
    if (L.MarkerCluster) {
      // Cluster icons are markers too: out of the tab order like the others (the lists are
      // the keyboard path). The cluster class has its own options object (Leaflet's extend),
      // so other markers keep their defaults.
      L.MarkerCluster.prototype.options.keyboard = false;
    }
    var clustered = L.markerClusterGroup
      ? L.markerClusterGroup({ maxClusterRadius: 40, showCoverageOnHover: false })
      : L.layerGroup();
    var people = L.layerGroup();
    clustered.addTo(map);
    people.addTo(map);
    var digest = "";
    var fitted = false;
    var incidentTemplate = el.getAttribute("data-incident-url") || "";
    var calloutTemplate = el.getAttribute("data-callout-url") || "";

    function incidentUrl(id) {
      return incidentTemplate.replace(/\/0\/$/, "/" + id + "/");
    }

    function marker(lat, lng, icon, popup, onClick, title) {
      var m = L.marker([lat, lng], {
        icon: L.divIcon({ className: "cm-icon", html: icon, iconSize: [18, 18] }),
        keyboard: false,
        title: title || "",
      });
      if (popup) {
        m.bindTooltip(popup, { direction: "top" });
      }
      if (onClick) {
        m.on("click", onClick);
      }
      return m;
    }

    function draw(data) {
      clustered.clearLayers();
      people.clearLayers();
      var bounds = L.latLngBounds([]);
      var layers = [];
      data.reports.forEach(function (r) {
        var label = r.flood ? msg("flood") : msg("report");
        layers.push(
          marker(
            r.lat,
            r.lng,
            dot("cm-report" + (r.flood ? " cm-flood" : "")),
            lines([label + " " + r.receipt, r.activity, r.at]),
            function () {
              if (!openRow("r" + r.id) && r.incident) {
                window.location.href = incidentUrl(r.incident);
              }
            },
            label + " " + r.receipt
          )
        );
        bounds.extend([r.lat, r.lng]);
      });
      data.incidents.forEach(function (i) {
        var status = KNOWN_STATUSES.indexOf(i.status) >= 0 ? i.status : "other";
        layers.push(
          marker(
            i.lat,
            i.lng,
            dot("cm-incident cm-status-" + status, "#"),
            lines([msg("incident") + " #" + i.id, i.status_label, i.activity, i.at]),
            function () {
              window.location.href = incidentUrl(i.id);
            },
            msg("incident") + " #" + i.id
          )
        );
        bounds.extend([i.lat, i.lng]);
      });
      data.verifiers.forEach(function (v) {
        people.addLayer(
          marker(v.lat, v.lng, dot("cm-verifier"), lines([msg("verifier"), v.name]), null, v.name)
        );
      });
      data.patrols.forEach(function (p) {
        people.addLayer(
          marker(
            p.lat,
            p.lng,
            dot("cm-patrol", String(p.people)),
            lines([msg("patrol"), p.name, p.people + " " + msg("people")]),
            null,
            p.name
          )
        );
        bounds.extend([p.lat, p.lng]);
      });
      // Staging points of open call-outs: not clustered (few, and each is a place to go).
      (data.callouts || []).forEach(function (c) {
        people.addLayer(
          marker(
            c.lat,
            c.lng,
            dot("cm-callout", String(c.coming)),
            lines([msg("callout") + " " + c.code, c.staging_point, c.coming + " / " + c.needed, c.by]),
            function () {
              window.location.href = calloutTemplate.replace(/\/0\/$/, "/" + c.id + "/");
            },
            msg("callout") + " " + c.code
          )
        );
        bounds.extend([c.lat, c.lng]);
      });
      if (!fitted && bounds.isValid()) {
        fitted = true;
        // Fitted before the clustered markers go in: the cluster layer places them for the view
        // it sees when they are added (a marker outside the first view stayed off a phone's
        // map). Clear of the zoom buttons at the top left.
        map.invalidateSize(false);
        map.fitBounds(bounds, {
          paddingTopLeft: [56, 24],
          paddingBottomRight: [24, 24],
          maxZoom: 14,
          animate: false,
        });
      }
      if (clustered.addLayers) {
        clustered.addLayers(layers);
      } else {
        layers.forEach(function (m) {
          clustered.addLayer(m);
        });
      }
      el.setAttribute("data-shown", String(layers.length));
      el.setAttribute("data-callouts", String((data.callouts || []).length));
    }

    var busy = false;
    function poll() {
      if (busy || document.hidden) {
        return;
      }
      busy = true;
      var headers = {};
      headers[DIGEST_HEADER] = digest;
      fetch(el.getAttribute("data-url"), { headers: headers, credentials: "same-origin" })
        .then(function (response) {
          if (response.redirected || response.status === 401) {
            window.clearInterval(timer);
            return null;
          }
          if (response.status === 200) {
            digest = response.headers.get(DIGEST_HEADER) || "";
            return response.json();
          }
          return null;
        })
        .catch(function () {
          return null; // offline for a moment: the next poll tries again
        })
        .then(function (data) {
          busy = false;
          if (data) {
            draw(data);
          }
        });
    }
    var timer = window.setInterval(poll, 1000);
    poll();
  }

  ready(setup);
})();
