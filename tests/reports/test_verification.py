"""The verifier's signed link: accept or decline, then report the outcome from a phone."""

from __future__ import annotations

import io
from datetime import timedelta
from urllib.parse import urlparse

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from tests.conftest import make_member
from tests.reports.test_console import file_report
from vecinos.network.models import Role, Tier
from vecinos.reports import services
from vecinos.reports.models import Attachment, Incident, Triage, VerificationRequest
from vecinos.reports.services import read_media


def jpeg_with_gps() -> bytes:
    img = Image.new("RGB", (16, 16), (10, 120, 40))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (34.0, 3.0, 0.0)}  # GPSInfo
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif.tobytes())
    assert Image.open(io.BytesIO(out.getvalue())).getexif()
    return out.getvalue()


@pytest.fixture
def asked(personas):
    """An incident with a report photo, and the verifier asked by a dispatcher."""
    report = file_report(photos=1, description="Two white vans, agents in vests")
    incident = services.report_triage(
        report=report, tier=Triage.URGENT, actor=personas.dispatcher
    ).incident
    services.duty_start(member=personas.verifier, role="verifier", hours=2, lat=34.06, lng=-118.25)
    (vr,) = services.verifiers_request(
        incident=incident, verifiers=[personas.verifier], actor=personas.dispatcher
    )
    token = urlparse(services.signed_request_link(vr)).path.split("/")[2]
    return {"incident": incident, "vr": vr, "token": token, "report": report}


def urls(token: str) -> dict[str, str]:
    return {
        "page": reverse("verify_request", args=[token]),
        "respond": reverse("verify_respond", args=[token]),
        "outcome": reverse("verify_outcome", args=[token]),
        "thanks": reverse("verify_thanks", args=[token]),
    }


@pytest.mark.django_db
def test_signed_link_accept_then_confirm_moves_the_incident(asked, personas, login):
    phone = Client()  # the verifier's phone: nobody signed in
    u = urls(asked["token"])
    page = phone.get(u["page"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "Street arrest" in html and "ICE / ERO" in html
    assert "Two white vans" in html and "1st St &amp; Soto" in html
    assert 'href="geo:34.05000,-118.25000' in html
    assert "+1213" not in html  # no reporter or member contact on the page

    response = phone.post(u["respond"], {"accept": "yes"})
    assert response.status_code == 302 and response["Location"].endswith("#outcome")
    asked["vr"].refresh_from_db()
    assert asked["vr"].status == VerificationRequest.Status.ACCEPTED
    assert "You said you are going" in phone.get(u["page"]).content.decode()

    photo = SimpleUploadedFile("scene.jpg", jpeg_with_gps(), content_type="image/jpeg")
    response = phone.post(
        u["outcome"], {"outcome": "confirmed", "notes": "Six agents, two vans", "photos": [photo]}
    )
    assert response.status_code == 302 and response["Location"] == u["thanks"]
    incident = Incident.objects.get(pk=asked["incident"].pk)
    assert incident.status == Incident.Status.CONFIRMED == incident.outcome
    assert incident.verified_by == personas.verifier and incident.verified_at
    assert incident.ready_for_alert
    stored = Attachment.objects.get(incident=incident)
    with Image.open(io.BytesIO(read_media(stored))) as img:
        assert not img.getexif()  # camera and GPS data stripped
    thanks = phone.get(u["thanks"])
    assert thanks.status_code == 200 and "Confirmed" in thanks.content.decode()
    # Opening the link again goes to the thank-you page; the form is gone.
    assert phone.get(u["page"])["Location"] == u["thanks"]

    client = login(personas.dispatcher)
    page = client.get(reverse("console_incident", args=[incident.pk])).content.decode()
    assert "Ready for alert" in page and "Six agents, two vans" in page
    assert "<dt>Verified by</dt><dd>verifier," in page
    kinds = list(incident.events.values_list("kind", flat=True))
    assert kinds[-2:] == ["verifier_accepted", "outcome"]
    assert incident.events.get(kind="outcome").actor == personas.verifier


@pytest.mark.django_db
@pytest.mark.parametrize("outcome", ["false_alarm", "unable", "not_enforcement"])
def test_every_outcome_can_be_reported_directly_without_accepting_first(asked, outcome):
    u = urls(asked["token"])
    response = Client().post(u["outcome"], {"outcome": outcome, "notes": ""})
    assert response.status_code == 302
    incident = Incident.objects.get(pk=asked["incident"].pk)
    assert incident.status == outcome and incident.outcome == outcome
    assert not incident.ready_for_alert


@pytest.mark.django_db
def test_decline_is_recorded_and_shown_to_the_console(asked, personas, login):
    response = Client().post(urls(asked["token"])["respond"], {"accept": "no"})
    assert response.status_code == 302
    asked["vr"].refresh_from_db()
    assert asked["vr"].status == VerificationRequest.Status.DECLINED
    client = login(personas.dispatcher)
    live = client.get(reverse("console_incident_live", args=[asked["incident"].pk]))
    assert "Declined" in live.content.decode()


@pytest.mark.django_db
def test_tampered_token_is_gone(asked):
    token = asked["token"]
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    phone = Client()
    for name, url in urls(tampered).items():
        response = (
            phone.get(url) if name in ("page", "thanks") else phone.post(url, {"accept": "yes"})
        )
        assert response.status_code == 410, name
        assert "This link does not work" in response.content.decode()
    asked["vr"].refresh_from_db()
    assert asked["vr"].status == VerificationRequest.Status.SENT


@pytest.mark.django_db
def test_expired_link_is_gone(asked):
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        assert Client().get(urls(asked["token"])["page"]).status_code == 410


@pytest.mark.django_db
def test_link_of_a_deactivated_verifier_stops_working(asked, personas):
    personas.verifier.is_active = False
    personas.verifier.save(update_fields=["is_active"])
    assert Client().get(urls(asked["token"])["page"]).status_code == 410


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["dispatcher", "coalition", "newcomer", "outsider", "other"])
def test_someone_signed_in_as_another_member_is_refused(asked, personas, login, persona):
    member = (
        make_member("verifier2", org=personas.org_a, roles=(Role.VERIFIER,), tier=Tier.TRAINED)
        if persona == "other"
        else getattr(personas, persona)
    )
    client = login(member)
    u = urls(asked["token"])
    assert client.get(u["page"]).status_code == 403
    assert client.post(u["respond"], {"accept": "yes"}).status_code == 403
    assert client.post(u["outcome"], {"outcome": "confirmed"}).status_code == 403
    assert client.get(u["thanks"]).status_code == 403
    asked["vr"].refresh_from_db()
    assert asked["vr"].status == VerificationRequest.Status.SENT
    assert Incident.objects.get(pk=asked["incident"].pk).outcome == ""


@pytest.mark.django_db
def test_the_verifier_signed_in_on_their_phone_may_use_the_link(asked, personas, login):
    client = login(personas.verifier)
    assert client.get(urls(asked["token"])["page"]).status_code == 200


@pytest.mark.django_db
def test_opening_the_link_lets_that_phone_see_the_reports_photos(asked):
    photo = Attachment.objects.get(report=asked["report"])
    url = reverse("console_media", args=[photo.pk])
    stranger = Client()
    response = stranger.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    phone = Client()
    page = phone.get(urls(asked["token"])["page"]).content.decode()
    assert url in page
    assert phone.get(url).status_code == 200


@pytest.mark.django_db
def test_bad_outcome_input_gets_a_clear_message_and_changes_nothing(asked):
    phone = Client()
    u = urls(asked["token"])
    response = phone.post(u["outcome"], {"notes": "x"})
    assert response.status_code == 400 and "Choose what you found" in response.content.decode()
    text = SimpleUploadedFile("notes.txt", b"not an image", content_type="text/plain")
    response = phone.post(u["outcome"], {"outcome": "confirmed", "photos": [text]})
    assert response.status_code == 400 and "Only photos" in response.content.decode()
    fake = SimpleUploadedFile("fake.jpg", b"GIF89a not really", content_type="image/jpeg")
    response = phone.post(u["outcome"], {"outcome": "confirmed", "photos": [fake]})
    assert response.status_code == 400 and "Only photos" in response.content.decode()
    many = [
        SimpleUploadedFile(f"p{i}.jpg", jpeg_with_gps(), content_type="image/jpeg")
        for i in range(6)
    ]
    response = phone.post(u["outcome"], {"outcome": "confirmed", "photos": many})
    assert response.status_code == 400 and "at most 5 photos" in response.content.decode()
    incident = Incident.objects.get(pk=asked["incident"].pk)
    assert incident.outcome == "" and not Attachment.objects.filter(incident=incident).exists()


@pytest.mark.django_db
def test_second_verifier_sees_the_incident_is_already_verified(asked, personas):
    second = make_member(
        "verifier2",
        org=personas.org_a,
        roles=(Role.VERIFIER,),
        tier=Tier.TRAINED,
        phone="+12135550177",
    )
    services.duty_start(member=second, role="verifier", hours=2)
    (vr2,) = services.verifiers_request(
        incident=asked["incident"], verifiers=[second], actor=personas.dispatcher
    )
    token2 = urlparse(services.signed_request_link(vr2)).path.split("/")[2]
    Client().post(urls(asked["token"])["outcome"], {"outcome": "false_alarm"})
    phone2 = Client()
    page = phone2.get(urls(token2)["page"]).content.decode()
    assert "Another verifier already reported" in page
    response = phone2.post(urls(token2)["outcome"], {"outcome": "confirmed"})
    assert response.status_code == 409
    incident = Incident.objects.get(pk=asked["incident"].pk)
    assert incident.outcome == "false_alarm" and incident.verified_by == personas.verifier
