"""STOP / START / HELP / JOIN in every shipped written language, through the signed SMS
webhook: the reply goes out in the language of the keyword used, and the carriers' English and
Spanish words always work. The one table is ``core.languages.SMS_KEYWORDS``."""

from __future__ import annotations

import random
import unicodedata

import phonenumbers
import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from tests.twilio_stub import (  # noqa: F401  (fixtures)
    fresh_rate_limits,
    signed_post,
    sms_reply,
    twilio_signature,
    twilio_webhooks,
)
from vecinos.alerts import inbound as keywords
from vecinos.alerts import services
from vecinos.alerts.models import OptOut, Subscriber
from vecinos.core import languages
from vecinos.messaging import inbound
from vecinos.messaging.services import address_index
from vecinos.reports.models import Report
from vecinos.transports import registry

SMS = "/hooks/twilio/sms"
WRITTEN = [lang.code for lang in languages.written_languages()]
# The first word of each kind per language (the one a reply in that language would name).
FIRST = {
    kind: {code: words[0] for code, words in table.items() if code}
    for kind, table in languages.SMS_KEYWORDS.items()
}


@pytest.fixture(autouse=True)
def _console_transports():
    registry.reset()
    yield
    registry.reset()


_given: set[str] = set()


def new_number() -> str:
    """A valid number no earlier call gave (two people with one number would share one
    subscription: a collision made a quota test flaky)."""
    while True:
        number = f"+1323555{random.randint(0, 9999):04d}"
        if number not in _given and phonenumbers.is_valid_number(phonenumbers.parse(number)):
            _given.add(number)
            return number


say = sms_reply  # the signed webhook, its one reply


def in_language(lang: str, fn, *args) -> str:
    with translation.override(lang):
        return fn(*args)


def index(phone: str) -> str:
    return address_index("sms", phone)


# --- the table ----------------------------------------------------------------------------------


def test_every_written_language_has_every_kind_and_replies_can_go_out_in_it():
    for kind, table in languages.SMS_KEYWORDS.items():
        assert set(WRITTEN) <= set(table), kind
    assert set(WRITTEN) <= set(inbound.REPLY_LANGUAGES)
    # The carriers' words, always.
    assert {"STOP", "STOPALL", "UNSUBSCRIBE", "END", "QUIT", "ALTO", "BAJA"} <= set(
        keywords.STOP_WORDS
    )
    assert {"START", "UNSTOP", "INICIO"} <= set(keywords.START_WORDS)
    assert {"HELP", "INFO", "AYUDA"} <= set(keywords.HELP_WORDS)


def test_no_word_means_two_things():
    seen: dict[str, str] = {}
    for kind in languages.SMS_KEYWORDS:
        for word in languages.sms_keywords(kind):
            assert seen.setdefault(word, kind) == kind, word


# --- normalisation (hypothesis) -----------------------------------------------------------------

ALL_WORDS = sorted(
    (kind, code, word)
    for kind, table in languages.SMS_KEYWORDS.items()
    for code, words in table.items()
    for word in words
)
around = st.text(alphabet=" \t\n.,!?¡¿;:\"'()*\u3000", max_size=4)


@st.composite
def typed(draw, word: str) -> str:
    """As a phone may send it: any case, accents or none, decomposed or not, full-width Latin,
    spaces and punctuation around."""
    out = []
    for ch in word:
        plain = "".join(
            c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c)
        )
        choices = {ch, ch.lower(), ch.upper()}
        if ch.isascii() and ch.isalpha():
            choices |= {chr(ord(ch.upper()) + 0xFEE0), ch.lower() + "\u0301"}
        elif plain and plain.isascii():  # Vietnamese and Spanish letters: typed without accents
            choices |= {plain, plain.lower()}
        out.append(draw(st.sampled_from(sorted(choices))))
    body = "".join(out)
    if draw(st.booleans()):
        body = unicodedata.normalize("NFD", body)
    return draw(around) + body + draw(around)


@given(st.data(), st.sampled_from(ALL_WORDS))
def test_a_keyword_is_recognised_however_it_is_typed(data, entry):
    kind, code, word = entry
    body = data.draw(typed(word))
    vocabulary = languages.sms_keywords(kind)
    found = languages.match_keyword(body, vocabulary)
    assert found is not None, body
    assert (
        vocabulary[found[0]]
        == languages.sms_keywords(kind)[" ".join(t for t, _e in languages.keyword_tokens(word)[1])]
    )
    assert found[1] == ""


@given(
    st.sampled_from(ALL_WORDS),
    st.lists(st.sampled_from(["hay", "migra", "아파트", "警察"]), min_size=3),
)
def test_a_keyword_opening_a_long_message_is_not_a_command(entry, rest):
    kind, _code, word = entry
    assert languages.match_keyword(" ".join([word, *rest]), languages.sms_keywords(kind)) is None


@given(st.text(max_size=120))
def test_matching_never_crashes_and_folding_is_stable(body):
    folded = languages.keyword_fold(body)
    assert languages.keyword_fold(folded) == folded
    for kind in languages.SMS_KEYWORDS:
        languages.match_keyword(body, languages.sms_keywords(kind), max_words=None)


# --- through the webhook ------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.usefixtures("twilio_webhooks", "fresh_rate_limits")
@pytest.mark.parametrize("code", WRITTEN)
def test_stop_then_start_in_each_language_answer_in_that_language(client, code):
    sender = new_number()
    reply = say(client, sender, f"  {FIRST['stop'][code].lower()} ")
    assert reply == in_language(code, keywords.stopped_text)
    assert OptOut.objects.filter(phone_index=index(sender)).exists()
    assert services.is_opted_out(index(sender))
    reply = say(client, sender, FIRST["start"][code])
    assert reply == in_language(code, keywords.messages_again_text)
    assert not services.is_opted_out(index(sender))
    assert not Report.objects.exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("twilio_webhooks", "fresh_rate_limits")
@pytest.mark.parametrize("code", WRITTEN)
def test_help_in_each_language_answers_in_that_language(client, code):
    reply = say(client, new_number(), FIRST["help"][code] + "?")
    assert reply == in_language(code, keywords.help_text)
    assert not Report.objects.exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("twilio_webhooks", "fresh_rate_limits")
@pytest.mark.parametrize("code", WRITTEN)
def test_join_with_a_zip_code_in_each_language(client, code):
    sender = new_number()
    reply = say(client, sender, f"{FIRST['join'][code]} 90033")
    area = in_language(code, keywords.zip_area_name, "90033")
    assert reply == in_language(code, keywords.confirm_question_text, area)
    sub = Subscriber.objects.get(phone_index=index(sender))
    assert sub.status == Subscriber.Status.PENDING and sub.language == code
    assert sub.areas.count() == 1


@pytest.mark.django_db
@pytest.mark.usefixtures("twilio_webhooks", "fresh_rate_limits")
def test_chinese_and_vietnamese_join_without_a_space_or_accents(client):
    sender = new_number()
    assert say(client, sender, "加入90033") == in_language(
        "zh-hans",
        keywords.confirm_question_text,
        in_language("zh-hans", keywords.zip_area_name, "90033"),
    )
    other = new_number()
    reply = say(client, other, "tham gia 90033")
    assert reply == in_language(
        "vi", keywords.confirm_question_text, in_language("vi", keywords.zip_area_name, "90033")
    )


@pytest.mark.django_db
@pytest.mark.usefixtures("twilio_webhooks", "fresh_rate_limits")
@pytest.mark.parametrize("word", ["STOP", "stop", "Alto", "BAJA", "unsubscribe"])
def test_carrier_words_always_stop_a_korean_subscriber_in_korean(client, word):
    sender = new_number()
    say(client, sender, "가입 90033")
    sub = Subscriber.objects.get(phone_index=index(sender))
    assert sub.language == "ko"
    reply = say(client, sender, word)
    assert reply == in_language("ko", keywords.stopped_text)
    sub.refresh_from_db()
    assert sub.status == Subscriber.Status.STOPPED
    assert services.is_opted_out(index(sender))


# --- reply words: YES, the language's name (the same table) -------------------------------------


@pytest.mark.django_db
@pytest.mark.usefixtures("twilio_webhooks", "fresh_rate_limits")
@pytest.mark.parametrize("code", WRITTEN)
def test_join_then_yes_in_each_language_subscribes(client, code):
    sender = new_number()
    say(client, sender, f"{FIRST['join'][code]} 90033")
    for word in languages.SMS_KEYWORDS["yes"][code][:1]:
        reply = say(client, sender, f" {word.lower()}!")
    sub = Subscriber.objects.get(phone_index=index(sender))
    assert sub.status == Subscriber.Status.ACTIVE, code
    area = in_language(code, keywords.zip_area_name, "90033")
    assert reply == in_language(code, keywords.subscribed_text, area)
    assert not Report.objects.exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("twilio_webhooks", "fresh_rate_limits")
@pytest.mark.parametrize("word", ["YES", "sí", "si", "Y"])
def test_carrier_yes_words_confirm_a_korean_subscription_in_korean(client, word):
    sender = new_number()
    say(client, sender, "가입 90033")
    reply = say(client, sender, word)
    sub = Subscriber.objects.get(phone_index=index(sender))
    assert sub.status == Subscriber.Status.ACTIVE
    area = in_language("ko", keywords.zip_area_name, "90033")
    assert reply == in_language("ko", keywords.subscribed_text, area)


@pytest.mark.django_db
@pytest.mark.usefixtures("twilio_webhooks", "fresh_rate_limits")
@pytest.mark.parametrize("code", WRITTEN)
def test_the_name_of_each_language_switches_a_subscriber_to_it(client, code):
    sender = new_number()
    say(client, sender, "JOIN 90033")
    say(client, sender, "YES")
    for word in languages.SMS_KEYWORDS["language"][code]:
        reply = say(client, sender, word)
        sub = Subscriber.objects.get(phone_index=index(sender))
        assert sub.language == code, word
        assert reply == in_language(code, keywords.language_text, True)
        say(client, sender, "ENGLISH")
        assert Subscriber.objects.get(phone_index=index(sender)).language == "en"
    assert not Report.objects.exists()


@given(st.data(), st.sampled_from([e for e in ALL_WORDS if e[0] == "yes"]))
def test_a_yes_word_is_an_acknowledgement_however_it_is_typed(data, entry):
    _kind, _code, word = entry
    found = languages.match_keyword(data.draw(typed(word)), keywords.ACK_WORDS, max_words=3)
    assert found is not None and found[1] == ""


@pytest.mark.django_db
@pytest.mark.usefixtures("twilio_webhooks", "fresh_rate_limits")
@pytest.mark.parametrize("body", ["Korean market", "Persian Square", "armenian church now"])
def test_a_language_name_inside_a_place_does_not_switch_the_language(client, body):
    sender = new_number()
    say(client, sender, "JOIN 90033")
    say(client, sender, "YES")
    say(client, sender, body)
    assert Subscriber.objects.get(phone_index=index(sender)).language == "en"
