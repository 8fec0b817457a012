"""When no verifier is on duty: what a real hotline does instead.

Ask vouched responders near the place to go and look (a text message each, a messaging
delivery), or record that the incident was verified another way (by phone, by a trusted
partner's report), saying who and why. Both are written to the incident's timeline and the
audit log; the "why" is free text, so it is stored encrypted.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from vecinos.core.audit import audit
from vecinos.core.crypto import encrypt
from vecinos.messaging.services import DeliverySpec, contact_point, deliveries_enqueue
from vecinos.network.models import Member, Role, Tier
from vecinos.reports import selectors
from vecinos.reports.models import Incident, IncidentEvent, VerificationRequest
from vecinos.reports.selectors import on_duty_ids
from vecinos.reports.services import OUTCOMES, NotAllowed, lock_check

MAX_RESPONDERS = 10
HOW = ("phone", "partner", "other")


def _may_dispatch(actor: Member) -> None:
    if not selectors.can_dispatch(actor):
        raise NotAllowed


def responders_near(incident: Incident) -> list[Member]:
    """Vouched responders of the organization that holds the incident's zone (else all)."""
    qs = Member.objects.filter(
        is_active=True,
        tier__gte=Tier.VOUCHED,
        memberships__role=Role.RESPONDER,
    ).exclude(phone_index="")
    zone = incident.zone
    if zone is not None and zone.organization_id:
        near = qs.filter(memberships__organization_id=zone.organization_id)
        if near.exists():
            qs = near
    return list(qs.distinct().order_by("pk")[:MAX_RESPONDERS])


@transaction.atomic
def responders_ask(*, incident: Incident, actor: Member) -> int:

    _may_dispatch(actor)
    lock_check(incident=incident, actor=actor)
    people = responders_near(incident)
    specs = []
    place = incident.place_summary or (incident.zone.name if incident.zone is not None else "")
    for member in people:
        language = member.preferred_language if member.preferred_language in ("en", "es") else "es"
        with translation.override(language):
            body = gettext(
                "Vecinos: no verifier is on duty. Can you safely look near %(place)s "
                "(incident #%(id)s, %(activity)s) and call the dispatcher? Observe from a "
                "distance, do not interfere."
            ) % {
                "place": place or "?",
                "id": incident.pk,
                "activity": incident.get_activity_display(),
            }
        specs.append(
            DeliverySpec(
                purpose="responders_ask",
                ref_type="incident",
                ref_id=incident.pk,
                contact=contact_point(
                    channel="sms", address=member.phone, member=member, language=language
                ),
                body=body,
                language=language,
                key=f"responders_ask:{incident.pk}:{member.pk}",
                expires_at=timezone.now() + timedelta(hours=2),
            )
        )
    deliveries_enqueue(specs)
    IncidentEvent.objects.create(
        incident=incident,
        kind="responders_asked",
        actor=actor,
        detail={"count": len(specs)},
    )
    audit("incident.responders_ask", actor=actor, target=incident, count=len(specs))
    return len(specs)


@transaction.atomic
def incident_verified_otherwise(
    *, incident: Incident, actor: Member, outcome: str, how: str, why: str
) -> Incident:
    _may_dispatch(actor)
    if outcome not in OUTCOMES or how not in HOW or not why.strip():
        raise ValueError("outcome, how and why are required")
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    lock_check(incident=incident, actor=actor)
    incident.status = outcome
    incident.outcome = outcome
    incident.verified_by = actor
    incident.verified_at = timezone.now()
    incident.outcome_notes = why.strip()[:2000]
    incident.save()
    VerificationRequest.objects.filter(
        incident=incident,
        status__in=[VerificationRequest.Status.SENT, VerificationRequest.Status.ACCEPTED],
    ).update(status=VerificationRequest.Status.CANCELLED)
    IncidentEvent.objects.create(
        incident=incident,
        kind="verified_otherwise",
        actor=actor,
        detail={"outcome": outcome, "how": how, "why": encrypt(why.strip()[:500])},
    )
    audit("incident.verified_otherwise", actor=actor, target=incident, outcome=outcome, how=how)
    return incident


def verifiers_on_duty_count() -> int:

    return len(on_duty_ids("verifier"))
