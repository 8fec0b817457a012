"""Inbound SMS/voice handlers of the reports pipeline (registered with messaging's router).

filter  reports.banned    a banned phone gets nothing (no reply, no report)
100     reports.verifier  YES / NO / CONFIRMED ... from a verifier with a pending request
 90     reports.session   the next answer of an SMS report in progress
 10     reports.start     REPORT / REPORTE, or free text from an unknown number
voice   hotline           the voice hotline (reports/voice.py)
"""

from __future__ import annotations

from django.db import connection
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from vecinos.core import languages, sql
from vecinos.messaging.inbound import (
    REPLY_LANGUAGES,
    InboundSms,
    register_sms,
    register_sms_filter,
    register_voice,
)
from vecinos.network import selectors as network
from vecinos.network.models import Role
from vecinos.reports import services, sms_flow, voice
from vecinos.reports.models import BannedSource, Incident, VerificationRequest

# --- Bans ---------------------------------------------------------------------------------------


# Plain SQL (core.sql): both run for every message of a surge of call-out replies.
_BANNED = (
    f"SELECT 1 FROM {BannedSource._meta.db_table} "  # noqa: S608 - our table
    "WHERE key = %s AND (expires_at IS NULL OR expires_at > %s)"
)
_PENDING_REQUEST = (
    f"SELECT 1 FROM {VerificationRequest._meta.db_table} "  # noqa: S608 - our table
    "WHERE verifier_id = %s AND status IN (%s, %s) LIMIT 1"
)


def is_banned_index(phone_index: str) -> bool:
    if not phone_index:
        return False
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    return sql.exists(_BANNED, [f"phone:{phone_index}", now])


def is_banned(msg: InboundSms) -> bool:
    return is_banned_index(msg.from_index)


# --- Verifier replies ---------------------------------------------------------------------------

ACCEPT = {"YES", "Y", "SI", "ACCEPT", "ACEPTO", "VOY"}
DECLINE = {"NO", "N", "DECLINE"}
OUTCOME_WORDS = {
    "CONFIRMED": Incident.Status.CONFIRMED,
    "CONFIRMADO": Incident.Status.CONFIRMED,
    "CONFIRMADA": Incident.Status.CONFIRMED,
    "CONFIRM": Incident.Status.CONFIRMED,
    "FALSE": Incident.Status.FALSE_ALARM,
    "FALSO": Incident.Status.FALSE_ALARM,
    "FALSA": Incident.Status.FALSE_ALARM,
    "UNABLE": Incident.Status.UNABLE,
    "NOPUDE": Incident.Status.UNABLE,
    "NOTICE": Incident.Status.NOT_ENFORCEMENT,
    "NOICE": Incident.Status.NOT_ENFORCEMENT,
}
# Two-word spellings people type: "NO PUDE", "NOT ICE", "NO ICE".
OUTCOME_PAIRS = {
    ("NO", "PUDE"): Incident.Status.UNABLE,
    ("NOT", "ICE"): Incident.Status.NOT_ENFORCEMENT,
    ("NO", "ICE"): Incident.Status.NOT_ENFORCEMENT,
}


def classify_verifier_reply(tokens: list[str]) -> tuple[str, int] | None:
    """(kind, words used): kind is 'yes', 'no' or an incident outcome."""
    if not tokens:
        return None
    if len(tokens) >= 2 and (tokens[0], tokens[1]) in OUTCOME_PAIRS:
        return OUTCOME_PAIRS[(tokens[0], tokens[1])], 2
    if tokens[0] in OUTCOME_WORDS:
        return OUTCOME_WORDS[tokens[0]], 1
    if tokens[0] in ACCEPT:
        return "yes", 1
    if tokens[0] in DECLINE:
        return "no", 1
    return None


YES_WORDS = languages.sms_keywords("yes")
NO_WORDS = languages.sms_keywords("no")


def reply_word(body: str) -> tuple[str, int] | None:
    """Yes or no in any shipped language (네, はい, НЕТ ...), from the one keyword table."""
    for kind, vocabulary in (("yes", YES_WORDS), ("no", NO_WORDS)):
        found = languages.match_keyword(body, vocabulary, max_words=None)
        if found is not None:
            return kind, len(found[0].split())
    return None


def _notes(body: str, used: int) -> str:
    """The text after the keyword(s), as the verifier wrote it."""
    rest = body or ""
    for _i in range(used):
        rest = sms_flow.rest_after_first_word(rest)
    return rest


def pending_request(member) -> VerificationRequest | None:
    return (
        VerificationRequest.objects.filter(
            verifier=member,
            status__in=[VerificationRequest.Status.SENT, VerificationRequest.Status.ACCEPTED],
        )
        .select_related("incident")
        .order_by("-created_at", "-id")
        .first()
    )


def prepare_verifier(msg: InboundSms) -> bool:
    """Before the write transaction: could this be a verifier's answer? (A keyword from a
    member with a request pending.) False lets a surge of call-out replies ("VOY" is also
    a verifier's yes) skip this handler without a query inside the transaction."""
    if msg.member is None:
        return False
    if classify_verifier_reply(msg.words) is None and reply_word(msg.body) is None:
        return False
    sent, accepted = VerificationRequest.Status.SENT, VerificationRequest.Status.ACCEPTED
    return sql.exists(_PENDING_REQUEST, [msg.member.pk, sent, accepted])


def handle_verifier(msg: InboundSms) -> str | None:
    """Priority 100. Not a verifier, no pending request, not a keyword: not ours."""
    if msg.member is None or msg.prepared.get("reports.verifier") is False:
        return None
    found = classify_verifier_reply(msg.words) or reply_word(msg.body)
    if found is None:
        return None
    kind, used = found
    request = pending_request(msg.member)
    if request is None or not network.has_role(msg.member, Role.VERIFIER):
        return None
    language = msg.member.preferred_language
    language = language if language in REPLY_LANGUAGES else "es"
    incident_id = request.incident_id
    with translation.override(language):
        if kind == "yes":
            services.verification_respond(request=request, accept=True)
            return _(
                "Thank you, you are going to incident #%(id)s. Observe from a safe distance. "
                "Then reply CONFIRMED, FALSE, UNABLE or NOTICE (not immigration enforcement), "
                "with a short note."
            ) % {"id": incident_id}
        if kind == "no":
            services.verification_respond(request=request, accept=False)
            return _("Thank you, noted that you cannot go to incident #%(id)s.") % {
                "id": incident_id
            }
        incident = services.verification_outcome(
            request=request, outcome=kind, notes=_notes(msg.body, used)
        )
        return _("Thank you. Incident #%(id)s is recorded as: %(outcome)s.") % {
            "id": incident_id,
            "outcome": incident.get_status_display(),
        }


register_sms_filter("reports.banned", is_banned)
register_sms("reports.verifier", handle_verifier, priority=100, prepare=prepare_verifier)
register_sms("reports.session", sms_flow.handle_session, priority=90)
register_sms("reports.start", sms_flow.handle_start, priority=10)
register_voice("hotline", voice.hotline)
