/* Dispatcher console, incident page, duty and quick-report enhancements.
   Every form works without this file (plain POST and a page reload); this adds:
   - live fragments that stay still when nothing changed (digest header, 204 answers), keep the
     focused row and open groups across updates, and show action messages;
   - keyboard work: j/k between rows, 1/2/3 triage, m merge, Enter opens the incident;
   - "use my location" for the duty page and the quick report. */
(function () {
  "use strict";

  var DIGEST_HEADER = "X-Live-Digest";

  function ready(fn) {
    if (document.readyState !== "loading") {
      fn();
    } else {
      document.addEventListener("DOMContentLoaded", fn);
    }
  }

  function liveOf(el) {
    return el && el.closest ? el.closest("[data-live]") : null;
  }

  function status(text, isError) {
    var box = document.getElementById("console-status");
    if (!box) {
      return;
    }
    box.textContent = text || "";
    box.classList.toggle("is-error", !!isError);
  }

  // --- live fragments ------------------------------------------------------------------------

  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.hasAttribute && elt.hasAttribute("data-live")) {
      event.detail.headers[DIGEST_HEADER] = elt.getAttribute("data-digest") || "";
    }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var target = event.detail.target;
    var xhr = event.detail.xhr;
    if (target && target.hasAttribute && target.hasAttribute("data-live") && xhr) {
      var digest = xhr.getResponseHeader(DIGEST_HEADER);
      if (digest && xhr.status === 200) {
        target.setAttribute("data-digest", digest);
      }
    }
  });

  var kept = null;

  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    // A poll that was redirected (signed out, two-step sign-in needed) goes there as a whole
    // page instead of pasting another page into the list.
    if (xhr && xhr.responseURL && event.detail.requestConfig) {
      var asked = new URL(event.detail.requestConfig.path, window.location.href).pathname;
      var got = new URL(xhr.responseURL).pathname;
      if (asked !== got) {
        event.detail.shouldSwap = false;
        window.location.href = xhr.responseURL;
        return;
      }
    }
    var target = event.detail.target;
    if (!liveOf(target)) {
      return;
    }
    var active = document.activeElement;
    var row = active && active.closest ? active.closest("[data-row]") : null;
    var rows = Array.prototype.slice.call(target.querySelectorAll("[data-row]"));
    var buttons = row ? Array.prototype.slice.call(row.querySelectorAll("button")) : [];
    kept = {
      target: target,
      row: row && target.contains(row) ? row.getAttribute("data-row") : null,
      index: row ? rows.indexOf(row) : -1,
      button: buttons.indexOf(active),
      open: Array.prototype.slice
        .call(target.querySelectorAll("details[data-keep-open][open]"))
        .map(function (d) {
          return d.getAttribute("data-keep-open");
        }),
      scroll: Array.prototype.slice.call(target.querySelectorAll(".console-col")).map(function (c) {
        return c.scrollTop;
      })
    };
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!kept || kept.target !== target) {
      return;
    }
    var state = kept;
    kept = null;
    state.open.forEach(function (key) {
      var details = target.querySelector('details[data-keep-open="' + key + '"]');
      if (details) {
        details.open = true;
      }
    });
    target.querySelectorAll(".console-col").forEach(function (col, i) {
      if (state.scroll[i] !== undefined) {
        col.scrollTop = state.scroll[i];
      }
    });
    if (state.row === null) {
      return;
    }
    var row = target.querySelector('[data-row="' + state.row + '"]');
    if (!row) {
      // The row left the queue (triaged, merged): stay at the same place in the list.
      var rows = visibleRows(target);
      row = rows[Math.min(state.index, rows.length - 1)] || null;
      state.button = -1;
    }
    if (row) {
      var buttons = row.querySelectorAll("button");
      var focusEl = state.button >= 0 && buttons[state.button] ? buttons[state.button] : row;
      focusEl.focus({ preventScroll: true });
    }
  });

  // Messages from the server after an action (HX-Trigger: {"console-message": "..."}).
  document.addEventListener("console-message", function (event) {
    var detail = event.detail;
    status(detail && detail.value !== undefined ? detail.value : detail, false);
  });

  // 409 (edit lock held by someone else), 400 (bad input): show the server's sentence.
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    if (xhr && (xhr.status === 409 || xhr.status === 400 || xhr.status === 403)) {
      status(xhr.responseText.slice(0, 300), true);
    }
  });

  document.addEventListener("htmx:sendError", function () {
    var box = document.getElementById("console-status");
    if (box) {
      status(box.getAttribute("data-offline") || "…", true);
    }
  });

  // --- keyboard ------------------------------------------------------------------------------

  function visibleRows(root) {
    return Array.prototype.slice
      .call((root || document).querySelectorAll("[data-row]"))
      .filter(function (row) {
        // A closed <details> (the flood group) hides its rows, though newer Chromium still
        // gives them boxes (content-visibility): j/k would stop on a row that cannot take focus.
        var group = row.closest("details");
        return row.getClientRects().length > 0 && (!group || group.open);
      });
  }

  function typing(el) {
    return !!(el && el.closest && el.closest("input, textarea, select, [contenteditable]"));
  }

  document.addEventListener("keydown", function (event) {
    var consoleRoot = document.querySelector("[data-console]");
    if (!consoleRoot || event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) {
      return;
    }
    var active = document.activeElement;
    var current = active && active.closest ? active.closest("[data-row]") : null;
    var rows = visibleRows(consoleRoot);
    var key = event.key;
    if (key === "j" || key === "k") {
      if (!rows.length) {
        return;
      }
      var i = current ? rows.indexOf(current) : -1;
      var next = key === "j" ? Math.min(i + 1, rows.length - 1) : Math.max(i - 1, 0);
      rows[next].focus();
      rows[next].scrollIntoView({ block: "nearest" });
      event.preventDefault();
    } else if ((key === "1" || key === "2" || key === "3" || key === "m") && current) {
      var button = current.querySelector('button[data-key="' + key + '"]');
      if (button) {
        event.preventDefault();
        button.click();
      }
    } else if (key === "Enter" && current && active === current) {
      var href = current.getAttribute("data-href");
      if (href) {
        event.preventDefault();
        window.location.href = href;
      }
    }
  });

  // --- location ------------------------------------------------------------------------------

  function setupGeolocate(button) {
    var form = button.form || button.closest("form");
    if (!form || !navigator.geolocation) {
      return;
    }
    var lat = form.querySelector('input[name="lat"]');
    var lng = form.querySelector('input[name="lng"]');
    var note = form.querySelector("[data-geolocate-status]");
    button.hidden = false;

    function say(text, cls) {
      if (note) {
        note.textContent = text;
        note.classList.remove("is-ok", "is-error");
        if (cls) {
          note.classList.add(cls);
        }
      }
    }

    function locate() {
      say(button.getAttribute("data-msg-wait"));
      navigator.geolocation.getCurrentPosition(
        function (pos) {
          lat.value = pos.coords.latitude.toFixed(6);
          lng.value = pos.coords.longitude.toFixed(6);
          say(button.getAttribute("data-msg-ok"), "is-ok");
        },
        function () {
          say(button.getAttribute("data-msg-fail"), "is-error");
        },
        { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
      );
    }

    button.addEventListener("click", locate);
    button.locate = locate;
  }

  ready(function () {
    document.querySelectorAll("button[data-geolocate]").forEach(setupGeolocate);

    // Quick report: the first tap ("what") also asks for the location, so "where" needs no tap.
    var quick = document.querySelector("form[data-quick-report]");
    if (quick) {
      var geoButton = quick.querySelector("button[data-geolocate-auto]");
      var latInput = quick.querySelector('input[name="lat"]');
      var asked = false;
      quick.querySelectorAll('[data-step="what"] input').forEach(function (input) {
        input.addEventListener("change", function () {
          if (!asked && geoButton && geoButton.locate && latInput && !latInput.value) {
            asked = true;
            geoButton.locate();
          }
          var next = quick.querySelector('[data-step="how-many"]');
          if (next) {
            next.scrollIntoView({ behavior: "smooth", block: "center" });
          }
        });
      });
      // A tapped range clears a typed exact number, and the other way round.
      var exact = quick.querySelector('input[name="agents_count"]');
      quick.querySelectorAll('input[name="how_many"]').forEach(function (input) {
        input.addEventListener("change", function () {
          if (exact) {
            exact.value = "";
          }
        });
      });
      if (exact) {
        exact.addEventListener("input", function () {
          quick.querySelectorAll('input[name="how_many"]').forEach(function (input) {
            input.checked = false;
          });
        });
      }
    }
  });
})();
