/* Vecinos service worker: shows the alerts the server pushes and lets people confirm them.
 *
 * The push payload is JSON (vecinos/transports/webpush/transport.py):
 *   {"title": "...", "body": "...", "url": "https://<site>/a/<token>/", "tag": "...", "lang": "es"}
 * "url" is the alert's signed acknowledgement link when there is one. The "Confirm / Confirmar"
 * action reads the page's CSRF token and POSTs to it as its button does (a GET never
 * confirms); if that does not work (CSRF, offline) the link is opened so the person can press
 * the button on the page. Only links on this site are ever opened or posted to.
 *
 * A call-out's link (/r/<token>/, vecinos/mobilize) gets "Coming / Voy" and "Not coming / No
 * voy" actions: the same page read, then the same POST as its buttons (answer=coming or
 * declined, via=push); the server matches the signed token to the person's own call-out.
 *
 * Served a second time at /rights/sw.js (scope /rights/), the same worker keeps the rights
 * library readable offline: a rights page asks it ({type: "save-rights", list: url}) to save
 * every page that /rights/offline.json lists; rights pages are then fetched network first and
 * answered from that cache when there is no connection. Nothing else is cached.
 */
"use strict";

var CONFIRM = "confirm";
var ACK_PATH = /^\/a\/[^/]+\/$/;
var COMING = "coming";
var NOT_COMING = "declined";
var CALLOUT_PATH = /^\/r\/[^/]+\/$/;
var ICON = new URL("../img/favicon.svg", self.location.href).href;

self.addEventListener("install", function () {
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

function sameSite(url) {
  try {
    var parsed = new URL(url, self.location.origin);
    return parsed.origin === self.location.origin ? parsed : null;
  } catch (error) {
    return null;
  }
}

function readPayload(event) {
  if (!event.data) {
    return {};
  }
  try {
    return event.data.json() || {};
  } catch (error) {
    return { body: event.data.text() };
  }
}

self.addEventListener("push", function (event) {
  var data = readPayload(event);
  var target = sameSite(data.url || "/") || new URL("/", self.location.origin);
  var isAck = ACK_PATH.test(target.pathname);
  var isCallout = CALLOUT_PATH.test(target.pathname);
  var actions = [];
  if (isAck) {
    actions = [{ action: CONFIRM, title: "Confirm / Confirmar" }];
  } else if (isCallout) {
    actions = [
      { action: COMING, title: "Coming / Voy" },
      { action: NOT_COMING, title: "Not coming / No voy" },
    ];
  }
  var options = {
    body: String(data.body || ""),
    lang: String(data.lang || ""),
    icon: ICON,
    badge: ICON,
    // The same tag replaces a notification instead of stacking a second copy of one alert.
    tag: data.tag ? String(data.tag) : undefined,
    renotify: Boolean(data.tag),
    requireInteraction: isAck || isCallout,
    data: { url: target.href, ack: isAck, callout: isCallout },
    actions: actions,
  };
  event.waitUntil(self.registration.showNotification(String(data.title || "Vecinos"), options));
});

function openPage(url) {
  return self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (list) {
    for (var i = 0; i < list.length; i += 1) {
      if (list[i].url === url && "focus" in list[i]) {
        return list[i].focus();
      }
    }
    return self.clients.openWindow ? self.clients.openWindow(url) : undefined;
  });
}

// The acknowledgement page only confirms on a POST with its CSRF token (link previews GET it):
// fetch the page (which also sets the CSRF cookie), take the form's token, then POST as the
// button does.
var CSRF_FIELD = /name="csrfmiddlewaretoken" value="([^"]+)"/;

// Read the page for its form's token, then POST these fields as its button does.
function postFromPage(notification, fields, done) {
  var url = notification.data.url;
  return fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
    .then(function (page) {
      if (!page.ok) {
        throw new Error("page: " + page.status);
      }
      return page.text();
    })
    .then(function (html) {
      var match = CSRF_FIELD.exec(html);
      if (!match) {
        // No form: already answered, closed, or the page changed. Let the person see it.
        throw new Error("no form");
      }
      fields.csrfmiddlewaretoken = match[1];
      fields.via = "push";
      return fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "text/html", "X-Requested-With": "vecinos-push" },
        body: new URLSearchParams(fields),
      });
    })
    .then(function (response) {
      if (!response.ok) {
        throw new Error("refused: " + response.status);
      }
      return self.registration.showNotification("Vecinos", {
        body: done,
        icon: ICON,
        tag: notification.tag || undefined,
      });
    })
    .catch(function () {
      return openPage(url);
    });
}

function confirmAlert(notification) {
  return postFromPage(notification, {}, "Confirmed / Confirmado ✓");
}

// A call-out's answer: "coming" (no minutes away: the page asks for them if wanted) or
// "declined", recorded as a push reply.
function answerCallout(notification, answer) {
  var done = answer === COMING ? "Coming / Voy ✓" : "Not coming / No voy ✓";
  return postFromPage(notification, { answer: answer }, done);
}

self.addEventListener("notificationclick", function (event) {
  var notification = event.notification;
  var data = notification.data || {};
  notification.close();
  if (!sameSite(data.url || "/")) {
    return;
  }
  if (event.action === CONFIRM && data.ack) {
    event.waitUntil(confirmAlert(notification));
  } else if ((event.action === COMING || event.action === NOT_COMING) && data.callout) {
    event.waitUntil(answerCallout(notification, event.action));
  } else {
    event.waitUntil(openPage(data.url || "/"));
  }
});

// The browser replaced the subscription (keys rotated, or it expired): take a new one with the
// same server key. The next visit to a page with the notifications button sends it to the
// server (push.js re-syncs on load); the old one answers 410 and is pruned there.
self.addEventListener("pushsubscriptionchange", function (event) {
  var old = event.oldSubscription;
  if (!old || !old.options || !old.options.applicationServerKey) {
    return;
  }
  event.waitUntil(
    self.registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: old.options.applicationServerKey,
    })
  );
});

// --- The rights library, offline ---------------------------------------------------------------

var RIGHTS_CACHE = "vecinos-rights";
var RIGHTS_PATH = /^\/rights\//;

function saveRights(listUrl) {
  var list = sameSite(listUrl);
  if (!list) {
    return Promise.resolve();
  }
  return fetch(list.href, { credentials: "omit" })
    .then(function (response) {
      return response.json();
    })
    .then(function (data) {
      return caches.open(RIGHTS_CACHE).then(function (cache) {
        var urls = (data.urls || []).filter(function (url) {
          return sameSite(url);
        });
        // One by one: a phone on a bad connection saves what it can.
        return urls.reduce(function (chain, url) {
          return chain.then(function () {
            return fetch(url, { credentials: "omit" })
              .then(function (response) {
                if (response.ok) {
                  return cache.put(url, response);
                }
                return undefined;
              })
              .catch(function () {});
          });
        }, Promise.resolve());
      });
    })
    .catch(function () {});
}

self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type === "save-rights" && data.list) {
    event.waitUntil(saveRights(data.list));
  }
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") {
    return;
  }
  var url = sameSite(request.url);
  if (!url || !(RIGHTS_PATH.test(url.pathname) || url.pathname.indexOf("/static/") === 0)) {
    return;
  }
  if (url.pathname.indexOf("/static/") === 0 && !RIGHTS_PATH.test(new URL(self.registration.scope).pathname)) {
    return;
  }
  // Network first (a coordinator's edit shows at once), the saved copy when offline.
  event.respondWith(
    fetch(request)
      .then(function (response) {
        if (response.ok && RIGHTS_PATH.test(url.pathname) && !/\.pdf$/.test(url.pathname)) {
          var copy = response.clone();
          caches.open(RIGHTS_CACHE).then(function (cache) {
            cache.put(request, copy);
          });
        }
        return response;
      })
      .catch(function () {
        return caches.match(request, { ignoreVary: true }).then(function (cached) {
          return cached || caches.match(url.pathname + url.search, { ignoreVary: true });
        }).then(function (cached) {
          return cached || Response.error();
        });
      })
  );
});
