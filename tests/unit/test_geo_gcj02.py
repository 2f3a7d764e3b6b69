"""Check the WGS84 → GCJ-02 shift against published reference points and its own inverse."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cockpit.geo import distance_m, gcj02_to_wgs84, outside_china, wgs84_to_gcj02

# (WGS84 lat, lon) → (GCJ-02 lat, lon): the reference points every eviltransform port tests.
REFERENCE = [
    ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),  # Shanghai
    ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),  # Shenzhen
    ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),  # Beijing
]
china_lon = st.floats(min_value=73.0, max_value=135.0)
china_lat = st.floats(min_value=18.0, max_value=53.0)


@pytest.mark.parametrize(("wgs", "gcj"), REFERENCE)
def test_shift_matches_reference_points(wgs, gcj):
    lon, lat = wgs84_to_gcj02(wgs[1], wgs[0])
    assert lon == pytest.approx(gcj[1], abs=1e-9)
    assert lat == pytest.approx(gcj[0], abs=1e-9)


def test_shanghai_moves_by_a_few_hundred_metres():
    lon, lat = wgs84_to_gcj02(121.537, 31.279)
    assert 400 < distance_m((121.537, 31.279), (lon, lat)) < 700


@pytest.mark.parametrize(("lon", "lat"), [(-0.1276, 51.5072), (139.6917, 35.6895), (151.2, -33.9)])
def test_points_outside_china_are_left_alone(lon, lat):
    assert outside_china(lon, lat)
    assert wgs84_to_gcj02(lon, lat) == (lon, lat)


@given(china_lon, china_lat)
def test_inverse_returns_the_point_within_a_millimetre(lon, lat):
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert distance_m((lon, lat), back) < 0.001


@given(china_lon, china_lat)
def test_shift_is_under_a_kilometre_everywhere_in_china(lon, lat):
    assert distance_m((lon, lat), wgs84_to_gcj02(lon, lat)) < 1000
