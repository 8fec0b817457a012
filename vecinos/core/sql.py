"""Plain SQL for the few reads and writes that run for every message of a surge (call-out
replies, public reports).

The ORM's query building and ``Manager.raw`` cost more than the queries themselves there
(measured with py-spy on ``bench/activation.py``: about a third of the webhook's Python time).
``rows`` builds model instances from a cursor with the same converters the ORM applies
(encrypted fields are decrypted, SQLite's datetimes made aware), worked out once per model and
column list, not once per query. ``PreparedInsert`` compiles a model's INSERT with the ORM
before a write transaction, so the embedded database's one writer is held for the statement
only. Everything else uses the ORM.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.db import connections, models
from django.db.models.sql import InsertQuery

M = TypeVar("M", bound=models.Model)

_plans: dict[tuple, tuple[list[str], list[int], list[tuple[int, list[Callable], Any]]]] = {}


def _plan(model: type[models.Model], columns: tuple[str, ...], alias: str):
    """(attnames, the row's index of each, converters by row index) for these columns.
    ``Model.from_db`` takes values in the model's field order when every field is there (not
    the table's column order, which migrations change): the plan puts them in that order."""
    key = (alias, model, columns)
    plan = _plans.get(key)
    if plan is None:
        connection = connections[alias]
        where = {column: i for i, column in enumerate(columns)}
        names, order, converters = [], [], []
        for field in model._meta.concrete_fields:
            if field.column not in where:
                continue  # not selected: deferred
            i = where.pop(field.column)
            names.append(field.attname)
            order.append(i)
            col = field.get_col(model._meta.db_table)
            found = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
            if found:
                converters.append((i, found, col))
        if where:
            raise ValueError(f"columns of no field of {model.__name__}: {sorted(where)}")
        plan = _plans[key] = (names, order, converters)
    return plan


def rows(model: type[M], sql: str, params: Sequence[Any], *, using: str = "default") -> list[M]:
    """Instances of ``model`` from ``sql`` (which selects columns of its table only)."""
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
        if not fetched:
            return []
        columns = tuple(d[0] for d in cursor.description)
    names, order, converters = _plan(model, columns, using)
    out = []
    for row in fetched:
        values = list(row)
        for i, funcs, col in converters:
            value = values[i]
            for func in funcs:
                value = func(value, col, connection)
            values[i] = value
        out.append(model.from_db(using, names, [values[i] for i in order]))
    return out


def exists(sql: str, params: Sequence[Any], *, using: str = "default") -> bool:
    """Whether ``sql`` returns a row."""
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone() is not None


class PreparedInsert:
    """A new model instance's INSERT, compiled by the ORM now (defaults, ``auto_now_add``,
    encryption: everything ``save()`` would do to the values) and run later, typically inside
    a write transaction, by ``execute()``. ``set()`` changes one field's value in between.
    Sends no ``pre_save``/``post_save`` signals: only for models nobody listens to."""

    # The statement's text depends only on the model, the columns and the database: compiled
    # once, then each instance's values are prepared as the compiler prepares them.
    _sql: dict[tuple, str] = {}

    def __init__(self, obj: models.Model, *, using: str = "default") -> None:
        meta = obj._meta
        self.obj, self.using = obj, using
        connection = connections[using]
        fields = [f for f in meta.local_concrete_fields if not f.generated]
        if obj.pk is None:
            fields = [f for f in fields if f is not meta.auto_field]
        key = (type(obj), using, obj.pk is None)
        # What SQLInsertCompiler does to each value: pre_save (auto_now_add, defaults) then
        # get_db_prep_save (encryption, adapting). An expression needs the whole compiler.
        values = [f.pre_save(obj, True) for f in fields]
        if key in self._sql and not any(hasattr(v, "resolve_expression") for v in values):
            params = [
                f.get_db_prep_save(v, connection=connection)
                for f, v in zip(fields, values, strict=True)
            ]
            sql = self._sql[key]
        else:
            query = InsertQuery(type(obj))
            query.insert_values(fields, [obj], raw=False)
            compiler = query.get_compiler(using=using)
            compiler.returning_fields = [meta.pk] if obj.pk is None else None
            [(sql, params)] = compiler.as_sql()
            if len(params) != len(fields):  # an expression among the values: not supported
                raise ValueError(f"cannot prepare the insert of this {type(obj).__name__}")
            if not any(hasattr(v, "resolve_expression") for v in values):
                self._sql[key] = sql
        self.sql, self.params = sql, list(params)
        self.returns_pk = obj.pk is None and connection.features.can_return_columns_from_insert
        self._fields = {f.attname: (i, f) for i, f in enumerate(fields)}

    def set(self, attname: str, value: Any) -> None:
        i, field = self._fields[attname]
        setattr(self.obj, attname, value)
        self.params[i] = field.get_db_prep_save(value, connection=connections[self.using])

    def execute(self) -> models.Model:
        obj = self.obj
        connection = connections[self.using]
        with connection.cursor() as cursor:
            cursor.execute(self.sql, self.params)
            if self.returns_pk:
                obj.pk = cursor.fetchone()[0]
            elif obj.pk is None:
                obj.pk = connection.ops.last_insert_id(
                    cursor, obj._meta.db_table, obj._meta.pk.column
                )
        obj._state.adding = False
        obj._state.db = self.using
        return obj
