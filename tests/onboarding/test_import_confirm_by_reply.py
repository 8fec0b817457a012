"""Subscribers an organization's coordinator imports get alerts once they reply YES (outside
probe, session 18). Added at once, a new number raised the composer's "would reach" count at
its ZIP and a known one did not; a known person's new area showed their tier (dispatcher,
responder) and language, and was written into their subscription. Now new numbers wait,
pending (counted nowhere), texted who added them; nobody already here changes."""

from __future__ import annotations

import pytest
import zipcodes
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.twilio_stub import (  # noqa: F401  (fixtures)
    fresh_rate_limits,
    sms_reply,
    twilio_webhooks,
)
from vecinos.alerts.models import Subscriber, SubscriptionArea
from vecinos.messaging import services as messaging
from vecinos.network.phones import phone_index
from vecinos.onboarding.models import ImportJob
from vecinos.transports.models import OutboxMessage

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("twilio_webhooks", "fresh_rate_limits"),
]

NEW = "+12075550777"


def _centre(zip_code: str) -> tuple[float, float]:
    found = zipcodes.matching(zip_code)[0]
    return float(found["lat"]), float(found["long"])


def _reach(client, zip_code: str) -> int:
    lat, lng = _centre(zip_code)
    params = {"tiers": ["members", "public"], "lat": lat, "lng": lng}
    return client.get("/alerts/reach.json", {**params, "radius_m": 3000}).json()["total"]


def _import(client, org, data: bytes, callbacks) -> ImportJob:
    client.post(
        reverse("import_start"),
        {"organization": org.pk, "kind": "subscribers", "file": SimpleUploadedFile("l.csv", data)},
    )
    job = ImportJob.objects.latest("pk")
    with callbacks(execute=True):
        client.post(
            reverse("import_job", args=[job.pk]),
            {"phone": "0", "consent": "1", "zip": "2", "action": "import"},
        )
    return job


def test_an_organizations_import_waits_for_each_new_numbers_yes(
    client, personas, login, django_capture_on_commit_callbacks
):
    dispatcher = Subscriber.objects.create(
        member=personas.dispatcher, phone=personas.dispatcher.phone,
        phone_index=phone_index(personas.dispatcher.phone), status=Subscriber.Status.ACTIVE,
        language="es", source="web",
    )  # fmt: skip
    areas_before = SubscriptionArea.objects.filter(subscriber=dispatcher).count()
    coordinator = login(personas.coordinator)  # org A's, not the coalition's
    assert _reach(coordinator, "99501") == 0 and _reach(coordinator, "04401") == 0
    data = f"phone,consent,zip\n{personas.dispatcher.phone},form,99501\n{NEW},form,04401\n"
    job = _import(coordinator, personas.org_a, data.encode(), django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert job.status == "done" and job.result["accepted"] == 2 and job.result["by_reply"]
    page = coordinator.get(reverse("import_job", args=[job.pk])).content.decode()
    assert "reply YES" in page
    # Nothing anyone can count changed: the known person is untouched, the new one waits.
    assert _reach(coordinator, "99501") == 0 and _reach(coordinator, "04401") == 0
    assert SubscriptionArea.objects.filter(subscriber=dispatcher).count() == areas_before
    new = Subscriber.objects.get(phone_index=phone_index(NEW))
    assert new.status == Subscriber.Status.PENDING and new.confirm_code
    messaging.dispatch()
    [asked] = [m.body for m in OutboxMessage.objects.all() if m.address == NEW]
    assert "Org A agregó este número" in asked and "YES" in asked  # the file's language
    assert not [m for m in OutboxMessage.objects.all() if m.address == personas.dispatcher.phone]
    # Their YES subscribes them, for the place the file gave.
    assert sms_reply(client, NEW, "YES") is not None
    new.refresh_from_db()
    assert new.status == Subscriber.Status.ACTIVE
    assert _reach(coordinator, "04401") == 1


def test_the_coalitions_coordinators_import_subscribes_at_once(
    personas, login, django_capture_on_commit_callbacks
):
    coalition = login(personas.coalition)
    _import(coalition, personas.org_a, f"phone,consent,zip\n{NEW},form,04401\n".encode(),
            django_capture_on_commit_callbacks)  # fmt: skip
    assert Subscriber.objects.get(phone_index=phone_index(NEW)).status == Subscriber.Status.ACTIVE
    assert _reach(coalition, "04401") == 1


def test_a_number_that_never_replies_is_forgotten_after_30_days(
    personas, login, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    from vecinos.reports.services import purge_expired_reports

    coordinator = login(personas.coordinator)
    _import(coordinator, personas.org_a, f"phone,consent,zip\n{NEW},form,04401\n".encode(),
            django_capture_on_commit_callbacks)  # fmt: skip
    waiting = Subscriber.objects.filter(phone_index=phone_index(NEW))
    waiting.update(created_at=timezone.now() - timedelta(days=29))
    purge_expired_reports()  # the retention run
    assert waiting.exists()
    waiting.update(created_at=timezone.now() - timedelta(days=31))
    purge_expired_reports()  # the retention run
    assert not waiting.exists()


def _run(client, org, kind: str, data: str, callbacks, *, action: str = "import") -> ImportJob:
    client.post(
        reverse("import_start"),
        {"organization": org.pk, "kind": kind,
         "file": SimpleUploadedFile("l.csv", data.encode())},
    )  # fmt: skip
    job = ImportJob.objects.latest("pk")
    with callbacks(execute=True):
        client.post(
            reverse("import_job", args=[job.pk]),
            {"phone": "0", "consent": "1", "zip": "2", "name": "3", "action": action},
        )
    job.refresh_from_db()
    return job


@pytest.mark.parametrize("kind", ["subscribers", "members"])
def test_an_organizations_file_texts_nobody_abroad(
    personas, login, django_capture_on_commit_callbacks, kind
):
    """Outside probe, session 18: a members import of 300 UK numbers sent 300 texts in the
    coalition's name. Numbers outside the country are refused, row by row."""
    coordinator = login(personas.coordinator)
    data = f"phone,consent,zip,name\n+447911123456,form,90033,A\n{NEW},form,04401,B\n"
    job = _run(coordinator, personas.org_a, kind, data, django_capture_on_commit_callbacks)
    assert job.result["errors"] == 1 and job.result["accepted"] == 1
    assert "outside the country" in job.result["problems"][0][2]
    messaging.dispatch()
    assert not [m for m in OutboxMessage.objects.all() if m.address.startswith("+44")]
    assert [m for m in OutboxMessage.objects.all() if m.address == NEW]


def test_an_organization_texts_so_many_people_a_day_by_import(
    client, personas, login, settings, django_capture_on_commit_callbacks
):
    """Outside probe, session 18: an organization's imports could text any number of people
    in the coalition's name. So many a day (VECINOS_IMPORT_TEXTS_PER_DAY), counted alike for
    members and subscribers, whoever the rows were; the rest is refused line by line, and a
    dry run tells the same."""
    settings.IMPORT_TEXTS_PER_DAY = 3
    coordinator = login(personas.coordinator)
    page = coordinator.get(reverse("import_start")).content.decode()
    assert "Org A can bring in 3 more people today" in page
    numbers = [f"+1207555{n:04d}" for n in range(5)]
    members = "phone,consent,zip,name\n" + "".join(f"{p},form,04401,P{n}\n" for n, p in
                                                   enumerate(numbers[:2]))  # fmt: skip
    job = _run(coordinator, personas.org_a, "members", members, django_capture_on_commit_callbacks)
    assert job.result["accepted"] == 2 and job.result["errors"] == 0
    # One left: a dry run of three subscribers says two are over, and writes nothing.
    subscribers = "phone,consent,zip,name\n" + "".join(f"{p},form,04401,S\n" for p in numbers[2:])
    dry = _run(coordinator, personas.org_a, "subscribers", subscribers,
               django_capture_on_commit_callbacks, action="dry_run")  # fmt: skip
    assert dry.result["accepted"] == 1 and dry.result["errors"] == 2
    assert [p[0] for p in dry.result["problems"]] == [3, 4]
    assert (
        "limit" in dry.result["problems"][0][2] and "2 lines are over" in dry.result["warnings"][-1]
    )
    job = _run(coordinator, personas.org_a, "subscribers", subscribers,
               django_capture_on_commit_callbacks)  # fmt: skip
    assert job.result["accepted"] == 1 and job.result["errors"] == 2
    assert Subscriber.objects.filter(phone_index=phone_index(numbers[2])).exists()
    assert not Subscriber.objects.filter(phone_index=phone_index(numbers[3])).exists()
    messaging.dispatch()
    texted = {m.address for m in OutboxMessage.objects.all()}
    assert texted >= set(numbers[:3]) and not texted & set(numbers[3:])
    page = coordinator.get(reverse("import_start")).content.decode()
    assert "Org A can bring in 0 more people today" in page
    # Nothing left today; another organization's count is its own, and the coalition's
    # coordinators have none.
    job = _run(coordinator, personas.org_a, "subscribers", subscribers,
               django_capture_on_commit_callbacks)  # fmt: skip
    assert job.result["accepted"] == 0 and job.result["errors"] == 3
    coalition = login(personas.coalition)
    assert "more people today" not in coalition.get(reverse("import_start")).content.decode()
    job = _run(coalition, personas.org_a, "subscribers", subscribers,
               django_capture_on_commit_callbacks)  # fmt: skip
    assert job.result["accepted"] == 3 and job.result["errors"] == 0
