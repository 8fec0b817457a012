"""iCalendar (RFC 5545) feeds of patrol shifts, built with the ``icalendar`` library.

Two kinds of private feed, each behind a random token (``services.feed_create``):

- a member's feed: the shifts they signed up for, one VEVENT each (a cancelled shift stays in
  the feed with STATUS:CANCELLED, so calendar apps show it struck out instead of silently
  dropping it). Nothing about other people: no names, no roster.
- an organization's feed, for its coordinators: each shift template of its places as one
  recurring VEVENT (RRULE FREQ=WEEKLY;BYDAY=...;UNTIL=... when the template ends), holidays and
  cancelled shifts as EXDATE, the coming two weeks' generated shifts as overrides
  (RECURRENCE-ID) carrying how many people signed up, and shifts made without a template as
  single VEVENTs. Place names and counts only, never volunteers' names.

Times are written with TZID=America/Los_Angeles (the project's TIME_ZONE) and the calendar
carries the matching VTIMEZONE. UIDs are stable: ``template-<id>@host`` and ``shift-<id>@host``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import icalendar
from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from vecinos.network import selectors as network
from vecinos.network.models import Member, Organization
from vecinos.patrols.models import Holiday, Place, Shift, ShiftTemplate, Signup
from vecinos.patrols.services import local_tz

BYDAY = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
PAST_DAYS = 60  # how far back single events go
FUTURE_DAYS = 120  # how far ahead single events go
OVERRIDE_DAYS = 14  # generated shifts with their sign-up counts, for the coming two weeks
ENDED_TEMPLATE_DAYS = 90  # templates that ended longer ago than this are left out


def _host() -> str:
    return urlsplit(settings.PUBLIC_URL).hostname or "vecinos.invalid"


def _uid(kind: str, pk: int) -> str:
    return f"{kind}-{pk}@{_host()}"


def _language(*candidates: str) -> str:
    """The first of the person's or organization's languages that Vecinos speaks."""
    return next((code for code in candidates if code in ("en", "es")), "en")


def _new_calendar(name: str) -> icalendar.Calendar:
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Vecinos//Community patrols//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    # One line: X-WR-CALNAME is written as is, and a line break (an organization's name pasted
    # from a document) would make the whole feed unreadable to calendar apps.
    cal.add("x-wr-calname", " ".join(name.split()))
    cal.add("x-wr-timezone", settings.TIME_ZONE)
    # Calendar apps may poll hourly; shifts do not change faster than that.
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")
    return cal


def _finish(cal: icalendar.Calendar, earliest: date | None) -> bytes:
    first = (earliest or timezone.localdate()) - timedelta(days=366)
    cal.add_missing_timezones(first_date=first, last_date=date(2038, 1, 1))
    return cal.to_ical()


def _local(value: datetime) -> datetime:
    return timezone.localtime(value, local_tz())


def _event(uid: str, start: datetime, end: datetime, summary: str, stamp: datetime):
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", _local(start))
    event.add("dtend", _local(end))
    event.add("summary", summary)
    return event


def _shift_url(shift_id: int) -> str:
    # The member side's shift page (the same link the fill requests send).
    return f"{settings.PUBLIC_URL}/patrols/shifts/{shift_id}/"


# --- A member's own shifts --------------------------------------------------------------------


def member_calendar(member: Member) -> bytes:
    """The member's signed-up shifts as single events. Only their own data."""
    now = timezone.now()
    rows = (
        Signup.objects.filter(
            member=member,
            shift__starts_at__gte=now - timedelta(days=PAST_DAYS),
            shift__starts_at__lt=now + timedelta(days=FUTURE_DAYS),
        )
        .select_related("shift__place")
        .only(
            "is_lead",
            "shift__id",
            "shift__starts_at",
            "shift__ends_at",
            "shift__status",
            "shift__cancelled_reason",
            "shift__place__id",
            "shift__place__name",
            "shift__place__lat",
            "shift__place__lng",
        )
        .order_by("shift__starts_at")
    )
    with translation.override(_language(member.preferred_language, *(member.languages or []))):
        cal = _new_calendar(_("My patrol shifts (Vecinos)"))
        earliest = None
        for row in rows:
            shift, place = row.shift, row.shift.place
            cancelled = shift.status == Shift.Status.CANCELLED
            summary = _("Patrol: %(place)s") % {"place": place.name}
            if cancelled:
                summary = _("Cancelled: %(summary)s") % {"summary": summary}
            event = _event(_uid("shift", shift.pk), shift.starts_at, shift.ends_at, summary, now)
            event.add("location", place.name)
            event.add("geo", (place.lat, place.lng))
            event.add("url", _shift_url(shift.pk))
            lines = []
            if row.is_lead:
                lines.append(_("You are the lead of this shift."))
            if cancelled and shift.cancelled_reason:
                lines.append(_("Cancelled: %(reason)s") % {"reason": shift.cancelled_reason})
            if lines:
                event.add("description", "\n".join(lines))
            event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
            event.add("transp", "OPAQUE")
            cal.add_component(event)
            local_day = _local(shift.starts_at).date()
            earliest = local_day if earliest is None else min(earliest, local_day)
        return _finish(cal, earliest)


# --- An organization's places, for its coordinators ---------------------------------------------


def first_occurrence(template: ShiftTemplate) -> date | None:
    """The first day on or after active_from that falls on one of the template's weekdays."""
    days = set(template.weekdays or [])
    if not days:
        return None
    day = template.active_from
    for _i in range(7):
        if day.weekday() in days:
            break
        day += timedelta(days=1)
    if template.active_until is not None and day > template.active_until:
        return None
    return day


def _is_occurrence(template: ShiftTemplate, local_start: datetime) -> bool:
    day = local_start.date()
    first = first_occurrence(template)
    return (
        first is not None
        and day >= first
        and (template.active_until is None or day <= template.active_until)
        and day.weekday() in template.weekdays
        and local_start.time().replace(tzinfo=None) == template.start_time
    )


def _holiday_days(organization: Organization) -> list[date]:
    return list(
        Holiday.objects.filter(Q(organization__isnull=True) | Q(organization=organization))
        .values_list("date", flat=True)
        .distinct()
    )


def org_calendar(organization: Organization) -> bytes:
    """Every shift template of the organization's places as a recurring event, with exceptions."""
    tz = local_tz()
    now = timezone.now()
    today = timezone.localdate()
    templates = list(
        ShiftTemplate.objects.filter(place__organization=organization, place__active=True)
        .filter(
            Q(active_until__isnull=True)
            | Q(active_until__gte=today - timedelta(days=ENDED_TEMPLATE_DAYS))
        )
        .select_related("place")
        .only(
            "id",
            "weekdays",
            "start_time",
            "end_time",
            "min_people",
            "ideal_people",
            "max_people",
            "active_from",
            "active_until",
            "place__id",
            "place__name",
            "place__lat",
            "place__lng",
        )
        .order_by("place__name", "start_time", "pk")
    )
    holidays = _holiday_days(organization)
    # Generated shifts: cancelled ones become EXDATEs, the coming ones overrides with counts.
    # Keyed by template_id (never None here: filtered on template__in); rows carry n_signed.
    by_template: dict[int | None, list[Any]] = defaultdict(list)
    template_shifts = (
        Shift.objects.filter(template__in=[t.pk for t in templates])
        .filter(
            Q(status=Shift.Status.CANCELLED)
            | Q(
                starts_at__gte=now - timedelta(hours=12),
                starts_at__lt=now + timedelta(days=OVERRIDE_DAYS),
            )
        )
        .annotate(n_signed=Count("signups"))
        .only("id", "template_id", "starts_at", "ends_at", "status", "min_people", "ideal_people")
        .order_by("starts_at")
    )
    for shift in template_shifts:
        by_template[shift.template_id].append(shift)
    loose = list(
        Shift.objects.filter(
            place__organization=organization,
            template__isnull=True,
            starts_at__gte=now - timedelta(days=PAST_DAYS),
            starts_at__lt=now + timedelta(days=FUTURE_DAYS),
        )
        .select_related("place")
        .annotate(n_signed=Count("signups"))
        .only(
            "id",
            "starts_at",
            "ends_at",
            "status",
            "cancelled_reason",
            "min_people",
            "ideal_people",
            "place__id",
            "place__name",
            "place__lat",
            "place__lng",
        )
        .order_by("starts_at")
    )
    language = _language(*(organization.languages or []))
    with translation.override(language):
        cal = _new_calendar(
            _("Patrols of %(organization)s (Vecinos)") % {"organization": organization.name}
        )
        earliest: date | None = None
        for template in templates:
            first = first_occurrence(template)
            if first is None:
                continue
            earliest = first if earliest is None else min(earliest, first)
            _add_template(cal, template, first, holidays, by_template[template.pk], tz, now)
        for shift in loose:
            _add_single(cal, shift, shift.place, now)
            local_day = _local(shift.starts_at).date()
            earliest = local_day if earliest is None else min(earliest, local_day)
        return _finish(cal, earliest)


def _people_text(*, minimum: int, ideal: int, maximum: int) -> str:
    return _("%(min)s to %(max)s people, ideally %(ideal)s.") % {
        "min": minimum,
        "ideal": ideal,
        "max": maximum,
    }


def _signed_text(signed: int, shift: Shift) -> str:
    return _("%(signed)s signed up (minimum %(min)s, ideally %(ideal)s).") % {
        "signed": signed,
        "min": shift.min_people,
        "ideal": shift.ideal_people,
    }


def _add_template(
    cal: icalendar.Calendar,
    template: ShiftTemplate,
    first: date,
    holidays: list[date],
    shifts: list[Any],
    tz,
    now: datetime,
) -> None:
    place = template.place
    uid = _uid("template", template.pk)
    summary = _("Patrol: %(place)s") % {"place": place.name}
    start = datetime.combine(first, template.start_time, tz)
    end = datetime.combine(first, template.end_time, tz)
    event = _event(uid, start, end, summary, now)
    rule: dict[str, object] = {
        "freq": "weekly",
        "byday": [BYDAY[d] for d in sorted(set(template.weekdays))],
    }
    if template.active_until is not None:
        # With a TZID start, UNTIL must be in UTC (RFC 5545 3.3.10): the last day's start.
        rule["until"] = datetime.combine(template.active_until, template.start_time, tz).astimezone(
            UTC
        )
    event.add("rrule", rule)
    event.add("location", place.name)
    event.add("geo", (place.lat, place.lng))
    event.add(
        "description",
        _people_text(
            minimum=template.min_people,
            ideal=template.ideal_people,
            maximum=template.max_people,
        ),
    )
    event.add("status", "CONFIRMED")
    event.add("transp", "OPAQUE")

    excluded: set[datetime] = set()
    for day in holidays:
        local_start = datetime.combine(day, template.start_time, tz)
        if _is_occurrence(template, local_start):
            excluded.add(local_start)
    overrides = []
    for shift in shifts:
        local_start = _local(shift.starts_at)
        if not _is_occurrence(template, local_start):
            # Generated under an older version of the template: not part of this rule.
            _add_single(cal, shift, place, now)
            continue
        if shift.status == Shift.Status.CANCELLED:
            excluded.add(local_start)
        elif local_start not in excluded:
            overrides.append(shift)
    if excluded:
        event.add("exdate", sorted(excluded))
    cal.add_component(event)

    for shift in overrides:
        signed = shift.n_signed
        override = _event(uid, shift.starts_at, shift.ends_at, summary, now)
        override.add("recurrence-id", _local(shift.starts_at))
        override.add("location", place.name)
        override.add("geo", (place.lat, place.lng))
        override.add("description", _signed_text(signed, shift))
        override.add("url", _shift_url(shift.pk))
        override.add("status", "CONFIRMED")
        cal.add_component(override)


def _add_single(cal: icalendar.Calendar, shift: Shift, place: Place, now: datetime) -> None:
    cancelled = shift.status == Shift.Status.CANCELLED
    summary = _("Patrol: %(place)s") % {"place": place.name}
    if cancelled:
        summary = _("Cancelled: %(summary)s") % {"summary": summary}
    event = _event(_uid("shift", shift.pk), shift.starts_at, shift.ends_at, summary, now)
    event.add("location", place.name)
    event.add("geo", (place.lat, place.lng))
    event.add("url", _shift_url(shift.pk))
    signed = getattr(shift, "n_signed", None)
    if signed is not None:
        event.add("description", _signed_text(signed, shift))
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    cal.add_component(event)


# --- The feed for a token ------------------------------------------------------------------------


def feed_body(feed) -> bytes | None:
    """The calendar for a live feed row, or None when what it pointed at is gone or its owner
    may no longer see it: deactivated, or (an organization's feed) no longer coordinating that
    organization. Organization feeds made before feeds had owners have none and never serve."""
    member = (
        Member.objects.filter(pk=feed.member_id, is_active=True).first()
        if feed.member_id is not None
        else None
    )
    if member is None:
        return None
    if feed.organization_id is not None:
        organization = Organization.objects.filter(pk=feed.organization_id).first()
        if organization is None or not network.can_manage_org(member, organization):
            return None
        return org_calendar(organization)
    return member_calendar(member)
