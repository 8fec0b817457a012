"""The indexes of messaging_delivery: each claim and each outcome writes a new version of a row
into every one of them on PostgreSQL, so there are only as many as the lookups need."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.dbindexes import table_indexes
from vecinos.messaging.models import Delivery

TABLE = Delivery._meta.db_table


def indexed_columns() -> dict[str, tuple[str, ...]]:
    return table_indexes(TABLE)


# On PostgreSQL, the claim order and the providers' ids are in tables of their own
# (messaging.dueset; migration 0009): no index there on a column a claim or an outcome changes.
MOVED_OUT = [
    ("status", "next_attempt_at", "id"),  # claims, in order (messaging_due)
    ("provider_id",),  # the provider's status callbacks (messaging_provider_ref)
]


@pytest.mark.django_db
def test_the_delivery_table_has_one_index_per_lookup():
    columns = sorted(indexed_columns().values())
    expected = [
        ("id",),  # the primary key
        ("idempotency_key",),  # unique: no delivery is enqueued twice
        ("ref_type", "ref_id", "ref_item"),  # a reference's messages, and an item's
        ("contact_id",),  # a contact point's messages (STOP, erasure)
    ]
    if connection.vendor != "postgresql":
        expected += MOVED_OUT
    assert columns == sorted(expected), columns
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            due = connection.introspection.get_constraints(cursor, "messaging_due")
            refs = connection.introspection.get_constraints(cursor, "messaging_provider_ref")
        assert sorted(
            tuple(c["columns"]) for c in due.values() if c["index"] or c["primary_key"]
        ) == [
            ("delivery_id",),
            ("due_at", "delivery_id"),  # claims, in order
            ("due_at", "delivery_id"),  # the rows in flight only (WHERE leased): the sweeper
        ]
        assert [tuple(c["columns"]) for c in refs.values() if c["index"]] == [("provider_id",)]


@pytest.mark.django_db(transaction=True)
def test_the_item_index_comes_back_when_the_migration_is_undone():
    executor = MigrationExecutor(connection)
    executor.migrate([("messaging", "0007_delivery_indexes")])
    before = indexed_columns()
    assert ("ref_item",) in before.values()
    assert ("ref_type", "ref_id") in before.values()
    for columns in MOVED_OUT:
        assert columns in before.values()
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    after = indexed_columns()
    assert ("ref_item",) not in after.values()
    assert ("ref_type", "ref_id", "ref_item") in after.values()
    moved = len(MOVED_OUT) if connection.vendor == "postgresql" else 0
    assert len(after) == len(before) - 1 - moved


def _plan_nodes(plan: dict) -> list[dict]:
    nodes = [plan]
    for child in plan.get("Plans", []):
        nodes += _plan_nodes(child)
    return nodes


def _contacts(count: int) -> list:
    """SMS contact points for a test's deliveries."""
    from vecinos.core.crypto import blind_index
    from vecinos.messaging.models import ContactPoint

    return ContactPoint.objects.bulk_create(
        ContactPoint(
            channel="sms",
            address=f"+1323555{n:04d}",
            address_index=blind_index(f"+1323555{n:04d}", purpose="contact"),
        )
        for n in range(count)
    )


def _enqueue(contacts: list, start: int, count: int) -> None:
    from vecinos.messaging import services

    services.deliveries_insert(
        services.delivery_rows(
            services.DeliverySpec(
                purpose="alert",
                contact=None,
                contact_id=contacts[n % len(contacts)].pk,
                channel="sms",
                body="Operativo confirmado cerca de usted.",
                language="es",
                key=f"plan-test:{n}",
                ref_type="alert",
                ref_id=1,
                ref_item=n,
            )
            for n in range(start, start + count)
        )
    )


@pytest.mark.django_db
def test_a_claim_on_postgresql_reads_the_due_set_in_order_and_deliveries_by_key():
    """A claim reads messaging_due in its index's order and stops at its limit, and finds the
    deliveries it takes by their key, whatever the planner believes. Its estimates are often
    wrong here (a fan-out queues tens of thousands of rows between two ANALYZEs, and most of
    the table is final); with them it chose a bitmap scan that read and sorted every queued
    row, so each claim of 200 cost as much as the queue was long. A planner told that reading
    a table whole is cheap (as a wrong estimate makes it look) reads it whole; the claim's own
    settings leave it the indexes alone."""
    if connection.vendor != "postgresql":
        pytest.skip("the planner in question is PostgreSQL's")
    from datetime import timedelta

    from django.db import transaction
    from django.utils import timezone

    from vecinos.messaging import worker
    from vecinos.messaging.models import DeliveryStatus

    contacts = _contacts(40)
    _enqueue(contacts, 0, 4000)
    Delivery.objects.update(status=DeliveryStatus.SENT)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {TABLE}")  # the statistics: nothing queued
        cursor.execute("ANALYZE messaging_due")
    _enqueue(contacts, 4000, 6000)  # a fan-out they have not seen

    adapt = connection.ops.adapt_datetimefield_value
    now = adapt(timezone.now() + timedelta(seconds=1))
    lease = adapt(timezone.now() + timedelta(seconds=20))
    params = (now, 200, lease, DeliveryStatus.SENDING.value, lease, "t", now)

    def plan(*settings: str) -> list[dict]:
        with transaction.atomic(), connection.cursor() as cursor:
            # Reading a table whole made to look cheap, as a wrong estimate makes it look.
            cursor.execute("SET LOCAL seq_page_cost = 0.001; SET LOCAL random_page_cost = 100")
            for setting in settings:
                cursor.execute(setting)
            cursor.execute(f"EXPLAIN (FORMAT JSON) {worker.pg_claim_sql()}", params)
            (explained,) = cursor.fetchone()
            transaction.set_rollback(True)
        return _plan_nodes(explained[0]["Plan"])

    def reads_a_table_whole(nodes: list[dict]) -> bool:
        return any(
            node.get("Relation Name") in (TABLE, "messaging_due")
            and (node["Node Type"] == "Seq Scan" or node["Node Type"].startswith("Bitmap"))
            for node in nodes
        )

    assert reads_a_table_whole(plan()), "the test no longer provokes the planner"
    nodes = plan(worker.PG_CLAIM_PLAN)
    assert not reads_a_table_whole(nodes), [
        (node["Node Type"], node.get("Relation Name"), node.get("Total Cost")) for node in nodes
    ]
    assert "Sort" not in [node["Node Type"] for node in nodes]
    assert any(
        node["Node Type"] == "Index Scan" and node.get("Index Name") == "messaging_due_at"
        for node in nodes
    )
    # The claim runs its statement under those settings, and takes the 200 longest due.
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ran:
        claimed = worker.claim_batch(200)
    statements = [query["sql"] for query in ran.captured_queries]
    settings_at = statements.index(worker.PG_CLAIM_PLAN)
    assert statements[settings_at + 1].startswith("WITH picked AS"), statements
    first = Delivery.objects.get(ref_type="alert", ref_id=1, ref_item=4000).pk
    assert [d.pk for d in claimed] == list(range(first, first + 200))


@pytest.mark.django_db
def test_an_outcome_on_postgresql_finds_its_rows_by_their_keys():
    """Recording a group of outcomes (one UPDATE joined to the outcomes, sent as one JSON
    parameter) finds each row by its id. The statistics seldom know how many rows are in flight ("sending" lasts
    between two ANALYZEs); believing there were almost none, the planner read every row in
    flight from delivery_due and joined the outcomes to them in a nested loop, building each
    outcome row again for every row in flight: three times the server's time per message.
    (Since migration 0009 PostgreSQL has no delivery_due; the rows must still be found by key.)"""
    if connection.vendor != "postgresql":
        pytest.skip("the planner in question is PostgreSQL's")
    from django.db import transaction
    from django.test.utils import CaptureQueriesContext

    from vecinos.messaging import worker
    from vecinos.messaging.models import DeliveryStatus
    from vecinos.transports.base import SendResult

    contacts = _contacts(40)
    _enqueue(contacts, 0, 3000)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {TABLE}")  # the statistics: nothing in flight
    claimed = [d for _ in range(8) for d in worker.claim_batch(200)]  # 1,600 now in flight
    assert Delivery.objects.filter(status=DeliveryStatus.SENDING).count() == 1600
    group = claimed[:200]
    outcomes = [(d.pk, SendResult(provider_id=f"SM{d.pk:032x}")) for d in group]
    counts: dict[str, int] = {"sent": 0}
    with CaptureQueriesContext(connection) as ran:
        worker._record(outcomes, {d.pk: d for d in group}, counts)
    assert counts["sent"] == 200
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == 200
    (update,) = [q["sql"] for q in ran.captured_queries if q["sql"].startswith("UPDATE")]

    def indexes_read(sql: str) -> list[tuple]:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
            (explained,) = cursor.fetchone()
            transaction.set_rollback(True)
        return [
            (node["Node Type"], node.get("Index Name"), node.get("Index Cond"))
            for node in _plan_nodes(explained[0]["Plan"])
            if node.get("Relation Name") == TABLE and node["Node Type"] != "ModifyTable"
        ]

    read = indexes_read(update)
    assert read and all(name == f"{TABLE}_pkey" for _type, name, _cond in read), read


@pytest.mark.django_db
def test_a_status_callback_on_postgresql_finds_its_row_through_the_provider_ids():
    """A status callback naming no delivery (a message sent before migration 0010, when the
    update trigger listed every provider id) is looked up by its provider id.
    Django's first() added ORDER BY id; on the fan-out benchmark's database (statistics not yet
    taken after a 51,557-message fan-out) that was planned as a walk of the primary key from the
    oldest row until the id matched: 32 ms and 107,000 buffers for the last message's callback.
    The lookup has no order now (one row has a given provider id): its plan is one lookup in
    messaging_provider_ref's index, then the row by its key, with no sort and no other way
    into the table."""
    if connection.vendor != "postgresql":
        pytest.skip("the planner in question is PostgreSQL's")
    from django.test.utils import CaptureQueriesContext

    from vecinos.messaging import services
    from vecinos.messaging.models import DeliveryStatus

    # No statistics yet (as after a big fan-out into a young table): the planner guesses a
    # provider id matches a two-hundredth of the rows.
    _enqueue(_contacts(40), 0, 10000)
    Delivery.objects.update(status=DeliveryStatus.SENT)
    last = Delivery.objects.order_by("-pk").values_list("pk", flat=True)[0]
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET provider_id = 'SM' || lpad(id::text, 32, '0')")
        # Listed, as migration 0009's trigger listed them.
        cursor.execute(f"INSERT INTO messaging_provider_ref SELECT provider_id, id FROM {TABLE}")
    with CaptureQueriesContext(connection) as ran:
        assert services.status_update(provider_id=f"SM{last:032d}", status="delivered")
    assert Delivery.objects.get(pk=last).status == DeliveryStatus.DELIVERED
    lookup = next(q["sql"] for q in ran.captured_queries if q["sql"].startswith("SELECT"))
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {lookup}")
        (explained,) = cursor.fetchone()
    nodes = _plan_nodes(explained[0]["Plan"])
    shown = [(n["Node Type"], n.get("Relation Name"), n.get("Index Name")) for n in nodes]
    assert {n.get("Index Name") for n in nodes} - {None} == {
        "messaging_delivery_pkey",
        "messaging_provider_ref_id",
    }, shown
    assert "Sort" not in [n["Node Type"] for n in nodes], shown
    assert not [n for n in nodes if n["Node Type"] == "Seq Scan"], shown
