"""Alert pages for those who may alert: the list, compose, detail and live progress, send,
approve, cancel and the phone-tree view (see views_common for who may do what)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from vecinos.alerts import costs, selectors, services, timing
from vecinos.alerts.forms import (
    DEFAULT_RADIUS_M,
    MESSAGE_LANGUAGES,
    AlertForm,
    filled_templates,
    local_time,
    raw_templates,
    template_previews,
)
from vecinos.alerts.models import Alert, AlertRecipient, Tier
from vecinos.alerts.views_common import (
    _alert_or_404,
    _is_htmx,
    alerting_view,
)
from vecinos.core import languages
from vecinos.network.http import member_of
from vecinos.network.models import Member, Membership
from vecinos.reports.models import Incident

DEFAULT_TIERS = [Tier.INTERNAL, Tier.RESPONDERS, Tier.MEMBERS]


# --- alerts: list, compose, detail -------------------------------------------------------------


@alerting_view
@require_GET
def alerts(request: HttpRequest) -> HttpResponse:
    # Annotated with counts; ack_percent is added here for the template.
    rows: list[Any] = selectors.recent_alerts(member=member_of(request))
    for alert in rows:
        alert.ack_percent = selectors.percent(alert.acked, alert.recipients_count)
    return render(request, "alerts/list.html", {"alerts": rows})


def _incident(incident_id: int | None):
    """The incident an alert is made from; whether it may be (confirmed) is the service's rule."""
    if not incident_id:
        return None
    return Incident.objects.select_related("zone").filter(pk=incident_id).first()


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
        initial.update(
            kind=kind, parent=parent.pk, area_label=parent.area_label, time=local_time(now, "es")
        )
    else:
        incident = _incident(_int(request.GET.get("incident")))
        if not services.incident_confirmed(incident):
            incident = None
        if request.GET.get("incident") and incident is None:
            messages.error(request, _("Only a confirmed incident can be turned into an alert."))
        if incident is not None:
            area = incident.zone.name if incident.zone else ""
            when = incident.verified_at or incident.created_at
            templates = filled_templates(area=area, when=when)
            initial["time"] = local_time(when, "es")
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
            initial.update(
                kind=Alert.Kind.SIGHTING, tiers=list(DEFAULT_TIERS), time=local_time(now, "es")
            )
    initial["all_languages"] = True
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
            incident = _incident(data.get("incident"))
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
                    _warn_details_as_typed(request, form.details_as_typed())
                    return redirect("alert_detail", alert.pk)
    else:
        form = AlertForm(initial=initial, parent=parent)
    return render(
        request,
        "alerts/new.html",
        {
            "form": form,
            "parent": parent,
            "incident": incident if services.incident_confirmed(incident) else None,
            "templates": templates,
            "all_templates": raw_templates(),
            "previews": _previews(form, initial),
            "budget": services.budget_status(_actor_org(member_of(request))),
        },
    )


def _previews(form: AlertForm, initial: dict) -> list:
    """The other languages' messages as the page shows them first (the script updates them)."""
    data = form.data if form.is_bound else {}

    def value(name: str) -> str:
        return str(data.get(name, initial.get(name)) or "")

    kind = value("kind")
    kind = kind if kind in Alert.Kind.values else Alert.Kind.SIGHTING
    own = {code: value(f"details_{code}") for code, _field in form.language_details()}
    made = template_previews(
        kind, area=value("area_label"), time=value("time"), details=value("details"),
        details_in=own,
    )  # fmt: skip
    # Each language's preview with the box for its own details under it.
    fields = dict(form.language_details())
    return [(lang, text, fields[lang.code]) for lang, text in made]


def _actor_org(member) -> int | None:
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


def _warn_details_as_typed(request: HttpRequest, codes: list[str]) -> None:
    """Say which languages get the details as they were typed (outside walk, session 19: a
    Spanish sentence went out inside the Korean, Arabic and Chinese texts, and the review
    page said nothing of it)."""
    if not codes:
        return
    names = ", ".join(
        str(languages.label(lang)) for code in codes if (lang := languages.get(code)) is not None
    )
    messages.warning(
        request,
        ngettext(
            "The details you typed go out as you typed them in %(count)s other language: "
            "%(names)s. If that is not what you want, discard this draft and write them under "
            "that language's preview.",
            "The details you typed go out as you typed them in %(count)s other languages: "
            "%(names)s. If that is not what you want, discard this draft and write them under "
            "each language's preview.",
            len(codes),
        )
        % {"count": len(codes), "names": names},
    )


def _progress_context(alert: Alert, viewer: Member) -> dict:
    # who, captain_name and step_label are added here for the template.
    unreached: list[Any] = selectors.unreached(alert)
    named = selectors.names_shown(
        viewer,
        {r.subscriber.member_id for r in unreached if r.subscriber.member_id}
        | {r.captain_id for r in unreached if r.captain_id},
    )
    for r in unreached:
        member_id = r.subscriber.member_id
        r.who = (
            selectors.subscriber_label(r)
            if named is None or member_id in named
            else _("member #%(id)s") % {"id": member_id}
        )
        if r.captain_id:
            r.captain_name = (
                r.captain.username
                if named is None or r.captain_id in named
                else _("member #%(id)s") % {"id": r.captain_id}
            )
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
        "is_public": Tier.PUBLIC in alert.tiers,
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
        _language_context(context, alert, targets)
    else:
        context.update(_progress_context(alert, viewer))
        if alert.status == Alert.Status.PENDING:
            targets = services.select_recipients(alert)
            context["timing"] = timing.delivery_estimate([t.subscriber_id for t in targets])
            _language_context(context, alert, targets)
            # Whether anyone was told (and if not, why): never a claim that they were.
            context["approval_reach"] = services.approval_reach(alert)
            context["vetted_by_author"] = (
                not context["can_approve"]
                and not context["is_creator"]
                and services.vetted_only_by_author(viewer, alert)
            )
    return render(request, "alerts/detail.html", context)


def _language_context(context: dict, alert: Alert, targets) -> None:
    """Who gets which language, by text or by call, and what the texts cost."""
    rows = costs.breakdown(alert, targets)
    context["language_rows"] = rows
    context["total_cost"] = costs.total_cost(rows)


@alerting_view
@require_GET
def alert_progress(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = _alert_or_404(request, alert_id)
    context = _progress_context(alert, member_of(request))
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
        if alert.status == Alert.Status.PENDING and Tier.PUBLIC in alert.tiers:
            messages.warning(
                request,
                _(
                    "Waiting for a second person: another coordinator or dispatcher must approve "
                    "an alert to the public."
                ),
            )
        elif alert.status == Alert.Status.PENDING:
            messages.warning(
                request,
                _(
                    "Waiting for a second person: a dispatcher or another coordinator must "
                    "approve it."
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
