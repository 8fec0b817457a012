"""The one registry of the coalition's languages: what each is called, which way it is written,
what an SMS in it costs, and which text-to-speech voice (if any) reads it on a call.

Two lists come out of it, and they differ on purpose:

- ``ui_languages()``: the interface switcher (``settings.LANGUAGES``). Only languages whose
  gettext catalog ships (``vecinos/locale/<locale>/LC_MESSAGES/django.po``), plus English, the
  source language. Adding a catalog enables a language; nothing else needs editing.
- ``content_languages()``: every language a person may prefer, a rights article may be written
  in, an alert may be sent in. Includes the Indigenous languages that are spoken, not written:
  their speakers get voice calls and recordings, not text.

``reviewed`` says whether a native speaker has checked the language's interface catalog. The
catalogs were written by the team (Spanish included); until a coordinator marks one reviewed,
the interface says so in that language (``needs_review``, shown in the footer).

This module imports nothing from Django's settings (settings imports it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


@dataclass(frozen=True)
class Language:
    code: str  # Django language code (BCP 47, lower case): "es", "zh-hans"
    english_name: str
    native_name: str
    direction: str = "ltr"  # "ltr" or "rtl"
    sms_encoding: str = "ucs2"  # "gsm7" (160 characters a segment) or "ucs2" (70)
    # Twilio <Say> voice and its language, "" when no text-to-speech voice reads the language:
    # calls then play a recording a coordinator uploaded.
    tts_voice: str = ""
    tts_language: str = ""
    written: bool = True  # False: spoken only (voice calls, recordings; never text)
    # True once a native speaker has reviewed the interface catalog. English is the source.
    reviewed: bool = False

    @property
    def rtl(self) -> bool:
        return self.direction == "rtl"

    @property
    def locale(self) -> str:
        """gettext locale folder name: "zh-hans" -> "zh_Hans"."""
        if "-" not in self.code:
            return self.code
        lang, _, region = self.code.partition("-")
        return f"{lang}_{region.title() if len(region) > 2 else region.upper()}"


# Voices are Amazon Polly (``Polly.*``) or Google (``Google.*``) voices that Twilio's <Say>
# offers; Farsi, Armenian and Khmer have none there, so their calls play recordings.
# Spanish and Tagalog are marked GSM-7 although á, í, ó, ú are not in GSM-7: the providers'
# smart encoding swaps them for plain letters. ``sms_encoding_of`` tells the truth of one text.
LANGUAGES: tuple[Language, ...] = (
    Language("en", "English", "English", sms_encoding="gsm7",
             tts_voice="Polly.Joanna", tts_language="en-US", reviewed=True),
    Language("es", "Spanish", "Español", sms_encoding="gsm7",
             tts_voice="Polly.Mia", tts_language="es-MX"),
    Language("tl", "Tagalog", "Tagalog", sms_encoding="gsm7",
             tts_voice="Google.fil-PH-Standard-A", tts_language="fil-PH"),
    Language("ko", "Korean", "한국어", tts_voice="Polly.Seoyeon", tts_language="ko-KR"),
    Language("zh-hans", "Simplified Chinese", "简体中文",
             tts_voice="Polly.Zhiyu", tts_language="cmn-CN"),
    Language("zh-hant", "Traditional Chinese", "繁體中文",
             tts_voice="Google.cmn-TW-Standard-A", tts_language="cmn-TW"),
    Language("vi", "Vietnamese", "Tiếng Việt",
             tts_voice="Google.vi-VN-Standard-A", tts_language="vi-VN"),
    Language("hy", "Armenian", "Հայերեն"),
    Language("fa", "Farsi", "فارسی", direction="rtl"),
    Language("ar", "Arabic", "العربية", direction="rtl",
             tts_voice="Polly.Zeina", tts_language="arb"),
    Language("ru", "Russian", "Русский", tts_voice="Polly.Tatyana", tts_language="ru-RU"),
    Language("km", "Khmer", "ខ្មែរ"),
    Language("ja", "Japanese", "日本語", tts_voice="Polly.Mizuki", tts_language="ja-JP"),
    # Indigenous languages of Mexico and Guatemala: spoken, mostly not read.
    Language("mix", "Mixteco", "Tu'un savi", written=False),
    Language("zap", "Zapotec", "Diidxazá", written=False),
    Language("quc", "K'iche'", "K'iche'", written=False),
    Language("kjb", "Q'anjob'al", "Q'anjob'al", written=False),
    Language("mam", "Mam", "Qyol Mam", written=False),
    Language("tsz", "Purépecha", "P'urhépecha", written=False),
)  # fmt: skip

BY_CODE: dict[str, Language] = {lang.code: lang for lang in LANGUAGES}
SOURCE_LANGUAGE = "en"
# Codes people stored before the registry existed.
ALIASES = {"zh": "zh-hans", "zh-cn": "zh-hans", "zh-tw": "zh-hant", "fil": "tl"}


def get(code: str | None) -> Language | None:
    code = (code or "").lower()
    return BY_CODE.get(ALIASES.get(code, code))


def has_catalog(lang: Language) -> bool:
    return (LOCALE_DIR / lang.locale / "LC_MESSAGES" / "django.po").exists()


def ui_languages() -> list[tuple[str, str]]:
    """(code, native name) of the languages the interface can be switched to."""
    return [
        (lang.code, lang.native_name)
        for lang in LANGUAGES
        if lang.written and (lang.code == SOURCE_LANGUAGE or has_catalog(lang))
    ]


def needs_review(code: str | None) -> bool:
    """True when the interface is shown in ``code`` from a catalog no native speaker reviewed."""
    lang = get(code)
    return lang is not None and not lang.reviewed and has_catalog(lang)


def written_languages() -> list[Language]:
    """Languages text (pages, SMS, cards) can be written in: the twelve shipped languages."""
    return [lang for lang in LANGUAGES if lang.written]


def content_languages() -> list[Language]:
    """Every language a person may prefer (written or spoken only)."""
    return list(LANGUAGES)


def label(lang: Language):
    """ "한국어 (Korean)": the language's own name, then its name in the interface language."""
    from django.utils.text import format_lazy
    from django.utils.translation import gettext_lazy

    if lang.native_name == lang.english_name:
        return gettext_lazy(lang.english_name)
    return format_lazy("{} ({})", lang.native_name, gettext_lazy(lang.english_name))


def choices() -> list[tuple[str, object]]:
    """Choices for a person's preferred language: every content language."""
    return [(lang.code, label(lang)) for lang in LANGUAGES]


def is_rtl(code: str | None) -> bool:
    lang = get(code)
    return lang is not None and lang.rtl


# --- SMS encoding -----------------------------------------------------------------------------

# GSM 03.38 basic set and its extension table (extension characters take two septets).
_GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = "^{}\\[~]|€\f"
_GSM7 = set(_GSM7_BASIC) | set(_GSM7_EXTENDED)


def sms_encoding_of(text: str) -> str:
    """ "gsm7" when every character fits GSM-7, else "ucs2"."""
    return "gsm7" if all(ch in _GSM7 for ch in text) else "ucs2"


def sms_segments(text: str) -> int:
    """How many SMS segments the text costs (160/153 septets in GSM-7, 70/67 UTF-16 units)."""
    if not text:
        return 0
    if sms_encoding_of(text) == "gsm7":
        units = sum(2 if ch in _GSM7_EXTENDED else 1 for ch in text)
        return 1 if units <= 160 else -(-units // 153)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= 70 else -(-units // 67)


_TAG = re.compile(r"^[a-z]{2,3}(-[a-z]{2,4})?$")


def normalize(code: str | None, default: str = "") -> str:
    """A registry code for ``code`` (aliases folded), or ``default``."""
    lang = get(code)
    if lang is not None:
        return lang.code
    code = (code or "").lower()
    if _TAG.match(code):
        base = get(code.split("-")[0])
        if base is not None:
            return base.code
    return default
