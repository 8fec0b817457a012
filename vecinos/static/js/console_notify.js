/* The dispatcher console makes new reports known:
   - a short tone (synthesized with WebAudio: no file, no outside host), on by default, muted
     with the "Sound" button; the choice is remembered in localStorage;
   - the tab title counts new reports until the dispatcher comes back to the tab;
   - a heartbeat every minute tells the server the console is open (nobody watching: SMS). */
(function () {
  "use strict";

  var KEY = "vecinos.console.sound";
  var root = document.querySelector("[data-console-notify]");
  if (!root) {
    return;
  }
  var baseTitle = document.title;
  var seen = null; // the highest report id seen so far
  var unseen = 0;
  var audio = null;
  var button = document.getElementById("console-sound");

  function soundOn() {
    try {
      return window.localStorage.getItem(KEY) !== "off";
    } catch (e) {
      return true;
    }
  }

  function showButton() {
    if (!button) {
      return;
    }
    var on = soundOn();
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.textContent = on ? button.getAttribute("data-on") : button.getAttribute("data-off");
  }

  function context() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) {
      return null;
    }
    if (!audio) {
      audio = new Ctx();
    }
    if (audio.state === "suspended") {
      audio.resume();
    }
    return audio;
  }

  function beep() {
    var ctx = context();
    if (!ctx) {
      return;
    }
    [0, 0.18].forEach(function (offset) {
      var osc = ctx.createOscillator();
      var gain = ctx.createGain();
      osc.type = "sine";
      osc.frequency.value = offset ? 1175 : 880;
      gain.gain.setValueAtTime(0.0001, ctx.currentTime + offset);
      gain.gain.exponentialRampToValueAtTime(0.25, ctx.currentTime + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + offset + 0.16);
      osc.connect(gain).connect(ctx.destination);
      osc.start(ctx.currentTime + offset);
      osc.stop(ctx.currentTime + offset + 0.17);
    });
    root.setAttribute("data-beeps", String(Number(root.getAttribute("data-beeps") || 0) + 1));
  }

  function reportIds() {
    var ids = [];
    document.querySelectorAll("#console-live [data-row^='r']").forEach(function (row) {
      var id = parseInt(row.getAttribute("data-row").slice(1), 10);
      if (!isNaN(id)) {
        ids.push(id);
      }
    });
    return ids;
  }

  function showTitle() {
    document.title = unseen > 0 ? "(" + unseen + ") " + baseTitle : baseTitle;
  }

  function check() {
    var ids = reportIds();
    var top = ids.length ? Math.max.apply(null, ids) : 0;
    if (seen === null) {
      seen = top;
      return;
    }
    var fresh = ids.filter(function (id) { return id > seen; }).length;
    if (fresh > 0) {
      seen = top;
      unseen += fresh;
      showTitle();
      if (soundOn()) {
        beep();
      }
    }
  }

  function clear() {
    if (unseen && document.visibilityState === "visible") {
      unseen = 0;
      showTitle();
    }
  }

  function heartbeat() {
    var url = root.getAttribute("data-heartbeat");
    var token = root.getAttribute("data-csrf");
    if (!url || !window.fetch) {
      return;
    }
    window.fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": token },
    }).catch(function () {});
  }

  if (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      try {
        window.localStorage.setItem(KEY, soundOn() ? "off" : "on");
      } catch (e) { /* private mode: the choice lasts this page */ }
      showButton();
      if (soundOn()) {
        context(); // a click may start audio: browsers refuse it before any gesture
      }
    });
    showButton();
  }
  document.addEventListener("click", function () { if (soundOn()) { context(); } }, { once: true });
  document.addEventListener("htmx:afterSwap", check);
  document.addEventListener("keydown", clear);
  document.addEventListener("click", clear);
  window.addEventListener("focus", clear);
  check();
  heartbeat();
  window.setInterval(heartbeat, 60000);
}());
