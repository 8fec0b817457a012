"""A member's phone number changes only when the code texted to the new number comes back.

A member's phone is how the network reaches them and how it knows them when they text or call
(network.inbound: the oldest active member with the number). Typed into a form unchecked, another
person's number would take their replies (a verifier's CONFIRM, a call-out's YES) and send them
this member's messages. So a new number is kept aside (``PhoneChange``, encrypted) and a six-digit
code goes to it; the phone changes only when the code is typed back on the member's profile,
within ``CODE_MINUTES`` and ``MAX_TRIES`` (then only a new code works). Removing one's phone
needs no code. Codes are kept only as a keyed hash, sends are limited per member, and nothing
here says whether the number belongs to anyone else.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from vecinos.core import languages, ratelimit
from vecinos.core.audit import audit
from vecinos.core.coalition import brand_sms
from vecinos.messaging import services as messaging
from vecinos.network.models import Member, PhoneChange
from vecinos.network.phones import phone_index

# Sent (sender=Member, member=...) once a member's phone changed: to a confirmed number, or to
# none. Apps above network follow it (alerts: the member's subscription goes to the new phone).
phone_changed = Signal()

CODE_MINUTES = 30
MAX_TRIES = 5
SENDS_PER_HOUR = 5


class TooManyCodes(Exception):
    """More codes asked for in an hour than SENDS_PER_HOUR."""


def _hash(member: Member, phone: str, code: str) -> str:
    return salted_hmac(
        "vecinos.network.phone_change", f"{member.pk}:{phone}:{code}", algorithm="sha256"
    ).hexdigest()


def pending(member: Member) -> PhoneChange | None:
    """The number waiting for its code, while the code still works."""
    since = timezone.now() - timedelta(minutes=CODE_MINUTES)
    return PhoneChange.objects.filter(member=member, sent_at__gte=since).first()


@transaction.atomic
def start(member: Member, e164: str) -> PhoneChange:
    """Keep ``e164`` aside for ``member`` and text it a new code (the last one stops working)."""
    key = salted_hmac("vecinos.network.phone_change.sends", str(member.pk)).hexdigest()[:32]
    if not ratelimit.hit("phone-code", key, limit=SENDS_PER_HOUR, window_seconds=3600):
        raise TooManyCodes
    code = f"{secrets.randbelow(1_000_000):06d}"
    now = timezone.now()
    change, _created = PhoneChange.objects.update_or_create(
        member=member,
        defaults={
            "phone": e164,
            "code_hash": _hash(member, e164, code),
            "sent_at": now,
            "tries": 0,
        },
    )
    language = languages.text_language(member.preferred_language)
    with translation.override(language):
        body = brand_sms(
            _(
                "Vecinos: your code to confirm this phone number is %(code)s. "
                "If you did not ask for it, ignore this message."
            )
            % {"code": code}
        )
    messaging.deliveries_enqueue(
        [
            messaging.DeliverySpec(
                purpose="phone_code",
                ref_type="member",
                ref_id=member.pk,
                # No member on the contact point: the number is not theirs until confirmed.
                contact=messaging.contact_point(channel="sms", address=e164, language=language),
                body=body,
                language=language,
                key=f"phone-code:{member.pk}:{secrets.token_hex(8)}",
                expires_at=now + timedelta(minutes=CODE_MINUTES),
            )
        ]
    )
    audit("profile.phone_code_sent", actor=member, target=member)
    return change


@transaction.atomic
def confirm(member: Member, code: str) -> bool:
    """The member's phone becomes the waiting number if ``code`` is its code. A wrong code
    counts; after MAX_TRIES no code works until a new one is sent (``start``)."""
    change = PhoneChange.objects.select_for_update().filter(member=member).first()
    if change is None or change.sent_at < timezone.now() - timedelta(minutes=CODE_MINUTES):
        return False
    code = "".join(str(int(ch)) for ch in code if ch.isdecimal())[:6]  # any script's digits
    if not change.code_hash or not hmac.compare_digest(
        change.code_hash, _hash(member, change.phone, code)
    ):
        change.tries += 1
        if change.tries >= MAX_TRIES:
            change.code_hash = ""  # no code works any more; the page offers a new one
        change.save(update_fields=["tries", "code_hash"])
        audit("profile.phone_code_wrong", actor=member, target=member)
        return False
    member.phone, member.phone_index = change.phone, phone_index(change.phone)
    member.save(update_fields=["phone", "phone_index"])
    change.delete()
    audit("profile.phone_confirmed", actor=member, target=member)
    phone_changed.send(sender=Member, member=member)
    return True


def cancel(member: Member) -> None:
    PhoneChange.objects.filter(member=member).delete()


def drop_expired(_cutoff=None) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """A retention step: numbers whose code no longer works are not kept."""
    since = timezone.now() - timedelta(minutes=CODE_MINUTES)
    return {"phone_changes": PhoneChange.objects.filter(sent_at__lt=since).delete()[0]}
