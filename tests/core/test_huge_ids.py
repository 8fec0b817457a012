"""An id the database cannot hold (20 digits, or 2**63) is an invalid choice, never a 500.

SQLite raises OverflowError and PostgreSQL a DataError when such a number reaches a query:
Django's ModelMultipleChoiceField sends its values in one ``pk__in`` query, and a lookup through
a foreign key is not range-checked either. Every page and API body that takes row ids refuses
them as it refuses any unknown id. A walk over the project's forms keeps every multiple choice
of rows on the guarded field (vecinos.core.ids)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from datetime import timedelta

import pytest
from django import forms
from django.utils import timezone

import vecinos
from tests.conftest import sign_in
from vecinos.alerts.models import Alert
from vecinos.core import ids
from vecinos.mobilize.models import Activation, Event
from vecinos.network.services import token_create

HUGE = "99999999999999999999"  # 20 digits
JUST_TOO_BIG = str(2**63)  # 9223372036854775808
TOO_BIG = [HUGE, JUST_TOO_BIG]

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("console_transports")]


def invalid_choice(value: str) -> str:
    """Django's own (translated) message of a ModelMultipleChoiceField."""
    return f"Select a valid choice. {value} is not one of the available choices."


def bearer(member) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token_create(member=member, name='t').secret}"}


def in_an_hour() -> str:
    return (timezone.localtime() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")


# --- pages ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("zone", TOO_BIG)
def test_the_alert_composer_refuses_a_zone_id_too_big_for_the_database(client, personas, zone):
    sign_in(client, personas.coordinator)
    page = client.post(
        "/alerts/new/",
        {"kind": "notice", "tiers": "internal", "message_es": "hola", "zones": zone},
    )
    assert page.status_code == 200
    assert invalid_choice(zone) in page.content.decode()
    assert not Alert.objects.exists()


def test_the_alert_composer_says_it_in_the_persons_language(client, personas):
    sign_in(client, personas.coordinator)
    client.cookies["django_language"] = "es"
    page = client.post(
        "/alerts/new/",
        {"kind": "notice", "tiers": "internal", "message_es": "hola", "zones": HUGE},
        HTTP_ACCEPT_LANGUAGE="es",
    )
    assert page.status_code == 200
    assert f"{HUGE} no es una de las opciones disponibles" in page.content.decode()


@pytest.mark.parametrize("zone", TOO_BIG)
def test_the_call_out_page_refuses_a_zone_id_too_big_for_the_database(client, personas, zone):
    sign_in(client, personas.coordinator)
    page = client.post(
        "/mobilize/new/",
        {
            "staging_point": "Mariachi Plaza, east side",
            "needed_by": in_an_hour(),
            "role_observer": "2",
            "tiers": ["responders"],
            "wave_size": "20",
            "wave_minutes": "10",
            "zones": zone,
        },
    )
    assert page.status_code == 200
    assert invalid_choice(zone) in page.content.decode()
    assert not Activation.objects.exists()


def event_body(personas, **extra) -> dict:
    start = timezone.localtime() + timedelta(days=2)
    return {
        "kind": "vigil",
        "title_es": "Vigilia",
        "title_en": "Vigil",
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "place": "Plaza",
        "public": "on",
        "organization": personas.org_a.pk,
        **extra,
    }


@pytest.mark.parametrize("big", TOO_BIG)
def test_the_event_page_refuses_organization_ids_too_big_for_the_database(client, personas, big):
    sign_in(client, personas.coordinator)
    page = client.post("/events/new/", event_body(personas, hosts=big))
    assert page.status_code == 200
    assert invalid_choice(big) in page.content.decode()
    # The one organization (a ModelChoiceField: Django's own exact lookup is range-checked).
    page = client.post("/events/new/", event_body(personas, organization=big))
    assert page.status_code == 200
    assert "Select a valid choice. That choice is not one of the available choices." in (
        page.content.decode()
    )
    assert not Event.objects.exists()


@pytest.mark.parametrize("zone", TOO_BIG)
def test_the_composers_live_count_refuses_a_zone_id_too_big_for_the_database(
    client, personas, zone
):
    sign_in(client, personas.coordinator)
    response = client.get("/alerts/reach.json", {"tiers": "public", "zones": zone})
    assert response.status_code == 400
    assert response.json() == {"errors": {"zones": [invalid_choice(zone)]}}


@pytest.mark.parametrize("org", TOO_BIG)
def test_the_patrol_logs_refuse_an_organization_id_too_big_for_the_database(client, personas, org):
    # The coalition coordinator may read every organization's logs: the id reached the query.
    sign_in(client, personas.coalition)
    assert client.get("/patrols/coord/logs/", {"org": org}).status_code == 403
    assert client.get("/patrols/coord/logs/", {"org": personas.org_a.pk}).status_code == 200


# --- the JSON API ---------------------------------------------------------------------------------


def activation_body(**extra) -> dict:
    return {
        "staging_point": "x",
        "needed_by": (timezone.now() + timedelta(hours=1)).isoformat(),
        "roles": {"observer": 2},
        **extra,
    }


def refused_field(response) -> set[str]:
    """The fields named in the API's 422 answer (Ninja's {"detail": [{"loc": [...]}, ...]})."""
    assert response.status_code == 422, response.content
    assert response["Content-Type"].startswith("application/json")
    return {str(error["loc"][2]) for error in response.json()["detail"]}


@pytest.mark.parametrize("zone", [*TOO_BIG, "-1", "0"])
def test_the_call_out_api_refuses_zone_ids_that_are_no_row_ids(client, personas, zone):
    # json.dumps of the Python int: the body carries the bare 20-digit number.
    response = client.post(
        "/api/v1/activations",
        activation_body(zone_ids=[int(zone)]),
        content_type="application/json",
        **bearer(personas.coordinator),
    )
    assert refused_field(response) == {"zone_ids"}
    assert not Activation.objects.exists()


@pytest.mark.parametrize("value", [*TOO_BIG, "0"])
def test_the_call_out_api_refuses_an_incident_id_that_is_no_row_id(client, personas, value):
    response = client.post(
        "/api/v1/activations",
        activation_body(incident_id=int(value)),
        content_type="application/json",
        **bearer(personas.coordinator),
    )
    assert refused_field(response) == {"incident_id"}


@pytest.mark.parametrize("field", ["incident_id", "parent_id"])
@pytest.mark.parametrize("value", [*TOO_BIG, "0"])
def test_the_alert_api_refuses_ids_that_are_no_row_ids(client, personas, field, value):
    response = client.post(
        "/api/v1/alerts",
        {"kind": "notice", "tiers": ["internal"], "messages": {"es": "hola"}, field: int(value)},
        content_type="application/json",
        **bearer(personas.coordinator),
    )
    assert refused_field(response) == {field}
    assert not Alert.objects.exists()


# --- every multiple choice of rows is the guarded one ---------------------------------------------


def project_forms() -> list[type[forms.BaseForm]]:
    found: list[type[forms.BaseForm]] = []
    for info in pkgutil.walk_packages(vecinos.__path__, "vecinos."):
        leaf = info.name.rsplit(".", 1)[-1]
        if not leaf.startswith("forms"):
            continue
        module = importlib.import_module(info.name)
        for _name, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, forms.BaseForm) and value.__module__ == module.__name__:
                found.append(value)
    return found


def test_every_multiple_choice_of_rows_refuses_ids_too_big_for_the_database():
    checked = []
    for form in project_forms():
        for name, field in form.base_fields.items():
            if isinstance(field, forms.ModelMultipleChoiceField):
                assert isinstance(field, ids.ModelMultipleChoiceField), (form, name)
                checked.append((form.__name__, name))
    assert set(checked) >= {
        ("AlertForm", "zones"),
        ("ActivationForm", "zones"),
        ("EventForm", "hosts"),
        ("ReachForm", "zones"),
    }
