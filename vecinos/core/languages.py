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
import unicodedata
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


def text_language(code: str | None) -> str:
    """The language a text message to this person is written in: theirs when the interface
    ships in it (its catalog has the texts), else Spanish."""
    known = get(code)
    if known is not None and (known.code == "en" or has_catalog(known)):
        return known.code
    return "es"


def ui_languages() -> list[tuple[str, str]]:
    """(code, native name) of the languages the interface can be switched to."""
    return [
        (lang.code, lang.native_name)
        for lang in LANGUAGES
        if lang.written and (lang.code == SOURCE_LANGUAGE or has_catalog(lang))
    ]


def needs_review(code: str | None) -> bool:
    """True when the interface is shown in ``code`` from a catalog no native speaker reviewed.

    English is the source (``Language.reviewed``); for the others a coalition coordinator's
    mark (``CoalitionSettings.reviewed_languages``, cached by ``core.coalition``) decides."""
    lang = get(code)
    if lang is None or lang.reviewed or not has_catalog(lang):
        return False
    from vecinos.core import coalition

    return lang.code not in coalition.coalition().reviewed_languages


@dataclass(frozen=True)
class CatalogCount:
    translated: int
    total: int


_catalog_counts: dict[str, tuple[float, CatalogCount]] = {}


def _po_entries(text: str):
    """(msgid, [msgstr...], fuzzy) of each live entry of a .po file (header and obsolete out).

    An entry starts at its first comment, msgctxt or msgid line after the previous entry's
    msgstr, so entries that a merge left without a blank line between them still count."""
    entries: list[tuple[dict[str, list[str]], bool]] = []
    fields: dict[str, list[str]] = {}
    fuzzy = False
    current = ""

    def close() -> None:
        nonlocal fields, fuzzy, current
        if fields:
            entries.append((fields, fuzzy))
        fields, fuzzy, current = {}, False, ""

    for raw in text.splitlines():
        ln = raw.strip()
        if not ln or ln.startswith("#~"):
            continue
        starts = ln.startswith("#") or re.match(r"^(msgctxt|msgid)\s", ln)
        if starts and any(k.startswith("msgstr") for k in fields):
            close()
        if ln.startswith("#"):
            fuzzy = fuzzy or (ln.startswith("#,") and "fuzzy" in ln)
            continue
        m = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+"(.*)"$', ln)
        if m:
            current = m.group(1)
            fields[current] = [m.group(2)]
        elif ln.startswith('"') and current:
            fields[current].append(ln[1:-1])
    close()
    for fields, fuzzy in entries:
        msgid = "".join(fields.get("msgid", []))
        if not msgid:
            continue
        strs = ["".join(v) for k, v in fields.items() if k.startswith("msgstr")]
        yield msgid, strs, fuzzy


def catalog_count(lang: Language) -> CatalogCount | None:
    """Interface strings translated / total in the language's catalog, read from its .po file
    (cached until the file changes); None for a language without a catalog. English is the
    source: every string."""
    source = LOCALE_DIR / "es" / "LC_MESSAGES" / "django.po"
    path = (
        source
        if lang.code == SOURCE_LANGUAGE
        else (LOCALE_DIR / lang.locale / "LC_MESSAGES" / "django.po")
    )
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return None
    cached = _catalog_counts.get(lang.code)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    entries = list(_po_entries(path.read_text(encoding="utf-8")))
    translated = sum(1 for _m, strs, fuzzy in entries if strs and all(strs) and not fuzzy)
    if lang.code == SOURCE_LANGUAGE:
        translated = len(entries)
    count = CatalogCount(translated=translated, total=len(entries))
    _catalog_counts[lang.code] = (mtime, count)
    return count


def written_languages() -> list[Language]:
    """Languages text (pages, SMS, cards) can be written in: the twelve shipped languages."""
    return [lang for lang in LANGUAGES if lang.written]


def content_languages() -> list[Language]:
    """Every language a person may prefer (written or spoken only)."""
    return list(LANGUAGES)


def label(lang: Language):
    """ "한국어 (Korean)": the language's own name, then its name in the interface language when
    that differs ("English (Inglés)" on a Spanish page; "Español", not "Español (Español)")."""
    from django.utils.functional import lazy
    from django.utils.translation import gettext

    def text() -> str:
        here = gettext(lang.english_name)
        # A label, like a menu's entries: capitalized ("Armenio", as Django's "Coreano"),
        # although Spanish writes "armenio" in a sentence (the voice menu's "Para armenio").
        here = here[:1].upper() + here[1:]
        return lang.native_name if here == lang.native_name else f"{lang.native_name} ({here})"

    return lazy(text, str)()


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


# --- SMS keywords -------------------------------------------------------------------------------

# The one table of SMS keywords in every shipped written language; each inbound parser reads it
# (``sms_keywords(kind)``). The carriers' English and Spanish words are always honoured: STOP
# must work whatever language a person otherwise writes in. A word shared by two languages
# (停止, 加入) answers in the first of them in registry order. "" means "no language hint".
#   stop:  opt out of every message        start: lift the opt-out (and confirm a JOIN)
#   help:  what this number is             join:  subscribe to alerts (+ ZIP code or place)
#   yes:   confirm a subscription, acknowledge an alert, accept a request
#   no:    decline a request or a call-out
#   language: write to me in this language (each language's own name, and its English name)
#   coming / arrived / left: a responder's answers to a call-out (mobilize): on my way (an ETA
#          in minutes may follow: "갑니다 15"), on site, gone home. Texts that tell a person
#          what to reply take the first word of their language (``reply_word``).
SMS_KEYWORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "stop": {
        "en": ("STOP", "STOPALL", "UNSUBSCRIBE", "END", "QUIT"),
        "es": ("ALTO", "BAJA"),
        "tl": ("HINTO", "TIGIL"),
        "ko": ("중지", "그만"),
        "zh-hans": ("退订", "停止"),
        "zh-hant": ("退訂", "停止"),
        "vi": ("DỪNG", "HỦY"),
        "hy": ("ԴԱԴԱՐԵՑՆԵԼ", "ԿԱՆԳ"),
        "fa": ("توقف", "لغو"),
        "ar": ("إيقاف", "إلغاء"),
        "ru": ("СТОП", "ОТПИСАТЬСЯ"),
        "km": ("ឈប់",),
        "ja": ("ストップ", "配信停止"),
    },
    "start": {
        "en": ("START", "UNSTOP"),
        "es": ("INICIO",),
        "tl": ("SIMULA",),
        "ko": ("시작",),
        "zh-hans": ("开始",),
        "zh-hant": ("開始",),
        "vi": ("BẮT ĐẦU",),
        "hy": ("ՍԿՍԵԼ",),
        "fa": ("شروع",),
        "ar": ("بدء",),
        "ru": ("СТАРТ",),
        "km": ("ចាប់ផ្តើម",),
        "ja": ("スタート", "再開"),
    },
    "help": {
        "en": ("HELP",),
        "": ("INFO",),
        "es": ("AYUDA",),
        "tl": ("TULONG",),
        "ko": ("도움", "도움말"),
        "zh-hans": ("帮助",),
        "zh-hant": ("幫助",),
        "vi": ("GIÚP",),
        "hy": ("ՕԳՆՈՒԹՅՈՒՆ",),
        "fa": ("راهنما", "کمک"),
        "ar": ("مساعدة",),
        "ru": ("ПОМОЩЬ",),
        "km": ("ជំនួយ",),
        "ja": ("ヘルプ",),
    },
    "join": {
        "en": ("JOIN", "SUBSCRIBE"),
        "es": ("UNIRME", "SUSCRIBIR", "SUSCRIBIRME"),
        "tl": ("SUMALI",),
        "ko": ("가입",),
        "zh-hans": ("加入", "订阅"),
        "zh-hant": ("訂閱",),
        "vi": ("THAM GIA",),
        "hy": ("ՄԻԱՆԱԼ",),
        "fa": ("عضویت",),
        "ar": ("اشتراك",),
        "ru": ("ПОДПИСКА", "ПОДПИСАТЬСЯ"),
        "km": ("ចូលរួម",),
        "ja": ("登録",),
    },
    "yes": {
        "en": ("YES", "Y"),
        "es": ("SÍ", "SI"),
        "tl": ("OO", "OPO"),
        "ko": ("네", "예"),
        "zh-hans": ("是", "是的", "好"),
        "zh-hant": ("是的", "對"),
        "vi": ("CÓ", "VÂNG", "ĐỒNG Ý"),
        "hy": ("ԱՅՈ",),
        "fa": ("بله", "آره"),
        "ar": ("نعم",),
        "ru": ("ДА",),
        "km": ("បាទ", "ចាស"),
        "ja": ("はい",),
    },
    "no": {
        "": ("NO",),
        "en": ("NO", "N", "NOPE"),  # "NO" stays language-neutral ("" comes first)
        "es": ("NO", "NEL"),
        "tl": ("HINDI",),
        "ko": ("아니요", "아니오"),
        "zh-hans": ("不", "不是", "否"),
        "zh-hant": ("不行", "不對"),
        "vi": ("KHÔNG",),
        "hy": ("ՈՉ",),
        "fa": ("نه", "خیر"),
        "ar": ("لا",),
        "ru": ("НЕТ",),
        "km": ("ទេ",),
        "ja": ("いいえ",),
    },
    "language": {
        "en": ("ENGLISH", "INGLÉS"),
        "es": ("ESPAÑOL", "SPANISH"),
        "tl": ("TAGALOG", "FILIPINO"),
        "ko": ("한국어", "KOREAN", "COREANO"),
        "zh-hans": ("简体中文", "中文", "简体", "CHINESE"),  # not CHINO: a city
        "zh-hant": ("繁體中文", "繁體", "繁体中文"),
        "vi": ("TIẾNG VIỆT", "VIETNAMESE", "VIETNAMITA"),
        "hy": ("ՀԱՅԵՐԵՆ", "ARMENIAN", "ARMENIO"),
        "fa": ("فارسی", "FARSI", "PERSIAN"),
        "ar": ("العربية", "عربي", "ARABIC", "ÁRABE"),
        "ru": ("РУССКИЙ", "RUSSIAN", "RUSO"),
        "km": ("ខ្មែរ", "KHMER", "JEMER"),
        "ja": ("日本語", "JAPANESE", "JAPONÉS"),
    },
    # A call-out's replies. ВЫЕХАЛ and 출발 ("set off") mean on the way, not "left the site".
    "coming": {
        "en": ("COMING", "GOING", "OMW", "ON MY WAY"),
        "es": ("VOY", "VAMOS", "EN CAMINO", "VOY EN CAMINO"),
        "tl": ("PAPUNTA", "PAPUNTA NA", "PUPUNTA"),
        "ko": ("갑니다", "가요", "출발", "가는 중"),
        "zh-hans": ("我去", "我会去", "在路上"),
        "zh-hant": ("我會去", "在路上", "我去"),
        "vi": ("ĐANG ĐI", "TÔI ĐI", "ĐANG TỚI"),
        "hy": ("ԳԱԼԻՍ ԵՄ", "ԳԱԼԻՍ", "ԳՆՈՒՄ ԵՄ"),
        "fa": ("میام", "می‌آیم", "دارم میام"),
        "ar": ("قادم", "قادمة", "في الطريق"),
        "ru": ("ИДУ", "ЕДУ", "ВЫЕХАЛ", "ВЫЕХАЛА"),
        "km": ("មក", "កំពុងមក", "ខ្ញុំមក"),
        "ja": ("行きます", "向かいます", "向かってます"),
    },
    "arrived": {
        "en": ("ARRIVED", "HERE", "ON SITE"),
        "es": ("LLEGUÉ", "YA LLEGUÉ", "AQUÍ", "LLEGAMOS"),
        "tl": ("NANDITO", "NANDITO NA", "DUMATING NA"),
        "ko": ("도착", "도착했어요"),
        "zh-hans": ("到了", "已到", "到达"),
        "zh-hant": ("到達", "已到達", "到了"),
        "vi": ("ĐẾN", "ĐÃ ĐẾN", "ĐẾN RỒI"),
        "hy": ("ՀԱՍԱ", "ԵԿԱ"),
        "fa": ("رسیدم", "اومدم"),
        "ar": ("وصلت",),
        "ru": ("НА МЕСТЕ", "ПРИШЁЛ", "ПРИШЛА", "ПРИБЫЛ"),
        "km": ("មកដល់", "ដល់ហើយ"),
        "ja": ("着きました", "到着"),
    },
    "left": {
        "en": ("LEFT", "LEAVING"),
        "es": ("ME VOY", "YA ME VOY", "SALÍ"),
        "tl": ("UMALIS", "UMALIS NA", "AALIS NA"),
        "ko": ("떠남", "떠났어요", "퇴장"),
        "zh-hans": ("离开", "已离开", "走了"),
        "zh-hant": ("離開", "已離開", "走了"),
        "vi": ("ĐÃ VỀ", "VỀ RỒI", "ĐÃ RỜI"),
        "hy": ("ԳՆԱՑԻ", "ՀԵՌԱՑԱ"),
        "fa": ("رفتم",),
        "ar": ("غادرت", "مشيت"),
        "ru": ("УШЁЛ", "УШЛА", "УХОЖУ"),
        "km": ("ចេញ", "ចេញហើយ", "ទៅហើយ"),
        "ja": ("帰ります", "離れました", "撤収"),
    },
}

# The kinds only a responder asked by a call-out uses (mobilize reads them; from anyone else
# they are ordinary words).
CALLOUT_KINDS = ("coming", "arrived", "left")

# Marks dropped when folding: accents on Latin, Greek and Cyrillic letters and Arabic-script
# vowel signs and hamza ("Dừng" = "DUNG", "إلغاء" = "الغاء"). Marks that are part of a letter
# elsewhere (Khmer vowels, kana voicing) are kept.
_FOLDED_MARKS_BELOW = 0x0700
_LATIN_EXTENDED = range(0x1E00, 0x2000)
_VARIANTS = str.maketrans({"Đ": "D", "ي": "ی", "ى": "ی", "ك": "ک", "ة": "ه"})


def keyword_fold(text: str) -> str:
    """A keyword as compared: compatibility forms (full-width letters), case and accents folded."""
    out: list[str] = []
    base = 0
    for ch in unicodedata.normalize("NFKD", text or ""):
        if unicodedata.combining(ch):
            if base < _FOLDED_MARKS_BELOW or base in _LATIN_EXTENDED:
                continue
        else:
            base = ord(ch)
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out)).upper().translate(_VARIANTS)


def keyword_tokens(text: str) -> tuple[str, list[tuple[str, int]]]:
    """(the text in NFC, [(folded token, end offset)]): runs of letters (with their marks) and
    runs of digits; spaces and punctuation separate them, so "加入90033" is two tokens."""
    text = unicodedata.normalize("NFC", text or "")
    tokens: list[tuple[str, int]] = []
    start, kind = 0, ""
    for i, ch in enumerate(text + " "):
        category = unicodedata.category(ch)
        this = "n" if category == "Nd" else ("l" if category[0] in "LM" else "")
        if this == "l" and kind == "l" or this == "n" and kind == "n":
            continue
        if kind:
            tokens.append((keyword_fold(text[start:i]), i))
        start, kind = i, this
    return text, tokens


def sms_keywords(kind: str) -> dict[str, str]:
    """Folded keyword ("THAM GIA": tokens joined by a space) -> its language, for one kind."""
    table: dict[str, str] = {}
    for code, words in SMS_KEYWORDS[kind].items():
        for word in words:
            phrase = " ".join(token for token, _end in keyword_tokens(word)[1])
            table.setdefault(phrase, code)
    return table


def reply_word(kind: str, code: str) -> str:
    """The word a text in language ``code`` tells people to send for ``kind``: that language's
    first (English's for a language the table lacks)."""
    table = SMS_KEYWORDS[kind]
    return (table.get(code) or table["en"])[0]


def match_keyword(
    text: str, vocabulary: dict[str, str], *, max_words: int | None = 3
) -> tuple[str, str] | None:
    """(folded keyword, the text after it) when ``text`` opens with a keyword of
    ``vocabulary`` (``sms_keywords``' shape) and, with ``max_words``, has at most that many
    words (the keyword counting as one); else None."""
    nfc, tokens = keyword_tokens(text)
    folded = [token for token, _end in tokens]
    for size in (3, 2, 1):
        phrase = " ".join(folded[:size])
        if len(folded) < size or phrase not in vocabulary:
            continue
        if max_words is not None and len(folded) - size + 1 > max_words:
            return None
        rest = nfc[tokens[size - 1][1] :]
        while rest and unicodedata.category(rest[0])[0] not in "LMN":
            rest = rest[1:]  # spaces and punctuation between the keyword and what follows
        return phrase, rest
    return None
