"""The indexes of messaging_delivery: each claim and each outcome writes a new version of a row
into every one of them on PostgreSQL, so there are only as many as the lookups need."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from vecinos.messaging.models import Delivery

TABLE = Delivery._meta.db_table


def indexed_columns() -> dict[str, tuple[str, ...]]:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, TABLE)
    return {
        name: tuple(c["columns"])
        for name, c in found.items()
        if c["index"] or c["unique"] or c["primary_key"]
    }


@pytest.mark.django_db
def test_the_delivery_table_has_one_index_per_lookup():
    columns = sorted(indexed_columns().values())
    assert columns == sorted(
        [
            ("id",),  # the primary key
            ("idempotency_key",),  # unique: no delivery is enqueued twice
            ("status", "next_attempt_at", "id"),  # claims, in order
            ("ref_type", "ref_id", "ref_item"),  # a reference's messages, and an item's
            ("provider_id",),  # the provider's status callbacks
            ("contact_id",),  # a contact point's messages (STOP, erasure)
        ]
    ), columns


@pytest.mark.django_db(transaction=True)
def test_the_item_index_comes_back_when_the_migration_is_undone():
    executor = MigrationExecutor(connection)
    executor.migrate([("messaging", "0007_delivery_indexes")])
    before = indexed_columns()
    assert ("ref_item",) in before.values()
    assert ("ref_type", "ref_id") in before.values()
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    after = indexed_columns()
    assert ("ref_item",) not in after.values()
    assert ("ref_type", "ref_id", "ref_item") in after.values()
    assert len(after) == len(before) - 1
