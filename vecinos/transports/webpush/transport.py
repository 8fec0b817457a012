"""Web Push (RFC 8030) with VAPID (RFC 8292) and aes128gcm payloads (RFC 8291), via pywebpush.

The address is the browser's PushSubscription as JSON: ``{"endpoint": "https://...",
"keys": {"p256dh": "...", "auth": "..."}}``. The payload is JSON the service worker
(static/js/sw.js) turns into a notification: ``{"title", "body", "url", "tag", "lang"}``, where
``url`` is the acknowledgement link found in the body (or the site's front page).

Settings (read at send time): VAPID_PRIVATE_KEY (base64url raw key, as web-push tools print
it, or PEM), VAPID_PUBLIC_KEY (optional, derived from the private key; refused if it does not
match), VAPID_SUBJECT (mailto: or https: contact the push services can reach us at),
PUSH_ENDPOINT_HOSTS, PUSH_TIMEOUT, PUSH_RATE.

Error mapping: 404 and 410 mean the browser dropped the subscription: permanent, code
"expired", so messaging marks the contact point unusable (pruned). 429 and 5xx, timeouts and
refused connections are transient. 401/403 (our VAPID keys or subject) and other 4xx are also
transient and logged: a configuration mistake must never prune every subscriber.

Idempotency: every message carries ``Topic: <hash of the delivery key>``. A push service keeps
at most one undelivered message per topic and subscription, so a re-send after a lost reply
replaces the first copy instead of doubling it; the service worker uses the same value as the
notification tag, so a copy that did get through twice is still shown once.

Endpoints are an SSRF risk (the browser, i.e. the user, chooses the URL we POST to): only https
endpoints on PUSH_ENDPOINT_HOSTS are accepted (plain http only for loopback hosts listed
there, for tests and local development).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import logging
import re
import threading
import time
from functools import cache
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from py_vapid import Vapid
from pywebpush import WebPushException, webpush
from requests.adapters import HTTPAdapter

from vecinos.core import threadsafe
from vecinos.transports.base import OutboundMessage, SendResult, Transport, TransportError

log = logging.getLogger(__name__)

DEFAULT_TTL = 24 * 3600  # when the message has no expiry
MAX_TTL = 28 * 24 * 3600  # the longest push services keep a message
DEFAULT_TIMEOUT = 10.0
# 4096 bytes per push message, minus aes128gcm's 86-byte header, 16-byte tag and padding.
MAX_PAYLOAD = 3800
VAPID_LIFETIME = 12 * 3600  # push services refuse tokens valid for more than 24 h
URL_RE = re.compile(r"https?://[^\s<>\"']+")
DEFAULT_ENDPOINT_HOSTS = [
    "fcm.googleapis.com",  # Chrome, Android, Opera, Samsung Internet, Brave
    "updates.push.services.mozilla.com",  # Firefox
    "*.push.apple.com",  # Safari (web.push.apple.com)
    "*.notify.windows.com",  # Edge
]


class InvalidSubscription(ValueError):
    pass


def _b64decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _host_allowed(host: str, patterns: list[str]) -> bool:
    host = host.lower().rstrip(".")
    for pattern in patterns:
        pattern = pattern.lower().strip()
        if pattern.startswith("*.") and host.endswith(pattern[1:]):
            return True
        if host == pattern:
            return True
    return False


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def endpoint_allowed(endpoint: str) -> bool:
    try:
        parts = urlsplit(endpoint)
        host = parts.hostname or ""
    except ValueError:
        return False
    if parts.username or parts.password or not host:
        return False
    patterns = getattr(settings, "PUSH_ENDPOINT_HOSTS", DEFAULT_ENDPOINT_HOSTS)
    if not _host_allowed(host, patterns):
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(host))


def parse_subscription(data: str | dict) -> dict:
    """The canonical subscription ``{"endpoint", "keys": {"p256dh", "auth"}}`` or
    InvalidSubscription. Accepts the JSON string or the dict ``PushSubscription.toJSON()``
    gives."""
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            raise InvalidSubscription("not JSON") from None
    if not isinstance(data, dict):
        raise InvalidSubscription("not an object")
    endpoint = data.get("endpoint")
    keys = data.get("keys")
    if not isinstance(endpoint, str) or len(endpoint) > 1000 or not isinstance(keys, dict):
        raise InvalidSubscription("endpoint and keys are required")
    if not endpoint_allowed(endpoint):
        raise InvalidSubscription("push service not allowed")
    p256dh, auth = keys.get("p256dh"), keys.get("auth")
    if not isinstance(p256dh, str) or not isinstance(auth, str):
        raise InvalidSubscription("keys.p256dh and keys.auth are required")
    try:
        point, secret = _b64decode(p256dh.strip()), _b64decode(auth.strip())
    except ValueError:
        raise InvalidSubscription("keys are not base64url") from None
    if len(point) != 65 or point[0] != 4 or len(secret) != 16:
        raise InvalidSubscription("keys have the wrong length")
    return {"endpoint": endpoint, "keys": {"p256dh": _b64encode(point), "auth": _b64encode(secret)}}


def canonical_json(subscription: str | dict) -> str:
    """The one spelling of a subscription, so the same subscription gets the same blind index."""
    return json.dumps(parse_subscription(subscription), sort_keys=True, separators=(",", ":"))


def topic(idempotency_key: str) -> str:
    # RFC 8030 section 5.4: at most 32 characters of the URL-safe base64 alphabet.
    return _b64encode(hashlib.sha256(idempotency_key.encode()).digest())[:32]


@cache
def _load_vapid(private_key: str) -> Vapid:
    if "-----BEGIN" in private_key:
        return Vapid.from_pem(private_key.encode())
    return Vapid.from_string(private_key)


def _vapid() -> Vapid:
    private_key = (getattr(settings, "VAPID_PRIVATE_KEY", "") or "").strip()
    if not private_key:
        raise TransportError("web push is not configured (no VAPID key)", code="config")
    try:
        vapid = _load_vapid(private_key)
    except Exception:  # noqa: BLE001 - any parse failure is the same misconfiguration
        log.error("VECINOS_VAPID_PRIVATE_KEY cannot be read as a P-256 private key")
        raise TransportError("VAPID private key unreadable", code="config") from None
    configured = (getattr(settings, "VAPID_PUBLIC_KEY", "") or "").strip().rstrip("=")
    if configured and configured != _public_key_of(vapid):
        # Browsers subscribed with the public key; pushes signed by another key are refused.
        log.error("VECINOS_VAPID_PUBLIC_KEY does not belong to VECINOS_VAPID_PRIVATE_KEY")
        raise TransportError("VAPID keys do not match", code="config")
    return vapid


def _public_key_of(vapid: Vapid) -> str:
    raw = vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return _b64encode(raw)


def vapid_public_key() -> str:
    """The application server key the page passes to ``pushManager.subscribe`` ("" if push is
    not configured)."""
    configured = (getattr(settings, "VAPID_PUBLIC_KEY", "") or "").strip().rstrip("=")
    if configured:
        return configured
    try:
        return _public_key_of(_vapid())
    except TransportError:
        return ""


def vapid_subject() -> str:
    subject = (getattr(settings, "VAPID_SUBJECT", "") or "").strip()
    if subject:
        return subject
    if settings.PUBLIC_URL.startswith("https://"):
        return settings.PUBLIC_URL
    sender = getattr(settings, "EMAIL_FROM", "") or ""
    address = sender.rpartition("<")[2].rstrip(">").strip()
    return f"mailto:{address or 'vecinos@localhost'}"


_signed: dict[tuple[str, str, str], tuple[dict[str, str], float]] = {}
_signed_lock = threading.Lock()


def vapid_headers(endpoint: str) -> dict[str, str]:
    """``Authorization: vapid t=<JWT>,k=<public key>`` for the endpoint's push service.

    One signature per push service, reused until an hour before it expires: a fan-out to
    50,000 browsers signs a handful of tokens, not 50,000.
    """
    vapid = _vapid()
    parts = urlsplit(endpoint)
    audience = f"{parts.scheme}://{parts.netloc}"
    subject = vapid_subject()
    cache_key = (audience, subject, _public_key_of(vapid))
    now = time.time()
    with _signed_lock:
        hit = _signed.get(cache_key)
        if hit and hit[1] - 3600 > now:
            return dict(hit[0])
    expires = int(now) + VAPID_LIFETIME
    try:
        headers = vapid.sign({"aud": audience, "sub": subject, "exp": expires})
    except Exception as exc:  # noqa: BLE001 - py_vapid raises plain exceptions for bad claims
        log.error("VAPID signing failed: %s (check VECINOS_VAPID_SUBJECT)", exc)
        raise TransportError("VAPID signing failed", code="config") from None
    with _signed_lock:
        _signed[cache_key] = (headers, float(expires))
    return dict(headers)


def payload(message: OutboundMessage) -> bytes:
    """The JSON the service worker shows, cut to fit one push message."""
    found = URL_RE.search(message.body)
    url = found.group(0).rstrip(".,;:)!?") if found else f"{settings.PUBLIC_URL}/"
    data = {
        "title": message.subject or "Vecinos",
        "body": message.body,
        "url": url,
        "tag": topic(message.idempotency_key),
        "lang": message.language,
    }
    encoded = json.dumps(data, ensure_ascii=False).encode()
    for _ in range(8):  # each pass cuts at least the overflow; a few passes always suffice
        if len(encoded) <= MAX_PAYLOAD or len(data["body"]) <= 1:
            break
        overflow = len(encoded) - MAX_PAYLOAD
        data["body"] = data["body"][: max(0, len(data["body"]) - overflow - 4)].rstrip() + "…"
        encoded = json.dumps(data, ensure_ascii=False).encode()
    return encoded


@threadsafe.cache  # one keep-alive pool per process, even under concurrent first sends
def _session(maxsize: int) -> requests.Session:
    # One keep-alive pool per process; pywebpush posts through it.
    session = requests.Session()
    adapter = HTTPAdapter(pool_maxsize=maxsize, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class WebPushTransport(Transport):
    channel = "push"
    rate_limit = 50.0  # messages/s; settings.PUSH_RATE or TRANSPORTS["push"]["rate"] override

    def __init__(self) -> None:
        self.rate_limit = float(getattr(settings, "PUSH_RATE", self.rate_limit))

    def send(self, message: OutboundMessage) -> SendResult:
        if message.channel != "push":
            raise TransportError(f"not a push message: {message.channel}", code="config")
        try:
            subscription = parse_subscription(message.address)
        except InvalidSubscription as exc:
            raise TransportError(
                f"bad push subscription: {exc}", permanent=True, code="bad-subscription"
            ) from None
        headers = vapid_headers(subscription["endpoint"])
        headers["Urgency"] = "high"
        headers["Topic"] = topic(message.idempotency_key)
        ttl = message.validity_seconds if message.validity_seconds is not None else DEFAULT_TTL
        ttl = max(0, min(MAX_TTL, ttl))
        try:
            response = webpush(
                subscription,
                data=payload(message).decode(),
                ttl=ttl,
                headers=headers,
                timeout=float(getattr(settings, "PUSH_TIMEOUT", DEFAULT_TIMEOUT)),
                requests_session=_session(max(4, settings.DELIVERY_CONCURRENCY)),
            )
        except WebPushException as exc:
            raise _mapped(exc.status_code, exc.response) from None
        except requests.RequestException as exc:  # timeouts, refused, reset
            raise TransportError(
                f"push service unreachable: {type(exc).__name__}", code="unreachable"
            ) from None
        location = getattr(response, "headers", {}).get("Location", "")
        provider_id = location.rstrip("/").rpartition("/")[2] or headers["Topic"]
        return SendResult(provider_id=provider_id[:64], status="sent")


def _mapped(status: int | None, response) -> TransportError:
    text = " ".join((getattr(response, "text", "") or "").split())[:100]
    detail = f"push service {status or 'error'} {text}".strip()
    if status in (404, 410):
        return TransportError(detail, permanent=True, code="expired")
    if status in (401, 403):
        log.error("push service refused our VAPID credentials (%s): %s", status, text)
        return TransportError(detail, code="auth")
    if status is not None and 400 <= status < 500 and status != 429:
        log.warning("push service refused a message (%s): %s", status, text)
    return TransportError(detail, code=str(status or "error"))


def reset() -> None:
    """Forget cached keys, signatures and connections (tests, or after a key change)."""
    _load_vapid.cache_clear()
    _session.cache_clear()
    with _signed_lock:
        _signed.clear()
