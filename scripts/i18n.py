#!/usr/bin/env python3
"""Extract and compile Vecinos' translations.

Usage (from the repository root, with the project's virtualenv)::

    .venv/bin/python scripts/i18n.py extract   # refresh every vecinos/locale/*/LC_MESSAGES/*.po
    .venv/bin/python scripts/i18n.py compile   # write the .mo files next to the .po files
    .venv/bin/python scripts/i18n.py check     # exit 1 if any entry is untranslated/fuzzy
                                               # or a committed .mo is out of date

``extract`` runs ``manage.py makemessages -l es -l tl ... --no-obsolete --add-location file``
for the ``django`` domain (templates and Python), ignoring .venv, var, node_modules, tests, bench
and scripts, for Spanish and every language whose catalog ships (every
vecinos/locale/<locale>/LC_MESSAGES/django.po): a new string then appears untranslated in every
catalog, and tests/test_i18n_complete.py fails until each language has it. It also runs the
``djangojs`` domain for vecinos/static/js, but only when a file there calls
gettext()/ngettext()/interpolate() — today none does, so no djangojs catalog exists.
Extraction needs GNU gettext (xgettext, msgmerge): a developer tool, not needed to run Vecinos.

After ``extract``, translate every new or fuzzy entry (remove the ``#, fuzzy`` flag once the
translation is right), then run ``compile``. For the languages other than Spanish,
scripts/translations/README.md says how to hand the new strings to translators.

``compile`` turns every vecinos/locale/*/LC_MESSAGES/*.po (and vecinos/locale_django/..., Django's
own messages where Django lacks them) into a .mo with the pure-Python
``polib`` library (in the dev lock), so it works on machines without GNU gettext. The output is
deterministic: little-endian, entries sorted by their key bytes, no hash table; fuzzy and
obsolete entries and the header's POT-Creation-Date are left out (as msgfmt does), so
re-extracting alone does not change the .mo. A .mo is rewritten only when its bytes change:
compiling twice leaves the tree untouched. Commit both the .po and the .mo: fresh installs do
not compile anything.
"""

from __future__ import annotations

import os
import re
import struct
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCALE_DIR = ROOT / "vecinos" / "locale"
# Django's own messages in languages where Django's catalog has none or gaps (Tagalog...):
# written by scripts/translations/django_strings.py, compiled and checked like the others.
DJANGO_LOCALE_DIR = ROOT / "vecinos" / "locale_django"
LANGUAGES = ["es"]  # always extracted; English is the source language
IGNORE = [".venv", "var", "node_modules", "tests", "bench", "scripts"]
JS_DIR = ROOT / "vecinos" / "static" / "js"
# Everything under the tree except vecinos/static/js, for the djangojs domain.
JS_IGNORE = [*IGNORE, "vecinos/static/vendor", "vecinos/static/css", "vecinos/static/img"]
JS_GETTEXT = re.compile(r"\b(?:gettext|ngettext|pgettext|npgettext|interpolate)\s*\(")


def catalog_languages() -> list[str]:
    """Spanish and every locale with a shipped catalog (folder names: "zh_Hans")."""
    shipped = {po.parent.parent.name for po in LOCALE_DIR.glob("*/LC_MESSAGES/django.po")}
    return sorted(set(LANGUAGES) | shipped)


def js_has_strings() -> bool:
    return any(JS_GETTEXT.search(p.read_text("utf-8")) for p in JS_DIR.rglob("*.js"))


def _django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vecinos.settings")
    # Settings write generated secrets into the data dir; keep that out of the tree.
    os.environ.setdefault("VECINOS_DATA_DIR", str(Path(tempfile.gettempdir()) / "vecinos-i18n"))
    import django

    django.setup()


def extract() -> None:
    _django()
    from django.core.management import call_command

    os.chdir(ROOT)
    options = {
        "locale": catalog_languages(),
        "no_obsolete": True,
        "add_location": "file",
        "verbosity": 1,
    }
    call_command("makemessages", domain="django", ignore_patterns=IGNORE, **options)
    if js_has_strings():
        call_command("makemessages", domain="djangojs", ignore_patterns=JS_IGNORE, **options)
    else:
        print("vecinos/static/js has no gettext() calls: djangojs catalog not needed")


# --- compile ------------------------------------------------------------------------------


def catalog_pairs(po) -> list[tuple[bytes, bytes]]:
    """The (key, value) byte pairs a .mo holds for a parsed polib catalog, header first."""
    pairs: list[tuple[bytes, bytes]] = []
    for entry in po:
        if entry.obsolete or entry.fuzzy or not entry.translated():
            continue
        key = entry.msgid
        if entry.msgctxt is not None:
            key = entry.msgctxt + "\x04" + key
        if entry.msgid_plural:
            key += "\x00" + entry.msgid_plural
            value = "\x00".join(entry.msgstr_plural[i] for i in sorted(entry.msgstr_plural))
        else:
            value = entry.msgstr
        pairs.append((key.encode("utf-8"), value.encode("utf-8")))
    # Like msgfmt, leave out POT-Creation-Date: re-extracting alone does not change the .mo.
    header = "".join(
        f"{name}: {value}\n" for name, value in po.metadata.items() if name != "POT-Creation-Date"
    ).encode("utf-8")
    pairs.sort()
    return [(b"", header), *pairs]


def mo_bytes(po) -> bytes:
    """A GNU .mo file (revision 0, little-endian, no hash table)."""
    pairs = catalog_pairs(po)
    count = len(pairs)
    key_table = 28
    value_table = key_table + 8 * count
    data_start = value_table + 8 * count
    ids = b""
    strs = b""
    key_entries = []
    value_entries = []
    for key, _ in pairs:
        key_entries.append((len(key), data_start + len(ids)))
        ids += key + b"\0"
    strs_start = data_start + len(ids)
    for _, value in pairs:
        value_entries.append((len(value), strs_start + len(strs)))
        strs += value + b"\0"
    out = struct.pack("<7I", 0x950412DE, 0, count, key_table, value_table, 0, data_start)
    for length, offset in key_entries + value_entries:
        out += struct.pack("<2I", length, offset)
    return out + ids + strs


def catalogs() -> list[Path]:
    return sorted(LOCALE_DIR.glob("*/LC_MESSAGES/*.po")) + sorted(
        DJANGO_LOCALE_DIR.glob("*/LC_MESSAGES/*.po")
    )


def compile_all() -> int:
    import polib

    written = 0
    for po_path in catalogs():
        po = polib.pofile(str(po_path))
        problems = [e.msgid for e in po if not e.obsolete and (e.fuzzy or not e.translated())]
        if problems:
            print(
                f"warning: {po_path.relative_to(ROOT)}: {len(problems)} untranslated/fuzzy "
                "entries (left out of the .mo)"
            )
        data = mo_bytes(po)
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.read_bytes() == data:
            print(f"{mo_path.relative_to(ROOT)} up to date")
            continue
        tmp = mo_path.with_suffix(".mo.tmp")
        tmp.write_bytes(data)
        tmp.replace(mo_path)
        written += 1
        print(f"wrote {mo_path.relative_to(ROOT)} ({len(data)} bytes)")
    return written


def check() -> int:
    import polib

    status = 0
    for po_path in catalogs():
        po = polib.pofile(str(po_path))
        for entry in po:
            if not entry.obsolete and (entry.fuzzy or not entry.translated()):
                print(f"{po_path.relative_to(ROOT)}: needs translation: {entry.msgid!r}")
                status = 1
        mo_path = po_path.with_suffix(".mo")
        if not mo_path.exists() or mo_path.read_bytes() != mo_bytes(po):
            print(f"{mo_path.relative_to(ROOT)} is out of date: run scripts/i18n.py compile")
            status = 1
    return status


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in {"extract", "compile", "check"}:
        print(__doc__)
        return 2
    if argv[0] == "extract":
        extract()
        return 0
    if argv[0] == "compile":
        compile_all()
        return 0
    return check()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
