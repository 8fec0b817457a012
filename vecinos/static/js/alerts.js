/* Alerts pages. Every form works without this file; this adds:
   - on the compose page: switching the kind swaps in that kind's message templates (only while
     the texts are still untouched templates), and the area name fills {area} as it is typed;
     every other enabled language's message (shown below them) follows the kind, the place,
     the time and the details as they are typed;
   - on "My alerts": "use my location" fills a point rounded to about 100 m.
   Live progress is plain htmx (hx-get every 2 s; a 286 answer stops the polling). */
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") {
      fn();
    } else {
      document.addEventListener("DOMContentLoaded", fn);
    }
  }

  function composeTemplates() {
    var data = document.getElementById("alert-templates");
    var kind = document.getElementById("id_kind");
    if (!data || !kind) {
      return;
    }
    var templates = JSON.parse(data.textContent);
    var area = document.getElementById("id_area_label");
    var fields = {
      es: document.getElementById("id_message_es"),
      en: document.getElementById("id_message_en")
    };
    var current = kind.value;

    function expected(k, lang) {
      var text = (templates[k] || {})[lang] || "";
      var name = area ? area.value.trim() : "";
      return name ? text.split("{area}").join(name) : text;
    }

    function untouched(lang, k, previousArea) {
      var field = fields[lang];
      if (!field) {
        return false;
      }
      var text = (templates[k] || {})[lang] || "";
      var withArea = previousArea ? text.split("{area}").join(previousArea) : text;
      return field.value === text || field.value === withArea || field.value.trim() === "";
    }

    var lastArea = area ? area.value.trim() : "";

    kind.addEventListener("change", function () {
      Object.keys(fields).forEach(function (lang) {
        if (untouched(lang, current, lastArea)) {
          fields[lang].value = expected(kind.value, lang);
        }
      });
      current = kind.value;
    });

    if (area) {
      area.addEventListener("input", function () {
        var name = area.value.trim();
        Object.keys(fields).forEach(function (lang) {
          var field = fields[lang];
          if (field && untouched(lang, current, lastArea)) {
            field.value = expected(current, lang);
          }
        });
        lastArea = name;
      });
    }
  }

  /* Every other enabled language: the kind's template with the facts typed so far (place, time,
     details), swapped as the kind changes. The texts come from the page (a JSON block), so
     nothing is fetched; a placeholder not filled yet stays visible in {braces}. */
  function composePreviews() {
    var data = document.getElementById("alert-templates-all");
    var box = document.querySelector("[data-template-previews]");
    var kind = document.getElementById("id_kind");
    if (!data || !box || !kind) {
      return;
    }
    var all = JSON.parse(data.textContent);
    var inputs = {
      area: document.getElementById("id_area_label"),
      time: document.getElementById("id_time"),
      details: document.getElementById("id_details")
    };
    var everyLanguage = document.getElementById("id_all_languages");
    var outputs = box.querySelectorAll("[data-preview-lang]");

    function fill(text, lang) {
      // A language's own details, else the details as typed; where the kind's text has no
      // place for them they go at its end, as the server does.
      var own = document.getElementById("id_details_" + lang);
      var details = own && own.value.trim() ? own.value.trim() : "";
      if (!details && inputs.details) {
        details = inputs.details.value.trim();
      }
      if (details && text.indexOf("{details}") < 0 && text.indexOf(details) < 0) {
        text = text.replace(/\s+$/, "") + " " + details;
      }
      return text.replace(/\{(\w+)\}/g, function (whole, name) {
        if (name === "details") {
          return details || whole;
        }
        var input = inputs[name];
        var value = input ? input.value.trim() : "";
        return value || whole;
      });
    }

    function update() {
      var texts = all[kind.value] || {};
      Array.prototype.forEach.call(outputs, function (output) {
        var lang = output.getAttribute("data-preview-lang");
        var text = texts[lang];
        output.textContent = text ? fill(text, lang) : "";
      });
      box.hidden = everyLanguage ? !everyLanguage.checked : false;
    }

    kind.addEventListener("change", update);
    box.addEventListener("input", update); // a language's own details
    Object.keys(inputs).forEach(function (name) {
      if (inputs[name]) {
        inputs[name].addEventListener("input", update);
      }
    });
    if (everyLanguage) {
      everyLanguage.addEventListener("change", update);
    }
    update();
  }

  function locate() {
    var box = document.querySelector("[data-locate]");
    if (!box || !navigator.geolocation) {
      return;
    }
    var form = box.closest("form");
    var button = box.querySelector("[data-locate-button]");
    var status = box.querySelector("[data-locate-status]");
    var lat = form.querySelector("input[name=lat]");
    var lng = form.querySelector("input[name=lng]");
    var zone = form.querySelector("select[name=zone]");
    box.hidden = false;
    button.addEventListener("click", function () {
      status.textContent = "…";
      navigator.geolocation.getCurrentPosition(
        function (pos) {
          // About 100 m: the radius is at least 500 m, and no one's front door is stored.
          lat.value = pos.coords.latitude.toFixed(3);
          lng.value = pos.coords.longitude.toFixed(3);
          if (zone) {
            zone.value = "";
          }
          status.textContent = status.getAttribute("data-found");
        },
        function () {
          status.textContent = status.getAttribute("data-failed");
        },
        { enableHighAccuracy: false, timeout: 15000, maximumAge: 600000 }
      );
    });
    if (zone) {
      zone.addEventListener("change", function () {
        if (zone.value) {
          lat.value = "";
          lng.value = "";
          status.textContent = "";
        }
      });
    }
  }

  ready(function () {
    composeTemplates();
    composePreviews();
    locate();
  });
})();
