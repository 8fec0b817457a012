"""Coordinator and dispatcher pages of the patrols app, and the calendar feeds.

Who may do what:
- Places, shift templates, holidays, shift generation and patrol logs: coordinators.
  An organization coordinator manages the places of the organizations they coordinate
  (``network.selectors.can_manage_org``); a coalition coordinator manages every place.
  A place someone may not manage answers 403 whether it exists or not, so ids cannot be probed.
- Coverage: dispatchers and coordinators. Dispatchers and coalition coordinators see every
  place; an organization coordinator sees the places of their organizations. "Ask people to
  fill" is allowed where ``services.ask_to_fill`` allows it (the place's coordinators and
  dispatchers).
- The calendar page: any signed-in member (their own link); coordinators also manage the
  links of their organizations.
- A calendar feed: no sign-in, the token in the URL is the credential; a revoked or unknown
  token answers 410 Gone.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from vecinos.core.ids import parse_id
from vecinos.core.nexturl import safe_next
from vecinos.network import selectors as network
from vecinos.network.http import member_of
from vecinos.network.models import Organization, Zone
from vecinos.patrols import calendar, selectors, services
from vecinos.patrols.coverage import coverage_board
from vecinos.patrols.forms_coord import (
    WEEKDAYS,
    FeedForm,
    HolidayForm,
    PlaceForm,
    ShiftChoiceForm,
    TemplateForm,
)
from vecinos.patrols.models import CalendarFeed, Holiday, PatrolLogEntry, Place, Shift

GENERATE_WEEKS = 4
LOGS_PAGE_SIZE = 50
UPCOMING_LIMIT = 30

# --- guards and helpers ---------------------------------------------------------------------------


def _guarded(check):
    """Sign-in first (anonymous -> sign-in page), then ``check(member)`` or 403."""

    def decorator(view):
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not check(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return never_cache(wrapped)

    return decorator


coordinator_view = _guarded(network.is_coordinator)
coverage_view = _guarded(selectors.can_see_coverage)


def _managed_place(request: HttpRequest, place_id: int) -> Place:
    place = Place.objects.filter(pk=place_id).select_related("organization", "zone").first()
    if place is None or not services.can_coordinate_place(member_of(request), place):
        raise PermissionDenied
    return place


def _local_range(days: int) -> tuple[datetime, datetime]:
    tz = services.local_tz()
    start = datetime.combine(timezone.localdate(), time.min, tz)
    return start, datetime.combine(timezone.localdate() + timedelta(days=days), time.min, tz)


# --- places ---------------------------------------------------------------------------------------


@coordinator_view
def places(request: HttpRequest) -> HttpResponse:
    member = member_of(request)
    organizations = network.organizations_for_roster(member)
    rows = (
        Place.objects.filter(organization__in=organizations)
        .select_related("organization", "zone")
        .defer("notes", "zone__cells", "zone__boundary")
        .annotate(template_count=Count("templates", distinct=True))
        .order_by("organization__name", "name")
    )
    return render(
        request,
        "patrols/coord/places.html",
        {"places": rows, "generate_weeks": GENERATE_WEEKS, "section": "places"},
    )


def _zone_outlines() -> list[dict[str, Any]]:
    """Neighborhood outlines drawn under the markers, so a map without tiles has landmarks."""
    return [
        {"name": name, "ring": boundary.get("coordinates", [[]])[0]}
        for name, boundary in Zone.objects.filter(boundary__isnull=False).values_list(
            "name", "boundary"
        )
        if isinstance(boundary, dict)
    ]


def _place_message(place: Place, created: bool) -> str:
    if place.zone_id:
        zone = Zone.objects.filter(pk=place.zone_id).values_list("name", flat=True).first()
        text = _("In the zone %(zone)s.") % {"zone": zone}
    else:
        text = _("No zone contains this point; check the pin if that is wrong.")
    return f"{_('Place added.') if created else _('Place saved.')} {text}"


@coordinator_view
def place_new(request: HttpRequest) -> HttpResponse:
    member = member_of(request)
    organizations = network.organizations_for_roster(member)
    form = PlaceForm(request.POST or None, organizations=organizations)
    if request.method == "POST" and form.is_valid():
        if not network.can_manage_org(member, form.cleaned_data["organization"]):
            raise PermissionDenied
        place = services.place_save(actor=member, place=Place(), data=form.cleaned_data)
        messages.success(request, _place_message(place, created=True))
        return redirect("patrol_place", place_id=place.pk)
    return render(
        request,
        "patrols/coord/place_form.html",
        {"form": form, "zones_data": _zone_outlines(), "section": "places"},
        status=400 if form.is_bound else 200,
    )


def _render_place(
    request: HttpRequest,
    place: Place,
    *,
    place_form: PlaceForm | None = None,
    template_form: TemplateForm | None = None,
    status: int = 200,
) -> HttpResponse:
    member = member_of(request)
    organizations = network.organizations_for_roster(member)
    if place_form is None:
        place_form = PlaceForm(
            initial={
                "name": place.name,
                "kind": place.kind,
                "organization": place.organization_id,
                "lat": place.lat,
                "lng": place.lng,
                "notes": place.notes,
                "active": place.active,
            },
            organizations=organizations,
        )
    day_names = dict(WEEKDAYS)
    templates = [
        {
            "template": t,
            "days": ", ".join(str(day_names[d]) for d in sorted(t.weekdays) if d in day_names),
        }
        for t in place.templates.all().order_by("start_time", "pk")
    ]
    now = timezone.now()
    upcoming = list(
        Shift.objects.filter(place=place, ends_at__gt=now)
        .annotate(n_signed=Count("signups"))
        .order_by("starts_at")[:UPCOMING_LIMIT]
    )
    return render(
        request,
        "patrols/coord/place.html",
        {
            "place": place,
            "place_form": place_form,
            "template_form": template_form or TemplateForm(),
            "templates": templates,
            "upcoming": upcoming,
            "zones_data": _zone_outlines(),
            "generate_weeks": GENERATE_WEEKS,
            "section": "places",
        },
        status=status,
    )


@coordinator_view
def place_detail(request: HttpRequest, place_id: int) -> HttpResponse:
    place = _managed_place(request, place_id)
    member = member_of(request)
    if request.method != "POST":
        return _render_place(request, place)
    form = PlaceForm(request.POST, organizations=network.organizations_for_roster(member))
    if not form.is_valid():
        return _render_place(request, place, place_form=form, status=400)
    if not network.can_manage_org(member, form.cleaned_data["organization"]):
        raise PermissionDenied
    services.place_save(actor=member, place=place, data=form.cleaned_data)
    messages.success(request, _place_message(place, created=False))
    return redirect("patrol_place", place_id=place.pk)


@coordinator_view
@require_POST
def template_new(request: HttpRequest, place_id: int) -> HttpResponse:
    place = _managed_place(request, place_id)
    form = TemplateForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.template_create(
                actor=member_of(request),
                place=place,
                weekdays=sorted(set(data["weekdays"])),
                start_time=data["start_time"],
                end_time=data["end_time"],
                min_people=data["min_people"],
                ideal_people=data["ideal_people"],
                max_people=data["max_people"],
                active_from=data["active_from"],
                active_until=data["active_until"],
            )
        except services.NotAllowed:
            raise PermissionDenied from None
        except services.PatrolError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                _(
                    "Shift template added. Press “Generate the next %(weeks)s weeks” to "
                    "create its shifts."
                )
                % {"weeks": GENERATE_WEEKS},
            )
            return redirect("patrol_place", place_id=place.pk)
    messages.error(request, _("The shift template was not saved. Check the fields marked below."))
    return _render_place(request, place, template_form=form, status=400)


@coordinator_view
@require_POST
def generate(request: HttpRequest) -> HttpResponse:
    # From a place's page, that place's shifts only (outside walk, session 19: the button there
    # made 278 shifts, every place's).
    place_id = parse_id(request.POST.get("place"))
    place = _managed_place(request, place_id) if place_id is not None else None
    created = services.generate_shifts_by(
        actor=member_of(request), weeks=GENERATE_WEEKS, place=place
    )
    messages.success(
        request,
        ngettext(
            "%(count)s new shift for the next %(weeks)s weeks.",
            "%(count)s new shifts for the next %(weeks)s weeks.",
            created,
        )
        % {"count": created, "weeks": GENERATE_WEEKS},
    )
    next_url = safe_next(request, request.POST.get("next", ""), reverse("patrol_coord"))
    return redirect(next_url)


# --- holidays -------------------------------------------------------------------------------------


@coordinator_view
def holidays(request: HttpRequest) -> HttpResponse:
    member = member_of(request)
    organizations = list(network.organizations_for_roster(member))
    allow_all = network.is_coalition_coordinator(member)
    form = HolidayForm(request.POST or None, organizations=organizations, allow_all=allow_all)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            organization_id = form.organization_id()
            try:
                holiday = services.holiday_add(
                    actor=member,
                    day=form.cleaned_data["date"],
                    name=form.cleaned_data["name"],
                    organization_id=organization_id,
                )
            except services.NotAllowed:
                raise PermissionDenied from None
            cancelled = getattr(holiday, "cancelled_count", 0)
            told = getattr(holiday, "told_count", 0)
            messages.success(
                request,
                _("Holiday added: %(shifts)s and %(people)s.")
                % {
                    "shifts": ngettext(
                        "%(count)s shift cancelled", "%(count)s shifts cancelled", cancelled
                    )
                    % {"count": cancelled},
                    "people": ngettext(
                        "%(count)s person told by text message",
                        "%(count)s people told by text message",
                        told,
                    )
                    % {"count": told},
                },
            )
            return redirect("patrol_holidays")
        status = 400
    org_ids = network.coordinated_org_ids(member)
    upcoming = Holiday.objects.filter(date__gte=timezone.localdate()).select_related("organization")
    if org_ids is not None:
        upcoming = upcoming.filter(Q(organization__isnull=True) | Q(organization_id__in=org_ids))
    return render(
        request,
        "patrols/coord/holidays.html",
        {"form": form, "holidays": upcoming[:200], "section": "holidays"},
        status=status,
    )


# --- patrol logs ----------------------------------------------------------------------------------


@coordinator_view
def logs(request: HttpRequest) -> HttpResponse:
    member = member_of(request)
    org_ids = network.coordinated_org_ids(member)
    entries = (
        PatrolLogEntry.objects.select_related("shift__place__organization", "author")
        .defer("shift__place__notes", "shift__place__organization__coordinator_contact")
        .order_by("-created_at", "-pk")
    )
    if org_ids is not None:
        entries = entries.filter(shift__place__organization_id__in=org_ids)
    organizations = network.organizations_for_roster(member)
    chosen = request.GET.get("org", "")
    if chosen:
        # parse_id: a number too big for the column would fail the query (a 500), not match.
        org_id = parse_id(chosen)
        if org_id is None or not network.can_manage_org(member, org_id):
            raise PermissionDenied
        entries = entries.filter(shift__place__organization_id=org_id)
    page = Paginator(entries, LOGS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "patrols/coord/logs.html",
        {
            "page": page,
            "organizations": organizations,
            "chosen": chosen,
            "section": "logs",
        },
    )


# --- coverage -------------------------------------------------------------------------------------


@coverage_view
def coverage(request: HttpRequest) -> HttpResponse:
    mode = "week" if request.GET.get("view") == "week" else "today"
    only = request.GET.get("state", "")
    start, _end = _local_range(7)
    scope = selectors.coverage_scope(member_of(request))
    board = coverage_board(organization_ids=scope, mode=mode, only=only, start=start)
    board["map_data"]["zones"] = _zone_outlines()
    board.update({"here": request.get_full_path(), "section": "coverage"})
    return render(request, "patrols/coord/coverage.html", board)


@coverage_view
@require_POST
def ask_fill(request: HttpRequest) -> HttpResponse:
    member = member_of(request)
    form = ShiftChoiceForm(request.POST)
    back = reverse("patrol_coverage")
    if not form.is_valid():
        messages.error(request, _("Choose a shift that needs people."))
        return redirect(back)
    back = safe_next(request, form.cleaned_data["next"], back)
    shift = Shift.objects.filter(pk=form.cleaned_data["shift"]).select_related("place").first()
    scope = selectors.coverage_scope(member)
    if shift is None or (scope is not None and shift.place.organization_id not in scope):
        raise PermissionDenied
    signed = shift.signups.count()
    if (
        shift.status != Shift.Status.OPEN
        or shift.ends_at <= timezone.now()
        or signed >= shift.min_people
    ):
        messages.info(
            request,
            _("The shift at %(place)s no longer needs people: nobody was asked.")
            % {"place": shift.place.name},
        )
        return redirect(back)
    try:
        result = services.ask_to_fill(shift=shift, actor=member)
    except services.NotAllowed:
        raise PermissionDenied from None
    place = shift.place.name
    # A second press within the hour texts only those not asked yet, and says so.
    already = (
        ngettext(
            "%(count)s patrol member near %(place)s was already asked in the last hour and "
            "was not texted again.",
            "%(count)s patrol members near %(place)s were already asked in the last hour and "
            "were not texted again.",
            result.already,
        )
        % {"count": result.already, "place": place}
        if result.already
        else ""
    )
    if result.asked:
        said = ngettext(
            "%(count)s patrol member near %(place)s was asked to fill the shift.",
            "%(count)s patrol members near %(place)s were asked to fill the shift.",
            result.asked,
        ) % {"count": result.asked, "place": place}
        messages.success(request, f"{said} {already}".strip())
    elif already:
        messages.info(request, already)
    else:
        messages.warning(
            request,
            _(
                "Nobody could be asked for %(place)s: no patrol member of its organization or "
                "zone with a phone is free."
            )
            % {"place": place},
        )
    return redirect(back)


# --- calendar links -------------------------------------------------------------------------------


def feed_url(request: HttpRequest, token: str) -> str:
    return f"{settings.PUBLIC_URL}{reverse('patrol_feed', args=[token])}"


def _render_calendar(
    request: HttpRequest, *, issued: dict[str, str] | None = None, status: int = 200
) -> HttpResponse:
    member = member_of(request)
    mine = CalendarFeed.objects.filter(
        member=member, organization__isnull=True, revoked_at__isnull=True
    ).order_by("-created_at")
    org_rows = []
    if network.is_coordinator(member):
        live: dict[int | None, list[CalendarFeed]] = {}  # organization_id: set by the filter
        for feed in CalendarFeed.objects.filter(
            organization__in=network.organizations_for_roster(member), revoked_at__isnull=True
        ).order_by("-created_at"):
            live.setdefault(feed.organization_id, []).append(feed)
        org_rows = [
            {"organization": org, "feeds": live.get(org.pk, [])}
            for org in network.organizations_for_roster(member).defer("coordinator_contact")
        ]
    return render(
        request,
        "patrols/coord/calendar.html",
        {"mine": list(mine), "org_rows": org_rows, "issued": issued, "section": "calendar"},
        status=status,
    )


@login_required
@never_cache
def calendar_page(request: HttpRequest) -> HttpResponse:
    member = member_of(request)
    if request.method != "POST":
        return _render_calendar(request)
    form = FeedForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("That calendar link could not be made. Try again."))
        return redirect("patrol_calendar")
    organization_id = form.cleaned_data["organization"]
    organization = None
    if organization_id is not None:
        organization = Organization.objects.filter(pk=organization_id).first()
        if organization is None or not network.can_manage_org(member, organization):
            raise PermissionDenied
    try:
        token = services.feed_replace(member=member, organization=organization)
    except services.NotAllowed:
        raise PermissionDenied from None
    url = feed_url(request, token)
    issued = {
        "url": url,
        "webcal": "webcal://" + url.split("://", 1)[-1],
        "name": organization.name if organization else "",
    }
    return _render_calendar(request, issued=issued)


@login_required
@never_cache
@require_POST
def calendar_revoke(request: HttpRequest, feed_id: int) -> HttpResponse:
    member = member_of(request)
    feed = CalendarFeed.objects.filter(pk=feed_id, revoked_at__isnull=True).first()
    if feed is None:
        raise PermissionDenied
    try:
        services.feed_revoke(member=member, feed=feed)
    except services.NotAllowed:
        raise PermissionDenied from None
    messages.success(request, _("That calendar link no longer works."))
    return redirect("patrol_calendar")


GONE = gettext_lazy(
    "This calendar link no longer works. Open Vecinos and make a new one on the calendar page."
)


@require_safe
@never_cache
def feed(request: HttpRequest, token: str) -> HttpResponse:
    row = services.feed_lookup(token) if 16 <= len(token) <= 100 else None
    body = calendar.feed_body(row) if row is not None else None
    if body is None:
        return HttpResponse(str(GONE), status=410, content_type="text/plain; charset=utf-8")
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="vecinos-patrols.ics"'
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


__all__ = [
    "ask_fill",
    "calendar_page",
    "calendar_revoke",
    "coverage",
    "feed",
    "generate",
    "holidays",
    "logs",
    "place_detail",
    "place_new",
    "places",
    "template_new",
]
