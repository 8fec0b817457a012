from __future__ import annotations

from django.conf import settings


def site(request):
    nav = {}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        from vecinos.network import selectors

        nav = {
            "is_coordinator": selectors.is_coordinator(user),
            "can_read_audit": selectors.can_read_audit(user),
        }
    return {"site_name": "Vecinos", "public_url": settings.PUBLIC_URL, "nav": nav}
