from __future__ import annotations

import zoneinfo

from django.templatetags.static import static
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext

from vecinos.core.coalition import coalition

# Browser features no page uses are switched off for every answer; geolocation is allowed (for
# this origin only) on the pages whose scripts ask for a position, by URL name.
DENIED_FEATURES = (
    "accelerometer",
    "autoplay",
    "browsing-topics",
    "camera",
    "display-capture",
    "encrypted-media",
    "fullscreen",
    "gyroscope",
    "hid",
    "idle-detection",
    "magnetometer",
    "microphone",
    "midi",
    "payment",
    "publickey-credentials-get",
    "screen-wake-lock",
    "serial",
    "usb",
    "xr-spatial-tracking",
)
GEOLOCATION_PAGES = frozenset(
    {
        "report_form",  # "use my location" on the public report form
        "quick_report",  # a member's quick report
        "duty",  # a verifier's optional on-duty position
        "my_subscriptions",  # "use my location" for an alert area
        "patrol_shifts",  # shifts near me
        "patrol_shift",  # check-in at the place
    }
)
_DENY_ALL = ", ".join([*(f"{f}=()" for f in DENIED_FEATURES), "geolocation=()"])
_WITH_GEOLOCATION = ", ".join([*(f"{f}=()" for f in DENIED_FEATURES), "geolocation=(self)"])


class PrivacyHeadersMiddleware:
    """Permissions-Policy on every answer; ``Cache-Control: no-store`` on every answer whose view
    did not choose its own caching (pages and API answers may carry personal data: a shared
    computer's cache or a proxy must not keep them). Static files keep WhiteNoise's caching."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        uses_geolocation = match is not None and match.url_name in GEOLOCATION_PAGES
        response["Permissions-Policy"] = _WITH_GEOLOCATION if uses_geolocation else _DENY_ALL
        if not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store"
        return response


class PartialPageMiddleware:
    """htmx fragments (the console queue, an alert's progress, a phone tree) opened directly in
    a browser become a whole document: a language, a title and the stylesheet, so a screen
    reader knows what it is reading. htmx's own requests get the bare fragment."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code != 200
            or getattr(response, "streaming", False)
            or request.headers.get("HX-Request")
            or not response.get("Content-Type", "").startswith("text/html")
        ):
            return response
        head = response.content[:200].lstrip().lower()
        if not head or head.startswith((b"<!doctype", b"<html")):
            return response
        charset = response.charset or "utf-8"
        wrapped = (
            f'<!doctype html>\n<html lang="{escape(translation.get_language() or "en")}">\n'
            f'<head><meta charset="{charset}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(gettext('Vecinos'))}</title>"
            f'<link rel="stylesheet" href="{escape(static("css/vecinos.css"))}"></head>\n'
            '<body><main id="main">'
        ).encode(charset)
        response.content = wrapped + response.content + b"</main></body></html>\n"
        return response


class CoalitionTimeZoneMiddleware:
    """Pages show times in the coalition's time zone (its settings row, cached)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            timezone.activate(zoneinfo.ZoneInfo(coalition().time_zone))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class MethodNotAllowedPageMiddleware:
    """A form's address opened in the browser (typed, bookmarked, reloaded after a redirect)
    answers 405 with an empty body from ``require_POST``, and the browser showed its own blank
    error page (outside walk). Such an answer to a browser's GET becomes the site's page saying
    what the address is; the API and the webhooks keep their plain answers."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code != 405
            or response.content
            or request.method not in ("GET", "HEAD")
            or request.path.startswith(("/api/", "/hooks/"))
        ):
            return response
        from django.shortcuts import render  # the template engine, only for this answer

        page = render(
            request,
            "error.html",
            {
                "title": gettext("This address is not a page"),
                "message": gettext(
                    "It is what a button on another page sends. Go back and use the button there."
                ),
            },
            status=405,
        )
        if response.has_header("Allow"):
            page["Allow"] = response["Allow"]
        return page
