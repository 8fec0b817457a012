"""Pages: call-outs (compose, board, messages, stand-down), the responder's signed link, and
events (public list and page, RSVP, iCalendar, QR code, door check-in).

Who may do what:
- Call-out pages: dispatchers and coalition coordinators (every call-out), organization
  coordinators (their organization's), all trained (``services.can_activate``). Names on the
  board: see ``selectors.name_scope``.
- The signed link ``/r/<token>/``: whoever holds it; GET only shows, a CSRF-protected POST answers.
- Events: public ones for anyone, members-only ones for signed-in members; RSVP lists and the
  door only for the event's own organization's coordinators and a training's trainer.
"""

from __future__ import annotations

import io
from functools import wraps
from typing import Any

import icalendar
import segno
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from vecinos.alerts.models import Tier
from vecinos.core import languages, ratelimit
from vecinos.core.audit import audit
from vecinos.core.clientip import limit_key
from vecinos.core.coalition import coalition
from vecinos.core.ids import parse_id
from vecinos.core.privacy import source_key
from vecinos.mobilize import events, selectors, services
from vecinos.mobilize.forms import (
    ActivationForm,
    EventEditForm,
    EventForm,
    MessageForm,
    RsvpForm,
    StandDownForm,
)
from vecinos.mobilize.guidance import MAX_GUIDANCE
from vecinos.mobilize.models import Activation, Event, Response, Rsvp
from vecinos.network import selectors as network
from vecinos.network.http import member_of
from vecinos.reports.models import Incident

RSVP_LIMIT = 10
RSVP_WINDOW = 600


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def callout_view(view):
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            if _is_htmx(request):
                response = HttpResponse(status=204)
                response["HX-Redirect"] = redirect_to_login(reverse("mobilize")).url
                return response
            return redirect_to_login(request.get_full_path())
        if not services.can_activate(member_of(request)):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return never_cache(wrapped)


def _activation_or_404(request: HttpRequest, activation_id: int) -> Activation:
    activation = selectors.activation_get(activation_id, member_of(request))
    if activation is None:
        raise Http404
    return activation


@callout_view
@require_GET
def callouts(request: HttpRequest) -> HttpResponse:
    rows = list(selectors.visible_activations(member_of(request))[:50])
    return render(request, "mobilize/list.html", {"activations": rows})


@callout_view
@require_http_methods(["GET", "POST"])
def callout_new(request: HttpRequest) -> HttpResponse:
    actor = member_of(request)
    incident = None
    # parse_id: "²" is a digit to str.isdigit and not to int() (outside probe, session 18).
    incident_id = parse_id(request.POST.get("incident") or request.GET.get("incident") or "")
    if incident_id is not None:
        incident = Incident.objects.filter(pk=incident_id).first()
    form = ActivationForm(
        request.POST or None, initial={"incident": incident.pk if incident else None}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            activation = services.activation_create(
                actor=actor,
                staging_point=data["staging_point"],
                needed_by=data["needed_by"],
                roles=form.roles(),
                guidance=form.guidance(),
                tiers=data["tiers"],
                zones=list(data["zones"]),
                point=form.point(),
                radius_m=data.get("radius_m"),
                polygon=data.get("polygon") or None,
                incident=incident,
                quota=data["quota"],
                wave_size=data["wave_size"],
                wave_minutes=data["wave_minutes"],
                rights_article=data.get("rights_article") or "",
            )
            activation = services.activation_send(activation=activation, actor=actor)
        except services.ActivationError as exc:
            for field, message in exc.errors.items():
                form.add_error(field if field in form.fields else None, message)
        except services.NotAllowed:
            raise PermissionDenied from None
        else:
            if activation.status == Activation.Status.PENDING and Tier.PUBLIC in activation.tiers:
                messages.warning(
                    request,
                    _(
                        "Waiting for a second person: another coordinator or dispatcher must "
                        "approve a call-out to the public."
                    ),
                )
            elif activation.status == Activation.Status.PENDING:
                messages.warning(
                    request,
                    _(
                        "Waiting for a second person: a dispatcher or another coordinator must "
                        "approve it."
                    ),
                )
            else:
                messages.success(
                    request,
                    ngettext(
                        "Call-out sent to %(n)s person.",
                        "Call-out sent to %(n)s people.",
                        activation.recipients_count,
                    )
                    % {"n": activation.recipients_count},
                )
            return redirect("callout_detail", activation.pk)
    return render(request, "mobilize/new.html", {"form": form, "incident": incident})


def _board_context(activation: Activation, viewer) -> dict:
    return {
        "activation": activation,
        "board": selectors.board(activation, viewer),
        "live": activation.status == Activation.Status.OPEN,
    }


@callout_view
@require_GET
def callout_detail(request: HttpRequest, activation_id: int) -> HttpResponse:
    activation = _activation_or_404(request, activation_id)
    viewer = member_of(request)
    context = _board_context(activation, viewer)
    context.update(
        {
            "message_form": MessageForm(),
            "stand_down_form": StandDownForm(),
            "can_approve": activation.status == Activation.Status.PENDING
            and services.may_approve(viewer, activation),
            "guidance": _guidance_sent(activation),
            "history": list(activation.messages.order_by("-created_at")[:20]),
        }
    )
    return render(request, "mobilize/detail.html", context)


@callout_view
@require_GET
def callout_board(request: HttpRequest, activation_id: int) -> HttpResponse:
    activation = _activation_or_404(request, activation_id)
    context = _board_context(activation, member_of(request))
    response = render(request, "mobilize/_board.html", context)
    if not context["live"]:
        response.status_code = 286  # htmx: stop polling
    return response


def _post(request: HttpRequest, activation_id: int, action) -> HttpResponse:
    activation = _activation_or_404(request, activation_id)
    try:
        action(activation)
    except services.NotAllowed:
        raise PermissionDenied from None
    except services.ActivationError as exc:
        for message in exc.errors.values():
            messages.error(request, message)
    return redirect("callout_detail", activation.pk)


@callout_view
@require_POST
def callout_approve(request: HttpRequest, activation_id: int) -> HttpResponse:
    def approve(activation: Activation) -> None:
        activation = services.activation_approve(activation=activation, actor=member_of(request))
        if activation.status == Activation.Status.OPEN:
            messages.success(
                request,
                ngettext(
                    "Approved. Call-out sent to %(n)s person.",
                    "Approved. Call-out sent to %(n)s people.",
                    activation.recipients_count,
                )
                % {"n": activation.recipients_count},
            )

    return _post(request, activation_id, approve)


@callout_view
@require_POST
def callout_message(request: HttpRequest, activation_id: int) -> HttpResponse:
    form = MessageForm(request.POST)

    def send(activation: Activation) -> None:
        if not form.is_valid():
            raise services.ActivationError({"text": _("Check the message and who gets it.")})
        msg = services.message_send(
            activation=activation,
            actor=member_of(request),
            audience=form.cleaned_data["audience"],
            texts=form.texts(),
            new_staging_point=form.cleaned_data["new_staging_point"],
        )
        messages.success(
            request,
            ngettext(
                "Message sent to %(n)s person.",
                "Message sent to %(n)s people.",
                msg.recipients_count,
            )
            % {"n": msg.recipients_count},
        )

    return _post(request, activation_id, send)


@callout_view
@require_POST
def callout_stand_down(request: HttpRequest, activation_id: int) -> HttpResponse:
    form = StandDownForm(request.POST)

    def stand(activation: Activation) -> None:
        if not form.is_valid():
            raise services.ActivationError(
                {"text": _("Keep the message under %(n)s characters.") % {"n": MAX_GUIDANCE}}
            )
        msg = services.stand_down(
            activation=activation, actor=member_of(request), texts=form.texts()
        )
        if msg is not None:
            messages.success(
                request,
                ngettext(
                    "Stand-down sent to %(n)s person.",
                    "Stand-down sent to %(n)s people.",
                    msg.recipients_count,
                )
                % {"n": msg.recipients_count},
            )
        else:
            messages.info(request, _("This call-out is closed."))

    return _post(request, activation_id, stand)


@callout_view
@require_POST
def callout_log(request: HttpRequest, activation_id: int) -> HttpResponse:
    def save(activation: Activation) -> None:
        services.after_action_save(
            activation=activation,
            actor=member_of(request),
            text=request.POST.get("after_action", ""),
        )
        messages.success(request, _("After-action log saved."))

    return _post(request, activation_id, save)


# --- the responder's link ------------------------------------------------------------------------

ANSWERS = {"coming", "declined", "arrived", "left"}
ETA_CHOICES = (5, 10, 15, 20, 30, 45, 60)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def callout_link(request: HttpRequest, token: str) -> HttpResponse:
    """The signed link in a call-out. GET only shows it (link previews fetch links); a POST,
    a person pressing a button, answers. CSRF-protected; works without JavaScript."""
    response = services.load_link(token)
    if response is None:
        return render(request, "mobilize/link_gone.html", status=410)
    activation = response.activation
    outcome = ""
    lang = services._page_language(activation, response.language)
    if request.method == "POST":
        answer = request.POST.get("answer", "")
        eta_raw = request.POST.get("eta", "")
        eta = int(eta_raw) if eta_raw.isascii() and eta_raw.isdigit() and len(eta_raw) < 6 else None
        role = request.POST.get("role", "")
        if answer in ANSWERS:
            outcome = services.respond(
                response=response,
                answer=answer,
                # The push notification's actions post here too (static/js/sw.js).
                via="push" if request.POST.get("via") == "push" else "link",
                eta_minutes=eta,
                role=role,
            )
            response.refresh_from_db()
    guidance, guidance_lang = services.guidance_for(activation, lang)
    with translation.override(lang):
        page = render(
            request,
            "mobilize/link.html",
            {
                "token": token,
                "r": response,
                "activation": activation,
                "guidance": guidance,
                "guidance_lang": guidance_lang,
                "outcome": outcome,
                "open": activation.status == Activation.Status.OPEN
                and activation.expires_at > timezone.now(),
                "needed_by": services.local_time(activation.needed_by),
                "eta_choices": ETA_CHOICES,
                "roles": [
                    (k, v) for k, v in services.role_names(lang).items() if k in activation.roles
                ],
                "S": Response.Status,
            },
        )
    page["Content-Language"] = lang
    page["X-Robots-Tag"] = "noindex"
    return page


# --- events --------------------------------------------------------------------------------------


def _viewer(request: HttpRequest):
    return request.user if request.user.is_authenticated else None


def _guidance_sent(activation: Activation) -> list[tuple[str, str, str, str]]:
    """(code, its name, text, direction) of each language's guidance: the page's language
    first, then the registry's order (it was a long unlabelled list, Arabic first: outside
    walk, session 18)."""
    here = languages.get(translation.get_language())
    order = {lang.code: i for i, lang in enumerate(languages.LANGUAGES)}
    if here is not None:
        order[here.code] = -1
    rows = []
    for code, text in activation.guidance.items():
        lang = languages.get(code)
        name = lang.native_name if lang is not None else code
        rows.append((code, name, text, "rtl" if languages.is_rtl(code) else "ltr"))
    return sorted(rows, key=lambda row: (order.get(row[0], len(order)), row[0]))


def _event_or_404(request: HttpRequest, event_id: int) -> Event:
    event = selectors.event_for(event_id, _viewer(request))
    if event is None:
        raise Http404
    return event


def _event_lang(request: HttpRequest) -> str:
    """The page's language, whole ("zh-hant", not "zh"): titles fall back to Spanish, then
    English; an RSVP's texts are written in it (events._lang)."""
    return translation.get_language() or "es"


@require_GET
def event_list(request: HttpRequest) -> HttpResponse:
    lang = _event_lang(request)
    rows = [
        {"event": e, "title": e.title(lang), "hosts": [h.name for h in e.hosts.all()]}
        for e in selectors.public_events()[:100]
    ]
    manage = request.user.is_authenticated and network.is_coordinator(request.user)
    return render(request, "mobilize/events.html", {"rows": rows, "manage": manage})


@require_http_methods(["GET", "POST"])
def event_detail(request: HttpRequest, event_id: int) -> HttpResponse:
    event = _event_or_404(request, event_id)
    lang = _event_lang(request)
    member = _viewer(request)
    # A signed-in member finds the form filled in from their profile: their own phone keeps the
    # place at once, with one click (outside walk, session 19: they were asked like a stranger).
    initial = (
        {"nickname": member.username, "phone": member.phone, "email": member.email}
        if member is not None
        else {}
    )
    form = RsvpForm(request.POST or None, initial=initial)
    done = events.member_rsvp(event, member) if request.method == "GET" else None
    sent = ""
    if request.method == "POST":
        if not ratelimit.hit(
            "rsvp", source_key(limit_key(request)), limit=RSVP_LIMIT, window_seconds=RSVP_WINDOW
        ):
            return render(request, "alerts/too_many.html", status=429)
        if form.is_valid():
            try:
                done = events.rsvp_request(
                    event=event,
                    nickname=form.cleaned_data["nickname"],
                    phone=form.cleaned_data["phone"],
                    email=form.cleaned_data["email"],
                    language=lang,
                    member=member,
                )
            except events.EventError as exc:
                for field, message in exc.errors.items():
                    form.add_error(field if field in form.fields else None, message)
            else:
                if done is None:
                    # The same answer whether that phone or email had an RSVP already.
                    sent = "phone" if form.cleaned_data["phone"].strip() else "email"
    return render(
        request,
        "mobilize/event.html",
        {
            **_event_facts(event, lang),
            "form": form,
            "done": done,
            "sent": sent,
            "door_qr": _door_qr(request, done) if done is not None and _has_place(done) else "",
            "share": request.build_absolute_uri(reverse("event_detail", args=[event.pk])),
            "can_manage": request.user.is_authenticated
            and selectors.can_manage_event(request.user, event),
            "own_phone": bool(member is not None and member.phone),
        },
        status=400 if request.method == "POST" and done is None and not sent else 200,
    )


def _event_facts(event: Event, lang: str) -> dict:
    return {
        "event": event,
        "title": event.title(lang),
        "description": event.description(lang),
        "hosts": [h.name for h in event.hosts.all()],
        # Each language by its own name ("Español", "English"), never by its code.
        "event_languages": [
            known for known in map(languages.get, event.languages or []) if known is not None
        ],
        "going": selectors.going_count(event),
        "full": event.capacity is not None and selectors.going_count(event) >= event.capacity,
    }


def _door_qr(request: HttpRequest, rsvp: Rsvp) -> str:
    """The person shows this at the door; whoever checks people in scans it with their phone's
    camera, which opens the door list at this RSVP (signed, this event only)."""
    door_url = request.build_absolute_uri(
        f"{reverse('event_door', args=[rsvp.event_id])}?t={events.door_token(rsvp)}"
    )
    return segno.make(door_url, error="m", micro=False).svg_inline(scale=4, border=4)


@never_cache
@require_http_methods(["GET", "POST"])
def event_rsvp(request: HttpRequest, event_id: int, token: str) -> HttpResponse:
    """The link sent to an RSVP's phone or email: a button keeps the place (a POST, so a link
    preview never confirms), then the door code."""
    event = Event.objects.filter(pk=event_id).first()
    rsvp = events.load_rsvp_link(token, event) if event is not None else None
    if event is None or rsvp is None:
        raise Http404
    over = event.cancelled or event.ends_at < timezone.now()
    if request.method == "POST" and request.POST.get("action") == "cancel":
        events.rsvp_cancel(rsvp=rsvp)
        return render(
            request, "mobilize/rsvp_link.html", {**_event_facts(event, rsvp.language), "gone": True}
        )
    if request.method == "POST" and rsvp.status == Rsvp.Status.PENDING and not over:
        rsvp = events.rsvp_confirm(rsvp=rsvp)
    confirmed = rsvp.status != Rsvp.Status.PENDING
    return render(
        request,
        "mobilize/rsvp_link.html",
        {
            **_event_facts(event, rsvp.language),
            "rsvp": rsvp,
            "confirmed": confirmed,
            "over": over,
            "full": not confirmed and events.is_full(event),
            "door_qr": _door_qr(request, rsvp) if _has_place(rsvp) else "",
        },
    )


def _has_place(rsvp: Rsvp) -> bool:
    """A door code is for someone with a place, not the waitlist (outside walk, session 18)."""
    return rsvp.status == Rsvp.Status.GOING


@require_GET
def event_qr(request: HttpRequest, event_id: int) -> HttpResponse:
    event = _event_or_404(request, event_id)
    url = request.build_absolute_uri(reverse("event_detail", args=[event.pk]))
    # A file of its own (an <img>'s source): with its namespace, or browsers draw nothing.
    out = io.BytesIO()
    segno.make(url, error="m", micro=False).save(out, kind="svg", scale=6, border=4)
    return HttpResponse(out.getvalue(), content_type="image/svg+xml")


@require_GET
def event_feed(request: HttpRequest) -> HttpResponse:
    lang = _event_lang(request)
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Vecinos//events//EN")
    cal.add("version", "2.0")
    # The coalition's name, on one line (X-WR-CALNAME is written as is).
    name = " ".join(coalition().short_name.split())
    cal.add("x-wr-calname", _("%(coalition)s events") % {"coalition": name})
    for event in selectors.public_events()[:500]:
        item = icalendar.Event()
        item.add("uid", f"event-{event.pk}@vecinos")
        item.add("summary", event.title(lang))
        item.add("dtstart", event.starts_at)
        item.add("dtend", event.ends_at)
        item.add("dtstamp", event.created_at)
        item.add("location", event.place)
        item.add("description", event.description(lang))
        item.add("url", request.build_absolute_uri(reverse("event_detail", args=[event.pk])))
        cal.add_component(item)
    return HttpResponse(cal.to_ical(), content_type="text/calendar; charset=utf-8")


def _managed_event(request: HttpRequest, event_id: int) -> Event:
    if not request.user.is_authenticated:
        raise PermissionDenied
    event = Event.objects.filter(pk=event_id).first()
    if event is None or not selectors.can_manage_event(member_of(request), event):
        raise PermissionDenied
    return event


@never_cache
@require_http_methods(["GET", "POST"])
def event_new(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    actor = member_of(request)
    if not network.is_coordinator(actor):
        raise PermissionDenied
    form = EventForm(
        request.POST or None,
        organizations=network.organizations_for_roster(actor),
        # A coalition coordinator may name any organization: no "ask a coalition coordinator"
        # (outside walk, session 18).
        any_host=network.is_coalition_coordinator(actor),
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            event = events.event_create(
                actor=actor,
                organization=d["organization"],
                kind=d["kind"],
                **_event_details(form),
                hosts=list(d["hosts"]),
                trainer=actor if d["kind"] == Event.Kind.TRAINING else None,
            )
        except events.EventError as exc:
            for field, message in exc.errors.items():
                form.add_error(field if field in form.fields else None, message)
        except events.NotAllowed:
            raise PermissionDenied from None
        else:
            messages.success(request, _("Event created."))
            return redirect("event_door", event.pk)
    mine = list(selectors.manageable_events(actor)[:50])
    lang = _event_lang(request)
    for e in mine:
        e.title_here = e.title(lang)  # type: ignore[attr-defined]
    return render(request, "mobilize/event_new.html", {"form": form, "mine": mine})


def _event_details(form: EventForm) -> dict:
    """What the event form and the edit form both say of an event, as the services take it."""
    d = form.cleaned_data
    return {
        "titles": form.titles(),
        "descriptions": form.descriptions(),
        "starts_at": d["starts_at"],
        "ends_at": d["ends_at"],
        "place": d["place"],
        "capacity": d["capacity"],
        "accessibility": d["accessibility"],
        "public": d["public"],
    }


@never_cache
@require_http_methods(["GET", "POST"])
def event_edit(request: HttpRequest, event_id: int) -> HttpResponse:
    """Its organizers change the event, or call it off; the people coming are told."""
    event = _managed_event(request, event_id)
    actor = member_of(request)
    if request.method == "POST" and request.POST.get("action") == "cancel":
        told = events.event_cancel(event=event, actor=actor)
        messages.success(
            request,
            ngettext(
                "The event is cancelled. %(count)s person was told.",
                "The event is cancelled. %(count)s people were told.",
                told,
            )
            % {"count": told},
        )
        return redirect("event_door", event.pk)
    form = EventEditForm(
        request.POST or None, initial=EventEditForm.initial_for(event), organizations=None
    )
    if request.method == "POST" and form.is_valid():
        try:
            events.event_update(event=event, actor=actor, **_event_details(form))
        except events.EventError as exc:
            for field, message in exc.errors.items():
                form.add_error(field if field in form.fields else None, message)
        else:
            messages.success(request, _("Event saved."))
            return redirect("event_door", event.pk)
    return render(
        request,
        "mobilize/event_edit.html",
        {"form": form, "event": event, "title": event.title(_event_lang(request))},
    )


@never_cache
@require_GET
def event_door(request: HttpRequest, event_id: int) -> HttpResponse:
    event = _managed_event(request, event_id)
    q = (request.GET.get("q") or "").strip().lower()
    # Not the RSVPs nobody confirmed: anyone can type a name and someone else's number.
    rows = list(
        Rsvp.objects.filter(event=event).exclude(
            status__in=[Rsvp.Status.CANCELLED, Rsvp.Status.PENDING]
        )
    )
    scanned = events.load_door_token(request.GET.get("t", ""), event)
    if request.GET.get("t"):
        rows = [r for r in rows if r.pk == scanned]
    elif q:
        rows = [r for r in rows if q in (r.nickname or "").lower() or q in (r.phone or "")[-4:]
                or q in (r.email or "").lower()]  # fmt: skip
    audit("event.rsvps_view", actor=member_of(request), target=event, shown=len(rows))
    return render(
        request,
        "mobilize/door.html",
        {
            "event": event,
            "title": event.title(_event_lang(request)),
            "rows": rows,
            "q": q,
            "stats": selectors.attendance(event),
        },  # fmt: skip
    )


@never_cache
@require_POST
def event_check_in(request: HttpRequest, event_id: int, rsvp_id: int) -> HttpResponse:
    event = _managed_event(request, event_id)
    rsvp = Rsvp.objects.filter(pk=rsvp_id, event=event).first()
    if rsvp is None:
        raise Http404
    if event.cancelled:  # nobody arrives at a cancelled event (the door page hides the buttons)
        messages.error(request, _("This event is cancelled."))
        return redirect("event_door", event.pk)
    events.check_in(event=event, rsvp=rsvp, actor=member_of(request))
    messages.success(request, _("Checked in."))
    return redirect(f"{reverse('event_door', args=[event.pk])}?q={request.POST.get('q', '')}")


@never_cache
@require_POST
def event_walk_in(request: HttpRequest, event_id: int) -> HttpResponse:
    event = _managed_event(request, event_id)
    if event.cancelled:
        messages.error(request, _("This event is cancelled."))
        return redirect("event_door", event.pk)
    events.walk_in(
        event=event, actor=member_of(request), delta=-1 if request.POST.get("minus") else 1
    )
    return redirect("event_door", event.pk)
