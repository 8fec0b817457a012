"""A copy of the database without the key places no named person finer than a neighborhood.

A verifier's on-duty position, a member's own alert place and a member's quick-report position
are ciphertext (or, for an alert place, only its H3 res-7 cell), and so are the report's
equipment text and every alert's text. Expired duty rows are deleted by a periodic task.
Checked below the ORM: every column of every table, numbers and text.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

import h3
import pytest
import time_machine
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from vecinos.alerts import services as alerts
from vecinos.alerts.models import Alert, Subscriber, SubscriptionArea, Tier
from vecinos.core import geo
from vecinos.reports.models import OnDuty, Report
from vecinos.reports.tasks import purge_expired_duty
from vecinos.transports import registry

# A cell's centre, and a point about 650 m north-east of it (same res-7 cell, far from the centre).
CELL = geo.cell_of(34.0407, -118.2110, geo.COARSE_RESOLUTION)
CENTRE = h3.cell_to_latlng(CELL)
HOME = (round(CENTRE[0] + 0.0045, 3), round(CENTRE[1] + 0.005, 3))
DUTY_AT = (34.0623417, -118.2398761)
QUICK_AT = (34.0731253, -118.2261841)
REPORT_AT = (34.0519283, -118.2534712)


@pytest.fixture(autouse=True)
def _fresh(settings):
    settings.SECRET_KEY = secrets.token_urlsafe(50)  # own rate-limit keys
    registry.reset()
    yield
    registry.reset()


def raw_values() -> list[object]:
    """Every value of every row of every table, as the database driver returns it."""
    values: list[object] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - our own table names
            for row in cursor.fetchall():
                values.extend(row)
    return values


def near_in_clear(values: list[object], point: tuple[float, float], within: float) -> object:
    """Is the latitude or the longitude of `point` in the rows, in clear, within `within`?"""
    for value in values:
        if isinstance(value, bool):
            continue
        if isinstance(value, (int, float)):
            numbers = [float(value)]
        elif isinstance(value, (str, bytes)):
            text = value.decode("latin-1") if isinstance(value, bytes) else value
            if text.startswith("v1:"):
                continue
            numbers = []
            for token in text.replace(",", " ").replace('"', " ").split():
                try:
                    numbers.append(float(token))
                except ValueError:
                    pass
        else:
            continue
        for number in numbers:
            if abs(number - point[0]) < within or abs(number - point[1]) < within:
                return value
    return None


def raw_text(values: list[object]) -> str:
    return "\n".join(
        v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in values if v is not None
    )


@pytest.mark.django_db(transaction=True)
def test_named_people_positions_and_texts_are_not_in_clear(client, login, personas):
    # A verifier goes on duty from their phone, with their position.
    login(personas.verifier)
    response = client.post(
        reverse("duty"),
        {"role": "verifier", "hours": "4", "lat": DUTY_AT[0], "lng": DUTY_AT[1]},
    )
    assert response.status_code == 302
    duty = OnDuty.objects.get(member=personas.verifier)
    assert (duty.lat, duty.lng) == DUTY_AT  # the application still reads it
    # ... and files a quick report from where they stand.
    response = client.post(
        reverse("quick_report"),
        {"activity": "checkpoint", "lat": QUICK_AT[0], "lng": QUICK_AT[1], "how_many": "5"},
    )
    assert response.status_code == 302
    quick = Report.objects.get(reporter_member=personas.verifier)
    assert (round(quick.lat, 4), round(quick.lng, 4)) == (
        round(QUICK_AT[0], 4),
        round(QUICK_AT[1], 4),
    )
    # ... and adds their home as an alert place.
    response = client.post(
        reverse("my_subscriptions"),
        {"action": "area", "lat": HOME[0], "lng": HOME[1], "radius_m": "500", "label": "home"},
    )
    assert response.status_code == 302
    area = SubscriptionArea.objects.get(subscriber__member=personas.verifier, zone=None)
    assert area.cell7 == CELL and area.shown_radius_m == 500
    # A dispatcher sends an internal alert whose text names a place.
    alert_text = "Reunión urgente en la casa azul de la calle Soto"
    alerts.alert_send(
        alert=alerts.alert_create(
            actor=personas.dispatcher,
            kind=Alert.Kind.ACTIVATION,
            tiers=[Tier.INTERNAL],
            messages={"es": alert_text},
        ),
        actor=personas.dispatcher,
    )
    # Someone reports equipment seen.
    client.logout()
    equipment = "Chalecos verdes con la palabra POLICE y una furgoneta gris"
    response = client.post(
        "/api/v1/reports",
        {
            "activity": "checkpoint",
            "lat": REPORT_AT[0],
            "lng": REPORT_AT[1],
            "equipment": equipment,
            "agents_count": 3,
        },
        content_type="application/json",
    )
    assert response.status_code in (200, 201), response.content

    values = raw_values()
    text = raw_text(values)
    assert near_in_clear(values, DUTY_AT, 0.002) is None, "duty position in clear"
    assert near_in_clear(values, QUICK_AT, 0.002) is None, "quick-report position in clear"
    assert near_in_clear(values, REPORT_AT, 0.002) is None, "report position in clear"
    assert near_in_clear(values, HOME, 0.003) is None, "home place in clear"
    assert alert_text not in text and "casa azul" not in text
    assert equipment not in text and "Chalecos" not in text


@pytest.mark.django_db
def test_member_place_is_still_reached_by_alerts_around_it(personas):
    sub = alerts.subscribe(
        member=personas.verifier,
        phone="+12135550177",
        point=HOME,
        radius_m=500,
        label="home",
        confirmed=True,
    )
    area = SubscriptionArea.objects.get(subscriber=sub)
    assert (area.lat, area.lng) != HOME and area.cell7 == CELL
    # An alert 900 m from the home with a 500 m radius touches the 500 m circle around it.
    north = (HOME[0] + 0.0081, HOME[1])
    assert geo.haversine_m(*HOME, *north) < 1000
    assert sub.pk in alerts.subscribers_in_area(point=north, radius_m=500)
    assert sub.pk in alerts.subscribers_in_area(point=HOME, radius_m=50)
    far = (HOME[0] + 0.09, HOME[1])  # 10 km away
    assert sub.pk not in alerts.subscribers_in_area(point=far, radius_m=500)
    assert Subscriber.objects.filter(pk=sub.pk, status=Subscriber.Status.ACTIVE).exists()


@pytest.mark.django_db
def test_expired_duty_rows_are_deleted_by_the_periodic_task(client, login, personas):
    login(personas.verifier)
    client.post(
        reverse("duty"), {"role": "verifier", "hours": "1", "lat": DUTY_AT[0], "lng": DUTY_AT[1]}
    )
    assert OnDuty.objects.filter(member=personas.verifier).exists()
    assert purge_expired_duty.call_local() == 0  # still on duty
    with time_machine.travel(timezone.now() + timedelta(hours=1, minutes=1)):
        assert purge_expired_duty.call_local() == 1
    assert not OnDuty.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_migrations_encrypt_rows_written_before(personas):
    from django.db.migrations.executor import MigrationExecutor

    before = [("reports", "0003_flood_indexes"), ("alerts", "0003_subscriber_push")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    member = personas.verifier.pk
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO reports_onduty (member_id, role, until, lat, lng, started_at) "
            "VALUES (%s, 'verifier', %s, %s, %s, %s)",
            [member, now + timedelta(hours=2), DUTY_AT[0], DUTY_AT[1], now],
        )
        cursor.execute(
            "INSERT INTO reports_onduty (member_id, role, until, lat, lng, started_at) "
            "VALUES (%s, 'dispatcher', %s, %s, %s, %s)",
            [member, now - timedelta(hours=2), QUICK_AT[0], QUICK_AT[1], now],
        )
        cursor.execute(
            "INSERT INTO alerts_alert (kind, status, tiers, area_label, messages, expires_at, "
            "created_at, escalation, recipients_count) "
            "VALUES ('activation', 'sent', '[\"internal\"]', '', %s, %s, %s, '{}', 0)",
            ['{"es": "Reuni\u00f3n en la casa azul"}', now + timedelta(hours=2), now],
        )
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    with connection.cursor() as cursor:
        cursor.execute("SELECT role, lat, lng FROM reports_onduty")
        rows = cursor.fetchall()
    assert [r[0] for r in rows] == ["verifier"]  # the expired row is gone
    assert all(str(v).startswith("v1:") for v in rows[0][1:])
    duty = OnDuty.objects.get()
    assert (duty.lat, duty.lng) == DUTY_AT
    with connection.cursor() as cursor:
        cursor.execute("SELECT messages FROM alerts_alert")
        (stored,) = cursor.fetchone()
    assert str(stored).startswith("v1:") and "casa azul" not in str(stored)
    assert Alert.objects.get().messages == {"es": "Reunión en la casa azul"}
