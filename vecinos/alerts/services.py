"""Alerts: subscriptions, targeting, the two-person rule, fan-out, acknowledgement, escalation.

*What* to say to *whom*; messaging does the *how*. Every alert's deliveries are written in the
same transaction that marks it sent; acknowledgements and escalation steps are conditional
updates, so two workers (or a worker and the auditor) never run one step twice.
"""

from __future__ import annotations

import math
import re
import secrets
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import h3
from django.conf import settings
from django.core import signing
from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from vecinos.alerts.models import (
    TIER_ORDER,
    Alert,
    AlertRecipient,
    CaptainAssignment,
    OptOut,
    SmsBudget,
    Subscriber,
    SubscriptionArea,
    Tier,
)
from vecinos.core import geo, metrics
from vecinos.core.audit import audit
from vecinos.core.bulk import insert_rows, with_ids
from vecinos.messaging import services as messaging
from vecinos.messaging.models import Channel, ContactPoint, Delivery, DeliveryStatus
from vecinos.network import selectors as network
from vecinos.network.models import Member, Membership, Role, Zone
from vecinos.network.phones import normalize_phone, phone_index
from vecinos.reports import selectors as reports_selectors
from vecinos.reports import services as reports
from vecinos.transports import registry

DEFAULT_EXPIRY = timedelta(hours=4)
MAX_MESSAGE = 640
THROTTLE_PER_HOUR = 6
FOLLOWUP_KINDS = (Alert.Kind.UPDATE, Alert.Kind.ALL_CLEAR, Alert.Kind.CORRECTION)
THROTTLE_EXEMPT = (Alert.Kind.ALL_CLEAR, Alert.Kind.CORRECTION)
FALLBACK_LANGUAGES = ("es", "en")
APPROVAL_REF = "alert_approval"  # Delivery.ref_type of "an alert waits for your approval"
MAX_APPROVERS_NOTIFIED = 20
APPROVAL_WIDEN_AFTER = timedelta(minutes=5)  # then every approver is told, not only on duty

# Escalation per tier, copied onto each alert when it is sent. "after" is seconds since send.
DEFAULT_ESCALATION: dict[str, list[dict]] = {
    Tier.INTERNAL: [
        {"after": 0, "channel": "sms"},
        {"after": 300, "channel": "voice"},
        {"after": 900, "action": "captain"},
    ],
    Tier.RESPONDERS: [
        {"after": 0, "channel": "sms"},
        {"after": 300, "channel": "voice"},
        {"after": 900, "action": "captain"},
    ],
    Tier.MEMBERS: [
        {"after": 0, "channel": "sms"},
        {"after": 300, "channel": "voice"},
        {"after": 900, "action": "captain"},
    ],
    # A million robocalls is neither affordable nor kind: the public gets one message.
    Tier.PUBLIC: [{"after": 0, "channel": "sms"}],
}


class AlertError(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


class NotAllowed(PermissionError):
    pass


# --- Subscriptions ---------------------------------------------------------------------------


def is_opted_out(index: str) -> bool:
    return OptOut.objects.filter(phone_index=index).exists()


def _contacts_for(sub: Subscriber) -> None:
    if sub.phone:
        sub.sms = messaging.contact_point(
            channel=Channel.SMS, address=sub.phone, member=sub.member, language=sub.language
        )
        sub.voice = messaging.contact_point(
            channel=Channel.VOICE, address=sub.phone, member=sub.member, language=sub.language
        )
        if Channel.SIGNAL in sub.channels:
            # The Signal number is their phone: found again by the phone's blind index.
            messaging.contact_point(
                channel=Channel.SIGNAL, address=sub.phone, member=sub.member, language=sub.language
            )
    if sub.email:
        sub.email_contact = messaging.contact_point(
            channel=Channel.EMAIL, address=sub.email, member=sub.member, language=sub.language
        )


def resolve_place(text: str) -> tuple[Zone | None, tuple[float, float] | None, str]:
    """A ZIP code (offline centroid) or a zone name; never asks an outside service."""
    import zipcodes

    cleaned = text.strip()
    digits = "".join(c for c in cleaned if c.isdigit())
    if len(digits) == 5 and len(cleaned) <= 10:
        try:
            match = zipcodes.matching(digits)
        except (ValueError, TypeError):
            match = []
        if match:
            lat, lng = float(match[0]["lat"]), float(match[0]["long"])
            zone = _zone_at(lat, lng)
            return zone, (lat, lng), zone.name if zone else f"{digits}"
        return None, None, ""
    if cleaned:
        zone = (
            Zone.objects.filter(name__iexact=cleaned).first()
            or Zone.objects.filter(name__icontains=cleaned).first()
        )
        if zone:
            return zone, (zone.center_lat, zone.center_lng), zone.name
    return None, None, ""


def _zone_at(lat: float, lng: float) -> Zone | None:
    cell = geo.cell_of(lat, lng)
    for zone in Zone.objects.only("pk", "name", "cells", "center_lat", "center_lng"):
        if cell in zone.cells:
            return zone
    return None


@transaction.atomic
def subscribe(
    *,
    phone: str = "",
    email: str = "",
    language: str = "es",
    channels: list[str] | None = None,
    zone: Zone | None = None,
    point: tuple[float, float] | None = None,
    radius_m: int | None = None,
    label: str = "",
    member: Member | None = None,
    source: str = "web",
    confirmed: bool = False,
) -> Subscriber:
    """Create or extend a subscription. Public ones wait for a confirming reply (double opt-in)."""
    e164 = normalize_phone(phone) if phone else ""
    index = phone_index(e164) if e164 else ""
    if index and is_opted_out(index) and not confirmed:
        # They said STOP before; only their own new JOIN (confirmed by reply) brings them back.
        pass
    sub = None
    if member is not None:
        sub = Subscriber.objects.filter(member=member).first()
    if sub is None and index:
        sub = Subscriber.objects.filter(phone_index=index).first()
        if sub is not None and member is not None and sub.member_id is None:
            # Subscribed publicly before joining: the same person, one subscription.
            sub.member = member
    if sub is None:
        sub = Subscriber(member=member, source=source)
    sub.phone, sub.phone_index = (e164, index) if e164 else (sub.phone, sub.phone_index)
    if email:
        sub.email = email.strip()
    sub.language = language if language in ("en", "es") else (language[:8] or "es")
    wanted = [c for c in (channels or ["sms"]) if c in Channel.values]
    sub.channels = wanted or ["sms"]
    if confirmed:
        sub.status, sub.confirmed_at = Subscriber.Status.ACTIVE, timezone.now()
    elif sub.status != Subscriber.Status.ACTIVE:
        sub.status = Subscriber.Status.PENDING
        sub.confirm_code = f"{secrets.randbelow(10**6):06d}"
    _contacts_for(sub)
    sub.save()
    if zone is not None or point is not None:
        area = SubscriptionArea(subscriber=sub, label=label[:40], zone=zone)
        if point is not None:
            geo.validate_lat_lng(*point)
            area.lat, area.lng = point
            area.radius_m = radius_m or 1500
            area.cell7 = geo.cell_of(point[0], point[1], geo.COARSE_RESOLUTION)
            if sub.member_id is not None:  # a named person: only their neighborhood in clear
                area.place_coarsely(point[0], point[1], area.radius_m)
            if zone is not None:
                area.zone = None  # a point with a radius is more precise than the zone
        area.save()
    return sub


def subscription_confirm(*, subscriber: Subscriber) -> Subscriber:
    subscriber.status = Subscriber.Status.ACTIVE
    subscriber.confirmed_at = timezone.now()
    subscriber.confirm_code = ""
    subscriber.save(update_fields=["status", "confirmed_at", "confirm_code"])
    if subscriber.phone_index:
        OptOut.objects.filter(phone_index=subscriber.phone_index).delete()
        ContactPoint.objects.filter(address_index=subscriber.phone_index).update(
            usable=True, unusable_reason=""
        )
    return subscriber


@transaction.atomic
def opt_out(*, index: str, source: str = "sms") -> int:
    """STOP: at once, from everything, for every organization. Queued messages are cancelled."""
    OptOut.objects.get_or_create(phone_index=index, defaults={"source": source})
    Subscriber.objects.filter(phone_index=index).update(status=Subscriber.Status.STOPPED)
    contacts = ContactPoint.objects.filter(
        address_index=index, channel__in=[Channel.SMS, Channel.VOICE]
    )
    contacts.update(usable=False, unusable_reason="opted out")
    # Claimed rows too: a worker checks right before handing each one over, and one found at
    # the provider after all is recorded as sent.
    cancelled = Delivery.objects.filter(
        contact__in=contacts, status__in=[DeliveryStatus.QUEUED, DeliveryStatus.SENDING]
    ).update(status=DeliveryStatus.CANCELLED, final_at=timezone.now(), last_error="opted out")
    return cancelled


def opt_out_undo(*, index: str, actor: Member) -> bool:
    if not network.is_coordinator(actor):
        raise NotAllowed
    deleted, _rows = OptOut.objects.filter(phone_index=index).delete()
    if deleted:
        ContactPoint.objects.filter(address_index=index).update(usable=True, unusable_reason="")
        audit("optout.undo", actor=actor, index_prefix=index[:8])
    return bool(deleted)


def opt_out_import(*, phones: Iterable[str], actor: Member | None = None) -> dict[str, int]:
    added = invalid = 0
    for raw in phones:
        raw = raw.strip()
        if not raw:
            continue
        try:
            index = phone_index(normalize_phone(raw))
        except ValueError:
            invalid += 1
            continue
        opt_out(index=index, source="import")
        added += 1
    audit("optout.import", actor=actor, added=added, invalid=invalid)
    return {"added": added, "invalid": invalid}


def ensure_member_subscriber(member: Member) -> Subscriber | None:
    """Members are reachable on the phone they gave; their areas are their own choice."""
    if not member.phone:
        return None
    sub = Subscriber.objects.filter(member=member).first()
    if sub is not None:
        return sub
    return subscribe(
        phone=member.phone,
        language=member.preferred_language,
        channels=["sms", "voice"],
        member=member,
        source="member",
        confirmed=True,
    )


# --- Targeting -------------------------------------------------------------------------------


def _disk_cells7(lat: float, lng: float, radius_m: float) -> set[str]:
    center = h3.latlng_to_cell(lat, lng, geo.COARSE_RESOLUTION)
    edge = h3.average_hexagon_edge_length(geo.COARSE_RESOLUTION, unit="m")
    k = max(1, math.ceil(radius_m / (edge * 1.5)) + 1)
    return set(h3.grid_disk(center, k))


def _zone_hits_circle(zone: Zone, lat: float, lng: float, radius_m: float) -> bool:
    if geo.haversine_m(lat, lng, zone.center_lat, zone.center_lng) <= radius_m:
        return True
    return any(
        geo.haversine_m(lat, lng, *h3.cell_to_latlng(c)) <= radius_m for c in zone.cells[::4]
    )


# 5 km chosen at most, plus the widening of a member's coarse area (models.place_coarsely).
MAX_AREA_RADIUS_M = 5000 + 1500
# Distance from a res-7 cell's center to its farthest corner (edge length ~1.22 km).
CELL7_REACH_M = 1.1 * h3.average_hexagon_edge_length(geo.COARSE_RESOLUTION, unit="m")
CELL8_REACH_M = 1.1 * h3.average_hexagon_edge_length(8, unit="m")


def _point_areas_near(lat: float, lng: float, radius_m: float) -> set[int]:
    """Active subscribers with a point area within reach of the circle.

    H3 res-7 cells split the work: cells wholly inside the circle contribute every area
    without any arithmetic; only cells on the rim are checked row by row. Raw SQL keeps a
    1,000,000-subscriber selection within the 200 ms budget (the ORM's row objects would not).
    """
    from django.db import connection

    inner: list[str] = []
    rim: list[str] = []
    for cell in _disk_cells7(lat, lng, radius_m + MAX_AREA_RADIUS_M):
        d = geo.haversine_m(lat, lng, *h3.cell_to_latlng(cell))
        if d + CELL7_REACH_M <= radius_m:
            inner.append(cell)
        elif d - CELL7_REACH_M <= radius_m + MAX_AREA_RADIUS_M:
            rim.append(cell)
    area_t = SubscriptionArea._meta.db_table
    ids: set[int] = set()
    cos_lat = math.cos(math.radians(lat))
    with connection.cursor() as cursor:
        for chunk_start in range(0, len(inner), 500):
            chunk = inner[chunk_start : chunk_start + 500]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"SELECT a.subscriber_id FROM {area_t} a WHERE a.cell7 IN ({marks})",  # noqa: S608
                chunk,
            )
            ids.update(row[0] for row in cursor.fetchall())
        for chunk_start in range(0, len(rim), 500):
            chunk = rim[chunk_start : chunk_start + 500]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"SELECT a.subscriber_id, a.lat, a.lng, a.radius_m FROM {area_t} a "  # noqa: S608
                f"WHERE a.cell7 IN ({marks})",
                chunk,
            )
            for sub_id, a_lat, a_lng, a_radius in cursor.fetchall():
                # Equirectangular distance is exact enough below 50 km and much cheaper.
                dx = math.radians(a_lng - lng) * cos_lat
                dy = math.radians(a_lat - lat)
                if math.hypot(dx, dy) * geo.EARTH_RADIUS_M <= radius_m + (a_radius or 0):
                    ids.add(sub_id)
    # Pending and stopped subscribers are few next to active ones: subtract them afterwards
    # instead of joining every area row to its subscriber.
    ids.difference_update(
        Subscriber.objects.exclude(status=Subscriber.Status.ACTIVE).values_list("pk", flat=True)
    )
    return ids


def subscribers_in_area(
    *,
    zones: list[Zone] | None = None,
    point: tuple[float, float] | None = None,
    radius_m: float | None = None,
) -> set[int]:
    """Ids of active subscribers whose areas touch the target (zones, or a point + radius)."""
    ids: set[int] = set()
    active = Q(subscriber__status=Subscriber.Status.ACTIVE)
    if point is not None and radius_m:
        lat, lng = point
        geo.validate_lat_lng(lat, lng)
        ids.update(_point_areas_near(lat, lng, radius_m))
        zone_ids = [z.pk for z in Zone.objects.all() if _zone_hits_circle(z, lat, lng, radius_m)]
        ids.update(
            SubscriptionArea.objects.filter(active, zone_id__in=zone_ids).values_list(
                "subscriber_id", flat=True
            )
        )
    if zones:
        zone_ids = [z.pk for z in zones]
        ids.update(
            SubscriptionArea.objects.filter(active, zone_id__in=zone_ids).values_list(
                "subscriber_id", flat=True
            )
        )
        cells = set().union(*(set(z.cells) for z in zones))
        parents = {h3.cell_to_parent(c, geo.COARSE_RESOLUTION) for c in cells}
        zone_rows = SubscriptionArea.objects.filter(active, cell7__in=parents).values_list(
            "subscriber_id", "lat", "lng"
        )
        for sub_id, a_lat, a_lng in zone_rows.iterator(chunk_size=20000):
            if a_lat is not None and a_lng is not None and geo.cell_of(a_lat, a_lng) in cells:
                ids.add(sub_id)
    return ids


def subscribers_in_polygon(*, ring: list[list[float]] | list[tuple[float, float]]) -> set[int]:
    """Ids of active subscribers whose areas touch a drawn polygon ([lat, lng] corners, open).

    The same plan as the radius selection: res-7 cells wholly inside the polygon contribute
    every area without arithmetic; only cells near its edges are checked row by row (a point
    inside, or its radius reaching an edge). Zone subscriptions count when the zone touches it.
    """
    corners = [(float(lat), float(lng)) for lat, lng in ring]
    if len(corners) < 3:
        return set()
    for lat, lng in corners:
        geo.validate_lat_lng(lat, lng)
    lat0 = sum(c[0] for c in corners) / len(corners)
    lng0 = sum(c[1] for c in corners) / len(corners)
    plane = geo.Plane(lat0, lng0)
    shape = [plane.xy(lat, lng) for lat, lng in corners]
    edges = geo.ring_edges(shape)
    margin = MAX_AREA_RADIUS_M + 2 * CELL7_REACH_M
    dlat = math.degrees(margin / geo.EARTH_RADIUS_M)
    dlng = dlat / max(math.cos(math.radians(lat0)), 1e-6)
    south, north = min(c[0] for c in corners) - dlat, max(c[0] for c in corners) + dlat
    west, east = min(c[1] for c in corners) - dlng, max(c[1] for c in corners) + dlng
    box = h3.LatLngPoly([(south, west), (south, east), (north, east), (north, west)])
    inner: list[str] = []
    # Rim cells with what a row in them needs: whether the whole cell is outside the polygon,
    # and the least distance from any point of the cell to the polygon's edges.
    rim: dict[str, tuple[bool, float]] = {}
    for cell in h3.polygon_to_cells(box, geo.COARSE_RESOLUTION):
        x, y = plane.xy(*h3.cell_to_latlng(cell))
        edge = geo.distance_to_edges(x, y, edges)
        inside = geo.point_in_ring(x, y, shape)
        if inside and edge >= CELL7_REACH_M:
            inner.append(cell)
        elif inside or edge <= CELL7_REACH_M + MAX_AREA_RADIUS_M:
            rim[cell] = (not inside and edge > CELL7_REACH_M, max(0.0, edge - CELL7_REACH_M))
    area_t = SubscriptionArea._meta.db_table
    ids: set[int] = set()
    rim_cells = list(rim)
    fine: dict[str, tuple[int, float]] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(inner), 500):
            chunk = inner[start : start + 500]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"SELECT a.subscriber_id FROM {area_t} a WHERE a.cell7 IN ({marks})",  # noqa: S608
                chunk,
            )
            ids.update(row[0] for row in cursor.fetchall())
        kx, ky = plane.kx, plane.ky
        # Cells in bands of their least distance to the polygon: a row there only counts when
        # its radius reaches that far, which the covering index filters before Python sees it.
        bands: dict[int, list[str]] = defaultdict(list)
        for cell in rim_cells:
            bands[int(rim[cell][1] // 250) * 250].append(cell)
        rows: list[tuple] = []
        for least_m, band in sorted(bands.items()):
            for start in range(0, len(band), 500):
                chunk = band[start : start + 500]
                marks = ", ".join(["%s"] * len(chunk))
                cursor.execute(
                    f"SELECT a.subscriber_id, a.cell7, a.lat, a.lng, a.radius_m "  # noqa: S608
                    f"FROM {area_t} a WHERE a.cell7 IN ({marks})"
                    + (" AND a.radius_m >= %s" if least_m else ""),
                    [*chunk, least_m] if least_m else chunk,
                )
                rows += cursor.fetchall()
        if rows:
            for sub_id, cell7, a_lat, a_lng, a_radius in rows:
                reach_m = a_radius or 0
                if rim[cell7][1] > reach_m or sub_id in ids:
                    continue  # the whole cell is farther from the polygon than this radius
                # The row's res-8 cell (a seventh of the size) settles most rows without
                # arithmetic: wholly inside, or farther than the radius. Cached per cell.
                fine_cell = h3.latlng_to_cell(a_lat, a_lng, 8)
                state = fine.get(fine_cell)
                if state is None:
                    fx, fy = plane.xy(*h3.cell_to_latlng(fine_cell))
                    f_edge = geo.distance_to_edges(fx, fy, edges)
                    f_inside = geo.point_in_ring(fx, fy, shape)
                    if f_inside and f_edge >= CELL8_REACH_M:
                        state = (1, 0.0)
                    elif not f_inside and f_edge > CELL8_REACH_M:
                        state = (-1, f_edge - CELL8_REACH_M)
                    else:
                        state = (0, 0.0)
                    fine[fine_cell] = state
                if state[0] == 1:
                    ids.add(sub_id)
                    continue
                if state[1] > reach_m:
                    continue
                x, y = (a_lng - lng0) * kx, (a_lat - lat0) * ky
                if (state[0] == 0 and geo.point_in_ring(x, y, shape)) or (
                    reach_m and geo.distance_to_edges(x, y, edges) <= reach_m
                ):
                    ids.add(sub_id)
    touched = [
        z.pk
        for z in Zone.objects.all()
        if any(
            geo.point_in_ring(*plane.xy(*h3.cell_to_latlng(c)), shape)
            for c in [*z.cells[::4], *z.cells[-1:]]
        )
        or geo.point_in_ring(*plane.xy(z.center_lat, z.center_lng), shape)
    ]
    if touched:
        ids.update(
            SubscriptionArea.objects.filter(zone_id__in=touched).values_list(
                "subscriber_id", flat=True
            )
        )
    # Named statuses, not "not active": the status index then answers without a table scan.
    ids.difference_update(
        Subscriber.objects.filter(
            status__in=[s for s in Subscriber.Status.values if s != Subscriber.Status.ACTIVE]
        ).values_list("pk", flat=True)
    )
    return ids


def _members_with_roles(roles: tuple[str, ...]) -> set[int]:
    member_ids = {
        m.pk
        for m in Member.objects.filter(is_active=True, memberships__role__in=roles).distinct()
        if network.has_role(m, *roles)
    }
    return set(
        Subscriber.objects.filter(
            member_id__in=member_ids, status=Subscriber.Status.ACTIVE
        ).values_list("pk", flat=True)
    )


@dataclass
class Target:
    subscriber_id: int
    tier: str
    language: str


def select_recipients(alert: Alert, *, zones: list[Zone] | None = None) -> list[Target]:
    """Who this alert goes to: tiers, geography, opt-outs and the per-person throttle.

    ``zones`` stands in for ``alert.zones`` on an alert not saved yet (the composer's live
    "would reach N people" count runs this same selection on the draft being drawn).
    """
    if alert.parent_id and alert.kind in FOLLOWUP_KINDS:
        # Exactly the people who received the original, in the language they got it in,
        # whatever tiers or zones changed since (STOP still wins).
        rows = AlertRecipient.objects.filter(alert_id=alert.parent_id).values_list(
            "subscriber_id", "tier", "language"
        )
        targets = [Target(s, t, lang) for s, t, lang in rows]
    else:
        chosen: dict[int, str] = {}
        zones = list(alert.zones.all()) if zones is None else zones
        point = (alert.lat, alert.lng) if alert.lat is not None and alert.lng is not None else None
        in_area: set[int] | None = None
        for tier in TIER_ORDER:
            if tier not in alert.tiers:
                continue
            if tier == Tier.INTERNAL:
                ids = _members_with_roles((Role.DISPATCHER, Role.VERIFIER))
            elif tier == Tier.RESPONDERS:
                ids = _members_with_roles((Role.RESPONDER,))
            else:
                if in_area is None:  # the same area for members and the public: look once
                    in_area = subscribers_in_area(zones=zones, point=point, radius_m=alert.radius_m)
                    if getattr(alert, "polygon", None):  # a call-out has no drawn area
                        in_area |= subscribers_in_polygon(ring=alert.polygon)
                member_filter = (
                    Q(member__isnull=False) if tier == Tier.MEMBERS else Q(member__isnull=True)
                )
                ids = (
                    set(
                        with_ids(Subscriber.objects.filter(member_filter), in_area).values_list(
                            "pk", flat=True
                        )
                    )
                    if in_area
                    else set()
                )
            for sub_id in ids:
                chosen.setdefault(sub_id, tier)  # the most inner tier wins
        languages = (
            dict(with_ids(Subscriber.objects.all(), chosen.keys()).values_list("pk", "language"))
            if chosen
            else {}
        )
        targets = [Target(s, t, languages.get(s, "es")) for s, t in chosen.items()]
    if not targets:
        return []
    # Opt-outs, by blind index.
    target_ids = [t.subscriber_id for t in targets]
    stopped = (
        set(
            Subscriber.objects.filter(pk__in=target_ids)
            .filter(
                Q(status=Subscriber.Status.STOPPED)
                | Q(phone_index__in=OptOut.objects.values("phone_index"))
            )
            .values_list("pk", flat=True)
        )
        if len(target_ids) < 2_000
        else _stopped_large(target_ids)
    )
    targets = [t for t in targets if t.subscriber_id not in stopped]
    if alert.kind not in THROTTLE_EXEMPT:
        since = timezone.now() - timedelta(hours=1)
        busy = set(
            AlertRecipient.objects.filter(alert__sent_at__gte=since)
            .exclude(alert__kind__in=THROTTLE_EXEMPT)
            .values("subscriber_id")
            .annotate(n=Count("id"))
            .filter(n__gte=THROTTLE_PER_HOUR)
            .values_list("subscriber_id", flat=True)
        )
        targets = [t for t in targets if t.subscriber_id not in busy]
    return targets


def _stopped_large(ids: list[int]) -> set[int]:
    stopped = set(
        Subscriber.objects.filter(status=Subscriber.Status.STOPPED).values_list("pk", flat=True)
    )
    opted = set(OptOut.objects.values_list("phone_index", flat=True))
    if opted:
        stopped |= set(
            Subscriber.objects.filter(phone_index__in=opted).values_list("pk", flat=True)
        )
    return stopped


# --- Alerts ------------------------------------------------------------------------------------


def can_alert(member: Member) -> bool:
    return network.has_role(
        member, Role.DISPATCHER, Role.COALITION_COORDINATOR, Role.ORG_COORDINATOR
    )


# A language key is a short language tag ("es", "zh-Hant", "es-419"): it is written into CAP
# documents and SMS templates. Control characters (but tab and newlines) are refused: XML 1.0
# cannot carry them, and one would break the public feeds for as long as the alert is listed.
LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8}){0,2}")
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")


def validate_messages(messages: dict[str, str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    clean = {k: (v or "").strip() for k, v in messages.items() if (v or "").strip()}
    if not clean:
        errors["messages"] = str(gettext_lazy("Write the message in at least one language."))
    for lang, text in clean.items():
        if not LANGUAGE_TAG.fullmatch(lang):
            errors["messages"] = str(gettext_lazy("Unknown language code."))
            continue
        if CONTROL_CHARS.search(text):
            errors[f"message_{lang}"] = str(
                gettext_lazy("Remove the invisible control characters from the message.")
            )
        if len(text) > MAX_MESSAGE:
            errors[f"message_{lang}"] = str(
                gettext_lazy("Keep each message under %(n)s characters.") % {"n": MAX_MESSAGE}
            )
        if "{" in text or "}" in text:
            errors[f"message_{lang}"] = str(
                gettext_lazy("Remove the curly braces: they look like an unfilled template.")
            )
    if errors:
        raise AlertError(errors)
    return clean


@transaction.atomic
def alert_create(
    *,
    actor: Member,
    kind: str,
    tiers: list[str],
    messages: dict[str, str],
    zones: list[Zone] | None = None,
    point: tuple[float, float] | None = None,
    radius_m: int | None = None,
    expires_at: datetime | None = None,
    incident=None,
    parent: Alert | None = None,
    area_label: str = "",
    polygon: list[list[float]] | None = None,
) -> Alert:
    if not can_alert(actor):
        raise NotAllowed
    errors: dict[str, str] = {}
    if kind not in Alert.Kind.values:
        errors["kind"] = str(gettext_lazy("Choose what kind of alert this is."))
    if kind in FOLLOWUP_KINDS and parent is None:
        errors["parent"] = str(gettext_lazy("An update, all-clear or correction follows an alert."))
    tiers = [t for t in TIER_ORDER if t in tiers]
    if parent is not None:
        tiers = list(parent.tiers)
    if not tiers:
        errors["tiers"] = str(gettext_lazy("Choose who should get this alert."))
    needs_area = parent is None and any(t in (Tier.MEMBERS, Tier.PUBLIC) for t in tiers)
    if needs_area and not zones and not (point and radius_m) and not polygon:
        errors["target"] = str(gettext_lazy("Choose zones or a place and radius."))
    if polygon:
        try:
            for corner in polygon:
                geo.validate_lat_lng(*corner)
            if not 3 <= len(polygon) <= 200:
                raise geo.GeoError("corners")
        except (geo.GeoError, TypeError, ValueError):
            errors["target"] = str(gettext_lazy("That place is not on the map."))
    if point is not None:
        try:
            geo.validate_lat_lng(*point)
        except geo.GeoError:
            errors["target"] = str(gettext_lazy("That place is not on the map."))
    if radius_m is not None and not (50 <= radius_m <= 50_000):
        errors["radius_m"] = str(gettext_lazy("The radius must be between 50 m and 50 km."))
    try:
        clean = validate_messages(messages)
    except AlertError as exc:
        errors.update(exc.errors)
        clean = {}
    now = timezone.now()
    expires_at = expires_at or now + DEFAULT_EXPIRY
    if expires_at <= now or expires_at > now + timedelta(days=7):
        errors["expires_at"] = str(gettext_lazy("The expiry must be within the next 7 days."))
    if errors:
        raise AlertError(errors)
    org = (
        Membership.objects.filter(member=actor)
        .order_by("pk")
        .values_list("organization_id", flat=True)
        .first()
    )
    alert = Alert.objects.create(
        kind=kind,
        tiers=tiers,
        messages=clean,
        lat=point[0] if point else (parent.lat if parent else None),
        lng=point[1] if point else (parent.lng if parent else None),
        radius_m=radius_m or (parent.radius_m if parent else None),
        polygon=[list(c) for c in polygon] if polygon else (list(parent.polygon) if parent else []),
        area_label=(area_label or (parent.area_label if parent else ""))[:120],
        expires_at=expires_at,
        incident=incident or (parent.incident if parent else None),
        parent=parent,
        organization_id=org,
        created_by=actor,
    )
    if zones:
        alert.zones.set(zones)
    elif parent is not None:
        alert.zones.set(parent.zones.all())
    audit("alert.create", actor=actor, target=alert, kind=kind, tiers=tiers)
    return alert


def may_approve(member: Member, alert: Alert) -> bool:
    """Dispatchers and coalition coordinators, or a coordinator of the alert's organization:
    a coordinator of another group cannot approve (and be charged for) someone else's alert."""
    if member.pk == alert.created_by_id:
        return False
    # Two people, not one person and an account they vouched for and trained themselves.
    if network.vetted_only_by(member, alert.created_by):
        return False
    if network.has_role(member, Role.DISPATCHER, Role.COALITION_COORDINATOR):
        return True
    return alert.organization_id is not None and network.has_role(
        member, Role.ORG_COORDINATOR, organization_id=alert.organization_id
    )


def needs_second_person(alert: Alert) -> bool:
    return Tier.PUBLIC in alert.tiers


@transaction.atomic
def alert_send(*, alert: Alert, actor: Member) -> Alert:
    """Send now, or wait for a second person when the public tier is included."""
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    if alert.status != Alert.Status.DRAFT:
        return alert
    # Only the author sends their draft: otherwise a second person could press Send on
    # someone else's public draft and then approve it themselves, alone.
    if not can_alert(actor) or actor.pk != alert.created_by_id:
        raise NotAllowed
    if needs_second_person(alert):
        alert.status = Alert.Status.PENDING
        alert.requested_at = timezone.now()
        alert.save(update_fields=["status", "requested_at"])
        notified = _notify_approvers(alert)
        audit("alert.request_approval", actor=actor, target=alert, notified=notified)
        return alert
    return _fan_out(alert, actor)


@transaction.atomic
def alert_approve(*, alert: Alert, actor: Member) -> Alert:
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    if alert.status != Alert.Status.PENDING:
        return alert
    if actor.pk == alert.created_by_id:
        raise NotAllowed(_("A second, different person must approve a public alert."))
    if not may_approve(actor, alert):
        raise NotAllowed
    alert.approved_by = actor
    alert.save(update_fields=["approved_by"])
    audit("alert.approve", actor=actor, target=alert)
    messaging.deliveries_cancel(ref_type=APPROVAL_REF, ref_ids=[alert.pk], reason="answered")
    return _fan_out(alert, actor)


@transaction.atomic
def alert_cancel(*, alert: Alert, actor: Member) -> Alert:
    """A draft or a pending alert is cancelled (nothing was sent). A sent alert cannot be
    unsent: it is stopped, so no escalation step, queued message or captain call follows."""
    if not can_alert(actor):
        raise NotAllowed
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    if alert.status in (Alert.Status.DRAFT, Alert.Status.PENDING):
        alert.status = Alert.Status.CANCELLED
        alert.save(update_fields=["status"])
        messaging.deliveries_cancel(ref_type=APPROVAL_REF, ref_ids=[alert.pk], reason="cancelled")
        audit("alert.cancel", actor=actor, target=alert)
    elif alert.status in (Alert.Status.SENDING, Alert.Status.SENT) and alert.stopped_at is None:
        stopped = _stop([alert.pk], Alert.StopReason.CANCELLED)
        audit("alert.stop", actor=actor, target=alert, **stopped)
        alert.refresh_from_db()
    return alert


# --- Approval requests ------------------------------------------------------------------------


def approvers(alert: Alert) -> list[Member]:
    """Everyone who may approve this alert, those on duty as dispatchers first."""
    candidates = (
        Member.objects.filter(is_active=True)
        .filter(
            Q(memberships__role__in=(Role.DISPATCHER, Role.COALITION_COORDINATOR))
            | Q(
                memberships__role=Role.ORG_COORDINATOR,
                memberships__organization_id=alert.organization_id,
            )
        )
        .exclude(pk=alert.created_by_id or 0)
        .distinct()
        .order_by("pk")
    )
    allowed = [m for m in candidates if may_approve(m, alert)]
    on_duty = reports_selectors.on_duty_ids("dispatcher")
    return sorted(allowed, key=lambda m: (m.pk not in on_duty, m.pk))


def _first_contact(member: Member) -> ContactPoint | None:
    """The member's first channel that can carry a link (a voice call cannot)."""
    sub = (
        Subscriber.objects.filter(member=member)
        .select_related("sms", "voice", "email_contact", "push")
        .first()
    )
    if sub is not None:
        contacts = _usable_contacts(sub)
        for channel in [*sub.channels, "sms", "email"]:
            if channel != Channel.VOICE and channel in contacts:
                return contacts[channel]
    language = member.preferred_language
    if member.phone:
        return messaging.contact_point(
            channel=Channel.SMS, address=member.phone, member=member, language=language
        )
    if member.email:
        return messaging.contact_point(
            channel=Channel.EMAIL, address=member.email, member=member, language=language
        )
    return None


def _notify_approvers(alert: Alert, *, everyone: bool = False) -> int:
    """Tell the people who may approve that a public alert waits for them: the dispatchers on
    duty if any may approve it, otherwise (or, with ``everyone``, once it has waited
    APPROVAL_WIDEN_AFTER) everyone who may, each by their first channel. The console shows it
    too (selectors.approval_notices). Answered or cancelled, the requests still queued are
    cancelled. One request per person and alert (the idempotency key)."""
    people = approvers(alert)
    on_duty = reports_selectors.on_duty_ids("dispatcher")
    chosen = people if everyone else ([m for m in people if m.pk in on_duty] or people)
    link = f"{settings.PUBLIC_URL}{reverse('alert_detail', args=[alert.pk])}"
    author = alert.created_by.username if alert.created_by else "?"
    specs = []
    for member in chosen[:MAX_APPROVERS_NOTIFIED]:
        contact = _first_contact(member)
        if contact is None:
            continue
        language = member.preferred_language if member.preferred_language in ("en", "es") else "es"
        with translation.override(language):
            body = _(
                "Vecinos: %(who)s asks you to approve a public alert (%(kind)s). It waits for "
                "a second person: %(link)s"
            ) % {"who": author, "kind": alert.get_kind_display(), "link": link}
            subject = _("A public alert waits for your approval")
        specs.append(
            messaging.DeliverySpec(
                purpose="approval",
                ref_type=APPROVAL_REF,
                ref_id=alert.pk,
                ref_item=member.pk,
                contact=contact,
                body=body,
                language=language,
                key=f"approval:{alert.pk}:{member.pk}",
                expires_at=alert.expires_at,
                subject=subject,
            )
        )
    messaging.deliveries_enqueue(specs)
    return len(specs)


def remind_approvers(*, now: datetime | None = None) -> int:
    """Public alerts still waiting after APPROVAL_WIDEN_AFTER: everyone who may approve them
    is told, not only those on duty (run by the minute auditor; nobody is told twice)."""
    now = now or timezone.now()
    waiting = Alert.objects.filter(
        status=Alert.Status.PENDING,
        requested_at__lte=now - APPROVAL_WIDEN_AFTER,
        expires_at__gt=now,
    ).select_related("created_by")[:50]
    told = 0
    for alert in waiting:
        with transaction.atomic():
            told += _notify_approvers(alert, everyone=True)
    return told


# --- Stopping: all-clear, correction, cancel, expiry ---------------------------------------------


def _thread_of(alert: Alert) -> list[int]:
    """The alerts an all-clear or correction supersedes: the original and every follow-up of
    it that went out (updates in between), but not the new one."""
    root_id = alert.parent_id
    seen: set[int] = set()
    while root_id is not None and root_id not in seen:
        seen.add(root_id)
        parent_id = Alert.objects.filter(pk=root_id).values_list("parent_id", flat=True).first()
        if parent_id is None:
            break
        root_id = parent_id
    ids: set[int] = {root_id} if root_id is not None else set()
    frontier = list(ids)
    while frontier:
        frontier = list(
            Alert.objects.filter(parent_id__in=frontier)
            .exclude(pk__in=ids)
            .values_list("pk", flat=True)
        )
        ids.update(frontier)
    ids.discard(alert.pk)
    return sorted(
        Alert.objects.filter(
            pk__in=ids, status__in=(Alert.Status.SENDING, Alert.Status.SENT)
        ).values_list("pk", flat=True)
    )


def _stop(alert_ids: list[int], reason: str) -> dict[str, int]:
    """Nothing more of these alerts goes out: no escalation step (voice, captain), no queued
    message (cancelled, not sent late), and captains' open calls close with the reason."""
    if not alert_ids:
        return {"steps": 0, "captain_calls": 0, "cancelled": 0}
    now = timezone.now()
    Alert.objects.filter(pk__in=alert_ids, stopped_at__isnull=True).update(
        stopped_at=now, stop_reason=reason
    )
    steps = AlertRecipient.objects.filter(
        alert_id__in=alert_ids, next_step_at__isnull=False
    ).update(next_step_at=None)
    calls = AlertRecipient.objects.filter(
        alert_id__in=alert_ids,
        captain_status__in=(
            AlertRecipient.CaptainStatus.PENDING,
            AlertRecipient.CaptainStatus.NO_ANSWER,
        ),
    ).update(captain_status=AlertRecipient.CaptainStatus.CLOSED, captain_at=now)
    cancelled = messaging.deliveries_cancel(
        ref_type="alert", ref_ids=alert_ids, reason=f"stopped: {reason}"
    )
    return {"steps": steps, "captain_calls": calls, "cancelled": cancelled}


def stop_expired(*, now: datetime | None = None, limit: int = 500) -> int:
    """Expired alerts stop too: their captains' open calls close (run by the minute auditor)."""
    now = now or timezone.now()
    ids = list(
        Alert.objects.filter(
            status=Alert.Status.SENT, stopped_at__isnull=True, expires_at__lte=now
        ).values_list("pk", flat=True)[:limit]
    )
    with transaction.atomic():
        _stop(ids, Alert.StopReason.EXPIRED)
    return len(ids)


def message_for(alert: Alert, language: str) -> tuple[str, str]:
    """The alert's text in the person's language, falling back to Spanish, then English."""
    for lang in (language, *FALLBACK_LANGUAGES):
        if alert.messages.get(lang):
            return alert.messages[lang], lang
    lang, text = next(iter(alert.messages.items()))
    return text, lang


def ack_token(recipient_id: int, signer: signing.TimestampSigner | None = None) -> str:
    # The same token as signing.dumps(..., salt="vecinos.ack"); a fan-out reuses one signer.
    return (signer or signing.TimestampSigner(salt="vecinos.ack")).sign_object(recipient_id)


def ack_link(recipient_id: int, signer: signing.TimestampSigner | None = None) -> str:
    return f"{settings.PUBLIC_URL}/a/{ack_token(recipient_id, signer)}/"


def load_ack_token(token: str, max_age_days: int = 7) -> AlertRecipient | None:
    try:
        rid = signing.loads(token, salt="vecinos.ack", max_age=max_age_days * 86400)
    except signing.BadSignature:
        return None
    return AlertRecipient.objects.select_related("alert").filter(pk=rid).first()


def _bodies(alert: Alert):
    """A fast body maker for a fan-out: each language's wording is translated once."""
    templates: dict[tuple[str, str], tuple[str, bool]] = {}
    signer = signing.TimestampSigner(salt="vecinos.ack")

    def make(recipient_id: int, language: str, channel: str) -> str:
        key = (language, channel)
        if key not in templates:
            text, lang = message_for(alert, language)
            with translation.override(lang if lang in ("en", "es") else "es"):
                if channel == Channel.VOICE or alert.kind in (
                    Alert.Kind.ALL_CLEAR,
                    Alert.Kind.CORRECTION,
                    Alert.Kind.NOTICE,
                ):
                    templates[key] = (text, False)
                else:
                    wording = (
                        # A reply on Signal reaches no one here: only the link confirms.
                        _("%(text)s Confirm you got this: %(link)s")
                        if channel == Channel.SIGNAL
                        else _("%(text)s Reply 1 to confirm you got this: %(link)s")
                    )
                    templates[key] = (wording.replace("%(text)s", text.replace("%", "%%")), True)
        wording, with_link = templates[key]
        return wording % {"link": ack_link(recipient_id, signer)} if with_link else wording

    return make


def budget_status(organization_id: int | None) -> dict[str, int | bool]:
    if organization_id is None:
        return {"used": 0, "limit": 0, "warn": False, "over": False}
    budget, _created = SmsBudget.objects.get_or_create(organization_id=organization_id)
    month = timezone.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    alert_ids = Alert.objects.filter(organization_id=organization_id, sent_at__gte=month).values(
        "pk"
    )
    used = Delivery.objects.filter(
        ref_type="alert", ref_id__in=alert_ids, channel__in=[Channel.SMS, Channel.VOICE]
    ).count()
    limit = budget.monthly_limit
    return {
        "used": used,
        "limit": limit,
        "warn": used >= limit * budget.warn_at_percent / 100,
        "over": used >= limit,
    }


def _contact_for(sub: Subscriber, channel: str) -> ContactPoint | None:
    contact = {
        "sms": sub.sms,
        "voice": sub.voice,
        "email": sub.email_contact,
        "push": sub.push,
    }.get(channel)
    if contact is not None and contact.usable:
        return contact
    return None


def _fan_out(alert: Alert, actor: Member) -> Alert:
    """Recipients and first deliveries, in this transaction; workers wake on commit."""
    now = timezone.now()
    targets = select_recipients(alert)
    budget = budget_status(alert.organization_id)
    if (
        budget["over"]
        and Tier.PUBLIC in alert.tiers
        and not network.is_coalition_coordinator(actor)
    ):
        raise AlertError(
            {
                "budget": str(
                    gettext_lazy(
                        "This organization's SMS and call budget for the month is used up. "
                        "A coalition coordinator can still send it."
                    )
                )
            }
        )
    alert.escalation = {t: DEFAULT_ESCALATION[t] for t in alert.tiers}
    alert.status = Alert.Status.SENDING
    alert.sent_at = now
    alert.recipients_count = len(targets)
    alert.save(update_fields=["escalation", "status", "sent_at", "recipients_count"])
    # Contact points by id (no decryption here: workers decrypt the address when they send).
    channels_of: dict[int, tuple[list[str], dict[str, int | None]]] = {}
    usable: set[int] = set()
    sub_ids = [t.subscriber_id for t in targets]
    # Signal only while a provider sends it; otherwise their next channel is used.
    signal_on = registry.is_configured(Channel.SIGNAL)
    for i in range(0, len(sub_ids), 5000):
        chunk = sub_ids[i : i + 5000]
        contact_ids: list[int] = []
        on_signal: dict[str, int] = {}  # phone index -> subscriber, for those who chose Signal
        for pk, chans, sms_id, voice_id, email_id, push_id, index in with_ids(
            Subscriber.objects.all(), chunk
        ).values_list(
            "pk", "channels", "sms_id", "voice_id", "email_contact_id", "push_id", "phone_index"
        ):
            channels_of[pk] = (
                chans,
                {"sms": sms_id, "voice": voice_id, "email": email_id, "push": push_id},
            )
            contact_ids.extend(c for c in (sms_id, voice_id, email_id, push_id) if c)
            if signal_on and Channel.SIGNAL in chans and index:
                on_signal[index] = pk
        # A Signal contact point shares the phone's blind index (messaging.address_index).
        signal_rows = ContactPoint.objects.filter(
            channel=Channel.SIGNAL, address_index__in=list(on_signal)
        ).values_list("pk", "address_index")
        for signal_id, index in signal_rows if on_signal else ():
            channels_of[on_signal[index]][1]["signal"] = signal_id
            contact_ids.append(signal_id)
        usable.update(
            with_ids(ContactPoint.objects.filter(usable=True), contact_ids).values_list(
                "pk", flat=True
            )
        )
    # Each person's first message and when their escalation is due, decided before the rows
    # are written, so each recipient row is written once, complete.
    first_of: dict[int, tuple[int, str]] = {}
    recipient_rows = []
    escalates = alert.kind not in THROTTLE_EXEMPT
    for t in targets:
        plan = alert.escalation.get(t.tier, [])
        chans, contacts = channels_of.get(t.subscriber_id, ([], {}))
        # The first message goes by the person's own first choice (push, SMS, email...);
        # escalation steps then follow the policy (voice, captain).
        first = chans[0] if chans else (plan[0]["channel"] if plan else "sms")
        next_step_at = None
        for candidate in [first, *(c for c in chans if c != first), "sms"]:
            cid = contacts.get(candidate)
            if cid and cid in usable:
                first_of[t.subscriber_id] = (cid, candidate)
                if len(plan) > 1 and escalates:
                    next_step_at = now + timedelta(seconds=plan[1]["after"])
                break
        recipient_rows.append((t.subscriber_id, t.tier, t.language, next_step_at))
    ids_of = _insert_recipients(alert, recipient_rows)
    bodies = _bodies(alert)
    subject = str(alert.get_kind_display())
    specs = []
    for t in targets:
        if t.subscriber_id not in first_of:
            continue
        contact_id, channel = first_of[t.subscriber_id]
        rid = ids_of[t.subscriber_id]
        specs.append(
            messaging.DeliverySpec(
                purpose="alert",
                ref_type="alert",
                ref_id=alert.pk,
                ref_item=rid,
                contact=None,
                contact_id=contact_id,
                channel=channel,
                body=bodies(rid, t.language, channel),
                language=t.language,
                key=f"alert:{alert.pk}:{rid}:{channel}:0",
                expires_at=alert.expires_at,
                subject=subject,
            )
        )
    messaging.deliveries_enqueue(specs)
    Alert.objects.filter(pk=alert.pk).update(status=Alert.Status.SENT)
    alert.status = Alert.Status.SENT
    audit("alert.send", actor=actor, target=alert, recipients=len(targets), messages=len(specs))
    if alert.kind in THROTTLE_EXEMPT and alert.parent_id:
        reason = (
            Alert.StopReason.ALL_CLEAR
            if alert.kind == Alert.Kind.ALL_CLEAR
            else Alert.StopReason.CORRECTION
        )
        superseded = _thread_of(alert)
        stopped = _stop(superseded, reason)
        audit("alert.supersede", actor=actor, target=alert, alerts=superseded, **stopped)
    if alert.incident_id:
        reports.incident_alerted(
            incident_id=alert.incident_id, alert_id=alert.pk, alert_kind=alert.kind, actor=actor
        )
    _schedule_escalation(alert)
    return alert


def _insert_recipients(alert: Alert, rows: list[tuple[int, str, str, datetime | None]]) -> dict:
    """Write an alert's recipient rows with plain multi-row INSERTs (core.bulk) and read back
    their ids: subscriber -> recipient id."""
    if not rows:
        return {}
    adapt = connection.ops.adapt_datetimefield_value
    values = [
        (alert.pk, sub_id, tier, language, "", 0, adapt(when) if when else None, "")
        for sub_id, tier, language, when in rows
    ]
    columns = (
        "alert_id", "subscriber_id", "tier", "language", "ack_via", "step", "next_step_at",
        "captain_status",
    )  # fmt: skip
    insert_rows(AlertRecipient._meta.db_table, columns, values)
    return dict(AlertRecipient.objects.filter(alert=alert).values_list("subscriber_id", "pk"))


def _schedule_escalation(alert: Alert) -> None:
    from vecinos.alerts.tasks import run_escalations

    delays = sorted({s["after"] for plan in alert.escalation.values() for s in plan[1:]})
    assert alert.sent_at is not None  # alert_send sets it just before
    for delay in delays:
        when = alert.sent_at + timedelta(seconds=delay + 2)

        def enqueue(when: datetime = when) -> None:
            run_escalations.using(run_after=when).enqueue()

        transaction.on_commit(enqueue)


# --- Acknowledgement ---------------------------------------------------------------------------


def acknowledge(*, recipient: AlertRecipient, via: str) -> bool:
    """Record that the person got it; stops their escalation. Idempotent."""
    now = timezone.now()
    updated = AlertRecipient.objects.filter(pk=recipient.pk, acknowledged_at__isnull=True).update(
        acknowledged_at=now, ack_via=via[:12], next_step_at=None
    )
    if updated:
        Delivery.objects.filter(
            ref_type="alert",
            ref_id=recipient.alert_id,
            ref_item=recipient.pk,
            acknowledged_at__isnull=True,
        ).update(acknowledged_at=now)
        # Queued escalation messages to someone who already answered are not needed.
        Delivery.objects.filter(
            ref_type="alert",
            ref_id=recipient.alert_id,
            ref_item=recipient.pk,
            status=DeliveryStatus.QUEUED,
        ).update(status=DeliveryStatus.CANCELLED, final_at=now, last_error="acknowledged")
    return bool(updated)


def acknowledge_by_phone(*, index: str) -> AlertRecipient | None:
    """A '1' / 'YES' / 'SI' reply: the most recent unacknowledged alert sent to that phone."""
    recipient = (
        AlertRecipient.objects.filter(
            subscriber__phone_index=index,
            acknowledged_at__isnull=True,
            alert__status=Alert.Status.SENT,
            alert__expires_at__gt=timezone.now(),
        )
        .exclude(alert__kind__in=THROTTLE_EXEMPT)
        .select_related("alert")
        .order_by("-alert__sent_at", "-pk")
        .first()
    )
    if recipient is None:
        return None
    acknowledge(recipient=recipient, via="sms")
    return recipient


# --- Escalation --------------------------------------------------------------------------------


def escalate_due(*, now: datetime | None = None, limit: int = 5000) -> dict[str, int]:
    """Run every escalation step that is due. Each step re-checks it is still due."""
    now = now or timezone.now()
    counts = {"voice": 0, "sms": 0, "email": 0, "captain": 0, "skipped": 0}
    due = list(
        AlertRecipient.objects.filter(
            next_step_at__lte=now,
            acknowledged_at__isnull=True,
            alert__status=Alert.Status.SENT,
            alert__stopped_at__isnull=True,
        ).select_related(
            "alert", "subscriber__sms", "subscriber__voice", "subscriber__email_contact"
        )[:limit]
    )
    specs = []
    makers: dict[int, Any] = {}  # one body maker per alert: its wording translated once
    for r in due:
        plan = r.alert.escalation.get(r.tier, [])
        step_no = r.step + 1
        if step_no >= len(plan) or r.alert.expires_at <= now:
            AlertRecipient.objects.filter(pk=r.pk, step=r.step).update(next_step_at=None)
            counts["skipped"] += 1
            continue
        step = plan[step_no]
        following = plan[step_no + 1] if step_no + 1 < len(plan) else None
        next_at = (
            r.alert.sent_at + timedelta(seconds=following["after"])  # type: ignore[operator]
            if following
            else None
        )
        fields: dict[str, Any] = {"step": step_no, "next_step_at": next_at}
        if step.get("action") == "captain":
            captain = _captain_for(r)
            fields.update(captain=captain, captain_status=AlertRecipient.CaptainStatus.PENDING)
        # The conditional update is the lock: only one runner moves a recipient past a step.
        # An all-clear sent meanwhile clears next_step_at, so a step it stopped never runs.
        if not AlertRecipient.objects.filter(
            pk=r.pk, step=r.step, acknowledged_at__isnull=True, next_step_at__isnull=False
        ).update(**fields):
            counts["skipped"] += 1
            continue
        if step.get("action") == "captain":
            counts["captain"] += 1
            continue
        contact = _contact_for(r.subscriber, step["channel"])
        if contact is None:
            counts["skipped"] += 1
            continue
        specs.append(
            messaging.DeliverySpec(
                purpose="alert",
                ref_type="alert",
                ref_id=r.alert_id,
                ref_item=r.pk,
                contact=contact,
                body=makers.setdefault(r.alert_id, _bodies(r.alert))(
                    r.pk, r.language, contact.channel
                ),
                language=r.language,
                key=f"alert:{r.alert_id}:{r.pk}:{contact.channel}:{step_no}",
                expires_at=r.alert.expires_at,
            )
        )
        counts[contact.channel] = counts.get(contact.channel, 0) + 1
    with transaction.atomic():
        live = _still_live({spec.ref_id for spec in specs})
        for spec in specs:
            if spec.ref_id not in live and spec.contact is not None:
                counts[spec.contact.channel] -= 1
                counts["skipped"] += 1
        messaging.deliveries_enqueue([spec for spec in specs if spec.ref_id in live])
    metrics.escalation_steps(counts)  # issue 15
    return counts


def _still_live(alert_ids: set[int | None]) -> set[int]:
    """The alerts among these not stopped, locked until the caller's transaction ends: an
    all-clear stopping one of them (which updates the same rows first) waits for the caller's
    new messages to be committed and then cancels them, or the caller sees it stopped."""
    ids = [pk for pk in alert_ids if pk is not None]
    if not ids:
        return set()
    return set(
        Alert.objects.select_for_update()
        .filter(pk__in=ids, stopped_at__isnull=True)
        .order_by("pk")  # one lock order for every runner
        .values_list("pk", flat=True)
    )


def _usable_contacts(sub: Subscriber) -> dict[str, ContactPoint]:
    """Every way to reach this person that still works, by channel."""
    found = {c: _contact_for(sub, c) for c in ("sms", "voice", "email", "push")}
    if registry.is_configured(Channel.SIGNAL) and sub.phone_index:
        found["signal"] = ContactPoint.objects.filter(
            channel=Channel.SIGNAL, address_index=sub.phone_index, usable=True
        ).first()
    return {c: contact for c, contact in found.items() if contact is not None}


def fall_back_failed(*, now: datetime | None = None, limit: int = 2000) -> int:
    """Someone whose every message of a live alert failed for good (no Signal account, a
    rejected email, an expired push subscription, a carrier's 'undelivered') gets the alert by
    their next channel that was not tried yet, in their order of preference, then SMS.

    Run every minute by the escalation auditor; each channel is tried once per alert (the
    idempotency key), so two runners never double it.
    """
    now = now or timezone.now()
    mine = {
        "ref_type": "alert",
        "ref_id": OuterRef("alert_id"),
        "ref_item": OuterRef("pk"),
    }
    failed = Delivery.objects.filter(
        **mine, status__in=[DeliveryStatus.FAILED, DeliveryStatus.UNDELIVERED]
    )
    live = Delivery.objects.filter(
        **mine,
        status__in=[
            DeliveryStatus.QUEUED,
            DeliveryStatus.SENDING,
            DeliveryStatus.SENT,
            DeliveryStatus.DELIVERED,
        ],
    )
    stranded = list(
        AlertRecipient.objects.filter(
            acknowledged_at__isnull=True,
            alert__status=Alert.Status.SENT,
            alert__stopped_at__isnull=True,
            alert__expires_at__gt=now,
            alert__sent_at__gte=now - timedelta(days=1),
        )
        .filter(Exists(failed))
        .exclude(Exists(live))
        .select_related(
            "alert",
            "subscriber__sms",
            "subscriber__voice",
            "subscriber__email_contact",
            "subscriber__push",
        )[:limit]
    )
    if not stranded:
        return 0
    tried: dict[int | None, set[str]] = defaultdict(set)
    for item, used in Delivery.objects.filter(
        ref_type="alert", ref_item__in=[r.pk for r in stranded]
    ).values_list("ref_item", "channel"):
        tried[item].add(used)
    specs = []
    makers: dict[int, Any] = {}
    for r in stranded:
        contacts = _usable_contacts(r.subscriber)
        order = [*r.subscriber.channels, "sms"]
        untried = [c for c in order if c in contacts and c not in tried[r.pk]]
        if not untried:
            continue  # nothing left to try: the phone tree (captain step) is their way
        channel = untried[0]
        contact = contacts[channel]
        specs.append(
            messaging.DeliverySpec(
                purpose="alert",
                ref_type="alert",
                ref_id=r.alert_id,
                ref_item=r.pk,
                contact=contact,
                body=makers.setdefault(r.alert_id, _bodies(r.alert))(r.pk, r.language, channel),
                language=r.language,
                key=f"alert:{r.alert_id}:{r.pk}:{channel}:fallback",
                expires_at=r.alert.expires_at,
                subject=str(r.alert.get_kind_display()),
            )
        )
    with transaction.atomic():
        running = _still_live({spec.ref_id for spec in specs})
        return messaging.deliveries_enqueue([spec for spec in specs if spec.ref_id in running])


def _captain_for(recipient: AlertRecipient) -> Member | None:
    standing = (
        CaptainAssignment.objects.filter(subscriber_id=recipient.subscriber_id)
        .select_related("captain")
        .first()
    )
    if standing is not None and standing.captain.is_active:
        return standing.captain
    org_id = recipient.alert.organization_id
    member_id = recipient.subscriber.member_id
    if member_id:
        org_id = (
            Membership.objects.filter(member_id=member_id)
            .values_list("organization_id", flat=True)
            .first()
            or org_id
        )
    if org_id is None:
        return None  # every membership has an organization: no captain can match
    captains = list(
        Member.objects.filter(
            is_active=True, memberships__role=Role.CAPTAIN, memberships__organization_id=org_id
        )
        .distinct()
        .order_by("pk")
    )
    captains = [c for c in captains if network.has_role(c, Role.CAPTAIN)]
    if not captains:
        return None
    # Spread the calls: the captain with the fewest open assignments on this alert.
    load = dict(
        AlertRecipient.objects.filter(
            alert_id=recipient.alert_id,
            captain__in=captains,
            captain_status=AlertRecipient.CaptainStatus.PENDING,
        )
        .values_list("captain_id")
        .annotate(n=Count("id"))
    )
    return min(captains, key=lambda c: (load.get(c.pk, 0), c.pk))


def captain_mark(*, recipient: AlertRecipient, captain: Member, status: str) -> AlertRecipient:
    if recipient.captain_id != captain.pk and not network.is_coordinator(captain):
        raise NotAllowed
    if status not in (
        AlertRecipient.CaptainStatus.REACHED,
        AlertRecipient.CaptainStatus.NO_ANSWER,
        AlertRecipient.CaptainStatus.WRONG_NUMBER,
    ):
        raise ValueError(status)
    if recipient.captain_status == AlertRecipient.CaptainStatus.CLOSED:
        return recipient  # the alert was stopped (all-clear, correction): nothing to mark
    recipient.captain_status = status
    recipient.captain_at = timezone.now()
    recipient.save(update_fields=["captain_status", "captain_at"])
    if status == AlertRecipient.CaptainStatus.REACHED:
        acknowledge(recipient=recipient, via="captain")
    audit("tree.mark", actor=captain, target=recipient, status=status)
    return recipient


def captain_queue(captain: Member):
    return (
        AlertRecipient.objects.filter(
            captain=captain,
            acknowledged_at__isnull=True,
            captain_status__in=[
                AlertRecipient.CaptainStatus.PENDING,
                AlertRecipient.CaptainStatus.NO_ANSWER,
            ],
        )
        .select_related("alert", "subscriber", "subscriber__member")
        .order_by("-alert__sent_at", "pk")
    )


# --- Progress ------------------------------------------------------------------------------------


def progress(alert: Alert) -> dict:
    """Delivery counts by tier and channel, acknowledgements, and who is not yet reached."""
    by: defaultdict[str, defaultdict[str, int]] = defaultdict(lambda: defaultdict(int))
    rows = (
        Delivery.objects.filter(ref_type="alert", ref_id=alert.pk)
        .values_list("channel", "status")
        .annotate(n=Count("id"))
    )
    totals: dict[str, int] = defaultdict(int)
    for channel, status, n in rows:
        by[channel][status] += n
        totals[status] += n
    tiers = (
        AlertRecipient.objects.filter(alert=alert)
        .values_list("tier")
        .annotate(
            n=Count("id"),
            acked=Count("id", filter=Q(acknowledged_at__isnull=False)),
        )
    )
    return {
        "channels": {c: dict(s) for c, s in by.items()},
        "totals": dict(totals),
        "tiers": {t: {"recipients": n, "acknowledged": a} for t, n, a in tiers},
        "recipients": alert.recipients_count,
        "acknowledged": sum(a for _t, _n, a in tiers),
    }


def push_attach(*, member: Member, subscription, language: str) -> Subscriber | None:
    """A member's browser turned notifications on: push becomes their first channel."""
    from vecinos.messaging.push import push_subscribe

    sub = ensure_member_subscriber(member)
    if sub is None:
        return None
    contact = push_subscribe(member=member, subscription=subscription, language=language)
    sub.push = contact
    sub.channels = ["push", *[c for c in sub.channels if c != "push"]]
    sub.save(update_fields=["push", "channels"])
    return sub


def push_detach(*, member: Member, endpoint: str) -> None:
    from vecinos.messaging.push import push_unsubscribe

    push_unsubscribe(member=member, endpoint=endpoint)
    Subscriber.objects.filter(member=member).update(push=None)
    sub = Subscriber.objects.filter(member=member).first()
    if sub is not None and "push" in sub.channels:
        sub.channels = [c for c in sub.channels if c != "push"] or ["sms"]
        sub.save(update_fields=["channels"])
