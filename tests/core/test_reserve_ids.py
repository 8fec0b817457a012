"""Ids reserved ahead of an insert (a fan-out signs each recipient's link with the id of a row
it writes later): never given to any other row, on both databases, empty table included."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from vecinos.core.bulk import insert_rows, reserve_ids
from vecinos.messaging.models import WebhookSeen

pytestmark = pytest.mark.django_db

TABLE = WebhookSeen._meta.db_table


def _insert(ids: list[int], tag: str) -> None:
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    insert_rows(TABLE, ("id", "key", "seen_at"), [(i, f"{tag}{i}", now) for i in ids])


def test_reserved_ids_are_never_given_to_another_row():
    assert not WebhookSeen.objects.exists()  # the counter starts from an empty table
    first = reserve_ids(TABLE, 5)
    assert len(first) == 5 and len(set(first)) == 5
    assert first == sorted(first)
    # A row inserted the ordinary way meanwhile takes an id after the reservation.
    other = WebhookSeen.objects.create(key="ordinary")
    assert other.pk > max(first)
    second = reserve_ids(TABLE, 3)
    assert min(second) > other.pk
    # The reserved rows go in later with their ids, beside the ordinary one.
    _insert(first, "a")
    _insert(second, "b")
    assert set(WebhookSeen.objects.values_list("pk", flat=True)) == {*first, *second, other.pk}
    assert WebhookSeen.objects.create(key="after").pk > max(second)


def test_a_reservation_follows_rows_already_there():
    rows = [WebhookSeen.objects.create(key=f"k{i}") for i in range(3)]
    taken = reserve_ids(TABLE, 2)
    assert min(taken) > max(r.pk for r in rows)
    assert reserve_ids(TABLE, 0) == []
