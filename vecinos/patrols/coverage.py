"""Patrol coverage, read for pages: each shift's staffing state (``coverage``,
``coverage_values``) and the coverage board a dispatcher or coordinator sees (``coverage_board``:
the list by day, the legend's counts, the soonest gaps, one map marker per place).
A selector module: it only reads."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy

from vecinos.patrols.models import Shift

LIST_LIMIT = 300  # rows of the coverage list; the map and the counts always cover everything
GAPS_LIMIT = 15  # the soonest gaps on the today view; the full list is one filter away

# The coverage states of coverage(), in the order the legend shows them.
STATES: list[tuple[str, Any]] = [
    ("uncovered", gettext_lazy("Uncovered")),
    ("understaffed", gettext_lazy("Understaffed")),
    ("staffed", gettext_lazy("Staffed")),
    ("checked_in", gettext_lazy("Checked in")),
    ("all_clear", gettext_lazy("All clear")),
    ("activity", gettext_lazy("Activity seen")),
    ("cancelled", gettext_lazy("Cancelled")),
]
STATE_HELP = {
    "uncovered": gettext_lazy("nobody signed up"),
    "understaffed": gettext_lazy("fewer than the minimum"),
    "staffed": gettext_lazy("the minimum or more"),
    "checked_in": gettext_lazy("someone is there"),
    "all_clear": gettext_lazy("the lead reported all clear"),
    "activity": gettext_lazy("the patrol saw activity"),
    "cancelled": gettext_lazy("holiday or cancelled"),
}
GAP_STATES = frozenset({"uncovered", "understaffed"})
# What a place's marker shows on the week view: the most pressing state of its shifts. On the
# today view: activity seen if any, else its current or next shift, else its last one.
MAP_PRIORITY = [
    "activity",
    "uncovered",
    "understaffed",
    "checked_in",
    "staffed",
    "all_clear",
    "cancelled",
]


# --- Coverage states -------------------------------------------------------------------------


@dataclass
class CoverageRow:
    shift: Shift
    signed: int
    checked_in: int
    state: str  # uncovered | understaffed | staffed | checked_in | all_clear | activity | cancelled


def coverage_state(
    *, status: str, outcome: str, signed: int, checked_in: int, min_people: int
) -> str:
    if status == Shift.Status.CANCELLED:
        return "cancelled"
    if outcome == Shift.Outcome.ALL_CLEAR:
        return "all_clear"
    if outcome == Shift.Outcome.ACTIVITY:
        return "activity"
    if checked_in:
        return "checked_in"
    if signed == 0:
        return "uncovered"
    if signed < min_people:
        return "understaffed"
    return "staffed"


def coverage(*, start: datetime, end: datetime, organization_ids: set[int] | None = None):
    """Shifts in a window with their staffing state: one query, whatever the count."""
    qs = (
        Shift.objects.filter(starts_at__gte=start, starts_at__lt=end)
        .select_related("place", "place__zone")
        # Neither the volunteers' notes (a decryption per row) nor the zone's cell list (a large
        # JSON document per row) is needed to show coverage.
        .defer("place__notes", "place__zone__cells", "place__zone__boundary")
        .annotate(
            n_signed=Count("signups", distinct=True),
            n_in=Count("signups", filter=Q(signups__checked_in_at__isnull=False), distinct=True),
        )
        .order_by("starts_at", "place__name")
    )
    if organization_ids is not None:
        qs = qs.filter(place__organization_id__in=organization_ids)
    rows = []
    for shift in qs:
        state = coverage_state(
            status=shift.status,
            outcome=shift.outcome,
            signed=shift.n_signed,
            checked_in=shift.n_in,
            min_people=shift.min_people,
        )
        rows.append(CoverageRow(shift, shift.n_signed, shift.n_in, state))
    return rows


class CoverageItem(NamedTuple):
    """One shift of ``coverage_values``: plain values, no model instances."""

    shift_id: int
    place_id: int
    place_name: str
    lat: float
    lng: float
    zone_name: str | None
    organization_id: int
    starts_at: datetime
    ends_at: datetime
    min_people: int
    ideal_people: int
    signed: int
    checked_in: int
    state: str


def coverage_values(
    *, start: datetime, end: datetime, organization_ids: set[int] | None = None
) -> list[CoverageItem]:
    """``coverage`` for pages that list thousands of shifts: the same states, one query, rows
    as plain tuples (building three model instances per shift dominates the time otherwise)."""
    shifts = Shift.objects.filter(starts_at__gte=start, starts_at__lt=end)
    if organization_ids is not None:
        shifts = shifts.filter(place__organization_id__in=organization_ids)
    # One multi-valued join (sign-ups), so plain counts are exact: no COUNT(DISTINCT).
    rows = (
        shifts.annotate(
            n_signed=Count("signups"),
            n_in=Count("signups", filter=Q(signups__checked_in_at__isnull=False)),
        )
        .order_by("starts_at", "place__name")
        .values_list(
            "pk",
            "place_id",
            "place__name",
            "place__lat",
            "place__lng",
            "place__zone__name",
            "place__organization_id",
            "starts_at",
            "ends_at",
            "status",
            "outcome",
            "min_people",
            "ideal_people",
            "n_signed",
            "n_in",
        )
    )
    state = coverage_state
    return [
        CoverageItem(
            pk,
            place_id,
            name,
            lat,
            lng,
            zone,
            org,
            starts,
            ends,
            low,
            ideal,
            signed,
            n_in,
            state(status=status, outcome=outcome, signed=signed, checked_in=n_in, min_people=low),
        )
        for (
            pk,
            place_id,
            name,
            lat,
            lng,
            zone,
            org,
            starts,
            ends,
            status,
            outcome,
            low,
            ideal,
            signed,
            n_in,
        ) in rows
    ]


# --- the coverage board ------------------------------------------------------------------------


@dataclass
class _Marker:
    """One place on the map: the states of its shifts in view."""

    row: CoverageItem
    states: Counter[str] = field(default_factory=Counter)
    upcoming: Counter[str] = field(default_factory=Counter)
    next: str | None = None
    last: str | None = None

    def add(self, state: str, ends_at: datetime, now: datetime) -> None:
        self.states[state] += 1
        if ends_at > now:
            self.upcoming[state] += 1
            self.next = self.next or state
        else:
            self.last = state

    def shown_state(self, mode: str) -> str:
        if mode == "today":
            if self.states.get("activity"):
                return "activity"
            return self.next or self.last or "cancelled"
        pool = self.upcoming or self.states
        return next(s for s in MAP_PRIORITY if pool.get(s))


@dataclass
class _Board:
    """The board's tallies, filled one coverage row at a time."""

    mode: str
    only: str
    now: datetime
    tomorrow: datetime
    tz: ZoneInfo
    labels: dict[str, str]
    days: dict[Any, list[dict[str, Any]]] = field(default_factory=dict)
    state_counts: Counter[str] = field(default_factory=Counter)
    gaps_by_day: Counter[Any] = field(default_factory=Counter)
    gaps: list[dict[str, Any]] = field(default_factory=list)
    markers: dict[int, _Marker] = field(default_factory=dict)
    shown: int = 0
    total: int = 0
    matched: int = 0

    def add(self, row: CoverageItem) -> None:
        is_gap = row.state in GAP_STATES and row.ends_at > self.now
        in_view = self.mode == "week" or row.starts_at < self.tomorrow
        if not (is_gap or in_view):
            return
        local_start = timezone.localtime(row.starts_at, self.tz)
        day = local_start.date()
        listed = self._count(row, is_gap) if in_view else False
        if is_gap:
            self.gaps_by_day[day] += 1
        gap_listed = is_gap and len(self.gaps) < GAPS_LIMIT
        if not (listed or gap_listed):
            return
        item = self._item(row, local_start, is_gap)
        if listed:
            self.days.setdefault(day, []).append(item)
        if gap_listed:
            self.gaps.append(item)

    def _count(self, row: CoverageItem, is_gap: bool) -> bool:
        """Counts a row in view; True when the list shows it (filter and limit allowing)."""
        self.total += 1
        self.state_counts[row.state] += 1
        marker = self.markers.get(row.place_id)
        if marker is None:
            marker = self.markers[row.place_id] = _Marker(row)
        marker.add(row.state, row.ends_at, self.now)
        only = self.only
        if only and row.state != only and not (only == "gaps" and is_gap):
            return False
        self.matched += 1
        listed = self.shown < LIST_LIMIT
        self.shown += listed
        return listed

    def _item(self, row: CoverageItem, local_start: datetime, is_gap: bool) -> dict[str, Any]:
        return {
            "id": row.shift_id,
            "when": f"{local_start:%H:%M}–{timezone.localtime(row.ends_at, self.tz):%H:%M}",
            "place": row.place_name,
            "zone": row.zone_name or "",
            "state": row.state,
            "label": self.labels[row.state],
            "signed": row.signed,
            "min": row.min_people,
            "gap": is_gap,
            "day": local_start.date(),
        }

    def map_places(self) -> list[dict[str, Any]]:
        places = []
        for marker in self.markers.values():
            state = marker.shown_state(self.mode)
            row = marker.row
            places.append(
                {
                    "name": row.place_name,
                    "lat": row.lat,
                    "lng": row.lng,
                    "zone": row.zone_name or "",
                    "state": state,
                    "label": self.labels[state],
                    "counts": [[self.labels[s], n] for s, n in sorted(marker.states.items())],
                }
            )
        return places


def coverage_board(
    *, organization_ids: set[int] | None, mode: str, only: str, start: datetime
) -> dict[str, Any]:
    """The coverage page's content for the places of these organizations (None: all; the
    member's scope is selectors.coverage_scope), for the week from ``start`` (local midnight
    today): ``mode`` "today" lists today, "week" the week; ``only`` keeps one state (or
    "gaps") in the list. One query for the shifts."""
    if only not in dict(STATES) and only != "gaps":
        only = ""
    tz = _local_tz()
    board = _Board(
        mode=mode,
        only=only,
        now=timezone.now(),
        tomorrow=start + timedelta(days=1),
        tz=tz,
        labels={key: str(label) for key, label in STATES},
    )
    # One query for the whole week: today's view is its first day, the gaps are its open rows.
    rows = coverage_values(
        start=start,
        end=start + timedelta(days=7),
        organization_ids=organization_ids,
    )
    for row in rows:
        board.add(row)
    day_labels: dict[Any, str] = {}

    def short_label(day) -> str:
        if day not in day_labels:
            day_labels[day] = date_format(day, "D j M")
        return day_labels[day]

    for gap in board.gaps:
        gap["day_label"] = short_label(gap["day"])
    week_days = [start.date() + timedelta(days=i) for i in range(7)]
    return {
        "mode": mode,
        "only": only,
        "days": [
            {"label": date_format(day, "l j F"), "rows": day_rows}
            for day, day_rows in board.days.items()
        ],
        "shown": board.shown,
        "total": board.total,
        "matched": board.matched,
        "truncated": board.shown < board.matched,
        "legend": [
            {"key": k, "label": label, "help": STATE_HELP[k], "count": board.state_counts.get(k, 0)}
            for k, label in STATES
        ],
        "gaps": board.gaps,
        "gap_total": sum(board.gaps_by_day.values()),
        "gap_days": [
            {"label": short_label(day), "count": board.gaps_by_day.get(day, 0)} for day in week_days
        ],
        "map_data": {"places": board.map_places()},
        "states": STATES,
    }


def _local_tz() -> ZoneInfo:
    name = settings.TIME_ZONE
    assert name is not None  # settings.py always sets TIME_ZONE
    return ZoneInfo(name)
