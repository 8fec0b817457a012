"""Provider webhooks: Twilio's inbound SMS, voice hotline and status callbacks; the Android
gateway's delivery receipts.

Every request must carry a valid ``X-Twilio-Signature`` (403 otherwise, with no details), and
nothing here trusts a parameter before that check. Replies are TwiML with HTTP 200 even when we
refuse to help (rate limit): Twilio ignores the body of a non-2xx answer, so a 429 would leave
the sender with no explanation at all.
"""

from __future__ import annotations

import logging
import re
from xml.sax.saxutils import escape as xml_escape

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.twiml.voice_response import VoiceResponse

from vecinos.core import ratelimit
from vecinos.core.coalition import brand_sms
from vecinos.core.privacy import source_key
from vecinos.messaging import inbound, replay, services
from vecinos.messaging.models import Channel
from vecinos.messaging.phones import InvalidPhone, normalize_phone
from vecinos.transports.android import webhook as android
from vecinos.transports.twilio.webhooks import is_valid_request

log = logging.getLogger(__name__)

MAX_BODY = 1600  # Twilio's own limit for one inbound message
DEFAULT_FLOW = "hotline"
# A delivery's id in a status callback's URL (at most 18 digits: within a bigint).
DELIVERY_ID = re.compile(r"[1-9][0-9]{0,17}")


TWIML = "text/xml; charset=utf-8"


def twiml(response) -> HttpResponse:
    return HttpResponse(str(response), content_type=TWIML)


def forbidden() -> HttpResponse:
    return HttpResponseForbidden("Forbidden", content_type="text/plain; charset=utf-8")


def _phone(raw: str) -> str:
    try:
        return normalize_phone(raw)
    except InvalidPhone:
        return ""


@csrf_exempt
@require_POST
def twilio_sms(request: HttpRequest) -> HttpResponse:
    if not is_valid_request(request):
        return forbidden()
    e164 = _phone(request.POST.get("From", ""))
    sid = request.POST.get("MessageSid") or request.POST.get("SmsSid", "")
    reply = answer_sms(e164, request.POST.get("Body", ""), sid)
    return HttpResponse(sms_twiml(reply), content_type=TWIML)


def answer_sms(e164: str, body: str, sid: str) -> str:
    """One inbound text message, handled once (by its provider id): the reply, with the
    coalition's name, or "" for none. The webhooks, and the demo's phone simulator, use it."""
    msg = inbound.InboundSms.build(e164, body[:MAX_BODY]) if e164 else None
    # Reads first, outside the write transaction: the sender (above), the filters, and what the
    # handlers prepare (which call-out a reply answers). On SQLite the transaction holds the
    # one write lock of every process, so it should hold it for writes only.
    filtered = False
    if msg is not None:
        filtered = inbound.is_filtered(msg)
        inbound.prepare_sms(msg)
    # One message, one transaction (on SQLite, one take of the write lock): the replay record,
    # the rate counter and the handlers' writes. The handlers run in one savepoint of it, so
    # one that fails leaves nothing half-written and the replay record still commits.
    with transaction.atomic():
        reply = _handle_sms(sid, e164, msg, filtered=filtered)
    return brand_sms(reply) if reply else ""


def sms_twiml(text: str) -> str:
    """The TwiML answer to an inbound SMS: the reply, or nothing. Written directly (the same
    bytes twilio's MessagingResponse writes): building its element tree was a tenth of a
    reply's Python time in a surge."""
    if not text:
        return '<?xml version="1.0" encoding="UTF-8"?><Response />'
    return (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Message>'
        f"{xml_escape(text)}</Message></Response>"
    )


def _handle_sms(
    sid: str, e164: str, msg: inbound.InboundSms | None, *, filtered: bool
) -> str | None:
    """The reply text for one inbound message, or None/"" for none. ``filtered``: a filter
    (a ban) drops this sender's message, checked before the transaction."""
    # A signed request can be captured and re-sent at will (Twilio signs no timestamp): each
    # message is handled once, so a saved STOP cannot silence someone who sent START since.
    if not replay.first_time("sms", sid):
        return None
    if msg is None:  # short codes, alphanumeric senders, garbage: nobody to talk to
        return None
    try:
        # One savepoint for the handlers (one SAVEPOINT and RELEASE under the write lock, not two):
        # a handler that fails leaves nothing half-written, its rate count included. The
        # replay record above stays: a message that failed is not handled again.
        with transaction.atomic():
            return _route(msg, e164, filtered=filtered)
    except Exception:  # noqa: BLE001 - the sender gets an answer, never a 500
        log.exception("inbound SMS handler failed")
        with translation.override(msg.language):
            return _("Vecinos: something went wrong on our side. Please send that again.")


def _route(msg: inbound.InboundSms, e164: str, *, filtered: bool) -> str | None:
    # STOP, START and HELP must always work (carrier rules), banned or rate-limited or not.
    urgent = inbound.route_sms(msg, min_priority=inbound.ALWAYS)
    if urgent is not None:
        return urgent
    if filtered:
        return None
    if not ratelimit.hit(
        "sms",
        source_key(e164),
        limit=settings.REPORT_RATE_LIMIT * 3,
        window_seconds=settings.REPORT_RATE_WINDOW,
    ):
        return inbound.rate_limited_reply(msg)
    return inbound.route_sms(msg)


def _voice_sorry(text_en: str, text_es: str) -> VoiceResponse:
    response = VoiceResponse()
    response.say(text_es, language="es-MX")
    response.say(text_en, language="en-US")
    response.hangup()
    return response


@csrf_exempt
@require_POST
def twilio_voice(request: HttpRequest) -> HttpResponse:
    """Voice flows by name (``?flow=hotline``); a call's first request carries no ``step``."""
    if not is_valid_request(request):
        return forbidden()
    # Each step of a call is handled once (the step, and its retry counter, are in the URL).
    call_sid = request.POST.get("CallSid", "")
    if call_sid and not replay.first_time(
        "voice",
        call_sid,
        request.get_full_path(),
        request.POST.get("Digits", ""),
        request.POST.get("RecordingSid", ""),
        request.POST.get("DialCallStatus", ""),
    ):
        response = VoiceResponse()
        response.hangup()
        return twiml(response)
    params = {**request.POST.dict(), **request.GET.dict()}
    e164 = _phone(params.get("From", ""))
    params["from_e164"] = e164
    params["from_index"] = services.address_index("voice", e164) if e164 else ""
    if e164 and inbound.is_filtered(inbound.InboundSms.build(e164, "")):
        response = VoiceResponse()
        response.reject()
        return twiml(response)
    # Calls we placed (alert calls) have our own number as From: one bucket for every alert
    # call would silence a fan-out. Direction is part of the signed request.
    new_inbound_call = not params.get("step") and not request.POST.get("Direction", "").startswith(
        "outbound"
    )
    if new_inbound_call and not ratelimit.hit(
        "voice",
        # Callers who hide their number share one bucket: a flood cannot hide behind it.
        source_key(e164 or "anonymous"),
        limit=settings.REPORT_RATE_LIMIT,
        window_seconds=settings.REPORT_RATE_WINDOW,
    ):
        return twiml(
            _voice_sorry(
                "Too many calls from this number. Please try again later.",
                "Demasiadas llamadas de este número. Por favor intente más tarde.",
            )
        )
    flow = request.GET.get("flow", DEFAULT_FLOW)
    try:
        with transaction.atomic():
            body = inbound.route_voice(flow, request, params)
    except Exception:  # noqa: BLE001 - a caller hears an apology, never silence
        log.exception("voice flow %s failed", flow)
        body = None
    if body is None:
        return twiml(
            _voice_sorry(
                "Sorry, we could not take your call. Please call again.",
                "Lo sentimos, no pudimos atender su llamada. Por favor llame de nuevo.",
            )
        )
    return HttpResponse(body, content_type="text/xml; charset=utf-8")


@csrf_exempt
@require_POST
def twilio_status(request: HttpRequest) -> HttpResponse:
    """Delivery receipts for messages (MessageSid) and calls (CallSid)."""
    if not is_valid_request(request):
        return forbidden()
    post = request.POST
    # The delivery the callback's URL names (messaging.worker._status_callback_url), signed
    # with the rest of the URL; a message sent before it did has none.
    named = request.GET.get("d", "")
    services.status_update(
        provider_id=post.get("MessageSid") or post.get("SmsSid") or post.get("CallSid") or "",
        status=post.get("MessageStatus") or post.get("SmsStatus") or post.get("CallStatus") or "",
        error_code=post.get("ErrorCode", "") or "",
        delivery_id=int(named) if DELIVERY_ID.fullmatch(named) else None,
    )
    return HttpResponse(status=204)


@csrf_exempt
@require_POST
def android_webhook(request: HttpRequest) -> HttpResponse:
    """Delivery receipts from SMS Gateway for Android (transports/android/webhook.py reads
    them). 200 also for ids we do not know and events we do not use, so the phone does not
    retry them for two days."""
    if not android.is_valid_request(request):
        return forbidden()
    try:
        event, message_id, reason = android.parse(request.body)
    except android.BadEvent as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    if event:
        updated = services.receipt_update(
            channel=Channel.SMS,
            provider_id=message_id,
            status=android.EVENTS[event],
            source="android",
            reason=reason,
        )
        if not updated:
            log.info("android receipt %s for no open delivery", event)
    return HttpResponse("ok", content_type="text/plain; charset=utf-8")
