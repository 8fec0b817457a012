"""What a worker records for a group of outcomes is exactly what the provider said: the values
go to the database in one statement per group (one JSON parameter on PostgreSQL, a statement
per row on SQLite), so awkward text and times must come back unchanged."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.messaging.test_delivery_indexes import _contacts, _enqueue
from vecinos.messaging import services, worker
from vecinos.messaging.models import Delivery, DeliveryStatus
from vecinos.transports.base import SendResult

AWKWARD = ['SM"quoted"', "SM\\back\\slash", "SM,comma}{brace", "SMñandú-Ωμέγα", "SM'single'"]


@pytest.mark.django_db
def test_a_group_of_outcomes_is_recorded_value_for_value():
    _enqueue(_contacts(1), 0, len(AWKWARD) + 2)
    claimed = worker.claim_batch(50)
    assert len(claimed) == len(AWKWARD) + 2
    went_out = datetime(2026, 12, 5, 6, 9, 33, 741048, tzinfo=UTC)
    outcomes: list = [
        (d.pk, SendResult(provider_id=provider_id))
        for d, provider_id in zip(claimed, AWKWARD, strict=False)
    ]
    delivered, released = claimed[len(AWKWARD)], claimed[len(AWKWARD) + 1]
    outcomes.append(
        (delivered.pk, SendResult(provider_id="SMfound", status="delivered", sent_at=went_out))
    )
    outcomes.append((released.pk, worker.NOT_SENT))
    counts = {"sent": 0, "released": 0}
    worker._record(outcomes, {d.pk: d for d in claimed}, counts)
    assert counts == {"sent": len(AWKWARD) + 1, "released": 1}

    for d, provider_id in zip(claimed, AWKWARD, strict=False):
        row = Delivery.objects.get(pk=d.pk)
        assert (row.status, row.provider_id, row.final_at) == (
            DeliveryStatus.SENT,
            provider_id,
            None,
        )
        assert row.sent_at is not None and row.lease_until is None
    row = Delivery.objects.get(pk=delivered.pk)
    assert (row.status, row.provider_id, row.sent_at) == (
        DeliveryStatus.DELIVERED,
        "SMfound",
        went_out,
    )
    assert row.final_at is not None and row.final_at >= went_out
    back = Delivery.objects.get(pk=released.pk)
    assert (back.status, back.attempts, back.provider_id) == (DeliveryStatus.QUEUED, 0, "")
    # Each status callback finds its message: the delivery its URL names, under this SID.
    assert services.status_update(
        provider_id=AWKWARD[1], status="delivered", delivery_id=claimed[1].pk
    )
    assert Delivery.objects.get(pk=claimed[1].pk).status == DeliveryStatus.DELIVERED
