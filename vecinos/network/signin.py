"""Sign-in throttling that an attacker cannot turn into a lockout switch.

django-axes locks a username after a few wrong passwords (by username only: no client IP is
ever seen). Anyone who knows a dispatcher's username could use that to keep them out during an
operation. So the lock does not apply to a sign-in that also presents a valid second factor: the
right password *and* a current code from the member's authenticator (or an unused recovery
code). The code is only looked at once the password is known to be right, so this path cannot
be used to guess codes without the password (and TOTP devices throttle failed codes anyway).
"""

from __future__ import annotations

from typing import Any

import django_otp
from django.http import HttpRequest

from vecinos.network.models import Member

CODE_FIELD = "code"
_CACHE = "_vecinos_second_factor"


def second_factor_device(request: HttpRequest) -> Any | None:
    """The device that verified this sign-in request's code, if one did."""
    found = getattr(request, _CACHE, None)
    return found or None


def passes_second_factor(request: HttpRequest, credentials: dict | None = None) -> bool:
    """AXES_WHITELIST_CALLABLE: True when this sign-in carries the right password and a valid
    second-factor code, so a lockout others caused does not stop its owner.

    Axes asks several times per request (the backend, then the failure signal with the password
    masked): the first answer, computed with the real password, is kept on the request.
    """
    cached = getattr(request, _CACHE, None)
    if cached is not None:
        return cached is not False
    result: Any = False
    credentials = credentials or {}
    username, password = credentials.get("username"), credentials.get("password")
    code = ""
    if request.method == "POST":
        code = "".join(str(request.POST.get(CODE_FIELD, "")).split())
    if code and len(code) <= 16 and isinstance(username, str) and isinstance(password, str):
        member = Member.objects.filter(username=username, is_active=True).first()
        if member is None:
            Member().set_password(password)  # the same work: no timing hint of who exists
        elif member.check_password(password):
            result = django_otp.match_token(member, code) or False
    setattr(request, _CACHE, result)
    return result is not False
