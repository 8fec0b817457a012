"""Coordinates (core/geo.py and the coarse CAP areas): ranges, distances, boxes, rounding."""

from __future__ import annotations

import math

import h3
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vecinos.alerts.cap import COARSE_DECIMALS, _coarse_circle
from vecinos.core import geo

lats = st.floats(-90, 90, allow_nan=False)
lngs = st.floats(-180, 180, allow_nan=False)
# Where people live: away from the poles, where a longitude box stops meaning anything.
inhabited = st.tuples(st.floats(-70, 70), st.floats(-179, 179))


@given(lats, lngs)
def test_every_coordinate_in_range_is_accepted(lat, lng):
    geo.validate_lat_lng(lat, lng)


@given(
    st.one_of(
        st.tuples(st.floats(90, exclude_min=True), lngs),
        st.tuples(st.floats(max_value=-90, exclude_max=True), lngs),
        st.tuples(lats, st.floats(180, exclude_min=True)),
        st.tuples(lats, st.floats(max_value=-180, exclude_max=True)),
        st.tuples(st.just(math.nan), lngs),
        st.tuples(lats, st.sampled_from([math.nan, math.inf, -math.inf])),
    )
)
def test_coordinates_out_of_range_or_not_numbers_are_refused(point):
    with pytest.raises(geo.GeoError):
        geo.validate_lat_lng(*point)


@given(lats, lngs, lats, lngs)
def test_distance_is_symmetric_non_negative_and_at_most_half_the_earth(a, b, c, d):
    there = geo.haversine_m(a, b, c, d)
    assert there == pytest.approx(geo.haversine_m(c, d, a, b), abs=1e-6)
    assert 0 <= there <= math.pi * geo.EARTH_RADIUS_M + 1e-6
    assert geo.haversine_m(a, b, a, b) == 0


@given(inhabited, st.floats(-0.05, 0.05), st.floats(-0.05, 0.05))
def test_the_bounding_box_holds_every_point_within_the_radius(center, dlat, dlng):
    lat, lng = center
    point = (lat + dlat, lng + dlng)
    radius = geo.haversine_m(lat, lng, *point) + 1
    min_lat, max_lat, min_lng, max_lng = geo.bounding_box(lat, lng, radius)
    assert min_lat <= point[0] <= max_lat
    assert min_lng <= point[1] <= max_lng


@given(inhabited, st.floats(50, 3000))
def test_circle_cells_lie_within_the_radius(center, radius):
    cells = geo.circle_cells(*center, radius)
    assert cells
    for cell in cells:
        if cell != geo.cell_of(*center):
            assert geo.haversine_m(*center, *h3.cell_to_latlng(cell)) <= radius


@given(inhabited, st.floats(0, 50))
def test_a_coarse_cap_circle_moves_the_centre_by_at_most_half_a_hundredth(center, radius_km):
    text = _coarse_circle(*center, radius_km)
    point, radius = text.split(" ")
    lat, lng = (float(v) for v in point.split(","))
    half = 0.5 / 10**COARSE_DECIMALS + 1e-9
    assert abs(lat - center[0]) <= half and abs(lng - center[1]) <= half
    assert float(radius) >= 0
