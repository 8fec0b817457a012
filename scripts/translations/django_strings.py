"""Django's own messages that Vecinos shows (form validation, dates, durations), for the
languages whose Django catalog lacks them: Django ships no Tagalog at all, and its Khmer,
Vietnamese and Armenian catalogs have gaps. Without these, a Tagalog page would say "This field
is required." and "Dec. 3" in English.

usage: django_strings.py LOCALE   (from the repository root)
Reads scripts/translations/django/LOCALE.json ({"msgid" or "context|msgid": text or [forms]})
and writes vecinos/locale_django/LOCALE/LC_MESSAGES/django.po (settings.LOCALE_PATHS loads it
after vecinos/locale and before Django's own catalogs); then run scripts/i18n.py compile."""

import json
import os
import sys

import polib

sys.path.insert(0, os.path.dirname(__file__))
from build import PLURALS, problems_of  # noqa: E402

# (context, msgid, msgid_plural): what forms, validators and the |date, |timesince filters say.
STRINGS: list[tuple[str, str, str]] = [
    ("", "Enter a valid value.", ""),
    ("", "Enter a valid URL.", ""),
    ("", "Enter a valid integer.", ""),
    ("", "Enter a valid email address.", ""),
    ("", "Ensure this value is %(limit_value)s (it is %(show_value)s).", ""),
    ("", "Ensure this value is less than or equal to %(limit_value)s.", ""),
    ("", "Ensure this value is greater than or equal to %(limit_value)s.", ""),
    ("", "Ensure this value is a multiple of step size %(limit_value)s.", ""),
    (
        "",
        "Ensure this value has at least %(limit_value)d character (it has %(show_value)d).",
        "Ensure this value has at least %(limit_value)d characters (it has %(show_value)d).",
    ),
    (
        "",
        "Ensure this value has at most %(limit_value)d character (it has %(show_value)d).",
        "Ensure this value has at most %(limit_value)d characters (it has %(show_value)d).",
    ),
    ("", "Enter a number.", ""),
    (
        "",
        "Ensure that there are no more than %(max)s digit in total.",
        "Ensure that there are no more than %(max)s digits in total.",
    ),
    (
        "",
        "Ensure that there are no more than %(max)s decimal place.",
        "Ensure that there are no more than %(max)s decimal places.",
    ),
    (
        "",
        "Ensure that there are no more than %(max)s digit before the decimal point.",
        "Ensure that there are no more than %(max)s digits before the decimal point.",
    ),
    ("", "Null characters are not allowed.", ""),
    ("", "This field is required.", ""),
    ("", "Enter a whole number.", ""),
    ("", "Enter a valid date.", ""),
    ("", "Enter a valid time.", ""),
    ("", "Enter a valid date/time.", ""),
    ("", "Enter a valid duration.", ""),
    ("", "No file was submitted.", ""),
    ("", "The submitted file is empty.", ""),
    (
        "",
        "Ensure this filename has at most %(max)d character (it has %(length)d).",
        "Ensure this filename has at most %(max)d characters (it has %(length)d).",
    ),
    (
        "",
        "Upload a valid image. The file you uploaded was either not an image or a corrupted "
        "image.",
        "",
    ),
    ("", "Select a valid choice. %(value)s is not one of the available choices.", ""),
    ("", "Enter a list of values.", ""),
    ("", "Enter a complete value.", ""),
    ("", "Enter a valid UUID.", ""),
    ("", "Enter a valid JSON.", ""),
    ("", "Select a valid choice. That choice is not one of the available choices.", ""),
    ("", "Yes", ""),
    ("", "No", ""),
    ("", "%(size)d byte", "%(size)d bytes"),
    ("", "%s KB", ""),
    ("", "%s MB", ""),
    ("", "%s GB", ""),
    ("", "p.m.", ""),
    ("", "a.m.", ""),
    ("", "PM", ""),
    ("", "AM", ""),
    ("", "midnight", ""),
    ("", "noon", ""),
    *[
        ("", day, "")
        for day in (
            "Monday Tuesday Wednesday Thursday Friday Saturday Sunday "
            "Mon Tue Wed Thu Fri Sat Sun"
        ).split()
    ],
    *[
        ("", month, "")
        for month in (
            "January February March April May June July August September October November "
            "December jan feb mar apr may jun jul aug sep oct nov dec"
        ).split()
    ],
    *[
        ("abbrev. month", month, "")
        for month in "Jan. Feb. March April May June July Aug. Sept. Oct. Nov. Dec.".split()
    ],
    *[
        ("alt. month", month, "")
        for month in (
            "January February March April May June July August September October November "
            "December"
        ).split()
    ],
    ("", "or", ""),
    ("", "%(num)d year", "%(num)d years"),
    ("", "%(num)d month", "%(num)d months"),
    ("", "%(num)d week", "%(num)d weeks"),
    ("", "%(num)d day", "%(num)d days"),
    ("", "%(num)d hour", "%(num)d hours"),
    ("", "%(num)d minute", "%(num)d minutes"),
]


def key(context: str, msgid: str) -> str:
    return f"{context}|{msgid}" if context else msgid


def main() -> int:
    locale = sys.argv[1]
    done = json.load(open(f"scripts/translations/django/{locale}.json", encoding="utf-8"))
    known = {key(c, m) for c, m, _p in STRINGS}
    bad = [k for k in done if k not in known]
    po = polib.POFile()
    po.metadata = {
        "Project-Id-Version": "vecinos (Django's own messages)",
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
        "Language": locale,
        "Plural-Forms": PLURALS[locale],
        "X-Review-Status": "needs review by a native speaker",
    }
    for context, msgid, plural in STRINGS:
        text = done.get(key(context, msgid))
        if text is None:
            continue
        item = {"msgid": msgid, **({"msgid_plural": plural} if plural else {})}
        problems = problems_of(item, text, locale)
        if problems:
            bad.append(f"{msgid!r}: {problems}")
            continue
        entry = polib.POEntry(msgid=msgid, msgctxt=context or None)
        if plural:
            entry.msgid_plural = plural
            entry.msgstr_plural = dict(enumerate(text))
        else:
            entry.msgstr = text
        po.append(entry)
    for line in bad:
        print("problem:", line)
    path = f"vecinos/locale_django/{locale}/LC_MESSAGES/django.po"
    os.makedirs(os.path.dirname(path), exist_ok=True)
    po.save(path)
    print("wrote", path, len(po), "entries")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
