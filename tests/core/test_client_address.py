"""The client's address behind trusted reverse proxies (VECINOS_TRUSTED_PROXIES).

Rate limits and bans key on it: behind a proxy REMOTE_ADDR is the same for everyone, so one
flooder must not limit every neighbor, and a forged X-Forwarded-For must not escape a limit.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import subprocess
import sys
from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client, RequestFactory
from django.urls import reverse

from vecinos.alerts import views_subscribe as alert_views
from vecinos.core.clientip import client_address, parse_address
from vecinos.core.env import ConfigError, env_networks
from vecinos.reports.models import Report

REPORTS = "/api/v1/reports"
PROXY = "192.0.2.10"  # the reverse proxy in front of Vecinos (TEST-NET-1)
GOOD = {"activity": "checkpoint", "lat": 34.0412, "lng": -118.2134, "place_text": "Soto St"}


def networks(*items: str):
    return tuple(ipaddress.ip_network(item) for item in items)


def address_of(settings, remote: str, forwarded: str | None = None, *trusted: str) -> str:
    settings.TRUSTED_PROXIES = networks(*trusted)
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_address(RequestFactory().get("/", **meta))


def random_public_ip() -> str:
    # Rate-limit counters may live in Redis and outlive the test's transaction.
    return "198.51.{}.{}".format(*(secrets.randbelow(254) + 1 for _ in range(2)))


# --- The algorithm -------------------------------------------------------------------------------


def test_without_trusted_proxies_remote_addr_is_the_client(settings):
    assert address_of(settings, "203.0.113.7") == "203.0.113.7"
    assert address_of(settings, "203.0.113.7", "198.51.100.1") == "203.0.113.7"


def test_untrusted_remote_addr_ignores_forwarded_for(settings):
    assert address_of(settings, "203.0.113.7", "198.51.100.1", PROXY) == "203.0.113.7"


def test_trusted_proxy_hands_over_the_address_it_saw(settings):
    assert address_of(settings, PROXY, "203.0.113.7", PROXY) == "203.0.113.7"


def test_forged_leftmost_entries_are_never_believed(settings):
    # The client sent "1.1.1.1, 10.0.0.1"; the proxy appended the address it really saw.
    forged = "1.1.1.1, 10.0.0.1, 203.0.113.7"
    assert address_of(settings, PROXY, forged, PROXY, "10.0.0.0/8") == "203.0.113.7"


def test_multiple_trusted_hops_are_skipped_from_the_right(settings):
    # client -> CDN edge (10.1.2.3) -> load balancer (10.9.9.9) -> Caddy (127.0.0.1) -> app
    chain = "203.0.113.7, 10.1.2.3, 10.9.9.9"
    assert address_of(settings, "127.0.0.1", chain, "127.0.0.1", "10.0.0.0/8") == "203.0.113.7"
    # The CDN hop not trusted: it is the client as far as we can tell.
    assert address_of(settings, "127.0.0.1", chain, "127.0.0.1", "10.9.0.0/16") == "10.1.2.3"


def test_cidr_membership_decides_trust(settings):
    assert address_of(settings, "10.20.30.40", "203.0.113.7", "10.0.0.0/8") == "203.0.113.7"
    assert address_of(settings, "11.0.0.1", "203.0.113.7", "10.0.0.0/8") == "11.0.0.1"


def test_ipv6_proxies_and_clients(settings):
    assert address_of(settings, "::1", "2001:db8::7", "::1") == "2001:db8::7"
    assert address_of(settings, "fd00::5", "[2001:db8::7]:443", "fd00::/8") == "2001:db8::7"
    # Both spellings of one address are one client.
    assert address_of(settings, "::1", "2001:DB8:0:0::7", "::1") == "2001:db8::7"
    # A dual-stack socket reports IPv4 as IPv4-mapped IPv6; it still matches an IPv4 network.
    assert address_of(settings, "::ffff:127.0.0.1", "203.0.113.7", "127.0.0.1") == "203.0.113.7"
    assert address_of(settings, "2001:db8::9", "203.0.113.7", "10.0.0.0/8") == "2001:db8::9"


def test_ports_are_stripped(settings):
    assert address_of(settings, PROXY, "203.0.113.7:51234", PROXY) == "203.0.113.7"


@pytest.mark.parametrize(
    "header",
    ["", "   ", "unknown", "203.0.113.7, garbage", "203.0.113.7,", "999.1.1.1", "[2001:db8::7"],
)
def test_missing_or_malformed_header_falls_back_to_remote_addr(settings, header):
    assert address_of(settings, PROXY, header, PROXY) == PROXY


def test_garbage_left_of_the_client_does_not_matter(settings):
    assert address_of(settings, PROXY, "<script>, 203.0.113.7", PROXY) == "203.0.113.7"


def test_every_hop_trusted_uses_the_furthest(settings):
    assert address_of(settings, PROXY, "10.0.0.5, 10.0.0.6", PROXY, "10.0.0.0/8") == "10.0.0.5"


def test_endless_trusted_chain_is_not_walked_forever(settings):
    header = ", ".join(["10.0.0.5"] * 100)
    assert address_of(settings, PROXY, header, PROXY, "10.0.0.0/8") == PROXY


def test_missing_remote_addr_stays_empty(settings):
    settings.TRUSTED_PROXIES = networks(PROXY)
    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR="203.0.113.7")
    request.META.pop("REMOTE_ADDR", None)
    assert client_address(request) == ""


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("1.2.3.4", "1.2.3.4"),
        (" 1.2.3.4:80 ", "1.2.3.4"),
        ("[::1]", "::1"),
        ("[::1]:8080", "::1"),
        ("::ffff:1.2.3.4", "1.2.3.4"),
        ("1.2.3.4:port", None),
        ("[::1]x", None),
        ("fe80::1%eth0", None),
        ("", None),
    ],
)
def test_parse_address(raw, parsed):
    result = parse_address(raw)
    assert (str(result) if result is not None else None) == parsed


# --- The setting ---------------------------------------------------------------------------------


def test_env_networks_reads_addresses_and_cidrs(monkeypatch):
    monkeypatch.setenv("VECINOS_NETS", "127.0.0.1, 10.0.0.0/8,,::1, fd00::/8")
    assert env_networks("VECINOS_NETS") == networks("127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8")
    monkeypatch.delenv("VECINOS_NETS")
    assert env_networks("VECINOS_NETS") == ()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("10.0.0.0/8,proxy.local", "'proxy.local' is not one"),
        ("10.0.0.1/8", "'10.0.0.1/8' is not one"),  # host bits set: meant 10.0.0.0/8?
        ("10.0.0.0/33", "is not one"),
        ("0.0.0.0/0", "must not trust every address"),
        ("::/0", "must not trust every address"),
    ],
)
def test_env_networks_refuses_bad_entries(monkeypatch, value, message):
    monkeypatch.setenv("VECINOS_NETS", value)
    with pytest.raises(ConfigError, match=message):
        env_networks("VECINOS_NETS")


def test_bad_trusted_proxies_stop_the_server_with_a_clear_message(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "vecinos.cli", "check"],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **os.environ,
            "VECINOS_TRUSTED_PROXIES": "127.0.0.1,caddy",
            "VECINOS_DATA_DIR": str(tmp_path),
        },
    )
    assert result.returncode == 2
    assert "VECINOS_TRUSTED_PROXIES must be a comma-separated list" in result.stderr
    assert "'caddy' is not one" in result.stderr


# --- Through the real entry points ---------------------------------------------------------------


def post_report(client: Client, forwarded: str | None = None):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return client.post(REPORTS, json.dumps(GOOD), content_type="application/json", **extra)


@pytest.mark.django_db
def test_clients_behind_one_proxy_are_limited_separately(settings):
    settings.TRUSTED_PROXIES = networks(PROXY)
    settings.REPORT_RATE_LIMIT = 2
    proxy = Client(REMOTE_ADDR=PROXY)
    flooder, neighbor = random_public_ip(), random_public_ip()
    with time_machine.travel(datetime(2025, 6, 10, 19, 1, tzinfo=UTC), tick=False):
        for _ in range(2):
            assert post_report(proxy, flooder).status_code == 201
        assert post_report(proxy, flooder).status_code == 429
        # Forging entries to the left of what the proxy appended does not help the flooder.
        assert post_report(proxy, f"{random_public_ip()}, {flooder}").status_code == 429
        assert post_report(proxy, neighbor).status_code == 201
    assert Report.objects.count() == 3


@pytest.mark.django_db
def test_forged_forwarded_for_from_an_untrusted_address_does_not_escape_the_limit(settings):
    settings.TRUSTED_PROXIES = networks(PROXY)
    settings.REPORT_RATE_LIMIT = 2
    direct = Client(REMOTE_ADDR=random_public_ip())
    with time_machine.travel(datetime(2025, 6, 10, 19, 1, tzinfo=UTC), tick=False):
        for _ in range(2):
            assert post_report(direct, random_public_ip()).status_code == 201
        assert post_report(direct, random_public_ip()).status_code == 429
        assert post_report(direct, PROXY).status_code == 429
    assert Report.objects.count() == 2


@pytest.mark.django_db
def test_web_form_limits_clients_behind_the_proxy_separately(settings):
    settings.TRUSTED_PROXIES = networks(PROXY)
    settings.REPORT_RATE_LIMIT = 1
    proxy = Client(REMOTE_ADDR=PROXY)
    form = {"activity": "checkpoint", "lat": "34.0412", "lng": "-118.2134", "place_text": "Soto"}
    flooder, neighbor = random_public_ip(), random_public_ip()
    with time_machine.travel(datetime(2025, 6, 10, 19, 1, tzinfo=UTC), tick=False):
        assert proxy.post("/report/", form, HTTP_X_FORWARDED_FOR=flooder).status_code == 302
        assert proxy.post("/report/", form, HTTP_X_FORWARDED_FOR=flooder).status_code == 429
        assert proxy.post("/report/", form, HTTP_X_FORWARDED_FOR=neighbor).status_code == 302


@pytest.mark.django_db
def test_subscribe_limit_keys_on_the_client_behind_the_proxy(settings, monkeypatch):
    settings.TRUSTED_PROXIES = networks(PROXY)
    monkeypatch.setattr(alert_views, "SUBSCRIBE_LIMIT", 1)
    proxy = Client(REMOTE_ADDR=PROXY)
    flooder, neighbor = random_public_ip(), random_public_ip()
    url = reverse("subscribe")
    with time_machine.travel(datetime(2025, 6, 10, 19, 1, tzinfo=UTC), tick=False):
        assert proxy.post(url, {}, HTTP_X_FORWARDED_FOR=flooder).status_code == 200
        assert proxy.post(url, {}, HTTP_X_FORWARDED_FOR=flooder).status_code == 429
        assert proxy.post(url, {}, HTTP_X_FORWARDED_FOR=neighbor).status_code == 200


@pytest.mark.django_db
def test_an_ipv6_client_cannot_hop_addresses_within_its_64_to_escape_the_limit(settings):
    settings.REPORT_RATE_LIMIT = 2
    block = f"2001:db8:{secrets.randbelow(0xFFFF):x}:{secrets.randbelow(0xFFFF):x}"
    with time_machine.travel(datetime(2025, 6, 10, 19, 1, tzinfo=UTC), tick=False):
        for host in ("::1", "::2"):
            assert post_report(Client(REMOTE_ADDR=f"{block}{host}")).status_code == 201
        # A third address in the same /64 (one phone's or one household's block): limited.
        assert post_report(Client(REMOTE_ADDR=f"{block}::beef")).status_code == 429
        # Another block is somebody else.
        assert post_report(Client(REMOTE_ADDR="2001:db8:ffff:1::1")).status_code == 201
