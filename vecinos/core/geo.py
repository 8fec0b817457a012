"""Geography without a spatial database: H3 cells for zones, haversine for distances."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import h3
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

ZONE_RESOLUTION = 9
COARSE_RESOLUTION = 7
EARTH_RADIUS_M = 6_371_008.8


class GeoError(ValueError):
    pass


class ShapeError(GeoError):
    """A drawn outline that must not be used; ``message`` says why, for the person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# The largest outline anyone may draw (a zone, an alert's or a call-out's area). A zone is a
# neighborhood or a city district; the whole City of Los Angeles is about 1,300 km² and Los
# Angeles County about 12,300 km², so 5,000 km² is generous for one coalition's area and still
# cheap: about 48,000 cells at the zone resolution (a 0.1 km² hexagon), filled in well under a
# second. Bigger outlines (a zoomed-out map tapped by accident) once took minutes to fill and
# held the database locked while millions of cells were written.
MAX_OUTLINE_KM2 = 5_000
# Neither side of the outline's bounding box may be longer than this (an area of 5,000 km² is
# at most ~70 km across when compact; a 50 km-radius circle, the composer's widest, is 100 km).
MAX_OUTLINE_SPAN_KM = 150
OUTLINE_TOO_LARGE = _("That area is too large (at most %(km2)s km²). Draw a smaller one.")
OUTLINE_CROSSES_ITSELF = _("The outline crosses itself. Draw it again without crossing lines.")
OUTLINE_OFF_MAP = _("The drawn area is not on the map.")


def _crosses(
    a: tuple[float, float], b: tuple[float, float], c: tuple[float, float], d: tuple[float, float]
) -> bool:
    """Whether segments ab and cd share a point (touching counts)."""

    def side(p: tuple[float, float], q: tuple[float, float], r: tuple[float, float]) -> int:
        v = (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])
        return (v > 0) - (v < 0)

    def within(p: tuple[float, float], q: tuple[float, float], r: tuple[float, float]) -> bool:
        return min(p[0], q[0]) <= r[0] <= max(p[0], q[0]) and min(p[1], q[1]) <= r[1] <= max(
            p[1], q[1]
        )

    s1, s2, s3, s4 = side(a, b, c), side(a, b, d), side(c, d, a), side(c, d, b)
    if s1 != s2 and s3 != s4 and 0 not in (s1, s2, s3, s4):
        return True
    return (
        (s1 == 0 and within(a, b, c))
        or (s2 == 0 and within(a, b, d))
        or (s3 == 0 and within(c, d, a))
        or (s4 == 0 and within(c, d, b))
    )


def check_outline(ring_latlng: Sequence[Sequence[float]]) -> None:
    """Refuses, cheaply and before any cell is filled, an outline ([lat, lng] corners, open or
    closed) that is off the map or crosses the date line, is larger than MAX_OUTLINE_KM2 (or
    wider than MAX_OUTLINE_SPAN_KM), or crosses itself. Raises ShapeError with a message.

    O(n²) in the corners; outlines are capped at 200 corners where they are parsed."""
    corners = [(float(lat), float(lng)) for lat, lng in ring_latlng]
    if len(corners) > 1 and corners[0] == corners[-1]:
        corners.pop()
    if len(corners) < 3:
        return  # callers say "at least three corners" in their own words
    for lat, lng in corners:
        try:
            validate_lat_lng(lat, lng)
        except GeoError:
            raise ShapeError(str(OUTLINE_OFF_MAP)) from None
    lats, lngs = [c[0] for c in corners], [c[1] for c in corners]
    south, north, west, east = min(lats), max(lats), min(lngs), max(lngs)
    if east - west > 180:  # crosses the antimeridian: the short way round is the other way
        raise ShapeError(str(OUTLINE_OFF_MAP))
    too_large = ShapeError(
        str(OUTLINE_TOO_LARGE) % {"km2": number_format(MAX_OUTLINE_KM2, force_grouping=True)}
    )
    km_per_degree = math.radians(1) * EARTH_RADIUS_M / 1000
    widest = 0.0 if south <= 0 <= north else min(abs(south), abs(north))
    if (north - south) * km_per_degree > MAX_OUTLINE_SPAN_KM or (
        east - west
    ) * km_per_degree * math.cos(math.radians(widest)) > MAX_OUTLINE_SPAN_KM:
        raise too_large
    plane = Plane((south + north) / 2, (west + east) / 2)
    pts = [plane.xy(lat, lng) for lat, lng in corners]
    n = len(pts)
    for i in range(n):
        a, b = pts[i], pts[(i + 1) % n]
        for j in range(i + 1, n):
            if j == i + 1 or (i == 0 and j == n - 1):
                continue  # neighbouring edges share a corner
            if _crosses(a, b, pts[j], pts[(j + 1) % n]):
                raise ShapeError(str(OUTLINE_CROSSES_ITSELF))
    area_m2 = abs(sum(pts[i - 1][0] * p[1] - p[0] * pts[i - 1][1] for i, p in enumerate(pts))) / 2
    if area_m2 > MAX_OUTLINE_KM2 * 1_000_000:
        raise too_large


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
    check_outline([(lat, lng) for lng, lat in ring_lnglat])
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
