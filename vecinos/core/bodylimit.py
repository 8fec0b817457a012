"""Refuse request bodies over ``settings.REQUEST_BODY_MAX`` before anything reads them.

gunicorn has no body-size limit of its own, and Django only enforces its upload limits while
it parses, after the body has started to arrive. This middleware sits before anything that
reads the body (CSRF, the views) and answers 413 from the headers alone: a body announced as
5 GB costs nothing (gunicorn drains at most 64 KB of it, then closes the connection). A chunked
body without Content-Length is read into memory only up to the limit: over it, 413; within it,
the request continues with the bytes read (Django itself would otherwise see an empty body).
Uploads stay in memory (``FILE_UPLOAD_HANDLERS`` is the memory handler only), so the limit
also bounds what one request can hold.
"""

from __future__ import annotations

import io

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def _too_large(request: HttpRequest) -> HttpResponse:
    megabytes = settings.REQUEST_BODY_MAX // (1024 * 1024)
    message = _("This is too much to send at once: at most %(mb)s MB in all.") % {"mb": megabytes}
    if request.path.startswith("/api/") or request.path.startswith("/hooks/"):
        return JsonResponse({"detail": message}, status=413)
    return render(
        request, "error.html", {"title": _("Too big to send"), "message": message}, status=413
    )


class RequestBodyLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.REQUEST_BODY_MAX
        announced = request.META.get("CONTENT_LENGTH") or ""
        if announced.strip():
            try:
                length = int(announced)
            except ValueError:
                length = -1
            if length < 0 or length > limit:
                return _too_large(request)
        elif "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            stream = request.META.get("wsgi.input")
            body = b""
            while stream is not None and len(body) <= limit:
                chunk = stream.read(min(64 * 1024, limit + 1 - len(body)))
                if not chunk:
                    break
                body += chunk
            if len(body) > limit:
                return _too_large(request)
            # Django reads a body without Content-Length as empty: hand it what was read.
            request.META["CONTENT_LENGTH"] = str(len(body))
            request._stream = LimitedStream(io.BytesIO(body), len(body))  # type: ignore[assignment]
        return self.get_response(request)
