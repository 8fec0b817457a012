"""Dispatcher-side JSON: the live intake queue, for partner dispatch tools and the intake bench."""

from __future__ import annotations

from datetime import datetime

from django.http import JsonResponse
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from pydantic import Field

from vecinos.reports import selectors
from vecinos.reports.models import Report, ReportStatus

router = Router(tags=["dispatch"])


class QueueParams(Schema):
    after_id: int = Field(0, ge=0, description="only reports with a larger id (a cursor)")
    limit: int = Field(200, ge=1, le=1000)


class QueueItem(Schema):
    id: int
    receipt: str
    created_at: datetime
    channel: str
    activity: str
    trusted: bool
    flood_group: str


@router.get(
    "/reports/queue",
    response=list[QueueItem],
    summary="New reports in the dispatcher queue, oldest first after a cursor",
    description=(
        "Pass the largest id you have seen as `after_id`. On PostgreSQL an id is given out "
        "when a report is inserted, not when it is committed, so a report with a smaller id can "
        "appear a moment after a larger one: keep your cursor about a second behind the newest "
        "id and de-duplicate by `receipt`."
    ),
)
def report_queue(request, params: Query[QueueParams]):
    if not selectors.can_use_console(request.auth):
        raise HttpError(403, "Not allowed")
    rows = (
        Report.objects.filter(id__gt=params.after_id)
        .exclude(status=ReportStatus.DRAFT)
        .order_by("id")
        .values("id", "receipt", "created_at", "channel", "activity", "trusted", "flood_group")[
            : params.limit
        ]
    )
    # The rows as JSON at once (the same encoder ninja uses): validating each against QueueItem
    # (what the API's description shows) was most of the poll's time, and a partner polls
    # often during a surge.
    return JsonResponse(list(rows), safe=False)
