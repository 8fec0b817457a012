"""CAP 1.2 documents and the Atom feed of public alerts, checked by parsing them.

Only sent alerts that include the public tier are exposed, and their location is coarse."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.utils import timezone

from vecinos.alerts import services
from vecinos.alerts.models import Alert, Tier
from vecinos.core import geo
from vecinos.network.models import Zone
from vecinos.transports import registry

CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
ATOM = "{http://www.w3.org/2005/Atom}"
BOYLE = (34.040712, -118.211043)
CAP_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d$")
# CAP 1.2 <alert> children in schema order (only the ones we use).
ALERT_ORDER = [
    "identifier",
    "sender",
    "sent",
    "status",
    "msgType",
    "scope",
    "note",
    "references",
    "info",
]
INFO_ORDER = [
    "language",
    "category",
    "event",
    "responseType",
    "urgency",
    "severity",
    "certainty",
    "expires",
    "senderName",
    "headline",
    "description",
    "web",
    "area",
]


@pytest.fixture(autouse=True)
def _console_transports():
    registry.reset()
    yield
    registry.reset()


def send_public(personas, **extra) -> Alert:
    fields = {
        "actor": personas.dispatcher,
        "kind": Alert.Kind.SIGHTING,
        "tiers": [Tier.PUBLIC],
        "messages": {
            "es": "Operativo confirmado cerca de Boyle Heights.",
            "en": "Confirmed operation near Boyle Heights.",
        },
        "point": BOYLE,
        "radius_m": 800,
        "area_label": "Boyle Heights",
    }
    fields.update(extra)
    alert = services.alert_create(**fields)
    services.alert_send(alert=alert, actor=personas.dispatcher)
    return services.alert_approve(alert=alert, actor=personas.coordinator)


def followup(personas, parent: Alert, kind: str) -> Alert:
    alert = services.alert_create(
        actor=personas.coordinator,
        kind=kind,
        tiers=[],
        messages={"es": "Todo despejado.", "en": "All clear."},
        parent=parent,
    )
    services.alert_send(alert=alert, actor=personas.coordinator)
    return services.alert_approve(alert=alert, actor=personas.dispatcher)


def cap(client, alert: Alert) -> ET.Element:
    response = client.get(f"/cap/alerts/{alert.pk}.xml")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    assert response.content.startswith(b"<?xml")
    return ET.fromstring(response.content)


def children(el: ET.Element, ns: str = CAP) -> list[str]:
    return [c.tag.removeprefix(ns) for c in el]


def is_in_order(tags: list[str], order: list[str]) -> bool:
    positions = [order.index(t) for t in tags]
    return positions == sorted(positions)


@pytest.mark.django_db
def test_cap_document_is_structurally_valid_with_one_info_per_language(client, personas):
    alert = send_public(personas)
    root = cap(client, alert)
    assert root.tag == f"{CAP}alert"
    tags = children(root)
    assert set(tags) <= set(ALERT_ORDER) and is_in_order(tags, ALERT_ORDER)
    for required in ("identifier", "sender", "sent", "status", "msgType", "scope"):
        assert root.findtext(f"{CAP}{required}"), required
    identifier = root.findtext(f"{CAP}identifier")
    assert not re.search(r"[\s,<&]", identifier)
    assert CAP_TIME.match(root.findtext(f"{CAP}sent"))
    assert root.findtext(f"{CAP}status") == "Actual"
    assert root.findtext(f"{CAP}msgType") == "Alert"
    assert root.findtext(f"{CAP}scope") == "Public"
    assert root.find(f"{CAP}references") is None
    infos = root.findall(f"{CAP}info")
    assert sorted(i.findtext(f"{CAP}language") for i in infos) == ["en-US", "es-US"]
    for info in infos:
        tags = children(info)
        assert is_in_order(tags, INFO_ORDER)
        for required in ("category", "event", "urgency", "severity", "certainty"):
            assert info.findtext(f"{CAP}{required}"), required
        assert info.findtext(f"{CAP}category") == "Safety"
        assert CAP_TIME.match(info.findtext(f"{CAP}expires"))
        lang = info.findtext(f"{CAP}language")[:2]
        assert info.findtext(f"{CAP}description") == alert.messages[lang]
        area = info.find(f"{CAP}area")
        assert area.findtext(f"{CAP}areaDesc") == "Boyle Heights"
        circles = [c.text for c in area.findall(f"{CAP}circle")]
        assert circles == ["34.04,-118.21 2.0"]  # rounded, and never under 2 km


@pytest.mark.django_db
def test_circle_is_coarse_whatever_the_precision_of_the_alert(client, personas):
    alert = send_public(personas, radius_m=3456)
    circle = cap(client, alert).find(f"{CAP}info/{CAP}area/{CAP}circle").text
    point, radius = circle.split(" ")
    lat, lng = point.split(",")
    assert len(lat.split(".")[1]) <= 2 and len(lng.split(".")[1]) <= 2
    assert float(radius) >= 3.456 and float(radius) >= 2


@pytest.mark.django_db
def test_zone_targeted_alert_names_the_zones_with_coarse_circles(client, personas):
    zone = Zone.objects.create(
        name="Boyle Heights",
        slug="boyle",
        kind="neighborhood",
        cells=geo.circle_cells(*BOYLE, 1500),
        center_lat=BOYLE[0],
        center_lng=BOYLE[1],
    )
    alert = send_public(personas, point=None, radius_m=None, zones=[zone], area_label="")
    area = cap(client, alert).find(f"{CAP}info/{CAP}area")
    assert area.findtext(f"{CAP}areaDesc") == "Boyle Heights"
    (circle,) = [c.text for c in area.findall(f"{CAP}circle")]
    assert circle.startswith("34.04,-118.21 ") and float(circle.split(" ")[1]) >= 2


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["all_clear", "update", "correction"])
def test_follow_ups_are_updates_that_reference_the_original(client, personas, kind):
    original = send_public(personas)
    follow = followup(personas, original, kind)
    root = cap(client, follow)
    first = cap(client, original)
    assert root.findtext(f"{CAP}msgType") == "Update"
    expected = ",".join(
        [
            first.findtext(f"{CAP}sender"),
            first.findtext(f"{CAP}identifier"),
            first.findtext(f"{CAP}sent"),
        ]
    )
    assert root.findtext(f"{CAP}references") == expected
    assert is_in_order(children(root), ALERT_ORDER)
    if kind == "correction":
        assert root.findtext(f"{CAP}note")
    if kind == "all_clear":
        assert root.findtext(f"{CAP}info/{CAP}responseType") == "AllClear"


@pytest.mark.django_db
def test_only_sent_public_alerts_are_exposed(client, personas):
    internal = services.alert_create(
        actor=personas.dispatcher,
        kind="activation",
        tiers=[Tier.INTERNAL],
        messages={"es": "Solo para despachadores."},
    )
    services.alert_send(alert=internal, actor=personas.dispatcher)
    pending = services.alert_create(
        actor=personas.dispatcher,
        kind="sighting",
        tiers=[Tier.PUBLIC],
        messages={"es": "Esperando aprobación."},
        point=BOYLE,
        radius_m=1000,
    )
    services.alert_send(alert=pending, actor=personas.dispatcher)
    public = send_public(personas)
    assert client.get(f"/cap/alerts/{internal.pk}.xml").status_code == 404
    assert client.get(f"/cap/alerts/{pending.pk}.xml").status_code == 404
    assert client.get("/cap/alerts/999.xml").status_code == 404

    response = client.get("/cap/alerts.atom")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):
        assert feed.findtext(f"{ATOM}{required}")
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 1
    entry = entries[0]
    link = entry.find(f"{ATOM}link")
    assert link.get("type") == "application/cap+xml"
    assert link.get("href").endswith(f"/cap/alerts/{public.pk}.xml")
    assert "Operativo confirmado" in entry.findtext(f"{ATOM}summary")
    assert "Solo para despachadores" not in response.content.decode()
    assert "Esperando" not in response.content.decode()


@pytest.mark.django_db
def test_feed_drops_alerts_expired_more_than_a_week_ago(client, personas):
    old = send_public(personas)
    recent = send_public(personas, messages={"es": "Otro operativo.", "en": "Another one."})
    Alert.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(days=8))
    Alert.objects.filter(pk=recent.pk).update(expires_at=timezone.now() - timedelta(days=2))
    feed = ET.fromstring(client.get("/cap/alerts.atom").content)
    hrefs = [e.find(f"{ATOM}link").get("href") for e in feed.findall(f"{ATOM}entry")]
    assert [h.rsplit("/", 1)[1] for h in hrefs] == [f"{recent.pk}.xml"]
    assert client.get(f"/cap/alerts/{old.pk}.xml").status_code == 200  # the document stays
