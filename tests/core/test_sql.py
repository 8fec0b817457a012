"""core.sql builds the same instances the ORM does from plain SQL: every field in its place
(whatever the table's column order), encrypted fields decrypted, datetimes aware."""

from __future__ import annotations

import pytest
from django.utils import timezone

from vecinos.core import sql
from vecinos.network.models import Member

pytestmark = pytest.mark.django_db


def member(username: str, **fields) -> Member:
    return Member.objects.create(username=username, full_name=f"Nombre {username}", **fields)


def test_whole_rows_match_the_orm_field_by_field():
    rosa = member("rosa", phone="+13105550101", preferred_language="ko")
    table = Member._meta.db_table
    (got,) = sql.rows(Member, f"SELECT * FROM {table} WHERE id = %s", [rosa.pk])  # noqa: S608
    orm = Member.objects.get(pk=rosa.pk)
    for field in Member._meta.concrete_fields:
        assert getattr(got, field.attname) == getattr(orm, field.attname), field.name
    assert got.full_name == "Nombre rosa"  # decrypted, not the stored ciphertext
    assert timezone.is_aware(got.date_joined)
    assert got._state.adding is False and got._state.db == "default"


def test_columns_in_any_order_and_a_subset_land_on_their_fields():
    rosa = member("rosa", preferred_language="vi")
    table = Member._meta.db_table
    (got,) = sql.rows(
        Member,
        f"SELECT preferred_language, full_name, id, username FROM {table} WHERE id = %s",  # noqa: S608
        [rosa.pk],
    )
    assert (got.pk, got.username, got.preferred_language, got.full_name) == (
        rosa.pk,
        "rosa",
        "vi",
        "Nombre rosa",
    )
    assert "phone" in got.get_deferred_fields()  # not selected: loaded on access, as the ORM does


def test_no_row_is_an_empty_list_and_exists_says_so():
    table = Member._meta.db_table
    assert sql.rows(Member, f"SELECT * FROM {table} WHERE id = %s", [-1]) == []  # noqa: S608
    assert sql.exists(f"SELECT 1 FROM {table} WHERE id = %s", [-1]) is False  # noqa: S608
    rosa = member("rosa")
    assert sql.exists(f"SELECT 1 FROM {table} WHERE id = %s", [rosa.pk]) is True  # noqa: S608


def test_a_column_of_no_field_is_refused():
    member("rosa")
    table = Member._meta.db_table
    with pytest.raises(ValueError, match="columns of no field"):
        sql.rows(Member, f"SELECT id, 1 AS surprise FROM {table}", [])  # noqa: S608


# --- PreparedInsert ------------------------------------------------------------------------------


def _report(receipt: str):
    from vecinos.reports.models import Report

    return Report(
        receipt=receipt, channel="web", activity="street", place_text="Cesar Chavez & 1st",
        description="Dos camionetas", reporter_contact="+13105550199", lat=34.05, lng=-118.2,
    )  # fmt: skip


def test_a_prepared_insert_writes_what_save_writes():
    from django.db import connection

    from vecinos.reports.models import Report

    saved = _report("SAVED0000001")
    saved.save()
    prepared = sql.PreparedInsert(_report("PREPARED0001"))
    assert prepared.obj.created_at is not None  # auto_now_add, applied at compile time
    got = prepared.execute()
    assert got.pk is not None and got.pk != saved.pk and got._state.adding is False
    a, b = Report.objects.get(pk=saved.pk), Report.objects.get(pk=got.pk)
    for field in Report._meta.concrete_fields:
        if field.name not in ("id", "receipt", "created_at"):
            assert getattr(a, field.attname) == getattr(b, field.attname), field.name
    assert b.reporter_contact == "+13105550199"
    table = Report._meta.db_table
    with connection.cursor() as cursor:  # encrypted at rest, as save() stores it
        cursor.execute(f"SELECT reporter_contact FROM {table} WHERE id = %s", [got.pk])  # noqa: S608
        assert "3105550199" not in str(cursor.fetchone()[0])


def test_set_changes_one_value_after_compiling():
    from vecinos.reports.models import Report

    prepared = sql.PreparedInsert(_report("PREPARED0002"))
    prepared.set("flood_group", "area:abc")
    prepared.set("description", "Otra descripción")
    got = Report.objects.get(pk=prepared.execute().pk)
    assert (got.flood_group, got.description) == ("area:abc", "Otra descripción")


def test_the_second_insert_reuses_the_statement_and_writes_the_same_row():
    from vecinos.reports.models import Report

    sql.PreparedInsert._sql.clear()
    first = sql.PreparedInsert(_report("PREPARED0003"))
    assert sql.PreparedInsert._sql  # compiled once, kept
    second = sql.PreparedInsert(_report("PREPARED0004"))
    assert second.sql == first.sql and len(second.params) == len(first.params)
    a = Report.objects.get(pk=first.execute().pk)
    b = Report.objects.get(pk=second.execute().pk)
    for field in Report._meta.concrete_fields:
        if field.name not in ("id", "receipt", "created_at"):
            assert getattr(a, field.attname) == getattr(b, field.attname), field.name
    assert (a.receipt, b.receipt) == ("PREPARED0003", "PREPARED0004")
    assert b.created_at is not None and b.reporter_contact == "+13105550199"
