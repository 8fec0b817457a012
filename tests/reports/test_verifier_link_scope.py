"""A verifier's signed link unlocks the incident's photos only while its request is open: once
the verifier reported back, or the request was cancelled, or the incident closed, neither the
link nor the browser session it was opened in shows them any more, photos merged later
included."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.reports.test_console import file_report
from tests.reports.test_verification import asked, urls  # noqa: F401  (fixture)
from vecinos.network.models import Membership, Role
from vecinos.reports import services
from vecinos.reports.models import Attachment, VerificationRequest

pytestmark = pytest.mark.django_db


def photo_url(report) -> str:
    return reverse("console_media", args=[Attachment.objects.get(report=report).pk])


def test_photos_open_while_the_request_is_open(asked):  # noqa: F811
    phone = Client()
    phone.get(urls(asked["token"])["page"])
    assert phone.get(photo_url(asked["report"])).status_code == 200


def test_a_used_link_no_longer_unlocks_photos(asked, personas):  # noqa: F811
    phone = Client()
    u = urls(asked["token"])
    phone.get(u["page"])
    url = photo_url(asked["report"])
    assert phone.get(url).status_code == 200
    assert phone.post(u["outcome"], {"outcome": "unable", "notes": ""}).status_code == 302
    # The same phone, and anyone who opens the link afterwards, sees no photo.
    assert phone.get(url).status_code == 403
    stranger = Client()
    assert stranger.get(u["page"]).status_code == 302  # to the thank-you page
    assert stranger.get(url).status_code == 403


def test_a_photo_merged_after_the_link_was_used_stays_hidden(asked, personas):  # noqa: F811
    phone = Client()
    u = urls(asked["token"])
    phone.get(u["page"])
    phone.post(u["outcome"], {"outcome": "unable", "notes": ""})
    later = file_report(lat=34.0501, lng=-118.2501, photos=1)
    services.report_merge(report=later, incident=asked["incident"], actor=personas.dispatcher)
    assert phone.get(photo_url(later)).status_code == 403
    opened_later = Client()
    opened_later.get(u["page"])
    assert opened_later.get(photo_url(later)).status_code == 403


def test_a_cancelled_request_shows_neither_reports_nor_photos(asked):  # noqa: F811
    phone = Client()
    u = urls(asked["token"])
    phone.get(u["page"])
    VerificationRequest.objects.filter(pk=asked["vr"].pk).update(
        status=VerificationRequest.Status.CANCELLED
    )
    assert phone.get(photo_url(asked["report"])).status_code == 403
    page = phone.get(u["page"]).content.decode()
    assert "Two white vans" not in page
    assert reverse("console_media", args=[Attachment.objects.get().pk]) not in page


def test_a_closed_incident_closes_the_links_photos(asked, personas):  # noqa: F811
    phone = Client()
    phone.get(urls(asked["token"])["page"])
    services.incident_close(incident=asked["incident"], actor=personas.dispatcher)
    assert phone.get(photo_url(asked["report"])).status_code == 403


def test_a_verifier_who_lost_the_role_loses_the_photos(asked, personas, login):  # noqa: F811
    phone = Client()
    phone.get(urls(asked["token"])["page"])
    Membership.objects.filter(member=personas.verifier, role=Role.VERIFIER).delete()
    assert phone.get(photo_url(asked["report"])).status_code in (403, 410)


def test_the_signed_in_verifier_loses_the_photos_after_reporting_back(asked, personas, login):  # noqa: F811
    client = login(personas.verifier)
    url = photo_url(asked["report"])
    assert client.get(url).status_code == 200
    client.post(urls(asked["token"])["outcome"], {"outcome": "unable", "notes": ""})
    assert client.get(url).status_code == 403


def test_console_users_still_see_the_photos(asked, personas, login):  # noqa: F811
    Client().post(urls(asked["token"])["outcome"], {"outcome": "unable", "notes": ""})
    assert login(personas.dispatcher).get(photo_url(asked["report"])).status_code == 200
