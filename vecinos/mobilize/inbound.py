"""Replies to call-outs (and event RSVPs by keyword), registered with messaging's router.

priority  name               what
    98    mobilize.reply     a call-out's answers in every shipped language, from the one
                             keyword table (``core.languages.SMS_KEYWORDS``: "coming",
                             "arrived", "left", "no"): VOY 15 / GOING 15 / 갑니다 15, NO / 아니요,
                             LLEGUÉ / ĐẾN, ME VOY / УШЁЛ, optionally with minutes ("15 min",
                             "15분") and the call-out's code (VOY 15 K7QM)
    65    mobilize.rsvp      an event's keyword (MARCHA7), and CANCEL + keyword
voice     alert              wrapped: a call-out's call ("press 1 coming, 2 not") is answered
                             here, every other call goes on to alerts' handler unchanged

98 is an answer to a question we asked this person (the 100 band), just below a verifier's
answer to a verification request (100), which still wins. It sits above JOIN and the language
words (95: none is a reply word, the table's check says so), a report in progress (90: "VOY"
or "LLEGUÉ" answer no question of it), and alerts' acknowledgement (60). It is also the hot
path of a surge of replies: it answers before those handlers' write transactions run. A reply
names a call-out by its code when a person has several open; without one it answers the most
recent that asked them. The texts that answer tell the words of the person's language, taken
from the same table (``messages.reply_words``), so what we ask for and what we read agree.
"""

from __future__ import annotations

import re
import unicodedata

from django.utils import translation
from django.utils.translation import gettext as _

from vecinos.alerts import voice as alert_voice
from vecinos.core import languages
from vecinos.messaging import inbound as router
from vecinos.messaging.inbound import REPLY_LANGUAGES, InboundSms, register_sms
from vecinos.mobilize import services, voice
from vecinos.mobilize.models import Response

# Reply word (folded, tokens joined by a space) -> its language, per answer; the one table.
ANSWERS = {
    "coming": languages.sms_keywords("coming"),
    "declined": languages.sms_keywords("no"),
    "arrived": languages.sms_keywords("arrived"),
    "left": languages.sms_keywords("left"),
}
COMING, DECLINED, ARRIVED, LEFT = (ANSWERS[k] for k in ("coming", "declined", "arrived", "left"))
_VOCABULARY = {word: lang for table in ANSWERS.values() for word, lang in table.items()}
_ANSWER_OF = {word: answer for answer, table in ANSWERS.items() for word in table}
# Two-word replies of the table (the i18n keyword check reads it).
OUTCOME_PAIRS = {
    tuple(word.split()): answer for word, answer in _ANSWER_OF.items() if word.count(" ") == 1
}
# Words around an ETA that say nothing more: "VOY EN 15 MIN", "갑니다 15분", "ИДУ 15 МИНУТ".
FILLERS = {
    languages.keyword_fold(word)
    for word in (
        "MIN", "MINS", "MINUTE", "MINUTES", "MINUTO", "MINUTOS", "EN", "IN", "SA", "분",
        "分", "分钟", "分鐘", "分後", "PHÚT", "МИН", "МИНУТ", "МИНУТЫ", "ՐՈՊԵ", "ՐՈՊԵԻՑ",
        "دقیقه", "دقيقة", "دقائق", "នាទី",
    )
}  # fmt: skip
MAX_AFTER = 3  # words after the reply word: "VOY 15 MIN K7QM"
_CODE = re.compile(r"[A-Z0-9]{4}")
_NUMBER = re.compile(r"(\d+)(\D*)")


def _after_words(text: str) -> list[str]:
    """The folded words of ``text``: runs of letters, marks and digits ("15분" is one)."""
    out: list[str] = []
    word: list[str] = []
    for ch in text + " ":
        if unicodedata.category(ch)[0] in "LMN":
            word.append(ch)
        elif word:
            out.append(languages.keyword_fold("".join(word)))
            word = []
    return out


def parse(body: str) -> tuple[str, str, int | None, str] | None:
    """(answer, keyword language, minutes, code) or None when it is not a reply."""
    found = languages.match_keyword(body, _VOCABULARY, max_words=None)
    if found is None:
        return None
    phrase, rest = found
    answer, lang = _ANSWER_OF[phrase], _VOCABULARY[phrase]
    after = _after_words(rest)
    if len(after) > MAX_AFTER:
        return None
    minutes: int | None = None
    code = ""
    for token in after:
        number = _NUMBER.fullmatch(token)
        if (
            number is not None
            and answer == "coming"
            and minutes is None
            and (not number.group(2) or number.group(2) in FILLERS)
        ):
            minutes = int(number.group(1)[:4])
        elif token in FILLERS:
            continue
        elif _CODE.fullmatch(token) and not code:
            code = token
        else:
            return None
    return answer, lang, minutes, code


def reply_text(outcome: str, response: Response, minutes: int | None) -> str:
    """The answer, in the active language, naming that language's reply words."""
    activation = response.activation
    code = activation.code
    words = services.reply_words(translation.get_language() or "es")
    if outcome == "coming" and not minutes:
        # No minutes given: none said ("(0 min)" read as "here already": outside walk).
        return _(
            "Vecinos %(code)s: thank you, we count you as coming. Meet at %(place)s. Observe "
            "from a safe distance, do not interfere. Reply %(arrived)s when you arrive, %(no)s "
            "if you cannot come."
        ) % {"code": code, "place": activation.staging_point, **words}
    if outcome == "coming":
        return _(
            "Vecinos %(code)s: thank you, we count you as coming (%(min)s min). Meet at "
            "%(place)s. Observe from a safe distance, do not interfere. Reply %(arrived)s when "
            "you arrive, %(no)s if you cannot come."
        ) % {"code": code, "min": minutes or 0, "place": activation.staging_point, **words}
    if outcome == "declined":
        return _("Vecinos %(code)s: thank you for letting us know.") % {"code": code}
    if outcome == "arrived":
        return _(
            "Vecinos %(code)s: you are checked in. Reply %(left)s when you leave. Stay safe."
        ) % {"code": code, **words}
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
    parsed = parse(msg.body)
    if parsed is None or not msg.from_index:
        return None
    return services.response_for_phone(msg.from_index, parsed[3])


def handle_reply(msg: InboundSms) -> str | None:
    parsed = parse(msg.body)
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
