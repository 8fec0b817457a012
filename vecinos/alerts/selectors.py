"""Reads of the alerts app, and who may see what.

Pages and the API ask here; writes go through ``services``. Nothing here returns a phone number
except ``captain_calls`` (the one list where a phone is shown, to the assigned captain only).
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import timedelta

from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from vecinos.alerts import services
from vecinos.alerts.models import Alert, AlertRecipient, OptOut, Subscriber, Tier
from vecinos.messaging import selectors as messaging_selectors
from vecinos.messaging.models import Channel
from vecinos.network import selectors as network
from vecinos.network.models import Member, Membership, Role

UNREACHED_LIMIT = 50
LIST_LIMIT = 100
OUTBOX_LIMIT = 200
FEED_GRACE = timedelta(days=7)
# Signed links act for the person who got them: acknowledgement, verification, calendar.
_ACK_LINK = re.compile(r"(/(?:a|v|cal|r)/)[^/\s]+(/?)")
_CODE = re.compile(r"(?<!\d)\d{6}(?!\d)")
# Any other signed token in a link's path (django.core.signing: base64 parts joined by ":"):
# an RSVP's, a joining invitation's, whatever link is added next (outside walk, session 18:
# the outbox showed RSVP and joining links whole, and a coordinator opened them).
_SIGNED = re.compile(r"(?<=/)[\w.-]*:[\w:-]{10,}")


# --- who may -----------------------------------------------------------------------------------


def can_alert(member: Member) -> bool:
    return member.is_authenticated and services.can_alert(member)


def can_approve(member: Member, alert: Alert) -> bool:
    """A second, different person with an alerting role approves a public alert."""
    return (
        alert.status == Alert.Status.PENDING
        and can_alert(member)
        and services.may_approve(member, alert)
    )


def can_see_outbox(member: Member) -> bool:
    """The outbox holds every organization's texts (with the built-in console transport): the
    dispatchers and the coalition's coordinators, not each organization's coordinators (outside
    probe, session 19: one read the whole coalition's alerts, approvals and RSVP texts)."""
    return member.is_authenticated and network.has_role(
        member, Role.DISPATCHER, Role.COALITION_COORDINATOR
    )


def can_manage_optouts(member: Member) -> bool:
    """The stop list, adding numbers included: the coalition's coordinators only. A number on
    it gets nothing from any organization. An organization's coordinator could otherwise cut
    the coalition's verifiers and dispatchers off from every text and call (outside probe,
    session 17), restart texts to someone who asked the whole coalition to stop, or, by
    watching the count while adding a number, tell whether that person had texted STOP."""
    return member.is_authenticated and network.is_coalition_coordinator(member)


def can_record_templates(member: Member) -> bool:
    """Recorded alert templates reach every subscriber of the coalition: its coordinators."""
    return member.is_authenticated and network.is_coalition_coordinator(member)


def is_captain(member: Member) -> bool:
    return member.is_authenticated and network.has_role(member, Role.CAPTAIN)


# --- alerts --------------------------------------------------------------------------------------


def visible_alerts(member: Member | None):
    """Dispatchers and coalition coordinators see every alert; an organization's
    coordinators see their organization's alerts only."""
    qs = Alert.objects.all()
    if member is None:
        return qs
    if network.has_role(member, Role.DISPATCHER, Role.COALITION_COORDINATOR):
        return qs
    orgs = network.coordinated_org_ids(member) or set()
    return qs.filter(organization_id__in=orgs)


def recent_alerts(limit: int = LIST_LIMIT, member: Member | None = None) -> list[Alert]:
    """The latest alerts with their acknowledgement counts (one query)."""
    return list(
        visible_alerts(member)
        .select_related("created_by", "approved_by")
        .annotate(
            acked=Count("recipients", filter=Q(recipients__acknowledged_at__isnull=False)),
        )
        .order_by("-created_at", "-id")[:limit]
    )


def alert_get(alert_id: int, member: Member | None = None) -> Alert | None:
    return (
        visible_alerts(member)
        .select_related("created_by", "approved_by", "parent", "incident")
        .filter(pk=alert_id)
        .first()
    )


def percent(part: int, whole: int) -> int:
    return int(part * 100 / whole) if whole else 0


def subscriber_label(recipient: AlertRecipient) -> str:
    """Never a phone number: the member's username, or "subscriber #id"."""
    member = recipient.subscriber.member if recipient.subscriber_id else None
    if member is not None:
        return member.username
    return f"#{recipient.subscriber_id}"


def names_shown(viewer: Member, member_ids: set[int]) -> set[int] | None:
    """Which of these members' handles the viewer may see on an alert's progress: everyone's
    (None) for dispatchers and the coalition's coordinators; for an organization's
    coordinator, their own organizations' members only (outside probe, session 19: the "not
    reached yet" table listed every organization's dispatchers and verifiers by handle)."""
    if network.has_role(viewer, Role.DISPATCHER, Role.COALITION_COORDINATOR):
        return None
    orgs = network.coordinated_org_ids(viewer) or set()
    if not member_ids or not orgs:
        return set()
    return set(
        Membership.objects.filter(member_id__in=member_ids, organization_id__in=orgs)
        .values_list("member_id", flat=True)
        .distinct()
    )


def unreached(alert: Alert, limit: int = UNREACHED_LIMIT) -> list[AlertRecipient]:
    """The first unacknowledged recipients. Only non-personal columns are loaded."""
    return list(
        AlertRecipient.objects.filter(alert=alert, acknowledged_at__isnull=True)
        .select_related("subscriber__member", "captain")
        .only(
            "id",
            "tier",
            "language",
            "step",
            "next_step_at",
            "captain_status",
            "subscriber_id",
            "subscriber__member_id",
            "subscriber__member__username",
            "captain_id",
            "captain__username",
        )
        .order_by("pk")[:limit]
    )


def progress(alert: Alert) -> dict:
    """services.progress plus what a page needs to draw it (percentages, ordered rows)."""
    data = services.progress(alert)
    totals = data["totals"]
    total = sum(totals.values())
    cancelled = totals.get("cancelled", 0)
    out = total - cancelled
    done = totals.get("sent", 0) + totals.get("delivered", 0)
    failed = totals.get("failed", 0) + totals.get("undelivered", 0)
    tiers = []
    for tier in Tier:
        row = data["tiers"].get(tier.value)
        if row is None:
            continue
        tiers.append(
            {
                "tier": tier.value,
                "label": tier.label,
                "recipients": row["recipients"],
                "acknowledged": row["acknowledged"],
                "percent": percent(row["acknowledged"], row["recipients"]),
            }
        )
    channels = []
    for channel, states in sorted(data["channels"].items()):
        channels.append(
            {
                "channel": channel,
                # Its name in the page's language ("Llamada de voz"), not its code ("voice").
                "label": Channel(channel).label if channel in Channel.values else channel,
                "queued": states.get("queued", 0) + states.get("sending", 0),
                "sent": states.get("sent", 0),
                "delivered": states.get("delivered", 0),
                "failed": states.get("failed", 0) + states.get("undelivered", 0),
                "cancelled": states.get("cancelled", 0),
                "total": sum(states.values()),
            }
        )
    return {
        **data,
        "tier_rows": tiers,
        "channel_rows": channels,
        "messages_total": total,
        "messages_out": out,
        "messages_done": done,
        "messages_failed": failed,
        "messages_queued": totals.get("queued", 0) + totals.get("sending", 0),
        "done_percent": percent(done, out),
        "ack_percent": percent(data["acknowledged"], data["recipients"]),
    }


def is_live(alert: Alert) -> bool:
    """Whether a page showing this alert should keep polling."""
    if alert.status in (Alert.Status.CANCELLED,):
        return False
    return alert.expires_at > timezone.now()


def tree(alert: Alert) -> list[dict]:
    """Recipients handed to phone-tree captains, grouped by captain (no phone numbers)."""
    rows = (
        AlertRecipient.objects.filter(alert=alert)
        .exclude(captain_status="")
        .select_related("subscriber__member", "captain")
        .only(
            "id",
            "tier",
            "language",
            "captain_status",
            "captain_at",
            "acknowledged_at",
            "ack_via",
            "subscriber_id",
            "subscriber__member_id",
            "subscriber__member__username",
            "captain_id",
            "captain__username",
        )
        .order_by("captain__username", "pk")
    )
    groups: dict[int | None, dict] = {}
    for r in rows:
        group = groups.get(r.captain_id)
        if group is None:
            group = groups[r.captain_id] = {
                "captain": r.captain,
                "people": [],
                "counts": defaultdict(int),
            }
        group["people"].append(r)
        group["counts"][r.captain_status] += 1
        if r.acknowledged_at is not None:
            group["counts"]["acknowledged"] += 1
    out = list(groups.values())
    for group in out:
        group["counts"] = dict(group["counts"])
        group["total"] = len(group["people"])
    return out


def captain_calls(captain: Member) -> list[AlertRecipient]:
    """The captain's open calls, with the phone to call. Viewing this is audited by the page."""
    return list(services.captain_queue(captain).select_related("subscriber__member"))


# --- public alerts (CAP, Atom) -------------------------------------------------------------------


def is_public(alert: Alert) -> bool:
    return alert.status == Alert.Status.SENT and Tier.PUBLIC in (alert.tiers or [])


def public_alerts(now=None) -> list[Alert]:
    """Sent public-tier alerts that are live or expired less than a week ago, newest first."""
    now = now or timezone.now()
    # JSON "contains" is not portable (SQLite): the list is small, filter the tiers here.
    rows = (
        Alert.objects.filter(status=Alert.Status.SENT, expires_at__gte=now - FEED_GRACE)
        .select_related("parent")
        .prefetch_related("zones")
        .order_by("-sent_at", "-id")
    )
    return [a for a in rows if is_public(a)]


def public_alert(alert_id: int) -> Alert | None:
    alert = (
        Alert.objects.select_related("parent").prefetch_related("zones").filter(pk=alert_id).first()
    )
    return alert if alert is not None and is_public(alert) else None


# --- subscriptions and opt-outs ------------------------------------------------------------------


def member_subscriber(member: Member) -> Subscriber | None:
    return Subscriber.objects.filter(member=member).first()


def subscriber_areas(subscriber: Subscriber) -> QuerySet:
    return subscriber.areas.select_related("zone").order_by("pk")


def optout_counts() -> dict[str, int]:
    counts = dict(OptOut.objects.values_list("source").annotate(n=Count("id")))
    return {"total": sum(counts.values()), **counts}


def outbox(limit: int = OUTBOX_LIMIT) -> list:
    return messaging_selectors.outbox_recent(limit)


def mask_address(address: str) -> str:
    """Only the last four characters of a phone number or email address."""
    address = address or ""
    if len(address) <= 4:
        return "•" * len(address)
    return "•••" + address[-4:]


def mask_body(body: str) -> str:
    """Signed acknowledgement links and confirmation codes act for the person: hide them."""
    return _CODE.sub("••••••", _SIGNED.sub("…", _ACK_LINK.sub(r"\1…\2", body or "")))


# --- what alerts add to the reports pages (registered in AlertsConfig.ready) -------------------


def incident_alert_counts(alert_ids: list[int]) -> dict[int, dict]:
    """For an incident's timeline: each alert's kind, recipients, messages out, acks."""
    sent = messaging_selectors.sent_counts(ref_type="alert", ref_ids=alert_ids)
    rows = Alert.objects.filter(pk__in=alert_ids).annotate(
        acked=Count("recipients", filter=Q(recipients__acknowledged_at__isnull=False))
    )
    return {
        a.pk: {
            "label": a.get_kind_display(),
            "recipients": a.recipients_count,
            "sent": sent.get(a.pk, 0),
            "acknowledged": a.acked,
        }
        for a in rows
    }


def waiting_approvals(member: Member) -> list[Alert]:
    """Public alerts waiting for a second person that this member may approve, oldest first."""
    pending = (
        visible_alerts(member)
        .filter(status=Alert.Status.PENDING)
        .select_related("created_by")
        .order_by("requested_at", "pk")[:20]
    )
    return [a for a in pending if services.may_approve(member, a)]


def approval_notices(member: Member) -> list[dict[str, str]]:
    now = timezone.now()
    notices = []
    for alert in waiting_approvals(member):
        since = alert.requested_at or alert.created_at
        notices.append(
            {
                "text": _(
                    "Public alert #%(id)s (%(kind)s) by %(who)s waits for your approval "
                    "since %(minutes)s min"
                )
                % {
                    "id": alert.pk,
                    "kind": alert.get_kind_display(),
                    "who": alert.created_by.username if alert.created_by else "?",
                    "minutes": int((now - since).total_seconds() // 60),
                },
                "url": reverse("alert_detail", args=[alert.pk]),
            }
        )
    return notices


def captain_closed(captain: Member, hours: int = 12) -> list[AlertRecipient]:
    """The captain's calls closed because the alert stopped (no phone numbers: no call)."""
    return list(
        AlertRecipient.objects.filter(
            captain=captain,
            captain_status=AlertRecipient.CaptainStatus.CLOSED,
            captain_at__gte=timezone.now() - timedelta(hours=hours),
        )
        .select_related("alert")
        .only("id", "captain_at", "alert__id", "alert__kind", "alert__stop_reason")
        .order_by("-captain_at", "-pk")[:50]
    )


def received_alerts(member, limit: int = 50) -> list:
    """The alerts this member received (as a subscriber), newest first."""
    return list(
        AlertRecipient.objects.filter(subscriber__member=member)
        .select_related("alert")
        .order_by("-alert__sent_at", "-id")[:limit]
    )
