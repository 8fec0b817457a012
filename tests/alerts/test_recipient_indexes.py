"""The indexes of alerts_alertrecipient: a fan-out writes one row per person, and every index
one entry per row, so the indexes are as few as the lookups need, and the two that only some
rows need (an escalation step, a phone-tree captain) hold only those rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from vecinos.alerts.models import Alert, AlertRecipient, Subscriber
from vecinos.network.models import Member

TABLE = AlertRecipient._meta.db_table


def indexes() -> dict[str, dict]:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, TABLE)
    return {n: c for n, c in found.items() if c["index"] or c["unique"] or c["primary_key"]}


@pytest.mark.django_db
def test_the_recipient_table_has_one_index_per_lookup():
    columns = sorted(tuple(c["columns"]) for c in indexes().values())
    assert columns == sorted(
        [
            ("id",),
            ("alert_id", "subscriber_id"),  # unique; also every lookup by alert
            ("subscriber_id",),  # a person's alerts (throttle, erasure)
            ("next_step_at",),  # due escalation steps: rows with a step only
            ("captain_id",),  # a captain's calls: rows with a captain only
        ]
    ), columns


@pytest.mark.django_db
def test_the_escalation_and_captain_lookups_use_the_partial_indexes():
    member = Member.objects.create(username="captain-idx")
    alert = Alert.objects.create(
        kind=Alert.Kind.SIGHTING,
        status=Alert.Status.SENT,
        expires_at=timezone.now() + timedelta(hours=2),
    )
    now = timezone.now()
    subs = Subscriber.objects.bulk_create(Subscriber(phone_index=f"i{n}") for n in range(40))
    AlertRecipient.objects.bulk_create(
        AlertRecipient(
            alert=alert,
            subscriber=s,
            tier="public",
            language="es",
            next_step_at=now - timedelta(minutes=1) if n < 3 else None,
            captain=member if n in (5, 6) else None,
        )
        for n, s in enumerate(subs)
    )
    # The escalation's own filter (escalate_due) and the captain's list: each by its index.
    due = AlertRecipient.objects.filter(next_step_at__lte=now, acknowledged_at__isnull=True)
    mine = AlertRecipient.objects.filter(captain=member)
    by_alert = AlertRecipient.objects.filter(alert=alert)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A table this small would be read whole; the question is which index serves.
            cursor.execute("SET LOCAL enable_seqscan = off")
        assert "recipient_next_step" in due.explain()
        assert "recipient_captain" in mine.explain()
        assert "one_recipient_per_alert" in by_alert.explain() or (
            "sqlite_autoindex" in by_alert.explain()  # SQLite names a unique constraint's index so
        )
    assert due.count() == 3
    assert mine.count() == 2
    assert by_alert.count() == 40


@pytest.mark.django_db
def test_the_partial_indexes_are_partial():
    found = indexes()
    for name, column in (
        ("recipient_next_step", "next_step_at"),
        ("recipient_captain", "captain_id"),
    ):
        assert name in found, sorted(found)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT pg_get_indexdef(%s::regclass)", [name])
            else:
                cursor.execute("SELECT sql FROM sqlite_master WHERE name = %s", [name])
            definition = cursor.fetchone()[0]
        assert "WHERE" in definition and column in definition.split("WHERE", 1)[1], definition


@pytest.mark.django_db(transaction=True)
def test_undoing_the_migration_brings_the_plain_indexes_back():
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate([("alerts", "0014_hotline_short_lines")])
    before = {tuple(c["columns"]): c for c in indexes().values()}
    for column in ("alert_id", "captain_id", "next_step_at"):
        assert (column,) in before, sorted(before)
    assert "recipient_next_step" not in indexes()
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    after = indexes()
    assert ("alert_id",) not in {tuple(c["columns"]) for c in after.values()}
    assert {"recipient_next_step", "recipient_captain"} <= set(after)
    assert len(after) == len(before) - 1  # three plain indexes out, two partial ones in
