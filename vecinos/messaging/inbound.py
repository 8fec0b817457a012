"""The inbound router: SMS and voice webhooks hand messages here; apps register handlers.

This module imports no domain app. Apps register in their ``AppConfig.ready()``:

    register_sms("reports.verifier", handle_verifier_reply, priority=100)
    register_sms_filter("reports.banned", is_banned)
    register_voice("hotline", hotline)
    register_sender_lookup(member_by_phone)   # network: the member behind a phone

The router knows contact points, never members: ``InboundSms.member`` is whatever the one
registered sender lookup returns for the phone's blind index (network's Member), or None.

SMS handlers run from the **highest priority number down**; the first that returns a string
wins. A handler returns ``None`` for "not mine" (the next one is tried), ``""`` for "handled,
send no reply", or the reply text. Conventions so apps do not trip over each other:

    1000+  must always work (STOP / opt-out, carrier rules)
     100   answers to a question we asked this person (verifier YES/NO/CONFIRMED)
      90   a conversation in progress (an SMS report being filled in)
   50-80   acknowledgements of alerts (1 / YES / SI to the latest unacknowledged alert)
      10   catch-alls that start something new (free text becomes a report)

Filters run before rate limiting and routing: one returning True drops the message silently
(a banned flooder gets an empty reply and costs no database writes beyond the check).

A handler may also register a ``prepare`` function: the webhook calls it before it opens the
message's write transaction (on SQLite, before it takes the database's one write lock) and keeps
its result in ``msg.prepared[name]``. Reads that do not need to be in the transaction go there
(which call-out does this phone answer?), so a surge of replies holds the lock only for its
writes. A prepare function only reads; the handler must still work when its result is missing
(``route_sms`` called directly) and re-read, in the transaction, whatever it decides on.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _

from vecinos.core import languages
from vecinos.messaging.services import address_index

SmsHandler = Callable[["InboundSms"], "str | None"]
SmsFilter = Callable[["InboundSms"], bool]
VoiceHandler = Callable[[Any, dict], str]
SenderLookup = Callable[[str], Any]  # phone blind index -> the sender's record, or None
SmsPrepare = Callable[["InboundSms"], Any]

# Every interface language with a catalog: keyword replies and the fallback go out in them.
REPLY_LANGUAGES = tuple(code for code, _name in languages.ui_languages())


@dataclass
class InboundSms:
    from_e164: str
    body: str
    from_index: str = ""
    member: Any = None  # who has that phone, by the registered sender lookup, or None
    prepared: dict[str, Any] = field(default_factory=dict)  # handler name -> prepare()'s result

    @classmethod
    def build(cls, from_e164: str, body: str) -> InboundSms:
        index = address_index("sms", from_e164)
        lookup = _sender.get("lookup")
        member = lookup(index) if lookup is not None else None
        return cls(from_e164=from_e164, body=body, from_index=index, member=member)

    @property
    def words(self) -> list[str]:
        return words(self.body)

    @property
    def language(self) -> str:
        """The language to answer in when no conversation says otherwise."""
        preferred = getattr(self.member, "preferred_language", "")
        if preferred in REPLY_LANGUAGES:
            return preferred
        return guess_language(self.body)


def fold(text: str) -> str:
    """Upper case without accents: 'sí' -> 'SI', 'Español' -> 'ESPANOL'."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper()


def words(text: str) -> list[str]:
    return re.findall(r"[A-Z0-9]+", fold(text))


_SPANISH = {
    "HOLA",
    "HAY",
    "LA",
    "EL",
    "LOS",
    "LAS",
    "EN",
    "DE",
    "DEL",
    "CALLE",
    "ESQUINA",
    "AGENTES",
    "AQUI",
    "ESTAN",
    "ESTA",
    "MIGRA",
    "POR",
    "FAVOR",
    "AYUDA",
    "ESCUELA",
    "CERCA",
    "UNOS",
    "CARROS",
    "CAMIONETAS",
    "TRABAJO",
    "CASA",
    "PUERTA",
    "VI",
    "VEO",
    "REPORTE",
    "REPORTAR",
    "SI",
    "GRACIAS",
    "PARQUE",
    "TIENDA",
    "Y",
    "CON",
    "UN",
    "UNA",
    "QUE",
    "SE",
    "SOY",
}
_ENGLISH = {
    "THE",
    "IS",
    "ARE",
    "THERE",
    "AT",
    "ON",
    "STREET",
    "AGENTS",
    "HERE",
    "HELP",
    "SCHOOL",
    "NEAR",
    "SOME",
    "CARS",
    "VANS",
    "WORK",
    "HOME",
    "DOOR",
    "SAW",
    "SEE",
    "REPORT",
    "YES",
    "THANKS",
    "PARK",
    "STORE",
    "AND",
    "WITH",
    "AN",
    "OF",
    "IN",
    "OUTSIDE",
    "I",
    "WHAT",
}


def guess_language(text: str) -> str:
    """'es' or 'en' from a few marker words; Spanish when unsure (most hotline users)."""
    spanish = sum(1 for w in words(text) if w in _SPANISH)
    english = sum(1 for w in words(text) if w in _ENGLISH)
    if re.search(r"[ñÑ¿¡áéíóúÁÉÍÓÚ]", text or ""):
        spanish += 2
    return "en" if english > spanish else "es"


# --- Registry ---------------------------------------------------------------------------------

_sms: dict[str, tuple[int, SmsHandler]] = {}
_filters: dict[str, SmsFilter] = {}
_voice: dict[str, VoiceHandler] = {}
_sender: dict[str, SenderLookup] = {}
_prepare: dict[str, SmsPrepare] = {}


def register_sender_lookup(lookup: SenderLookup) -> None:
    """Register (or replace) the one lookup of the person behind a phone's blind index."""
    _sender["lookup"] = lookup


def register_sms(
    name: str, handler: SmsHandler, priority: int = 50, prepare: SmsPrepare | None = None
) -> None:
    """Register (or replace, by name) an SMS handler, and its read-only ``prepare``."""
    _sms[name] = (priority, handler)
    if prepare is None:
        _prepare.pop(name, None)
    else:
        _prepare[name] = prepare


def prepare_sms(msg: InboundSms) -> None:
    """Run the handlers' prepare functions (reads, outside the message's write transaction)."""
    for name, prepare in list(_prepare.items()):
        msg.prepared[name] = prepare(msg)


def register_sms_filter(name: str, check: SmsFilter) -> None:
    _filters[name] = check


def register_voice(flow: str, handler: VoiceHandler) -> None:
    _voice[flow] = handler


def unregister(name: str) -> None:
    _sms.pop(name, None)
    _prepare.pop(name, None)
    _filters.pop(name, None)
    _voice.pop(name, None)


def sms_handlers() -> list[tuple[int, str]]:
    return sorted(((p, n) for n, (p, _h) in _sms.items()), key=lambda pn: (-pn[0], pn[1]))


def is_filtered(msg: InboundSms) -> bool:
    return any(check(msg) for check in list(_filters.values()))


ALWAYS = 1000  # handlers at or above this run even for banned or rate-limited senders


def route_sms(msg: InboundSms, *, min_priority: int | None = None) -> str | None:
    """The reply text ('' = reply nothing). Tries handlers by priority, then the fallback.

    With ``min_priority`` only those handlers are tried and None means "none of them".
    """
    for priority, name in sms_handlers():
        if min_priority is not None and priority < min_priority:
            break
        handler = _sms[name][1]
        reply = handler(msg)
        if reply is not None:
            return reply
    return None if min_priority is not None else fallback_reply(msg)


def fallback_reply(msg: InboundSms) -> str:
    with translation.override(msg.language):
        return _(
            "Vecinos: we did not understand that. To report what you see, text REPORT "
            "followed by what is happening and where."
        )


def rate_limited_reply(msg: InboundSms) -> str:
    with translation.override(msg.language):
        return _("Vecinos: too many messages from this number. Please wait a few minutes.")


def voice_flows() -> list[str]:
    return sorted(_voice)


def route_voice(flow: str, request, params: dict) -> str | None:
    """TwiML of the flow, or None when no app registered that flow."""
    handler = _voice.get(flow)
    if handler is None:
        return None
    return handler(request, params)
