"""Red cards and flyers as PDF, made on the server with no outside request.

fpdf2 lays the text out and shapes it with HarfBuzz (uharfbuzz): Arabic and Farsi join and run
right to left, Khmer stacks its subscripts, CJK wraps by character. The fonts are OFL Noto
fonts installed from PyPI as dependencies (``fontpkg-noto-sans*``, ``cvttf-notosanscjk-regular``)
except Armenian, whose small font ships in ``rights/fonts/`` (no PyPI package carries it).

Red cards: US Letter, 8 wallet-size cards (85 x 54 mm) a side, cut marks in the margins. Page 1
is the front (the statement to hand to an agent, in English: the agent reads it), page 2 the
back (what to do, in the person's language, the hotline and a QR code to the alerts sign-up).
The back's columns are mirrored so a long-edge duplex print puts each back behind its front.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from pathlib import Path

import segno
from fpdf import FPDF
from fpdf.enums import Align, WrapMode, XPos, YPos

from vecinos.core import languages
from vecinos.rights import content

FONT_DIR = Path(__file__).resolve().parent / "fonts"

PAGE_W, PAGE_H = 215.9, 279.4  # US Letter, mm
CARD_W, CARD_H = 85.0, 54.0
COLS, ROWS = 2, 4
MARGIN_X = (PAGE_W - COLS * CARD_W) / 2
MARGIN_Y = (PAGE_H - ROWS * CARD_H) / 2
PAD = 3.0
RED = (178, 34, 34)
INK = (20, 20, 20)


@dataclass(frozen=True)
class Fonts:
    family: str  # the family for the language's text
    wrap: WrapMode


def _font_files() -> dict[str, Path]:
    import cvttf_NotoSansCJK_Regular as cjk
    import fontpkg_noto_sans as sans
    import fontpkg_noto_sans_arabic as arabic
    import fontpkg_noto_sans_khmer as khmer

    return {
        "sans": sans.ROOT / "files" / "NotoSans[wdth,wght].ttf",
        "arabic": arabic.ROOT / "files" / "NotoSansArabic[wdth,wght].ttf",
        "khmer": khmer.ROOT / "files" / "NotoSansKhmer[wdth,wght].ttf",
        "armenian": FONT_DIR / "NotoSansArmenian-Regular.ttf",
        "cjk": Path(cjk.get_TTF_path()),
    }


FAMILY_OF = {
    "ar": "arabic",
    "fa": "arabic",
    "km": "khmer",
    "hy": "armenian",
    "ko": "cjk",
    "zh-hans": "cjk",
    "zh-hant": "cjk",
    "ja": "cjk",
}
# HarfBuzz language tags: they pick the regional glyph forms of the one CJK font.
SHAPING_LANGUAGE = {"zh-hans": "zh-Hans", "zh-hant": "zh-Hant"}


def fonts_for(code: str) -> Fonts:
    family = FAMILY_OF.get(code, "sans")
    wrap = WrapMode.CHAR if code in ("zh-hans", "zh-hant", "ja") else WrapMode.WORD
    return Fonts(family=family, wrap=wrap)


class Document(FPDF):
    def __init__(self, families: set[str]):
        super().__init__(orientation="P", unit="mm", format="letter")
        self.set_auto_page_break(False)
        self.set_margins(0, 0, 0)
        self.set_creator("Vecinos")
        files = _font_files()
        # Regular only: instancing a bold weight from the variable fonts costs seconds (tens
        # of seconds for Noto Sans); headings stand out by size and colour instead.
        for family in families | {"sans"}:
            self.add_font(family, "", files[family])
        self.set_fallback_fonts(["sans"], exact_match=False)
        self._fitted: dict[tuple, tuple[float, int]] = {}

    def use(self, code: str, size: float, bold: bool = False) -> Fonts:
        fonts = fonts_for(code)
        self.set_font(fonts.family, "", size)
        # No forced direction: fpdf2 runs the Unicode bidi algorithm, so a phone number inside
        # Arabic or Farsi text still reads left to right (forcing "rtl" reverses its digits).
        self.set_text_shaping(
            use_shaping_engine=True,
            language=SHAPING_LANGUAGE.get(code, code),
        )
        return fonts

    def fit(
        self,
        code: str,
        text: str,
        x: float,
        y: float,
        w: float,
        h: float,
        size: float,
        *,
        bold: bool = False,
        align: Align | str = Align.L,
        min_size: float = 5.0,
    ) -> float:
        """Write ``text`` in the box, shrinking the font until it fits; the height used."""
        lang = languages.get(code)
        if lang is not None and lang.rtl and align == Align.L:
            align = Align.R
        key = (code, text, w, h, size)
        if key in self._fitted:  # the same text on eight cards: measure it once
            size, count = self._fitted[key]
            fonts = self.use(code, size, bold)
            line_h = size * 0.42
        else:
            while True:
                fonts = self.use(code, size, bold)
                line_h = size * 0.42
                lines = self.multi_cell(
                    w, line_h, text, dry_run=True, output="LINES", wrapmode=fonts.wrap
                )
                count = len(lines) if isinstance(lines, list) else 1
                if count * line_h <= h or size <= min_size:
                    break
                size -= 0.5
            self._fitted[key] = (size, count)
        self.set_xy(x, y)
        self.multi_cell(
            w, line_h, text, align=align, wrapmode=fonts.wrap, new_x=XPos.LEFT, new_y=YPos.NEXT
        )
        return count * line_h


def ltr(text: str) -> str:
    """A phone number kept left to right inside Arabic or Farsi (a Unicode isolate): without
    it the bidi algorithm lays "+1 213 555 0100" out as "0100 555 213 +1"."""
    return f"\u2066{text}\u2069"


def _qr_png(url: str) -> io.BytesIO:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=6, border=1)
    buffer.seek(0)
    return buffer


def _cut_marks(pdf: FPDF) -> None:
    pdf.set_draw_color(120, 120, 120)
    pdf.set_line_width(0.2)
    mark = 6.0
    for i in range(COLS + 1):
        x = MARGIN_X + i * CARD_W
        pdf.line(x, MARGIN_Y - mark - 1, x, MARGIN_Y - 1)
        pdf.line(x, PAGE_H - MARGIN_Y + 1, x, PAGE_H - MARGIN_Y + mark + 1)
    for j in range(ROWS + 1):
        y = MARGIN_Y + j * CARD_H
        pdf.line(MARGIN_X - mark - 1, y, MARGIN_X - 1, y)
        pdf.line(PAGE_W - MARGIN_X + 1, y, PAGE_W - MARGIN_X + mark + 1, y)


def _card_origins(mirrored: bool) -> list[tuple[float, float]]:
    origins = []
    for j in range(ROWS):
        for i in range(COLS):
            col = COLS - 1 - i if mirrored else i
            origins.append((MARGIN_X + col * CARD_W, MARGIN_Y + j * CARD_H))
    return origins


def _front(pdf: Document, x: float, y: float, card: dict[str, str], hotline: str) -> None:
    pdf.set_fill_color(*RED)
    pdf.rect(x, y, CARD_W, 9, style="F")
    pdf.set_text_color(255, 255, 255)
    pdf.fit("en", card["front_title"], x + PAD, y + 1.8, CARD_W - 2 * PAD, 6, 10, bold=True)
    pdf.set_text_color(*INK)
    pdf.fit("en", card["front"], x + PAD, y + 11, CARD_W - 2 * PAD, CARD_H - 19, 8.5)
    if hotline:
        pdf.fit("en", f"{card['hotline']}: {hotline}", x + PAD, y + CARD_H - 7, 60, 5, 8, bold=True)


def _back(
    pdf: Document, x: float, y: float, code: str, card: dict[str, str], hotline: str, qr
) -> None:
    lang = languages.get(code)
    rtl = lang is not None and lang.rtl
    pdf.set_fill_color(*RED)
    pdf.rect(x, y, CARD_W, 9, style="F")
    pdf.set_text_color(255, 255, 255)
    pdf.fit(code, card["title"], x + PAD, y + 1.5, CARD_W - 2 * PAD, 7, 10, bold=True)
    pdf.set_text_color(*INK)
    qr_size = 17.0
    text_w = CARD_W - 2 * PAD - qr_size - 2
    text_x = x + PAD + (qr_size + 2 if rtl else 0)
    lines = [card[key] for key in ("line1", "line2", "line3", "line4", "line5") if card.get(key)]
    body = "\n".join(f"• {line}" for line in lines)  # bidi puts the bullet on the right in RTL
    pdf.fit(code, body, text_x, y + 11, text_w, CARD_H - 20, 8)
    qr_x = x + PAD if rtl else x + CARD_W - PAD - qr_size
    pdf.image(qr, x=qr_x, y=y + CARD_H - qr_size - 2, w=qr_size, h=qr_size)
    label = (
        f"{card['hotline']}: {ltr(hotline)}" if hotline else f"{card['hotline']}: ______________"
    )
    pdf.fit(code, label, text_x, y + CARD_H - 8, text_w, 6, 8, bold=True)


def red_cards(*, language: str, hotline: str, subscribe_url: str) -> bytes:
    card = content.card_strings(language)
    english = content.card_strings("en")
    pdf = Document({fonts_for(language).family})
    pdf.set_title(f"Know your rights - {language}")
    pdf.set_lang(language)
    qr = _qr_png(subscribe_url)
    pdf.add_page()
    for x, y in _card_origins(mirrored=False):
        _front(pdf, x, y, english, hotline)
    _cut_marks(pdf)
    pdf.add_page()
    for x, y in _card_origins(mirrored=True):
        qr.seek(0)
        _back(pdf, x, y, language, card, hotline, qr)
    _cut_marks(pdf)
    return bytes(pdf.output())


def flyer(
    *, language: str, hotline: str, report_url: str, rights_url: str, subscribe_url: str
) -> bytes:
    card = content.card_strings(language)
    pdf = Document({fonts_for(language).family})
    pdf.set_title(f"Vecinos - {language}")
    pdf.set_lang(language)
    pdf.add_page()
    lang = languages.get(language)
    align = Align.R if lang is not None and lang.rtl else Align.L
    left, width = 20.0, PAGE_W - 40
    pdf.set_fill_color(*RED)
    pdf.rect(0, 0, PAGE_W, 42, style="F")
    pdf.set_text_color(255, 255, 255)
    pdf.fit(language, card["flyer_title"], left, 10, width, 26, 26, bold=True, align=align)
    pdf.set_text_color(*INK)
    y = 52.0
    if hotline:
        y += pdf.fit(language, card["hotline"], left, y, width, 10, 16, align=align) + 1
        y += pdf.fit("en", ltr(hotline), left, y, width, 16, 34, bold=True, align=align) + 6
    y += pdf.fit(language, card["flyer_report"], left, y, width, 10, 16, bold=True, align=align)
    y += pdf.fit("en", report_url, left, y, width, 8, 13, align=align) + 6
    # The number on its own line: CJK wraps by character and would split it.
    subscribe = card["flyer_subscribe"] + (f"\n{ltr(hotline)}" if hotline else "")
    y += pdf.fit(language, subscribe, left, y, width, 20, 16, bold=True, align=align) + 4
    qr_size = 50.0
    pdf.image(_qr_png(subscribe_url), x=(PAGE_W - qr_size) / 2, y=y, w=qr_size, h=qr_size)
    y += qr_size + 2
    y += pdf.fit(language, card["scan"], left, y, width, 8, 12, align=Align.C) + 6
    y += pdf.fit(language, card["flyer_rights"], left, y, width, 10, 18, bold=True, align=align)
    lines = [card[key] for key in ("line1", "line2", "line3", "line4") if card.get(key)]
    bullet = "\n".join(f"• {line}" for line in lines)
    y += pdf.fit(language, bullet, left, y + 1, width, PAGE_H - y - 30, 13, align=align) + 4
    pdf.fit("en", rights_url, left, y, width, 8, 12, align=align)
    pdf.set_text_color(90, 90, 90)
    note = content.page_strings(language).get("not_legal_advice", "")
    pdf.fit(language, note, left, PAGE_H - 18, width, 10, 10, align=align)
    return bytes(pdf.output())


@functools.lru_cache(maxsize=64)
def cached(kind: str, language: str, *args: str) -> bytes:
    """PDFs change only with their inputs; the CJK font alone takes a second to load."""
    if kind == "cards":
        hotline, subscribe_url = args
        return red_cards(language=language, hotline=hotline, subscribe_url=subscribe_url)
    hotline, report_url, rights_url, subscribe_url = args
    return flyer(
        language=language,
        hotline=hotline,
        report_url=report_url,
        rights_url=rights_url,
        subscribe_url=subscribe_url,
    )
