"""Spanish translations: complete, placeholder-safe, compiled, and actually served.

Fixing a failure here:
  * untranslated / fuzzy / out-of-date .mo:  .venv/bin/python scripts/i18n.py extract, translate,
    then .venv/bin/python scripts/i18n.py compile (no GNU gettext needed for compile).
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from collections import Counter
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from django.utils import translation

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "vecinos" / "locale"
PO_PATH = LOCALE / "es" / "LC_MESSAGES" / "django.po"
MO_PATH = PO_PATH.with_suffix(".mo")


def _load_script():
    spec = importlib.util.spec_from_file_location(
        "vecinos_i18n_script", ROOT / "scripts" / "i18n.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


i18n_script = _load_script()


@pytest.fixture(scope="module")
def po() -> polib.POFile:
    return polib.pofile(str(PO_PATH))


def live(po: polib.POFile) -> list[polib.POEntry]:
    return [e for e in po if not e.obsolete]


def label(entry: polib.POEntry) -> str:
    where = ", ".join(sorted({o[0] for o in entry.occurrences}))
    return f"{entry.msgid!r} ({where})"


# --- (a) complete, not fuzzy, placeholders kept ---------------------------------------------

# %(name)s / %(n)d, positional %s / %d, str.format {name} / {}; "%%" is a literal percent.
PLACEHOLDER = re.compile(
    r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]"
    r"|%[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]"
    r"|\{\w*(?:![rsa])?(?::[^{}]*)?\}"
)
TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*\b[^>]*>")


def placeholders(text: str) -> Counter:
    return Counter(PLACEHOLDER.findall(text.replace("%%", "")))


def tags(text: str) -> Counter:
    return Counter(TAG.findall(text))


def test_catalog_header(po):
    assert po.metadata.get("Language") == "es"
    assert po.metadata.get("Plural-Forms") == "nplurals=2; plural=(n != 1);"
    assert "charset=UTF-8" in po.metadata.get("Content-Type", "")
    assert not po.metadata_is_fuzzy, "remove '#, fuzzy' from the header entry"


def test_every_entry_translated_and_not_fuzzy(po):
    fuzzy = [label(e) for e in live(po) if e.fuzzy]
    untranslated = [label(e) for e in live(po) if not e.fuzzy and not e.translated()]
    assert not fuzzy, "fuzzy entries (check the translation, then drop the flag):\n" + "\n".join(
        fuzzy
    )
    assert not untranslated, "untranslated entries:\n" + "\n".join(untranslated)
    assert len(live(po)) > 100


def test_placeholders_and_markup_match(po):
    problems = []
    for entry in live(po):
        if entry.msgid_plural:
            pairs = [
                (entry.msgid if index == 0 else entry.msgid_plural, text)
                for index, text in sorted(entry.msgstr_plural.items())
            ]
            if sorted(entry.msgstr_plural) != [0, 1]:
                problems.append(f"{label(entry)}: needs exactly 2 plural forms")
        else:
            pairs = [(entry.msgid, entry.msgstr)]
        for source, text in pairs:
            if not text:
                continue
            if placeholders(source) != placeholders(text):
                problems.append(
                    f"{label(entry)}: placeholders {sorted(placeholders(source).elements())} "
                    f"!= {sorted(placeholders(text).elements())} in {text!r}"
                )
            if tags(source) != tags(text):
                problems.append(f"{label(entry)}: HTML markup differs in {text!r}")
    assert not problems, "\n".join(problems)


def test_know_your_rights_wording(po):
    by_id = {e.msgid: e.msgstr for e in live(po)}
    expected = {
        "You have the right to remain silent.": "Tiene derecho a guardar silencio.",
        "Do not sign anything without talking to a lawyer.": (
            "No firme nada sin hablar con un abogado."
        ),
    }
    for msgid, msgstr in expected.items():
        if msgid in by_id:
            assert by_id[msgid] == msgstr


# --- (b) the committed .mo is the compiled .po ----------------------------------------------


def _po_catalog(po: polib.POFile) -> dict:
    catalog = {}
    for entry in po:
        if entry.obsolete or entry.fuzzy or not entry.translated():
            continue
        key = (entry.msgctxt, entry.msgid, entry.msgid_plural or None)
        if entry.msgid_plural:
            catalog[key] = tuple(entry.msgstr_plural[i] for i in sorted(entry.msgstr_plural))
        else:
            catalog[key] = entry.msgstr
    return catalog


def test_committed_mo_matches_po(po):
    assert MO_PATH.exists(), "run: .venv/bin/python scripts/i18n.py compile"
    mo = polib.mofile(str(MO_PATH))
    committed = {}
    for entry in mo:
        if entry.msgid == "" and not entry.msgctxt:
            continue
        key = (entry.msgctxt, entry.msgid, entry.msgid_plural or None)
        if entry.msgid_plural:
            committed[key] = tuple(entry.msgstr_plural[i] for i in sorted(entry.msgstr_plural))
        else:
            committed[key] = entry.msgstr
    expected = _po_catalog(po)
    stale = sorted(k[1] for k in expected if committed.get(k) != expected[k])
    extra = sorted(k[1] for k in committed if k not in expected)
    assert not stale and not extra, (
        "django.mo is out of date; run: .venv/bin/python scripts/i18n.py compile\n"
        f"changed/missing in .mo: {stale[:10]}\nonly in .mo: {extra[:10]}"
    )
    assert mo.metadata.get("Plural-Forms") == po.metadata.get("Plural-Forms")


def test_compiler_is_deterministic_and_readable(po):
    import gettext
    import io

    data = i18n_script.mo_bytes(po)
    assert data == i18n_script.mo_bytes(polib.pofile(str(PO_PATH)))
    parsed = gettext.GNUTranslations(io.BytesIO(data))
    for (ctx, msgid, plural), value in _po_catalog(po).items():
        if ctx:
            continue
        if plural:
            assert parsed.ngettext(msgid, plural, 1) == value[0]
            assert parsed.ngettext(msgid, plural, 5) == value[1]
        else:
            assert parsed.gettext(msgid) == value


# --- (c), (d) pages come out in Spanish -----------------------------------------------------


def spanish(po: polib.POFile, msgid: str) -> str:
    text = next(e.msgstr for e in live(po) if e.msgid == msgid and not e.msgid_plural)
    assert text and text != msgid
    return text


@pytest.mark.django_db
def test_signin_in_english_by_default(client):
    response = client.get("/signin/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'lang="en"' in body
    assert "Sign in" in body


@pytest.mark.django_db
def test_signin_in_spanish_from_accept_language(client, po):
    response = client.get("/signin/", HTTP_ACCEPT_LANGUAGE="es-MX,es;q=0.9,en;q=0.5")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'lang="es"' in body
    assert spanish(po, "Sign in") in body
    assert spanish(po, "Skip to content") in body
    assert "Iniciar sesión" in body


@pytest.mark.django_db
def test_signin_in_spanish_from_language_cookie(client, po):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    body = client.get("/signin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'lang="es"' in body
    assert spanish(po, "Sign in") in body


@pytest.mark.django_db
def test_language_switcher_sets_spanish(client, po):
    response = client.post("/i18n/setlang/", {"language": "es", "next": "/signin/"})
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "es"
    body = client.get("/signin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'lang="es"' in body
    assert spanish(po, "Sign in") in body
    # ...and back to English.
    client.post("/i18n/setlang/", {"language": "en", "next": "/signin/"})
    body = client.get("/signin/").content.decode()
    assert 'lang="en"' in body
    assert "Sign in" in body


def test_python_strings_translate(po):
    with translation.override("es"):
        assert translation.gettext("Sign out") == spanish(po, "Sign out")
        assert (
            translation.ngettext("%(counter)s member", "%(counter)s members", 1) % {"counter": 1}
            == "1 integrante"
        )
        assert (
            translation.ngettext("%(counter)s member", "%(counter)s members", 3) % {"counter": 3}
            == "3 integrantes"
        )


# Capitalised words in Spanish text that are not SMS keywords.
NOT_KEYWORDS = {
    "SMS", "ICE", "ERO", "HSI", "CBP", "CAP", "CSV", "API", "QR", "MB", "JPEG", "PNG", "GIF",
    "ZIP", "OTP", "URL",
}  # fmt: skip


def _keyword_sets():
    """Every word the inbound SMS handlers accept, and accepted two-word phrases."""
    import importlib

    singles: set[str] = set()
    pairs: set[tuple[str, str]] = set()
    sources = {
        "vecinos.reports.sms_flow": ("START_ES", "START_EN", "CANCEL_WORDS", "RESERVED"),
        "vecinos.reports.inbound": ("ACCEPT", "DECLINE", "OUTCOME_WORDS"),
        "vecinos.alerts.inbound": (
            "STOP_WORDS", "START_WORDS", "HELP_WORDS", "JOIN_WORDS", "LANGUAGE_WORDS",
            "CONFIRM_WORDS", "ACK_WORDS",
        ),
        "vecinos.mobilize.inbound": ("COMING", "DECLINED", "ARRIVED", "LEFT"),
        "vecinos.mobilize.events": ("CANCEL_WORDS",),
    }  # fmt: skip
    for module_name, names in sources.items():
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        for name in names:
            singles |= set(getattr(module, name, ()))
        pairs |= set(getattr(module, "OUTCOME_PAIRS", {}))
    return singles, pairs


def test_sms_keywords_in_spanish_text_are_understood(po):
    """Spanish text that says 'reply X' / 'text X' must name a word the SMS handlers accept."""
    from vecinos.messaging.inbound import fold

    singles, pairs = _keyword_sets()
    if not singles:
        pytest.skip("no SMS keyword sets found")
    command = re.compile(r"\b(?:reply|text)\b", re.IGNORECASE)
    problems = []
    for entry in live(po):
        texts = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        if not command.search(entry.msgid):
            continue
        for text in texts:
            folded = [fold(w) for w in re.findall(r"\b[A-ZÁÉÍÓÚÑ]{2,}\b", text)]
            for i, word in enumerate(folded):
                in_pair = (i + 1 < len(folded) and (word, folded[i + 1]) in pairs) or (
                    i > 0 and (folded[i - 1], word) in pairs
                )
                if word not in singles and word not in NOT_KEYWORDS and not in_pair:
                    problems.append(f"{word!r} in {text!r}")
    assert not problems, "keywords the SMS handlers do not accept:\n" + "\n".join(problems)


REPLY_PLACEHOLDERS = re.compile(r"%\((coming|arrived|left|no)\)s")


@pytest.mark.parametrize(
    "catalog", sorted(LOCALE.glob("*/LC_MESSAGES/django.po")), ids=lambda p: p.parts[-3]
)
def test_call_out_texts_name_reply_words_only_by_placeholder(catalog):
    """Texts that tell a responder what to reply take the words from the keyword table
    (%(coming)s, %(arrived)s, %(left)s, %(no)s: core.languages.SMS_KEYWORDS, the parser's own
    table), in every catalog: none writes a word out, so no Korean text says LLEGUE."""
    from vecinos.core import languages
    from vecinos.messaging.inbound import fold

    spanish = {
        fold(w) for kind in languages.CALLOUT_KINDS for w in languages.SMS_KEYWORDS[kind]["es"]
    }
    entries = [e for e in live(polib.pofile(str(catalog))) if REPLY_PLACEHOLDERS.search(e.msgid)]
    assert len(entries) >= 3  # the ask, "coming" and "checked in"
    for entry in entries:
        wanted = Counter(REPLY_PLACEHOLDERS.findall(entry.msgid))
        assert Counter(REPLY_PLACEHOLDERS.findall(entry.msgstr)) == wanted, entry.msgstr
        written_out = {fold(w) for w in re.findall(r"[A-ZÁÉÍÓÚÑ]{2,}(?: [A-Z]{2,})?", entry.msgstr)}
        assert not written_out & spanish, entry.msgstr


# --- (e) nothing extracted from the source is missing from the catalog -----------------------


def _key(entry: polib.POEntry) -> tuple:
    return (entry.msgctxt, entry.msgid, entry.msgid_plural or None)


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="GNU gettext (xgettext) not installed")
def test_catalog_has_every_source_string(tmp_path, monkeypatch, po):
    """Re-extract from a copy of the source and compare: fails when someone adds a string."""
    source = ROOT / "vecinos"
    copy = tmp_path / "vecinos"
    shutil.copytree(
        source,
        copy,
        ignore=shutil.ignore_patterns("locale", "vendor", "__pycache__", "*.pyc", "img", "css"),
    )
    monkeypatch.chdir(tmp_path)
    with override_settings(LOCALE_PATHS=[copy / "locale"]):
        call_command(
            "makemessages",
            locale=["es"],
            domain="django",
            ignore_patterns=i18n_script.IGNORE,
            no_obsolete=True,
            add_location="file",
            verbosity=0,
        )
    fresh = polib.pofile(str(copy / "locale" / "es" / "LC_MESSAGES" / "django.po"))
    committed = {_key(e) for e in live(po)}
    missing = sorted(
        f"{e.msgid!r} ({', '.join(sorted({o[0] for o in e.occurrences}))})"
        for e in live(fresh)
        if _key(e) not in committed
    )
    assert not missing, (
        "strings in the source but not in vecinos/locale/es/LC_MESSAGES/django.po; run "
        ".venv/bin/python scripts/i18n.py extract, translate them, then compile:\n"
        + "\n".join(missing)
    )


def test_js_catalog_present_when_js_uses_gettext():
    if i18n_script.js_has_strings():
        assert (LOCALE / "es" / "LC_MESSAGES" / "djangojs.po").exists(), (
            "vecinos/static/js calls gettext(): run scripts/i18n.py extract and translate "
            "djangojs.po"
        )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "lang,question", [("ar", "؟"), ("fa", "؟"), ("ja", "？"), ("zh-hans", "？")]
)
def test_a_label_ending_in_its_languages_question_mark_gets_no_colon(client, lang, question):
    """Outside walk, session 17: "كيف نتواصل معك؟:" and "どの方法でご連絡しましょうか？:"."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
    body = client.get("/subscribe/").content.decode()
    labels = re.findall(r"<(?:label|legend)[^>]*>([^<]*)</(?:label|legend)>", body)
    asked = [label for label in labels if question in label]
    assert asked, labels
    assert all(label.rstrip().endswith(question) for label in asked), asked
