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
on the alert and a voice here; prompts follow that language. An alert written only in a
language without a voice is read with the Spanish voice. A call answered with no key pressed
acknowledges nothing: only Digits=1 does (the call's "completed" status is not a confirmation).
"""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext as _
from twilio.twiml.voice_response import VoiceResponse

from vecinos.alerts import services
from vecinos.alerts.models import Alert, AlertRecipient
from vecinos.messaging import calls
from vecinos.messaging.models import Delivery

FLOW = calls.CALL_FLOW  # every call messaging places lands here (mobilize wraps it)
VOICE_LANGUAGE = {"es": "es-MX", "en": "en-US"}
DEFAULT_LANGUAGE = "es"
GATHER_SECONDS = 8
ROUNDS = 2  # the message and its "press 1", then the same once more


def voice_text(alert: Alert, language: str) -> tuple[str, str]:
    """(text, language it is in) among the languages that have a voice."""
    for lang in (language, *services.FALLBACK_LANGUAGES):
        if lang in VOICE_LANGUAGE and alert.messages.get(lang):
            return alert.messages[lang], lang
    text, _lang = services.message_for(alert, language)
    return text, DEFAULT_LANGUAGE


def unavailable() -> VoiceResponse:
    # The token did not say who is listening: both languages, nothing specific.
    response = VoiceResponse()
    response.say("Vecinos: este mensaje ya no está disponible. Adiós.", language="es-MX")
    response.say("Vecinos: this message is no longer available. Goodbye.", language="en-US")
    response.hangup()
    return response


def _gather(response: VoiceResponse, token: str, n: int, text: str, voice: str) -> None:
    gather = calls.gather(
        response, token=token, flow=FLOW, timeout=GATHER_SECONDS, step="ack", n=str(n)
    )
    gather.say(text, language=voice)
    gather.say(_("Press 1 to confirm you heard this message."), language=voice)


def message_twiml(text: str, lang: str, token: str, *, first_round: int = 1) -> VoiceResponse:
    voice = VOICE_LANGUAGE.get(lang, VOICE_LANGUAGE[DEFAULT_LANGUAGE])
    response = VoiceResponse()
    with translation.override(lang if lang in VOICE_LANGUAGE else DEFAULT_LANGUAGE):
        if first_round == 1:
            response.say(_("This is an alert from Vecinos."), language=voice)
        for n in range(first_round, ROUNDS + 1):
            # Inside the <Gather> the person can press 1 while the message is still playing.
            _gather(response, token, n, text, voice)
        response.say(_("Goodbye."), language=voice)
        response.hangup()
    return response


def thanks_twiml(lang: str) -> VoiceResponse:
    voice = VOICE_LANGUAGE.get(lang, VOICE_LANGUAGE[DEFAULT_LANGUAGE])
    response = VoiceResponse()
    with translation.override(lang if lang in VOICE_LANGUAGE else DEFAULT_LANGUAGE):
        response.say(_("Thank you, we know you got this message. Goodbye."), language=voice)
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
        response.say(
            delivery.body, language=VOICE_LANGUAGE.get(delivery.language, VOICE_LANGUAGE["es"])
        )
        response.hangup()
        return str(response)
    text, lang = voice_text(recipient.alert, recipient.language)
    if params.get("step") != "ack":
        return str(message_twiml(text, lang, token))
    if (params.get("Digits") or "").strip() == "1":
        services.acknowledge(recipient=recipient, via="voice")
        return str(thanks_twiml(lang))
    if params.get("n") == "1":
        return str(message_twiml(text, lang, token, first_round=ROUNDS))
    response = VoiceResponse()
    with translation.override(lang if lang in VOICE_LANGUAGE else DEFAULT_LANGUAGE):
        response.say(_("Goodbye."), language=VOICE_LANGUAGE.get(lang, "es-MX"))
    response.hangup()
    return str(response)
