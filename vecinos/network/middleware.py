"""Network's middleware: the two-factor gate (roles live here, so the rule does too)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.shortcuts import redirect
from django.urls import reverse
from django_otp import devices_for_user

from vecinos.network.selectors import requires_two_factor

# Pages a person who must enrol in two-factor can still reach.
ALLOWED_PREFIXES = (
    "/static/",
    "/healthz",
    "/i18n/",
    "/api/",
    "/coalition.css",
    "/coalition-logo.png",
)


class TwoFactorRequiredMiddleware:
    """Coordinators and dispatchers must have verified a TOTP code in this session.

    Anyone holding such a role (even before their tier activates it) is sent to enrol or to
    verify before any other page loads.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(ALLOWED_PREFIXES)
        ):
            allowed = {
                reverse("two_factor_setup"),
                reverse("two_factor_verify"),
                reverse("logout"),
            }
            if request.path not in allowed and not user.is_verified():
                # Anyone who turned two-factor on must use it; some roles must turn it on.
                if any(True for _d in devices_for_user(user, confirmed=True)):
                    query = urlencode({"next": request.get_full_path()})
                    return redirect(f"{reverse('two_factor_verify')}?{query}")
                if requires_two_factor(user):
                    return redirect("two_factor_setup")
        return self.get_response(request)
