"""Fan-out: an alert's recipient rows and first deliveries. The first chunk is written in the
transaction that marks it sent (workers wake on that commit), the rest in chunks committed one
by one; a fan-out cut short is resumed by the minute auditor."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from django.db import connection, transaction
from django.db.models import TextField
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext_lazy

from vecinos.alerts.bodies import (
    _bodies,
)
from vecinos.alerts.budgets import (
    budget_status,
)
from vecinos.alerts.models import (
    Alert,
    AlertRecipient,
    Subscriber,
    Tier,
)
from vecinos.alerts.rules import (
    DEFAULT_ESCALATION,
    THROTTLE_EXEMPT,
    AlertError,
)
from vecinos.alerts.selection import (
    Target,
    select_recipients,
)
from vecinos.alerts.stopping import (
    _stop,
    _thread_of,
)
from vecinos.core import languages as registry
from vecinos.core.audit import audit
from vecinos.core.bulk import insert_rows, reserve_ids, with_ids
from vecinos.messaging import selectors as messaging_selectors
from vecinos.messaging import services as messaging
from vecinos.messaging.models import Channel
from vecinos.network import selectors as network
from vecinos.network.models import Member
from vecinos.reports import services as reports

SPOKEN_ONLY = frozenset(lang.code for lang in registry.LANGUAGES if not lang.written)
# The first chunk is committed with the approval (the workers wake on that commit, so the first
# messages leave within a second); the rest follow in chunks committed one by one.
log = logging.getLogger(__name__)

FIRST_CHUNK = 1000
CHUNK = 2000
# A chunk's writer holds the fan-out this long (renewed with every chunk, which takes well
# under a second); after it, a watchdog task (or, should that be lost, the minute auditor)
# resumes it: a worker host that dies while writing delays the rest by about this much.
RESUME_AFTER = timedelta(seconds=20)


def _fan_out(alert: Alert, actor: Member) -> Alert:
    """Recipients and first deliveries. The first chunk is written in this transaction; the
    rest, if any, by a worker task queued when it commits (``finish_fan_out``), in
    transactions of their own, or, should that task be lost, by the auditor
    (``resume_fan_outs``). Exactly once: a
    chunk locks the alert and skips anyone who already has a recipient row, and a person's
    recipient row and first delivery are written in the same transaction."""
    now = timezone.now()
    targets = select_recipients(alert)
    budget = budget_status(alert.organization_id)
    if (
        budget["over"]
        and Tier.PUBLIC in alert.tiers
        and not network.is_coalition_coordinator(actor)
    ):
        raise AlertError(
            {
                "budget": str(
                    gettext_lazy(
                        "This organization's SMS and call budget for the month is used up. "
                        "A coalition coordinator can still send it."
                    )
                )
            }
        )
    first, rest = targets[:FIRST_CHUNK], targets[FIRST_CHUNK:]
    alert.escalation = {t: DEFAULT_ESCALATION[t] for t in alert.tiers}
    alert.status = Alert.Status.SENT
    alert.sent_at = now
    alert.recipients_count = len(targets)
    alert.fanout_resume_after = now + RESUME_AFTER if rest else None
    alert.save(
        update_fields=[
            "escalation", "status", "sent_at", "recipients_count", "fanout_resume_after"
        ]
    )  # fmt: skip
    messages = _write_chunk(alert, first, _bodies(alert))
    detail = {"messages": messages} if not rest else {"messages_first": messages}
    audit("alert.send", actor=actor, target=alert, recipients=len(targets), **detail)
    if alert.kind in THROTTLE_EXEMPT and alert.parent_id:
        reason = (
            Alert.StopReason.ALL_CLEAR
            if alert.kind == Alert.Kind.ALL_CLEAR
            else Alert.StopReason.CORRECTION
        )
        superseded = _thread_of(alert)
        stopped = _stop(superseded, reason)
        audit("alert.supersede", actor=actor, target=alert, alerts=superseded, **stopped)
    if alert.incident_id:
        reports.incident_alerted(
            incident_id=alert.incident_id, alert_id=alert.pk, alert_kind=alert.kind, actor=actor
        )
    _schedule_escalation(alert)
    if rest:
        # The rest is written by a worker (``finish_fan_out``), so the approving request
        # returns once the first chunk is committed: written here, a 1,000,000-person alert
        # on PostgreSQL held it for minutes. A task that cannot be queued is logged (robust)
        # and the auditor resumes the fan-out once its lease runs out.
        from vecinos.alerts.tasks import finish_fan_out as finish_task

        alert_id = alert.pk
        transaction.on_commit(lambda: finish_task.enqueue(alert_id), robust=True)
    return alert


def finish_fan_out(alert_id: int) -> int:
    """The fan-out's recipients after its first chunk, written by a worker right after the
    approval: it takes the writer's lease at once (no wait for it to run out), selects the
    recipients again and writes those without a row yet, chunk by chunk."""
    return _take_and_resume(alert_id, timezone.now(), only_if_expired=False)


def watch_fan_out(alert_id: int, *, now: datetime | None = None) -> int:
    """The watchdog of a fan-out being written: when its writer's lease has run out (the
    writer's host died), it takes over; while it holds, it looks again when it would end."""
    now = now or timezone.now()
    until = Alert.objects.filter(pk=alert_id).values_list("fanout_resume_after", flat=True).first()
    if until is None:
        return 0  # written (or given up)
    if until > now:
        _watch(alert_id, until)
        return 0
    return _take_and_resume(alert_id, now, only_if_expired=True)


def _take_and_resume(alert_id: int, now: datetime, *, only_if_expired: bool) -> int:
    """Take the writer's lease of a fan-out still being written, then write the recipients
    who have no row yet, with a watchdog in case this process dies meanwhile."""
    held = Alert.objects.filter(pk=alert_id, fanout_resume_after__isnull=False)
    if only_if_expired:
        held = held.filter(fanout_resume_after__lte=now)
    if not held.update(fanout_resume_after=now + RESUME_AFTER):
        return 0  # finished, or another writer holds it
    _watch(alert_id, now + RESUME_AFTER)
    return _resume(alert_id)


def _watch(alert_id: int, at: datetime) -> None:
    from vecinos.alerts.tasks import watch_fan_out as watch_task

    try:
        watch_task.using(run_after=at + timedelta(seconds=1)).enqueue(alert_id)
    except Exception:  # noqa: BLE001 - the queue is down: the minute auditor resumes it
        log.exception("could not schedule the watchdog of fan-out %s", alert_id)


def continue_fan_out(alert_id: int, targets: list[Target]) -> int:
    """Write the remaining recipients of a fan-out in chunks, each committed on its own.
    Stops (and clears the flag) if the alert was stopped or expired meanwhile.

    Each chunk is made before its transaction (ids reserved, bodies signed and encrypted: most
    of its work), so the transaction holds the embedded database's single write lock for the
    inserts alone, not for minutes of Python while every sender waits to record or claim."""
    written = 0
    alert = Alert.objects.filter(pk=alert_id).first()
    if alert is None:
        return 0
    bodies = _bodies(alert)
    chunks = [targets[i : i + CHUNK] for i in range(0, len(targets), CHUNK)] or [[]]
    for n, chunk in enumerate(chunks):
        made = _make_chunk(alert, chunk, bodies)
        with transaction.atomic():
            state = (
                Alert.objects.select_for_update()
                .filter(pk=alert_id)
                .values("fanout_resume_after", "stopped_at", "expires_at")
                .first()
            )
            if state is None or state["fanout_resume_after"] is None:
                return written  # finished (or given up) by someone else
            now = timezone.now()
            if state["stopped_at"] is not None or state["expires_at"] <= now:
                Alert.objects.filter(pk=alert_id).update(fanout_resume_after=None)
                return written
            written += _store_chunk(alert, made)
            last = n == len(chunks) - 1
            Alert.objects.filter(pk=alert_id).update(
                fanout_resume_after=None if last else now + RESUME_AFTER
            )
            if last:
                audit("alert.send_completed", target=alert, messages_after_first=written)
    return written


def resume_fan_outs(*, now: datetime | None = None) -> int:
    """Fan-outs whose writer stopped (its process died) are finished here: the minute auditor
    takes the lease, selects the recipients again and writes those without a row yet."""
    now = now or timezone.now()
    written = 0
    for pk in list(
        Alert.objects.filter(fanout_resume_after__lte=now).values_list("pk", flat=True)[:20]
    ):
        written += _take_and_resume(pk, now, only_if_expired=True)
    return written


def _resume(alert_id: int) -> int:
    """Write the recipients of this alert who have no row yet (the caller holds the lease)."""
    alert = Alert.objects.get(pk=alert_id)
    done = set(AlertRecipient.objects.filter(alert=alert).values_list("subscriber_id", flat=True))
    rest = [t for t in select_recipients(alert) if t.subscriber_id not in done]
    return continue_fan_out(alert_id, rest)


@lru_cache(maxsize=256)
def _channel_list(text: str | None) -> tuple[str, ...]:
    """A subscriber's channels column (JSON text) as a tuple of channel names."""
    try:
        found = json.loads(text or "[]")
    except ValueError:
        return ()
    return tuple(c for c in found if isinstance(c, str)) if isinstance(found, list) else ()


# The columns of an alert's recipient row that a fan-out writes (core.bulk), its id first.
_RECIPIENT_COLUMNS = (
    "id", "alert_id", "subscriber_id", "tier", "language", "ack_via", "step", "next_step_at",
    "captain_status",
)  # fmt: skip
_ID = _RECIPIENT_COLUMNS.index("id")
_SUBSCRIBER = _RECIPIENT_COLUMNS.index("subscriber_id")


@dataclass(frozen=True, slots=True)
class _Chunk:
    """A chunk of a fan-out made ready to store: its recipient rows (ids reserved) and their
    first deliveries' rows (bodies signed and encrypted)."""

    recipients: list[tuple]
    deliveries: list[tuple]


def _write_chunk(alert: Alert, targets: list[Target], bodies) -> int:
    """Recipient rows and first deliveries of these people, in the caller's transaction (the
    alert locked), skipping anyone this alert already has a row for."""
    return _store_chunk(alert, _make_chunk(alert, targets, bodies))


def _make_chunk(alert: Alert, targets: list[Target], bodies) -> _Chunk:
    """Everything a chunk writes, made without holding any lock: each person's first channel,
    their recipient row with an id reserved for it, and their first message."""
    if not targets:
        return _Chunk([], [])
    assert alert.sent_at is not None
    base = alert.sent_at
    sub_ids = [t.subscriber_id for t in targets]
    # Contact points by id (no decryption here: workers decrypt the address when they send).
    channels_of: dict[int, tuple[tuple[str, ...], dict[str, int | None]]] = {}
    usable: set[int] = set()
    # Signal only while a provider sends it; otherwise their next channel is used.
    signal_on = messaging_selectors.channel_configured(Channel.SIGNAL)
    for i in range(0, len(sub_ids), 5000):
        chunk = sub_ids[i : i + 5000]
        contact_ids: list[int] = []
        on_signal: dict[str, int] = {}  # phone index -> subscriber, for those who chose Signal
        # The channel lists as text, each distinct one decoded once (a few kinds among tens
        # of thousands of people), not a JSON decode per person.
        rows = (
            with_ids(Subscriber.objects.all(), chunk)
            .annotate(channels_text=Cast("channels", output_field=TextField()))
            .values_list(
                "pk", "channels_text", "sms_id", "voice_id", "email_contact_id", "push_id",
                "phone_index",
            )
        )  # fmt: skip
        for pk, channels_text, sms_id, voice_id, email_id, push_id, index in rows:
            chans = _channel_list(channels_text)
            channels_of[pk] = (
                chans,
                {"sms": sms_id, "voice": voice_id, "email": email_id, "push": push_id},
            )
            contact_ids.extend(c for c in (sms_id, voice_id, email_id, push_id) if c)
            if signal_on and Channel.SIGNAL in chans and index:
                on_signal[index] = pk
        # A Signal contact point shares the phone's blind index (messaging.address_index).
        signal_ids = messaging_selectors.contact_ids_by_index(Channel.SIGNAL, on_signal)
        for index, signal_id in signal_ids.items():
            channels_of[on_signal[index]][1]["signal"] = signal_id
            contact_ids.append(signal_id)
        usable.update(messaging_selectors.usable_contact_ids(contact_ids))
    # Each person's first message and when their escalation is due, decided before the rows
    # are written, so each recipient row is written once, complete.
    escalates = alert.kind not in THROTTLE_EXEMPT
    adapt = connection.ops.adapt_datetimefield_value
    # When a tier's second step is due (the same for everyone of the tier), adapted once.
    second_step = {
        tier: adapt(base + timedelta(seconds=plan[1]["after"]))
        for tier, plan in alert.escalation.items()
        if len(plan) > 1 and escalates
    }
    ids = iter(reserve_ids(AlertRecipient._meta.db_table, len(targets)))
    recipients = []
    specs = []
    subject = str(alert.get_kind_display())
    for t in targets:
        rid = next(ids)
        plan = alert.escalation.get(t.tier, [])
        chans, contacts = channels_of.get(t.subscriber_id, ((), {}))
        # The first message goes by the person's own first choice (push, SMS, email...);
        # escalation steps then follow the policy (voice, captain).
        first = chans[0] if chans else (plan[0]["channel"] if plan else "sms")
        next_step_at = None
        candidates = [first, *(c for c in chans if c != first), "sms"]
        if registry.normalize(t.language) in SPOKEN_ONLY:
            # A spoken-only language (Mixteco, K'iche'...): a call, never a text.
            candidates = [Channel.VOICE]
        for channel in candidates:
            contact_id = contacts.get(channel)
            if contact_id and contact_id in usable:
                next_step_at = second_step.get(t.tier)
                specs.append(
                    messaging.DeliverySpec(
                        purpose="alert",
                        ref_type="alert",
                        ref_id=alert.pk,
                        ref_item=rid,
                        contact=None,
                        contact_id=contact_id,
                        channel=channel,
                        body=bodies(rid, t.language, channel),
                        language=t.language,
                        key=f"alert:{alert.pk}:{rid}:{channel}:0",
                        expires_at=alert.expires_at,
                        subject=subject,
                    )
                )
                break
        recipients.append(
            (rid, alert.pk, t.subscriber_id, t.tier, t.language, "", 0, next_step_at, "")
        )
    return _Chunk(recipients, messaging.delivery_rows(specs))


def _store_chunk(alert: Alert, chunk: _Chunk) -> int:
    """Write a made chunk in the caller's transaction (the alert locked), leaving out anyone
    this alert already has a row for (another writer's, should two ever overlap): a person's
    recipient row and first delivery are written together, once."""
    recipients, deliveries = chunk.recipients, chunk.deliveries
    if not recipients:
        return 0
    subscribers = [r[_SUBSCRIBER] for r in recipients]
    done = set(
        with_ids(
            AlertRecipient.objects.filter(alert=alert), subscribers, "subscriber_id"
        ).values_list("subscriber_id", flat=True)
    )
    if done:
        recipients = [r for r in recipients if r[_SUBSCRIBER] not in done]
        kept = {r[_ID] for r in recipients}
        deliveries = [d for d in deliveries if d[messaging.ROW_REF_ITEM] in kept]
    insert_rows(AlertRecipient._meta.db_table, _RECIPIENT_COLUMNS, recipients)
    # Each key names a recipient row this transaction has just inserted: none can exist yet.
    return messaging.deliveries_insert(deliveries, new_keys=True)


def _schedule_escalation(alert: Alert) -> None:
    from vecinos.alerts.tasks import run_escalations

    delays = sorted({s["after"] for plan in alert.escalation.values() for s in plan[1:]})
    assert alert.sent_at is not None  # alert_send sets it just before
    for delay in delays:
        when = alert.sent_at + timedelta(seconds=delay + 2)

        def enqueue(when: datetime = when) -> None:
            run_escalations.using(run_after=when).enqueue()

        transaction.on_commit(enqueue)
