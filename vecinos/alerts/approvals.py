"""Approval requests: telling the people who may approve a public alert that it waits."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from vecinos.alerts.escalation import (
    _usable_contacts,
)
from vecinos.alerts.models import (
    Alert,
    Subscriber,
)
from vecinos.alerts.rules import (
    APPROVAL_REF,
    APPROVAL_WIDEN_AFTER,
    MAX_APPROVERS_NOTIFIED,
    may_approve,
)
from vecinos.messaging import selectors as messaging_selectors
from vecinos.messaging import services as messaging
from vecinos.messaging.models import Channel, ContactPoint
from vecinos.network import selectors as network
from vecinos.network.models import Member, Role
from vecinos.reports import selectors as reports_selectors

# --- Approval requests ------------------------------------------------------------------------


def _candidates(alert: Alert) -> QuerySet[Member]:
    """The active members other than the author whose roles could approve this alert (before
    may_approve's other rules: the tier a role needs, the independence of the author)."""
    return (
        Member.objects.filter(is_active=True)
        .filter(
            Q(memberships__role__in=(Role.DISPATCHER, Role.COALITION_COORDINATOR))
            | Q(
                memberships__role=Role.ORG_COORDINATOR,
                memberships__organization_id=alert.organization_id,
            )
        )
        .exclude(pk=alert.created_by_id or 0)
        .distinct()
        .order_by("pk")
    )


def approvers(alert: Alert) -> list[Member]:
    """Everyone who may approve this alert, those on duty as dispatchers first."""
    allowed = [m for m in _candidates(alert) if may_approve(m, alert)]
    on_duty = reports_selectors.on_duty_ids("dispatcher")
    return sorted(allowed, key=lambda m: (m.pk not in on_duty, m.pk))


# What the page of a public alert waiting for its second person says about who was told.
REACH_TOLD = "told"  # approval requests went out to at least one person who may approve it
REACH_CONSOLE = "console"  # some may approve it, none has a channel for a link: console only
REACH_NOT_INDEPENDENT = "not_independent"  # the others were vetted only by the author
REACH_NOBODY = "nobody"  # nobody else holds a role that approves it


def approval_reach(alert: Alert) -> str:
    """Whether the people who may approve a waiting public alert were told, and if nobody
    was, why: the author's page says so plainly instead of claiming they were. One query when
    requests went out (the usual case); the reasons are only looked for when none did."""
    if messaging_selectors.deliveries_count(
        ref_type=APPROVAL_REF, ref_ids=[alert.pk], channels=Channel.values
    ):
        return REACH_TOLD
    if approvers(alert):
        return REACH_CONSOLE
    if any(network.vetted_only_by(m, alert.created_by) for m in _candidates(alert)):
        return REACH_NOT_INDEPENDENT
    return REACH_NOBODY


def vetted_only_by_author(member: Member, alert: Alert) -> bool:
    """The member holds a role that approves this alert but was vouched for or trained only
    by its author (directly or through people the author alone vetted): may_approve refuses
    them for that alone, and their page says why."""
    approving_role = network.has_role(member, Role.DISPATCHER, Role.COALITION_COORDINATOR) or (
        alert.organization_id is not None
        and network.has_role(member, Role.ORG_COORDINATOR, organization_id=alert.organization_id)
    )
    return (
        member.pk != alert.created_by_id
        and approving_role
        and network.vetted_only_by(member, alert.created_by)
    )


def _first_contact(member: Member) -> ContactPoint | None:
    """The member's first channel that can carry a link (a voice call cannot)."""
    sub = (
        Subscriber.objects.filter(member=member)
        .select_related("sms", "voice", "email_contact", "push")
        .first()
    )
    if sub is not None:
        contacts = _usable_contacts(sub)
        for channel in [*sub.channels, "sms", "email"]:
            if channel != Channel.VOICE and channel in contacts:
                return contacts[channel]
    language = member.preferred_language
    if member.phone:
        return messaging.contact_point(
            channel=Channel.SMS, address=member.phone, member=member, language=language
        )
    if member.email:
        return messaging.contact_point(
            channel=Channel.EMAIL, address=member.email, member=member, language=language
        )
    return None


def _notify_approvers(alert: Alert, *, everyone: bool = False) -> int:
    """Tell the people who may approve that a public alert waits for them: the dispatchers on
    duty if any may approve it, otherwise (or, with ``everyone``, once it has waited
    APPROVAL_WIDEN_AFTER) everyone who may, each by their first channel. The console shows it
    too (selectors.approval_notices). Answered or cancelled, the requests still queued are
    cancelled. One request per person and alert (the idempotency key)."""
    people = approvers(alert)
    on_duty = reports_selectors.on_duty_ids("dispatcher")
    chosen = people if everyone else ([m for m in people if m.pk in on_duty] or people)
    link = f"{settings.PUBLIC_URL}{reverse('alert_detail', args=[alert.pk])}"
    author = alert.created_by.username if alert.created_by else "?"
    specs = []
    for member in chosen[:MAX_APPROVERS_NOTIFIED]:
        contact = _first_contact(member)
        if contact is None:
            continue
        language = member.preferred_language if member.preferred_language in ("en", "es") else "es"
        with translation.override(language):
            body = _(
                "Vecinos: %(who)s asks you to approve a public alert (%(kind)s). It waits for "
                "a second person: %(link)s"
            ) % {"who": author, "kind": alert.get_kind_display(), "link": link}
            subject = _("A public alert waits for your approval")
        specs.append(
            messaging.DeliverySpec(
                purpose="approval",
                ref_type=APPROVAL_REF,
                ref_id=alert.pk,
                ref_item=member.pk,
                contact=contact,
                body=body,
                language=language,
                key=f"approval:{alert.pk}:{member.pk}",
                expires_at=alert.expires_at,
                subject=subject,
            )
        )
    messaging.deliveries_enqueue(specs)
    return len(specs)


def remind_approvers(*, now: datetime | None = None) -> int:
    """Public alerts still waiting after APPROVAL_WIDEN_AFTER: everyone who may approve them
    is told, not only those on duty (run by the minute auditor; nobody is told twice)."""
    now = now or timezone.now()
    waiting = Alert.objects.filter(
        status=Alert.Status.PENDING,
        requested_at__lte=now - APPROVAL_WIDEN_AFTER,
        expires_at__gt=now,
    ).select_related("created_by")[:50]
    told = 0
    for alert in waiting:
        with transaction.atomic():
            told += _notify_approvers(alert, everyone=True)
    return told
