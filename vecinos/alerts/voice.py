"""The alert call (voice flow "alert"): the message in the person's language, "press 1".

    (answer)  intro; <Gather numDigits=1> message + "press 1" </Gather>, the same once more,
              goodbye, hang up                                  -> step=ack&n=1 / n=2
    ack       Digits=1: acknowledged (via voice), thanks, hang up
              another key after the first round: the message + gather once more; after the
              second: goodbye

Twilio fetches the first TwiML from the URL the voice transport put on the call:
``/hooks/twilio/voice?flow=alert&d=<signed delivery id>``. The token is the only thing trusted
to find the delivery (the webhook's own signature check has already run); a forged, mangled or
expired token gets a short bilingual apology and a hang-up, never another person's alert.

The message is spoken in the first of (their language, Spanish, English) that has both a text
on the alert and a text-to-speech voice in the language registry (``core.languages``); prompts
follow that language. For a language no voice reads (Armenian, Farsi, Khmer, the spoken-only
Indigenous languages) the call plays the coordinator's recording of the alert's kind in that
language (``alerts.recordings``) when there is one, then speaks the alert's text in Spanish
(place and time). A call answered with no key pressed acknowledges nothing: only Digits=1 does
(the call's "completed" status is not a confirmation).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import translation
from django.utils.translation import gettext as _
from twilio.twiml.voice_response import VoiceResponse

from vecinos.alerts import recordings, services
from vecinos.alerts.models import Alert, AlertRecipient
from vecinos.core import languages as registry
from vecinos.messaging import calls
from vecinos.messaging.models import Delivery

FLOW = calls.CALL_FLOW  # every call messaging places lands here (mobilize wraps it)
DEFAULT_LANGUAGE = "es"
GATHER_SECONDS = 8
ROUNDS = 2  # the message and its "press 1", then the same once more


def has_voice(lang: str) -> bool:
    known = registry.get(lang)
    return known is not None and bool(known.tts_voice)


def say_attrs(lang: str) -> dict[str, str]:
    """<Say> voice and language of a language with a voice (else Spanish's)."""
    known = registry.get(lang)
    if known is None or not known.tts_voice:
        known = registry.BY_CODE[DEFAULT_LANGUAGE]
    return {"voice": known.tts_voice, "language": known.tts_language}


@dataclass(frozen=True)
class Spoken:
    text: str
    lang: str  # the language the text and the prompts are spoken in (it has a voice)
    recording_url: str = ""  # played before the text: the kind's recording in their language


def voice_text(alert: Alert, language: str) -> tuple[str, str]:
    """(text, language it is in) among the languages that have a voice."""
    for lang in (language, *services.FALLBACK_LANGUAGES):
        if has_voice(lang) and alert.messages.get(lang):
            return alert.messages[lang], lang
    text, _lang = services.message_for(alert, language)
    return text, DEFAULT_LANGUAGE


def spoken(alert: Alert, language: str) -> Spoken:
    text, lang = voice_text(alert, language)
    if not has_voice(language):
        recording = recordings.recording_for(alert.kind, registry.normalize(language))
        if recording is not None:
            return Spoken(text, lang, recordings.audio_url(recording))
    return Spoken(text, lang)


def unavailable() -> VoiceResponse:
    # The token did not say who is listening: both languages, nothing specific.
    response = VoiceResponse()
    response.say("Vecinos: este mensaje ya no está disponible. Adiós.", language="es-MX")
    response.say("Vecinos: this message is no longer available. Goodbye.", language="en-US")
    response.hangup()
    return response


def _prompts_language(lang: str) -> str:
    return lang if has_voice(lang) else DEFAULT_LANGUAGE


def _gather(response: VoiceResponse, token: str, n: int, what: Spoken) -> None:
    gather = calls.gather(
        response, token=token, flow=FLOW, timeout=GATHER_SECONDS, step="ack", n=str(n)
    )
    if what.recording_url:
        gather.play(what.recording_url)
    attrs = say_attrs(what.lang)
    gather.say(what.text, **attrs)
    gather.say(_("Press 1 to confirm you heard this message."), **attrs)


def message_twiml(what: Spoken, token: str, *, first_round: int = 1) -> VoiceResponse:
    attrs = say_attrs(what.lang)
    response = VoiceResponse()
    with translation.override(_prompts_language(what.lang)):
        if first_round == 1:
            response.say(_("This is an alert from Vecinos."), **attrs)
        for n in range(first_round, ROUNDS + 1):
            # Inside the <Gather> the person can press 1 while the message is still playing.
            _gather(response, token, n, what)
        response.say(_("Goodbye."), **attrs)
        response.hangup()
    return response


def thanks_twiml(lang: str) -> VoiceResponse:
    response = VoiceResponse()
    with translation.override(_prompts_language(lang)):
        response.say(_("Thank you, we know you got this message. Goodbye."), **say_attrs(lang))
    response.hangup()
    return response


def _load(token: str) -> tuple[Delivery, AlertRecipient | None] | None:
    delivery = calls.call_delivery(token)
    if delivery is None:
        return None
    recipient = None
    if delivery.ref_type == "alert" and delivery.ref_item and delivery.ref_id:
        recipient = (
            AlertRecipient.objects.select_related("alert")
            .filter(pk=delivery.ref_item, alert_id=delivery.ref_id)
            .first()
        )
        if recipient is None:
            return None
    return delivery, recipient


def alert_call(request, params: dict) -> str:
    token = params.get("d", "")
    found = _load(token)
    if found is None:
        return str(unavailable())
    delivery, recipient = found
    if recipient is None:
        # A voice delivery of another purpose: say what messaging was asked to say, once.
        response = VoiceResponse()
        response.say(delivery.body, **say_attrs(delivery.language))
        response.hangup()
        return str(response)
    what = spoken(recipient.alert, recipient.language)
    if params.get("step") != "ack":
        return str(message_twiml(what, token))
    if (params.get("Digits") or "").strip() == "1":
        services.acknowledge(recipient=recipient, via="voice")
        return str(thanks_twiml(what.lang))
    if params.get("n") == "1":
        return str(message_twiml(what, token, first_round=ROUNDS))
    response = VoiceResponse()
    with translation.override(_prompts_language(what.lang)):
        response.say(_("Goodbye."), **say_attrs(what.lang))
    response.hangup()
    return str(response)
