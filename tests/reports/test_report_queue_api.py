"""GET /api/v1/reports/queue: new reports after a cursor, oldest first, for partner dispatch tools
(and the intake benchmark's poll). Only console users; no place, text or contact in it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.conftest import make_member
from tests.reports.test_report_api import GOOD, bearer, post, random_ip
from vecinos.network.models import Tier
from vecinos.reports import services
from vecinos.reports.models import Report, ReportStatus

QUEUE = "/api/v1/reports/queue"


def submit(**fields) -> Report:
    return services.report_submit(
        data=services.ReportInput(channel="web", activity="street", place_text="Soto St", **fields),
        source_key_value=random_ip(),
    )


@pytest.mark.django_db
def test_the_queue_gives_new_reports_after_the_cursor_oldest_first(client, personas):
    first, second = submit(), submit()
    third = Report.objects.get(pk=post(client, GOOD).json()["id"])
    submit(status=ReportStatus.DRAFT)  # an SMS conversation not finished: not in the queue
    headers = bearer(personas.dispatcher)
    response = client.get(QUEUE, **headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    rows = response.json()
    assert [row["id"] for row in rows] == [first.pk, second.pk, third.pk]
    row = rows[2]
    assert set(row) == {
        "id", "receipt", "created_at", "channel", "activity", "trusted", "flood_group",
    }  # fmt: skip
    assert (row["receipt"], row["channel"], row["activity"]) == (third.receipt, "api", "checkpoint")
    assert row["trusted"] is False and row["flood_group"] == ""
    # ISO 8601 in UTC, to the millisecond, as every time in this API.
    assert row["created_at"].endswith("Z") and len(row["created_at"]) == len(
        "2026-12-06T10:20:30.123Z"
    )
    assert datetime.fromisoformat(row["created_at"]) == third.created_at.astimezone(UTC).replace(
        microsecond=third.created_at.microsecond // 1000 * 1000
    )
    after = client.get(f"{QUEUE}?after_id={first.pk}&limit=1", **headers).json()
    assert [row["id"] for row in after] == [second.pk]
    assert client.get(f"{QUEUE}?after_id={third.pk}", **headers).json() == []


@pytest.mark.django_db
def test_the_queue_is_only_for_console_users(client, personas):
    submit()
    assert client.get(QUEUE).status_code == 401
    for persona in ("newcomer", "verifier"):
        assert client.get(QUEUE, **bearer(getattr(personas, persona))).status_code == 403
    untrained = make_member("half", tier=Tier.VOUCHED)
    assert client.get(QUEUE, **bearer(untrained)).status_code == 403
    for persona in ("dispatcher", "coordinator", "coalition"):
        assert client.get(QUEUE, **bearer(getattr(personas, persona))).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["after_id=-1", "after_id=x", "limit=0", "limit=1001"])
def test_a_bad_cursor_or_limit_is_refused_with_422(client, personas, query):
    response = client.get(f"{QUEUE}?{query}", **bearer(personas.dispatcher))
    assert response.status_code == 422
    assert "detail" in response.json()
