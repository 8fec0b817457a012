"""Pages of the alerts app.

Who may do what:
- Alerts list, compose, detail, live progress, phone-tree view, outbox: ``services.can_alert``
  (dispatchers, coalition and organization coordinators, all trained). Approving a public alert
  takes a second, different one of them (``services.alert_approve`` enforces it).
- The outbox: the same people. Opt-out imports and undo: coordinators.
- The captain page: members whose captain role is in force; it is the only page that shows a
  phone number, only the assigned captain's own calls, and every view of it is audited.
- The acknowledgement link and the public subscribe pages: anyone holding the link / anyone,
  rate-limited. They never say whether a number is already subscribed or opted out.
- My alerts: any signed-in member, for their own subscription only.

Alert pages never show a phone number: a recipient is a member's username or "subscriber #id".
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from functools import wraps
from typing import Any

import phonenumbers
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from vecinos.alerts import cap, selectors, services, timing
from vecinos.alerts.forms import (
    DEFAULT_RADIUS_M,
    LABEL_CHOICES,
    MESSAGE_LANGUAGES,
    AlertForm,
    AreaForm,
    ChannelsForm,
    ConfirmCodeForm,
    OptOutImportForm,
    OptOutUndoForm,
    PublicSubscribeForm,
    filled_templates,
)
from vecinos.alerts.models import Alert, AlertRecipient, Subscriber, SubscriptionArea, Tier
from vecinos.core import ratelimit
from vecinos.core.audit import audit
from vecinos.core.clientip import limit_key
from vecinos.core.privacy import source_key
from vecinos.messaging import services as messaging
from vecinos.network.http import member_of
from vecinos.network.models import Zone
from vecinos.network.phones import phone_index

SUBSCRIBE_LIMIT = 5
SUBSCRIBE_WINDOW = 600
PHONE_LIMIT = 3
PHONE_WINDOW = 3600
CONFIRM_LIMIT = 10
ZIP_RADIUS_M = 2000
DEFAULT_TIERS = [Tier.INTERNAL, Tier.RESPONDERS, Tier.MEMBERS]


# --- helpers ----------------------------------------------------------------------------------


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def alerting_view(view):
    """Sign-in, then the alerting permission. A signed-out poll sends the whole page to sign-in."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            if _is_htmx(request):
                response = HttpResponse(status=204)
                current = request.headers.get("HX-Current-URL") or reverse("alerts")
                response["HX-Redirect"] = redirect_to_login(current).url
                return response
            return redirect_to_login(request.get_full_path())
        if not selectors.can_alert(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return never_cache(wrapped)


def _alert_or_404(request: HttpRequest, alert_id: int) -> Alert:
    alert = selectors.alert_get(alert_id, member_of(request))
    if alert is None:
        raise Http404
    return alert


def _client_key(request: HttpRequest) -> str:
    return source_key(limit_key(request))


def _too_many(request: HttpRequest) -> HttpResponse:
    return render(request, "alerts/too_many.html", status=429)


def _display_phone(e164: str) -> str:
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    fmt = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == 1
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, fmt)


def _message_language(language: str) -> str:
    return language if language in MESSAGE_LANGUAGES else "es"


# --- alerts: list, compose, detail -------------------------------------------------------------


@alerting_view
@require_GET
def alerts(request: HttpRequest) -> HttpResponse:
    # Annotated with counts; ack_percent is added here for the template.
    rows: list[Any] = selectors.recent_alerts(member=member_of(request))
    for alert in rows:
        alert.ack_percent = selectors.percent(alert.acked, alert.recipients_count)
    return render(request, "alerts/list.html", {"alerts": rows})


def _confirmed_incident(incident_id: int | None):
    from vecinos.reports.models import Incident

    if not incident_id:
        return None
    incident = Incident.objects.select_related("zone").filter(pk=incident_id).first()
    if incident is None:
        return None
    confirmed = Incident.Status.CONFIRMED
    return incident if confirmed in (incident.status, incident.outcome) else None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except (TypeError, ValueError):
        return None


def _parent_area(parent: Alert) -> str:
    return parent.area_label or ", ".join(z.name for z in parent.zones.all())


def _prefill(request: HttpRequest, parent: Alert | None) -> tuple[dict, dict, Any]:
    """Initial form values and the filled templates of every kind (for the kind switcher)."""
    now = timezone.now()
    initial: dict[str, Any] = {"expires_hours": 4, "radius_m": DEFAULT_RADIUS_M}
    incident = None
    if parent is not None:
        kind = request.GET.get("kind")
        kind = kind if kind in services.FOLLOWUP_KINDS else Alert.Kind.UPDATE
        area = _parent_area(parent)
        templates = filled_templates(area=area, when=now)
        initial.update(kind=kind, parent=parent.pk, area_label=parent.area_label)
    else:
        incident = _confirmed_incident(_int(request.GET.get("incident")))
        if request.GET.get("incident") and incident is None:
            messages.error(request, _("Only a confirmed incident can be turned into an alert."))
        if incident is not None:
            area = incident.zone.name if incident.zone else ""
            when = incident.verified_at or incident.created_at
            templates = filled_templates(area=area, when=when)
            lat, lng = incident.lat, incident.lng
            if lat is None and incident.zone is not None:
                lat, lng = incident.zone.center_lat, incident.zone.center_lng
            initial.update(
                kind=Alert.Kind.SIGHTING,
                incident=incident.pk,
                area_label=area,
                lat=lat,
                lng=lng,
                tiers=list(DEFAULT_TIERS),
            )
        else:
            templates = filled_templates(when=now)
            initial.update(kind=Alert.Kind.SIGHTING, tiers=list(DEFAULT_TIERS))
    chosen = templates[str(initial["kind"])]
    for lang in MESSAGE_LANGUAGES:
        initial[f"message_{lang}"] = chosen[lang]
    return initial, templates, incident


@alerting_view
def alert_new(request: HttpRequest) -> HttpResponse:
    parent_id = _int(request.POST.get("parent") or request.GET.get("parent"))
    parent = None
    if parent_id is not None:
        parent = selectors.alert_get(parent_id, member_of(request))
        if parent is None or parent.status != Alert.Status.SENT:
            raise Http404
    initial, templates, incident = _prefill(request, parent)
    if request.method == "POST":
        form = AlertForm(request.POST, parent=parent)
        if form.is_valid():
            data = form.cleaned_data
            incident = _confirmed_incident(data.get("incident")) if data.get("incident") else None
            if data.get("incident") and incident is None:
                form.add_error(None, _("Only a confirmed incident can be turned into an alert."))
            else:
                try:
                    alert = services.alert_create(
                        actor=member_of(request),
                        kind=data["kind"],
                        tiers=list(parent.tiers) if parent else data.get("tiers", []),
                        messages=form.messages(),
                        zones=list(data.get("zones") or []) or None,
                        point=None if parent else form.point(),
                        radius_m=None if parent or form.point() is None else data.get("radius_m"),
                        expires_at=form.expires_at(),
                        incident=incident,
                        parent=parent,
                        area_label=data.get("area_label", ""),
                        polygon=None if parent else (data.get("polygon") or None),
                    )
                except services.NotAllowed:
                    raise PermissionDenied from None
                except services.AlertError as exc:
                    form.add_service_errors(exc.errors)
                else:
                    return redirect("alert_detail", alert.pk)
    else:
        form = AlertForm(initial=initial, parent=parent)
    return render(
        request,
        "alerts/new.html",
        {
            "form": form,
            "parent": parent,
            "incident": incident,
            "templates": templates,
            "budget": services.budget_status(_actor_org(member_of(request))),
        },
    )


def _actor_org(member) -> int | None:
    from vecinos.network.models import Membership

    return (
        Membership.objects.filter(member=member)
        .order_by("pk")
        .values_list("organization_id", flat=True)
        .first()
    )


STEP_LABELS = {
    "sms": gettext_lazy("Text message"),
    "voice": gettext_lazy("Voice call"),
    "email": gettext_lazy("Email"),
    "captain": gettext_lazy("Phone-tree captain"),
}


def _step_label(alert: Alert, recipient: AlertRecipient) -> str:
    plan = (alert.escalation or {}).get(recipient.tier) or []
    if recipient.step >= len(plan):
        return "—"
    step = plan[recipient.step]
    return str(STEP_LABELS.get(step.get("action") or step.get("channel"), "—"))


def _progress_context(alert: Alert) -> dict:
    # who and step_label are added here for the template.
    unreached: list[Any] = selectors.unreached(alert)
    for r in unreached:
        r.who = selectors.subscriber_label(r)
        r.step_label = _step_label(alert, r)
    return {
        "alert": alert,
        "progress": selectors.progress(alert),
        "unreached": unreached,
        "unreached_limit": selectors.UNREACHED_LIMIT,
        "budget": services.budget_status(alert.organization_id),
        "live": selectors.is_live(alert),
    }


@alerting_view
@require_GET
def alert_detail(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = _alert_or_404(request, alert_id)
    viewer = member_of(request)
    zones = [z.name for z in alert.zones.all()]
    area_text = (
        " · ".join(part for part in (alert.area_label, ", ".join(zones)) if part)
        if ", ".join(zones) != alert.area_label
        else alert.area_label
    )
    context: dict[str, Any] = {
        "alert": alert,
        "area_text": area_text,
        "is_creator": alert.created_by_id == viewer.pk,
        "can_approve": selectors.can_approve(viewer, alert),
        "needs_second": services.needs_second_person(alert),
        "followup_kinds": [
            (k, label) for k, label in Alert.Kind.choices if k in services.FOLLOWUP_KINDS
        ],
        "tier_labels": [Tier(t).label for t in alert.tiers if t in Tier.values],
        "message_rows": sorted(alert.messages.items()),
    }
    if alert.status == Alert.Status.DRAFT:
        targets = services.select_recipients(alert)
        context["estimate"] = len(targets)
        context["budget"] = services.budget_status(alert.organization_id)
        context["timing"] = timing.delivery_estimate([t.subscriber_id for t in targets])
    else:
        context.update(_progress_context(alert))
        if alert.status == Alert.Status.PENDING:
            targets = services.select_recipients(alert)
            context["timing"] = timing.delivery_estimate([t.subscriber_id for t in targets])
    return render(request, "alerts/detail.html", context)


@alerting_view
@require_GET
def alert_progress(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = _alert_or_404(request, alert_id)
    context = _progress_context(alert)
    response = render(request, "alerts/_progress.html", context)
    if not context["live"]:
        response.status_code = 286  # htmx: stop polling
    return response


def _post_action(request: HttpRequest, alert_id: int, action) -> HttpResponse:
    alert = _alert_or_404(request, alert_id)
    try:
        action(alert)
    except services.NotAllowed:
        raise PermissionDenied from None
    except services.AlertError as exc:
        for message in exc.errors.values():
            messages.error(request, message)
    return redirect("alert_detail", alert.pk)


@alerting_view
@require_POST
def alert_send(request: HttpRequest, alert_id: int) -> HttpResponse:
    def send(alert: Alert) -> None:
        alert = services.alert_send(alert=alert, actor=member_of(request))
        if alert.status == Alert.Status.PENDING:
            messages.warning(
                request,
                _(
                    "Waiting for a second person: another coordinator or dispatcher must approve "
                    "an alert to the public."
                ),
            )
        elif alert.status == Alert.Status.SENT:
            messages.success(
                request,
                _("Sending to %(n)s people.") % {"n": alert.recipients_count},
            )

    return _post_action(request, alert_id, send)


@alerting_view
@require_POST
def alert_approve(request: HttpRequest, alert_id: int) -> HttpResponse:
    def approve(alert: Alert) -> None:
        alert = services.alert_approve(alert=alert, actor=member_of(request))
        if alert.status == Alert.Status.SENT:
            messages.success(
                request,
                _("Approved. Sending to %(n)s people.") % {"n": alert.recipients_count},
            )

    return _post_action(request, alert_id, approve)


@alerting_view
@require_POST
def alert_cancel(request: HttpRequest, alert_id: int) -> HttpResponse:
    def cancel(alert: Alert) -> None:
        was_sent = alert.status in (Alert.Status.SENDING, Alert.Status.SENT)
        alert = services.alert_cancel(alert=alert, actor=member_of(request))
        if alert.status == Alert.Status.CANCELLED:
            messages.success(request, _("The alert was cancelled. Nothing was sent."))
        elif was_sent and alert.stop_reason == Alert.StopReason.CANCELLED:
            messages.success(
                request,
                _(
                    "The alert was stopped: no more calls or messages will go out for it. "
                    "What was already sent cannot be unsent; send a correction if needed."
                ),
            )
        else:
            messages.error(request, _("This alert was already sent and cannot be cancelled."))

    return _post_action(request, alert_id, cancel)


@alerting_view
@require_GET
def alert_tree(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = _alert_or_404(request, alert_id)
    context = {"alert": alert, "groups": selectors.tree(alert), "live": selectors.is_live(alert)}
    if _is_htmx(request):
        response = render(request, "alerts/_tree.html", context)
        if not context["live"]:
            response.status_code = 286
        return response
    return render(request, "alerts/tree.html", context)


# --- acknowledgement link ------------------------------------------------------------------------


ACK_VIA = {"link", "push"}


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def alert_ack(request: HttpRequest, token: str) -> HttpResponse:
    """The signed link in an alert. GET only shows it with a "got it" button; POST confirms.

    Messaging apps and mail scanners fetch links to build previews (GET, sometimes HEAD), so
    nothing but a POST (a person pressing the button, or the push notification's action) may
    acknowledge. The form is CSRF-protected and works without JavaScript. A second POST is
    harmless and says it was already confirmed.
    """
    recipient = services.load_ack_token(token)
    if recipient is None:
        return render(request, "alerts/ack_gone.html", status=410)
    alert = recipient.alert
    text, lang = services.message_for(alert, recipient.language)
    state = "ask" if recipient.acknowledged_at is None else "already"
    if request.method == "POST":
        via = request.POST.get("via", "link")
        first = services.acknowledge(recipient=recipient, via=via if via in ACK_VIA else "link")
        state = "done" if first else "already"
    page_lang = _message_language(recipient.language)
    with translation.override(page_lang):
        response = render(
            request,
            "alerts/ack.html",
            {
                "alert": alert,
                "token": token,
                "text": text,
                "text_lang": lang,
                "state": state,
                "expired": alert.expires_at <= timezone.now(),
            },
        )
    response["Content-Language"] = page_lang
    response["X-Robots-Tag"] = "noindex"
    # The site's "same-origin" Referrer-Policy keeps the token from other sites. Not
    # "no-referrer": browsers then send "Origin: null" with the form, and CSRF refuses it.
    return response


# --- the captain page ----------------------------------------------------------------------------


@never_cache
@login_required
def captain(request: HttpRequest) -> HttpResponse:
    actor = member_of(request)
    if not selectors.is_captain(actor):
        raise PermissionDenied
    # phone, phone_display, who, text and text_lang are added here for the template.
    calls: list[Any] = selectors.captain_calls(actor)
    for r in calls:
        r.phone = r.subscriber.phone
        r.phone_display = _display_phone(r.phone) if r.phone else ""
        member = r.subscriber.member
        r.who = (
            member.display_name
            if member is not None
            else _("Subscriber #%(id)s") % {"id": r.subscriber_id}
        )
        r.text, r.text_lang = services.message_for(r.alert, r.language)
    # Every time phone numbers are shown, who saw how many is on record.
    audit("tree.view", actor=actor, shown=len(calls))
    return render(
        request,
        "alerts/captain.html",
        {
            "calls": calls,
            "closed": selectors.captain_closed(actor),
            "statuses": AlertRecipient.CaptainStatus,
        },
    )


@never_cache
@login_required
@require_POST
def captain_mark(request: HttpRequest, recipient_id: int) -> HttpResponse:
    actor = member_of(request)
    if not selectors.is_captain(actor):
        raise PermissionDenied
    recipient = AlertRecipient.objects.select_related("alert").filter(pk=recipient_id).first()
    if recipient is None or recipient.captain_id != actor.pk:
        raise PermissionDenied  # the same answer for "missing" and "not yours"
    status = request.POST.get("status", "")
    if recipient.captain_status == AlertRecipient.CaptainStatus.CLOSED:
        messages.info(
            request,
            _("This call is no longer needed: %(reason)s.")
            % {"reason": recipient.alert.get_stop_reason_display()},
        )
        return redirect("captain")
    try:
        services.captain_mark(recipient=recipient, captain=actor, status=status)
    except services.NotAllowed:
        raise PermissionDenied from None
    except ValueError:
        messages.error(request, _("Choose reached, no answer or wrong number."))
        return redirect("captain")
    labels: dict[str, str] = {
        AlertRecipient.CaptainStatus.REACHED: _("Marked as reached. Thank you."),
        AlertRecipient.CaptainStatus.NO_ANSWER: _("Marked as no answer. Try again later."),
        AlertRecipient.CaptainStatus.WRONG_NUMBER: _("Marked as wrong number."),
    }
    messages.success(request, labels[status])
    return redirect("captain")


# --- member subscriptions ------------------------------------------------------------------------


@never_cache
@login_required
def my_subscriptions(request: HttpRequest) -> HttpResponse:
    member = member_of(request)
    sub = services.ensure_member_subscriber(member)
    if sub is None:
        return render(request, "alerts/my_subscriptions.html", {"sub": None})
    has_email = bool(sub.email or member.email)
    channels_form = ChannelsForm(
        initial=ChannelsForm.initial_for(sub.language, sub.channels), has_email=has_email
    )
    area_form = AreaForm()
    stopped = sub.status == Subscriber.Status.STOPPED or (
        bool(sub.phone_index) and services.is_opted_out(sub.phone_index)
    )
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "resume" and stopped:
            services.subscription_confirm(subscriber=sub)
            audit("subscription.resume", actor=member, target=sub)
            messages.success(request, _("Alerts are on again."))
            return redirect("my_subscriptions")
        if stopped:
            messages.error(request, _("Turn alerts back on first."))
            return redirect("my_subscriptions")
        if action == "channels":
            channels_form = ChannelsForm(request.POST, has_email=has_email)
            if channels_form.is_valid():
                channels = channels_form.channels()
                services.subscribe(
                    phone=sub.phone,
                    member=member,
                    email=(sub.email or member.email) if "email" in channels else "",
                    language=channels_form.cleaned_data["language"],
                    channels=channels,
                    source="member",
                    confirmed=True,
                )
                messages.success(request, _("Saved."))
                return redirect("my_subscriptions")
        elif action == "area":
            area_form = AreaForm(request.POST)
            if area_form.is_valid():
                data = area_form.cleaned_data
                point = (data["lat"], data["lng"]) if data.get("lat") is not None else None
                services.subscribe(
                    phone=sub.phone,
                    member=member,
                    language=sub.language,
                    channels=sub.channels,
                    zone=None if point else data.get("zone"),
                    point=point,
                    radius_m=data["radius_m"] if point else None,
                    label=data["label"],
                    source="member",
                    confirmed=True,
                )
                messages.success(request, _("Area added."))
                return redirect("my_subscriptions")
    areas = list(selectors.subscriber_areas(sub))
    label_names = dict(LABEL_CHOICES)  # AreaForm's label choices
    for area in areas:
        area.label_display = label_names.get(area.label, area.label)
    return render(
        request,
        "alerts/my_subscriptions.html",
        {
            "sub": sub,
            "stopped": stopped,
            "areas": areas,
            "channels_form": channels_form,
            "area_form": area_form,
            "vapid_public_key": _vapid_key(),
            "push_on": sub.push_id is not None,
        },
    )


def _vapid_key() -> str:
    from vecinos.messaging.push import vapid_public_key

    try:
        return vapid_public_key() or ""
    except Exception:  # noqa: BLE001 - no VAPID key configured: no push button
        return ""


@never_cache
@login_required
@require_POST
def my_area_remove(request: HttpRequest, area_id: int) -> HttpResponse:
    area = SubscriptionArea.objects.filter(
        pk=area_id, subscriber__member=member_of(request)
    ).first()
    if area is None:
        raise PermissionDenied
    area.delete()
    messages.success(request, _("Area removed."))
    return redirect("my_subscriptions")


# --- public subscribe ----------------------------------------------------------------------------


def _confirmation_sms(sub: Subscriber, area: str) -> None:
    """Ask for the confirming reply now: one delivery keyed to this confirmation code."""
    if sub.sms is None or not sub.confirm_code:
        return
    lang = _message_language(sub.language)
    with translation.override(lang):
        body = _(
            "Vecinos: reply YES to get alerts for %(area)s (or enter the code %(code)s on the "
            "web page). Reply STOP to cancel."
        ) % {"area": area, "code": sub.confirm_code}
    messaging.deliveries_enqueue(
        [
            messaging.DeliverySpec(
                purpose="subscribe",
                ref_type="subscriber",
                ref_id=sub.pk,
                contact=sub.sms,
                body=body,
                language=lang,
                key=f"subscribe:{sub.pk}:{sub.confirm_code}",
                expires_at=timezone.now() + timedelta(days=1),
            )
        ]
    )


def _already_subscribed_sms(sub: Subscriber, area: str, place: str) -> None:
    if sub.sms is None or not sub.sms.usable:
        return
    lang = _message_language(sub.language)
    with translation.override(lang):
        body = _(
            "Vecinos: this number already gets alerts. To add %(area)s, reply JOIN %(place)s. "
            "Reply STOP to cancel."
        ) % {"area": area, "place": place}
    day = timezone.now().date().isoformat()
    place_key = hashlib.sha256(place.lower().encode()).hexdigest()[:12]
    messaging.deliveries_enqueue(
        [
            messaging.DeliverySpec(
                purpose="subscribe",
                ref_type="subscriber",
                ref_id=sub.pk,
                contact=sub.sms,
                body=body,
                language=lang,
                key=f"subscribe:{sub.pk}:active:{place_key}:{day}",
                expires_at=timezone.now() + timedelta(days=1),
            )
        ]
    )


@never_cache
def subscribe(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        form = PublicSubscribeForm(initial={"language": translation.get_language() or "es"})
        return render(request, "alerts/subscribe.html", {"form": form})
    if not ratelimit.hit(
        "subscribe", _client_key(request), limit=SUBSCRIBE_LIMIT, window_seconds=SUBSCRIBE_WINDOW
    ):
        return _too_many(request)
    form = PublicSubscribeForm(request.POST)
    if not form.is_valid():
        return render(request, "alerts/subscribe.html", {"form": form})
    data = form.cleaned_data
    place_text = data["place"].strip()
    picked = form.point()
    zone: Zone | None
    point: tuple[float, float] | None
    if picked is not None:  # tapped on the map: that point and the chosen radius
        zone, point = None, picked
        with translation.override(data["language"]):  # said in their text, in their language
            area = place_text or _("a place you chose on the map")
    else:
        zone, point, area = services.resolve_place(place_text)
    if zone is None and point is None:
        form.add_error(
            "place",
            _("We could not find that ZIP code or neighborhood. Try a 5-digit ZIP code."),
        )
        return render(request, "alerts/subscribe.html", {"form": form})
    e164 = data["phone"]
    if not ratelimit.hit(
        "subscribe-phone", source_key(e164), limit=PHONE_LIMIT, window_seconds=PHONE_WINDOW
    ):
        return _too_many(request)
    index = phone_index(e164)
    is_zip = picked is None and place_text.isdigit() and len(place_text) == 5
    with transaction.atomic():
        existing = Subscriber.objects.filter(phone_index=index).first()
        if services.is_opted_out(index):
            # They said STOP: only a JOIN from their own phone brings them back. No text now.
            pass
        elif existing is not None and existing.status == Subscriber.Status.ACTIVE:
            # Someone else may have typed this number: change nothing, tell the phone's owner.
            _already_subscribed_sms(existing, area, place_text)
        else:
            sub = services.subscribe(
                phone=e164,
                language=data["language"],
                channels=data["channels"],
                zone=zone if not (is_zip or picked) else None,
                point=point if (is_zip or picked) else None,
                radius_m=data["radius_m"] if picked else (ZIP_RADIUS_M if is_zip else None),
                label=area[:40],
                source="web",
                confirmed=False,
            )
            _confirmation_sms(sub, area)
    # The same answer whatever the number's state: this page reveals nothing about anyone.
    confirm = ConfirmCodeForm(initial={"phone": _display_phone(e164)})
    return render(request, "alerts/subscribe_sent.html", {"form": confirm, "area": area})


@never_cache
def subscribe_confirm(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return render(request, "alerts/subscribe_confirm.html", {"form": ConfirmCodeForm()})
    if not ratelimit.hit(
        "subscribe-confirm",
        _client_key(request),
        limit=CONFIRM_LIMIT,
        window_seconds=SUBSCRIBE_WINDOW,
    ):
        return _too_many(request)
    form = ConfirmCodeForm(request.POST)
    if form.is_valid():
        e164, code = form.cleaned_data["phone"], form.cleaned_data["code"]
        if not ratelimit.hit(
            "subscribe-confirm-phone",
            source_key(e164),
            limit=PHONE_LIMIT * 2,
            window_seconds=PHONE_WINDOW,
        ):
            return _too_many(request)
        sub = Subscriber.objects.filter(
            phone_index=phone_index(e164), status=Subscriber.Status.PENDING
        ).first()
        if sub is not None and sub.confirm_code and constant_time_compare(sub.confirm_code, code):
            services.subscription_confirm(subscriber=sub)
            return render(request, "alerts/subscribe_done.html")
        form.add_error(
            "code",
            _("That code does not match this number. Check the text message and try again."),
        )
    return render(request, "alerts/subscribe_confirm.html", {"form": form})


# --- opt-outs and the outbox ----------------------------------------------------------------------


@never_cache
@login_required
def optouts(request: HttpRequest) -> HttpResponse:
    actor = member_of(request)
    if not selectors.can_manage_optouts(actor):
        raise PermissionDenied
    import_form = OptOutImportForm()
    undo_form = OptOutUndoForm()
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "import":
            import_form = OptOutImportForm(request.POST, request.FILES)
            if import_form.is_valid():
                result = services.opt_out_import(
                    phones=import_form.cleaned_data["lines"], actor=actor
                )
                messages.success(
                    request,
                    _(
                        "%(added)s numbers are on the stop list. %(invalid)s lines were not "
                        "phone numbers."
                    )
                    % result,
                )
                return redirect("optouts")
        elif action == "undo":
            undo_form = OptOutUndoForm(request.POST)
            if undo_form.is_valid():
                index = phone_index(undo_form.cleaned_data["phone"])
                try:
                    undone = services.opt_out_undo(index=index, actor=actor)
                except services.NotAllowed:
                    raise PermissionDenied from None
                if undone:
                    messages.success(request, _("That number is off the stop list."))
                else:
                    messages.warning(request, _("That number is not on the stop list."))
                return redirect("optouts")
    return render(
        request,
        "alerts/optouts.html",
        {
            "import_form": import_form,
            "undo_form": undo_form,
            "counts": selectors.optout_counts(),
        },
    )


@never_cache
@login_required
@require_GET
def outbox(request: HttpRequest) -> HttpResponse:
    if not selectors.can_see_outbox(member_of(request)):
        raise PermissionDenied
    rows = selectors.outbox()
    for row in rows:
        row.masked = selectors.mask_address(row.address)
        row.body_masked = selectors.mask_body(row.body)
    return render(
        request,
        "alerts/outbox.html",
        {"rows": rows, "limit": selectors.OUTBOX_LIMIT, "console": _console_transport()},
    )


def _console_transport() -> bool:
    return any("console" in conf.get("path", "") for conf in settings.TRANSPORTS.values())


# --- CAP and Atom ---------------------------------------------------------------------------------


@require_GET
def cap_feed(request: HttpRequest) -> HttpResponse:
    body = cap.atom_feed(selectors.public_alerts())
    response = HttpResponse(body, content_type="application/atom+xml; charset=utf-8")
    response["Cache-Control"] = "public, max-age=30"
    return response


@require_GET
def cap_alert(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = selectors.public_alert(alert_id)
    if alert is None:
        raise Http404
    response = HttpResponse(cap.cap_xml(alert), content_type="application/xml; charset=utf-8")
    response["Cache-Control"] = "public, max-age=30"
    return response


@never_cache
@login_required
def my_push(request: HttpRequest) -> HttpResponse:
    """POST a browser PushSubscription (JSON) to turn notifications on; DELETE to turn off."""
    import json as _json

    from django.http import JsonResponse

    from vecinos.messaging.push import InvalidSubscription

    member = member_of(request)
    if request.method not in ("POST", "DELETE"):
        return JsonResponse({"error": _("Use POST or DELETE.")}, status=405)
    try:
        body = _json.loads(request.body or b"{}")
    except ValueError:
        return JsonResponse({"error": _("That subscription could not be read.")}, status=400)
    if not isinstance(body, dict):
        return JsonResponse({"error": _("That subscription could not be read.")}, status=400)
    if request.method == "DELETE":
        services.push_detach(member=member, endpoint=str(body.get("endpoint", ""))[:2000])
        return HttpResponse(status=204)
    language = str(body.pop("language", "") or member.preferred_language)[:8]
    try:
        sub = services.push_attach(member=member, subscription=body, language=language)
    except InvalidSubscription:
        return JsonResponse({"error": _("That subscription could not be read.")}, status=400)
    if sub is None:
        return JsonResponse({"error": _("Add a phone number to your profile first.")}, status=400)
    audit("push.subscribe", actor=member, target=sub)
    return JsonResponse({"ok": True}, status=201)
