from __future__ import annotations

from django.conf import settings


def demo(request) -> dict:
    """The demo staff account's current sign-in code, on the two-step page only, never in
    production: the demo works without a second device."""
    if settings.PRODUCTION:
        return {}
    match = getattr(request, "resolver_match", None)
    if match is None or match.url_name != "two_factor_verify":
        return {}
    from vecinos.onboarding.demo import current_code

    code = current_code(request.user)
    return {"demo_totp_code": code} if code else {}
