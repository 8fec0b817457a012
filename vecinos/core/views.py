from __future__ import annotations

import json
import logging
import os

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

log = logging.getLogger(__name__)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone()[0] == 1
    except Exception:  # noqa: BLE001 - any failure means "not ok"
        log.exception("healthz: database check failed")
        return False


def _queue_ok() -> bool:
    try:
        from huey.contrib.djhuey import HUEY

        storage = HUEY.storage
        if hasattr(storage, "conn") and hasattr(storage.conn, "ping"):
            return bool(storage.conn.ping())
        # SqliteStorage: a cheap read against the queue file.
        storage.queue_size()
        return True
    except Exception:  # noqa: BLE001
        log.exception("healthz: queue check failed")
        return False


def _serve_state() -> dict:
    """The worker as `vecinos serve` sees it (running / restarting, restarts so far), when this
    web server runs under serve; {} otherwise. serve writes the file; a stale one (its serve
    is gone) is ignored."""
    try:
        state = json.loads((settings.DATA_DIR / "serve-state.json").read_text())
        os.kill(int(state["serve_pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    keys = (
        "worker", "worker_processes", "worker_restarts", "worker_last_exit",
        "worker_last_exit_code",
    )  # fmt: skip
    return {k: state[k] for k in keys if k in state}


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    db, queue = _database_ok(), _queue_ok()
    ok = db and queue
    # A worker being restarted does not make this 503: the web server (and with it every
    # webhook, STOP included) is up, and a load balancer must keep sending it traffic.
    return JsonResponse(
        {
            "status": "ok" if ok else "error",
            "database": "ok" if db else "error",
            "queue": "ok" if queue else "error",
            **_serve_state(),
        },
        status=200 if ok else 503,
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(
        request,
        "error.html",
        {
            "title": _("This form expired"),
            "message": _(
                "For your safety the form could not be accepted. Go back, reload the page and "
                "try again; nothing you saved before was lost."
            ),
        },
        status=403,
    )


def permission_denied(request: HttpRequest, exception=None) -> HttpResponse:
    return render(
        request,
        "error.html",
        {"title": _("Not allowed"), "message": _("You do not have access to this page.")},
        status=403,
    )


def page_not_found(request: HttpRequest, exception=None) -> HttpResponse:
    return render(
        request,
        "error.html",
        {"title": _("Not found"), "message": _("There is nothing at this address.")},
        status=404,
    )


def server_error(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "error.html",
        {
            "title": _("Something went wrong"),
            "message": _("The error was recorded. Please try again in a moment."),
        },
        status=500,
    )


def _darker(color: str, factor: float = 0.75) -> str:
    red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{int(c * factor):02x}" for c in (red, green, blue))


@require_GET
def coalition_css(request: HttpRequest) -> HttpResponse:
    """The coalition's accent colour as CSS variables (a file, so CSP needs no inline style)."""
    from vecinos.core.coalition import coalition

    color = coalition().accent_color
    response = HttpResponse(
        f":root{{--brand:{color};--brand-dark:{_darker(color)}}}\n", content_type="text/css"
    )
    response["Cache-Control"] = "public, max-age=300"
    return response


@require_GET
def coalition_logo(request: HttpRequest) -> HttpResponse:
    """The coalition's logo, served by us (stored as a re-encoded PNG without metadata)."""
    from django.http import Http404

    from vecinos.core.models import CoalitionSettings

    png = CoalitionSettings.objects.filter(pk=1).values_list("logo_png", flat=True).first()
    if not png:
        raise Http404
    response = HttpResponse(bytes(png), content_type="image/png")
    response["Cache-Control"] = "public, max-age=86400"  # the URL carries the logo's version
    response["X-Content-Type-Options"] = "nosniff"
    return response
