"""The indexes of a table as the database reports them (the index tests of the hot tables)."""

from __future__ import annotations

from django.db import connection


def table_indexes(table: str) -> dict[str, tuple[str, ...]]:
    """Index name -> its columns, for every index, unique constraint and primary key."""
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, table)
    return {
        name: tuple(c["columns"])
        for name, c in found.items()
        if c["index"] or c["unique"] or c["primary_key"]
    }
