"""Call-outs: create, the two-person rule, fan-out in waves, replies, messages, stand-down.

Who is asked comes from alerts' own selection (tiers, geography, opt-outs, the hourly throttle),
called with the activation in place of an alert: one rule, one place. Every message is a
messaging delivery written in the same transaction as the rows it reports on.
"""

from __future__ import annotations

import math
import secrets
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any, cast

from django import forms
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from vecinos.alerts import services as alert_services
from vecinos.alerts import wording
from vecinos.alerts.models import TIER_ORDER, Alert, Subscriber, SubscriptionArea, Tier
from vecinos.core import geo
from vecinos.core.audit import audit
from vecinos.core.bulk import insert_rows, with_ids
from vecinos.messaging import services as messaging
from vecinos.mobilize import guidance as guidance_texts
from vecinos.mobilize.messages import (  # noqa: F401 - re-exported: services is the public door
    _ask,
    _first_contacts,
    _page_language,
    _send_to,
    _spec,
    _translated,
    ask_text,
    callout_language,
    enough_text,
    guidance_for,
    link,
    link_token,
    load_link,
    local_time,
    reply_words,
    text_language,
    voice_language,
    voice_parts,
)
from vecinos.mobilize.models import Activation, ActivationMessage, Response
from vecinos.mobilize.replies import (  # noqa: F401 - re-exported
    _LOOKUP,
    OUTCOMES,
    _filled,
    _quota_met,
    _role_for,
    respond,
    response_for_phone,
    response_refresh,
)
from vecinos.mobilize.rules import (  # noqa: F401 - re-exported
    CODE_ALPHABET,
    DEFAULT_GUIDANCE,
    DEFAULT_OPEN_HOURS,
    DEFAULT_ROLES,
    LANGUAGES,
    LINK_SALT,
    MAX_COUNT,
    MAX_ETA_MINUTES,
    MAX_GUIDANCE,
    MAX_STAGING,
    SAYS_YES,
    ActivationError,
    NotAllowed,
    active_roles,
    can_activate,
    may_act_on,
    may_approve,
    needs_second_person,
    role_names,
)
from vecinos.network import selectors as network
from vecinos.network.models import Member, Membership, Organization
from vecinos.network.models import Tier as Vetting

# --- create / send / approve -----------------------------------------------------------------


def _new_code() -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _i in range(4))
        if not Activation.objects.filter(code=code, status=Activation.Status.OPEN).exists():
            return code


def _clean_roles(roles: dict[str, int], errors: dict[str, str]) -> dict[str, int]:
    """How many people of each role, known roles only; problems go into ``errors``."""
    known = {r.key for r in active_roles()}
    clean_roles: dict[str, int] = {}
    for key, count in roles.items():
        try:
            n = int(count or 0)
        except (TypeError, ValueError):
            n = -1
        if key not in known:
            errors["roles"] = str(gettext_lazy("Unknown role."))
        elif n < 0 or n > MAX_COUNT:
            errors["roles"] = str(
                gettext_lazy("Ask for between 0 and %(n)s people per role.") % {"n": MAX_COUNT}
            )
        elif n:
            clean_roles[key] = n
    if not clean_roles and "roles" not in errors:
        errors["roles"] = str(gettext_lazy("Ask for at least one person in one role."))
    return clean_roles


def _polygon_error(polygon: list[list[float]]) -> str | None:
    """Why a drawn area cannot be taken as alerts take it (None: it can): 3 to 200 corners,
    each a place on the map, not too large and not crossing itself (geo.check_outline)."""
    not_on_map = str(gettext_lazy("That place is not on the map."))
    if not 3 <= len(polygon) <= 200:
        return not_on_map
    try:
        for lat, lng in polygon:
            geo.validate_lat_lng(lat, lng)
        geo.check_outline(polygon)
    except geo.ShapeError as exc:
        return exc.message
    except (geo.GeoError, TypeError, ValueError):
        return not_on_map
    return None


def _validate(
    *,
    staging_point: str,
    needed_by: datetime,
    roles: dict[str, int],
    guidance: dict[str, str],
    tiers: list[str],
    point: tuple[float, float] | None,
    radius_m: int | None,
    zones: list,
    polygon: list[list[float]],
    incident: Any,
    wave_size: int,
    wave_minutes: int,
) -> tuple[dict[str, int], dict[str, str]]:
    errors: dict[str, str] = {}
    if not staging_point.strip():
        errors["staging_point"] = str(gettext_lazy("Say where people should meet."))
    elif len(staging_point) > MAX_STAGING:
        errors["staging_point"] = str(
            gettext_lazy("Keep the staging point under %(n)s characters.") % {"n": MAX_STAGING}
        )
    if needed_by < timezone.now() - timedelta(minutes=5):
        errors["needed_by"] = str(gettext_lazy("The time people are needed has already passed."))
    clean_roles = _clean_roles(roles, errors)
    clean_guidance = guidance_texts.clean(guidance, errors)
    if not tiers or any(t not in Tier.values for t in tiers):
        errors["tiers"] = str(gettext_lazy("Choose who is asked."))
    geographic = any(t in (Tier.MEMBERS, Tier.PUBLIC) for t in tiers)
    if geographic and not zones and not (point is not None and radius_m) and not polygon:
        errors["tiers"] = str(
            gettext_lazy("Members and the public are asked by area: choose zones or a radius.")
        )
    if polygon and (polygon_error := _polygon_error(polygon)):
        errors["polygon"] = polygon_error
    if point is not None:
        try:
            geo.validate_lat_lng(*point)
        except ValueError:
            errors["lat"] = str(gettext_lazy("That is not a valid place."))
    # The alerts' own rule (verified, or closed as confirmed): one meaning of "confirmed".
    if incident is not None and not alert_services.incident_confirmed(incident):
        errors["incident"] = str(gettext_lazy("Only a confirmed incident can start a call-out."))
    if not 1 <= wave_size <= 5000 or not 1 <= wave_minutes <= 240:
        errors["quota"] = str(
            gettext_lazy("Waves must be 1 to 5000 people, 1 to 240 minutes apart.")
        )
    if errors:
        raise ActivationError(errors)
    return clean_roles, clean_guidance


def _organization_for(actor: Member, organization: Organization | None) -> Organization | None:
    if organization is not None:
        orgs = network.coordinated_org_ids(actor)
        dispatcher = network.has_role(actor, "dispatcher")
        if orgs is not None and organization.pk not in orgs and not dispatcher:
            raise NotAllowed
        return organization
    org_id = (
        Membership.objects.filter(member=actor)
        .order_by("pk")
        .values_list("organization_id", flat=True)
        .first()
    )
    return Organization.objects.filter(pk=org_id).first() if org_id else None


def _rights_slug(slug: str) -> str:
    """The slug of an article of the rights library, "" for none; else ActivationError."""
    slug = (slug or "").strip()
    if slug and slug not in {choice for choice, _title in wording.rights_choices()}:
        message = forms.ChoiceField.default_error_messages["invalid_choice"] % {"value": slug}
        raise ActivationError({"rights_article": str(message)})
    return slug


@transaction.atomic
def activation_create(
    *,
    actor: Member,
    staging_point: str,
    needed_by: datetime,
    roles: dict[str, int],
    tiers: list[str],
    guidance: dict[str, str] | None = None,
    organization: Organization | None = None,
    incident: Any = None,
    zones: list | None = None,
    point: tuple[float, float] | None = None,
    radius_m: int | None = None,
    polygon: list[list[float]] | None = None,
    quota: bool = False,
    wave_size: int = 20,
    wave_minutes: int = 10,
    open_hours: int = DEFAULT_OPEN_HOURS,
    rights_article: str = "",
) -> Activation:
    if not can_activate(actor):
        raise NotAllowed
    rights_article = _rights_slug(rights_article)
    zones = list(zones or [])
    clean_roles, clean_guidance = _validate(
        staging_point=staging_point,
        needed_by=needed_by,
        roles=roles,
        guidance=guidance or {},
        tiers=tiers,
        point=point,
        radius_m=radius_m,
        zones=zones,
        polygon=list(polygon or []),
        incident=incident,
        wave_size=wave_size,
        wave_minutes=wave_minutes,
    )
    activation = Activation.objects.create(
        code=_new_code(),
        organization=_organization_for(actor, organization),
        incident=incident,
        staging_point=staging_point.strip(),
        needed_by=needed_by,
        roles=clean_roles,
        guidance=clean_guidance,
        tiers=[t for t in TIER_ORDER if t in tiers],
        lat=point[0] if point else None,
        lng=point[1] if point else None,
        radius_m=radius_m if point else None,
        polygon=[[float(a), float(b)] for a, b in polygon or []],
        quota=quota,
        wave_size=wave_size,
        wave_minutes=wave_minutes,
        created_by=actor,
        expires_at=max(needed_by, timezone.now()) + timedelta(hours=open_hours),
        rights_article=rights_article,
    )
    if zones:
        activation.zones.set(zones)
    audit("activation.create", actor=actor, target=activation, tiers=activation.tiers)
    return activation


@transaction.atomic
def activation_send(*, activation: Activation, actor: Member) -> Activation:
    """Send now, or wait for a second person when the public is asked (alerts' rule)."""
    activation = Activation.objects.select_for_update().get(pk=activation.pk)
    if activation.status != Activation.Status.DRAFT:
        return activation
    if not can_activate(actor) or actor.pk != activation.created_by_id:
        raise NotAllowed
    if needs_second_person(activation):
        activation.status = Activation.Status.PENDING
        activation.save(update_fields=["status"])
        audit("activation.request_approval", actor=actor, target=activation)
        return activation
    return _fan_out(activation, actor)


@transaction.atomic
def activation_approve(*, activation: Activation, actor: Member) -> Activation:
    activation = Activation.objects.select_for_update().get(pk=activation.pk)
    if activation.status != Activation.Status.PENDING:
        return activation
    if not may_approve(actor, activation):
        raise NotAllowed(_("A second, different person must approve a call-out to the public."))
    activation.approved_by = actor
    activation.save(update_fields=["approved_by"])
    audit("activation.approve", actor=actor, target=activation)
    return _fan_out(activation, actor)


def area_centre(activation: Activation) -> tuple[float, float] | None:
    """The call-out's own point, else the middle of its drawn area (None: zones only)."""
    if activation.lat is not None and activation.lng is not None:
        return activation.lat, activation.lng
    if activation.polygon:
        n = len(activation.polygon)
        return (
            sum(c[0] for c in activation.polygon) / n,
            sum(c[1] for c in activation.polygon) / n,
        )
    return None


def _rank(activation: Activation, targets: list) -> list:
    """Nearest and trained first: inner tiers, then trained members, then distance."""
    ids = [t.subscriber_id for t in targets]
    trained: set[int] = set()
    distance: dict[int, float] = {}
    centre = area_centre(activation)
    for i in range(0, len(ids), 5000):
        chunk = ids[i : i + 5000]
        trained.update(
            with_ids(
                Subscriber.objects.filter(member__tier__gte=Vetting.TRAINED), chunk
            ).values_list("pk", flat=True)
        )
        if centre is not None:
            rows = SubscriptionArea.objects.filter(
                subscriber_id__in=chunk, lat__isnull=False, lng__isnull=False
            )
            for sub_id, lat, lng in rows.values_list("subscriber_id", "lat", "lng"):
                if lat is None or lng is None:
                    continue
                d = geo.haversine_m(centre[0], centre[1], lat, lng)
                distance[sub_id] = min(distance.get(sub_id, math.inf), d)
    order = {t: i for i, t in enumerate(TIER_ORDER)}
    return sorted(
        targets,
        key=lambda t: (
            order.get(t.tier, 9),
            t.subscriber_id not in trained,
            distance.get(t.subscriber_id, math.inf),
            t.subscriber_id,
        ),
    )


def _fan_out(activation: Activation, actor: Member) -> Activation:
    now = timezone.now()
    targets = _rank(activation, alert_services.select_recipients(cast(Alert, activation)))
    size = activation.wave_size if activation.quota else max(len(targets), 1)
    info: dict[int, tuple[int | None, str]] = {}
    ids = [t.subscriber_id for t in targets]
    for i in range(0, len(ids), 5000):
        rows = with_ids(Subscriber.objects.all(), ids[i : i + 5000]).values_list(
            "pk", "member_id", "phone_index"
        )
        info.update({pk: (member_id, index) for pk, member_id, index in rows})
    adapt = connection.ops.adapt_datetimefield_value
    values = []
    for rank, t in enumerate(targets):
        wave = rank // size + 1
        member_id, index = info.get(t.subscriber_id, (None, ""))
        status = Response.Status.ASKED if wave == 1 else Response.Status.WAITING
        values.append(
            (
                activation.pk, t.subscriber_id, member_id, index or "", t.tier, t.language, wave,
                rank, status, "", "", adapt(now) if wave == 1 else None,
            )
        )  # fmt: skip
    columns = (
        "activation_id", "subscriber_id", "member_id", "phone_index", "tier", "language",
        "wave", "rank", "status", "role", "via", "asked_at",
    )  # fmt: skip
    if values:
        insert_rows(Response._meta.db_table, columns, values)
    activation.status = Activation.Status.OPEN
    activation.sent_at = now
    activation.waves_sent = 1
    activation.recipients_count = len(targets)
    more = len(targets) > size
    activation.next_wave_at = now + timedelta(minutes=activation.wave_minutes) if more else None
    activation.save(
        update_fields=["status", "sent_at", "waves_sent", "recipients_count", "next_wave_at"]
    )
    sent = _ask(activation, wave=1)
    audit("activation.send", actor=actor, target=activation, recipients=len(targets), messages=sent)
    return activation


# --- coordinator actions -----------------------------------------------------------------------


def _check(actor: Member, activation: Activation) -> None:
    if not (can_activate(actor) and may_act_on(actor, activation)):
        raise NotAllowed


def _clean_texts(texts: dict[str, str]) -> dict[str, str]:
    known = guidance_texts.guidance_languages()
    clean = {k: v.strip() for k, v in texts.items() if k in known and (v or "").strip()}
    if not clean:
        raise ActivationError(
            {"text": str(gettext_lazy("Write the message in at least one language."))}
        )
    if any(len(v) > MAX_GUIDANCE for v in clean.values()):
        raise ActivationError(
            {
                "text": str(
                    gettext_lazy("Keep the message under %(n)s characters.") % {"n": MAX_GUIDANCE}
                )
            }
        )
    return clean


@transaction.atomic
def message_send(
    *,
    activation: Activation,
    actor: Member,
    audience: str,
    texts: dict[str, str],
    new_staging_point: str = "",
) -> ActivationMessage:
    """An update to everyone coming, everyone on site, or both (a move, a new time...).

    A new staging point replaces the call-out's (the link pages show it) and leads the text."""
    _check(actor, activation)
    if activation.status != Activation.Status.OPEN:
        raise ActivationError({"text": str(gettext_lazy("This call-out is no longer open."))})
    if audience not in ActivationMessage.Audience.values:
        raise ActivationError({"audience": str(gettext_lazy("Choose who gets the message."))})
    new_staging_point = new_staging_point.strip()
    if len(new_staging_point) > MAX_STAGING:
        raise ActivationError(
            {
                "text": str(
                    gettext_lazy("Keep the staging point under %(n)s characters.")
                    % {"n": MAX_STAGING}
                )
            }
        )
    if new_staging_point:
        activation.staging_point = new_staging_point
        activation.save(update_fields=["staging_point"])
        moved = _translated(lambda: moved_text(new_staging_point))
        typed = {k: v for k, v in texts.items() if (v or "").strip()}
        texts = {lang: f"{moved[lang]} {_note(typed, lang)}".strip() for lang in moved}
    clean = _clean_texts(texts)
    statuses = {
        "coming": [Response.Status.COMING],
        "on_site": [Response.Status.ARRIVED],
        "both": list(SAYS_YES),
    }[audience]
    ids = list(
        Response.objects.filter(activation=activation, status__in=statuses).values_list(
            "pk", flat=True
        )
    )
    msg = ActivationMessage.objects.create(
        activation=activation, audience=audience, texts=clean, created_by=actor,
        recipients_count=len(ids),
    )  # fmt: skip
    prefixed = {lang: f"Vecinos {activation.code}: {text}" for lang, text in clean.items()}
    _send_to(activation, ids, prefixed, f"m{msg.pk}")
    audit(
        "activation.message", actor=actor, target=activation, audience=audience, recipients=len(ids)
    )
    return msg


def _note(texts: dict[str, str], lang: str) -> str:
    """The coordinator's note for ``lang``: theirs, else Spanish, else English, else ""."""
    return next((texts[c].strip() for c in (lang, "es", "en") if texts.get(c)), "")


def moved_text(place: str) -> str:
    return _("New staging point: %(place)s.") % {"place": place}


def stand_down_text(code: str) -> str:
    return _(
        "Vecinos call-out %(code)s: STAND DOWN. You are no longer needed. Thank you for "
        "answering. Leave calmly and safely."
    ) % {"code": code}


@transaction.atomic
def stand_down(
    *, activation: Activation, actor: Member, texts: dict[str, str] | None = None
) -> ActivationMessage | None:
    """Ends the call-out; everyone who said yes and has not left hears it."""
    _check(actor, activation)
    activation = Activation.objects.select_for_update().get(pk=activation.pk)
    if activation.status not in (
        Activation.Status.OPEN,
        Activation.Status.PENDING,
        Activation.Status.DRAFT,
    ):
        return None
    was_open = activation.status == Activation.Status.OPEN
    now = timezone.now()
    activation.status = Activation.Status.STOOD_DOWN if was_open else Activation.Status.CANCELLED
    activation.closed_at = now
    activation.next_wave_at = None
    activation.save(update_fields=["status", "closed_at", "next_wave_at"])
    # Call-outs still queued to people who have not answered are not sent any more.
    messaging.deliveries_cancel(ref_type="activation", ref_ids=[activation.pk], reason="stood down")
    audit("activation.stand_down", actor=actor, target=activation)
    if not was_open:
        return None
    clean = _clean_texts(texts) if texts and any(v.strip() for v in texts.values()) else {}
    default = _translated(lambda: stand_down_text(activation.code))
    body = {lang: f"{default[lang]} {_note(clean, lang)}".strip() for lang in default}
    ids = list(
        Response.objects.filter(activation=activation, status__in=SAYS_YES).values_list(
            "pk", flat=True
        )
    )
    msg = ActivationMessage.objects.create(
        activation=activation, audience="both", stand_down=True, texts=body, created_by=actor,
        recipients_count=len(ids),
    )  # fmt: skip
    _send_to(activation, ids, body, "standdown")
    return msg


@transaction.atomic
def after_action_save(*, activation: Activation, actor: Member, text: str) -> Activation:
    _check(actor, activation)
    if len(text) > 4000:
        raise ActivationError(
            {"after_action": str(gettext_lazy("Keep the log under 4000 characters."))}
        )
    activation.after_action = text.strip()
    activation.save(update_fields=["after_action"])
    audit("activation.after_action", actor=actor, target=activation)
    return activation


# --- waves --------------------------------------------------------------------------------------


def next_waves(*, now: datetime | None = None) -> int:
    """Quota call-outs whose quota is unmet after their wave time ask the next wave."""
    now = now or timezone.now()
    asked = 0
    due = Activation.objects.filter(
        status=Activation.Status.OPEN, quota=True, next_wave_at__lte=now, quota_met_at__isnull=True
    ).values_list("pk", flat=True)
    for pk in list(due):
        with transaction.atomic():
            activation = Activation.objects.select_for_update().get(pk=pk)
            # Re-checked under the lock: the scheduled run and a late reply may race.
            if activation.next_wave_at is None or activation.next_wave_at > now:
                continue
            if activation.status != Activation.Status.OPEN or activation.quota_met_at:
                continue
            wave = activation.waves_sent + 1
            if not Response.objects.filter(activation=activation, wave=wave).exists():
                Activation.objects.filter(pk=pk).update(next_wave_at=None)
                continue
            asked += _ask(activation, wave=wave)
            more = Response.objects.filter(activation=activation, wave__gt=wave).exists()
            Activation.objects.filter(pk=pk).update(
                waves_sent=wave,
                next_wave_at=now + timedelta(minutes=activation.wave_minutes) if more else None,
            )
    return asked


def counts(activation: Activation) -> dict[str, dict[str, int]]:
    """{role: {status: n}} for the API and the board."""
    out: dict[str, dict[str, int]] = defaultdict(dict)
    rows = (
        Response.objects.filter(activation=activation)
        .values("role", "status")
        .annotate(n=Count("pk"))
    )
    for r in rows:
        out[r["role"]][r["status"]] = r["n"]
    return dict(out)
