"""/metrics in Prometheus text format (issue 15).

Two kinds of figures in one scrape:

- Events, counted where they happen (vecinos.core.metrics: provider latency and errors,
  delivery outcomes, reports received and their visibility, escalation steps, webhook
  failures), added up across this host's processes by prometheus-client's multiprocess mode.
- State, read from the database at scrape time by DatabaseCollector: the delivery queue's
  depth and oldest due message per channel, what is in flight, the reports waiting in the
  dispatcher queue. A few aggregate queries over indexed columns (``delivery_due`` on
  status, next_attempt_at), so they are the same whichever web host is scraped.

It reads several apps' tables, so it sits at the top with the URLs (the composition root).
Only the configured addresses (``VECINOS_METRICS_ADDRESSES``, the loopback by default; the
client address as core.clientip reads it behind trusted proxies) or a bearer token
(``VECINOS_METRICS_TOKEN``) may read it: others get a plain 404, a wrong token a 403. No label
carries personal data: channels, statuses and sources are fixed names.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

from django.conf import settings
from django.db.models import Case, Count, F, Min, When
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from vecinos.core import metrics
from vecinos.core.clientip import client_address, in_networks, parse_address, trusted_networks
from vecinos.messaging import dueset
from vecinos.messaging.models import Channel, Delivery, DeliveryStatus
from vecinos.reports.models import Report, ReportStatus

log = logging.getLogger(__name__)

IN_FLIGHT = (DeliveryStatus.QUEUED.value, DeliveryStatus.SENDING.value)


class DatabaseCollector(Collector):
    """Gauges computed from the database when Prometheus scrapes."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily(
            "vecinos_metrics_database_up", "1 when the database answered this scrape's queries."
        )
        try:
            families = self._families()
        except Exception:  # noqa: BLE001 - a scrape must answer even when the database does not
            log.exception("metrics: the database queries failed")
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _families(self) -> list[GaugeMetricFamily]:
        now = timezone.now()
        rows = (
            dueset.open_rows(Delivery.objects.filter(status__in=IN_FLIGHT))
            .values("channel", "status")
            .annotate(
                n=Count("id"),
                oldest=Min(Case(When(next_attempt_at__lte=now, then=F("next_attempt_at")))),
            )
            .order_by()
        )
        channels = list(Channel.values)
        in_flight = {(c, s): 0 for c in channels for s in IN_FLIGHT}
        oldest_age = dict.fromkeys(channels, 0.0)
        for row in rows:
            channel = row["channel"] if row["channel"] in channels else "other"
            key = (channel, row["status"])
            in_flight[key] = in_flight.get(key, 0) + row["n"]
            if row["status"] == DeliveryStatus.QUEUED and row["oldest"] is not None:
                age = max(0.0, (now - row["oldest"]).total_seconds())
                oldest_age[channel] = max(oldest_age.get(channel, 0.0), age)
        deliveries = GaugeMetricFamily(
            "vecinos_deliveries",
            "Deliveries in the queue or being sent right now, by channel and status.",
            labels=["channel", "status"],
        )
        depth = GaugeMetricFamily(
            "vecinos_queue_depth",
            "Deliveries waiting in the queue (due now or scheduled for a retry), by channel.",
            labels=["channel"],
        )
        for (channel, status), n in sorted(in_flight.items()):
            deliveries.add_metric([channel, status], n)
            if status == DeliveryStatus.QUEUED:
                depth.add_metric([channel], n)
        oldest = GaugeMetricFamily(
            "vecinos_queue_oldest_age_seconds",
            "How long the longest-waiting due delivery has been due, by channel (0: none due).",
            labels=["channel"],
        )
        for channel, age in sorted(oldest_age.items()):
            oldest.add_metric([channel], age)
        waiting = GaugeMetricFamily(
            "vecinos_reports_in_queue", "Reports waiting for triage in the dispatcher queue."
        )
        waiting.add_metric([], Report.objects.filter(status=ReportStatus.NEW).count())
        return [deliveries, depth, oldest, waiting]


def _registry() -> CollectorRegistry:
    if not metrics.MULTIPROCESS:
        registry = metrics.REGISTRY
        if not getattr(registry, "_vecinos_db", False):
            registry.register(DatabaseCollector())
            registry._vecinos_db = True  # type: ignore[attr-defined]
        return registry
    # A new registry per scrape, as multiprocess mode asks: it reads every process's file.
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(metrics.MULTIPROCESS_DIR))
    registry.register(DatabaseCollector())
    return registry


def _plain(status: int, text: str) -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


def _refusal(request: HttpRequest) -> HttpResponse | None:
    """None when this request may read the metrics; otherwise the answer to give."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header:
        scheme, _, given = header.partition(" ")
        expected = settings.METRICS_TOKEN
        if (
            expected
            and scheme.lower() == "bearer"
            and hmac.compare_digest(given.strip().encode(), expected.encode())
        ):
            return None
        return _plain(403, "Forbidden")
    if _relayed_untrusted(request):
        return _plain(404, "Not Found")
    address = parse_address(client_address(request))
    if address is not None and in_networks(address, settings.METRICS_ADDRESSES):
        return None
    return _plain(404, "Not Found")


FORWARDING_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def _relayed_untrusted(request: HttpRequest) -> bool:
    """A request that names a client it was forwarded for, from a peer not configured as a
    trusted proxy: a proxy on this host that nobody told Vecinos about (its requests all come
    from the loopback, every visitor's included). Prometheus scraping directly sends no such
    header. Outside probe, session 19: only a system check warned of it."""
    if not any(request.META.get(name, "").strip() for name in FORWARDING_HEADERS):
        return False
    remote = parse_address(request.META.get("REMOTE_ADDR", "") or "")
    return remote is None or not in_networks(remote, trusted_networks())


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    refused = _refusal(request)
    if refused is not None:
        return refused
    response = HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response


# Webhook URLs (vecinos.messaging.urls, mounted at /hooks/) and the provider each belongs to.
WEBHOOK_PROVIDERS = {"/hooks/twilio/": "twilio", "/hooks/android/": "android"}
# What a webhook view's refusal means: every one answers 403 for a missing or wrong signature
# (or no key configured) and 400 for a body it cannot use.
WEBHOOK_REASONS = {403: "bad_signature", 400: "bad_input"}


class WebhookFailureMiddleware:
    """Counts refused provider webhooks (vecinos_webhook_failures) from their answers, so no
    webhook view needs to know about metrics. Only the provider and the reason are kept."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        reason = WEBHOOK_REASONS.get(response.status_code)
        if reason is not None and request.path_info.startswith("/hooks/"):
            path = request.path_info
            provider = next(
                (name for prefix, name in WEBHOOK_PROVIDERS.items() if path.startswith(prefix)),
                "other",
            )
            metrics.webhook_failed(provider, reason)
        return response


def clear_stale_files(path: Path | None = None) -> int:
    """Remove the per-process files of processes gone (``vecinos serve`` calls it at start,
    before its web and worker processes begin). Counters start again from 0 then, which
    Prometheus reads as a restart."""
    removed = 0
    for file in (path or metrics.MULTIPROCESS_DIR).glob("*.db"):
        try:
            file.unlink()
            removed += 1
        except FileNotFoundError:
            pass
    return removed
