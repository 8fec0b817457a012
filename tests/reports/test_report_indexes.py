"""The indexes of reports_report (issue 15: intake). Every public report writes every one of
them, so there are only as many as the lookups need, and the ones on a column a new report
leaves empty hold only the rows that have a value (partial)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.dbindexes import table_indexes
from vecinos.reports.models import Incident, Report
from vecinos.reports.services import ReportInput, report_submit

TABLE = Report._meta.db_table
PARTIAL = ("incident_id", "zone_id", "reporter_member_id", "triaged_by_id")


def indexes() -> dict[str, tuple[str, ...]]:
    return table_indexes(TABLE)


def rows_in_index(name: str) -> int:
    """How many entries an index holds (SQLite: its b-tree, counted through the index)."""
    column = indexes()[name][0]
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT COUNT(*) FROM "{TABLE}" INDEXED BY "{name}" WHERE "{column}" > 0')
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_one_index_per_lookup_and_the_sparse_ones_partial():
    found = indexes()
    single = sorted(columns for columns in found.values() if len(columns) == 1)
    # PostgreSQL adds a LIKE (pattern) index beside a unique CharField: receipt's.
    receipts = 2 if connection.vendor == "postgresql" else 1
    assert single == sorted(
        [("id",), ("created_at",), *([("receipt",)] * receipts), *((c,) for c in PARTIAL)]
    ), single
    for dropped in ("cell7", "source_key", "flood_group", "reporter_index"):
        assert (dropped,) not in found.values()
    # The composite indexes that took over cell7's and source_key's lookups are there.
    assert ("source_key", "created_at") in found.values()
    assert ("cell7", "created_at") in found.values()
    for column in PARTIAL:
        name = f"report_{column.removesuffix('_id')}"
        assert found[name] == (column,)


@pytest.mark.django_db
@pytest.mark.skipif("connection.vendor != 'sqlite'")
def test_a_new_report_enters_no_partial_index_until_it_has_an_incident():
    report = report_submit(
        data=ReportInput(
            channel="api", activity="street", lat=34.05, lng=-118.25, description="Two vans"
        )
    )
    assert rows_in_index("report_incident") == 0
    assert rows_in_index("report_triaged_by") == 0
    incident = Incident.objects.create(activity=report.activity)
    Report.objects.filter(pk=report.pk).update(incident=incident)
    assert rows_in_index("report_incident") == 1
    # A lookup by incident reads the partial index (x = ? implies x IS NOT NULL).
    with connection.cursor() as cursor:
        cursor.execute(
            f'EXPLAIN QUERY PLAN SELECT id FROM "{TABLE}" WHERE incident_id IN (%s, %s)',
            [incident.pk, incident.pk + 1],
        )
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    assert "report_incident" in plan, plan
    assert list(Report.objects.filter(incident=incident)) == [report]


@pytest.mark.django_db(transaction=True)
def test_the_dropped_indexes_come_back_when_the_migration_is_undone():
    executor = MigrationExecutor(connection)
    executor.migrate([("reports", "0006_console_presence_and_pages")])
    before = indexes()
    for column in ("cell7", "source_key", "flood_group", "reporter_index", *PARTIAL):
        assert (column,) in before.values(), column
    assert "report_incident" not in before
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    after = indexes()
    # Eight full indexes out, four partial ones in (and on PostgreSQL four LIKE indexes out).
    likes = 4 if connection.vendor == "postgresql" else 0
    assert len(after) == len(before) - 8 + 4 - likes
