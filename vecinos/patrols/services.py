"""Patrol writes: shifts, sign-up, swaps, check-in, all-clear, reminders, fill requests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from vecinos.alerts.models import SubscriptionArea
from vecinos.core import geo
from vecinos.core.audit import audit
from vecinos.messaging import selectors as messaging_selectors
from vecinos.messaging import services as messaging
from vecinos.network import selectors as network
from vecinos.network.models import Member, Membership, Role, Tier
from vecinos.patrols import coverage as coverage_reads
from vecinos.patrols import feeds
from vecinos.patrols.errors import NotAllowed, PatrolError
from vecinos.patrols.models import (
    Holiday,
    PatrolLogEntry,
    Place,
    Shift,
    ShiftTemplate,
    Signup,
)
from vecinos.reports import services as reports
from vecinos.reports.services import zone_id_for

CHECK_IN_EARLY = timedelta(minutes=30)
AT_PLACE_METERS = 300


def local_tz() -> ZoneInfo:
    name = settings.TIME_ZONE
    assert name is not None  # settings.py always sets TIME_ZONE
    return ZoneInfo(name)


# --- Who may do what ------------------------------------------------------------------------


def can_patrol(member: Member) -> bool:
    return member.is_authenticated and network.has_role(member, Role.PATROL)


def can_coordinate_place(member: Member, place: Place) -> bool:
    return member.is_authenticated and network.can_manage_org(member, place.organization_id)


def is_org_member(member: Member, organization_id: int) -> bool:
    return (
        member.is_authenticated
        and Membership.objects.filter(member=member, organization_id=organization_id).exists()
    )


# --- Templates and generation ---------------------------------------------------------------


def template_validate(
    *,
    weekdays: list[int],
    start_time: time,
    end_time: time,
    min_people: int,
    ideal_people: int,
    max_people: int,
) -> None:
    if end_time <= start_time:
        raise PatrolError(gettext_lazy("The shift must end after it starts."))
    if not weekdays or any(d not in range(7) for d in weekdays):
        raise PatrolError(gettext_lazy("Choose at least one day of the week."))
    if not (1 <= min_people <= ideal_people <= max_people <= 50):
        raise PatrolError(
            gettext_lazy("People needed must be: minimum ≤ ideal ≤ maximum, at most 50.")
        )


@transaction.atomic
def template_create(*, actor: Member, place: Place, **fields) -> ShiftTemplate:
    if not can_coordinate_place(actor, place):
        raise NotAllowed
    template_validate(
        weekdays=fields["weekdays"],
        start_time=fields["start_time"],
        end_time=fields["end_time"],
        min_people=fields.get("min_people", 2),
        ideal_people=fields.get("ideal_people", 4),
        max_people=fields.get("max_people", 6),
    )
    template = ShiftTemplate.objects.create(place=place, created_by=actor, **fields)
    audit(
        "patrol.template_create",
        actor=actor,
        target=template,
        organization_id=place.organization_id,
    )
    return template


def _holidays(start: date, end: date) -> dict[date, set[int | None]]:
    found: dict[date, set[int | None]] = {}
    for day, org in Holiday.objects.filter(date__gte=start, date__lte=end).values_list(
        "date", "organization_id"
    ):
        found.setdefault(day, set()).add(org)
    return found


def generate_shifts(
    *, weeks: int = 4, start: date | None = None, place_id: int | None = None
) -> int:
    """Create the shifts of every active template (or one place's) for the coming weeks
    (idempotent)."""
    tz = local_tz()
    start = start or timezone.localdate()
    end = start + timedelta(weeks=weeks)
    holidays = _holidays(start, end)
    found = ShiftTemplate.objects.filter(active_from__lte=end, place__active=True).filter(
        Q(active_until__isnull=True) | Q(active_until__gte=start)
    )
    shifts = Shift.objects.filter(
        starts_at__gte=datetime.combine(start, time.min, tz),
        starts_at__lt=datetime.combine(end, time.min, tz),
    )
    if place_id is not None:
        found, shifts = found.filter(place_id=place_id), shifts.filter(place_id=place_id)
    templates = list(found.select_related("place"))
    existing = set(shifts.values_list("place_id", "starts_at"))
    new = []
    for t in templates:
        day = max(start, t.active_from)
        # active_until is the template's last day, inclusive (as the calendar feed's UNTIL).
        last = min(end, t.active_until + timedelta(days=1)) if t.active_until else end
        while day < last:
            off = holidays.get(day, set())
            if day.weekday() in t.weekdays and not (None in off or t.place.organization_id in off):
                starts = datetime.combine(day, t.start_time, tz)
                if (t.place_id, starts) not in existing:
                    new.append(
                        Shift(
                            template=t,
                            place_id=t.place_id,
                            starts_at=starts,
                            ends_at=datetime.combine(day, t.end_time, tz),
                            min_people=t.min_people,
                            ideal_people=t.ideal_people,
                            max_people=t.max_people,
                        )
                    )
                    existing.add((t.place_id, starts))
            day += timedelta(days=1)
    Shift.objects.bulk_create(new, batch_size=2000, ignore_conflicts=True)
    return len(new)


@transaction.atomic
def holiday_add(*, actor: Member, day: date, name: str, organization_id: int | None) -> Holiday:
    """Add a holiday; shifts on that day are cancelled and their people told."""
    if organization_id is None and not network.is_coalition_coordinator(actor):
        raise NotAllowed
    if organization_id is not None and not network.can_manage_org(actor, organization_id):
        raise NotAllowed
    holiday = Holiday.objects.create(date=day, name=name[:120], organization_id=organization_id)
    tz = local_tz()
    shifts = Shift.objects.filter(
        starts_at__gte=datetime.combine(day, time.min, tz),
        starts_at__lt=datetime.combine(day + timedelta(days=1), time.min, tz),
        status=Shift.Status.OPEN,
    )
    if organization_id is not None:
        shifts = shifts.filter(place__organization_id=organization_id)
    cancelled = told = 0
    for shift in shifts.select_related("place"):
        told += shift_cancel(shift=shift, reason=name, actor=actor)
        cancelled += 1
    # For the page that added it: how many shifts were cancelled and how many people were told.
    holiday.cancelled_count, holiday.told_count = cancelled, told  # type: ignore[attr-defined]
    audit(
        "patrol.holiday",
        actor=actor,
        organization_id=organization_id,
        day=str(day),
        cancelled=cancelled,
        told=told,
    )
    return holiday


def shift_cancel(*, shift: Shift, reason: str, actor: Member | None = None) -> int:
    shift.status = Shift.Status.CANCELLED
    shift.cancelled_reason = reason[:120]
    shift.save(update_fields=["status", "cancelled_reason"])
    told = 0
    specs = []
    for signup in shift.signups.select_related("member"):
        spec = _message_spec(
            signup.member,
            purpose="patrol",
            key=f"patrol:cancel:{shift.pk}:{signup.member_id}",
            text=lambda s=shift: (
                _("Vecinos: your patrol shift at %(place)s on %(when)s is cancelled (%(why)s).")
                % {"place": s.place.name, "when": _when(s), "why": s.cancelled_reason}
            ),
            ref_id=shift.pk,
        )
        if spec is not None:
            specs.append(spec)
            told += 1
    messaging.deliveries_enqueue(specs)
    return told


def _when(shift: Shift) -> str:
    """Day and time in the active language (called inside translation.override)."""
    from django.utils.formats import date_format

    local = timezone.localtime(shift.starts_at, local_tz())
    return f"{date_format(local, 'D j M')} {date_format(local, 'H:i')}"


def _message_spec(
    member: Member, *, purpose: str, key: str, text, ref_id: int, ref_item: int | None = None
):
    if not member.phone:
        return None
    language = member.preferred_language if member.preferred_language in ("en", "es") else "es"
    with translation.override(language):
        body = text()
    return messaging.DeliverySpec(
        purpose=purpose,
        ref_type="shift",
        ref_id=ref_id,
        ref_item=ref_item,
        contact=messaging.contact_point(
            channel="sms", address=member.phone, member=member, language=language
        ),
        body=body,
        language=language,
        key=key,
    )


# --- Sign-up, withdraw, swap --------------------------------------------------------------------


def overlapping_signups(
    member: Member, *, starts_at: datetime | OuterRef, ends_at: datetime | OuterRef
) -> QuerySet[Signup]:
    """The member's sign-ups on open shifts overlapping this time: nobody is on two at once.
    The bounds may be OuterRefs (the finder leaves such shifts out in the same query)."""
    return Signup.objects.filter(
        member=member,
        shift__status=Shift.Status.OPEN,
        shift__starts_at__lt=ends_at,
        shift__ends_at__gt=starts_at,
    )


@transaction.atomic
def signup(*, shift: Shift, member: Member, lead: bool = False) -> Signup:
    if not can_patrol(member):
        raise NotAllowed
    shift = Shift.objects.select_for_update().get(pk=shift.pk)
    if shift.status != Shift.Status.OPEN or shift.ends_at <= timezone.now():
        raise PatrolError(gettext_lazy("This shift is no longer open."))
    if Signup.objects.filter(shift=shift, member=member).exists():
        raise PatrolError(gettext_lazy("You are already signed up for this shift."))
    if shift.signups.count() >= shift.max_people:
        raise PatrolError(gettext_lazy("This shift is full. Look for another one nearby."))
    if overlapping_signups(member, starts_at=shift.starts_at, ends_at=shift.ends_at).exists():
        raise PatrolError(gettext_lazy("You already have a shift at that time."))
    if lead:
        if member.tier < Tier.TRAINED:
            raise PatrolError(gettext_lazy("Leads must be trained."))
        if shift.signups.filter(is_lead=True).exists():
            raise PatrolError(gettext_lazy("This shift already has a lead."))
    try:
        return Signup.objects.create(shift=shift, member=member, is_lead=lead)
    except IntegrityError:
        raise PatrolError(gettext_lazy("You are already signed up for this shift.")) from None


def _still_ahead(shift: Shift) -> None:
    """Withdrawing and swapping are for shifts that are open and not over: history is kept."""
    if shift.status != Shift.Status.OPEN:
        raise PatrolError(gettext_lazy("This shift was cancelled."))
    if shift.ends_at <= timezone.now():
        raise PatrolError(gettext_lazy("This shift is over: it stays in the patrol's history."))


def withdraw(*, shift: Shift, member: Member) -> bool:
    row = Signup.objects.filter(shift=shift, member=member).first()
    if row is None:
        return False
    _still_ahead(shift)
    if row.checked_in_at is not None:
        raise PatrolError(gettext_lazy("You already checked in: check out instead."))
    deleted, _rows = Signup.objects.filter(pk=row.pk).delete()
    return bool(deleted)


def offer_swap(*, signup_row: Signup, member: Member) -> Signup:
    if signup_row.member_id != member.pk:
        raise NotAllowed
    _still_ahead(signup_row.shift)
    if signup_row.checked_in_at is not None:
        raise PatrolError(gettext_lazy("You already checked in: check out instead."))
    signup_row.offered_for_swap = True
    signup_row.save(update_fields=["offered_for_swap"])
    return signup_row


@transaction.atomic
def take_swap(*, signup_row: Signup, member: Member) -> Signup:
    row = Signup.objects.select_for_update().select_related("shift").get(pk=signup_row.pk)
    if not row.offered_for_swap:
        raise PatrolError(gettext_lazy("That shift is no longer offered."))
    if row.member_id == member.pk or not can_patrol(member):
        raise NotAllowed
    shift = row.shift
    _still_ahead(shift)
    if overlapping_signups(member, starts_at=shift.starts_at, ends_at=shift.ends_at).exists():
        raise PatrolError(gettext_lazy("You already have a shift at that time."))
    if row.is_lead and member.tier < Tier.TRAINED:
        raise PatrolError(gettext_lazy("Leads must be trained."))
    previous = row.member_id
    row.member = member
    row.offered_for_swap = False
    row.save(update_fields=["member", "offered_for_swap"])
    audit("patrol.swap", actor=member, target=row, previous=previous)
    return row


# --- On the day ------------------------------------------------------------------------------


def _my_signup(shift: Shift, member: Member) -> Signup:
    row = Signup.objects.filter(shift=shift, member=member).first()
    if row is None:
        raise PatrolError(gettext_lazy("You are not signed up for this shift."))
    return row


def check_in(
    *, shift: Shift, member: Member, lat: float | None = None, lng: float | None = None
) -> Signup:
    """Only "at the place or not" and the time are kept: never the coordinates."""
    row = _my_signup(shift, member)
    now = timezone.now()
    if shift.status != Shift.Status.OPEN:
        raise PatrolError(gettext_lazy("This shift was cancelled."))
    if now > shift.ends_at:
        raise PatrolError(gettext_lazy("This shift is over."))
    if now < shift.starts_at - CHECK_IN_EARLY:
        raise PatrolError(gettext_lazy("Check-in opens 30 minutes before the shift starts."))
    if row.checked_in_at is not None:
        raise PatrolError(gettext_lazy("You are already checked in."))
    at_place = None
    if lat is not None and lng is not None:
        try:
            geo.validate_lat_lng(lat, lng)
        except (geo.GeoError, TypeError, ValueError):
            raise PatrolError(gettext_lazy("That location is not on the map.")) from None
        at_place = geo.haversine_m(lat, lng, shift.place.lat, shift.place.lng) <= AT_PLACE_METERS
    row.checked_in_at, row.checked_in_at_place = now, at_place
    row.save(update_fields=["checked_in_at", "checked_in_at_place"])
    return row


def check_out(*, shift: Shift, member: Member) -> Signup:
    row = _my_signup(shift, member)
    if row.checked_in_at is None:
        raise PatrolError(gettext_lazy("Check in first."))
    if row.checked_out_at is not None:
        raise PatrolError(gettext_lazy("You already checked out."))
    row.checked_out_at = timezone.now()
    row.save(update_fields=["checked_out_at"])
    return row


def _under_way(shift: Shift) -> None:
    """Outcomes and patrol reports: from when check-in opens, on shifts that were not cancelled."""
    if shift.status != Shift.Status.OPEN:
        raise PatrolError(gettext_lazy("This shift was cancelled."))
    if timezone.now() < shift.starts_at - CHECK_IN_EARLY:
        raise PatrolError(gettext_lazy("The shift has not started yet."))


def can_report_outcome(shift: Shift, member: Member) -> bool:
    return Signup.objects.filter(shift=shift, member=member, is_lead=True).exists() or (
        can_coordinate_place(member, shift.place)
    )


@transaction.atomic
def mark_outcome(*, shift: Shift, member: Member, outcome: str) -> Shift:
    if outcome not in (Shift.Outcome.ALL_CLEAR, Shift.Outcome.ACTIVITY):
        raise PatrolError(gettext_lazy("Choose all clear or activity seen."))
    if not can_report_outcome(shift, member):
        raise NotAllowed
    _under_way(shift)
    shift.outcome, shift.outcome_at, shift.outcome_by = outcome, timezone.now(), member
    shift.save(update_fields=["outcome", "outcome_at", "outcome_by"])
    return shift


def patrol_report(
    *,
    shift: Shift,
    member: Member,
    activity: str,
    agents_count: int | None,
    vehicles_count: int | None,
    description: str,
    agency: str = "unknown",
):
    """The report of a patrol that saw activity: pre-filled with place and time; trusted."""

    if not Signup.objects.filter(shift=shift, member=member).exists() and not (
        can_coordinate_place(member, shift.place)
    ):
        raise NotAllowed
    _under_way(shift)
    data = reports.ReportInput(
        channel="patrol",
        language=member.preferred_language,
        activity=activity,
        agency=agency,
        agents_count=agents_count,
        vehicles_count=vehicles_count,
        lat=shift.place.lat,
        lng=shift.place.lng,
        place_text=shift.place.name,
        seen_at=timezone.now(),
        description=description,
        reporter_member=member,
    )
    key = reports.check_source(f"member:{member.pk}", bucket="member")
    report = reports.report_submit(data=data, source_key_value=key)
    # A patrol on its shift is a trusted reporter, whatever the member's own vetting tier.
    type(report).objects.filter(pk=report.pk).update(trusted=True, flood_group="")
    report.trusted = True
    Shift.objects.filter(pk=shift.pk).update(
        report=report,
        outcome=Shift.Outcome.ACTIVITY,
        outcome_at=timezone.now(),
        outcome_by=member,
    )
    return report


def log_add(*, shift: Shift, member: Member, text: str) -> PatrolLogEntry:
    text = text.strip()
    if not text or len(text) > 1000:
        raise PatrolError(gettext_lazy("Write a note of at most 1000 characters."))
    if not Signup.objects.filter(shift=shift, member=member).exists() and not (
        can_coordinate_place(member, shift.place)
    ):
        raise NotAllowed
    return PatrolLogEntry.objects.create(shift=shift, author=member, text=text)


# --- Reminders and fill requests ------------------------------------------------------------


def send_reminders(*, now: datetime | None = None) -> int:
    """The day before and one hour before, through messaging (idempotent per window)."""
    now = now or timezone.now()
    specs = []
    for label, ahead in (("24h", timedelta(hours=24)), ("1h", timedelta(hours=1))):
        window = Signup.objects.filter(
            shift__status=Shift.Status.OPEN,
            shift__starts_at__gt=now + ahead - timedelta(minutes=30),
            shift__starts_at__lte=now + ahead + timedelta(minutes=30),
        ).select_related("shift__place", "member")
        for row in window:
            spec = _message_spec(
                row.member,
                purpose="reminder",
                key=f"reminder:{row.shift_id}:{row.member_id}:{label}",
                text=lambda r=row: (
                    _("Vecinos reminder: your patrol shift at %(place)s starts %(when)s.")
                    % {"place": r.shift.place.name, "when": _when(r.shift)}
                ),
                ref_id=row.shift_id,
            )
            if spec is not None:
                specs.append(spec)
    with transaction.atomic():
        messaging.deliveries_enqueue(specs)
    return len(specs)


# A second press of "ask people to fill" within this time texts only people not asked yet.
ASK_AGAIN_AFTER = timedelta(hours=1)


@dataclass
class FillAsk:
    asked: int  # texted now
    already: int  # near the shift and free, but asked within ASK_AGAIN_AFTER: not texted again


@transaction.atomic
def ask_to_fill(*, shift: Shift, actor: Member, radius_m: float = 3000, limit: int = 50) -> FillAsk:
    """One tap: ask patrol members near an understaffed shift to sign up. Each ask is a
    delivery naming the member (its ref_item): a press soon after asks nobody twice."""
    if not (can_coordinate_place(actor, shift.place) or network.has_role(actor, Role.DISPATCHER)):
        raise NotAllowed
    # Two presses at once (a double tap) take turns: the second sees whom the first asked.
    Shift.objects.select_for_update().only("pk").get(pk=shift.pk)
    now = timezone.now()
    taken = set(shift.signups.values_list("member_id", flat=True))
    candidates = (
        Member.objects.filter(is_active=True, memberships__role=Role.PATROL)
        .exclude(pk__in=taken)
        .distinct()
    )
    zone_members = set()
    if shift.place.zone_id:
        zone_members = set(
            SubscriptionArea.objects.filter(zone_id=shift.place.zone_id).values_list(
                "subscriber__member_id", flat=True
            )
        )
    org_members = set(
        Membership.objects.filter(organization_id=shift.place.organization_id).values_list(
            "member_id", flat=True
        )
    )
    asked_lately = messaging_selectors.items_messaged_since(
        purpose="patrol_fill", ref_type="shift", ref_id=shift.pk, since=now - ASK_AGAIN_AFTER
    )
    near = [m for m in candidates if m.pk in zone_members or m.pk in org_members]
    already = sum(1 for m in near if m.pk in asked_lately)
    chosen = [m for m in near if m.pk not in asked_lately][:limit]
    link = f"{settings.PUBLIC_URL}/patrols/shifts/{shift.pk}/"
    # A new key each clock hour: an ask after ASK_AGAIN_AFTER is a new message (the key alone
    # once kept every later ask from going out), two in the same hour share their key.
    hour = int(now.timestamp()) // 3600
    specs = []
    for member in chosen:
        spec = _message_spec(
            member,
            purpose="patrol_fill",
            key=f"fill:{shift.pk}:{member.pk}:{hour}",
            text=lambda: (
                _(
                    "Vecinos: the patrol at %(place)s on %(when)s needs people. "
                    "Can you come? %(link)s"
                )
                % {"place": shift.place.name, "when": _when(shift), "link": link}
            ),
            ref_id=shift.pk,
            ref_item=member.pk,
        )
        if spec is not None:
            specs.append(spec)
    messaging.deliveries_enqueue(specs)
    audit("patrol.ask_to_fill", actor=actor, target=shift, asked=len(specs), already=already)
    return FillAsk(asked=len(specs), already=already)


# --- Coverage: reads, in patrols/coverage.py (the names stay importable from here) -----------

CoverageItem = coverage_reads.CoverageItem
CoverageRow = coverage_reads.CoverageRow
coverage = coverage_reads.coverage
coverage_state = coverage_reads.coverage_state
coverage_values = coverage_reads.coverage_values


# --- Places and generation by a coordinator ---------------------------------------------------


PLACE_FIELDS = ("name", "kind", "organization", "notes", "active")


@transaction.atomic
def place_save(*, actor: Member, place: Place, data: dict) -> Place:
    """Create or update a place from a coordinator's form (audited); the zone follows the pin.
    The caller has checked the actor may manage ``data["organization"]``."""
    created = place.pk is None
    previous_org = place.organization_id
    for name in PLACE_FIELDS:
        setattr(place, name, data[name])
    place.lat, place.lng = data["lat"], data["lng"]
    place.zone_id = zone_id_for(place.lat, place.lng)
    place.save()
    if created:
        audit(
            "patrol.place_create", actor=actor, target=place, organization_id=place.organization_id
        )
    else:
        audit(
            "patrol.place_update",
            actor=actor,
            target=place,
            organization_id=place.organization_id,
            previous_organization=previous_org,
        )
    return place


def generate_shifts_by(*, actor: Member, weeks: int, place: Place | None = None) -> int:
    """A coordinator's "generate shifts now", for every place or one (audited)."""
    created = generate_shifts(weeks=weeks, place_id=place.pk if place is not None else None)
    audit(
        "patrol.generate",
        actor=actor,
        created=created,
        weeks=weeks,
        place=place.pk if place is not None else None,
    )
    return created


# --- Calendar feeds: in patrols/feeds.py (the names stay importable from here) ---------------

feed_create = feeds.feed_create
feed_lookup = feeds.feed_lookup
feed_replace = feeds.feed_replace
feed_revoke = feeds.feed_revoke
