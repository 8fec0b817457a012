"""Fast inserts for the few hot paths that write tens of thousands of rows at once (an alert's
recipients and deliveries). Django's bulk_create spends most of such a write preparing fields.
On PostgreSQL the rows go over COPY (30x faster than multi-row INSERTs here), through a
temporary table when conflicts must be ignored; on SQLite, multi-row INSERTs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from django.db import connection, transaction
from django.db.models import QuerySet

# Bound parameters per statement: well under SQLite's 32,766 and PostgreSQL's 65,535.
MAX_PARAMS = 16_000


def insert_rows(
    table: str, columns: Sequence[str], rows: Sequence[Sequence], *, ignore_conflicts: bool = False
) -> None:
    """INSERT rows (already adapted for the database) in the caller's transaction."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        _copy_rows(table, columns, rows, ignore_conflicts=ignore_conflicts)
        return
    quote = connection.ops.quote_name
    names = ", ".join(quote(c) for c in columns)
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    per_statement = max(1, MAX_PARAMS // len(columns))
    verb = "INSERT OR IGNORE" if ignore_conflicts else "INSERT"  # SQLite's spelling
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            values = ", ".join([one] * len(chunk))
            sql = f"{verb} INTO {quote(table)} ({names}) VALUES {values}"  # noqa: S608
            cursor.execute(sql, [value for row in chunk for value in row])


# Column types (OIDs) whose binary form psycopg writes straight from the Python values these
# rows carry: bool, int8, int2, int4, text, float4, float8, varchar, timestamptz. A table with
# any other column among those written (json, numeric...) is copied as text.
BINARY_TYPES = frozenset({16, 20, 21, 23, 25, 700, 701, 1043, 1184})
# Fewer rows than this go as text: the column types cost a round trip to look up.
BINARY_FROM = 200


def _binary_types(cursor, table: str, names: str) -> list[int] | None:
    """The columns' type OIDs, when every one can be copied in binary; else None."""
    cursor.execute(f"SELECT {names} FROM {table} LIMIT 0")  # noqa: S608 (quoted model names)
    oids = [column.type_code for column in cursor.description]
    return oids if all(oid in BINARY_TYPES for oid in oids) else None


def _copy_rows(
    table: str, columns: Sequence[str], rows: Sequence[Sequence], *, ignore_conflicts: bool
) -> None:
    """COPY in binary where the columns allow (psycopg formats a text row value by value:
    51,557 delivery rows cost 0.57 s of a worker's CPU as text, 0.06 s in binary, measured
    here), else as text."""
    quote = connection.ops.quote_name
    names = ", ".join(quote(c) for c in columns)
    # One transaction (a savepoint inside the caller's): the scratch table is ON COMMIT DROP,
    # which in autocommit mode would drop it the moment it was created.
    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor, in the same transaction
        target = quote(table)
        if ignore_conflicts:
            # COPY cannot skip a duplicate key: copy into a scratch table of the same columns,
            # then move the rows over with ON CONFLICT DO NOTHING.
            target = quote(f"_bulk_{table}")
            cursor.execute(f"DROP TABLE IF EXISTS {target}")
            cursor.execute(
                f"CREATE TEMPORARY TABLE {target} ON COMMIT DROP AS "  # noqa: S608
                f"SELECT {names} FROM {quote(table)} WITH NO DATA"
            )
        types = _binary_types(raw, target, names) if len(rows) >= BINARY_FROM else None
        binary = " (FORMAT BINARY)" if types else ""
        # As Django's own cursor would raise them: a duplicate key is an IntegrityError.
        with (
            connection.wrap_database_errors,
            raw.copy(f"COPY {target} ({names}) FROM STDIN{binary}") as copy,
        ):
            if types:
                copy.set_types(types)
            for row in rows:
                copy.write_row(row)
        if ignore_conflicts:
            cursor.execute(
                f"INSERT INTO {quote(table)} ({names}) SELECT {names} FROM {target} "  # noqa: S608
                "ON CONFLICT DO NOTHING"
            )
            cursor.execute(f"DROP TABLE {target}")


def pg_id_array(ids: Iterable[int]) -> str:
    """Ids as one PostgreSQL array literal ('{1,2,3}', for a ``%s::bigint[]`` parameter).

    psycopg's client-side binding (Django's) quotes a list parameter element by element in
    Python: 0.45 us an id, against 0.08 for this one string (5,000 ids, measured). int() keeps
    the literal to digits and signs whatever the ids came as."""
    return "{" + ",".join(map(str, map(int, ids))) + "}"


def with_ids(queryset: QuerySet, ids: Iterable[int], field: str = "id") -> QuerySet:
    """queryset.filter(<field>__in=ids) for long id lists. On PostgreSQL the ids go as one
    array parameter: psycopg parses a query with tens of thousands of
    placeholders in Python on every call, which was a second of a large fan-out."""
    ids = list(ids)
    if connection.vendor == "sqlite" and len(ids) > 1000:
        # One JSON parameter unpacked by SQLite itself: Django otherwise prepares every id of a
        # 10,000-id IN list in Python, most of the time of a large selection.
        column = connection.ops.quote_name(queryset.model._meta.get_field(field).column)
        table = connection.ops.quote_name(queryset.model._meta.db_table)
        where = f"{table}.{column} IN (SELECT value FROM json_each(%s))"  # noqa: S608  (quoted model names)
        return queryset.extra(where=[where], params=[json.dumps([int(i) for i in ids])])  # noqa: S610
    if connection.vendor != "postgresql":
        return queryset.filter(**{f"{field}__in": ids})
    column = connection.ops.quote_name(queryset.model._meta.get_field(field).column)
    table = connection.ops.quote_name(queryset.model._meta.db_table)
    # A semi-join on the unnested array (hashed), not "= ANY(array)", which the planner may
    # turn into a linear search of the array for every row.
    where = f"{table}.{column} IN (SELECT unnest(%s::bigint[]))"
    return queryset.extra(where=[where], params=[pg_id_array(ids)])  # noqa: S610


def reserve_ids(table: str, n: int) -> list[int]:
    """``n`` ids of ``table``'s auto-incremented primary key, taken now for rows inserted later
    with these ids (an alert's recipient rows, whose ids go into the bodies of their messages,
    made before the write that stores both). No other insert, in this process or another, can
    be given one of them; ids reserved and never used are only a gap.

    PostgreSQL: the column's own sequence (nextval takes no lock and is never rolled back).
    SQLite: the AUTOINCREMENT counter (sqlite_sequence), raised by ``n`` in a write transaction
    of its own (or the caller's): SQLite gives a new row one more than that counter."""
    if n <= 0:
        return []
    quote = connection.ops.quote_name
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # The sequence is looked up once (pg_get_serial_sequence is only "stable": named
            # in the select list, it ran again for every id, 8 times the cost of nextval).
            cursor.execute(
                "WITH seq AS MATERIALIZED (SELECT pg_get_serial_sequence(%s, 'id')::regclass "
                "AS s) SELECT nextval(s) FROM seq, generate_series(1, %s)",
                (quote(table), n),
            )
            return [row[0] for row in cursor.fetchall()]
    with transaction.atomic(), connection.cursor() as cursor:
        # The counter's row exists once the table has had a row; the table's own largest id
        # covers a counter reset (a flushed test database) or edited by hand.
        cursor.execute(
            "INSERT INTO sqlite_sequence (name, seq) SELECT %s, 0 "
            "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = %s)",
            (table, table),
        )
        cursor.execute(
            f"UPDATE sqlite_sequence SET seq = max(seq, "  # noqa: S608 (a model's quoted table)
            f"(SELECT coalesce(max(id), 0) FROM {quote(table)})) + %s "
            "WHERE name = %s RETURNING seq",
            (n, table),
        )
        last = cursor.fetchone()[0]
    return list(range(last - n + 1, last + 1))
