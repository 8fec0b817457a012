from __future__ import annotations

from django.conf import settings


def site(request):
    nav = {}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        from vecinos.network import selectors

        nav = {
            "is_coordinator": selectors.is_coordinator(user),
            "is_coalition_coordinator": selectors.is_coalition_coordinator(user),
            "can_read_audit": selectors.can_read_audit(user),
            "can_use_console": selectors.has_role(user, "dispatcher", "coalition_coordinator"),
            "can_take_duty": selectors.has_role(user, "dispatcher", "verifier"),
            "can_alert": selectors.has_role(
                user, "dispatcher", "coalition_coordinator", "org_coordinator"
            ),
            "is_captain": selectors.has_role(user, "captain"),
            "can_patrol": selectors.has_role(user, "patrol"),
            # Call-outs: the people who may alert (mobilize.services.can_activate).
            "can_callout": selectors.has_role(
                user, "dispatcher", "coalition_coordinator", "org_coordinator"
            ),
            "is_verifier": selectors.has_role(user, "verifier"),
        }
    from vecinos.core.coalition import coalition

    current = coalition()
    language = getattr(request, "LANGUAGE_CODE", None)
    hotline = current.hotline_for(language)
    return {
        "site_name": current.name,
        "coalition": current,
        "hotline": hotline,
        "public_url": settings.PUBLIC_URL,
        "nav": nav,
    }
