"""Importing people in the app: upload, map the columns, preview, dry run, import, report."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from tests.conftest import sign_in
from vecinos.alerts.models import Subscriber
from vecinos.core.audit import AuditEvent
from vecinos.onboarding.models import ImportJob

pytestmark = pytest.mark.django_db

CSV = (
    "Teléfono,Idioma,Código postal,Permiso,Nota\n"
    "(213) 555-0170,español,90033,hoja 2025,\n"
    "12345,es,90033,hoja,\n"
    "213-555-0171,en,90011,web,\n"
).encode()


def upload(client, org, data=CSV, kind="subscribers", name="lista.csv"):
    return client.post(
        reverse("import_start"),
        {"organization": org.pk, "kind": kind, "file": SimpleUploadedFile(name, data)},
    )


def test_a_csv_the_csv_module_cannot_read_is_refused_with_a_message(personas, login):
    """Outside probe, session 18: a field longer than Python's csv limit (131,072 characters)
    answered 500."""
    client = login(personas.coordinator)
    data = b"phone,consent,zip\n" + b'"' + b"x" * 140_000 + b'",form,90033\n'
    response = upload(client, personas.org_a, data=data)
    assert response.status_code == 200
    assert "not a readable CSV file" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_coordinator_uploads_maps_previews_dry_runs_and_imports(
    personas, login, django_capture_on_commit_callbacks
):
    client = login(personas.coordinator)
    response = upload(client, personas.org_a)
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response.url == reverse("import_job", args=[job.pk])
    assert job.file and bytes(job.file)[:5] == b"VREC1"  # encrypted at rest, not the CSV
    page = client.get(reverse("import_job", args=[job.pk]))
    html = page.content.decode()
    # Columns suggested from the Spanish headers; the first rows checked.
    assert '<option value="0" selected>Teléfono</option>' in html
    assert '<option value="3" selected>Permiso</option>' in html
    assert "not a valid phone number" in html
    assert "Nota" in html  # ignored column named
    mapping = {"phone": "0", "language": "1", "zip": "2", "consent": "3", "email": "", "zone": ""}
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("import_job", args=[job.pk]), {**mapping, "action": "dry_run"})
    job.refresh_from_db()
    assert job.status == "done" and job.dry_run
    assert (job.result["accepted"], job.result["errors"]) == (2, 1)
    assert Subscriber.objects.count() == 0
    html = client.get(reverse("import_job", args=[job.pk])).content.decode()
    assert "Dry run: nothing was saved" in html
    report = client.get(reverse("import_report", args=[job.pk]))
    assert report["Content-Type"].startswith("text/csv")
    assert report.content.decode().splitlines()[1] == "3,error,not a valid phone number"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("import_job", args=[job.pk]), {**mapping, "action": "import"})
    job.refresh_from_db()
    assert job.status == "done" and not job.dry_run
    assert Subscriber.objects.count() == 2
    assert bytes(job.file) == b""  # the file is not kept
    assert AuditEvent.objects.filter(action="import.subscribers").count() == 2
    # The report stays downloadable; the finished job offers no second run.
    assert client.get(reverse("import_report", args=[job.pk])).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("import_job", args=[job.pk]), {**mapping, "action": "import"})
    assert Subscriber.objects.count() == 2


def test_progress_fragment_tells_the_page_to_refresh_when_done(personas, login):
    client = login(personas.coordinator)
    upload(client, personas.org_a)
    job = ImportJob.objects.get()
    job.status, job.rows_done = "running", 1
    job.save()
    fragment = client.get(reverse("import_progress", args=[job.pk]))
    assert "1 of 3 rows" in fragment.content.decode()
    assert "HX-Refresh" not in fragment
    job.status = "done"
    job.save()
    assert client.get(reverse("import_progress", args=[job.pk]))["HX-Refresh"] == "true"


def test_a_missing_required_column_blocks_the_import(personas, login):
    client = login(personas.coordinator)
    upload(client, personas.org_a, data=b"phone,name\n2135550170,Ana\n")
    job = ImportJob.objects.get()
    response = client.post(
        reverse("import_job", args=[job.pk]), {"phone": "0", "consent": "", "action": "import"}
    )
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    job.refresh_from_db()
    assert job.status == "uploaded" and Subscriber.objects.count() == 0


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "The submitted file is empty"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1xx", ".xlsx or .csv"),
    ],
)
def test_unreadable_uploads_are_refused_on_the_form(personas, login, data, message):
    client = login(personas.coordinator)
    response = upload(client, personas.org_a, data=data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_coordinator_cannot_import_into_another_organization(personas, login):
    client = login(personas.coordinator)
    response = upload(client, personas.org_b)
    assert response.status_code == 200  # org B is not among the choices
    assert "Select a valid choice" in response.content.decode()
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize("who", ["dispatcher", "verifier", "newcomer", "outsider", "anonymous"])
def test_only_the_uploader_and_coordinators_reach_imports(personas, login, who):
    owner = login(personas.coordinator)
    upload(owner, personas.org_a)
    job = ImportJob.objects.get()
    client = sign_in(Client(), getattr(personas, who, None) if who != "anonymous" else None)
    urls = [
        reverse("import_job", args=[job.pk]),
        reverse("import_progress", args=[job.pk]),
        reverse("import_report", args=[job.pk]),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code in (302, 403, 404), url
        if response.status_code == 302:
            assert "signin" in response.url
    start = client.get(reverse("import_start"))
    if who == "outsider":
        assert start.status_code == 200  # a coordinator of org B may import into org B
    else:
        assert start.status_code in (302, 403)


def test_abandoned_uploads_are_forgotten_after_a_day(personas, login):
    from datetime import timedelta

    from django.utils import timezone

    from vecinos.onboarding.services import import_jobs_forget

    client = login(personas.coordinator)
    upload(client, personas.org_a)
    assert import_jobs_forget() == 0
    assert import_jobs_forget(now=timezone.now() + timedelta(hours=25)) == 1
    assert bytes(ImportJob.objects.get().file) == b""


def test_results_are_in_the_language_of_the_page_that_started_them(
    personas, login, django_capture_on_commit_callbacks
):
    # The worker ran the import in its own default language: an Arabic page showed "not a
    # valid phone number" (outside walk).
    import json

    from django.utils import translation
    from django.utils.translation import gettext

    client = login(personas.coordinator)
    upload(client, personas.org_a)
    job = ImportJob.objects.get()
    mapping = {"phone": "0", "language": "1", "zip": "2", "consent": "3", "email": "", "zone": ""}
    with django_capture_on_commit_callbacks() as callbacks:
        client.post(
            reverse("import_job", args=[job.pk]),
            {**mapping, "action": "dry_run"},
            HTTP_ACCEPT_LANGUAGE="ar",
        )
    # The worker's thread: not the page's language.
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:
            callback()
    job.refresh_from_db()
    with translation.override("ar"):
        expected = gettext("not a valid phone number")
    assert expected != "not a valid phone number"
    assert expected in json.dumps(job.result, ensure_ascii=False)


def _run(client, org, data: bytes, action: str, callbacks) -> ImportJob:
    upload(client, org, data=data)
    job = ImportJob.objects.latest("pk")
    mapping = {"phone": "0", "language": "1", "zip": "2", "consent": "3", "email": "", "zone": ""}
    with callbacks(execute=True):
        client.post(reverse("import_job", args=[job.pk]), {**mapping, "action": action})
    job.refresh_from_db()
    return job


@pytest.mark.parametrize("action", ["dry_run", "import"])
def test_an_upload_cannot_ask_who_is_subscribed_or_texted_stop(
    personas, login, django_capture_on_commit_callbacks, action
):
    """An organization's coordinator could test a list of numbers against the whole coalition:
    "already subscribed" and "on the stop list" told them who was known. In the app every row
    written is only "accepted"; the audit log keeps the true counts."""
    from vecinos.alerts.models import OptOut
    from vecinos.network.phones import phone_index

    OptOut.objects.create(phone_index=phone_index("+12135550180"), source="sms")
    other = login(personas.coordinator)
    _run(other, personas.org_a, b"Telefono,Idioma,Zip,Permiso\n(213) 555-0181,es,90033,hoja\n",
         "import", django_capture_on_commit_callbacks)  # fmt: skip
    assert Subscriber.objects.count() == 1
    client = login(personas.outsider)  # another organization's coordinator
    header = b"Telefono,Idioma,Zip,Permiso\n"
    known = _run(client, personas.org_b, header + b"(213) 555-0180,es,90033,hoja\n"
                 b"(213) 555-0181,es,90033,hoja\n", action, django_capture_on_commit_callbacks)  # fmt: skip
    unknown = _run(client, personas.org_b, header + b"(213) 555-0182,es,90033,hoja\n"
                   b"(213) 555-0183,es,90033,hoja\n", action, django_capture_on_commit_callbacks)  # fmt: skip
    # The two files' results are the same: nothing tells the known numbers from the unknown.
    assert known.result == unknown.result, (known.result, unknown.result)
    assert known.result["accepted"] == 2 and known.result["problems"] == []
    page = client.get(reverse("import_job", args=[known.pk])).content.decode()
    assert "Accepted: 2 · Skipped: 0 · With errors: 0" in page
    assert "on the stop list" not in page and "already subscribed, nothing" not in page
    assert "this page does not say who was already subscribed" in page
    assert client.get(reverse("import_report", args=[known.pk])).content.decode().count("\n") == 1
    # What happened is still what must happen: STOP is honoured; the coalition's coordinators
    # see it all, the organization's log only what its page said (outside probe, session 18:
    # the true counts of a dry run in their own audit log told which numbers were known).
    assert not Subscriber.objects.filter(phone_index=phone_index("+12135550180")).exists()
    logged = AuditEvent.objects.filter(
        action="import.subscribers", organization_id=personas.org_b.pk
    )
    first = logged.order_by("pk").first()
    assert first.detail["accepted"] == 2 and "skipped" not in first.detail
    counts = next(
        e
        for e in AuditEvent.objects.filter(action="import.subscribers.counts").order_by("pk")
        if e.detail["organization"] == personas.org_b.pk
    )
    assert counts.organization_id is None
    assert (counts.detail["new"], counts.detail["updated"], counts.detail["skipped"]) == (0, 0, 2)
    own_log = client.get(reverse("audit_log")).content.decode()
    assert "accepted" in own_log and "skipped" not in own_log and ".counts" not in own_log
    coalition_log = login(personas.coalition).get(reverse("audit_log")).content.decode()
    assert "import.subscribers.counts" in coalition_log and "skipped" in coalition_log


def test_a_members_dry_run_cannot_ask_who_is_a_member_elsewhere_or_texted_stop(
    personas, login, django_capture_on_commit_callbacks
):
    """A members dry run told an organization's coordinator "already a member of another
    organization" and "N members are on the stop list" (outside walk, session 16)."""
    from vecinos.alerts.models import OptOut
    from vecinos.network.models import Membership
    from vecinos.network.phones import phone_index

    OptOut.objects.create(phone_index=phone_index("+12135550185"), source="sms")
    client = login(personas.coordinator)  # org A; the outsider (+1 213 555 0106) is org B's

    def dry_run(data: bytes) -> ImportJob:
        upload(client, personas.org_a, data=data, kind="members")
        job = ImportJob.objects.latest("pk")
        with django_capture_on_commit_callbacks(execute=True):
            client.post(
                reverse("import_job", args=[job.pk]),
                {"phone": "1", "name": "0", "action": "dry_run"},
            )
        job.refresh_from_db()
        return job

    known = dry_run(b"Nombre,Celular\nOtto,(213) 555-0106\nPia,(213) 555-0185\n")
    unknown = dry_run(b"Nombre,Celular\nUna,(213) 555-0186\nVal,(213) 555-0187\n")
    assert known.status == "done" and known.result == unknown.result, (known.result, unknown.result)
    assert known.result["accepted"] == 2 and not known.result["warnings"]
    page = client.get(reverse("import_job", args=[known.pk])).content.decode()
    assert "Accepted: 2 · Skipped: 0 · With errors: 0" in page
    assert "another organization: invite" not in page and "on the stop list and" not in page
    assert "does not say who is already a member of another organization" in page
    # The real thing still never pulls org B's member into org A's roster.
    upload(client, personas.org_a, data=b"Nombre,Celular\nOtto,(213) 555-0106\n", kind="members")
    job = ImportJob.objects.latest("pk")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("import_job", args=[job.pk]), {"phone": "1", "name": "0", "action": "import"}
        )
    assert not Membership.objects.filter(
        organization=personas.org_a, member=personas.outsider
    ).exists()
    event = AuditEvent.objects.filter(action="import.members.counts").order_by("pk").last()
    assert event.detail["new"] == 1  # held until Otto says yes to the link texted to him


def _roster_rows(client, org) -> set[str]:
    html = client.get(reverse("roster", args=[org.pk])).content.decode()
    return set(re.findall(r"<strong translate=\"no\">([^<]+)</strong>", html))


def _joining_link(address: str) -> str:
    from vecinos.messaging import services as messaging
    from vecinos.transports.models import OutboxMessage

    messaging.dispatch()
    bodies = [m.body for m in OutboxMessage.objects.all() if m.address == address]
    links = [m.group(1) for b in bodies if (m := re.search(r"https?://[^/\s]+(/joining/\S+/)", b))]
    assert links, bodies
    return links[-1]


def test_a_members_import_leaves_no_trace_of_who_is_known_until_they_say_yes(
    personas, login, django_capture_on_commit_callbacks
):
    """Outside probe, session 17: after a real members import, org A's roster showed the new
    numbers and not org B's member, so any organization's coordinator could test numbers
    against the whole coalition. Now an organization's coordinator's import adds nobody it
    does not have: every row waits, texted a link; only people who say yes join the roster."""
    from vecinos.alerts.models import OptOut
    from vecinos.network.models import Member, Membership
    from vecinos.network.phones import phone_index
    from vecinos.onboarding.models import PendingMember

    OptOut.objects.create(phone_index=phone_index("+12135550185"), source="sms")
    client = login(personas.coordinator)  # org A; the outsider (+1 213 555 0106) is org B's
    before = _roster_rows(client, personas.org_a)
    members_before = Member.objects.count()
    data = (
        b"Nombre,Celular,Roles\nOtto,(213) 555-0106,responder\nPia,(213) 555-0185,\n"
        b"Una,(213) 555-0186,responder\n"
    )
    upload(client, personas.org_a, data=data, kind="members")
    job = ImportJob.objects.latest("pk")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("import_job", args=[job.pk]),
            {"phone": "1", "name": "0", "roles": "2", "action": "import"},
        )
    page = client.get(reverse("import_job", args=[job.pk])).content.decode()
    assert "Accepted: 3 · Skipped: 0 · With errors: 0" in page and "get a text with a link" in page
    # Nobody new on the roster, nobody created: a known number and a new one look the same.
    assert _roster_rows(client, personas.org_a) == before
    assert Member.objects.count() == members_before
    assert PendingMember.objects.filter(organization=personas.org_a).count() == 3
    waiting = client.get(reverse("import_start")).content.decode()
    assert all(name in waiting for name in ("Otto", "Pia", "Una"))
    assert AuditEvent.objects.filter(action="import.pending_view").exists()
    # The number that texted STOP gets no text; the two others get their link.
    otto, una = _joining_link("+12135550106"), _joining_link("+12135550186")
    with pytest.raises(AssertionError):
        _joining_link("+12135550185")
    # Org B's member says yes: they keep their account and join org A as the file said.
    anonymous = Client()
    assert "Join" in anonymous.get(otto).content.decode()
    assert not Membership.objects.filter(organization=personas.org_a, member=personas.outsider)
    joined = anonymous.post(otto, {"action": "join"}).content.decode()
    assert "network" in joined
    roles = Membership.objects.filter(organization=personas.org_a, member=personas.outsider)
    assert set(roles.values_list("role", flat=True)) == {"responder"}
    assert personas.outsider.username in _roster_rows(client, personas.org_a)
    # The new number says no: forgotten, nobody created.
    anonymous.post(una, {"action": "decline"})
    assert not PendingMember.objects.filter(phone_index=phone_index("+12135550186")).exists()
    assert not Member.objects.filter(phone_index=phone_index("+12135550186")).exists()
    # A used link says it was answered (people tap a texted link twice: outside walk, session
    # 18), without saying how; a forged one opens nothing.
    again = anonymous.get(otto, HTTP_ACCEPT_LANGUAGE="es")
    assert again.status_code == 410 and "ya se respondió" in again.content.decode()
    assert "Org A" not in again.content.decode()
    assert anonymous.post(una, {"action": "join"}).status_code == 410
    assert not Member.objects.filter(phone_index=phone_index("+12135550186")).exists()
    assert anonymous.get(otto.replace("/joining/", "/joining/x")).status_code == 404
    # The outbox is not an organization's coordinator's (outside probe, session 19: it holds
    # every organization's texts); the dispatchers' shows the texts, never a link that
    # answers for the person (outside walk, session 18: one opened a joining link from there).
    assert client.get("/outbox/").status_code == 403
    outbox = login(personas.dispatcher).get("/outbox/").content.decode()
    assert "/joining/…/" in outbox
    assert otto.split("/")[2] not in outbox and una.split("/")[2] not in outbox


def test_a_new_person_who_says_yes_becomes_a_member_with_the_files_places(
    personas, login, django_capture_on_commit_callbacks
):
    from vecinos.alerts.models import Subscriber
    from vecinos.network.models import Member
    from vecinos.network.phones import phone_index

    client = login(personas.coordinator)
    data = b"name,phone,zip,language\nRosa,(213) 555-0188,90033,en\n"
    upload(client, personas.org_a, data=data, kind="members")
    job = ImportJob.objects.latest("pk")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("import_job", args=[job.pk]),
            {"name": "0", "phone": "1", "zip": "2", "language": "3", "action": "import"},
        )
    link = _joining_link("+12135550188")
    Client().post(link, {"action": "join"})
    member = Member.objects.get(phone_index=phone_index("+12135550188"))
    assert member.full_name == "Rosa" and member.preferred_language == "en"
    assert member.memberships.filter(organization=personas.org_a, role="subscriber").exists()
    assert Subscriber.objects.get(member=member).areas.count() == 1


def test_the_coalitions_coordinators_import_members_at_once(
    personas, login, django_capture_on_commit_callbacks
):
    from vecinos.network.models import Membership
    from vecinos.onboarding.models import PendingMember

    client = login(personas.coalition)
    upload(client, personas.org_a, data=b"name,phone\nIvo,(213) 555-0189\n", kind="members")
    job = ImportJob.objects.latest("pk")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("import_job", args=[job.pk]), {"name": "0", "phone": "1", "action": "import"}
        )
    assert not PendingMember.objects.exists()
    joined = Membership.objects.filter(organization=personas.org_a).select_related("member")
    assert "Ivo" in {m.member.full_name for m in joined}
