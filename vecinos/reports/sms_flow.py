"""A report by text message: a few short questions, one per reply, resumable.

    REPORTE hay agentes  ->  draft report + SmsSession(step=where)   "Where is it happening?"
    Cesar Chavez y Soto  ->  place_text, step=what                    "What is happening? 1..8"
    1                    ->  activity=home, step=count                "How many agents?"
    3                    ->  agents_count=3, draft_complete()         receipt + know-your-rights

A text that starts with REPORT / REPORTE starts a report; so does any other free text from a
number that is not a member's (most people who text a hotline just say what they see). Short
replies that mean something else (YES, NO, 1, STOP, JOIN ...) never start a report: they belong
to other handlers, or get the router's help text. A session idle for two hours expires and its
draft is dropped; CANCEL / CANCELAR drops it at once.

Every reply is in the session's language (Spanish unless the sender wrote REPORT, wrote in
English, or is a member who prefers English), through gettext.
"""

from __future__ import annotations

import re
from datetime import timedelta

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from vecinos.core import languages
from vecinos.core.privacy import source_key
from vecinos.messaging.inbound import REPLY_LANGUAGES, InboundSms, guess_language, words
from vecinos.reports import services
from vecinos.reports.models import Activity, Report, ReportStatus, SmsSession

SESSION_TTL = timedelta(hours=2)

START_EN = {"REPORT"}
START_ES = {"REPORTE", "REPORTAR", "REPORTO"}
START_WORDS = START_EN | START_ES
CANCEL_WORDS = {"CANCEL", "CANCELAR"}
# Replies that mean something to another handler (alerts, opt-out, verifiers). Alone or with a
# word or two they never start a report.
RESERVED = {
    "YES",
    "Y",
    "NO",
    "N",
    "SI",
    "OK",
    "OKAY",
    "ACCEPT",
    "ACEPTO",
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "END",
    "QUIT",
    "ALTO",
    "BAJA",
    "START",
    "UNSTOP",
    "HELP",
    "INFO",
    "AYUDA",
    "JOIN",
    "UNIRME",
    "ESPANOL",
    "ENGLISH",
    "CONFIRMED",
    "CONFIRMADO",
    "CONFIRM",
    "FALSE",
    "FALSO",
    "FALSA",
    "UNABLE",
    "NOPUDE",
    "NOTICE",
    "NOICE",
    *CANCEL_WORDS,
}
# ... and STOP / START / HELP / JOIN in every shipped language (core.languages' one table).
# Not a call-out's reply words: from someone no call-out asked, "AQUÍ hay migra" is a report.
RESERVED |= {
    word
    for kind in languages.SMS_KEYWORDS
    if kind not in languages.CALLOUT_KINDS
    for word in languages.sms_keywords(kind)
    if word.isascii() and " " not in word
}

WHERE, WHAT, COUNT, COUNT_AGAIN = "where", "what", "count", "count2"

ACTIVITY_BY_DIGIT = {
    "1": Activity.HOME,
    "2": Activity.STREET,
    "3": Activity.CHECKPOINT,
    "4": Activity.WORKPLACE,
    "5": Activity.COURTHOUSE,
    "6": Activity.SCHOOL,
    "7": Activity.STAGING,
    "8": Activity.OTHER,
}
NUMBER_WORDS = {
    "ZERO": 0,
    "CERO": 0,
    "NONE": 0,
    "NINGUNO": 0,
    "ONE": 1,
    "UNO": 1,
    "UNA": 1,
    "TWO": 2,
    "DOS": 2,
    "THREE": 3,
    "TRES": 3,
    "FOUR": 4,
    "CUATRO": 4,
    "FIVE": 5,
    "CINCO": 5,
    "SIX": 6,
    "SEIS": 6,
    "SEVEN": 7,
    "SIETE": 7,
    "EIGHT": 8,
    "OCHO": 8,
    "NINE": 9,
    "NUEVE": 9,
    "TEN": 10,
    "DIEZ": 10,
}
MAX_AGENTS = 500


# --- Texts (gettext; the caller activates the session's language) -------------------------------


def ask_where() -> str:
    return _(
        "Vecinos: thank you. Where is it happening? Reply with the address, cross streets or "
        "ZIP code. Reply CANCEL to stop."
    )


def ask_what() -> str:
    return _(
        "What is happening? Reply with a number: 1 door knock/home, 2 street arrest, "
        "3 checkpoint, 4 workplace, 5 courthouse, 6 near a school, 7 vehicles staging, 8 other."
    )


def ask_count() -> str:
    return _("How many agents do you see? Reply with a number.")


def ask_count_again() -> str:
    return _("Please reply with just a number of agents, for example 3.")


def receipt_text(report: Report) -> str:
    return _(
        "Thank you. Report %(receipt)s received; a dispatcher will review it. "
        "You have the right to remain silent. "
        "Do not open the door without a warrant signed by a judge."
    ) % {"receipt": report.receipt}


def cancelled_text() -> str:
    return _("Vecinos: your report was cancelled. Text REPORT to start a new one.")


def help_text() -> str:
    return _(
        "Vecinos: to report immigration enforcement, text REPORT followed by what you see. "
        "We will ask where, what and how many. Reply CANCEL to stop a report."
    )


# --- Parsing ----------------------------------------------------------------------------------


def rest_after_first_word(text: str) -> str:
    return re.sub(r"^\W*\w+[\s:,.;!-]*", "", text or "", count=1).strip()


def is_reserved(tokens: list[str]) -> bool:
    if not tokens:
        return True
    if all(t.isdigit() for t in tokens) and len(tokens) <= 2:
        return True
    return tokens[0] in RESERVED and len(tokens) <= 3


def parse_place(text: str) -> str:
    text = " ".join(text.split())
    if re.fullmatch(r"\d{5}", text):
        # No geocoding service is ever asked; a dispatcher (or, later, the offline ZIP table)
        # reads the ZIP.
        return f"ZIP {text}"
    return text[:300]


def parse_activity(text: str) -> tuple[str, str]:
    """(activity, extra description) from '4', '4 car wash on Main' or free text."""
    match = re.match(r"^\s*([1-8])(?:\W+|$)(.*)$", text or "", re.S)
    if match:
        return ACTIVITY_BY_DIGIT[match.group(1)], match.group(2).strip()
    return Activity.OTHER, (text or "").strip()


def parse_count(text: str) -> int | None:
    match = re.search(r"\d+", text or "")
    if match:
        value = int(match.group())
        return value if value <= MAX_AGENTS else None
    for token in words(text):
        if token in NUMBER_WORDS:
            return NUMBER_WORDS[token]
    return None


def _append(description: str, extra: str) -> str:
    return "\n".join(part for part in (description, extra.strip()) if part)[:2000]


# --- Handlers ---------------------------------------------------------------------------------


def _language(msg: InboundSms, first_word: str | None) -> str:
    preferred = getattr(msg.member, "preferred_language", "")
    if msg.member is not None and preferred in REPLY_LANGUAGES:
        return preferred
    if first_word in START_EN:
        return "en"
    if first_word in START_ES:
        return "es"
    return guess_language(msg.body)


def _drop(session: SmsSession) -> None:
    report = session.report
    session.delete()
    if report.status == ReportStatus.DRAFT:
        report.delete()


@transaction.atomic
def start_report(msg: InboundSms, *, description: str, language: str) -> str:
    SmsSession.objects.filter(phone_index=msg.from_index).delete()
    report = services.report_submit(
        data=services.ReportInput(
            channel="sms",
            status=ReportStatus.DRAFT,
            language=language,
            reporter_contact=msg.from_e164,
            reporter_member=msg.member,
            description=description[:2000],
        ),
        source_key_value=source_key(msg.from_e164),
    )
    report.reporter_index = msg.from_index
    report.save(update_fields=["reporter_index"])
    SmsSession.objects.create(
        phone_index=msg.from_index, report=report, step=WHERE, language=language
    )
    with translation.override(language):
        return ask_where()


def handle_start(msg: InboundSms) -> str | None:
    """Priority 10: REPORT / REPORTE, or free text from a number we do not know."""
    tokens = msg.words
    if not tokens:
        return None
    first = tokens[0]
    if first in START_WORDS:
        return start_report(
            msg, description=rest_after_first_word(msg.body), language=_language(msg, first)
        )
    if is_reserved(tokens):
        return None  # YES / 1 / STOP with nothing pending: someone else's, or the fallback
    if msg.member is not None:
        with translation.override(_language(msg, None)):
            return help_text()
    return start_report(msg, description=msg.body.strip(), language=_language(msg, None))


@transaction.atomic
def handle_session(msg: InboundSms) -> str | None:
    """Priority 90: the next answer of a report in progress."""
    session = (
        SmsSession.objects.select_for_update()
        .select_related("report")
        .filter(phone_index=msg.from_index)
        .first()
    )
    if session is None:
        return None
    report = session.report
    if session.updated_at < timezone.now() - SESSION_TTL or report.status != ReportStatus.DRAFT:
        _drop(session)
        return None  # start over: the message is handled as if no session existed
    tokens = msg.words
    first = tokens[0] if tokens else ""
    if first in START_WORDS:
        _drop(session)
        return None  # a new REPORT replaces the old draft (handle_start takes it)
    with translation.override(session.language):
        if first in CANCEL_WORDS:
            _drop(session)
            return cancelled_text()
        text = msg.body.strip()
        if session.step == WHERE:
            place = parse_place(text)
            if not place:
                return ask_where()
            report.place_text = place
            report.save(update_fields=["place_text"])
            return _next(session, WHAT, ask_what())
        if session.step == WHAT:
            if not text:
                return ask_what()
            activity, extra = parse_activity(text)
            report.activity = activity
            report.description = _append(report.description, extra)
            report.save(update_fields=["activity", "description"])
            return _next(session, COUNT, ask_count())
        count = parse_count(text)
        if count is None and session.step == COUNT:
            return _next(session, COUNT_AGAIN, ask_count_again())
        if count is None:
            # Asked twice: accept "unknown" rather than lose the report.
            report.description = _append(report.description, text[:200])
        report.agents_count = count
        report.save(update_fields=["agents_count", "description"])
        services.draft_complete(report=report)
        return receipt_text(report)


def _next(session: SmsSession, step: str, reply: str) -> str:
    session.step = step
    session.save(update_fields=["step", "updated_at"])
    return reply
