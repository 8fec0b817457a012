"""Public alerts as CAP 1.2 (OASIS Common Alerting Protocol) and an Atom feed of them.

Only sent alerts that include the public tier are ever exposed (``selectors.public_alerts``).
Locations are coarse on purpose: a circle centred on coordinates rounded to two decimals (about
1 km) with a radius of at least 2 km, a drawn polygon with its corners rounded the same way, and
an area description that is a neighborhood name.
Documents are built with ElementTree, so every text is escaped by the serializer.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from urllib.parse import urlsplit

import h3
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from vecinos.alerts.models import Alert
from vecinos.core import geo

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM_NS = "http://www.w3.org/2005/Atom"
MIN_RADIUS_KM = 2.0
COARSE_DECIMALS = 2
CAP_LANGUAGES = {"es": "es-US", "en": "en-US"}
FOLLOWUP_MSG_TYPE: dict[str, str] = {
    Alert.Kind.UPDATE: "Update",
    Alert.Kind.ALL_CLEAR: "Update",
    Alert.Kind.CORRECTION: "Update",
}
# (responseType, urgency, severity, certainty) per kind.
INFO_CODES: dict[str, tuple[str, str, str, str]] = {
    Alert.Kind.SIGHTING: ("Monitor", "Immediate", "Moderate", "Observed"),
    Alert.Kind.ACTIVATION: ("Monitor", "Immediate", "Moderate", "Observed"),
    Alert.Kind.UPDATE: ("Monitor", "Immediate", "Moderate", "Observed"),
    Alert.Kind.CORRECTION: ("Monitor", "Expected", "Minor", "Observed"),
    Alert.Kind.ALL_CLEAR: ("AllClear", "Past", "Minor", "Observed"),
    Alert.Kind.NOTICE: ("Monitor", "Expected", "Minor", "Likely"),
}


# Characters XML 1.0 cannot carry (ElementTree writes them raw, and the document no longer
# parses). Alert texts refuse them on the way in; this keeps older rows from breaking a feed.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


_LANG_TAG = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8}){0,2}")


def xml_text(value: str) -> str:
    return _NOT_XML.sub("\ufffd", value)


def _host() -> str:
    return urlsplit(settings.PUBLIC_URL).hostname or "vecinos.local"


def sender() -> str:
    return f"vecinos@{_host()}"


def identifier(alert: Alert) -> str:
    # No spaces, commas, "<" or "&" (CAP 1.2, 3.2.1).
    return f"{_host()}-alert-{alert.pk}"


def cap_time(when: datetime | None) -> str:
    """CAP dateTime: seconds, an explicit offset, "-00:00" (never "Z") for UTC."""
    when = timezone.localtime(when or timezone.now())
    text = when.replace(microsecond=0).isoformat()
    return text[:-6] + "-00:00" if text.endswith("+00:00") else text


def atom_time(when: datetime | None) -> str:
    when = (when or timezone.now()).astimezone(UTC).replace(microsecond=0)
    return when.isoformat().replace("+00:00", "Z")


def _coarse_circle(lat: float, lng: float, radius_km: float) -> str:
    radius = max(MIN_RADIUS_KM, math.ceil(radius_km * 10) / 10)
    return f"{round(lat, COARSE_DECIMALS):.2f},{round(lng, COARSE_DECIMALS):.2f} {radius:.1f}"


def _zone_extent_km(zone) -> float:
    cells = zone.cells or []
    step = max(1, len(cells) // 64)
    far = 0.0
    for cell in cells[::step]:
        lat, lng = h3.cell_to_latlng(cell)
        far = max(far, geo.haversine_m(zone.center_lat, zone.center_lng, lat, lng))
    return far / 1000


def _coarse_ring(alert: Alert) -> list[tuple[float, float]]:
    """The drawn polygon's corners rounded like circle centres (two decimals, about 1 km)."""
    corners: list[tuple[float, float]] = []
    for lat, lng in alert.polygon or []:
        corner = (round(lat, COARSE_DECIMALS), round(lng, COARSE_DECIMALS))
        if not corners or corners[-1] != corner:
            corners.append(corner)
    if len(corners) > 1 and corners[0] == corners[-1]:
        corners.pop()
    return corners if len(set(corners)) >= 3 else []


def polygons(alert: Alert) -> list[str]:
    """CAP polygons: "lat,lon" pairs, closed (first pair repeated last), at least four pairs."""
    corners = _coarse_ring(alert)
    if not corners:
        return []
    return [" ".join(f"{lat:.2f},{lng:.2f}" for lat, lng in [*corners, corners[0]])]


def circles(alert: Alert) -> list[str]:
    """Coarse circles: the alert's point and radius, one around each target zone, and one
    around a drawn polygon too small to survive the rounding."""
    out = []
    if alert.lat is not None and alert.lng is not None:
        out.append(_coarse_circle(alert.lat, alert.lng, (alert.radius_m or 0) / 1000))
    else:
        out += [
            _coarse_circle(z.center_lat, z.center_lng, _zone_extent_km(z))
            for z in alert.zones.all()
        ]
    if alert.polygon and not _coarse_ring(alert):
        lat = sum(c[0] for c in alert.polygon) / len(alert.polygon)
        lng = sum(c[1] for c in alert.polygon) / len(alert.polygon)
        far = max(geo.haversine_m(lat, lng, a, b) for a, b in alert.polygon)
        out.append(_coarse_circle(lat, lng, far / 1000))
    return out


def area_desc(alert: Alert) -> str:
    names = ", ".join(z.name for z in alert.zones.all())
    return alert.area_label or names or "Los Angeles"


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    if text is not None:
        el.text = xml_text(text)
    return el


def cap_document(alert: Alert) -> ET.Element:
    """The CAP 1.2 <alert> element, children in the order the schema requires."""
    root = ET.Element(f"{{{CAP_NS}}}alert")
    _sub(root, "identifier", identifier(alert))
    _sub(root, "sender", sender())
    _sub(root, "sent", cap_time(alert.sent_at))
    _sub(root, "status", "Actual")
    _sub(root, "msgType", FOLLOWUP_MSG_TYPE.get(alert.kind, "Alert"))
    _sub(root, "scope", "Public")
    if alert.kind == Alert.Kind.CORRECTION:
        _sub(root, "note", gettext("Correction of an earlier alert"))
    parent = alert.parent
    if parent is not None and parent.sent_at is not None:
        _sub(
            root,
            "references",
            f"{sender()},{identifier(parent)},{cap_time(parent.sent_at)}",
        )
    response_type, urgency, severity, certainty = INFO_CODES.get(
        alert.kind, INFO_CODES[Alert.Kind.NOTICE]
    )
    area = area_desc(alert)
    area_circles = circles(alert)
    area_polygons = polygons(alert)
    for lang, text in alert.messages.items():
        if not text:
            continue
        with translation.override(lang if lang in CAP_LANGUAGES else "en"):
            event = str(Alert.Kind(alert.kind).label)
        info = _sub(root, "info")
        _sub(
            info, "language", CAP_LANGUAGES.get(lang, lang if _LANG_TAG.fullmatch(lang) else "und")
        )
        _sub(info, "category", "Safety")
        _sub(info, "event", event)
        _sub(info, "responseType", response_type)
        _sub(info, "urgency", urgency)
        _sub(info, "severity", severity)
        _sub(info, "certainty", certainty)
        _sub(info, "expires", cap_time(alert.expires_at))
        _sub(info, "senderName", "Vecinos")
        _sub(info, "headline", f"{event}: {area}"[:160])
        _sub(info, "description", text)
        _sub(info, "web", settings.PUBLIC_URL + reverse("cap_alert", args=[alert.pk]))
        area_el = _sub(info, "area")
        _sub(area_el, "areaDesc", area)
        for polygon in area_polygons:  # the schema puts <polygon> before <circle>
            _sub(area_el, "polygon", polygon)
        for circle in area_circles:
            _sub(area_el, "circle", circle)
    return root


def cap_xml(alert: Alert) -> bytes:
    return ET.tostring(
        cap_document(alert), encoding="utf-8", xml_declaration=True, default_namespace=CAP_NS
    )


def _atom(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    # Unqualified names under a root that declares the Atom namespace as the default: Atom
    # attributes (rel, href) have no namespace, which ElementTree's default_namespace refuses.
    el = ET.SubElement(parent, tag, {k: xml_text(v) for k, v in attrs.items()})
    if text is not None:
        el.text = xml_text(text)
    return el


def atom_feed(alerts: list[Alert]) -> bytes:
    base = settings.PUBLIC_URL
    feed = ET.Element("feed", xmlns=ATOM_NS)
    _atom(feed, "id", base + reverse("cap_feed"))
    _atom(feed, "title", gettext("Vecinos: public alerts"))
    _atom(feed, "updated", atom_time(alerts[0].sent_at if alerts else None))
    _atom(feed, "link", rel="self", href=base + reverse("cap_feed"), type="application/atom+xml")
    author = _atom(feed, "author")
    _atom(author, "name", "Vecinos")
    for alert in alerts:
        entry = _atom(feed, "entry")
        _atom(entry, "id", f"urn:cap:{sender()}:{identifier(alert)}")
        event = str(Alert.Kind(alert.kind).label)
        _atom(entry, "title", f"{event}: {area_desc(alert)}")
        _atom(entry, "updated", atom_time(alert.sent_at))
        _atom(entry, "published", atom_time(alert.sent_at))
        _atom(
            entry,
            "link",
            rel="alternate",
            type="application/cap+xml",
            href=base + reverse("cap_alert", args=[alert.pk]),
        )
        summary = "\n\n".join(text for text in alert.messages.values() if text)
        _atom(entry, "summary", summary)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
