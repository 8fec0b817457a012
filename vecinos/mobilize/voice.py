"""A call-out by voice: the message, "press 1 if you are coming, 2 if not".

Calls arrive on the flow every call placed by messaging lands on (``calls.CALL_FLOW``, "alert",
with a signed delivery token); inbound.voice_router sends those whose delivery is a call-out
here, and the call's next step comes back on the same flow.

The call speaks the person's language when a text-to-speech voice reads it (``core.languages``'
``tts_voice``), as alerts' calls do. For a language no voice reads (Armenian, Farsi, Khmer, the
spoken-only Indigenous languages) it plays the coordinators' recorded call-out in that language
(``alerts.recordings``, kind "callout": who is needed, press 1 coming, 2 not), when there is
one, then speaks the call-out's place and time in Spanish. The guidance is spoken in the
call's language when the call-out has it in that language, else in Spanish (then English), by
that language's voice. What is said is built when the call is
answered, so a staging point moved since the ask is the one heard.
"""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext as _
from twilio.twiml.voice_response import VoiceResponse

from vecinos.alerts import recordings
from vecinos.alerts import voice as alert_voice
from vecinos.core import languages
from vecinos.messaging import calls
from vecinos.messaging.models import Delivery
from vecinos.mobilize import services
from vecinos.mobilize.models import Response

GATHER_SECONDS = 8
FLOW = calls.CALL_FLOW


def _load(token: str) -> tuple[Delivery, Response] | None:
    delivery = calls.call_delivery(token, ref_type="activation")
    if delivery is None or not delivery.ref_item or delivery.ref_id is None:
        return None
    response = (
        Response.objects.select_related("activation")
        .filter(pk=delivery.ref_item, activation_id=delivery.ref_id)
        .first()
    )
    return (delivery, response) if response is not None else None


def recording_url(language: str) -> str:
    """The recorded call-out in a language no voice reads, or "" (none uploaded, or a voice
    reads the language)."""
    code = languages.normalize(language)
    if not code or alert_voice.has_voice(code):
        return ""
    recording = recordings.recording_for(recordings.CALLOUT, code)
    return recordings.audio_url(recording) if recording is not None else ""


def callout_call(request, params: dict) -> str | None:
    """TwiML for a call-out's call, or None when the call is not a call-out's."""
    token = params.get("d", "")
    found = _load(token)
    if found is None:
        return None
    _delivery, response = found
    lang = services.voice_language(response.activation, response.language)
    attrs = alert_voice.say_attrs(lang)
    twiml = VoiceResponse()
    with translation.override(lang):
        if params.get("step") == "reply":
            digit = (params.get("Digits") or "").strip()
            answer = {"1": "coming", "2": "declined"}.get(digit)
            if answer is not None:
                outcome = services.respond(response=response, answer=answer, via="voice")
                if outcome == "coming":
                    twiml.say(
                        _("Thank you, we count you as coming. Meet at %(place)s. Goodbye.")
                        % {"place": response.activation.staging_point},
                        **attrs,
                    )
                elif outcome == "enough":
                    twiml.say(_("We have enough people now. Thank you. Goodbye."), **attrs)
                elif outcome == "closed":
                    twiml.say(_("This call-out is over. Thank you. Goodbye."), **attrs)
                else:
                    twiml.say(_("Thank you for letting us know. Goodbye."), **attrs)
                twiml.hangup()
                return str(twiml)
        gather = calls.gather(twiml, token=token, flow=FLOW, timeout=GATHER_SECONDS, step="reply")
        recorded = recording_url(response.language)
        if recorded:
            gather.play(recorded)
        for text, text_lang in services.voice_parts(response.activation, lang):
            gather.say(text, **alert_voice.say_attrs(text_lang))
        twiml.say(_("Goodbye."), **attrs)
        twiml.hangup()
    return str(twiml)
