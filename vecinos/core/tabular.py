"""Read the spreadsheets coalitions already keep (CSV from Google Sheets, Excel, Action Network;
XLSX) as rows of text, and match their column headers to the fields an import knows.

Nothing here knows members or subscribers: an import names its fields and their header aliases
(English and Spanish), and gets back rows with their line numbers, so a bad row can be reported
by the line a coordinator sees in their spreadsheet.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from zipfile import BadZipFile

from django.utils.translation import gettext as _

# A spreadsheet of people is small: 200,000 rows of a few columns is far beyond any coalition.
MAX_ROWS = 200_000
MAX_COLUMNS = 60
MAX_CELL = 500  # characters kept of one cell (a note pasted into a cell stays bounded)


class TableError(ValueError):
    """The file cannot be read as a table (not CSV/XLSX, empty, too large)."""


def fold(text: str) -> str:
    """'Teléfono ' -> 'telefono': headers compared without case, accents or spacing."""
    text = unicodedata.normalize("NFKD", str(text or "")).encode("ascii", "ignore").decode()
    return " ".join(text.lower().replace("_", " ").replace("-", " ").split())


@dataclass
class Table:
    headers: list[str]
    # (line number as the spreadsheet shows it, the row's cells as text)
    rows: list[tuple[int, list[str]]]


@dataclass
class HeaderMap:
    columns: dict[str, int] = field(default_factory=dict)  # field -> column index
    unknown: list[str] = field(default_factory=list)  # headers no field claims

    def get(self, cells: list[str], name: str) -> str:
        index = self.columns.get(name)
        if index is None or index >= len(cells):
            return ""
        return cells[index].strip()


def map_headers(
    headers: list[str],
    aliases: Mapping[str, tuple[str, ...]],
    chosen: Mapping[str, int | None] | None = None,
) -> HeaderMap:
    """Match headers to fields by their aliases (folded); `chosen` overrides (column index or
    None to leave a field out), as the app's column-mapping step sends them."""
    result = HeaderMap()
    folded = [fold(h) for h in headers]
    wanted = {fold(alias): name for name, names in aliases.items() for alias in (name, *names)}
    for index, header in enumerate(folded):
        name = wanted.get(header)
        if name is not None and name not in result.columns:
            result.columns[name] = index
    if chosen is not None:
        for name, column in chosen.items():
            if name not in aliases:
                continue
            if column is None or not 0 <= column < len(headers):
                result.columns.pop(name, None)
            else:
                result.columns[name] = column
    used = set(result.columns.values())
    result.unknown = [h for i, h in enumerate(headers) if i not in used and h.strip()]
    return result


def _clean(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a phone typed into Excel comes back as 2135550100.0
    return str(value).strip()[:MAX_CELL]


def _decode(data: bytes) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 with its BOM (Excel's "Unicode text")
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _csv_rows(data: bytes) -> Iterator[list[str]]:
    text = _decode(data)
    sample = text[:4096]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        for row in csv.reader(io.StringIO(text, newline=""), dialect):
            yield [_clean(c) for c in row[:MAX_COLUMNS]]
    except csv.Error as exc:
        # A field longer than the csv module takes (131,072 characters), a NUL byte...: a file
        # we cannot read, said so, not a server error (outside probe, session 18).
        raise TableError(_("not a readable CSV file")) from exc


def _xlsx_rows(data: bytes) -> Iterator[list[str]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    # A spreadsheet from anywhere: any way it fails to parse is "not readable", never a 500.
    broken = (BadZipFile, InvalidFileException, KeyError, OSError, ValueError, TypeError)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except broken as exc:
        raise TableError(_("not a readable XLSX file")) from exc
    try:
        sheet = book.worksheets[0]
        for row in sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS):
            cells = [_clean(c) for c in row]
            while cells and not cells[-1]:
                cells.pop()  # max_col pads every row to MAX_COLUMNS
            yield cells
    except broken as exc:
        raise TableError(_("not a readable XLSX file")) from exc
    finally:
        book.close()


def _binary(data: bytes) -> bool:
    """Not text: NUL bytes or many control characters in its first 4 KB once decoded."""
    head = data[:4096]
    text = (
        head.decode("utf-16", "ignore") if head[:2] in (b"\xff\xfe", b"\xfe\xff") else _decode(head)
    )
    controls = sum(1 for c in text if ord(c) < 32 and c not in "\t\r\n")
    return "\x00" in text or controls > max(2, len(text) // 100)


def is_xlsx(data: bytes) -> bool:
    return data[:4] == b"PK\x03\x04"  # a ZIP container, as every .xlsx is


def read_table(data: bytes) -> Table:
    """Rows of a CSV or XLSX file. The first non-empty row is the header row."""
    if not data.strip():
        raise TableError(_("the file is empty"))
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise TableError(_("old .xls files are not read: save the sheet as .xlsx or .csv"))
    if not is_xlsx(data) and _binary(data):
        # Random bytes, an image, a PDF: read as CSV they made a preview of garbage columns
        # with every row marked OK (outside walk).
        raise TableError(_("not a CSV or XLSX file"))
    rows = _xlsx_rows(data) if is_xlsx(data) else _csv_rows(data)
    headers: list[str] | None = None
    body: list[tuple[int, list[str]]] = []
    for line, cells in enumerate(rows, start=1):
        if not any(cells):
            continue
        if headers is None:
            headers = cells
            continue
        if len(body) >= MAX_ROWS:
            raise TableError(_("more than %(rows)s rows: split the file") % {"rows": MAX_ROWS})
        body.append((line, cells))
    if headers is None:
        raise TableError(_("the file has no header row"))
    return Table(headers=headers, rows=body)
