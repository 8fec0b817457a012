/* "Turn on notifications": registers the service worker, subscribes to Web Push with the
 * server's VAPID key and sends the subscription to the server.
 *
 * Markup (the button starts hidden; this script shows it where push works):
 *   <button type="button" hidden data-push-subscribe
 *           data-vapid-key="{{ vapid_public_key }}"
 *           data-subscribe-url="/me/push/"
 *           data-csrf-token="{{ csrf_token }}"
 *           data-label-on="Turn on notifications" data-label-off="Turn off notifications"
 *           data-label-denied="Notifications are blocked in this browser's settings."
 *           data-label-unsupported="This browser cannot receive notifications."
 *           data-label-error="Could not turn on notifications. Try again.">
 *     Turn on notifications</button>
 *   <p data-push-status aria-live="polite"></p>
 * Optional: data-sw-url (default /static/js/sw.js), data-sw-scope (default: the worker's folder).
 *
 * Server contract:
 *   POST   <subscribe-url>  JSON PushSubscription.toJSON() plus "language":
 *          {"endpoint": "https://...", "expirationTime": null,
 *           "keys": {"p256dh": "...", "auth": "..."}, "language": "es"}
 *          -> 201/200 (stored), 400 (bad subscription), 403 (not signed in)
 *   DELETE <subscribe-url>  JSON {"endpoint": "https://..."} -> 204
 *   Both send X-CSRFToken.
 */
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") {
      fn();
    } else {
      document.addEventListener("DOMContentLoaded", fn);
    }
  }

  function keyBytes(base64url) {
    var padded = (base64url + "===".slice((base64url.length + 3) % 4))
      .replace(/-/g, "+")
      .replace(/_/g, "/");
    var raw = window.atob(padded);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i += 1) {
      bytes[i] = raw.charCodeAt(i);
    }
    return bytes;
  }

  function csrfToken(button) {
    var token = button.getAttribute("data-csrf-token");
    if (token) {
      return token;
    }
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) {
      return input.value;
    }
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function setup(button) {
    var status = document.querySelector("[data-push-status]");
    var key = button.getAttribute("data-vapid-key") || "";
    var url = button.getAttribute("data-subscribe-url") || "/me/push/";
    var swUrl = button.getAttribute("data-sw-url") || "/static/js/sw.js";
    var scope = button.getAttribute("data-sw-scope") || swUrl.replace(/[^/]*$/, "");
    var registration = null;
    var subscribed = false;

    function label(name, fallback) {
      return button.getAttribute("data-label-" + name) || fallback;
    }

    function say(text) {
      if (status) {
        status.textContent = text || "";
      }
    }

    function show(isOn) {
      subscribed = isOn;
      button.textContent = isOn
        ? label("off", "Turn off notifications")
        : label("on", "Turn on notifications");
      button.setAttribute("aria-pressed", isOn ? "true" : "false");
      button.hidden = false;
      button.disabled = false;
    }

    function send(method, body) {
      return fetch(url, {
        method: method,
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRFToken": csrfToken(button),
        },
        body: JSON.stringify(body),
      }).then(function (response) {
        if (!response.ok) {
          throw new Error("server answered " + response.status);
        }
        return response;
      });
    }

    function store(subscription) {
      var body = subscription.toJSON();
      body.language = document.documentElement.lang || "es";
      return send("POST", body);
    }

    function turnOn() {
      return Notification.requestPermission().then(function (permission) {
        if (permission !== "granted") {
          say(label("denied", "Notifications are blocked in this browser's settings."));
          show(false);
          return null;
        }
        return registration.pushManager
          .subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key) })
          .then(function (subscription) {
            return store(subscription).then(
              function () {
                say("");
                show(true);
              },
              function (error) {
                // The server does not have it: do not leave the browser thinking it is on.
                return subscription.unsubscribe().then(function () {
                  throw error;
                });
              }
            );
          });
      });
    }

    function turnOff() {
      return registration.pushManager.getSubscription().then(function (subscription) {
        if (!subscription) {
          show(false);
          return null;
        }
        var endpoint = subscription.endpoint;
        return subscription.unsubscribe().then(function () {
          show(false);
          return send("DELETE", { endpoint: endpoint }).catch(function () {
            // The browser no longer has it; the server prunes it on the next 410.
          });
        });
      });
    }

    if (!key || !("serviceWorker" in navigator) || !("PushManager" in window) || !window.Notification) {
      say(label("unsupported", "This browser cannot receive notifications."));
      return;
    }

    navigator.serviceWorker
      .register(swUrl, { scope: scope })
      .then(function (reg) {
        registration = reg;
        return reg.pushManager.getSubscription();
      })
      .then(function (subscription) {
        var on = Boolean(subscription) && Notification.permission === "granted";
        show(on);
        if (on) {
          // Re-sync: the browser may have rotated the subscription since the last visit.
          store(subscription).catch(function () {});
        }
        if (Notification.permission === "denied") {
          say(label("denied", "Notifications are blocked in this browser's settings."));
        }
      })
      .catch(function () {
        say(label("unsupported", "This browser cannot receive notifications."));
      });

    button.addEventListener("click", function () {
      if (!registration) {
        return;
      }
      button.disabled = true;
      (subscribed ? turnOff() : turnOn()).catch(function () {
        say(label("error", "Could not turn on notifications. Try again."));
        show(false);
      });
    });
  }

  ready(function () {
    document.querySelectorAll("[data-push-subscribe]").forEach(setup);
  });
})();
