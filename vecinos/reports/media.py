"""Photos and recordings of reports: checked from their header, decoded within bounds, re-encoded
without metadata, stored AES-GCM encrypted under MEDIA_ROOT and read back decrypted."""

from __future__ import annotations

import ctypes
import functools
import io
import threading
import uuid
from contextlib import contextmanager

from django.conf import settings
from django.utils import timezone
from PIL import Image, ImageOps, UnidentifiedImageError

from vecinos.core import crypto
from vecinos.reports.errors import ReportInvalid
from vecinos.reports.models import (
    Attachment,
)

MAX_PHOTO_BYTES = 10 * 1024 * 1024


PHOTO_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "MPO")
PHOTO_SIDE = 2048  # stored photos are at most this on their long side
# Decoding is what an anonymous photo costs (a 40 MP PNG of 150 KB is 160 MB of pixels, and
# seconds of a core). A photo that Pillow can only decode whole may have at most 12 MP (a
# phone's 4000x3000); a JPEG is decoded reduced (draft: 1/2, 1/4 or 1/8 scale, still at least
# PHOTO_SIDE), so it may have 50 MP and still decodes to about 13 MP at most.
PHOTO_MAX_PIXELS = 12_000_000
JPEG_MAX_PIXELS = 50_000_000
PHOTO_BUSY_WAIT_SECONDS = 60


def _photo_too_large() -> ReportInvalid:
    from django.utils.translation import gettext_lazy as _

    return ReportInvalid(
        {"photos": _("That photo is too large. Send a smaller photo or a screenshot of it.")}
    )


def _not_a_photo() -> ReportInvalid:
    from django.utils.translation import gettext_lazy as _

    return ReportInvalid({"photos": _("Only photos (JPEG, PNG, WebP or GIF) can be attached.")})


def photo_header(stream) -> tuple[str, int]:
    """A photo's format and pixel count from its header only (nothing decoded). Raises
    ReportInvalid when it is not a photo. Rewinds the stream."""
    try:
        with Image.open(stream) as probe:
            fmt, (width, height) = probe.format, probe.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise _not_a_photo() from None
    finally:
        stream.seek(0)
    if fmt not in PHOTO_FORMATS:
        raise _not_a_photo()
    return fmt, width * height


def photo_too_large(fmt: str, pixels: int) -> bool:
    return pixels > (JPEG_MAX_PIXELS if fmt in ("JPEG", "MPO") else PHOTO_MAX_PIXELS)


def probe_photo(stream) -> str:
    """Check a photo from its header: a photo, within the pixel caps. Raises ReportInvalid."""
    fmt, pixels = photo_header(stream)
    if photo_too_large(fmt, pixels):
        raise _photo_too_large()
    return fmt


_decode_slots = threading.BoundedSemaphore(max(1, settings.PHOTO_DECODE_CONCURRENCY))


@functools.cache
def _malloc_trim():
    try:
        return ctypes.CDLL(None).malloc_trim  # glibc
    except (OSError, AttributeError):
        return None


@contextmanager
def _decode_slot():
    """At most PHOTO_DECODE_CONCURRENCY photos decode at once in a process, whatever the number
    of threads and requests; the others wait their turn (a minute at most)."""
    from django.utils.translation import gettext_lazy as _

    if not _decode_slots.acquire(timeout=PHOTO_BUSY_WAIT_SECONDS):
        raise ReportInvalid(
            {
                "photos": _(
                    "Too many photos are being received right now. Try again in a minute, or "
                    "send the report without photos."
                )
            }
        )
    try:
        yield
    finally:
        _decode_slots.release()
        # The decoded pixels were freed, but glibc keeps freed heap in its per-thread arenas:
        # hand it back to the system, or each worker keeps its peak for good.
        trim = _malloc_trim()
        if trim is not None:
            trim(0)


def clean_photo(content: bytes) -> tuple[bytes, str]:
    """Re-encode an image without any metadata (EXIF, GPS, XMP). Raises ReportInvalid."""
    from django.utils.translation import gettext_lazy as _

    if len(content) > MAX_PHOTO_BYTES:
        raise ReportInvalid({"photos": _("Each photo must be 10 MB or smaller.")})
    fmt = probe_photo(io.BytesIO(content))
    with _decode_slot():
        try:
            with Image.open(io.BytesIO(content)) as probe:
                probe.verify()
            with Image.open(io.BytesIO(content)) as img:
                if img.format != fmt:
                    raise UnidentifiedImageError
                if fmt in ("JPEG", "MPO"):
                    img.draft(None, (PHOTO_SIDE, PHOTO_SIDE))  # decode reduced, 1/2 to 1/8
                # Shrink first (the box is square, so turning afterwards changes nothing), then
                # turn upright: the copy that turning makes is of the small image.
                img.thumbnail((PHOTO_SIDE, PHOTO_SIDE))
                upright = ImageOps.exif_transpose(img)
                mode = "RGBA" if upright.mode in ("RGBA", "LA", "P") else "RGB"
                # Copy the pixels only into a fresh image: no EXIF, GPS, XMP, ICC or comments
                # (Pillow would carry a JPEG comment over from the original's info).
                pixels = upright.convert(mode)
                del upright
                clean = Image.new(mode, pixels.size)
                clean.paste(pixels)
                del pixels
                out = io.BytesIO()
                if mode == "RGBA":
                    clean.save(out, "PNG")
                    return out.getvalue(), "image/png"
                clean.save(out, "JPEG", quality=85)
                return out.getvalue(), "image/jpeg"
        except ReportInvalid:
            raise
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
            raise _not_a_photo() from None


def _store_media(content: bytes, content_type: str, folder: str) -> str:
    """Write a photo or recording encrypted at rest (AES-GCM); served decrypted by the console.

    The file name says nothing about its content: a stolen disk shows only random names and
    ciphertext.
    """
    rel = f"{folder}/{timezone.now():%Y%m}/{uuid.uuid4().hex}.bin"
    path = settings.MEDIA_ROOT / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(crypto.encrypt_bytes(content))
    return rel


class MediaUnreadable(Exception):
    """A stored file that is missing, outside the media root, or does not decrypt."""


def read_media(attachment: Attachment) -> bytes:
    """The decrypted content of a stored photo or recording. Raises MediaUnreadable or OSError."""
    root = settings.MEDIA_ROOT.resolve()
    path = (root / attachment.path).resolve()
    if not attachment.path or not path.is_relative_to(root):
        raise MediaUnreadable("no stored file")
    try:
        return crypto.decrypt_bytes(path.read_bytes())
    except crypto.Undecryptable as exc:
        raise MediaUnreadable(str(exc)) from None
