"""Targeting: which subscribers an alert reaches (tiers, areas, polygons, opt-outs, the
per-person throttle)."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import timedelta

import h3
from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone

from vecinos.alerts import selection_sql as sql
from vecinos.alerts.models import (
    Alert,
    AlertRecipient,
    OptOut,
    Subscriber,
    SubscriptionArea,
    Tier,
)
from vecinos.alerts.rules import (
    FOLLOWUP_KINDS,
    THROTTLE_EXEMPT,
    THROTTLE_PER_HOUR,
)
from vecinos.alerts.selection_sql import Target
from vecinos.core import geo
from vecinos.network import selectors as network
from vecinos.network.models import Role, Zone

# --- Targeting -------------------------------------------------------------------------------


def _zone_rows() -> list[tuple[int, float, float, list[str]]]:
    """Every zone's (id, centre lat, centre lng, cells): plain rows, no model instances, no
    ordering, no boundary."""
    return list(Zone.objects.order_by().values_list("pk", "center_lat", "center_lng", "cells"))


def _zone_hits_circle(
    center_lat: float, center_lng: float, cells: list[str], lat: float, lng: float, radius_m: float
) -> bool:
    if geo.haversine_m(lat, lng, center_lat, center_lng) <= radius_m:
        return True
    return any(geo.haversine_m(lat, lng, *h3.cell_to_latlng(c)) <= radius_m for c in cells[::4])


# 5 km chosen at most, plus the widening of a member's coarse area (models.place_coarsely).
MAX_AREA_RADIUS_M = 5000 + 1500
# Distance from a res-7 cell's center to its farthest corner (edge length ~1.22 km).
CELL7_REACH_M = 1.1 * h3.average_hexagon_edge_length(geo.COARSE_RESOLUTION, unit="m")
CELL8_REACH_M = 1.1 * h3.average_hexagon_edge_length(8, unit="m")


def _area_parts(
    *,
    zones: list[Zone] | None = None,
    point: tuple[float, float] | None = None,
    radius_m: float | None = None,
) -> list[sql.Part | None]:
    """The target area as SQL parts (subscriber ids of any status): a point + radius, zones."""
    parts: list[sql.Part | None] = []
    if point is not None and radius_m:
        lat, lng = point
        geo.validate_lat_lng(lat, lng)
        parts += sql.circle_parts(lat, lng, radius_m)
        zone_ids = [
            pk
            for pk, z_lat, z_lng, cells in _zone_rows()
            if _zone_hits_circle(z_lat, z_lng, cells, lat, lng, radius_m)
        ]
        parts.append(sql.zone_part(zone_ids))
    if zones:
        parts.append(sql.zone_part([z.pk for z in zones]))
        cells = set().union(*(set(z.cells) for z in zones))
        parents = {h3.cell_to_parent(c, geo.COARSE_RESOLUTION) for c in cells}
        zone_rows = SubscriptionArea.objects.filter(cell7__in=parents).values_list(
            "subscriber_id", "lat", "lng"
        )
        parts.append(
            sql.ids_part(
                sub_id
                for sub_id, a_lat, a_lng in zone_rows.iterator(chunk_size=20000)
                if a_lat is not None and a_lng is not None and geo.cell_of(a_lat, a_lng) in cells
            )
        )
    return parts


def subscribers_in_area(
    *,
    zones: list[Zone] | None = None,
    point: tuple[float, float] | None = None,
    radius_m: float | None = None,
) -> set[int]:
    """Ids of active subscribers whose areas touch the target (zones, or a point + radius):
    one statement (selection_sql)."""
    parts = _area_parts(zones=zones, point=point, radius_m=radius_m)
    return sql.active_ids([p for p in parts if p is not None])


def _polygon_cells(
    corners: list[tuple[float, float]], plane: geo.Plane, shape: list, edges: list, reach: float
) -> tuple[list[str], dict[str, tuple[bool, float]]]:
    """The res-7 cells wholly inside the polygon, and the rim cells near its edges (as far
    out as ``reach``, the widest area anyone has)."""
    lat0 = plane.lat0
    margin = reach + 2 * CELL7_REACH_M
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
        elif inside or edge <= CELL7_REACH_M + reach:
            rim[cell] = (not inside and edge > CELL7_REACH_M, max(0.0, edge - CELL7_REACH_M))
    return inner, rim


def _zones_touching(plane: geo.Plane, shape: list) -> list[int]:
    """Zones some of whose cells (or whose center) lie inside the polygon."""
    return [
        pk
        for pk, z_lat, z_lng, cells in _zone_rows()
        if any(
            geo.point_in_ring(*plane.xy(*h3.cell_to_latlng(c)), shape)
            for c in [*cells[::4], *cells[-1:]]
        )
        or geo.point_in_ring(*plane.xy(z_lat, z_lng), shape)
    ]


def _rim_rows_inside(
    rows: list[tuple],
    rim: dict[str, tuple[bool, float]],
    ids: set[int],
    plane: geo.Plane,
    shape: list,
    edges: list,
) -> None:
    """Adds to ``ids`` the rim rows (subscriber, cell7, lat, lng, radius) that touch the polygon."""
    fine: dict[str, tuple[int, float]] = {}
    lat0, lng0, kx, ky = plane.lat0, plane.lng0, plane.kx, plane.ky
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
    inner, rim = _polygon_cells(corners, plane, shape, edges, sql.largest_area_radius())
    area_t = SubscriptionArea._meta.db_table
    ids: set[int] = set()
    rim_cells = list(rim)
    with connection.cursor() as cursor:
        for start in range(0, len(inner), 500):
            chunk = inner[start : start + 500]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"SELECT a.subscriber_id FROM {area_t} a WHERE a.cell7 IN ({marks})",  # noqa: S608
                chunk,
            )
            ids.update(row[0] for row in cursor.fetchall())
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
    _rim_rows_inside(rows, rim, ids, plane, shape, edges)
    touched = _zones_touching(plane, shape)
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
    # One query for all of them (not one roles query per person: issue 10).
    member_ids = network.member_ids_with_roles(*roles)
    return set(
        Subscriber.objects.filter(
            member_id__in=member_ids, status=Subscriber.Status.ACTIVE
        ).values_list("pk", flat=True)
    )


def select_recipients(alert: Alert, *, zones: list[Zone] | None = None) -> list[Target]:
    """Who this alert goes to: tiers, geography, opt-outs and the per-person throttle.

    ``zones`` stands in for ``alert.zones`` on an alert not saved yet (the composer's live
    "would reach N people" count runs this same selection on the draft being drawn).
    Everything but a follow-up is one statement (selection_sql.eligible): ids and languages,
    never a model instance; the inner tier wins for someone in several.
    """
    if alert.parent_id and alert.kind in FOLLOWUP_KINDS:
        return _followup_targets(alert, alert.parent_id)
    tiers = set(alert.tiers)
    internal = (
        _members_with_roles((Role.DISPATCHER, Role.VERIFIER)) if Tier.INTERNAL in tiers else set()
    )
    responders = _members_with_roles((Role.RESPONDER,)) if Tier.RESPONDERS in tiers else set()
    parts: list[sql.Part | None] = [sql.ids_part(internal | responders)]
    if Tier.MEMBERS in tiers or Tier.PUBLIC in tiers:
        zones = list(alert.zones.all()) if zones is None else zones
        point = (alert.lat, alert.lng) if alert.lat is not None and alert.lng is not None else None
        parts += _area_parts(zones=zones, point=point, radius_m=alert.radius_m)
        if getattr(alert, "polygon", None):  # a call-out has no drawn area
            parts.append(sql.ids_part(subscribers_in_polygon(ring=alert.polygon)))
    return sql.eligible(
        parts, kind=alert.kind, tiers=tiers, internal=internal, responders=responders
    )


def _followup_targets(alert: Alert, parent_id: int) -> list[Target]:
    """Exactly the people who received the original, in the language they got it in,
    whatever tiers or zones changed since (STOP still wins)."""
    rows = AlertRecipient.objects.filter(alert_id=parent_id).values_list(
        "subscriber_id", "tier", "language"
    )
    targets = list(map(Target, rows))
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
