"""core.bulk.with_ids: a long id list goes to the database as one parameter (a JSON list on
SQLite, one array literal on PostgreSQL) and finds exactly those rows."""

from __future__ import annotations

import pytest

from vecinos.alerts.models import Subscriber
from vecinos.core.bulk import pg_id_array, with_ids


@pytest.mark.django_db
@pytest.mark.parametrize("count", [3, 2500])
def test_with_ids_finds_exactly_the_rows_named(count):
    subs = Subscriber.objects.bulk_create(Subscriber(phone_index=f"w{n}") for n in range(count))
    wanted = [s.pk for s in subs[::2]] + [10**12]  # and an id nobody has
    found = set(with_ids(Subscriber.objects.all(), wanted).values_list("pk", flat=True))
    assert found == {s.pk for s in subs[::2]}
    assert not with_ids(Subscriber.objects.all(), []).exists()


def test_the_array_literal_holds_digits_only():
    assert pg_id_array([3, "17", -2]) == "{3,17,-2}"
    with pytest.raises(ValueError):
        pg_id_array(["1}, {2"])
