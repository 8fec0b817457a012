"""The SMS webhook writes its TwiML directly: the same bytes as twilio's MessagingResponse."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from twilio.twiml.messaging_response import MessagingResponse

from vecinos.messaging.views import sms_twiml

# XML 1.0 characters (what an SMS reply can hold; the library writes nothing else either).
xml_text = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",), blacklist_characters="\x00\x0b\x0c\ufffe\uffff"
    ).filter(lambda c: c in "\t\n\r" or ord(c) >= 0x20),
)


@given(xml_text)
def test_same_bytes_as_the_twilio_library(text):
    expected = MessagingResponse()
    if text:
        expected.message(text)
    assert sms_twiml(text) == str(expected)


def test_markup_in_a_reply_is_text():
    assert sms_twiml("<b>VOY</b> & más") == (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Message>'
        "&lt;b&gt;VOY&lt;/b&gt; &amp; más</Message></Response>"
    )
