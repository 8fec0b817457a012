"""The voice hotline (flow "hotline"): language menu, then a dispatcher or a recorded message.

    (start)   a known caller (a member): the main menu in their preferred language;
              anyone else: the language menu's first page                -> step=lang
    lang      page 1 "For English press 1. Para español oprima 2." + "more languages, 9";
              pages 2 and 3 the other languages of the registry, each entry in its own
              language (``voice_prompts.PAGES``). A language key -> the main menu in it;
              9 or no key -> the next page (after the last: Spanish)    -> step=menu
    menu 1    <Dial> every dispatcher on duty now (first to answer takes the call) -> step=dialed
              nobody on duty, or nobody answers                     -> record
    menu 2    <Record maxLength=120>                               -> step=recorded
    menu 3    <Redirect> to the rights app's flow ("your rights", spoken or played in a known
              caller's own language, else the menu's), which comes back to step=main (this
              menu again, in the menu's language)
    recorded  a NEW voice report with the recording attached; thanks; hang up
              (a worker then fetches the audio, stores it encrypted and deletes it at Twilio)

A wrong key repeats a menu once, then moves on (language: Spanish; main menu: recording), so
no caller is ever stuck in a loop. A dispatcher's number only ever appears inside <Dial>: it is
never spoken. The dispatcher's phone shows the hotline's number, not the caller's (``callerId``
= the number that was called), so a seized volunteer phone holds no reporter's number in its
call log.

Every prompt is said in the caller's language: with its text-to-speech voice (the registry's
``tts_voice``, the words from its catalog), else the coordinator's recording of the prompt in
it (``voice_prompts.PROMPTS``, kept and served by the alerts' recorded templates and reached
through ``hooks.prompt_recordings``), else in Spanish (English if Spanish had no voice).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from twilio.twiml.voice_response import VoiceResponse

from vecinos.core import languages
from vecinos.core.privacy import source_key
from vecinos.network import selectors as network
from vecinos.network.models import Member, Role
from vecinos.reports import hooks, recordings, services
from vecinos.reports import voice_prompts as prompts
from vecinos.reports.models import Attachment, OnDuty, Report, ReportStatus

FLOW = "hotline"
FALLBACK_LANGUAGES = ("es", "en")  # said in these when the caller's language has no voice
MAX_RECORDING_SECONDS = 120
DIAL_TIMEOUT_SECONDS = 25
MAX_DIAL_NUMBERS = 10  # Twilio rings at most 10 <Number>s at once


def step_url(step: str, lang: str = "", n: int = 0, page: int = 1) -> str:
    query = {"flow": FLOW, "step": step}
    if lang:
        query["lang"] = lang
    if page > 1:
        query["p"] = str(page)
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


# --- Speaking ----------------------------------------------------------------------------------


def voice_of(code: str) -> languages.Language | None:
    """The language itself when it has a text-to-speech voice, else None."""
    lang = languages.get(code)
    return lang if lang is not None and lang.tts_voice else None


def fallback_voice() -> languages.Language:
    for code in FALLBACK_LANGUAGES:
        lang = voice_of(code)
        if lang is not None:
            return lang
    raise LookupError("no fallback language has a voice")  # pragma: no cover


def _say(node, text: str, lang: languages.Language) -> None:
    node.say(text, voice=lang.tts_voice, language=lang.tts_language)


def speak(node, code: str, kind: str, *texts, **params) -> None:
    """Say ``texts`` (lazy strings, ``params`` filled in) in language ``code``: with its voice,
    else play its recording of the prompt ``kind`` ("" = none is made), else in Spanish."""
    lang = voice_of(code)
    if lang is None and kind:
        url = hooks.prompt_recordings(kind, [code]).get(code)
        if url:
            node.play(url)
            return
    lang = lang or fallback_voice()
    with translation.override(lang.code):
        for text in texts:
            _say(node, str(text) % params if params else str(text), lang)


def language_entry(node, code: str, key: str, recorded: str) -> None:
    """ "For <language>, press <key>." in that language, its recording, or else Spanish."""
    lang = voice_of(code)
    if lang is not None:
        name = languages.BY_CODE[code].native_name
    elif recorded:
        node.play(recorded)
        return
    else:
        lang = fallback_voice()
    with translation.override(lang.code):
        if lang.code != code:
            name = str(prompts.SPOKEN_NAMES.get(code, languages.BY_CODE[code].english_name))
        _say(node, str(prompts.LANGUAGE_ENTRY) % {"language": name, "key": key}, lang)


# --- Steps --------------------------------------------------------------------------------------


def language_menu(page: int = 1, n: int = 0) -> VoiceResponse:
    codes = prompts.PAGES[page - 1]
    response = VoiceResponse()
    action = step_url("lang", n=n, page=page)
    gather = response.gather(num_digits=1, action=action, method="POST", timeout=5)
    unvoiced = [code for code in codes if voice_of(code) is None]
    recorded = hooks.prompt_recordings(prompts.LANGUAGE, unvoiced)
    for key, code in enumerate(codes, 1):
        language_entry(gather, code, str(key), recorded.get(code, ""))
    if page < len(prompts.PAGES):
        for code in ("en", "es"):
            speak(gather, code, "", prompts.MORE_LANGUAGES, key=prompts.MORE)
    # No key pressed: Twilio falls through to the next verb (the next page).
    response.redirect(action, method="POST")
    return response


def main_menu(lang: str, n: int = 0, sorry: bool = False) -> VoiceResponse:
    response = VoiceResponse()
    gather = response.gather(
        num_digits=1, action=step_url("menu", lang, n), method="POST", timeout=6
    )
    if sorry:
        speak(gather, lang, "hl-sorry", prompts.NOT_AN_OPTION)
    speak(gather, lang, "hl-menu", prompts.MENU, prompts.MENU_RIGHTS)
    response.redirect(step_url("menu", lang, n), method="POST")
    return response


def record(lang: str, intro=None) -> VoiceResponse:
    response = VoiceResponse()
    if intro is not None:
        speak(response, lang, "hl-busy", intro)
    speak(response, lang, "hl-record", prompts.RECORD)
    response.record(
        max_length=MAX_RECORDING_SECONDS,
        action=step_url("recorded", lang),
        method="POST",
        finish_on_key="#",
        play_beep=True,
        timeout=10,
    )
    # Reached only when nothing was recorded (Twilio skips the action then).
    speak(response, lang, "hl-bye", prompts.NOTHING_RECORDED)
    response.hangup()
    return response


def connect(lang: str, params: dict) -> VoiceResponse:
    phones = dispatcher_phones()
    if not phones:
        return record(lang, prompts.NO_DISPATCHER)
    response = VoiceResponse()
    speak(response, lang, "hl-connect", prompts.CONNECTING)
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
    return record(lang, prompts.NO_ANSWER)


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
    if not url.startswith(("https://", "http://")):
        speak(response, lang, "hl-bye", prompts.NOTHING_RECORDED)
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
    speak(response, lang, "hl-thanks", prompts.THANKS)
    response.hangup()
    return response


def known_language(params: dict) -> str:
    """A known caller's preferred language (a member's, any of the registry's), else ""."""
    index = params.get("from_index", "")
    if not index:
        return ""
    member = Member.objects.filter(phone_index=index, is_active=True).order_by("pk").first()
    return languages.normalize(getattr(member, "preferred_language", ""))


def rights_language(lang: str, params: dict) -> str:
    """The language "your rights" is said in: a known caller's own (spoken-only ones
    included: their recording plays), else the menu's."""
    return known_language(params) or lang


def _int(value, top: int = 5) -> int:
    try:
        return max(0, min(top, int(value)))
    except (TypeError, ValueError):
        return 0


def choose_language(page: int, n: int, digits: str) -> VoiceResponse:
    """A key pressed (or none) on a page of the language menu."""
    codes = prompts.PAGES[page - 1]
    last = page == len(prompts.PAGES)
    if not digits or (digits == prompts.MORE and not last):
        # No key (or "more"): the next page; after the last one, Spanish.
        return main_menu("es") if last else language_menu(page + 1)
    index = int(digits) - 1 if digits.isascii() and digits.isdigit() and len(digits) < 4 else -1
    if 0 <= index < len(codes):
        return main_menu(codes[index])
    # A wrong key: the page once more, then Spanish.
    return language_menu(page, n=1) if n == 0 else main_menu("es")


def menu_choice(lang: str, n: int, digits: str, params: dict) -> VoiceResponse:
    if digits == "1":
        return connect(lang, params)
    if digits == "2":
        return record(lang)
    if digits == "3":
        # The rights app's voice flow (registered with messaging, not imported here).
        response = VoiceResponse()
        rights = urlencode(
            {"flow": "rights", "step": "say", "lang": rights_language(lang, params)}
            | {"back": lang}
        )
        response.redirect(f"{reverse('twilio_voice')}?{rights}", method="POST")
        return response
    return main_menu(lang, n=1, sorry=True) if n == 0 else record(lang)


def hotline(request, params: dict) -> str:
    step = params.get("step", "")
    lang = languages.normalize(params.get("lang"), "es")
    n = _int(params.get("n"))
    page = _int(params.get("p"), len(prompts.PAGES)) or 1
    digits = (params.get("Digits") or "").strip()
    if step == "lang":
        response = choose_language(page, n, digits)
    elif step == "menu":
        response = menu_choice(lang, n, digits, params)
    elif step == "main":
        response = main_menu(lang)
    elif step == "dialed":
        response = dialed(lang, params)
    elif step == "recorded":
        response = recorded(lang, params)
    else:
        # A new call: a member hears their own language at once, anyone else the menu.
        known = known_language(params)
        response = main_menu(known) if known else language_menu()
    return str(response)
