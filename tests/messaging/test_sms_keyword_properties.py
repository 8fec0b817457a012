"""SMS keywords and replies, whatever the case, accents and punctuation a phone adds.

STOP must always work (carriers require it, and a neighbor who cannot stop the texts stops
trusting them); a keyword opening a long message is a report, not a command; parsers of free
text never crash on what people type.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vecinos.alerts import inbound as alert_inbound
from vecinos.messaging.inbound import InboundSms, fold, words
from vecinos.mobilize import inbound as mobilize_inbound
from vecinos.reports import sms_flow
from vecinos.rights import inbound as rights_inbound

ACCENTED = {"A": "Áá", "E": "Éé", "I": "Íí", "O": "Óó", "U": "Úú", "N": "Ññ"}
punctuation = st.text(alphabet=" .,!?¡¿;:-\n\t\"'()*", max_size=4)


@st.composite
def spelled(draw, word: str) -> str:
    """The word as a phone may send it: any case, an accent or two, punctuation around."""
    out = []
    for ch in word:
        choices = [ch.upper(), ch.lower(), *ACCENTED.get(ch.upper(), "")]
        out.append(draw(st.sampled_from(choices)))
    return draw(punctuation).lstrip("-") + "".join(out) + draw(punctuation)


def sms(body: str) -> InboundSms:
    return InboundSms(from_e164="+12135550100", body=body)


@given(st.data(), st.sampled_from(sorted(alert_inbound.STOP_WORDS)))
def test_a_stop_word_is_a_stop_however_it_is_spelled(data, word):
    body = data.draw(spelled(word))
    assert alert_inbound.keyword(sms(body), alert_inbound.STOP_WORDS) == word


@given(
    st.sampled_from(sorted(alert_inbound.STOP_WORDS)),
    st.lists(
        st.sampled_from(["hay", "migra", "en", "la", "esquina", "de", "Soto", "now"]), min_size=3
    ),
)
def test_a_stop_word_opening_a_long_message_is_not_a_command(word, rest):
    # "Alto, hay migra en la esquina" is a report about a checkpoint, not an unsubscribe.
    assert alert_inbound.keyword(sms(" ".join([word, *rest])), alert_inbound.STOP_WORDS) is None


@given(st.text(max_size=200))
def test_words_are_folded_upper_case_letters_and_digits(body):
    tokens = words(body)
    assert all(t and t.isalnum() and t == fold(t) for t in tokens)
    assert words(" ".join(tokens)) == tokens


@pytest.mark.parametrize("vocabulary", ["START_WORDS", "HELP_WORDS", "JOIN_WORDS", "ACK_WORDS"])
@given(data=st.data())
def test_every_alert_keyword_is_recognised_however_it_is_spelled(vocabulary, data):
    table = getattr(alert_inbound, vocabulary)
    word = data.draw(st.sampled_from(sorted(table)))
    assert alert_inbound.keyword(sms(data.draw(spelled(word))), table) == word


@given(
    st.integers(0, sms_flow.MAX_AGENTS), punctuation, st.sampled_from(["", " agents", " agentes"])
)
def test_a_count_is_read_from_digits_up_to_the_maximum(n, before, after):
    assert sms_flow.parse_count(f"{before}{n}{after}") == n


@given(st.integers(sms_flow.MAX_AGENTS + 1, 10**12))
def test_an_impossible_count_is_no_count(n):
    assert sms_flow.parse_count(str(n)) is None


@given(st.data(), st.sampled_from(sorted(sms_flow.NUMBER_WORDS)))
def test_a_count_in_words_is_read_in_english_and_spanish(data, word):
    assert sms_flow.parse_count(data.draw(spelled(word))) == sms_flow.NUMBER_WORDS[word]


@given(st.sampled_from(sorted(sms_flow.ACTIVITY_BY_DIGIT)), st.text(max_size=80))
def test_an_activity_digit_picks_the_activity_and_keeps_the_rest(digit, rest):
    rest = rest.lstrip()
    activity, extra = sms_flow.parse_activity(f"{digit} {rest}")
    assert activity == sms_flow.ACTIVITY_BY_DIGIT[digit]
    # The separators after the digit go; the rest is the description, as typed.
    assert extra == re.sub(r"^\W+", "", " " + rest, flags=re.S).strip()


@given(st.text(max_size=400))
def test_free_text_parsers_never_crash_and_bound_what_they_keep(text):
    place = sms_flow.parse_place(text)
    assert len(place) <= 300 and "\n" not in place and "  " not in place
    activity, extra = sms_flow.parse_activity(text)
    assert activity in set(sms_flow.ACTIVITY_BY_DIGIT.values())
    count = sms_flow.parse_count(text)
    assert count is None or 0 <= count <= sms_flow.MAX_AGENTS
    assert len(sms_flow.rest_after_first_word(text)) <= len(text)
    rights_inbound.keyword_languages(text)


@given(
    st.sampled_from(sorted(mobilize_inbound.COMING)),
    st.one_of(st.none(), st.integers(0, 9999)),
    st.one_of(
        st.just(""), st.text(alphabet="ABCDEFGHJKMNPQRSTVWXYZ23456789", min_size=4, max_size=4)
    ),
)
def test_a_coming_reply_reads_minutes_and_code_in_any_order_of_spelling(word, minutes, code):
    tokens = (
        [word] + ([str(minutes), "MIN"] if minutes is not None else []) + ([code] if code else [])
    )
    if code.isdigit():
        return  # four digits read as minutes, as a person would mean them
    parsed = mobilize_inbound.parse(" ".join(tokens).lower())
    assert parsed == ("coming", mobilize_inbound.COMING[word], minutes, code)


@given(
    st.lists(
        st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=6), max_size=8
    )
)
def test_any_reply_parses_to_an_answer_or_none(tokens):
    parsed = mobilize_inbound.parse(" ".join(tokens))
    if len(tokens) > mobilize_inbound.MAX_AFTER + 3:  # a reply word is at most three words
        assert parsed is None
    if parsed is not None:
        answer, _lang, minutes, code = parsed
        assert answer in {"coming", "declined", "arrived", "left"}
        assert minutes is None or 0 <= minutes <= 9999
        assert code == "" or len(code) == 4


@pytest.mark.django_db
@given(data=st.data())
def test_the_rights_keyword_of_each_language_is_recognised_with_punctuation(data):
    table = rights_inbound.keyword_table()
    word = data.draw(st.sampled_from(sorted(table)))
    body = (
        data.draw(st.sampled_from(["", "¿", "*"]))
        + word.lower()
        + data.draw(st.sampled_from(["", "?", "!", "."]))
    )
    assert set(rights_inbound.keyword_languages(body)) == set(table[word])
