"""A call-out by voice: the message, "press 1 if you are coming, 2 if not".

Calls arrive on the flow every call placed by messaging lands on (``calls.CALL_FLOW``, "alert",
with a signed delivery token); inbound.voice_router sends those whose delivery is a call-out
here, and the call's next step comes back on the same flow.
"""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext as _
from twilio.twiml.voice_response import VoiceResponse

from vecinos.messaging import calls
from vecinos.messaging.models import Delivery
from vecinos.mobilize import services
from vecinos.mobilize.models import Response

VOICE_LANGUAGE = {"es": "es-MX", "en": "en-US"}
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


def callout_call(request, params: dict) -> str | None:
    """TwiML for a call-out's call, or None when the call is not a call-out's."""
    token = params.get("d", "")
    found = _load(token)
    if found is None:
        return None
    delivery, response = found
    lang = services._page_language(response.language)
    voice = VOICE_LANGUAGE[lang]
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
                        language=voice,
                    )
                elif outcome == "enough":
                    twiml.say(_("We have enough people now. Thank you. Goodbye."), language=voice)
                elif outcome == "closed":
                    twiml.say(_("This call-out is over. Thank you. Goodbye."), language=voice)
                else:
                    twiml.say(_("Thank you for letting us know. Goodbye."), language=voice)
                twiml.hangup()
                return str(twiml)
        gather = calls.gather(twiml, token=token, flow=FLOW, timeout=GATHER_SECONDS, step="reply")
        gather.say(delivery.body, language=voice)
        twiml.say(_("Goodbye."), language=voice)
        twiml.hangup()
    return str(twiml)
