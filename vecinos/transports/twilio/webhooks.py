"""Is this request really from Twilio? Checked on every webhook, with the SDK's own validator.

Twilio signs the exact URL it requested (scheme, host, path, query) plus the sorted POST
parameters. Behind a proxy the URL Django sees is not the one Twilio used, so the URL is
rebuilt from ``settings.PUBLIC_URL`` (the address configured in the Twilio console).

Signing keys: by default Twilio signs with the account Auth Token and HMAC-SHA1. If a Webhooks
Rule matches the URL, Twilio signs with that rule's SharedKey and names the algorithm in
``X-Twilio-Webhooks-Signature-Settings``; such requests need
``settings.TWILIO_WEBHOOK_SHARED_KEY`` and are refused without it.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from twilio.request_validator import (
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)

SIGNATURE_META = "HTTP_X_TWILIO_SIGNATURE"
SETTINGS_META = "HTTP_" + SIGNATURE_SETTINGS_HEADER.upper().replace("-", "_")


def request_url(request: HttpRequest) -> str:
    return settings.PUBLIC_URL + request.get_full_path()


def is_valid_request(request: HttpRequest) -> bool:
    """True only for a POST whose X-Twilio-Signature matches. No token configured: never."""
    signature = request.META.get(SIGNATURE_META, "")
    if not signature:
        return False
    signing_settings = request.META.get(SETTINGS_META, "")
    if signing_settings:
        secret = getattr(settings, "TWILIO_WEBHOOK_SHARED_KEY", "") or ""
        algorithm = get_signature_algorithm(signing_settings)
    else:
        secret, algorithm = settings.TWILIO_AUTH_TOKEN, None
    if not secret:
        return False
    # The QueryDict itself: the validator reads repeated parameters with getlist().
    return RequestValidator(secret).validate(
        request_url(request), request.POST, signature, algorithm=algorithm
    )
