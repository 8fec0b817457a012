"""Member patrol pages (phone first): the shift finder, a shift, its actions, the patrol report.

Who may do what:
- The finder: members whose patrol role is in force (``services.can_patrol``).
- A shift page: patrol members of any organization, members of the place's organization, its
  coordinators, dispatchers. The place's notes and the roster are shown only to vouched members
  of the place's organization and its coordinators (``selectors.private_hidden_reason``; the page
  says which rule hid them); the patrol log only to the shift's people and the coordinators of
  the place's organization.
- Actions are POSTs that call one service each and come back to the shift page with a message:
  ``services.PatrolError`` becomes that message, ``services.NotAllowed`` the 403 page.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from vecinos.network.http import member_of
from vecinos.network.models import Tier
from vecinos.patrols import selectors, services
from vecinos.patrols.forms import (
    CheckInForm,
    LogForm,
    NearForm,
    OutcomeForm,
    PatrolReportForm,
    SignupForm,
)
from vecinos.patrols.models import Place, Shift
from vecinos.reports import services as report_services
from vecinos.reports.models import Activity, Report

RECEIPT_KEY = "patrol_receipt"
# The activity tile picked for the dispatcher before the patrol taps anything.
ACTIVITY_FOR_KIND: dict[str, str] = {
    Place.Kind.SCHOOL: Activity.SCHOOL,
    Place.Kind.COURTHOUSE: Activity.COURTHOUSE,
}


def _shift_or_refuse(request: HttpRequest, shift_id: int) -> Shift:
    shift = selectors.shift_for_page(shift_id)
    if shift is None:
        raise Http404
    if not selectors.may_view_shift(member_of(request), shift):
        raise PermissionDenied
    return shift


def shift_action(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A POST on a shift: signed in, allowed to see it; refusals become a message, 403 or 404."""

    @wraps(view)
    @never_cache
    @login_required
    @require_POST
    def wrapper(request: HttpRequest, shift_id: int) -> HttpResponse:
        shift = _shift_or_refuse(request, shift_id)
        try:
            return view(request, shift)
        except services.NotAllowed:
            raise PermissionDenied from None
        except services.PatrolError as exc:
            messages.error(request, str(exc))
            return redirect("patrol_shift", shift.pk)

    return wrapper


# --- Finder ---------------------------------------------------------------------------------------


@never_cache
@login_required
def shifts(request: HttpRequest) -> HttpResponse:
    user = member_of(request)
    if not services.can_patrol(user):
        raise PermissionDenied
    near = NearForm(request.GET)
    point = near.point()
    location_error = bool(near.errors)
    if point is not None:
        finder = selectors.open_shifts_near_location(user, *point)
    else:
        finder = selectors.open_shifts_in_my_areas(user)
    context = {
        "my_shifts": selectors.my_shifts(user),
        "finder": finder,
        "point": point,
        "location_error": location_error,
        "radius_km": selectors.NEAR_RADIUS_M // 1000,
        "days": selectors.FINDER_DAYS,
        "now": timezone.now(),
    }
    return render(request, "patrols/member/shifts.html", context)


# --- Shift page -----------------------------------------------------------------------------------


def _shift_context(request: HttpRequest, shift: Shift, **extra: Any) -> dict[str, Any]:
    user = member_of(request)
    now = timezone.now()
    mine = selectors.my_signup(shift, user)
    hidden_reason = selectors.private_hidden_reason(user, shift.place)
    private = hidden_reason is None
    see_log = selectors.can_see_log(user, shift, mine)
    staffing = selectors.staffing(shift, user)
    is_open = shift.status == Shift.Status.OPEN
    not_over = shift.ends_at > now
    check_in_from = shift.starts_at - services.CHECK_IN_EARLY
    under_way = is_open and now >= check_in_from
    can_patrol = services.can_patrol(user)
    lead_or_coord = services.can_report_outcome(shift, user)
    full = staffing.signed >= shift.max_people
    # Already on another shift at that time: no "Sign up" that can only be refused (outside
    # walk, session 18); one query, only when the button would show.
    clash = (
        can_patrol
        and mine is None
        and is_open
        and not_over
        and services.overlapping_signups(
            user, starts_at=shift.starts_at, ends_at=shift.ends_at
        ).exists()
    )
    context = {
        "shift": shift,
        "place": shift.place,
        "mine": mine,
        "staffing": staffing,
        "full": full,
        "can_see_private": private,
        "private_hidden_for_tier": hidden_reason == selectors.HIDDEN_NOT_VOUCHED,
        "roster": selectors.roster(shift) if private else None,
        "can_see_log": see_log,
        "log": selectors.log_entries(shift) if see_log else None,
        "log_form": extra.pop("log_form", None) or LogForm(),
        "is_open": is_open,
        "not_over": not_over,
        "check_in_from": check_in_from,
        "check_in_open": is_open and check_in_from <= now <= shift.ends_at,
        "clash": clash,
        "can_sign_up": can_patrol
        and mine is None
        and is_open
        and not_over
        and not full
        and not clash,
        "can_lead": (
            can_patrol and user.tier >= Tier.TRAINED and not staffing.has_lead and not full
        ),
        "can_take_swap": can_patrol
        and mine is None
        and is_open
        and not_over
        and not clash
        and staffing.offered > 0,
        "can_outcome": lead_or_coord and under_way,
        "can_report": selectors.may_file_report(user, shift, mine) and under_way,
        "show_receipt": shift.report_id and (mine is not None or private),
    }
    context.update(extra)
    return context


@never_cache
@login_required
def shift_page(request: HttpRequest, shift_id: int) -> HttpResponse:
    shift = _shift_or_refuse(request, shift_id)
    return render(request, "patrols/member/shift.html", _shift_context(request, shift))


@shift_action
def signup(request: HttpRequest, shift: Shift) -> HttpResponse:
    member = member_of(request)
    form = SignupForm(request.POST)
    lead = form.is_valid() and form.cleaned_data["lead"]
    services.signup(shift=shift, member=member, lead=lead)
    if lead:
        messages.success(request, _("You are signed up as the lead of this shift."))
    else:
        messages.success(request, _("You are signed up. Thank you!"))
    return redirect("patrol_shift", shift.pk)


@shift_action
def withdraw(request: HttpRequest, shift: Shift) -> HttpResponse:
    member = member_of(request)
    if services.withdraw(shift=shift, member=member):
        messages.success(request, _("You are no longer on this shift."))
    else:
        messages.error(request, _("You were not signed up for this shift."))
    return redirect("patrol_shift", shift.pk)


@shift_action
def swap_offer(request: HttpRequest, shift: Shift) -> HttpResponse:
    member = member_of(request)
    row = selectors.my_signup(shift, member)
    if row is None:
        raise services.PatrolError(_("You are not signed up for this shift."))
    if row.offered_for_swap:
        messages.info(request, _("Your place is already offered for a swap."))
    else:
        row.shift = shift
        services.offer_swap(signup_row=row, member=member)
        messages.success(
            request,
            _(
                "Your place is offered for a swap. You stay on the shift until another "
                "patrol member takes it."
            ),
        )
    return redirect("patrol_shift", shift.pk)


@shift_action
def swap_take(request: HttpRequest, shift: Shift) -> HttpResponse:
    member = member_of(request)
    if not services.can_patrol(member):
        raise services.NotAllowed
    if selectors.my_signup(shift, member) is not None:
        raise services.PatrolError(_("You are already signed up for this shift."))
    row = selectors.offered_row_for(shift, member)
    if row is None:
        raise services.PatrolError(_("That shift is no longer offered."))
    taken = services.take_swap(signup_row=row, member=member)
    if taken.is_lead:
        messages.success(request, _("You took the offered place. You are the lead of this shift."))
    else:
        messages.success(request, _("You took the offered place. Thank you!"))
    return redirect("patrol_shift", shift.pk)


@shift_action
def check_in(request: HttpRequest, shift: Shift) -> HttpResponse:
    member = member_of(request)
    point = CheckInForm(request.POST).point()
    lat, lng = point if point is not None else (None, None)
    row = services.check_in(shift=shift, member=member, lat=lat, lng=lng)
    if row.checked_in_at_place:
        messages.success(request, _("You are checked in at the place."))
    elif row.checked_in_at_place is False:
        messages.warning(
            request,
            _("You are checked in, but your phone is not at the place. Tell your lead."),
        )
    else:
        messages.success(request, _("You are checked in."))
    return redirect("patrol_shift", shift.pk)


@shift_action
def check_out(request: HttpRequest, shift: Shift) -> HttpResponse:
    member = member_of(request)
    services.check_out(shift=shift, member=member)
    messages.success(request, _("You are checked out. Thank you for patrolling!"))
    return redirect("patrol_shift", shift.pk)


@shift_action
def outcome(request: HttpRequest, shift: Shift) -> HttpResponse:
    member = member_of(request)
    form = OutcomeForm(request.POST)
    if not form.is_valid():
        raise services.PatrolError(_("Choose all clear or activity seen."))
    choice = form.cleaned_data["outcome"]
    services.mark_outcome(shift=shift, member=member, outcome=choice)
    if choice == Shift.Outcome.ACTIVITY:
        messages.warning(request, _("Activity seen. Tell the dispatchers what you see."))
        return redirect("patrol_report", shift.pk)
    messages.success(request, _("All clear is recorded. Thank you!"))
    return redirect("patrol_shift", shift.pk)


@shift_action
def log_add(request: HttpRequest, shift: Shift) -> HttpResponse:
    member = member_of(request)
    if not selectors.can_see_log(member, shift, selectors.my_signup(shift, member)):
        raise PermissionDenied
    form = LogForm(request.POST)
    if form.is_valid():
        try:
            services.log_add(shift=shift, member=member, text=form.cleaned_data["text"])
        except services.PatrolError as exc:
            form.add_error("text", str(exc))
        else:
            messages.success(request, _("Your note is in the patrol log."))
            return redirect(reverse("patrol_shift", args=[shift.pk]) + "#log")
    # Keep what was typed: the page comes back with the note and the reason.
    return render(
        request,
        "patrols/member/shift.html",
        _shift_context(request, shift, log_form=form),
        status=400,
    )


# --- Patrol report --------------------------------------------------------------------------------


def _report_refused(request: HttpRequest, shift: Shift, form: PatrolReportForm, text: str):
    form.add_error(None, text)
    return _render_report(request, shift, form, status=429)


def _render_report(
    request: HttpRequest, shift: Shift, form: PatrolReportForm, *, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "patrols/member/report.html",
        {"shift": shift, "place": shift.place, "form": form, "now": timezone.now()},
        status=status,
    )


@never_cache
@login_required
def report(request: HttpRequest, shift_id: int) -> HttpResponse:
    shift = _shift_or_refuse(request, shift_id)
    user = member_of(request)
    mine = selectors.my_signup(shift, user)
    if not selectors.may_file_report(user, shift, mine):
        raise PermissionDenied
    if shift.status != Shift.Status.OPEN or timezone.now() < (
        shift.starts_at - services.CHECK_IN_EARLY
    ):
        messages.error(
            request,
            _("This shift was cancelled.")
            if shift.status != Shift.Status.OPEN
            else _("The shift has not started yet."),
        )
        return redirect("patrol_shift", shift.pk)
    if request.method != "POST":
        initial = {"activity": ACTIVITY_FOR_KIND.get(shift.place.kind, "")}
        return _render_report(request, shift, PatrolReportForm(initial=initial))
    form = PatrolReportForm(request.POST)
    if not form.is_valid():
        return _render_report(request, shift, form, status=400)
    data = form.cleaned_data
    try:
        made = services.patrol_report(
            shift=shift,
            member=user,
            activity=data["activity"],
            agents_count=data["agents_count"],
            vehicles_count=data["vehicles_count"],
            description=data["description"],
            agency=data["agency"],
        )
    except services.NotAllowed:
        raise PermissionDenied from None
    except services.PatrolError as exc:
        form.add_error(None, str(exc))
        return _render_report(request, shift, form, status=400)
    except report_services.Banned:
        form.add_error(
            None,
            _("Reports from your account are paused. Call the hotline or your coordinator."),
        )
        return _render_report(request, shift, form, status=403)
    except report_services.RateLimited:
        return _report_refused(
            request,
            shift,
            form,
            _(
                "You sent many reports in a short time. Wait a few minutes, or call the "
                "hotline if it is urgent."
            ),
        )
    except report_services.ReportInvalid as exc:
        for name, message in exc.errors.items():
            form.add_error(name if name in form.fields else None, message)
        return _render_report(request, shift, form, status=400)
    request.session[RECEIPT_KEY] = made.receipt
    return redirect("patrol_report_done", shift.pk)


@never_cache
@login_required
def report_done(request: HttpRequest, shift_id: int) -> HttpResponse:
    shift = _shift_or_refuse(request, shift_id)
    receipt = request.session.get(RECEIPT_KEY)
    made = (
        Report.objects.filter(receipt=receipt, reporter_member=member_of(request)).first()
        if receipt
        else None
    )
    if made is None:
        return redirect("patrol_shift", shift.pk)
    return render(
        request,
        "patrols/member/report_done.html",
        {"shift": shift, "place": shift.place, "report": made},
    )
