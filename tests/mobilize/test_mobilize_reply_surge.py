"""Issue 12: an SMS reply holds the message's write transaction (on SQLite, every process's one
write lock) for its writes only. The reads run first, through the router's prepare hook, and
the reply is then decided on the state read again inside the transaction."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.mobilize.test_mobilize_callouts import callout, responder, response_of, text
from tests.twilio_stub import (  # noqa: F401  (fixtures)
    fresh_rate_limits,
    twilio_webhooks,
)
from vecinos.messaging import inbound as router
from vecinos.mobilize.models import Activation, Response
from vecinos.transports import registry

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("twilio_webhooks", "fresh_rate_limits"),
]

# Inside the transaction: the replay record, the rate counter (SQLite), one re-read of the
# response and call-out, the role count, the update, and the router's savepoints. It was 20.
MAX_STATEMENTS_IN_TRANSACTION = 11


@pytest.fixture(autouse=True)
def _console_transports():
    registry.reset()
    yield
    registry.reset()


def test_a_reply_holds_the_write_transaction_for_a_few_statements(client, personas):
    rosa = responder(personas.org_a, "rosa", "es")
    activation = callout(personas)
    with CaptureQueriesContext(connection) as captured:
        reply = text(client, rosa.phone, "VOY 10")
    assert reply is not None and "10 min" in reply
    assert response_of(activation, rosa).status == "coming"
    statements = [q["sql"] for q in captured.captured_queries]
    # The replay record is the transaction's first write: everything after it holds the lock.
    first = next(i for i, sql in enumerate(statements) if "messaging_webhookseen" in sql)
    inside = [sql for sql in statements[first:] if sql.strip().upper() != "COMMIT"]
    assert len(inside) <= MAX_STATEMENTS_IN_TRANSACTION, "\n".join(inside)
    # The sender, the ban filter and the call-out lookup were read before it.
    before = " ".join(statements[:first])
    assert "network_member" in before and "mobilize_response" in before
    assert not any("network_member" in sql for sql in inside)


def test_a_reply_is_decided_on_the_state_inside_the_transaction(client, personas):
    """The call-out was stood down after the reply's prepare step read it: the reply is told
    it is over, and nothing is counted."""
    rosa = responder(personas.org_a, "rosa", "en")
    activation = callout(personas)
    msg = router.InboundSms.build(rosa.phone, "GOING 5")
    router.prepare_sms(msg)
    assert msg.prepared["mobilize.reply"] is not None
    Activation.objects.filter(pk=activation.pk).update(status=Activation.Status.STOOD_DOWN)
    reply = router.route_sms(msg)
    assert reply is not None and "over" in reply
    assert response_of(activation, rosa).status == Response.Status.ASKED


def test_a_second_reply_prepared_before_the_first_was_applied_counts_once(client, personas):
    """Two replies from one phone prepared together (two web threads): the second sees the
    first's answer inside its transaction and counts nobody twice."""
    rosa = responder(personas.org_a, "rosa", "en")
    activation = callout(personas, roles={"presence": 1}, quota=True, wave_size=50)
    first = router.InboundSms.build(rosa.phone, "GOING 5")
    second = router.InboundSms.build(rosa.phone, "GOING 10")
    router.prepare_sms(first)
    router.prepare_sms(second)
    assert "coming" in (router.route_sms(first) or "")
    # Still one place filled (hers), not "enough": she is not counted against herself.
    assert "coming (10 min)" in (router.route_sms(second) or "")
    counted = Response.objects.filter(activation=activation, status=Response.Status.COMING)
    assert counted.count() == 1
