"""core.bulk.insert_rows: a fan-out's rows written by COPY on PostgreSQL (binary where every
column allows it, text otherwise) and by multi-row INSERTs on SQLite, every value read back
as it went in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, connection, transaction

from vecinos.alerts.models import AlertRecipient, Subscriber
from vecinos.core import bulk
from vecinos.core.crypto import encrypt
from vecinos.messaging import services
from vecinos.messaging.models import ContactPoint, Delivery

pytestmark = pytest.mark.django_db


def _columns(model, columns) -> tuple[str, str]:
    quote = connection.ops.quote_name
    return quote(model._meta.db_table), ", ".join(quote(c) for c in columns)


def test_which_tables_copy_in_binary():
    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    with connection.cursor() as cursor:
        raw = cursor.cursor
        # The fan-out's two tables: every column binary.
        assert bulk._binary_types(raw, *_columns(Delivery, services._INSERT_COLUMNS))
        recipient_columns = ("id", "alert_id", "subscriber_id", "tier", "language", "step")
        assert bulk._binary_types(raw, *_columns(AlertRecipient, recipient_columns))
        # A JSON column (a subscriber's channels, written as JSON text): the whole copy as text.
        assert bulk._binary_types(raw, *_columns(Subscriber, ("language", "channels"))) is None


def test_rows_read_back_as_written_whatever_the_format():
    """Over the binary threshold and under it: awkward text (tabs, newlines, backslashes, a
    literal \\N, accents, RTL), NULLs, an aware datetime, a small int and a boolean."""
    contact = ContactPoint.objects.create(channel="sms", address="+12135550100")
    when = datetime(2026, 12, 5, 3, 4, 5, 678901, tzinfo=UTC)
    texts = ["tab\there", "line\nbreak", "back\\slash", "\\N", "ñandú — مرحبا", ""]
    for count in (3, bulk.BINARY_FROM + 7):
        Delivery.objects.all().delete()
        rows = [
            (
                "alert", "alert", 7, n, contact.pk, "sms", "es", texts[n % len(texts)],
                encrypt(f"body {texts[n % len(texts)]}"), f"copy-test:{count}:{n}", "queued", n % 3,
                when, None if n % 2 else when + timedelta(hours=2), "", "", when, n % 2 == 0,
            )
            for n in range(count)
        ]  # fmt: skip
        with transaction.atomic():
            bulk.insert_rows(Delivery._meta.db_table, services._INSERT_COLUMNS, rows)
        got = {
            d.ref_item: d
            for d in Delivery.objects.filter(ref_id=7).only(
                "ref_item", "subject", "body", "attempts", "next_attempt_at", "expires_at",
                "outcome_unknown", "idempotency_key",
            )
        }  # fmt: skip
        assert len(got) == count
        for n, row in enumerate(rows):
            d = got[n]
            assert d.subject == row[7]
            assert d.body == f"body {texts[n % len(texts)]}"  # encrypted by the caller
            assert d.idempotency_key == row[9]
            assert d.attempts == row[11]
            assert d.next_attempt_at == when
            assert d.expires_at == row[13]
            assert d.outcome_unknown is row[17]


def test_a_duplicate_key_still_fails_the_copy_and_keeps_nothing():
    contact = ContactPoint.objects.create(channel="sms", address="+12135550101")
    when = datetime(2026, 12, 5, tzinfo=UTC)
    row = ("alert", "alert", 8, 0, contact.pk, "sms", "es", "", "b", "dup", "queued", 0, when,
           None, "", "", when, False)  # fmt: skip
    rows = [row[:3] + (n,) + row[4:9] + (f"dup-{n}",) + row[10:] for n in range(bulk.BINARY_FROM)]
    rows.append(rows[0])
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk.insert_rows(Delivery._meta.db_table, services._INSERT_COLUMNS, rows)
    assert not Delivery.objects.filter(ref_id=8).exists()
