"""The intake benchmark's baseline (bench-only; see _baseline_settings.py): every Vecinos URL,
plus POST /bench/baseline, a minimal Django view that reads a JSON body and inserts one row,
through the same server, middleware and database as the real intake."""

from __future__ import annotations

import json
import secrets

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from vecinos.messaging.models import WebhookSeen
from vecinos.urls import handler403, handler404, handler500
from vecinos.urls import urlpatterns as vecinos_urls

__all__ = ["handler403", "handler404", "handler500", "urlpatterns"]


@csrf_exempt
@require_POST
def baseline(request: HttpRequest) -> JsonResponse:
    json.loads(request.body)
    # The smallest table at hand (a keyed hash and a time): one INSERT of one row.
    row = WebhookSeen.objects.create(key=secrets.token_hex(32))
    return JsonResponse({"id": row.pk}, status=201)


urlpatterns = [path("bench/baseline", baseline), *vecinos_urls]
