"""The rules of what an alert follows live in the service, not only in the page and the API:
only a confirmed incident becomes an alert, a follow-up (update, all-clear, correction)
follows an alert that was sent, and an alert that follows one is a follow-up kind."""

from __future__ import annotations

import pytest
from django.utils import translation

from tests.reports.test_rumors import boyle_heights, checked_incident
from vecinos.alerts import services
from vecinos.alerts.models import Alert
from vecinos.reports import services as reports
from vecinos.reports.models import Incident
from vecinos.transports import registry

pytestmark = pytest.mark.django_db

TEXT = {"es": "Agentes en la calle Soto.", "en": "Agents on Soto Street."}


@pytest.fixture(autouse=True)
def _setup():
    registry.reset()
    reports._ZONE_CACHE.clear()
    with translation.override("en"):  # the messages compared below are the English ones
        yield
    reports._ZONE_CACHE.clear()
    registry.reset()


def _create(personas, **kwargs) -> Alert:
    defaults = {"actor": personas.dispatcher, "kind": "sighting", "tiers": ["internal"]}
    return services.alert_create(**{**defaults, "messages": TEXT, **kwargs})


def _errors(personas, **kwargs) -> dict[str, str]:
    # English, whatever language an earlier test left active in this thread.
    with translation.override("en"), pytest.raises(services.AlertError) as caught:
        _create(personas, **kwargs)
    return caught.value.errors


def test_an_unconfirmed_incident_does_not_become_an_alert(personas):
    boyle_heights()
    for outcome in (None, Incident.Status.FALSE_ALARM):
        incident = checked_incident(personas, outcome)
        errors = _errors(personas, incident=incident)
        assert errors == {"incident": "Only a confirmed incident can be turned into an alert."}
    assert not Alert.objects.exists()
    confirmed = checked_incident(personas, Incident.Status.CONFIRMED)
    assert _create(personas, incident=confirmed).incident_id == confirmed.pk


def test_a_follow_up_follows_an_alert_that_was_sent(personas):
    draft = _create(personas)
    assert draft.status == Alert.Status.DRAFT
    errors = _errors(personas, kind="all_clear", parent=draft)
    assert errors == {"parent": "A follow-up needs an alert that was sent."}
    sent = services.alert_send(alert=draft, actor=personas.dispatcher)
    assert sent.status == Alert.Status.SENT
    assert _create(personas, kind="all_clear", parent=sent).parent_id == sent.pk


def test_what_follows_an_alert_is_an_update_all_clear_or_correction(personas):
    sent = services.alert_send(alert=_create(personas), actor=personas.dispatcher)
    errors = _errors(personas, kind="sighting", parent=sent)
    assert errors == {"kind": "A follow-up is an update, an all-clear or a correction."}
    assert Alert.objects.filter(parent=sent).count() == 0


def test_subscribe_public_asks_for_the_yes_once_and_reveals_nothing_after(db):
    from vecinos.alerts.models import Subscriber
    from vecinos.core.models import AuditEvent
    from vecinos.messaging.models import Delivery

    zone = boyle_heights()
    ask = {
        "phone": "+12135550188",
        "language": "es",
        "channels": ["sms"],
        "zone": zone,
        "point": None,
        "radius_m": None,
        "area": zone.name,
        "place_text": zone.name,
    }
    sub = services.subscribe_public(**ask)
    assert sub is not None and sub.status == Subscriber.Status.PENDING
    (yes,) = Delivery.objects.filter(purpose="subscribe")
    assert sub.confirm_code in yes.body
    assert AuditEvent.objects.filter(action="subscription.request", target_id=str(sub.pk)).exists()
    services.subscription_confirm(subscriber=sub)
    # Typed again (by anyone): nothing changes, the phone's owner is told how to add a place.
    assert services.subscribe_public(**ask) is None
    assert Subscriber.objects.get(pk=sub.pk).status == Subscriber.Status.ACTIVE
    assert Delivery.objects.filter(purpose="subscribe").count() == 2
    # After STOP: nothing at all.
    services.opt_out(index=sub.phone_index)
    assert services.subscribe_public(**ask) is None
    assert Delivery.objects.filter(purpose="subscribe").count() == 2
