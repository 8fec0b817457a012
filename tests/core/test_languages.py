"""The language registry: one list drives the switcher, people's choices, direction, SMS cost."""

from __future__ import annotations

from django.conf import settings

from vecinos.core import languages
from vecinos.network.models import LANGUAGE_CODES

SHIPPED = {"en", "es", "tl", "ko", "zh-hans", "zh-hant", "vi", "hy", "fa", "ar", "ru", "km", "ja"}
SPOKEN_ONLY = {"mix", "zap", "quc", "kjb", "mam", "tsz"}


def test_registry_has_the_shipped_and_the_spoken_only_languages():
    assert {lang.code for lang in languages.written_languages()} == SHIPPED
    spoken = {lang.code for lang in languages.LANGUAGES if not lang.written}
    assert spoken == SPOKEN_ONLY
    assert LANGUAGE_CODES == SHIPPED | SPOKEN_ONLY


def test_switcher_offers_only_languages_with_a_catalog():
    codes = [code for code, _name in settings.LANGUAGES]
    assert codes[:2] == ["en", "es"]
    for code in codes:
        lang = languages.get(code)
        assert lang is not None and (code == "en" or languages.has_catalog(lang))


def test_direction_and_voices():
    assert languages.is_rtl("ar") and languages.is_rtl("fa") and not languages.is_rtl("ko")
    assert languages.get("ko").tts_voice == "Polly.Seoyeon"
    assert languages.get("km").tts_voice == ""  # no voice: calls play a recording
    assert languages.get("zh").code == "zh-hans"  # the old code


def test_sms_segments_follow_the_encoding():
    assert languages.sms_encoding_of("Hola, ñ and é") == "gsm7"
    assert languages.sms_encoding_of("Sí, está aquí") == "ucs2"  # í is not GSM-7
    assert languages.sms_segments("a" * 160) == 1
    assert languages.sms_segments("a" * 161) == 2
    assert languages.sms_segments("€" * 80) == 1  # extension characters count twice
    assert languages.sms_segments("€" * 81) == 2
    assert languages.sms_segments("권" * 70) == 1
    assert languages.sms_segments("권" * 71) == 2


def test_normalize_folds_unknown_and_regional_codes():
    assert languages.normalize("ES-mx") == "es"
    assert languages.normalize("xx", "en") == "en"
    assert languages.normalize("<script>", "en") == "en"


def test_a_language_is_named_in_itself_then_in_the_page_language_once():
    """Outside walk, session 17: a Spanish page listed "Español (Español)" and "Inglés"."""
    from django.utils import translation

    english, spanish = languages.get("en"), languages.get("es")
    with translation.override("es"):
        assert str(languages.label(spanish)) == "Español"
        assert str(languages.label(english)) == "English (Inglés)"
        # Our catalog writes "armenio" (for the voice menu's sentences), Django's "Coreano":
        # as labels, both capitalized (outside walk, session 17).
        assert str(languages.label(languages.get("hy"))) == "Հայերեն (Armenio)"
        assert str(languages.label(languages.get("ko"))) == "한국어 (Coreano)"
    with translation.override("en"):
        assert str(languages.label(spanish)) == "Español (Spanish)"
        assert str(languages.label(english)) == "English"
