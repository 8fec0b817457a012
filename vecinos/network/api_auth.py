"""How API callers prove who they are: a member's bearer token, or a signed-in browser session
that has passed its second factor. Both the API's default auth and reports' optional-reporter
intake use these (they live in network, below every app that mounts a router)."""

from __future__ import annotations

from django.http import HttpRequest
from django_otp import devices_for_user
from ninja.security import HttpBearer, SessionAuth

from vecinos.network import selectors
from vecinos.network.services import token_authenticate


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):
        member = token_authenticate(token)
        if member is not None:
            request.user = member
        return member


class VerifiedSession(SessionAuth):
    """A signed-in browser session (CSRF-checked by ninja for unsafe methods)."""

    def authenticate(self, request: HttpRequest, key):
        user = super().authenticate(request, key)
        if user is None or not user.is_active:
            return None
        # A session that still owes a two-factor code gets no API access either.
        if not user.is_verified():
            if selectors.requires_two_factor(user) or any(
                True for _d in devices_for_user(user, confirmed=True)
            ):
                return None
        return user
