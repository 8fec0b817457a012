"""What an alert's text messages cost, language by language, shown on its review page.

Each language's text is counted as it will go out (with the confirmation link): GSM-7 texts
take 160 characters a segment (153 once split, extension characters such as € [ ] count twice),
others are UCS-2, 70 a segment (67 once split). Recipients whose first channel is SMS are
charged that many segments at ``settings.SMS_SEGMENT_PRICE``. People whose language is spoken
only get a voice call, never a text: they are listed, not charged as texts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings

from vecinos.alerts import recordings
from vecinos.alerts.bodies import _bodies, message_for
from vecinos.alerts.models import Alert, Subscriber
from vecinos.core import languages as registry
from vecinos.core.bulk import with_ids
from vecinos.messaging.models import Channel


@dataclass(frozen=True)
class LanguageRow:
    language: str  # the recipients' language
    name: str
    people: int
    texted: int  # of them, how many get a text message first
    sent_in: str  # the language the text is written in (their own, or the fallback)
    sent_in_name: str
    voice_only: bool  # a spoken-only language: a call, never a text
    recorded: bool  # a coordinator's recording of the alert's kind in it plays on the call
    encoding: str  # "gsm7" or "ucs2"
    segments: int  # per text
    cost: Decimal


def segment_price() -> Decimal:
    try:
        return Decimal(str(getattr(settings, "SMS_SEGMENT_PRICE", "0") or "0"))
    except InvalidOperation:
        return Decimal(0)


def _name(code: str) -> str:
    lang = registry.get(code)
    return str(registry.label(lang)) if lang else code


def _people(targets) -> dict[str, Counter]:
    """Per language: how many people, and how many of them are texted first."""
    first: dict[int, str] = {}
    ids = [t.subscriber_id for t in targets]
    for i in range(0, len(ids), 5000):
        rows = with_ids(Subscriber.objects.all(), ids[i : i + 5000]).values_list("pk", "channels")
        for pk, chans in rows:
            first[pk] = chans[0] if chans else Channel.SMS
    out: dict[str, Counter] = {}
    for t in targets:
        counts = out.setdefault(registry.normalize(t.language, t.language or "es"), Counter())
        counts["people"] += 1
        if first.get(t.subscriber_id, Channel.SMS) == Channel.SMS:
            counts["texted"] += 1
    return out


def breakdown(alert: Alert, targets) -> list[LanguageRow]:
    """One row per recipients' language, most people first."""
    price = segment_price()
    make = _bodies(alert)
    recorded = {language for kind, language in recordings.recordings() if kind == alert.kind}
    rows = []
    for code, counts in _people(targets).items():
        lang = registry.get(code)
        voice_only = lang is not None and not lang.written
        _text, sent_in = message_for(alert, code)
        body = make(0, code, Channel.SMS)
        segments = registry.sms_segments(body)
        texted = 0 if voice_only else counts["texted"]
        rows.append(
            LanguageRow(
                language=code,
                name=_name(code),
                people=counts["people"],
                texted=texted,
                sent_in=sent_in,
                sent_in_name=_name(sent_in),
                voice_only=voice_only,
                recorded=code in recorded,
                encoding=registry.sms_encoding_of(body),
                segments=segments,
                cost=(price * texted * segments).quantize(Decimal("0.01")),
            )
        )
    rows.sort(key=lambda r: (-r.people, r.language))
    return rows


def total_cost(rows: list[LanguageRow]) -> Decimal:
    return sum((r.cost for r in rows), Decimal("0.00"))
