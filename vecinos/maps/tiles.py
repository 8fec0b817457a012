"""The street basemap: a PMTiles archive that Vecinos serves itself, or the coalition's own tile
server (``settings.MAP_TILES``).

A PMTiles archive is one file; browsers read it with HTTP range requests (the header, a
directory, then each tile), so serving it is a plain file view that answers single byte ranges.
Django's FileResponse does not: ``tiles_response`` below does, with ETag and long cache headers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import reverse

PMTILES_MAGIC = b"PMTiles"
CHUNK = 64 * 1024
# A week: an archive is replaced rarely, and the ETag (size + mtime) tells when it was.
CACHE_CONTROL = "public, max-age=604800"
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass(frozen=True)
class TileSource:
    url: str  # what the browser loads: /tiles/<name>, or the configured outside URL
    path: Path | None  # the local archive, when Vecinos serves it


def source() -> TileSource | None:
    """The configured basemap, or None (maps then draw shapes on a plain background)."""
    configured = settings.MAP_TILES
    if not configured:
        return None
    if configured.startswith(("http://", "https://")):
        return TileSource(url=configured, path=None)
    path = Path(configured)
    if not path.is_file():
        return None
    return TileSource(url=reverse("map_tiles", args=[path.name]), path=path)


def problem(path: Path) -> str:
    """Why a local archive cannot be served ("" when it can)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror}"
    if not head.startswith(PMTILES_MAGIC) or head[7:8] != b"\x03":
        return f"{path} is not a PMTiles version 3 archive"
    return ""


def _etag(size: int, mtime_ns: int) -> str:
    return f'"{size:x}-{mtime_ns:x}"'


def _read(path: Path, start: int, length: int) -> Iterator[bytes]:
    with path.open("rb") as handle:
        handle.seek(start)
        left = length
        while left > 0:
            block = handle.read(min(CHUNK, left))
            if not block:
                return
            left -= len(block)
            yield block


def _byte_range(header: str, size: int) -> tuple[int, int] | None | bool:
    """(first, last) for one satisfiable range; False when unsatisfiable; None to ignore.

    Several ranges in one request are ignored (the whole file is sent, as RFC 9110 allows):
    PMTiles readers only ever ask for one.
    """
    match = _RANGE.match(header.replace(" ", ""))
    if not match or not (match[1] or match[2]):
        return None
    if match[1]:
        first = int(match[1])
        last = int(match[2]) if match[2] else size - 1
        if first >= size or last < first:
            return False
        return first, min(last, size - 1)
    suffix = int(match[2])
    if suffix == 0 or size == 0:
        return False
    return max(0, size - suffix), size - 1


def tiles_response(request: HttpRequest, path: Path) -> HttpResponse | StreamingHttpResponse:
    stat = path.stat()
    size = stat.st_size
    etag = _etag(size, stat.st_mtime_ns)
    common = {
        "Accept-Ranges": "bytes",
        "Cache-Control": CACHE_CONTROL,
        "ETag": etag,
        "Last-Modified": formatdate(stat.st_mtime, usegmt=True),
    }
    if_none_match = request.headers.get("If-None-Match", "")
    if etag in [tag.strip() for tag in if_none_match.split(",")]:
        response = HttpResponse(status=304)
        for key, value in common.items():
            response[key] = value
        return response
    wanted = request.headers.get("Range", "")
    if_range = request.headers.get("If-Range")
    if if_range is not None and if_range.strip() != etag:
        wanted = ""  # the client's copy is of another version: send it all
    chosen = _byte_range(wanted, size) if wanted else None
    if chosen is False:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        for key, value in common.items():
            response[key] = value
        return response
    if isinstance(chosen, tuple):
        first, last = chosen
        status = 206
    else:
        first, last, status = 0, size - 1, 200
    length = last - first + 1 if size else 0
    body: Iterator[bytes] | list[bytes] = (
        [] if request.method == "HEAD" else _read(path, first, length)
    )
    stream = StreamingHttpResponse(body, status=status, content_type="application/vnd.pmtiles")
    stream["Content-Length"] = str(length)
    if status == 206:
        stream["Content-Range"] = f"bytes {first}-{last}/{size}"
    for key, value in common.items():
        stream[key] = value
    return stream
