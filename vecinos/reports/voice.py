"""The voice hotline (flow "hotline"): language menu, then a dispatcher or a recorded message.

    (start)   "For English press 1. Para español oprima 2."       -> step=lang
    lang      "Press 1 for a dispatcher, 2 to leave a message"     -> step=menu
    menu 1    <Dial> every dispatcher on duty now (first to answer takes the call) -> step=dialed
              nobody on duty, or nobody answers                     -> record
    menu 2    <Record maxLength=120>                               -> step=recorded
    menu 3    <Redirect> to the rights app's flow ("your rights", spoken or played in a known
              caller's own language, else the menu's), which comes back to step=main (this
              menu again, in the menu's language)
    recorded  a NEW voice report with the recording attached; thanks; hang up
              (a worker then fetches the audio, stores it encrypted and deletes it at Twilio)

A wrong or missing key repeats a menu once, then moves on (language: Spanish; main menu:
recording), so no caller is ever stuck in a loop. A dispatcher's number only ever appears inside
<Dial>: it is never spoken. The dispatcher's phone shows the hotline's number, not the caller's
(``callerId`` = the number that was called), so a seized volunteer phone holds no reporter's
number in its call log.

The language menu is written in both languages on purpose (each half in its own language, for a
caller whose language we do not know yet); everything after it goes through gettext.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from twilio.twiml.voice_response import VoiceResponse

from vecinos.core import languages
from vecinos.core.privacy import source_key
from vecinos.network import selectors as network
from vecinos.network.models import Member, Role
from vecinos.reports import recordings, services
from vecinos.reports.models import Attachment, OnDuty, Report, ReportStatus

FLOW = "hotline"
VOICE_LANGUAGE = {"en": "en-US", "es": "es-MX"}
MAX_RECORDING_SECONDS = 120
DIAL_TIMEOUT_SECONDS = 25
MAX_DIAL_NUMBERS = 10  # Twilio rings at most 10 <Number>s at once


def step_url(step: str, lang: str = "", n: int = 0) -> str:
    query = {"flow": FLOW, "step": step}
    if lang:
        query["lang"] = lang
    if n:
        query["n"] = str(n)
    return f"{reverse('twilio_voice')}?{urlencode(query)}"


def dispatcher_phones() -> list[str]:
    """Phones of dispatchers on duty now whose role is in force, longest on duty first."""
    duties = (
        OnDuty.objects.filter(role="dispatcher", until__gt=timezone.now(), member__is_active=True)
        .select_related("member")
        .order_by("started_at", "id")
    )
    phones = []
    for duty in duties:
        member = duty.member
        if member.phone and network.has_role(member, Role.DISPATCHER):
            phones.append(member.phone)
    return phones[:MAX_DIAL_NUMBERS]


# --- Steps --------------------------------------------------------------------------------------


def _say(node, text: str, lang: str) -> None:
    node.say(text, language=VOICE_LANGUAGE[lang])


def language_menu(n: int = 0) -> VoiceResponse:
    response = VoiceResponse()
    gather = response.gather(num_digits=1, action=step_url("lang", n=n), method="POST", timeout=6)
    gather.say("For English press 1.", language=VOICE_LANGUAGE["en"])
    gather.say("Para español oprima 2.", language=VOICE_LANGUAGE["es"])
    # No key pressed: Twilio falls through to the next verb.
    response.redirect(step_url("lang", n=n), method="POST")
    return response


def main_menu(lang: str, n: int = 0, intro: str = "") -> VoiceResponse:
    response = VoiceResponse()
    gather = response.gather(
        num_digits=1, action=step_url("menu", lang, n), method="POST", timeout=6
    )
    with translation.override(lang):
        if intro:
            _say(gather, intro, lang)
        _say(
            gather,
            _("To speak with a dispatcher, press 1. To leave a message, press 2."),
            lang,
        )
        _say(gather, _("To hear your rights, press 3."), lang)
    response.redirect(step_url("menu", lang, n), method="POST")
    return response


def record(lang: str, intro: str = "") -> VoiceResponse:
    response = VoiceResponse()
    with translation.override(lang):
        if intro:
            _say(response, intro, lang)
        _say(
            response,
            _(
                "After the tone, tell us what you see, where, and how many agents. "
                "Press the pound key when you finish."
            ),
            lang,
        )
        response.record(
            max_length=MAX_RECORDING_SECONDS,
            action=step_url("recorded", lang),
            method="POST",
            finish_on_key="#",
            play_beep=True,
            timeout=10,
        )
        # Reached only when nothing was recorded (Twilio skips the action then).
        _say(response, _("We did not receive a message. Goodbye."), lang)
    response.hangup()
    return response


def connect(lang: str, params: dict) -> VoiceResponse:
    phones = dispatcher_phones()
    with translation.override(lang):
        if not phones:
            return record(lang, _("No dispatcher is available right now."))
        response = VoiceResponse()
        _say(response, _("Connecting you with a dispatcher. Please hold."), lang)
    dial = response.dial(
        action=step_url("dialed", lang),
        method="POST",
        timeout=DIAL_TIMEOUT_SECONDS,
        caller_id=params.get("To") or None,
        answer_on_bridge=True,
    )
    for phone in phones:
        dial.number(phone)
    return response


def dialed(lang: str, params: dict) -> VoiceResponse:
    if params.get("DialCallStatus") == "completed":
        response = VoiceResponse()
        response.hangup()
        return response
    with translation.override(lang):
        return record(lang, _("No dispatcher could answer."))


@transaction.atomic
def voice_report_submit(*, language: str, recording_url: str, e164: str, index: str) -> Report:
    """A NEW voice report with its recording (the URL is encrypted; see ``recordings``)."""
    report = services.report_submit(
        data=services.ReportInput(
            channel="voice",
            status=ReportStatus.DRAFT,  # a voice report has no place yet: skip that rule
            language=language,
            description="Voice message",
            reporter_contact=e164,
        ),
        source_key_value=source_key(e164) if e164 else "",
    )
    report.reporter_index = index
    report.save(update_fields=["reporter_index"])
    attachment = Attachment.objects.create(
        report=report,
        kind=Attachment.Kind.RECORDING,
        content_type="audio/mpeg",
        remote_url=recording_url,
    )
    # Fetched (and deleted at Twilio) by a worker once the report is committed.
    transaction.on_commit(lambda: recordings.kick(attachment.pk))
    return services.draft_complete(report=report)


def recorded(lang: str, params: dict) -> VoiceResponse:
    url = (params.get("RecordingUrl") or "").strip()
    response = VoiceResponse()
    with translation.override(lang):
        if not url.startswith(("https://", "http://")):
            _say(response, _("We did not receive a message. Goodbye."), lang)
            response.hangup()
            return response
        if not url.endswith((".mp3", ".wav")):
            url += ".mp3"  # Twilio serves WAV by default; ".mp3" asks for MP3
        voice_report_submit(
            language=lang,
            recording_url=url[:500],
            e164=params.get("from_e164", ""),
            index=params.get("from_index", ""),
        )
        _say(
            response,
            _("Thank you. A dispatcher will listen to your message. Stay safe."),
            lang,
        )
    response.hangup()
    return response


def rights_language(lang: str, params: dict) -> str:
    """The language "your rights" is said in: a known caller's own (a member's preferred
    language, any of the registry's, spoken-only ones included: their recording plays), else
    the menu's."""
    index = params.get("from_index", "")
    if index:
        member = Member.objects.filter(phone_index=index, is_active=True).order_by("pk").first()
        preferred = languages.normalize(getattr(member, "preferred_language", ""))
        if preferred:
            return preferred
    return lang


def _int(value) -> int:
    try:
        return max(0, min(5, int(value)))
    except (TypeError, ValueError):
        return 0


def hotline(request, params: dict) -> str:
    step = params.get("step", "")
    lang = params.get("lang", "")
    lang = lang if lang in VOICE_LANGUAGE else "es"
    n = _int(params.get("n"))
    digits = (params.get("Digits") or "").strip()
    if step == "lang":
        chosen = {"1": "en", "2": "es"}.get(digits)
        # A wrong or missing key: the menu once more, then Spanish.
        response = language_menu(n=1) if chosen is None and n == 0 else main_menu(chosen or "es")
    elif step == "menu":
        if digits == "1":
            response = connect(lang, params)
        elif digits == "2":
            response = record(lang)
        elif digits == "3":
            # The rights app's voice flow (registered with messaging, not imported here).
            response = VoiceResponse()
            rights = urlencode(
                {"flow": "rights", "step": "say", "lang": rights_language(lang, params)}
                | {"back": lang}
            )
            response.redirect(f"{reverse('twilio_voice')}?{rights}", method="POST")
        elif n == 0:
            with translation.override(lang):
                response = main_menu(lang, n=1, intro=_("Sorry, that is not an option."))
        else:
            response = record(lang)
    elif step == "main":
        response = main_menu(lang)
    elif step == "dialed":
        response = dialed(lang, params)
    elif step == "recorded":
        response = recorded(lang, params)
    else:
        response = language_menu()
    return str(response)
