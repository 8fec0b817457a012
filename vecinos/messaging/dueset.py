"""Where PostgreSQL keeps the deliveries waiting or in flight, and the providers' ids.

On PostgreSQL ``messaging_due`` lists every delivery queued or being sent, with the time it is
due (a queued row's next attempt, an in-flight row's lease end), ``messaging_provider_ref``
maps a provider's id to its delivery, and ``messaging_failed`` lists the rows that failed for
good. Triggers on ``messaging_delivery`` keep the due set and the failed list (migration 0009),
so every insert, update and delete in any code path is covered. The provider ids are listed
only where a receipt names nothing else (``list_provider_ids``, migration 0010): Twilio's
status callbacks name their delivery in their URL. The
delivery table has no index on ``status`` or ``provider_id`` there: a claim and an outcome are
heap-only updates (no new index entry). Lookups that used those two indexes come here. So must
any new query that looks for deliveries by status alone, or whose plan would be driven by a
rare status (the minute auditor's "failed for good": without its list, a query that finished
in 15 ms ran for minutes over a 50,000-message alert).

SQLite has neither table: it keeps both indexes, and these helpers leave a query as it was.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import connection
from django.db.models import F, Lookup, QuerySet
from django.db.models.expressions import RawSQL

log = logging.getLogger(__name__)

DUE = "messaging_due"
PROVIDER_REF = "messaging_provider_ref"
FAILED = "messaging_failed"


def separate() -> bool:
    """Whether the due set and the providers' ids live in tables of their own here."""
    return connection.vendor == "postgresql"


class _InArray(Lookup):
    """``lhs = ANY(ARRAY(subquery))``: the subquery runs once, first (an InitPlan), and each
    id it lists is looked up by key; as ``IN (subquery)`` the planner picks the join."""

    def as_sql(self, compiler, connection) -> tuple[str, list]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY(ARRAY{rhs})", [*lhs_params, *rhs_params]


def _listed(
    queryset: QuerySet, table: str, where: str = "", params: tuple = (), *, by_key: bool = False
) -> QuerySet:
    """The rows of ``queryset`` whose id is in ``table`` (where ``where`` holds, on PostgreSQL;
    ``where`` is constant SQL, its values in ``params``). SQLite: the query as it was.

    ``by_key``: the ids are read first and each delivery looked up by its key, so the query
    costs what the list holds, never what the delivery table holds (every message ever kept).
    For lists bounded by the work at hand: the rows in flight, the rows open, the first
    entries due. As "id IN (SELECT ...)" the planner may scan the whole table, or walk its
    whole primary key in a merge join, when the statistics think a status rare ("sending"
    between two ANALYZEs): the sweeper did so every few seconds in the fan-out benchmark."""
    if not separate():
        return queryset
    sql = f"SELECT delivery_id FROM {table}" + (f" WHERE {where}" if where else "")  # noqa: S608
    if by_key:
        return queryset.filter(_InArray(F("pk"), RawSQL(sql, params)))  # noqa: S611
    return queryset.filter(pk__in=RawSQL(sql, params))  # noqa: S611 - constant SQL


def first_due(queryset: QuerySet, now: datetime, window: int = 500) -> QuerySet:
    """Only rows among the first ``window`` queued entries due at ``now``, the longest due
    first: enough to learn whether any queued row is due (a queued row's entry is due at its
    next attempt), without reading every row of a fan-out, or every row ever sent."""
    return _listed(
        queryset,
        DUE,
        "NOT leased AND due_at <= %s ORDER BY due_at, delivery_id LIMIT %s",
        (now, window),
        by_key=True,
    )


def lease_ended(queryset: QuerySet, now: datetime) -> QuerySet:
    """Only rows in flight whose lease ended by ``now`` (read from the in-flight entries
    alone: during a fan-out every queued row is due, and there are tens of thousands)."""
    return _listed(queryset, DUE, "leased AND due_at <= %s", (now,), by_key=True)


def in_flight(queryset: QuerySet) -> QuerySet:
    """Only rows in flight (their entries alone)."""
    return _listed(queryset, DUE, "leased", by_key=True)


def open_rows(queryset: QuerySet) -> QuerySet:
    """Only rows queued or in flight (on PostgreSQL listed by the due set, each looked up by
    key: `/metrics` asks at every scrape, and must not read every message ever sent)."""
    return _listed(queryset, DUE, by_key=True)


def failed_only(queryset: QuerySet) -> QuerySet:
    """Only rows that failed for good, found from their own list (``messaging_failed``): a
    filter on status alone would read every message of the references in question."""
    return _listed(queryset, FAILED)


def by_provider(queryset: QuerySet, provider_id: str) -> QuerySet:
    """Rows the provider knows by ``provider_id``. On PostgreSQL only the rows listed: those
    of a transport whose receipts name the provider's id alone (``list_provider_ids``), those
    inserted with one, and those recorded before migration 0010."""
    return _listed(
        queryset.filter(provider_id=provider_id), PROVIDER_REF, "provider_id = %s", (provider_id,)
    )


def list_provider_ids(cursor, ids: list[int]) -> None:
    """(In the transaction that recorded them.) List these deliveries' provider ids, for
    ``by_provider``: the rows of a transport whose receipts name the provider's id alone (the
    Android gateway's). Since migration 0010 the update trigger lists none: Twilio's status
    callbacks, nearly every message, name their delivery in their URL, and listing each of
    their ids was 0.007 ms of the database's CPU a message and a tenth of its log (issue 15)."""
    if not ids or not separate():
        return
    cursor.execute(
        f"INSERT INTO {PROVIDER_REF} (provider_id, delivery_id) "  # noqa: S608
        f"SELECT d.provider_id, d.id FROM messaging_delivery AS d "
        f"WHERE d.id = ANY(%s) AND d.provider_id <> '' AND NOT EXISTS "
        f"(SELECT 1 FROM {PROVIDER_REF} AS p WHERE p.provider_id = d.provider_id "
        f"AND p.delivery_id = d.id)",
        (ids,),
    )


def drop_stale(now: datetime) -> int:
    """Remove the entries due by ``now`` or marked in flight whose delivery is gone or final
    (only a path around the triggers leaves one: replication in replica mode, say). A claim
    that took nothing calls this, so such entries never hide due rows behind them (a claim
    marks every entry it picks in flight, those it could not take too). It reads only those
    entries, from their indexes, none of those waiting for a later time (retries, reminders
    scheduled): once read in full by every empty claim, an idle queue's polls included."""
    if not separate():
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {DUE} AS q WHERE (q.due_at <= %s OR q.leased) AND NOT EXISTS "  # noqa: S608
            f"(SELECT 1 FROM messaging_delivery AS d WHERE d.id = q.delivery_id "
            f"AND d.status IN ('queued', 'sending'))",
            (now,),
        )
        return cursor.rowcount


def restore_missing() -> int:
    """Put back in the due set every open delivery missing from it. Only a path around the
    triggers leaves one out (a data-only restore, replica mode), and such a row would never be
    sent. It reads the whole delivery table (no index on status): `vecinos worker` runs it once
    as it starts (the worker that runs the periodic tasks). Returns how many came back."""
    if not separate():
        return 0
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {DUE} (delivery_id, due_at, leased) "  # noqa: S608
                f"SELECT d.id, CASE WHEN d.status = 'sending' THEN coalesce(d.lease_until, now()) "
                f"ELSE d.next_attempt_at END, d.status = 'sending' "
                f"FROM messaging_delivery AS d WHERE d.status IN ('queued', 'sending') "
                f"AND NOT EXISTS (SELECT 1 FROM {DUE} AS q WHERE q.delivery_id = d.id) "
                f"ON CONFLICT (delivery_id) DO NOTHING"
            )
            found = cursor.rowcount
    except Exception:  # noqa: BLE001 - a worker must start even if this pass cannot run
        log.exception("could not check the due set for missing deliveries")
        return 0
    if found:
        log.warning("put %d open deliveries back in the due set (they were missing)", found)
    return found
