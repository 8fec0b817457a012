"""PostgreSQL keeps the deliveries waiting or in flight in messaging_due, by triggers (migration
0009), so that a claim and an outcome are heap-only updates of messaging_delivery; the providers'
ids it lists in messaging_provider_ref only where a receipt names nothing else (migration 0010).
These tests hold the triggers to every way a row moves, and the claim to the due set."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from vecinos.messaging import dueset, services, worker
from vecinos.messaging.models import Delivery, DeliveryStatus
from vecinos.transports import registry
from vecinos.transports.base import SendResult, Transport, TransportError


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("the due set is PostgreSQL's (SQLite keeps its indexes)")


def due() -> dict[int, object]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT delivery_id, due_at FROM messaging_due")
        return dict(cursor.fetchall())


def provider_refs() -> set[tuple[str, int]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT provider_id, delivery_id FROM messaging_provider_ref")
        return set(cursor.fetchall())


def enqueue(count: int, prefix: str = "due") -> list[Delivery]:
    contacts = [
        services.contact_point(channel="sms", address=f"+1213555{n:04d}") for n in range(count)
    ]
    services.deliveries_enqueue(
        [
            services.DeliverySpec(
                purpose="test", contact=c, body="hola", language="es", key=f"{prefix}-{n}"
            )
            for n, c in enumerate(contacts)
        ]
    )
    return list(Delivery.objects.filter(idempotency_key__startswith=prefix).order_by("pk"))


def record(claimed, outcome_of) -> dict[str, int]:
    counts = {"sent": 0, "failed": 0, "retry": 0, "released": 0, "expired": 0, "withdrawn": 0}
    worker._record([(d.pk, outcome_of(d)) for d in claimed], {d.pk: d for d in claimed}, counts)
    return counts


@pytest.mark.django_db
def test_each_move_of_a_delivery_keeps_its_due_entry():
    rows = enqueue(3)
    assert due() == {d.pk: d.next_attempt_at for d in rows}  # queued: due at its next attempt

    claimed = worker.claim_batch(10)
    assert sorted(d.pk for d in claimed) == [d.pk for d in rows]
    assert set(due().values()) == {claimed[0].lease_until}  # in flight: due at its lease end

    a, b, c = sorted(claimed, key=lambda d: d.pk)
    counts = record(
        [a, b],
        lambda d: SendResult(provider_id=f"SM{d.pk}") if d is a else TransportError("503"),
    )
    assert counts["sent"] == 1 and counts["retry"] == 1
    entries = due()
    assert a.pk not in entries  # sent: neither waiting nor in flight
    b_row = Delivery.objects.get(pk=b.pk)
    assert b_row.status == DeliveryStatus.QUEUED and entries[b.pk] == b_row.next_attempt_at
    # Not listed: Twilio's callbacks name their delivery (the test's SMS transport is the console).
    assert provider_refs() == set()

    # A lease renewed (the heartbeat) moves the entry; one cut short makes the row due now.
    later = timezone.now() + timedelta(seconds=90)
    Delivery.objects.filter(pk=c.pk).update(lease_until=later)
    assert due()[c.pk] == later

    # Cancelled by its owner, and a callback's status: out of the due set, ids kept.
    Delivery.objects.filter(pk=b.pk).update(status=DeliveryStatus.CANCELLED)
    assert b.pk not in due()
    assert services.status_update(provider_id=f"SM{a.pk}", status="delivered", delivery_id=a.pk)
    assert Delivery.objects.get(pk=a.pk).status == DeliveryStatus.DELIVERED

    # Listed (a transport whose receipts name its id alone), then deleted (erasure): its
    # entries go with it.
    with connection.cursor() as cursor:
        dueset.list_provider_ids(cursor, [a.pk])
        dueset.list_provider_ids(cursor, [a.pk])  # once only
    assert provider_refs() == {(f"SM{a.pk}", a.pk)}
    Delivery.objects.filter(pk__in=[a.pk, c.pk]).delete()
    assert due() == {} and provider_refs() == set()


@pytest.mark.django_db
def test_a_lease_that_ended_is_taken_over_with_its_outcome_unknown():
    (row,) = enqueue(1)
    (first,) = worker.claim_batch(10)
    assert worker.claim_batch(10) == []  # held: not due again before its lease ends
    Delivery.objects.filter(pk=row.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    (again,) = worker.claim_batch(10)
    assert again.pk == row.pk and again.attempts == first.attempts + 1
    assert again.outcome_unknown  # the first holder may have handed it over: look first
    # The first holder's late outcome no longer matches the claim.
    record([first], lambda d: SendResult(provider_id="SMlate"))
    assert Delivery.objects.get(pk=row.pk).provider_id == ""


@pytest.mark.django_db
def test_the_sweeper_reads_only_the_rows_in_flight():
    """During a fan-out every queued row is due; the sweeper and a dead worker's rows must
    not read them all every few seconds, only the entries in flight."""
    from vecinos.messaging import dueset, leases

    rows = enqueue(3000)
    held = worker.claim_batch(5)
    assert len(held) == 5 and sum(1 for d in rows if d.pk in {h.pk for h in held}) == 5
    ended = held[0].pk
    Delivery.objects.filter(pk=ended).update(lease_until=timezone.now() - timedelta(seconds=1))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE messaging_due")

    def index_read(queryset) -> set[str]:
        sql, params = queryset.values("id").query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            (explained,) = cursor.fetchone()
        return {
            f"{kind} {index}"
            for kind, table, index, _cond in plan_nodes(explained)
            if table == "messaging_due" or "messaging_due" in str(index)
        }

    now = timezone.now()
    read = index_read(dueset.lease_ended(Delivery.objects.all(), now))
    assert read, "the plan reads messaging_due nowhere"
    assert read <= {
        "Index Scan messaging_due_leased",
        "Index Only Scan messaging_due_leased",
        "Bitmap Index Scan messaging_due_leased",
        "Bitmap Heap Scan None",
    }, read
    assert dueset.in_flight(Delivery.objects.all()).count() == 5
    assert leases.sweep() == 1  # the one whose lease ended, none of the 2,995 queued
    row = Delivery.objects.get(pk=ended)
    assert row.status == DeliveryStatus.QUEUED and row.outcome_unknown
    assert dueset.in_flight(Delivery.objects.all()).count() == 4


def plan_nodes(explained) -> list[tuple[str, str | None, str | None, str | None]]:
    """Every node of an EXPLAIN (FORMAT JSON): (node type, relation, index, index condition)."""
    found, nodes = [], [explained[0]["Plan"]]
    while nodes:
        node = nodes.pop()
        nodes += node.get("Plans", [])
        found.append(
            (
                node["Node Type"],
                node.get("Relation Name"),
                node.get("Index Name"),
                node.get("Index Cond"),
            )
        )
    return found


@pytest.mark.django_db
def test_the_sweeper_never_reads_every_message_ever_sent(monkeypatch):
    """The sweeper's three questions (leases that ended, the owners of rows in flight, any
    queued row due) run every few seconds on every worker, and /metrics counts the open rows
    at every scrape. Each must look up the deliveries it names by key, never read the
    delivery table, which keeps every message sent. With most rows sent and few in flight
    (so the statistics call "sending" rare), "id IN (SELECT ...)" was planned as a scan of
    the whole table: 9-45 ms each, every few seconds during a fan-out, and longer as the
    history grows."""
    from django.test.utils import CaptureQueriesContext

    from vecinos.messaging import dueset, leases
    from vecinos.metrics import DatabaseCollector

    monkeypatch.setattr(leases, "kick", lambda *args, **kwargs: None)
    monkeypatch.setattr(services, "kick", lambda *args, **kwargs: None)
    enqueue(2400, prefix="old")
    while claimed := worker.claim_batch(200):
        record(claimed, lambda d: SendResult(provider_id=f"SM{d.pk}"))
    with connection.cursor() as cursor:  # the last ANALYZE saw no row in flight
        cursor.execute("ANALYZE messaging_delivery")
    enqueue(600, prefix="new")
    held = worker.claim_batch(200)
    assert len(held) == 200
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE messaging_due")
    # The queries as the sweeper and /metrics send them, planned as they would run.
    with CaptureQueriesContext(connection) as sent:
        assert leases.sweep() == 0
        families = {f.name: f for f in DatabaseCollector()._families()}
    asked = [q["sql"] for q in sent.captured_queries if '"messaging_delivery"' in q["sql"]]
    assert len(asked) == 4, asked  # leases ended, owners in flight, any due, the open rows
    for sql in asked:
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
            (explained,) = cursor.fetchone()
        read = {(kind, index, cond) for kind, table, index, cond in plan_nodes(explained)
                if table == "messaging_delivery" and kind != "ModifyTable"}  # fmt: skip
        # Each id looked up (a merge join walks the whole primary key, without a condition).
        assert read == {("Index Scan", "messaging_delivery_pkey", "(id = ANY ($0))")}, (sql, read)
    counted = {s.labels["status"]: s.value for s in families["vecinos_deliveries"].samples
               if s.labels["channel"] == "sms"}  # fmt: skip
    assert counted == {"queued": 400, "sending": 200}
    now = timezone.now()
    everything = Delivery.objects.all()
    assert dueset.first_due(everything, now).filter(status=DeliveryStatus.QUEUED).exists()
    # Nothing queued and due (all in flight or sent): the window says so too.
    Delivery.objects.filter(status=DeliveryStatus.QUEUED).update(
        next_attempt_at=now + timedelta(hours=1)
    )
    assert not dueset.first_due(everything, now).filter(status=DeliveryStatus.QUEUED).exists()


@pytest.mark.django_db
def test_entries_left_behind_by_a_path_around_the_triggers_hide_nothing():
    """Entries whose delivery is gone (written with the triggers off, as replication in
    replica mode does) must not fill every claim: the one due row behind them goes out."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO messaging_due (delivery_id, due_at) "
            "SELECT -n, now() - interval '1 hour' FROM generate_series(1, 450) AS n"
        )
        # Not due yet: left until it is (an empty claim reads only the entries due now).
        cursor.execute("INSERT INTO messaging_due VALUES (-1000, now() + interval '1 hour')")
    (row,) = enqueue(1)
    claimed = worker.claim_batch(200)
    assert [d.pk for d in claimed] == [row.pk]
    assert set(due()) == {row.pk, -1000}


@pytest.mark.django_db(transaction=True)
def test_truncating_the_deliveries_empties_both_tables():
    """Django's flush between transactional tests truncates the tables it knows."""
    (row,) = enqueue(1)  # (sent at once: the wake-up runs in this process)
    later = timezone.now() + timedelta(hours=1)
    Delivery.objects.filter(pk=row.pk).update(
        provider_id="SMx", status=DeliveryStatus.QUEUED, next_attempt_at=later
    )
    with connection.cursor() as cursor:
        dueset.list_provider_ids(cursor, [row.pk])
    assert due() == {row.pk: later} and (("SMx", row.pk) in provider_refs())
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE messaging_delivery")
    assert due() == {} and provider_refs() == set()


@pytest.mark.django_db(transaction=True)
def test_a_claim_and_an_outcome_write_no_index_entry(monkeypatch):
    """Heap-only updates: claiming 400 messages adds almost no entry to the delivery table's
    indexes (half of each page is kept free for it), and recording them adds none either where
    the page has room again (the claim's old versions pruned: 93-94% of all updates in the
    fan-out benchmark; here other connections' snapshots may keep some alive). With status or
    provider_id indexed, no update is heap-only."""
    from vecinos.messaging import leases

    # Claimed here, not by a worker woken on commit.
    monkeypatch.setattr(leases, "kick", lambda *args, **kwargs: None)
    monkeypatch.setattr(services, "kick", lambda *args, **kwargs: None)

    def counters() -> tuple[int, int]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_force_next_flush()")
        with connection.cursor() as cursor:  # a new transaction: the flushed counters
            cursor.execute(
                "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables "
                "WHERE relname = 'messaging_delivery'"
            )
            return cursor.fetchone()

    enqueue(400, prefix="hot")
    start = counters()
    claimed = worker.claim_batch(200) + worker.claim_batch(200)
    assert len(claimed) == 400
    after_claims = counters()
    for first in range(0, 400, 100):
        record(claimed[first : first + 100], lambda d: SendResult(provider_id=f"SM{d.pk:032d}"))
    after_records = counters()
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == 400
    claims = (after_claims[0] - start[0], after_claims[1] - start[1])
    records = (after_records[0] - after_claims[0], after_records[1] - after_claims[1])
    # Nearly every claim (352 of 400 here: a claimed version carries its lease and owner, so
    # the free half of a page holds most, not all, of its rows' new versions).
    assert claims[0] == 400 and claims[1] >= 300, claims
    assert records[0] == 400 and records[1] > 0, records


@pytest.mark.django_db
def test_messages_that_failed_for_good_are_found_from_their_own_list():
    """The minute auditor looks for the few messages of a live alert that failed for good.
    With no index on status, a plan driven by that rare status read every message of the
    alert for each recipient: over a 50,000-message fan-out it ran for minutes (15 ms with the
    list). The list follows each row in and out of failure, and the query reads it."""
    from vecinos.messaging import selectors

    rows = enqueue(30, prefix="fail")
    Delivery.objects.filter(pk__in=[d.pk for d in rows]).update(
        ref_type="alert", ref_id=7, status=DeliveryStatus.SENT
    )
    for n, d in enumerate(rows):
        Delivery.objects.filter(pk=d.pk).update(ref_item=n)
    failed = [rows[3].pk, rows[11].pk]
    Delivery.objects.filter(pk=failed[0]).update(status=DeliveryStatus.FAILED)
    Delivery.objects.filter(pk=failed[1]).update(status=DeliveryStatus.UNDELIVERED)
    with connection.cursor() as cursor:
        cursor.execute("SELECT delivery_id FROM messaging_failed")
        assert sorted(r[0] for r in cursor.fetchall()) == sorted(failed)

    items = Delivery.objects.filter(ref_type="alert", ref_id=7).filter(
        selectors.item_failed_for_good("alert", ref_field="ref_id", item_field="ref_item")
    )
    assert sorted(items.values_list("ref_item", flat=True)) == [3, 11]
    sql, params = items.values("id").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        (explained,) = cursor.fetchone()
    assert '"messaging_failed"' in str(explained).replace("'", '"'), explained

    # Out of failure (a late callback), and deleted: off the list.
    Delivery.objects.filter(pk=failed[1]).update(status=DeliveryStatus.DELIVERED)
    Delivery.objects.filter(pk=failed[0]).delete()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM messaging_failed")
        assert cursor.fetchone()[0] == 0


@pytest.mark.django_db
def test_an_open_delivery_written_around_the_triggers_is_put_back_when_a_worker_starts():
    """A data-only restore or replica mode writes deliveries with the triggers off; a queued
    one missing from the due set would never be sent. `vecinos worker` puts such rows back
    as it starts (dueset.restore_missing)."""
    from vecinos.messaging import dueset

    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
    try:
        (row,) = enqueue(1, prefix="restored")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = DEFAULT")
    assert row.pk not in due()
    assert worker.claim_batch(10) == []  # invisible to claims
    assert dueset.restore_missing() == 1
    assert dueset.restore_missing() == 0  # once
    assert [d.pk for d in worker.claim_batch(10)] == [row.pk]


class ReceiptsByIdTransport(Transport):
    """A transport whose receipts name the provider's id alone (as the Android gateway's)."""

    channel = "sms"
    receipts_by_provider_id = True


@pytest.mark.django_db
def test_the_worker_lists_the_ids_of_a_transport_found_by_them_alone(settings):
    """Since migration 0010 the update trigger lists no provider id; the worker lists those a
    receipt will name alone, and the receipt finds its row by them."""
    settings.TRANSPORTS = {
        **settings.TRANSPORTS,
        "sms": {"path": f"{__name__}.ReceiptsByIdTransport"},
    }
    registry.reset()
    try:
        enqueue(2, "gw")
        a, b = sorted(worker.claim_batch(10), key=lambda d: d.pk)
        record([a, b], lambda d: SendResult(provider_id=f"gw-{d.pk}"))
        assert provider_refs() == {(f"gw-{a.pk}", a.pk), (f"gw-{b.pk}", b.pk)}
        moved = services.receipt_update(
            channel="sms", provider_id=f"gw-{a.pk}", status="delivered", source="android"
        )
        assert moved == 1
        assert Delivery.objects.get(pk=a.pk).status == DeliveryStatus.DELIVERED
        assert Delivery.objects.get(pk=b.pk).status == DeliveryStatus.SENT
    finally:
        registry.reset()
