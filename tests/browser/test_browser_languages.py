"""The public report form and the rights library in headless Chromium on a phone, in Arabic
(right to left, phone numbers kept left to right), Korean and Tagalog: every visible text is in
the language, none of the interface's English is left, and the page says the translation needs
review by a native speaker. Screenshots go to SHOTS for a person to look at."""

from __future__ import annotations

import os
import re
from pathlib import Path

import polib
import pytest

from vecinos.core import coalition, languages
from vecinos.rights import services as rights

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("VECINOS_SHOTS_DIR", "/tmp/vecinos-shots"))
HOTLINE = "+1 213 555 0100"
NOTICE = "This translation needs review by a native speaker."

# Every visible text node, the placeholder of each field and the text of each button, with the
# element that shows it; <option>s other than the chosen one are not on screen.
VISIBLE_TEXTS = """() => {
  const out = [];
  const shown = el => el && el.getClientRects().length > 0
    && getComputedStyle(el).visibility !== "hidden";
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    const text = node.textContent.trim();
    if (!text || ["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE"].includes(el.tagName)) continue;
    if (el.closest(".leaflet-control-scale")) continue;  // "5 km / 3 mi": the map's own scale
    // Marked as another language on purpose: the rights library's list of languages.
    if (el.closest("[lang]").lang !== document.documentElement.lang) continue;
    if (el.closest("option") && !el.closest("option").selected) continue;
    if (el.closest("option") ? shown(el.closest("select")) : shown(el)) out.push(text);
  }
  for (const el of document.querySelectorAll("[placeholder], input[type=submit][value]")) {
    if (shown(el)) out.push(el.getAttribute("placeholder") || el.value);
  }
  return out;
}"""

# Latin-script words an Arabic or Korean page may show: names, acronyms, example values.
LATIN_OK = {
    "Vecinos", "SMS", "ICE", "ERO", "HSI", "CBP", "ZIP", "PNG", "JPEG", "WebP", "MB", "km",
    "Boyle", "Heights", "Google", "Apple", "Signal", "WhatsApp", "Maps",
    "README", "Street", "maps",  # the administrator's guide and its (English) section title
    "PDF",
    "Cesar", "Chavez", "Ave", "Soto",  # example cross streets, as the street signs read
}  # fmt: skip

# Where each character of a link's text is drawn on screen, left to right or not.
CHAR_LEFTS = """el => {
  const node = [...el.childNodes].find(n => n.nodeType === 3 && n.textContent.trim());
  const out = [];
  for (let i = 0; i < node.textContent.length; i++) {
    // Spaces, and the invisible marks that isolate the number left to right, have no place.
    if (" \u2066\u2067\u2068\u2069".includes(node.textContent[i])) continue;
    const r = document.createRange(); r.setStart(node, i); r.setEnd(node, i + 1);
    out.push(r.getBoundingClientRect().left);
  }
  return out;
}"""


def english_msgids(locale: str) -> dict[str, str]:
    """English msgid -> its translation, for the strings the catalog does not keep in English."""
    po = polib.pofile(str(ROOT / "vecinos" / "locale" / locale / "LC_MESSAGES" / "django.po"))
    return {
        e.msgid: e.msgstr
        for e in po
        if not e.obsolete and not e.msgid_plural and e.msgstr and e.msgstr != e.msgid
    }


def leftover_english(texts: list[str], locale: str, script: str | None) -> list[str]:
    """Visible texts that are the interface's English, or (for a non-Latin script) that carry
    Latin words other than names and acronyms."""
    english = english_msgids(locale)
    found = []
    for text in texts:
        one = " ".join(text.split())
        if one in english or one.rstrip(":") in english:
            found.append(one)
            continue
        if len(one) > 24 and any(len(m) > 24 and m in one for m in english):
            found.append(one)
            continue
        if script:
            words = set(re.findall(r"[A-Za-z]{3,}", one)) - LATIN_OK
            if words:
                found.append(one)
    return found


def open_in(new_page, base: str, code: str, path: str):
    page = new_page(phone=True, locale=code)
    page.context.add_cookies([{"name": "django_language", "value": code, "url": base}])
    page.goto(f"{base}{path}")
    page.wait_for_load_state("load")
    return page


@pytest.fixture
def hotline(db, settings):
    settings.HOTLINE_NUMBER = HOTLINE  # the rights library's
    row = coalition.settings_row()
    row.hotline = {"default": HOTLINE}
    row.save()
    coalition.invalidate()
    return HOTLINE


@pytest.mark.parametrize(
    ("code", "script"),
    [("ar", "Arab"), ("ko", "Hang"), ("tl", None)],
)
@pytest.mark.parametrize("path", ["/report/", "/rights/"])
def test_page_is_wholly_in_the_language(live_server, new_page, hotline, code, script, path):
    rights.load_content()
    lang = languages.get(code)
    page = open_in(new_page, live_server.url, code, path + f"?lang={code}")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{code}-{path.strip('/')}-phone.png"), full_page=True)
    assert page.evaluate("document.documentElement.lang") == code
    assert page.evaluate("document.documentElement.dir || 'ltr'") == lang.direction
    texts = page.evaluate(VISIBLE_TEXTS)
    assert len(texts) > 10
    leftovers = leftover_english(texts, lang.locale, script)
    assert not leftovers, leftovers
    notice = polib.pofile(
        str(ROOT / "vecinos" / "locale" / lang.locale / "LC_MESSAGES" / "django.po")
    ).find(NOTICE)
    assert page.locator(".translation-notice").inner_text() == notice.msgstr
    # The switcher names the language in itself.
    assert page.locator("#lang-select option:checked").inner_text() == lang.native_name
    # Nothing wider than the phone: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # The hotline number reads left to right, in an Arabic page too: "(213) 555-0100".
    numbers = page.locator("a[href^='tel:']")
    assert numbers.count() >= 1
    for i in range(numbers.count()):
        link = numbers.nth(i)
        digits = "".join(c for c in link.inner_text() if c.isdigit())
        assert digits == "2135550100", link.inner_text()
        lefts = link.evaluate(CHAR_LEFTS)
        assert lefts == sorted(lefts), (link.inner_text(), lefts)
    assert list(page.problems) == [], page.problems


def test_arabic_layout_is_mirrored(live_server, new_page, hotline):
    """Right to left: the header's brand sits at the right edge, the form's labels align right."""
    page = open_in(new_page, live_server.url, "ar", "/report/")
    brand = page.locator(".brand").bounding_box()
    switcher = page.locator("#lang-select").bounding_box()
    assert brand["x"] > switcher["x"], (brand, switcher)
    label = page.locator("main label").first
    assert label.evaluate("el => getComputedStyle(el).direction") == "rtl"
    main = page.locator("main").bounding_box()
    box = label.bounding_box()
    assert abs((box["x"] + box["width"]) - (main["x"] + main["width"])) < 40, (box, main)


def test_a_phone_typed_on_an_arabic_page_reads_left_to_right(live_server, new_page, hotline):
    """Outside walk, session 19: the report's contact box (and an event's RSVP phone, the phone
    simulator) showed "+1 323 555 0444" as "0444 555 323 1+" on an Arabic page."""
    page = open_in(new_page, live_server.url, "ar", "/report/")
    box = page.locator("input[name=reporter_contact]")
    box.fill("+1 323 555 0444")
    assert box.evaluate("el => getComputedStyle(el).direction") == "ltr"
    assert box.evaluate("el => getComputedStyle(el).textAlign") == "right"
    # The label beside it stays right to left.
    label = page.locator("label[for=id_reporter_contact]")
    assert label.evaluate("el => getComputedStyle(el).direction") == "rtl"
