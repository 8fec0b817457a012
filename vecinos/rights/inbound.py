"""RIGHTS / DERECHOS / 권리 ... by SMS, and "your rights" on the voice hotline.

priority  name            what
    95    rights.keyword  the rights keyword of any shipped language (each content file's
                          ``keywords`` line) -> the short summary in that language + a link
voice     rights          the recording a coordinator uploaded for the language (<Play>), else
                          the summary spoken with its text-to-speech voice (English when it
                          has none), then back to the hotline's main menu (step=main)

95 like JOIN: "RIGHTS" is no plausible answer to a report's "where?". A keyword counts when the
message is at most three words and starts with it, as the alerts keywords do. The carriers'
English and Spanish words (RIGHTS, DERECHOS) answer in the sender's preferred language when we
know it; any other keyword answers in its own language. One word shared by two languages
(Arabic and Farsi both write حقوق) answers in the preferred one, else in both.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from twilio.twiml.voice_response import VoiceResponse

from vecinos.core import languages
from vecinos.core.coalition import coalition
from vecinos.messaging.inbound import InboundSms, fold, register_sms, register_voice
from vecinos.rights import content, selectors

MAX_KEYWORD_WORDS = 3
UNIVERSAL = ("en", "es")  # the carriers' languages: their keywords work for everybody
FLOW = "rights"


def _strip_punctuation(word: str) -> str:
    """ "rights?" -> "rights"; keeps marks (Khmer vowel signs are not letters to ``\\w``)."""

    def is_punct(ch: str) -> bool:
        return unicodedata.category(ch)[0] in "PSZ"

    start, end = 0, len(word)
    while start < end and is_punct(word[start]):
        start += 1
    while end > start and is_punct(word[end - 1]):
        end -= 1
    return word[start:end]


def keyword_table() -> dict[str, list[str]]:
    table: dict[str, list[str]] = {}
    for code in content.available():
        data = content.load(code)
        if data is None:
            continue
        for word in data.page.get("keywords", "").split(","):
            folded = fold(word.strip())
            if folded and code not in table.setdefault(folded, []):
                table[folded].append(code)
    return table


def keyword_languages(body: str) -> list[str]:
    tokens = (body or "").split()
    if not tokens or len(tokens) > MAX_KEYWORD_WORDS:
        return []
    first = fold(_strip_punctuation(tokens[0]))
    return keyword_table().get(first, [])


def rights_link(language: str) -> str:
    return f"{settings.PUBLIC_URL}{reverse('rights_index')}?{urlencode({'lang': language})}"


def reply_languages(msg: InboundSms, matched: list[str]) -> list[str]:
    preferred = languages.normalize(getattr(msg.member, "preferred_language", ""))
    if preferred and preferred in content.available():
        if preferred in matched or any(code in UNIVERSAL for code in matched):
            return [preferred]
    return matched


def summary_text(language: str) -> str:
    summary = selectors.sms_summary(language)
    return f"{summary} {rights_link(language)}".strip()


def handle_rights(msg: InboundSms) -> str | None:
    matched = keyword_languages(msg.body)
    if not matched:
        return None
    return "\n\n".join(summary_text(code) for code in reply_languages(msg, matched))


register_sms("rights.keyword", handle_rights, priority=95)


# --- Voice -------------------------------------------------------------------------------------


def hotline_menu_url(language: str) -> str:
    query = urlencode({"flow": "hotline", "step": "main", "lang": language})
    return f"{reverse('twilio_voice')}?{query}"


def say(node, text: str, lang: languages.Language) -> None:
    node.say(text, voice=lang.tts_voice, language=lang.tts_language)


def spoken_summary(language: str) -> tuple[str, languages.Language]:
    """The text to speak and the language whose voice speaks it (English without a voice)."""
    lang = languages.get(language)
    if lang is None or not lang.tts_voice or language not in content.available():
        lang = languages.BY_CODE[languages.SOURCE_LANGUAGE]
    strings = content.page_strings(lang.code)
    return strings.get("voice") or strings.get("sms", ""), lang


def rights_call(request, params: dict) -> str:
    language = languages.normalize(params.get("lang"), "es")
    # The hotline's menu comes back in the language it was in (the caller chose it there,
    # any of the registry's: the hotline speaks or plays each).
    back = languages.normalize(params.get("back")) or language
    response = VoiceResponse()
    recording = selectors.recording(language)
    if recording is not None:
        # A coordinator's recording in the caller's language beats any synthetic voice.
        response.play(f"{settings.PUBLIC_URL}{selectors.audio_path(recording)}")
        response.redirect(hotline_menu_url(back), method="POST")
        return str(response)
    text, lang = spoken_summary(language)
    say(response, text, lang)
    hotline = coalition().hotline_for(lang.code) or settings.HOTLINE_NUMBER
    if hotline and lang.code in UNIVERSAL:
        with translation.override(lang.code):
            say(response, _("The hotline number is %(number)s.") % {"number": hotline}, lang)
    response.redirect(hotline_menu_url(back), method="POST")
    return str(response)


register_voice(FLOW, rights_call)
