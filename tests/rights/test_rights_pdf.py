"""Red cards and flyers: real PDFs whose extracted text shows each language's own script."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from vecinos.core import languages
from vecinos.rights import pdf

pytestmark = pytest.mark.django_db

SCRIPTS = {
    "ar": "[\u0600-\u06ff]",
    "fa": "[\u0600-\u06ff]",
    "ko": "[\uac00-\ud7af]",
    "km": "[\u1780-\u17ff]",
    "zh-hans": "[\u4e00-\u9fff]",
    "zh-hant": "[\u4e00-\u9fff]",
    "ja": "[\u3040-\u30ff]",
    "hy": "[\u0530-\u058f]",
    "ru": "[\u0400-\u04ff]",
    "vi": "[ạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹđ]",
    "es": "ñ|á|é|í|ó|ú",
    "tl": "[Kk]arapatan",
    "en": "[Rr]ight",
}
WRITTEN = [lang.code for lang in languages.written_languages()]


@pytest.fixture(autouse=True)
def _fresh_pdf_cache(settings):
    settings.HOTLINE_NUMBER = "+1 213 555 0100"
    pdf.cached.cache_clear()
    yield
    pdf.cached.cache_clear()


def pages_text(response) -> list[str]:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(response.content))
    # pypdf leaves a NUL beside each glyph of the CID-keyed CJK font, and the bidi isolates
    # around phone numbers: neither is text.
    return [re.sub("[\x00\u2066\u2069\u200e]", "", page.extract_text()) for page in reader.pages]


def test_every_written_language_has_its_script_checked():
    assert set(WRITTEN) <= set(SCRIPTS)


# Every shipped language, on its card and on its flyer.
@pytest.mark.parametrize("code", WRITTEN)
def test_red_cards_front_in_english_back_in_the_language(client, code):
    front, back = pages_text(client.get(f"/rights/cards/{code}.pdf"))
    assert "Fifth Amendment" in " ".join(front.split())
    assert front.count("To the agent") == 8  # eight cards a page
    assert re.search(SCRIPTS[code], back), back[:200]
    # Right-to-left pages come out of the extractor in visual order: check the groups.
    assert all(group in back for group in ("213", "555", "0100"))


def test_cards_page_is_us_letter_with_the_qr_code(client):
    response = client.get("/rights/cards/en.pdf")
    reader = PdfReader(io.BytesIO(response.content))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)
    assert len(reader.pages[1].images) == 1  # one QR image...
    assert reader.pages[1].get_contents().get_data().count(b" Do") == 8  # ...drawn on each back


def test_without_a_hotline_the_card_leaves_a_line_to_write_it(client, settings):
    settings.HOTLINE_NUMBER = ""
    _front, back = pages_text(client.get("/rights/cards/es.pdf"))
    assert "______" in back


@pytest.mark.parametrize("code", WRITTEN)
def test_flyer_in_each_language(client, code):
    (page,) = pages_text(client.get(f"/rights/flyer/{code}.pdf"))
    assert re.search(SCRIPTS[code], page), page[:200]
    assert "/report/" in page and "/rights/" in page


@pytest.mark.parametrize(
    "path", ["/rights/cards/xx.pdf", "/rights/cards/mix.pdf", "/rights/flyer/..%2Fetc.pdf"]
)
def test_unknown_or_spoken_only_language_is_404(client, path):
    assert client.get(path).status_code == 404


@pytest.mark.parametrize(("code", "other"), [("ja", "zh-hant"), ("zh-hans", "zh-hant")])
def test_japanese_and_simplified_chinese_get_their_own_glyph_forms(code, other):
    """One CJK font serves Japanese, Korean and both Chinese scripts (its file is named "tc"):
    the shaping language picks each one's regional forms of a shared character (its locl
    feature), so a Japanese card does not print Traditional Chinese shapes."""
    import uharfbuzz as hb

    font = hb.Font(hb.Face(hb.Blob.from_file_path(str(pdf._font_files()["cjk"]))))

    def glyphs(language_code: str) -> list[int]:
        doc = pdf.Document({"cjk"})
        doc.add_page()
        doc.use(language_code, 12)
        language = doc.text_shaping["language"]
        assert language.lower().startswith(language_code.split("-")[0])
        buffer = hb.Buffer()
        buffer.add_str("骨直写画")
        buffer.guess_segment_properties()
        buffer.language = language
        hb.shape(font, buffer, {})
        return [info.codepoint for info in buffer.glyph_infos]

    assert glyphs(code) != glyphs(other)
