"""A large fan-out is written in chunks committed one by one. Cut short after its first chunk
(the approving process died: here the commit hook never runs, as in a test transaction), the
minute auditor finishes it: every recipient once, one first message each, nothing twice, and
a second resume changes nothing. A stopped alert is not continued."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from tests.conftest import make_member
from vecinos.alerts import fanout, services
from vecinos.alerts.acks import load_ack_token
from vecinos.alerts.models import Alert, AlertRecipient, Tier
from vecinos.alerts.tasks import escalation_auditor
from vecinos.messaging.models import Delivery
from vecinos.network.models import Role
from vecinos.network.models import Tier as Vetting
from vecinos.transports import registry

pytestmark = pytest.mark.django_db

PEOPLE = 11


@pytest.fixture(autouse=True)
def _small_chunks(monkeypatch):
    registry.reset()
    monkeypatch.setattr(fanout, "FIRST_CHUNK", 3)
    monkeypatch.setattr(fanout, "CHUNK", 4)
    yield
    registry.reset()


def _responders(personas) -> None:
    for i in range(PEOPLE):
        member = make_member(
            f"chunk{i}",
            org=personas.org_a,
            roles=(Role.RESPONDER,),
            tier=Vetting.VOUCHED,
            phone=f"+121355503{i:02d}",
        )
        services.ensure_member_subscriber(member)


def _send(personas) -> Alert:
    alert = services.alert_create(
        actor=personas.dispatcher,
        kind=Alert.Kind.ACTIVATION,
        tiers=[Tier.RESPONDERS],
        messages={"es": "Activación: vayan a observar.", "en": "Activation: go observe."},
    )
    return services.alert_send(alert=alert, actor=personas.dispatcher)


def _counts(alert: Alert) -> tuple[int, int, int]:
    recipients = AlertRecipient.objects.filter(alert=alert).count()
    deliveries = Delivery.objects.filter(ref_type="alert", ref_id=alert.pk)
    per_person = deliveries.values("ref_item").annotate(n=Count("id")).filter(n__gt=1)
    return recipients, deliveries.count(), per_person.count()


def test_fan_out_cut_after_first_chunk_is_resumed_once(personas):
    _responders(personas)
    alert = _send(personas)
    alert.refresh_from_db()
    assert alert.status == Alert.Status.SENT
    assert alert.recipients_count >= PEOPLE
    total = alert.recipients_count
    # Only the first chunk was committed; the rest waits for its writer's lease to run out.
    assert _counts(alert) == (3, 3, 0)
    assert alert.fanout_resume_after is not None
    assert services.resume_fan_outs() == 0  # the writer still holds it
    assert _counts(alert) == (3, 3, 0)

    later = timezone.now() + fanout.RESUME_AFTER + timedelta(seconds=1)
    assert services.resume_fan_outs(now=later) == total - 3
    assert _counts(alert) == (total, total, 0)
    alert.refresh_from_db()
    assert alert.fanout_resume_after is None
    # Every recipient has its own first message, keyed once.
    keys = list(
        Delivery.objects.filter(ref_type="alert", ref_id=alert.pk).values_list(
            "idempotency_key", flat=True
        )
    )
    assert len(set(keys)) == total
    # Resuming again (or the auditor's next minute) adds nothing.
    assert services.resume_fan_outs(now=later + timedelta(minutes=5)) == 0
    escalation_auditor.call_local()
    assert _counts(alert) == (total, total, 0)


def test_continuing_a_chunk_twice_writes_nobody_twice(personas):
    _responders(personas)
    alert = _send(personas)
    rest = list(services.select_recipients(alert))
    # Both the approving process and a resumer hand over the same people.
    assert fanout.continue_fan_out(alert.pk, rest) == alert.recipients_count - 3
    assert fanout.continue_fan_out(alert.pk, rest) == 0
    total = alert.recipients_count
    assert _counts(alert) == (total, total, 0)


def test_a_stopped_alert_is_not_continued(personas):
    _responders(personas)
    alert = _send(personas)
    services.alert_cancel(alert=alert, actor=personas.dispatcher)
    later = timezone.now() + fanout.RESUME_AFTER + timedelta(seconds=1)
    assert services.resume_fan_outs(now=later) == 0
    assert _counts(alert)[0] == 3
    alert.refresh_from_db()
    assert alert.fanout_resume_after is None


def test_after_the_approval_commits_a_worker_task_writes_the_rest(
    personas, django_capture_on_commit_callbacks
):
    """The approving request writes the first chunk only; the task queued on its commit (run
    at once here: tasks are immediate in tests) writes everyone else, once."""
    _responders(personas)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        alert = _send(personas)
    total = Alert.objects.get(pk=alert.pk).recipients_count
    assert _counts(alert) == (3, 3, 0)  # all the request itself wrote
    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:
            callback()
    assert _counts(alert) == (total, total, 0)
    alert.refresh_from_db()
    assert alert.fanout_resume_after is None
    # A second run of the task (a retry) or the auditor adds nobody.
    assert services.finish_fan_out(alert.pk) == 0
    later = timezone.now() + fanout.RESUME_AFTER + timedelta(seconds=1)
    assert services.resume_fan_outs(now=later) == 0
    assert _counts(alert) == (total, total, 0)


def test_the_watchdog_takes_over_when_the_writer_s_lease_runs_out(personas):
    """The worker writing a fan-out died (here: the task never ran). Its watchdog, scheduled
    for when the lease ends, does nothing while the lease holds, then writes everyone left."""
    _responders(personas)
    alert = _send(personas)
    total = Alert.objects.get(pk=alert.pk).recipients_count
    assert services.watch_fan_out(alert.pk) == 0  # the lease still holds: look again later
    assert _counts(alert) == (3, 3, 0)
    later = timezone.now() + fanout.RESUME_AFTER + timedelta(seconds=1)
    assert services.watch_fan_out(alert.pk, now=later) == total - 3
    assert _counts(alert) == (total, total, 0)
    alert.refresh_from_db()
    assert alert.fanout_resume_after is None
    assert services.watch_fan_out(alert.pk, now=later + timedelta(minutes=1)) == 0
    assert _counts(alert) == (total, total, 0)


def test_every_message_s_link_names_its_own_recipient_row(personas):
    """The recipient ids are reserved before their rows are written (the bodies are signed
    and encrypted outside the write): each link acknowledges the row it was written with."""
    _responders(personas)
    alert = _send(personas)
    fanout.continue_fan_out(alert.pk, list(services.select_recipients(alert)))
    deliveries = Delivery.objects.filter(ref_type="alert", ref_id=alert.pk)
    assert deliveries.count() == alert.recipients_count
    for delivery in deliveries:
        token = delivery.body.split("/a/", 1)[1].rstrip("/")
        recipient = load_ack_token(token)
        assert recipient is not None
        assert recipient.pk == delivery.ref_item
        assert delivery.contact_id in {
            recipient.subscriber.sms_id,
            recipient.subscriber.voice_id,
            recipient.subscriber.push_id,
            recipient.subscriber.email_contact_id,
        }


def test_a_chunk_made_before_another_writer_stored_them_adds_nobody(personas):
    """Two writers overlapping (a watchdog taking over from a slow one): the chunk the slow one
    made is stored without the people the other has written meanwhile."""
    _responders(personas)
    alert = _send(personas)
    rest = list(services.select_recipients(alert))[3:]
    made = fanout._make_chunk(alert, rest, fanout._bodies(alert))
    assert len(made.recipients) == len(rest)
    assert fanout.continue_fan_out(alert.pk, rest[:2]) == 2
    with transaction.atomic():
        assert fanout._store_chunk(alert, made) == len(rest) - 2
    total = alert.recipients_count
    assert _counts(alert) == (total, total, 0)
    with transaction.atomic():
        assert fanout._store_chunk(alert, made) == 0
    assert _counts(alert) == (total, total, 0)


def test_a_chunk_made_as_the_alert_is_stopped_is_not_written(personas, monkeypatch):
    """A chunk is made before its transaction; the alert stopped in between: the transaction
    sees it, and writes nothing."""
    _responders(personas)
    alert = _send(personas)
    make = fanout._make_chunk

    def make_then_stop(*args):
        chunk = make(*args)
        Alert.objects.filter(pk=alert.pk).update(stopped_at=timezone.now())
        return chunk

    monkeypatch.setattr(fanout, "_make_chunk", make_then_stop)
    rest = list(services.select_recipients(alert))[3:]
    assert fanout.continue_fan_out(alert.pk, rest) == 0
    assert _counts(alert) == (3, 3, 0)
    alert.refresh_from_db()
    assert alert.fanout_resume_after is None
