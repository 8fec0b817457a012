"""Replies to call-outs (and event RSVPs by keyword), registered with messaging's router.

priority  name               what
    98    mobilize.reply     VOY / VOY 15 / GOING 15 / COMING, NO, LLEGUÉ / ARRIVED,
                             ME VOY / LEFT, optionally with the call-out's code (VOY 15 K7QM)
    65    mobilize.rsvp      an event's keyword (RALLY7), and CANCEL + keyword
voice     alert              wrapped: a call-out's call ("press 1 coming, 2 not") is answered
                             here, every other call goes on to alerts' handler unchanged

98 is an answer to a question we asked this person (the 100 band), just below a verifier's
answer to a verification request (100), which still wins. It sits above JOIN and the language
words (95: none is a reply word), a report in progress (90: "VOY" or "LLEGUÉ" answer no
question of it), and alerts' acknowledgement (60). It is also the hot path of a surge of
replies: it answers before those handlers' write transactions run. A reply names a call-out by its
code when a person has several open; without one it answers the most recent that asked them.
"""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext as _

from vecinos.alerts import voice as alert_voice
from vecinos.messaging import inbound as router
from vecinos.messaging.inbound import REPLY_LANGUAGES, InboundSms, register_sms
from vecinos.mobilize import services, voice
from vecinos.mobilize.models import Response

COMING = {"VOY": "es", "VAMOS": "es", "GOING": "en", "COMING": "en", "OMW": "en"}
DECLINED = {"NO": "", "NOPE": "en"}
ARRIVED = {"LLEGUE": "es", "ARRIVED": "en", "AQUI": "es", "HERE": "en", "LLEGAMOS": "es"}
LEFT = {"LEFT": "en", "SALI": "es", "LEAVING": "en"}
MAX_WORDS = 4
OUTCOME_PAIRS = {("ME", "VOY"): "left"}  # two-word replies (the i18n keyword check reads it)


def parse(tokens: list[str]) -> tuple[str, str, int | None, str] | None:
    """(answer, keyword language, minutes, code) or None when it is not a reply."""
    if not tokens or len(tokens) > MAX_WORDS:
        return None
    first, rest = tokens[0], tokens[1:]
    if first == "ME" and rest[:1] == ["VOY"]:
        answer, lang, rest = "left", "es", rest[1:]
    elif first in COMING:
        answer, lang = "coming", COMING[first]
    elif first in DECLINED:
        answer, lang = "declined", DECLINED[first]
    elif first in ARRIVED:
        answer, lang = "arrived", ARRIVED[first]
    elif first in LEFT:
        answer, lang = "left", LEFT[first]
    else:
        return None
    minutes: int | None = None
    code = ""
    for token in rest:
        if token.isdigit() and minutes is None and answer == "coming":
            minutes = int(token[:4])
        elif token in ("MIN", "MINS", "MINUTES", "MINUTOS", "EN", "IN"):
            continue
        elif len(token) == 4 and not code:
            code = token
        else:
            return None
    return answer, lang, minutes, code


def reply_text(outcome: str, response: Response, minutes: int | None) -> str:
    activation = response.activation
    code = activation.code
    if outcome == "coming":
        return _(
            "Vecinos %(code)s: thank you, we count you as coming (%(min)s min). Meet at "
            "%(place)s. Observe from a safe distance, do not interfere. Reply LLEGUE when you "
            "arrive, NO if you cannot come."
        ) % {"code": code, "min": minutes or 0, "place": activation.staging_point}
    if outcome == "declined":
        return _("Vecinos %(code)s: thank you for letting us know.") % {"code": code}
    if outcome == "arrived":
        return _(
            "Vecinos %(code)s: you are checked in. Reply ME VOY when you leave. Stay safe."
        ) % {"code": code}
    if outcome == "left":
        return _("Vecinos %(code)s: you are checked out. Thank you for being there.") % {
            "code": code
        }
    if outcome == "enough":
        return services.enough_text(code)
    if outcome == "closed":
        return _("Vecinos %(code)s: this call-out is over. Thank you, you are not needed.") % {
            "code": code
        }
    return _("Vecinos %(code)s: we already have that answer. Thank you.") % {"code": code}


_UNPREPARED = object()


def prepare_reply(msg: InboundSms) -> Response | None:
    """Before the write transaction: the call-out this reply answers (a read, kept off the
    write lock), or None when it is not a reply or this phone was asked by no call-out."""
    parsed = parse(msg.words)
    if parsed is None or not msg.from_index:
        return None
    return services.response_for_phone(msg.from_index, parsed[3])


def handle_reply(msg: InboundSms) -> str | None:
    parsed = parse(msg.words)
    if parsed is None or not msg.from_index:
        return None
    answer, hint, minutes, code = parsed
    response = msg.prepared.get("mobilize.reply", _UNPREPARED)
    if response is _UNPREPARED:
        response = services.response_for_phone(msg.from_index, code)
    elif response is not None and not services.response_refresh(response):
        response = None
    if response is None:
        return None  # not a responder of any call-out: the next handler or the fallback
    assert isinstance(response, Response)
    # The router runs each message in one transaction: the row was read (or its state re-read)
    # inside it.
    outcome = services.respond(
        response=response, answer=answer, via="sms", eta_minutes=minutes, fresh=True
    )
    lang = response.language if response.language in REPLY_LANGUAGES else (hint or msg.language)
    with translation.override(lang):
        return reply_text(outcome, response, minutes)


def voice_router(request, params: dict) -> str:
    handled = voice.callout_call(request, params)
    if handled is not None:
        return handled
    return alert_voice.alert_call(request, params)


def handle_rsvp(msg: InboundSms) -> str | None:
    from vecinos.mobilize import events

    return events.handle_sms(msg)


register_sms("mobilize.reply", handle_reply, priority=98, prepare=prepare_reply)
register_sms("mobilize.rsvp", handle_rsvp, priority=65)
# The voice transport puts every call on flow "alert"; call-outs are told apart by the delivery.
router.register_voice(alert_voice.FLOW, voice_router)
