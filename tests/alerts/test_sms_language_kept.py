"""A language chosen by SMS is kept, through the real SMS webhook signed like Twilio.

Someone texts their language's name (العربية, 日本語 ...); the reply, in that language, tells
them to send JOIN and their ZIP code (the flyers in every language say JOIN too). The English
JOIN, YES or STOP must not switch them to English, and a STOP word two languages share (توقف:
Farsi's and Arabic's) answers in the language they chose. A keyword in another language still
sets the language of someone who chose none (가입 90033)."""

from __future__ import annotations

import pytest
from django.utils import translation

from tests.twilio_stub import (  # noqa: F401  (fixtures)
    fresh_rate_limits,
    signed_post,
    sms_reply,
    twilio_webhooks,
)
from vecinos.alerts import inbound as keywords
from vecinos.alerts import services
from vecinos.alerts.models import Subscriber
from vecinos.messaging.models import ContactPoint
from vecinos.messaging.services import address_index
from vecinos.reports.models import Report

SMS = "/hooks/twilio/sms"

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("twilio_webhooks", "fresh_rate_limits", "console_transports"),
]

# (the language's name as the flyers print it, that language's YES, its code)
CHOSEN = [
    ("العربية", "نعم", "ar"),
    ("日本語", "はい", "ja"),
    ("한국어", "예", "ko"),
    ("中文", "是", "zh-hans"),
    ("فارسی", "بله", "fa"),
    ("Tiếng Việt", "CÓ", "vi"),
]


say = sms_reply  # the signed webhook, its one reply


def in_language(lang: str, fn, *args) -> str:
    with translation.override(lang):
        return fn(*args)


def subscriber_of(phone: str) -> Subscriber:
    return Subscriber.objects.get(phone_index=address_index("sms", phone))


def choose_and_join(client, sender: str, name: str, code: str) -> str:
    """The language's name, then the English JOIN the reply asks for: the area's name."""
    assert say(client, sender, name) == in_language(code, keywords.language_text, False)
    area = in_language(code, keywords.zip_area_name, "90033")
    assert say(client, sender, "JOIN 90033") == in_language(
        code, keywords.confirm_question_text, area
    )
    return area


@pytest.mark.parametrize(
    ("name", "yes", "code", "sender"),
    [(*chosen, f"+132355571{i:02d}") for i, chosen in enumerate(CHOSEN)],
)
def test_a_language_chosen_by_name_survives_the_english_join(client, name, yes, code, sender):
    area = choose_and_join(client, sender, name, code)
    sub = subscriber_of(sender)
    assert sub.status == Subscriber.Status.PENDING and sub.language == code
    assert say(client, sender, yes) == in_language(code, keywords.subscribed_text, area)
    sub.refresh_from_db()
    assert sub.status == Subscriber.Status.ACTIVE and sub.language == code
    # Alerts go out on these contact points, in their language.
    assert ContactPoint.objects.get(pk=sub.sms_id).language == code
    assert ContactPoint.objects.get(pk=sub.voice_id).language == code
    assert not Report.objects.exists()


def test_the_english_yes_keeps_the_chosen_language_too(client):
    sender = "+13235557120"
    area = choose_and_join(client, sender, "العربية", "ar")
    assert say(client, sender, "YES") == in_language("ar", keywords.subscribed_text, area)
    assert subscriber_of(sender).language == "ar"


def test_arabic_chosen_then_tawaqquf_opts_out_in_arabic_not_farsi(client):
    sender = "+13235557121"
    assert say(client, sender, "العربية") == in_language("ar", keywords.language_text, False)
    # توقف is in Farsi's STOP list: the word alone would answer in Farsi.
    assert say(client, sender, "توقف") == in_language("ar", keywords.stopped_text)
    assert services.is_opted_out(address_index("sms", sender))
    assert not Report.objects.exists()


@pytest.mark.parametrize(
    ("name", "stop", "code", "sender"),
    [
        ("العربية", "توقف", "ar", "+13235557122"),
        ("한국어", "중지", "ko", "+13235557123"),
        ("日本語", "STOP", "ja", "+13235557124"),
    ],
)
def test_stop_after_choosing_and_joining_answers_in_the_chosen_language(
    client, name, stop, code, sender
):
    area = choose_and_join(client, sender, name, code)
    assert say(client, sender, "YES") == in_language(code, keywords.subscribed_text, area)
    assert say(client, sender, stop) == in_language(code, keywords.stopped_text)
    sub = subscriber_of(sender)
    assert sub.status == Subscriber.Status.STOPPED and sub.language == code
    assert services.is_opted_out(address_index("sms", sender))


def test_a_language_chosen_after_stop_keeps_the_number_unreachable_until_start(client):
    sender = "+13235557125"
    index = address_index("sms", sender)
    assert say(client, sender, "STOP") == in_language("en", keywords.stopped_text)
    assert say(client, sender, "العربية") == in_language("ar", keywords.language_text, False)
    assert services.is_opted_out(index)
    contact = ContactPoint.objects.get(channel="sms", address_index=index)
    assert contact.language == "ar" and not contact.usable
    assert say(client, sender, "START") == in_language("ar", keywords.messages_again_text)
    contact.refresh_from_db()
    assert contact.usable and not services.is_opted_out(index)


def test_a_korean_join_sets_korean_only_for_someone_who_chose_no_language(client):
    sender = "+13235557126"
    area = in_language("ko", keywords.zip_area_name, "90033")
    assert say(client, sender, "가입 90033") == in_language(
        "ko", keywords.confirm_question_text, area
    )
    assert subscriber_of(sender).language == "ko"
    assert say(client, sender, "예") == in_language("ko", keywords.subscribed_text, area)
    sub = subscriber_of(sender)
    assert sub.status == Subscriber.Status.ACTIVE and sub.language == "ko"
    # Someone who chose Arabic and then uses the Korean word stays Arabic.
    other = "+13235557127"
    assert say(client, other, "العربية") == in_language("ar", keywords.language_text, False)
    area = in_language("ar", keywords.zip_area_name, "90033")
    assert say(client, other, "가입 90033") == in_language(
        "ar", keywords.confirm_question_text, area
    )
    assert subscriber_of(other).language == "ar"
