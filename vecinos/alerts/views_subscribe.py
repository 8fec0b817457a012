"""Subscriptions: a member's own (areas, channels, push) and the public subscribe and
confirm pages, rate-limited, never saying whether a number is already subscribed."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from vecinos.alerts import selectors, services
from vecinos.alerts.forms import (
    LABEL_CHOICES,
    AreaForm,
    ChannelsForm,
    ConfirmCodeForm,
    PublicSubscribeForm,
)
from vecinos.alerts.models import Subscriber
from vecinos.alerts.views_common import (
    _client_key,
    _display_phone,
    _too_many,
)
from vecinos.core import ratelimit
from vecinos.core.privacy import source_key
from vecinos.messaging.push import InvalidSubscription, vapid_public_key
from vecinos.network.http import member_of
from vecinos.network.models import Zone
from vecinos.network.phones import phone_index

SUBSCRIBE_LIMIT = 5
SUBSCRIBE_WINDOW = 600
PHONE_LIMIT = 3
PHONE_WINDOW = 3600
CONFIRM_LIMIT = 10
ZIP_RADIUS_M = 2000


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
            services.subscription_resume(member=member, subscriber=sub)
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
            if not services.has_room_for_area(sub):
                messages.error(
                    request,
                    _(
                        "You already get alerts for %(count)s places, the most allowed. Remove "
                        "one to add another."
                    )
                    % {"count": services.MAX_AREAS},
                )
                return redirect("my_subscriptions")
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
    try:
        return vapid_public_key() or ""
    except Exception:  # noqa: BLE001 - no VAPID key configured: no push button
        return ""


@never_cache
@login_required
@require_POST
def my_area_remove(request: HttpRequest, area_id: int) -> HttpResponse:
    if not services.area_remove(member=member_of(request), area_id=area_id):
        raise PermissionDenied
    messages.success(request, _("Area removed."))
    return redirect("my_subscriptions")


# --- public subscribe ----------------------------------------------------------------------------


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
    is_zip = picked is None and place_text.isdigit() and len(place_text) == 5
    services.subscribe_public(
        phone=e164,
        language=data["language"],
        channels=data["channels"],
        zone=zone if not (is_zip or picked) else None,
        point=point if (is_zip or picked) else None,
        radius_m=data["radius_m"] if picked else (ZIP_RADIUS_M if is_zip else None),
        area=area,
        place_text=place_text,
    )
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


@never_cache
@login_required
def my_push(request: HttpRequest) -> HttpResponse:
    """POST a browser PushSubscription (JSON) to turn notifications on; DELETE to turn off."""

    member = member_of(request)
    if request.method not in ("POST", "DELETE"):
        return JsonResponse({"error": _("Use POST or DELETE.")}, status=405)
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested thousands deep
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
    return JsonResponse({"ok": True}, status=201)
