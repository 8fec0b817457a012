"""The public report form at /report/: anyone can report, bad input is explained, photos lose
their metadata, and nothing about the reporter's connection is kept."""

from __future__ import annotations

import io
import secrets
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import translation
from PIL import Image

from tests.conftest import make_member, sign_in
from vecinos.network.models import Tier
from vecinos.reports import services
from vecinos.reports.models import Attachment, Report
from vecinos.reports.services import read_media

URL = "/report/"


# Yesterday at 14:20 in Los Angeles: a sighting must be dated within the last 30 days.
SEEN_LOCAL = (datetime.now(ZoneInfo("America/Los_Angeles")) - timedelta(days=1)).replace(
    hour=14, minute=20, second=0, microsecond=0
)


def random_ip() -> str:
    # Rate-limit counters live in Redis on the scaled setup and outlive a test's transaction:
    # every test reports from its own address so runs never share a counter.
    return "10.{}.{}.{}".format(*(secrets.randbelow(254) + 1 for _ in range(3)))


@pytest.fixture
def client():
    return Client(REMOTE_ADDR=random_ip())


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def jpeg_with_gps(size=(64, 48)) -> bytes:
    img = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"
    exif[0x0110] = "Model X"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (34.0, 2.0, 30.0)
    gps[3], gps[4] = "W", (118.0, 14.0, 0.0)
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def upload(content: bytes, name: str = "photo.jpg"):
    f = io.BytesIO(content)
    f.name = name
    return f


def full_report(**overrides):
    data = {
        "activity": "street",
        "agency": "ice",
        "lat": "34.0412",
        "lng": "-118.2134",
        "place_text": "Cesar Chavez Ave and Soto St",
        "agents_count": "6",
        "vehicles_count": "2",
        "seen_at": SEEN_LOCAL.strftime("%Y-%m-%dT%H:%M"),
        "equipment": "vests marked ICE, unmarked vans",
        "description": "Two people detained outside the market.",
        "reporter_contact": "+1 213 555 0199",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def media_files(media_root) -> list:
    return [p for p in media_root.rglob("*") if p.is_file()] if media_root.exists() else []


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "es"])
def test_form_renders_for_anonymous_visitors_in_english_and_spanish(client, language):
    response = client.get(URL, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    assert response["Content-Language"] == language
    html = response.content.decode()
    assert f'<html lang="{language}">' in html
    assert 'enctype="multipart/form-data"' in html
    assert 'type="file"' in html and "multiple" in html and 'accept="image/*"' in html
    assert 'name="lat"' in html and 'name="lng"' in html
    assert reverse("report_form") == URL
    # The page's own words in the visitor's language (once the catalog translates them).
    with translation.override(language):
        title = translation.gettext("Report what you see")
    assert title in html
    if language == "es" and title != "Report what you see":
        assert "Report what you see" not in html


@pytest.mark.django_db
def test_form_page_loads_nothing_from_other_hosts(client):
    response = client.get(URL)
    html = response.content.decode()
    assert "http://" not in html.replace("http://testserver", "")
    assert "https://" not in html
    assert "/static/js/report_form.js" in html and "/static/css/reports.css" in html
    assert "<script>" not in html  # no inline script: CSP allows 'self' only
    assert "script-src 'self'" in response["Content-Security-Policy"]


@pytest.mark.django_db
def test_full_report_with_gps_photo_is_stored_without_metadata(client, _media):
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # the test photo has GPS
    response = client.post(URL, full_report(photos=[upload(original)]))
    assert response.status_code == 302
    report = Report.objects.get()
    assert response["Location"] == reverse("report_thanks", args=[report.receipt])

    assert (report.channel, report.activity, report.agency) == ("web", "street", "ice")
    assert (report.agents_count, report.vehicles_count) == (6, 2)
    assert report.lat == pytest.approx(34.0412) and report.lng == pytest.approx(-118.2134)
    assert report.cell7 and report.place_text == "Cesar Chavez Ave and Soto St"
    assert report.reporter_contact == "+1 213 555 0199"
    assert report.language == "en" and report.reporter_member is None and not report.trusted
    assert report.seen_at == SEEN_LOCAL.astimezone(UTC)  # 14:20 in Los Angeles

    attachment = Attachment.objects.get(report=report)
    on_disk = (_media / attachment.path).read_bytes()
    assert not on_disk.startswith(b"\xff\xd8")  # encrypted at rest, not a JPEG on disk
    stored = read_media(attachment)
    assert b"CameraMaker" not in stored and b"Model X" not in stored
    with Image.open(io.BytesIO(stored)) as img:
        assert img.format == "JPEG"
        exif = img.getexif()
        assert len(exif) == 0
        assert not exif.get_ifd(0x8825)
        assert "exif" not in img.info

    thanks = client.get(response["Location"])
    assert thanks.status_code == 200
    assert report.receipt in thanks.content.decode()


@pytest.mark.django_db
def test_contact_is_encrypted_and_no_ip_address_is_stored(client):
    ip = "203.0.113.77"
    response = client.post(URL, full_report(), REMOTE_ADDR=ip)
    assert response.status_code == 302
    report = Report.objects.get()
    assert report.source_key and ip not in report.source_key
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM reports_report WHERE id = %s", [report.pk])
        raw = " ".join(str(value) for value in cursor.fetchone())
    assert "555 0199" not in raw and "Soto" not in raw  # encrypted at rest
    assert ip not in raw


@pytest.mark.django_db
def test_thanks_page_shows_the_receipt_and_rights_but_no_report_contents(client):
    client.post(URL, full_report(description="Unique words about the market"))
    report = Report.objects.get()
    html = client.get(reverse("report_thanks", args=[report.receipt])).content.decode()
    assert report.receipt in html
    assert "right to remain silent" in html
    assert "warrant signed by a judge" in html
    assert "without talking to a lawyer" in html
    for secret in ("Unique words", "Soto", "555 0199", "34.04"):
        assert secret not in html


@pytest.mark.django_db
def test_thanks_page_does_not_tell_whether_a_receipt_exists(client):
    # Any well-formed receipt gets the same page (no lookup to probe); anything else is a 404.
    assert client.get("/report/thanks/ABCD-EFGH/").status_code == 200
    assert client.get("/report/thanks/<script>/").status_code == 404
    assert client.get("/report/thanks/abcd-efgh/").status_code == 404


@pytest.mark.django_db
def test_report_without_javascript_needs_only_the_place_text(client):
    response = client.post(
        URL, {"activity": "checkpoint", "place_text": "Whittier Blvd & Atlantic"}
    )
    assert response.status_code == 302
    report = Report.objects.get()
    assert report.lat is None and report.lng is None and report.cell7 == ""
    assert report.agency == "unknown"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"lat": "95"}, "That location is not on the map"),
        ({"lng": "-500"}, "That location is not on the map"),
        ({"lat": "not a number"}, "That location is not on the map"),
        ({"lng": ""}, "Give both latitude and longitude, or neither"),
        ({"agents_count": "501"}, "Enter a number between 0 and 500"),
        ({"vehicles_count": "-1"}, "Enter a number between 0 and 500"),
        ({"agents_count": "lots"}, "Enter a number between 0 and 500"),
        ({"seen_at": "2999-01-01T10:00"}, "cannot be in the future"),
        ({"seen_at": "yesterday"}, "Enter a date and time"),
        ({"place_text": "x" * 301}, "under 300 characters"),
        ({"description": "x" * 2001}, "under 2000 characters"),
        ({"activity": "raid"}, "Select a valid choice"),
        ({"lat": "", "lng": "", "place_text": ""}, "Tell us where"),
    ],
)
def test_bad_fields_are_explained_and_nothing_is_saved(client, _media, overrides, message):
    response = client.post(URL, full_report(**overrides))
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert "The report was not sent yet" in html
    assert Report.objects.count() == 0


@pytest.mark.django_db
def test_empty_report_is_explained(client):
    response = client.post(URL, {"agency": "unknown", "seen_at": ""})
    assert response.status_code == 200
    assert "Tell us at least where it is or what you saw." in response.content.decode()
    assert Report.objects.count() == 0


@pytest.mark.django_db
def test_text_renamed_jpg_is_refused(client, _media):
    response = client.post(URL, full_report(photos=[upload(b"just some text\n" * 50, "cat.jpg")]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "“cat.jpg” is not a photo" in html
    assert "choose them again" in html
    assert Report.objects.count() == 0 and Attachment.objects.count() == 0
    assert media_files(_media) == []


@pytest.mark.django_db
def test_six_photos_are_refused(client, _media):
    photos = [upload(jpeg_with_gps(), f"p{i}.jpg") for i in range(6)]
    response = client.post(URL, full_report(photos=photos))
    assert response.status_code == 200
    assert "Attach at most 5 photos." in response.content.decode()
    assert Report.objects.count() == 0 and media_files(_media) == []


@pytest.mark.django_db
def test_five_photos_are_accepted(client, _media):
    photos = [upload(jpeg_with_gps(), f"p{i}.jpg") for i in range(5)]
    response = client.post(URL, full_report(photos=photos))
    assert response.status_code == 302
    assert Attachment.objects.count() == 5 and len(media_files(_media)) == 5


@pytest.mark.django_db
def test_photo_over_10_mb_is_refused(client, _media):
    big = jpeg_with_gps() + b"\0" * (11 * 1024 * 1024)  # a valid JPEG start, 11 MB in all
    response = client.post(URL, full_report(photos=[upload(big, "big.jpg")]))
    assert response.status_code == 200
    assert "“big.jpg” is too big. Each photo must be 10 MB or smaller." in response.content.decode()
    assert Report.objects.count() == 0 and media_files(_media) == []


@pytest.mark.django_db
def test_what_they_typed_is_kept_when_the_form_has_an_error(client):
    response = client.post(URL, full_report(lat="95", place_text="Near the laundromat on 4th"))
    html = response.content.decode()
    assert 'value="Near the laundromat on 4th"' in html
    assert "Two people detained outside the market." in html
    assert 'value="6"' in html  # agents
    assert 'value="street" id="id_activity_1" checked' in html


@pytest.mark.django_db
def test_script_in_text_fields_is_only_text(client):
    script = "<script>alert('x')</script>"
    response = client.post(URL, full_report(lat="95", description=script, equipment=script))
    html = response.content.decode()
    assert script not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    response = client.post(URL, full_report(description=script))
    assert response.status_code == 302
    report = Report.objects.get()
    assert report.description == script  # stored as the text it is
    thanks = client.get(response["Location"]).content.decode()
    assert script not in thanks


@pytest.mark.django_db
def test_spanish_visitor_report_is_marked_spanish(client):
    response = client.post(URL, full_report(), HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 302
    assert Report.objects.get().language == "es"


@pytest.mark.django_db
def test_rate_limit_answers_429_with_a_clear_message(client, settings):
    settings.REPORT_RATE_LIMIT = 3
    # A fixed instant: a fixed-window counter must not roll over in the middle of the test.
    with time_machine.travel(datetime(2025, 6, 10, 19, 1, tzinfo=UTC), tick=False):
        for _ in range(3):
            assert client.post(URL, full_report(seen_at="")).status_code == 302
        response = client.post(URL, full_report(seen_at=""))
    assert response.status_code == 429
    assert "Too many reports from this connection. Wait a few minutes, or call the hotline." in (
        response.content.decode()
    )
    assert response["Retry-After"]
    assert Report.objects.count() == 3
    # Another connection is not affected.
    other = Client(REMOTE_ADDR=random_ip())
    assert other.post(URL, full_report(seen_at="")).status_code == 302


@pytest.mark.django_db
def test_invalid_submissions_do_not_use_up_the_rate_limit(client, settings):
    settings.REPORT_RATE_LIMIT = 2
    with time_machine.travel(datetime(2025, 6, 10, 19, 1, tzinfo=UTC), tick=False):
        for _ in range(3):
            assert client.post(URL, full_report(lat="95", seen_at="")).status_code == 200
        assert client.post(URL, full_report(seen_at="")).status_code == 302


@pytest.mark.django_db
def test_signed_in_vouched_member_report_is_trusted(client, personas):

    neighbor = make_member("neighbor", tier=Tier.VOUCHED)
    sign_in(client, neighbor)
    assert client.post(URL, full_report()).status_code == 302
    report = Report.objects.get()
    assert report.reporter_member == neighbor and report.trusted
    assert report.reporter_tier == Tier.VOUCHED


@pytest.mark.django_db
def test_signed_in_newcomer_report_carries_tier_but_is_not_trusted(client, personas):

    sign_in(client, personas.newcomer)
    assert client.post(URL, full_report()).status_code == 302
    report = Report.objects.get()
    assert report.reporter_member == personas.newcomer
    assert report.reporter_tier == Tier.NEW and not report.trusted


@pytest.mark.django_db
def test_photo_the_service_refuses_is_explained_after_the_rate_check(client, monkeypatch):
    # A photo that passes the quick check but fails re-encoding: the service's own error
    # comes back on the form, nothing is saved.
    def refuse(content):
        raise services.ReportInvalid({"photos": "Only photos (JPEG, PNG, WebP or GIF)"})

    monkeypatch.setattr(services, "clean_photo", refuse)
    response = client.post(URL, full_report(photos=[upload(jpeg_with_gps())]))
    assert response.status_code == 200
    assert "Only photos (JPEG, PNG, WebP or GIF)" in response.content.decode()
    assert Report.objects.count() == 0


def test_direction_overrides_are_dropped_from_what_a_stranger_types(client, personas):
    # U+202E showed the rest of a description reversed on the console ("desrever"); U+2066 and
    # U+2069 isolate; U+0007 is a control character. The Arabic letter mark U+061C stays.
    client.post(
        URL,
        full_report(
            description="Agents at the \u202eesrever\u202c door\u0007",
            place_text="\u2066Boyle Heights\u2069 \u061cشارع",
        ),
    )
    report = Report.objects.get()
    assert report.description == "Agents at the esrever door"
    assert report.place_text == "Boyle Heights \u061cشارع"
    sign_in(client, personas.dispatcher)
    page = client.get("/console/").content.decode()
    assert "\u202e" not in page and "\u2066" not in page and "esrever" in page
