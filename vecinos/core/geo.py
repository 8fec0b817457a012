"""Geography without a spatial database: H3 cells for zones, haversine for distances."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import h3

ZONE_RESOLUTION = 9
COARSE_RESOLUTION = 7
EARTH_RADIUS_M = 6_371_008.8


class GeoError(ValueError):
    pass


def validate_lat_lng(lat: float, lng: float) -> None:
    if not (math.isfinite(lat) and math.isfinite(lng)):
        raise GeoError("coordinates must be numbers")
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise GeoError("coordinates are out of range")


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def bounding_box(lat: float, lng: float, radius_m: float) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lng, max_lng) enclosing a circle; a cheap index-friendly prefilter."""
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    dlng = math.degrees(radius_m / (EARTH_RADIUS_M * max(math.cos(math.radians(lat)), 1e-6)))
    return lat - dlat, lat + dlat, lng - dlng, lng + dlng


def polygon_cells(ring_lnglat: Sequence[Sequence[float]], res: int = ZONE_RESOLUTION) -> list[str]:
    """H3 cells whose centers fall inside a GeoJSON ring of [lng, lat] pairs."""
    if len(ring_lnglat) < 4:
        raise GeoError("a boundary needs at least three corners")
    for lng, lat in ring_lnglat:
        validate_lat_lng(lat, lng)
    shape = h3.LatLngPoly([(lat, lng) for lng, lat in ring_lnglat])
    return sorted(h3.polygon_to_cells(shape, res))


def circle_cells(lat: float, lng: float, radius_m: float, res: int = ZONE_RESOLUTION) -> list[str]:
    validate_lat_lng(lat, lng)
    center = h3.latlng_to_cell(lat, lng, res)
    edge = h3.average_hexagon_edge_length(res, unit="m")
    k = max(1, math.ceil(radius_m / (edge * 1.5)))
    return sorted(
        c
        for c in h3.grid_disk(center, k)
        if haversine_m(lat, lng, *h3.cell_to_latlng(c)) <= radius_m
    ) or [center]


def cell_of(lat: float, lng: float, res: int = ZONE_RESOLUTION) -> str:
    validate_lat_lng(lat, lng)
    return h3.latlng_to_cell(lat, lng, res)


def cells_outline(cells: Iterable[str]) -> list[list[list[float]]]:
    """Outer rings ([lng, lat]) of the area covered by the cells, for drawing on a map."""
    cell_list = list(cells)
    if not cell_list:
        return []
    shape = h3.cells_to_h3shape(cell_list)
    polys = shape.polys if isinstance(shape, h3.LatLngMultiPoly) else [shape]
    return [[[lng, lat] for lat, lng in poly.outer] for poly in polys]


def centroid(cells: Iterable[str]) -> tuple[float, float]:
    pts = [h3.cell_to_latlng(c) for c in cells]
    if not pts:
        raise GeoError("no cells")
    return sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts)


class Plane:
    """Metres on a local flat projection around (lat0, lng0): exact enough within ~50 km, and
    cheap enough to test a hundred thousand points against a drawn polygon."""

    def __init__(self, lat0: float, lng0: float) -> None:
        self.lat0, self.lng0 = lat0, lng0
        self.kx = math.radians(1) * math.cos(math.radians(lat0)) * EARTH_RADIUS_M
        self.ky = math.radians(1) * EARTH_RADIUS_M

    def xy(self, lat: float, lng: float) -> tuple[float, float]:
        return (lng - self.lng0) * self.kx, (lat - self.lat0) * self.ky


def point_in_ring(x: float, y: float, ring: Sequence[tuple[float, float]]) -> bool:
    """Even-odd rule; ``ring`` is open (the last corner joins the first)."""
    inside = False
    j = len(ring) - 1
    for i in range(len(ring)):
        xi, yi = ring[i]
        xj, yj = ring[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def ring_edges(
    ring: Sequence[tuple[float, float]],
) -> list[tuple[float, float, float, float, float]]:
    """(ax, ay, dx, dy, length²) of each edge of an open ring, for ``distance_to_edges``."""
    out = []
    j = len(ring) - 1
    for i in range(len(ring)):
        ax, ay = ring[j]
        dx, dy = ring[i][0] - ax, ring[i][1] - ay
        out.append((ax, ay, dx, dy, dx * dx + dy * dy))
        j = i
    return out


def distance_to_edges(
    x: float, y: float, edges: list[tuple[float, float, float, float, float]]
) -> float:
    """Distance from a point to the nearest edge (0 on an edge), in the edges' units."""
    best = math.inf
    for ax, ay, dx, dy, length2 in edges:
        wx, wy = x - ax, y - ay
        t = (wx * dx + wy * dy) / length2 if length2 else 0.0
        if t < 0.0:
            t = 0.0
        elif t > 1.0:
            t = 1.0
        px, py = wx - t * dx, wy - t * dy
        d = px * px + py * py
        if d < best:
            best = d
    return math.sqrt(best)


def distance_to_ring(x: float, y: float, ring: Sequence[tuple[float, float]]) -> float:
    """Distance from a point to the ring's edges (0 on an edge), in the ring's units."""
    return distance_to_edges(x, y, ring_edges(ring))
