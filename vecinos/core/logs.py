"""Log hygiene: no credentials and no client addresses in the server log.

Signed links (acknowledgement ``/a/<token>/``, verifier ``/v/<token>/``, invitation
``/join/<token>/``, calendar ``/cal/<token>.ics``, report receipts) are credentials: Django logs
the path of every request that fails (CSRF, 403, 404), so paths are redacted before a record
reaches any handler. Ordinary 4xx answers are logged without a traceback. Client addresses
(gunicorn's "Invalid request from ip=...") are removed.
"""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"
# A token segment after one of the signed-link prefixes (any mount point), and anything shaped
# like a django.core.signing value ("payload:timestamp:signature", a 20+ character signature;
# ISO times such as 2026-12-03T10:49:39-08:00 stay).
_LINK = re.compile(r"/(a|join|v|cal|thanks)/[^/\s?#\"'<>]+?(?=\.ics\b|[/\s?#\"'<>]|$)")
_SIGNED = re.compile(r"[A-Za-z0-9_\-=.]+(?::[A-Za-z0-9_\-=.]+)*:[A-Za-z0-9_\-]{20,}")
_FROM_IP = re.compile(r" from ip=\S*?: ")
_IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")


def redact(text: str) -> str:
    text = _FROM_IP.sub(": ", text)
    text = _LINK.sub(lambda m: f"/{m.group(1)}/{REDACTED}", text)
    text = _SIGNED.sub(REDACTED, text)
    return _IPV4.sub("[address]", text)


class RedactingFilter(logging.Filter):
    """Rewrites a record's message with tokens and addresses removed; drops the traceback of
    ordinary client errors (4xx), which say nothing about the server and repeat the path."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and 400 <= status < 500:
            record.exc_info = None
            record.exc_text = None
        if hasattr(record, "request"):
            record.request = None  # a handler that formats it would print the path again
        return True
