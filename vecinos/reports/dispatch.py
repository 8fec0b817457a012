"""Duty, verifier dispatch and verification: who is on duty, asking the nearest verifiers (a
messaging delivery each, with a signed link), their answers and outcomes, closing an incident."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone

from vecinos.core import geo
from vecinos.messaging.services import DeliverySpec, contact_point, deliveries_enqueue
from vecinos.network import selectors
from vecinos.network.models import Member, Role, Tier
from vecinos.reports import selectors as report_selectors
from vecinos.reports.errors import NotAllowed
from vecinos.reports.locks import add_event as _event
from vecinos.reports.locks import lock_check
from vecinos.reports.media import _store_media, clean_photo
from vecinos.reports.models import (
    Attachment,
    Incident,
    IncidentEvent,
    OnDuty,
    VerificationRequest,
)

OUTCOMES = (
    Incident.Status.CONFIRMED,
    Incident.Status.FALSE_ALARM,
    Incident.Status.UNABLE,
    Incident.Status.NOT_ENFORCEMENT,
)


def duty_start(
    *, member: Member, role: str, hours: float, lat: float | None = None, lng: float | None = None
) -> OnDuty:

    if role not in ("dispatcher", "verifier") or not selectors.has_role(member, role):
        raise NotAllowed
    if lat is not None and lng is not None:
        geo.validate_lat_lng(lat, lng)
    duty, _ = OnDuty.objects.update_or_create(
        member=member,
        role=role,
        defaults={
            "until": timezone.now() + timedelta(hours=max(0.25, min(hours, 24))),
            "lat": lat,
            "lng": lng,
        },
    )
    return duty


def duty_end(*, member: Member, role: str) -> None:
    OnDuty.objects.filter(member=member, role=role).delete()


def duty_purge_expired() -> int:
    """Delete duty rows whose time is over: an old position of a named person is not kept."""
    return OnDuty.objects.filter(until__lte=timezone.now()).delete()[0]


def verifiers_ranked(incident: Incident) -> list[tuple[Member, float | None]]:
    """Trained verifiers on duty now, nearest first (those without a location last)."""
    duties = OnDuty.objects.filter(role="verifier", until__gt=timezone.now()).select_related(
        "member"
    )
    ranked = []
    for duty in duties:
        member = duty.member
        if not member.is_active or member.tier < Tier.TRAINED:
            continue
        distance = None
        if None not in (duty.lat, duty.lng, incident.lat, incident.lng):
            distance = geo.haversine_m(incident.lat, incident.lng, duty.lat, duty.lng)  # type: ignore[arg-type]
        ranked.append((member, distance))
    ranked.sort(key=lambda pair: (pair[1] is None, pair[1] or 0))
    return ranked


def signed_request_link(request: VerificationRequest) -> str:
    token = signing.dumps({"vr": request.pk}, salt="vecinos.verify")
    return f"{settings.PUBLIC_URL}/v/{token}/"


def load_signed_request(token: str, max_age_hours: int = 24) -> VerificationRequest | None:
    try:
        data = signing.loads(token, salt="vecinos.verify", max_age=max_age_hours * 3600)
    except signing.BadSignature:
        return None
    return (
        VerificationRequest.objects.select_related("incident", "verifier")
        .filter(pk=data.get("vr"))
        .first()
    )


@transaction.atomic
def verifiers_request(
    *, incident: Incident, verifiers: list[Member], actor: Member
) -> list[VerificationRequest]:
    from django.utils import translation

    if not report_selectors.can_dispatch(actor):
        raise NotAllowed
    lock_check(incident=incident, actor=actor)
    ranked = {m.pk: d for m, d in verifiers_ranked(incident)}
    created, specs = [], []
    for verifier in verifiers:
        if not selectors.has_role(verifier, Role.VERIFIER):
            continue
        distance = ranked.get(verifier.pk)
        request, was_new = VerificationRequest.objects.get_or_create(
            incident=incident,
            verifier=verifier,
            defaults={
                "requested_by": actor,
                "distance_m": int(distance) if distance else None,
            },
        )
        if not was_new:
            continue
        created.append(request)
        if verifier.phone:
            with translation.override(
                verifier.preferred_language if verifier.preferred_language in ("en", "es") else "es"
            ):
                body = verification_request_text(incident, request)
            specs.append(
                DeliverySpec(
                    purpose="verify",
                    ref_type="verification",
                    ref_id=request.pk,
                    contact=contact_point(
                        channel="sms",
                        address=verifier.phone,
                        member=verifier,
                        language=verifier.preferred_language,
                    ),
                    body=body,
                    language=verifier.preferred_language,
                    key=f"verify:{request.pk}:sms",
                    expires_at=timezone.now() + timedelta(hours=2),
                )
            )
    if created:
        if incident.status == Incident.Status.NEW:
            incident.status = Incident.Status.VERIFYING
            incident.save(update_fields=["status"])
        _event(incident, "verifiers_requested", actor, verifiers=[r.verifier_id for r in created])
    deliveries_enqueue(specs)
    return created


def verification_request_text(incident: Incident, request: VerificationRequest) -> str:
    from django.utils.translation import gettext as _

    place = incident.place_summary or (
        f"{incident.lat:.4f},{incident.lng:.4f}" if incident.lat is not None else "?"
    )
    return _(
        "Vecinos: please verify incident #%(id)s (%(activity)s) near %(place)s. "
        "Reply YES if you can go or NO if not. Details and report: %(link)s"
    ) % {
        "id": incident.pk,
        "activity": incident.get_activity_display(),
        "place": place[:80],
        "link": signed_request_link(request),
    }


@transaction.atomic
def verification_respond(*, request: VerificationRequest, accept: bool) -> VerificationRequest:
    if request.status in (
        VerificationRequest.Status.SENT,
        VerificationRequest.Status.ACCEPTED,
        VerificationRequest.Status.DECLINED,
    ):
        request.status = (
            VerificationRequest.Status.ACCEPTED if accept else VerificationRequest.Status.DECLINED
        )
        request.responded_at = timezone.now()
        request.save(update_fields=["status", "responded_at"])
        _event(
            request.incident, "verifier_" + ("accepted" if accept else "declined"), request.verifier
        )
    return request


@transaction.atomic
def verification_outcome(
    *,
    request: VerificationRequest,
    outcome: str,
    notes: str = "",
    photos: list | None = None,
) -> Incident:
    if outcome not in OUTCOMES:
        raise ValueError(outcome)
    cleaned = [clean_photo(content) for content, _name in (photos or [])]
    incident = Incident.objects.select_for_update().get(pk=request.incident_id)
    incident.status = outcome
    incident.outcome = outcome
    incident.verified_by = request.verifier
    incident.verified_at = timezone.now()
    incident.outcome_notes = notes.strip()[:2000]
    incident.save()
    for content, content_type in cleaned:
        Attachment.objects.create(
            incident=incident,
            kind=Attachment.Kind.PHOTO,
            path=_store_media(content, content_type, "verification"),
            content_type=content_type,
            size=len(content),
        )
    request.status = VerificationRequest.Status.DONE
    request.responded_at = timezone.now()
    request.save(update_fields=["status", "responded_at"])
    VerificationRequest.objects.filter(
        incident=incident,
        status__in=[VerificationRequest.Status.SENT, VerificationRequest.Status.ACCEPTED],
    ).exclude(pk=request.pk).update(status=VerificationRequest.Status.CANCELLED)
    _event(incident, "outcome", request.verifier, outcome=outcome, photos=len(cleaned))
    return incident


def incident_close(*, incident: Incident, actor: Member) -> Incident:
    lock_check(incident=incident, actor=actor)
    incident.status = Incident.Status.CLOSED
    incident.save(update_fields=["status"])
    _event(incident, "closed", actor)
    return incident


# The timeline event each kind of alert writes, and the state it moves the incident to.
ALERT_EVENTS = {
    "all_clear": ("alert_all_clear", Incident.Status.ALL_CLEAR),
    "correction": ("alert_correction", Incident.Status.CORRECTED),
}
ALERT_EVENT_KINDS = ("alert_sent", "alert_all_clear", "alert_correction")


def incident_alerted(
    *, incident_id: int, alert_id: int, alert_kind: str, actor: Member | None
) -> None:
    """An alert made from this incident went out (called by `alerts`, which reports never
    imports): the incident moves to alerted, all clear or corrected, and its timeline says so.
    A closed incident stays closed; its timeline (and the rumor page) still follow."""
    event, state = ALERT_EVENTS.get(alert_kind, ("alert_sent", Incident.Status.ALERTED))
    Incident.objects.filter(pk=incident_id).exclude(status=Incident.Status.CLOSED).update(
        status=state, updated_at=timezone.now()
    )
    IncidentEvent.objects.create(
        incident_id=incident_id, kind=event, actor=actor, detail={"alert": alert_id}
    )
