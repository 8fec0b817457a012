"""Personal data is encrypted at rest and there is nowhere to store what the brief forbids."""

from __future__ import annotations

import re

import pytest
from django.apps import apps
from django.db import connection

from tests.conftest import make_member
from vecinos.network.models import Member, Organization, Role
from vecinos.network.services import find_member_by_phone

FORBIDDEN = re.compile(
    r"immigration|status_migratorio|nationality|nacionalidad|citizenship|country_of_origin|"
    r"birth_country|origin_country|a_number|alien|uscis|ssn|social_security|itin|visa|passport",
    re.I,
)
# Columns whose names contain a forbidden word innocently (none today); add with a reason.
ALLOWED: set[str] = set()


def test_no_model_has_a_field_for_status_nationality_a_number_or_ssn():
    offenders = [
        f"{model._meta.label}.{field.name}"
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if FORBIDDEN.search(field.name) and f"{model._meta.label}.{field.name}" not in ALLOWED
    ]
    assert offenders == []


@pytest.mark.django_db
def test_no_database_column_for_status_nationality_a_number_or_ssn():
    offenders = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            for col in connection.introspection.get_table_description(cursor, table):
                if FORBIDDEN.search(col.name):
                    offenders.append(f"{table}.{col.name}")
    assert offenders == []


def _raw_database_text() -> str:
    """Everything the database holds, read below the ORM."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(FULL)")
        name = connection.settings_dict["NAME"]
        data = open(name, "rb").read()
        wal = name + "-wal"
        try:
            data += open(wal, "rb").read()
        except FileNotFoundError:
            pass
        return data.decode("latin-1")
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - our own table names
            chunks.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(chunks)


@pytest.mark.django_db(transaction=True)
def test_raw_database_holds_no_plaintext_names_phones_or_emails():
    org = Organization.objects.create(
        name="Raw Org", short_name="raw", coordinator_contact="oficina@example.org"
    )
    make_member(
        "rawcheck",
        org=org,
        roles=(Role.PATROL,),
        full_name="Xochitl Quintanilla-Verdugo",
        phone="(213) 555-0199",
        email="xochitl.q@example.org",
        notes="Lives near the blue church on Cesar Chavez",
    )
    raw = _raw_database_text()
    assert "rawcheck" in raw  # the handle is plaintext on purpose: proves we read the rows
    for secret in (
        "Xochitl",
        "Quintanilla",
        "2135550199",
        "555-0199",
        "xochitl.q@example.org",
        "oficina@example.org",
        "blue church",
    ):
        assert secret not in raw, secret


@pytest.mark.django_db
def test_phone_lookup_uses_blind_index_across_formats():
    member = make_member("lookup", phone="213-555-0177")
    assert Member.objects.get(pk=member.pk).phone == "+12135550177"
    assert find_member_by_phone("(213) 555 0177") == member
    assert find_member_by_phone("+1 213 555 0178") is None
