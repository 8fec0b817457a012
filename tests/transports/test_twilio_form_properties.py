"""The Twilio SMS body is form-encoded with the text before its last space encoded once per
fan-out (transports.twilio.sms.form_value): it must always equal what urlencode writes."""

from __future__ import annotations

from urllib.parse import parse_qs, quote_plus, urlencode

from hypothesis import given
from hypothesis import strategies as st

from vecinos.transports.twilio.sms import form_value, quote_text

# Any text a database can hold (no lone surrogates, which UTF-8 cannot encode): spaces where
# splitting happens, "+", "%", "&", "=", accents, CJK, emoji, newlines.
texts = st.text(
    alphabet=st.one_of(
        st.sampled_from(" +%&=\n\t~é漢😀"), st.characters(blacklist_categories=("Cs",))
    ),
    max_size=300,
)


@given(texts)
def test_form_value_is_quote_plus(text):
    assert form_value(text) == quote_plus(text)


@given(st.lists(texts, min_size=1, max_size=4), texts)
def test_one_text_many_links_each_encoded_whole(words, link):
    # The cached head is shared by bodies that differ in the tail only.
    head = " ".join(words)
    for body in (f"{head} {link}", f"{head} {link}x", f"{head} "):
        encoded = form_value(body)
        assert encoded == quote_plus(body)
        assert parse_qs(f"Body={encoded}", keep_blank_values=True)["Body"] == [body]
        assert urlencode({"Body": body}) == f"Body={encoded}"


@given(st.one_of(texts, st.text(alphabet=st.characters(max_codepoint=127), max_size=200)))
def test_quote_text_is_quote_plus_for_ascii_and_the_rest(text):
    # A number ("+1213..."), a link ("https://.../a/<token>/"), any ASCII or other text.
    assert quote_text(text) == quote_plus(text)


def test_a_number_and_a_link_are_encoded_as_urlencode_would():
    for value in ("+12135550100", "https://vecinos.example/a/MTIz:1tXyZ:abc-_.~/", " ", "%+&="):
        assert f"x={quote_text(value)}" == urlencode({"x": value})
