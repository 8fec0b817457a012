"""What one anonymous request can cost: bodies over the limit are refused with 413 from their
headers (Django and the real gunicorn that `vecinos serve` runs), uploads never touch the disk,
photos are checked from their header before any decoding, a few decode at a time, and a
banned or over-limit source is refused before its body is parsed."""

from __future__ import annotations

import io
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest
from django.test import Client
from PIL import Image, ImageFile

from tests.conftest import migrated_data_dir
from vecinos.reports import media, services
from vecinos.reports.models import Attachment, Report
from vecinos.reports.services import read_media

URL = "/report/"
LIMIT = 20 * 1024 * 1024


def random_ip() -> str:
    return "10.{}.{}.{}".format(*(secrets.randbelow(254) + 1 for _ in range(3)))


@pytest.fixture
def client():
    return Client(REMOTE_ADDR=random_ip())


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def image_bytes(size: tuple[int, int], fmt: str, mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (200, 30, 30, 255)[: len(mode)]).save(out, fmt)
    return out.getvalue()


def upload(content: bytes, name: str):
    f = io.BytesIO(content)
    f.name = name
    return f


def report(**extra) -> dict:
    return {"activity": "street", "place_text": "Cesar Chavez Ave and Soto St", **extra}


# --- Django: 413 from the headers -------------------------------------------------------------


@pytest.mark.django_db
def test_announced_body_over_the_limit_gets_413_with_a_translated_page(client):
    response = client.post(
        URL, report(), CONTENT_LENGTH=str(5 * 1024**3), HTTP_ACCEPT_LANGUAGE="es"
    )
    assert response.status_code == 413
    assert "como máximo 20 MB en total" in response.content.decode()
    assert not Report.objects.exists()


@pytest.mark.django_db
def test_api_body_over_the_limit_gets_413_as_json(client):
    response = client.post(
        "/api/v1/reports", "{}", content_type="application/json", CONTENT_LENGTH=str(LIMIT + 1)
    )
    assert response.status_code == 413
    assert "at most 20 MB in all" in response.json()["detail"]


@pytest.mark.django_db
def test_the_limit_is_a_setting(client, settings):
    settings.REQUEST_BODY_MAX = 1024 * 1024
    response = client.post(URL, report(photos=[upload(b"x" * (1024 * 1024 + 1), "a.jpg")]))
    assert response.status_code == 413


@pytest.mark.django_db
def test_uploads_are_kept_in_memory_only(settings):
    # No handler that writes to a temporary file; the memory handler takes any allowed body.
    assert settings.FILE_UPLOAD_HANDLERS == [
        "django.core.files.uploadhandler.MemoryFileUploadHandler"
    ]
    assert settings.FILE_UPLOAD_MAX_MEMORY_SIZE >= settings.REQUEST_BODY_MAX


# --- photos: header first, reduced decoding, a few at a time ----------------------------------


@pytest.mark.django_db
def test_large_canvas_png_is_refused_from_its_header_with_a_message(client, monkeypatch):
    # 14 MP of one colour: a small file, but 56 MB of pixels to decode.
    big = image_bytes((4000, 3500), "PNG", "RGBA")
    assert len(big) < 1024 * 1024
    # Refused from its header: no pixel of it is decoded (ImageFile.load decodes them).
    decoded: list[tuple[int, int]] = []
    real_load = ImageFile.ImageFile.load

    def counted_load(image):
        decoded.append(image.size)
        return real_load(image)

    monkeypatch.setattr(ImageFile.ImageFile, "load", counted_load)
    response = client.post(URL, report(photos=[upload(big, "canvas.png")]))
    assert response.status_code == 200
    assert "“canvas.png” is too large an image" in response.content.decode()
    assert not Report.objects.exists()
    assert decoded == []
    # The spy sees a decode where there is one: an accepted photo's pixels are read.
    client.post(URL, report(photos=[upload(image_bytes((64, 48), "PNG", "RGB"), "small.png")]))
    assert (64, 48) in decoded


@pytest.mark.django_db
def test_service_refuses_a_large_canvas_png_before_decoding():
    with pytest.raises(services.ReportInvalid) as exc:
        services.clean_photo(image_bytes((4000, 3500), "PNG", "RGBA"))
    assert "too large" in str(exc.value.errors["photos"])


@pytest.mark.django_db
def test_a_phone_sized_png_is_accepted():
    content, content_type = services.clean_photo(image_bytes((4000, 3000), "PNG", "RGBA"))
    assert content_type == "image/png"
    assert Image.open(io.BytesIO(content)).size == (2048, 1536)


@pytest.mark.django_db
def test_a_30_megapixel_jpeg_is_decoded_reduced_and_stored_small(client, _media):
    response = client.post(
        URL, report(photos=[upload(image_bytes((6400, 4800), "JPEG"), "big.jpg")])
    )
    assert response.status_code == 302
    stored = Image.open(io.BytesIO(read_media(Attachment.objects.get())))
    assert stored.size == (2048, 1536)


def test_jpeg_decoding_uses_draft_mode():
    # A 6400x4800 JPEG opened the way clean_photo opens it decodes at a quarter of the pixels.
    img = Image.open(io.BytesIO(image_bytes((6400, 4800), "JPEG")))
    img.draft(None, (services.PHOTO_SIDE, services.PHOTO_SIDE))
    assert img.size == (3200, 2400)


@pytest.mark.django_db
def test_photos_wait_for_a_decode_slot_and_say_so_when_none_frees(client, monkeypatch):
    slots = threading.BoundedSemaphore(1)
    monkeypatch.setattr(media, "_decode_slots", slots)
    monkeypatch.setattr(media, "PHOTO_BUSY_WAIT_SECONDS", 0.2)
    photo = image_bytes((64, 48), "JPEG")
    slots.acquire()  # another request is decoding
    try:
        response = client.post(URL, report(photos=[upload(photo, "a.jpg")]))
    finally:
        slots.release()
    assert response.status_code == 200
    assert "Too many photos are being received right now" in response.content.decode()
    assert not Report.objects.exists()
    # Once the slot is free, the same report goes through.
    assert client.post(URL, report(photos=[upload(photo, "a.jpg")])).status_code == 302


# --- the source before the body ---------------------------------------------------------------


@pytest.mark.django_db
def test_over_limit_source_is_refused_before_its_photos_are_parsed(client, settings):
    settings.REPORT_RATE_LIMIT = 2
    for _ in range(2):
        assert client.post(URL, report()).status_code == 302
    # Not a photo: had the form been parsed first it would say so (200); the source is refused
    # before that.
    response = client.post(URL, report(photos=[upload(b"junk" * 30_000, "x.jpg")]))
    assert response.status_code == 429


@pytest.mark.django_db
def test_posts_with_photos_count_against_the_source_even_when_refused(client, settings):
    settings.REPORT_RATE_LIMIT = 2
    junk = upload(b"junk" * 30_000, "x.jpg")  # > 64 KB: a body that carries uploads
    for _ in range(2):
        junk.seek(0)
        assert client.post(URL, report(photos=[junk])).status_code == 200
    junk.seek(0)
    assert client.post(URL, report(photos=[junk])).status_code == 429


@pytest.mark.django_db
def test_banned_source_is_refused_before_its_body_is_parsed():
    from vecinos.reports.models import BannedSource

    ip = random_ip()
    BannedSource.objects.create(key=f"src:{services.source_of(ip)}")
    response = Client(REMOTE_ADDR=ip).post(URL, {"activity": "nonsense"})
    assert response.status_code == 429


# --- the real server (gunicorn, as `vecinos serve` runs it) -------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory, migrated_data_template):
    root = tmp_path_factory.mktemp("served")
    tmpdir = root / "tmp"
    tmpdir.mkdir()
    port = _free_port()
    env = {
        **os.environ,
        "VECINOS_ENV": "development",
        "VECINOS_DATA_DIR": str(migrated_data_dir(migrated_data_template, root / "data")),
        "VECINOS_PORT": str(port),
        "VECINOS_TASKS_IMMEDIATE": "false",
        "TMPDIR": str(tmpdir),
    }
    env.pop("VECINOS_DATABASE_URL", None)
    env.pop("VECINOS_REDIS_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "vecinos.cli", "serve", "--no-demo", "--web-workers", "1",
         "--threads", "4"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 240  # a wait, not a speed check: CI runs two suites at once
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):  # noqa: S310
                break
        except OSError:
            time.sleep(0.3)
        assert proc.poll() is None
    else:
        proc.kill()
        pytest.fail("server did not start")
    yield port, tmpdir
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def _raw(port: int, head: bytes, body_chunks=(), *, timeout: float = 10.0) -> tuple[str, float]:
    """Send a request by hand; the status line and how long the answer took."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head)
        try:
            for chunk in body_chunks:
                sock.sendall(chunk)
        except OSError:
            pass  # the server answered and closed while we were still sending
        data = b""
        while b"\r\n" not in data:
            got = sock.recv(65536)
            if not got:
                break
            data += got
    return data.split(b"\r\n", 1)[0].decode(), time.monotonic() - started


def _head(port: int, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_served_body_announced_as_5_gb_gets_413_at_once(server):
    port, tmpdir = server
    head = _head(
        port,
        URL,
        {"Content-Type": "multipart/form-data; boundary=x", "Content-Length": str(5 * 1024**3)},
    )
    status, took = _raw(port, head, [b"--x\r\n" + b"a" * 65536])
    assert status == "HTTP/1.1 413 Request Entity Too Large"
    assert took < 5
    assert list(tmpdir.iterdir()) == []


def test_served_25_mb_photo_upload_gets_413_and_nothing_reaches_the_temp_dir(server):
    port, tmpdir = server
    boundary = "b0undary"
    part = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename="a.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    body_len = len(part) + 25 * 1024 * 1024 + len(f"\r\n--{boundary}--\r\n")
    head = _head(
        port,
        URL,
        {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(body_len),
        },
    )
    chunks = [part, *(b"\xff" * (1024 * 1024) for _ in range(25))]
    status, _took = _raw(port, head, chunks)
    assert status == "HTTP/1.1 413 Request Entity Too Large"
    assert list(tmpdir.iterdir()) == []


def _chunked(data: bytes, size: int = 1024 * 1024):
    for i in range(0, len(data), size):
        piece = data[i : i + size]
        yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    yield b"0\r\n\r\n"


def test_served_chunked_body_over_the_limit_gets_413(server):
    port, _tmpdir = server
    head = _head(
        port,
        "/api/v1/reports",
        {"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
    )
    status, _took = _raw(port, head, _chunked(b" " * (LIMIT + 2 * 1024 * 1024)), timeout=30)
    assert status == "HTTP/1.1 413 Request Entity Too Large"


def test_served_small_chunked_report_is_accepted(server):
    port, _tmpdir = server
    head = _head(
        port,
        "/api/v1/reports",
        {
            "Content-Type": "application/json",
            "Transfer-Encoding": "chunked",
        },
    )
    body = b'{"activity": "street", "place_text": "Soto St and 1st St"}'
    status, _took = _raw(port, head, _chunked(body, 16))
    assert status == "HTTP/1.1 201 Created"


def test_served_request_with_too_many_header_fields_is_refused(server):
    port, _tmpdir = server
    headers = {f"X-Filler-{i}": "1" for i in range(60)}
    status, _took = _raw(port, _head(port, "/healthz", headers).replace(b"POST", b"GET", 1))
    assert status == "HTTP/1.1 431 Request Header Fields Too Large"


@pytest.mark.django_db
def test_photo_is_shrunk_then_turned_upright_by_its_exif_orientation():
    img = Image.new("RGB", (4000, 1000), (200, 30, 30))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90° clockwise
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif)
    content, _type = services.clean_photo(out.getvalue())
    cleaned = Image.open(io.BytesIO(content))
    assert cleaned.size == (512, 2048)
    assert not cleaned.getexif()
