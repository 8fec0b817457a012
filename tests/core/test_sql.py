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
