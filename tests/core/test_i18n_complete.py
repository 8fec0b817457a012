"""Every shipped language is complete: never a language half in English.

A catalog under vecinos/locale/<locale>/LC_MESSAGES/django.po enables its language in the
switcher (core.languages.ui_languages), so each one must hold every msgid of the Spanish catalog
(the up-to-date list: tests/test_i18n.py checks it against the source), translated, not fuzzy,
not left in English, with the same placeholders and markup and the language's number of plural
forms.

Fixing a failure here: a new string was added. `scripts/i18n.py extract` already put it,
untranslated, into every catalog; scripts/translations/README.md says how to export it for the
translators and write the catalogs back, then `scripts/i18n.py compile`.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from collections import Counter
from pathlib import Path

import polib
import pytest
from django.test import override_settings
from django.utils import translation

from vecinos.core import languages

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "vecinos" / "locale"
REFERENCE = LOCALE / "es" / "LC_MESSAGES" / "django.po"

# gettext plural counts (CLDR): Arabic 6, Russian 3, East Asian languages and Vietnamese 1.
NPLURALS = {
    "es": 2, "tl": 2, "hy": 2, "fa": 2, "ru": 3, "ar": 6,
    "ko": 1, "ja": 1, "zh_Hans": 1, "zh_Hant": 1, "vi": 1, "km": 1,
}  # fmt: skip

# Texts a translation may leave exactly as in English, in every language, and why.
SAME_EVERYWHERE = {
    # The project's and a messaging app's names.
    "Vecinos", "Signal",
    # Acronyms people know by these letters (US agencies, technical terms).
    "ICE / ERO", "HSI", "API", "SMS", "OK",
    # Metric distances are written the same.
    "500 m", "1 km", "2 km", "3 km", "5 km", "%(km)s km",
    # Indigenous languages' own names (endonyms), kept as the Spanish catalog keeps them.
    "K'iche'", "Q'anjob'al", "Mam", "Purépecha", "Mixteco",
}  # fmt: skip
# ...and in one language only.
SAME_IN = {
    "es": {"Roles", "error", "no"},  # Spanish words spelled like the English ones
    # Its own name and the Khmer language's; "hotline" is the word the tl catalog uses throughout.
    "tl": {"Tagalog", "Khmer", "Hotline:"},
    "vi": {"Email", "email"},  # Vietnamese writes "email" as is
}

# The same patterns as tests/test_i18n.py: %(name)s / %s / {name}; "%%" is a literal percent.
# ASCII names only: "{波かっこ}" is the Japanese for the "{curly braces}" a hint talks about.
PLACEHOLDER = re.compile(
    r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]"
    r"|%[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]"
    r"|\{\w*(?:![rsa])?(?::[^{}]*)?\}",
    re.ASCII,
)
TAG = re.compile(r"</?([a-zA-Z][a-zA-Z0-9]*)\b")


def placeholders(text: str) -> Counter:
    return Counter(PLACEHOLDER.findall(text.replace("%%", "")))


def tag_names(text: str) -> Counter:
    return Counter(TAG.findall(text))


def shipped_locales() -> list[str]:
    return sorted(path.parent.parent.name for path in LOCALE.glob("*/LC_MESSAGES/django.po"))


def key(entry: polib.POEntry) -> tuple[str, str]:
    return (entry.msgctxt or "", entry.msgid)


def live(po: polib.POFile) -> list[polib.POEntry]:
    return [entry for entry in po if not entry.obsolete]


def catalog_problems(path: Path, locale: str, reference: polib.POFile) -> list[str]:
    """Everything that keeps the catalog at ``path`` from being complete, one line each."""
    po = polib.pofile(str(path))
    problems: list[str] = []
    want_plurals = NPLURALS.get(locale)
    header = po.metadata.get("Plural-Forms", "")
    match = re.search(r"nplurals\s*=\s*(\d+)", header)
    if want_plurals is None:
        problems.append(f"{locale}: add the language's plural count to NPLURALS")
    elif not match or int(match.group(1)) != want_plurals:
        problems.append(f"header Plural-Forms {header!r}: {locale} has {want_plurals} forms")
    same_ok = SAME_EVERYWHERE | SAME_IN.get(locale, set())
    entries = {key(entry): entry for entry in live(po)}
    for ref in live(reference):
        entry = entries.get(key(ref))
        name = repr(ref.msgid[:70])
        if entry is None:
            problems.append(f"missing: {name}")
            continue
        if entry.fuzzy:
            problems.append(f"fuzzy: {name}")
        if (entry.msgid_plural or None) != (ref.msgid_plural or None):
            problems.append(f"plural msgid differs from the Spanish catalog's: {name}")
            continue
        if entry.msgid_plural:
            forms = [entry.msgstr_plural[i] for i in sorted(entry.msgstr_plural)]
            if sorted(entry.msgstr_plural) != list(range(want_plurals or 0)):
                problems.append(f"{len(forms)} plural forms, not {want_plurals}: {name}")
            wanted = placeholders(entry.msgid_plural)
            for text in forms:
                have = placeholders(text)
                # A singular or dual form may spell the count out ("one minute"), no more.
                if have - wanted or sum((wanted - have).values()) > 1:
                    problems.append(f"placeholders {sorted(have)} != {sorted(wanted)}: {name}")
        else:
            forms = [entry.msgstr]
            if placeholders(entry.msgstr) != placeholders(entry.msgid):
                problems.append(
                    f"placeholders {sorted(placeholders(entry.msgstr))} != "
                    f"{sorted(placeholders(entry.msgid))}: {name}"
                )
        for text in forms:
            if not text.strip():
                problems.append(f"untranslated: {name}")
            elif text in (entry.msgid, entry.msgid_plural) and entry.msgid not in same_ok:
                problems.append(f"left in English: {name}")
            elif tag_names(text) != tag_names(entry.msgid):
                problems.append(f"HTML markup differs: {name}")
    known = {key(ref) for ref in live(reference)}
    problems += [f"not in the Spanish catalog: {k[1][:70]!r}" for k in entries if k not in known]
    return problems


@pytest.fixture(scope="module")
def reference() -> polib.POFile:
    return polib.pofile(str(REFERENCE))


def test_the_twelve_languages_catalogs_ship():
    """A catalog deleted by mistake would silently drop its language from the switcher."""
    assert {"es", "tl", "vi", "ru", "hy", "ko", "ja", "ar", "fa", "km"} <= set(shipped_locales())


@pytest.mark.parametrize("locale", shipped_locales())
def test_catalog_is_complete(locale, reference):
    path = LOCALE / locale / "LC_MESSAGES" / "django.po"
    problems = catalog_problems(path, locale, reference)
    assert not problems, f"{path.relative_to(ROOT)}: {len(problems)} problems\n" + "\n".join(
        problems[:60]
    )


def test_completeness_check_fails_on_a_missing_or_broken_entry(tmp_path, reference):
    """The check above can fail: a real catalog with one entry removed and others broken."""
    po = polib.pofile(str(LOCALE / "tl" / "LC_MESSAGES" / "django.po"))
    assert not catalog_problems(Path(po.fpath), "tl", reference)
    by_id = {entry.msgid: entry for entry in po}
    po.remove(by_id["Sign in"])
    by_id["Sign out"].flags.append("fuzzy")
    by_id["Unknown zones: %(slugs)s"].msgstr = "Hindi kilalang mga zone"
    by_id["Alerts"].msgstr = "Alerts"
    plural = next(entry for entry in po if entry.msgid_plural)
    del plural.msgstr_plural[1]
    broken = tmp_path / "django.po"
    po.save(str(broken))
    problems = "\n".join(catalog_problems(broken, "tl", reference))
    assert "missing: 'Sign in'" in problems
    assert "fuzzy: 'Sign out'" in problems
    assert "placeholders [] != ['%(slugs)s']: 'Unknown zones: %(slugs)s'" in problems
    assert "left in English: 'Alerts'" in problems
    assert f"1 plural forms, not 2: {plural.msgid[:70]!r}" in problems


def test_switcher_offers_every_shipped_catalog():
    codes = {code for code, _ in languages.ui_languages()}
    expected = {"en"}
    for locale in shipped_locales():
        lang = next(lang for lang in languages.LANGUAGES if lang.locale == locale)
        expected.add(lang.code)
    assert codes == expected


@pytest.mark.parametrize("locale", shipped_locales())
def test_compiled_catalog_is_served(locale):
    """The committed .mo is what Django serves: a singular and a plural string, by count."""
    po = polib.pofile(str(LOCALE / locale / "LC_MESSAGES" / "django.po"))
    lang = next(lang for lang in languages.LANGUAGES if lang.locale == locale)
    by_id = {entry.msgid: entry for entry in live(po)}
    plural = by_id["%(counter)s member"]
    with translation.override(lang.code):
        assert translation.gettext("Sign in") == by_id["Sign in"].msgstr != "Sign in"
        many = translation.ngettext("%(counter)s member", "%(counter)s members", 5)
        assert many in plural.msgstr_plural.values()
        assert many != "%(counter)s members"


def _load_i18n_script():
    spec = importlib.util.spec_from_file_location("vecinos_i18n_all", ROOT / "scripts" / "i18n.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(shutil.which("msgmerge") is None, reason="GNU gettext not installed")
def test_extract_adds_a_new_string_to_every_catalog(tmp_path, monkeypatch, reference):
    """scripts/i18n.py extract refreshes every shipped catalog, not only Spanish: a new string
    then shows up untranslated everywhere and the completeness check names it."""
    script = _load_i18n_script()
    copy = tmp_path / "vecinos"
    shutil.copytree(
        ROOT / "vecinos",
        copy,
        ignore=shutil.ignore_patterns("vendor", "__pycache__", "*.pyc", "*.mo", "img", "css"),
    )
    new = "Quartz xylophone: a string added after the translators finished"
    (copy / "templates" / "zz_new.html").write_text(
        '{% load i18n %}<p>{% translate "' + new + '" %}</p>\n', encoding="utf-8"
    )
    monkeypatch.setattr(script, "ROOT", tmp_path)
    monkeypatch.setattr(script, "LOCALE_DIR", copy / "locale")
    monkeypatch.setattr(script, "JS_DIR", copy / "static" / "js")
    with override_settings(LOCALE_PATHS=[copy / "locale"]):
        script.extract()
    fresh_reference = polib.pofile(str(copy / "locale" / "es" / "LC_MESSAGES" / "django.po"))
    assert fresh_reference.find(new) is not None
    for locale in shipped_locales():
        path = copy / "locale" / locale / "LC_MESSAGES" / "django.po"
        entry = polib.pofile(str(path)).find(new)
        assert entry is not None and not entry.translated(), locale
        problems = catalog_problems(path, locale, fresh_reference)
        assert problems == [f"untranslated: {new!r}"], (locale, problems[:5])


# --- "needs review by a native speaker" ------------------------------------------------------

NOTICE = "This translation needs review by a native speaker."


def test_only_the_source_language_counts_as_reviewed():
    assert not languages.needs_review("en")
    assert languages.needs_review("es")  # written by the team too
    for locale in shipped_locales():
        lang = next(lang for lang in languages.LANGUAGES if lang.locale == locale)
        assert languages.needs_review(lang.code), lang.code
    assert not languages.needs_review("mix")  # spoken only: no catalog, no interface
    assert not languages.needs_review("xx")


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["tl", "ar", "es"])
def test_unreviewed_language_says_so_in_that_language(client, settings, code):
    lang = languages.get(code)
    po = polib.pofile(str(LOCALE / lang.locale / "LC_MESSAGES" / "django.po"))
    notice = po.find(NOTICE).msgstr
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = code
    body = client.get("/report/").content.decode()
    assert f'lang="{code}"' in body
    assert f'<p class="translation-notice">{notice}</p>' in body
    assert NOTICE not in body


@pytest.mark.django_db
def test_no_notice_in_english_or_once_reviewed(client, settings, monkeypatch):
    body = client.get("/report/").content.decode()
    assert 'lang="en"' in body and "translation-notice" not in body
    # A coordinator marks Tagalog reviewed: the notice goes away.
    import dataclasses

    reviewed = dataclasses.replace(languages.BY_CODE["tl"], reviewed=True)
    monkeypatch.setitem(languages.BY_CODE, "tl", reviewed)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "tl"
    body = client.get("/report/").content.decode()
    assert 'lang="tl"' in body and "translation-notice" not in body


@pytest.mark.django_db
def test_public_pages_render_in_every_shipped_language(client, settings):
    """Django itself knows no Tagalog ("language_name_local" raised KeyError for tl): every
    public page opens in every language the switcher offers."""
    from django.urls import reverse

    pages = ["home", "report_form", "rumors", "public_map", "subscribe", "rights_index", "login"]
    broken = []
    for code, _name in languages.ui_languages():
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = code
        for name in pages:
            response = client.get(reverse(name))
            if response.status_code != 200 or f'lang="{code}"' not in response.content.decode():
                broken.append((code, name, response.status_code))
    assert not broken, broken


# --- Django's own messages (form errors, month and day names, durations) ---------------------


def _django_strings():
    path = ROOT / "scripts" / "translations" / "django_strings.py"
    spec = importlib.util.spec_from_file_location("vecinos_django_strings", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.STRINGS


# Written the same as in English in some languages: units, and AM/PM as clocks show them.
DJANGO_SAME = {"%s KB", "%s MB", "%s GB", "AM", "PM", "a.m.", "p.m.", "%(size)d byte"}
# ...and in one language: Spanish "No", and month abbreviations that are spelled alike.
DJANGO_SAME_IN = {
    "es": {"No", "feb", "mar", "may", "jun", "jul", "sep", "oct", "nov", "Feb."},
    "tl": {"mar", "may"},
}


@pytest.mark.parametrize("locale", shipped_locales())
def test_djangos_own_messages_are_translated(locale):
    """Django ships no Tagalog and has gaps in Khmer, Vietnamese and Armenian: the messages its
    forms and date filters show come from vecinos/locale_django there."""
    lang = next(lang for lang in languages.LANGUAGES if lang.locale == locale)
    same_ok = DJANGO_SAME | DJANGO_SAME_IN.get(locale, set())
    english = []
    with translation.override(lang.code):
        for context, msgid, plural in _django_strings():
            if plural:
                text = (
                    translation.npgettext(context, msgid, plural, 5)
                    if context
                    else (translation.ngettext(msgid, plural, 5))
                )
            elif context:
                text = translation.pgettext(context, msgid)
            else:
                text = translation.gettext(msgid)
            if text in (msgid, plural) and msgid not in same_ok:
                english.append(f"{context}|{msgid}" if context else msgid)
    assert not english, (
        f"{locale}: Django says these in English; translate them in "
        f"scripts/translations/django/{locale}.json and run django_strings.py:\n"
        + "\n".join(english)
    )


@pytest.mark.django_db
def test_form_errors_come_out_in_tagalog(client, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "tl"
    body = client.post("/report/", {"activity": "zzz"}).content.decode()
    assert "Pumili ng wastong opsyon. Wala ang zzz sa mga pagpipilian." in body
    assert "Select a valid choice" not in body
