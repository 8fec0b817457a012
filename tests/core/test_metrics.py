"""/metrics (issue 15): who may read it, what it counts through the real paths, and that no
label carries personal data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from tests.twilio_stub import signed_post, twilio_stub, twilio_webhooks  # noqa: F401
from vecinos.core import metrics as core_metrics
from vecinos.messaging import services
from vecinos.messaging.models import Delivery, DeliveryStatus
from vecinos.network.models import Member
from vecinos.transports import registry

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
PHONE = "+12135550177"
NAME = "Guadalupe Zamarripa"
TOKEN = "metrics-token-for-tests-0123456789"


def scrape(client: Client | None = None, **extra) -> str:
    response = (client or Client()).get("/metrics", **extra)
    assert response.status_code == 200, response.content[:200]
    assert response["Content-Type"].startswith("text/plain; version=")
    return response.content.decode()


def value(text: str, sample: str, **labels: str) -> float:
    """The value of one sample (0 when it is absent, as a counter not yet incremented)."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return 0.0


# --- who may read it ------------------------------------------------------------------------


def test_loopback_may_read_the_metrics():
    text = scrape(Client(REMOTE_ADDR="127.0.0.1"))
    assert "vecinos_queue_depth" in text and "vecinos_metrics_database_up 1.0" in text
    assert Client(REMOTE_ADDR="::1").get("/metrics").status_code == 200


def test_another_address_gets_a_plain_404():
    response = Client(REMOTE_ADDR="203.0.113.9").get("/metrics")
    assert response.status_code == 404
    assert b"vecinos_" not in response.content


def test_a_public_client_behind_a_trusted_proxy_on_this_host_is_refused(settings):
    # Caddy on the same host connects from 127.0.0.1 for everyone: the client behind it counts.
    settings.TRUSTED_PROXIES = ["127.0.0.1/32"]
    client = Client(REMOTE_ADDR="127.0.0.1")
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 404
    assert (
        client.get("/metrics", HTTP_X_FORWARDED_FOR="198.51.100.4, 203.0.113.9").status_code == 404
    )


@pytest.mark.parametrize(
    "header",
    [
        {"HTTP_X_FORWARDED_FOR": "203.0.113.9"},
        {"HTTP_FORWARDED": "for=203.0.113.9;proto=https"},
        {"HTTP_X_REAL_IP": "203.0.113.9"},
    ],
)
def test_a_proxy_nobody_configured_on_this_host_does_not_open_it(settings, header):
    """Outside probe, session 19: a proxy on the same host, not named in
    VECINOS_TRUSTED_PROXIES, relays every visitor from 127.0.0.1, so the loopback rule let the
    public read the metrics (only a system check warned). A request forwarded for someone,
    from a peer not trusted as a proxy, is refused; a direct scrape still reads them."""
    settings.TRUSTED_PROXIES = []
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics", **header).status_code == 404
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 200
    # Named as a proxy, it relays its own host's scraper (the furthest hop is the loopback).
    settings.TRUSTED_PROXIES = ["127.0.0.1/32"]
    local = Client(REMOTE_ADDR="127.0.0.1")
    assert local.get("/metrics", HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 200


def test_configured_addresses_replace_the_loopback(settings):
    import ipaddress

    settings.METRICS_ADDRESSES = (ipaddress.ip_network("10.1.0.0/16"),)
    assert Client(REMOTE_ADDR="10.1.4.5").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 404


def test_the_token_opens_it_from_anywhere(settings):
    settings.METRICS_TOKEN = TOKEN
    text = scrape(Client(REMOTE_ADDR="203.0.113.9"), HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert "vecinos_deliveries" in text


def test_a_wrong_token_is_refused_even_from_the_loopback(settings):
    settings.METRICS_TOKEN = TOKEN
    for header in (f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", "Bearer "):
        response = Client(REMOTE_ADDR="127.0.0.1").get("/metrics", HTTP_AUTHORIZATION=header)
        assert response.status_code == 403, header
        assert b"vecinos_" not in response.content


def test_no_token_configured_means_no_token_works(settings):
    settings.METRICS_TOKEN = ""
    response = Client(REMOTE_ADDR="203.0.113.9").get("/metrics", HTTP_AUTHORIZATION="Bearer ")
    assert response.status_code == 403


# --- what it counts -------------------------------------------------------------------------


@pytest.fixture
def twilio(twilio_stub, twilio_webhooks):  # noqa: F811
    settings = twilio_webhooks
    settings.TRANSPORTS = {"sms": {"path": "vecinos.transports.twilio.sms.TwilioSmsTransport"}}
    settings.TWILIO_API_URL = twilio_stub.url
    settings.TWILIO_ACCOUNT_SID = twilio_stub.account_sid
    settings.TWILIO_AUTH_TOKEN = twilio_stub.auth_token
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "ab" * 16
    settings.TWILIO_FROM_NUMBER = ""
    settings.TWILIO_TIMEOUT_SECONDS = 0.5
    registry.reset()
    yield twilio_stub
    registry.reset()


def enqueue(address: str, key: str, member: Member | None = None) -> Delivery:
    contact = services.contact_point(channel="sms", address=address, member=member)
    services.deliveries_enqueue(
        [
            services.DeliverySpec(
                purpose="alert", contact=contact, body=f"Hola {NAME}", language="es", key=key
            )
        ]
    )
    return Delivery.objects.get(idempotency_key=key)


def test_a_delivery_sent_by_the_worker_shows_in_the_scrape(twilio):
    member = Member.objects.create(username="guadalupe", full_name=NAME)
    before = scrape()
    enqueue(PHONE, "metrics:1", member=member)
    enqueue("+12135550178", "metrics:2")
    queued = scrape()
    assert value(queued, "vecinos_queue_depth", channel="sms") == 2
    assert value(queued, "vecinos_deliveries", channel="sms", status="queued") == 2

    twilio.fail_next(1, status=500)  # one transient error, retried later
    counts = services.dispatch()
    assert counts["sent"] == 1 and counts["retry"] == 1, counts
    after = scrape()

    def delta(sample: str, **labels: str) -> float:
        return value(after, sample, **labels) - value(before, sample, **labels)

    assert delta("vecinos_delivery_outcomes_total", channel="sms", outcome="sent") == 1
    assert delta("vecinos_delivery_outcomes_total", channel="sms", outcome="retry") == 1
    assert delta("vecinos_provider_errors_total", channel="sms", kind="transient") == 1
    assert delta("vecinos_provider_latency_seconds_count", channel="sms") == 2
    # The retried one waits for its back-off: queued, but not due, so nothing is late.
    assert value(after, "vecinos_queue_depth", channel="sms") == 1
    assert value(after, "vecinos_queue_oldest_age_seconds", channel="sms") == 0
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == 1

    # Nothing personal in any label: no number, no name, no username, no message text.
    digits = PHONE.lstrip("+")
    for secret in (digits, digits[-7:], "Guadalupe", "Zamarripa", "guadalupe", "Hola"):
        assert secret not in after, secret


def test_an_overdue_delivery_shows_its_age(twilio):
    from datetime import timedelta

    from django.utils import timezone

    delivery = enqueue(PHONE, "metrics:late")
    Delivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=90)
    )
    assert 89 <= value(scrape(), "vecinos_queue_oldest_age_seconds", channel="sms") < 200


def test_a_report_is_counted_by_source_when_committed(django_capture_on_commit_callbacks):
    before = scrape()
    payload = {
        "activity": "checkpoint",
        "agency": "cbp",
        "lat": 34.0412,
        "lng": -118.2134,
        "place_text": "Soto St and 1st St",
        "description": f"{NAME} saw it, call {PHONE}",
        "reporter_contact": PHONE,
        "language": "es",
    }
    client = Client(REMOTE_ADDR="198.51.100.23")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/reports", json.dumps(payload), content_type="application/json"
        )
    assert response.status_code == 201
    after = scrape()
    assert (
        value(after, "vecinos_reports_received_total", source="api")
        - value(before, "vecinos_reports_received_total", source="api")
        == 1
    )
    assert (
        value(after, "vecinos_report_queue_visibility_seconds_count")
        - value(before, "vecinos_report_queue_visibility_seconds_count")
        == 1
    )
    assert value(after, "vecinos_reports_in_queue") == 1
    for secret in (PHONE.lstrip("+"), "Guadalupe", "Soto St"):
        assert secret not in after, secret


def test_refused_webhooks_are_counted_by_provider_and_reason(twilio_webhooks):  # noqa: F811
    before = scrape()
    params = {"From": PHONE, "Body": "STOP", "MessageSid": "SM" + "1" * 32}
    assert signed_post(Client(), "/hooks/twilio/sms", params, signature="bad").status_code == 403
    assert signed_post(Client(), "/hooks/twilio/sms", params, signature=False).status_code == 403
    after = scrape()
    labels = {"provider": "twilio", "reason": "bad_signature"}
    assert (
        value(after, "vecinos_webhook_failures_total", **labels)
        - value(before, "vecinos_webhook_failures_total", **labels)
        == 2
    )
    assert PHONE.lstrip("+") not in after


def test_label_values_that_are_not_plain_names_become_other():
    before = scrape()
    core_metrics.escalation_steps({"+12135550177": 1, "Maria Lopez": 1, "skipped": 5})
    after = scrape()
    assert (
        value(after, "vecinos_escalation_steps_total", action="other")
        - value(before, "vecinos_escalation_steps_total", action="other")
        == 2
    )
    assert "2135550177" not in after and "Maria" not in after
    assert 'action="skipped"' not in after


def test_counts_of_several_processes_add_up():
    """A worker process and this (web) process count into one scrape (multiprocess mode)."""
    assert core_metrics.MULTIPROCESS
    before = value(scrape(), "vecinos_escalation_steps_total", action="voice")
    core_metrics.escalation_steps({"voice": 2})
    code = (
        "import django; django.setup();"
        "from vecinos.core import metrics; assert metrics.MULTIPROCESS;"
        "metrics.escalation_steps({'voice': 3})"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "vecinos.settings",
        "VECINOS_DATA_DIR": str(django_settings.DATA_DIR),
        "PROMETHEUS_MULTIPROC_DIR": str(core_metrics.MULTIPROCESS_DIR),
    }
    subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, check=True, timeout=120)
    after = value(scrape(), "vecinos_escalation_steps_total", action="voice")
    assert after - before == 5


def test_the_grafana_dashboard_reads_only_metrics_that_exist():
    import re

    from prometheus_client import Counter, Histogram

    from vecinos.metrics import DatabaseCollector

    exposed = {family.name for family in DatabaseCollector().collect()}
    for obj in vars(core_metrics).values():
        if isinstance(obj, Counter):
            exposed.add(obj._name + "_total")
        elif isinstance(obj, Histogram):
            exposed.update(obj._name + suffix for suffix in ("_bucket", "_count", "_sum"))
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "vecinos.json").read_text())
    queries = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {name for q in queries for name in re.findall(r"vecinos_[a-z_]+", q)}
    assert len(queries) >= 10 and used
    assert used <= exposed, used - exposed


def test_a_child_process_with_another_data_dir_counts_into_its_own(tmp_path):
    """A test's or a benchmark's `vecinos serve` inherits this process's environment: it must
    neither count into this process's directory nor empty it when it starts."""
    before = value(scrape(), "vecinos_escalation_steps_total", action="sms")
    code = (
        "import django; django.setup();"
        "from vecinos.core import metrics; print(metrics.MULTIPROCESS_DIR);"
        "metrics.escalation_steps({'sms': 4})"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "vecinos.settings"}
    env["VECINOS_DATA_DIR"] = str(tmp_path)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, check=True, timeout=120,
        capture_output=True, text=True,
    )  # fmt: skip
    assert out.stdout.strip() == str(tmp_path / "metrics")
    assert list((tmp_path / "metrics").glob("counter_*.db"))
    assert value(scrape(), "vecinos_escalation_steps_total", action="sms") == before


def test_latencies_noted_together_land_in_the_buckets_observe_would_use():
    # The sender notes each provider latency and writes them bucket by bucket when it records
    # the outcomes: the scrape must show what one observe() per call would have shown.
    seconds = [0.0, 0.001, 0.005, 0.0051, 0.01, 0.3, 0.3, 2.5, 29.0, 31.0, 400.0]
    bounds = {str(b): b for b in core_metrics.LATENCY_BUCKETS} | {"+Inf": float("inf")}

    def read(text: str) -> dict[str, float]:
        sample = "vecinos_provider_latency_seconds"
        got = {le: value(text, f"{sample}_bucket", channel="batchtest", le=le) for le in bounds}
        got["count"] = value(text, f"{sample}_count", channel="batchtest")
        got["sum"] = value(text, f"{sample}_sum", channel="batchtest")
        return got

    before = read(scrape())
    for value_s in seconds:
        core_metrics._latencies.note("batchtest", value_s)
    assert read(scrape()) == before  # nothing written until the flush
    core_metrics.flush_provider_latency()
    after = read(scrape())
    for le, bound in bounds.items():
        assert after[le] - before[le] == sum(1 for s in seconds if s <= bound), le
    assert after["count"] - before["count"] == len(seconds)
    assert after["sum"] - before["sum"] == pytest.approx(sum(seconds))
    core_metrics.flush_provider_latency()  # nothing left to add
    assert read(scrape()) == after
