"""Two-step sign-in writes: a pending authenticator, enrolment, recovery codes (audited)."""

from __future__ import annotations

from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from vecinos.core.audit import audit
from vecinos.network.models import Member

RECOVERY_CODE_COUNT = 10


def pending_device(user: Member) -> TOTPDevice:
    """The member's authenticator still being set up (made on first need)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    return device


def _new_recovery_codes(user: Member) -> list[str]:
    device, _created = StaticDevice.objects.get_or_create(
        user=user, name="recovery", defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _i in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


@transaction.atomic
def enroll(*, user: Member, device: TOTPDevice) -> list[str]:
    """The code matched: the authenticator counts from now on; fresh recovery codes."""
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _new_recovery_codes(user)
    audit("2fa.enroll", actor=user, target=user)
    return codes


@transaction.atomic
def recovery_codes_renew(*, user: Member) -> list[str]:
    """New recovery codes; the old ones stop working."""
    codes = _new_recovery_codes(user)
    audit("2fa.recovery_codes", actor=user, target=user)
    return codes
