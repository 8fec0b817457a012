"""What a worker records for a group of outcomes is exactly what the provider said: the values
go to the database in one statement per group (one JSON parameter on PostgreSQL, a statement
per row on SQLite), so awkward text and times must come back unchanged."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from vecinos.core.crypto import blind_index
from vecinos.messaging import services, worker
from vecinos.messaging.models import ContactPoint, Delivery, DeliveryStatus
from vecinos.transports.base import SendResult

AWKWARD = ['SM"quoted"', "SM\\back\\slash", "SM,comma}{brace", "SMñandú-Ωμέγα", "SM'single'"]


@pytest.mark.django_db
def test_a_group_of_outcomes_is_recorded_value_for_value():
    contact = ContactPoint.objects.create(
        channel="sms",
        address="+13235550100",
        address_index=blind_index("+13235550100", purpose="contact"),
    )
    services.deliveries_insert(
        services.delivery_rows(
            services.DeliverySpec(
                purpose="alert",
                contact=contact,
                body="Operativo confirmado cerca de usted.",
                language="es",
                key=f"record-values:{n}",
                ref_type="alert",
                ref_id=7,
                ref_item=n,
            )
            for n in range(len(AWKWARD) + 2)
        )
    )
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
    # Each status callback finds its message by the provider's id.
    assert services.status_update(provider_id=AWKWARD[1], status="delivered")
    assert Delivery.objects.get(pk=claimed[1].pk).status == DeliveryStatus.DELIVERED
