"""The ban check before every public report (issue 15: intake). The ban list is nearly always
empty, so after a check found no ban at all, the next ones within NO_BANS_SECONDS skip the query.
A ban made or lifted in this process applies at once; one made elsewhere (another process, no
signal here) within NO_BANS_SECONDS; a ban found is never cached."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from tests.reports.test_report_api import GOOD, post, random_ip
from vecinos.reports import services
from vecinos.reports.models import BannedSource

TABLE = BannedSource._meta.db_table


def insert_elsewhere(key: str) -> None:
    """A ban as another process makes it: a row, and no signal in this process."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (key, reason, created_at) VALUES (%s, '', %s)",  # noqa: S608
            [key, timezone.now()],
        )


def delete_elsewhere(key: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE key = %s", [key])  # noqa: S608


@pytest.fixture(autouse=True)
def _fresh_cache():
    services.forget_no_bans()
    yield
    services.forget_no_bans()


@pytest.mark.django_db
def test_a_ban_made_here_refuses_the_very_next_report():
    ip = random_ip()
    client = Client(REMOTE_ADDR=ip)
    assert post(client, GOOD).status_code == 201  # the list was empty: remembered
    BannedSource.objects.create(key=f"src:{services.source_of(ip)}")
    assert post(client, GOOD).status_code == 429
    assert post(Client(REMOTE_ADDR=random_ip()), GOOD).status_code == 201  # others still pass


@pytest.mark.django_db
def test_a_ban_made_elsewhere_applies_within_the_interval(monkeypatch):
    monkeypatch.setattr(services, "NO_BANS_SECONDS", 0.2)
    ip = random_ip()
    client = Client(REMOTE_ADDR=ip)
    assert post(client, GOOD).status_code == 201
    insert_elsewhere(f"src:{services.source_of(ip)}")
    time.sleep(0.25)
    assert post(client, GOOD).status_code == 429


@pytest.mark.django_db
def test_a_ban_found_is_never_cached():
    ip = random_ip()
    client = Client(REMOTE_ADDR=ip)
    key = f"src:{services.source_of(ip)}"
    insert_elsewhere(key)
    assert post(client, GOOD).status_code == 429
    assert post(client, GOOD).status_code == 429
    delete_elsewhere(key)  # lifted elsewhere: the next report is accepted at once
    assert post(client, GOOD).status_code == 201


@pytest.mark.django_db
def test_an_expired_ban_counts_as_no_ban():
    ip = random_ip()
    BannedSource.objects.create(
        key=f"src:{services.source_of(ip)}", expires_at=timezone.now() - timedelta(days=1)
    )
    assert post(Client(REMOTE_ADDR=ip), GOOD).status_code == 201
