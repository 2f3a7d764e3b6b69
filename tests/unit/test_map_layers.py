"""Check the live map's pure builders: geometry, device states, alert and case markers, cards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cockpit.geo import wgs84_to_gcj02
from cockpit.map_layers import (
    BASEMAP,
    BUILDINGS,
    DEVICES,
    ENTERPRISES,
    GRIDS,
    GROUND,
    MAX_ALERT_MARKERS,
    Positions,
    alarmed_devices,
    alert_markers,
    build_layers,
    building_cards,
    case_markers,
    cell_of,
    cell_view,
    compose_building_card,
    compose_device_card,
    device_cells,
    device_dots,
    device_state_of,
    device_states,
    geometry_index,
    identity,
    layer_view,
    merge_open_alerts,
    projection,
)
from cockpit.panels import DeviceState
from cockpit.rules.fire import device_state
from cockpit.rules.housing import RiskResult
from cockpit.rules.results import Reason
from data_adapters.map_geometry import MapRows


def square(lon: float, lat: float, d: float = 0.001) -> dict:
    """Return a small GeoJSON square with its south-west corner at lon/lat."""
    ring = [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def rows() -> MapRows:
    """Return a two-building street with three devices and two enterprises."""
    return MapRows(
        street={
            "name": "测试街道",
            "center_lon": 121.5,
            "center_lat": 31.3,
            "boundary": square(121.49, 31.29, 0.02),
        },
        communities=[{"id": 1, "name": "一社区", "boundary": square(121.49, 31.29, 0.01)}],
        grids=[
            {"id": 7, "code": "G7", "name": "第1网格", "community_id": 1, "boundary": square(121.49, 31.29, 0.005)}
        ],
        features=[
            {"kind": "road_main", "name": "长白路", "geometry": {"type": "LineString", "coordinates": [[121.49, 31.3], [121.51, 31.3]]}},
            {"kind": "water", "name": "河道", "geometry": square(121.495, 31.295, 0.002)},
            {"kind": "block", "name": None, "geometry": square(121.492, 31.292, 0.003)},
        ],
        buildings=[
            {"id": 1, "code": "B1", "name": None, "use": "residential", "floors": 6, "grid_id": 7, "compound_id": 3, "footprint": square(121.5, 31.3), "lon": 121.5005, "lat": 31.3005},
            {"id": 2, "code": "B2", "name": "星光大厦", "use": "office", "floors": 20, "grid_id": 7, "compound_id": None, "footprint": square(121.502, 31.3), "lon": 121.5025, "lat": 31.3005},
        ],
        devices=[
            {"id": 10, "code": "SM1", "kind": "smoke", "building_id": 1, "floor": 2, "lon": 121.5004, "lat": 31.3004},
            {"id": 11, "code": "SM2", "kind": "smoke", "building_id": 1, "floor": 3, "lon": 121.5006, "lat": 31.3006},
            {"id": 12, "code": "EL1", "kind": "elevator", "building_id": 2, "floor": None, "lon": 121.5025, "lat": 31.3005},
        ],
        enterprises={2: (5, 1)},
        enterprise_building={100: 2, 101: 2},
        households={1: 24},
        compounds={3: "长白一村"},
    )  # fmt: skip


def test_projection_picks_the_tiles_system():
    assert projection("wgs84") is identity
    assert projection("gcj02")(121.5, 31.3) == wgs84_to_gcj02(121.5, 31.3)
    with pytest.raises(ValueError, match="wgs84 or gcj02"):
        projection("bd09")


def test_layer_view_names_only_known_layers():
    assert layer_view(BUILDINGS) == "map_layer_buildings"
    with pytest.raises(ValueError):
        layer_view("secret")


def test_layers_hold_every_row_with_short_properties():
    layers = build_layers(rows(), identity)
    assert [f["properties"]["k"] for f in layers[BASEMAP]["features"]] == [
        "boundary",
        "community",
    ]
    # Grid outlines are their own layer: the layer switch draws them on demand.
    assert layers[GRIDS]["features"][0]["properties"] == {"k": "grid", "n": "第1网格", "c": "G7"}
    # Fills under lines: water, then blocks, then roads.
    assert [f["properties"]["k"] for f in layers[GROUND]["features"]] == [
        "water",
        "block",
        "road_main",
    ]
    assert [f["properties"]["id"] for f in layers[BUILDINGS]["features"]] == [1, 2]
    assert layers[ENTERPRISES]["features"][0]["properties"] == {"id": 2, "n": 5, "p": 1}


def test_devices_go_out_as_one_mark_per_building_and_as_dots_per_cell():
    dots = device_dots(rows(), identity)
    assert dots[0]["geometry"] == {"type": "Point", "coordinates": [121.5004, 31.3004]}
    assert dots[0]["properties"] == {"id": 10, "k": "smoke", "b": 1, "c": "SM1", "f": 2}
    # Zoomed out: one mark per building naming its devices, at one of them (inside the building).
    groups = build_layers(rows(), identity)[DEVICES]["features"]
    assert [g["properties"] for g in groups] == [{"b": 1, "ids": [10, 11]}, {"b": 2, "ids": [12]}]
    assert groups[0]["geometry"]["coordinates"] in ([121.5004, 31.3004], [121.5006, 31.3006])
    # Zoomed in: the dots of the cells in view; every dot in exactly one cell, the one it lies in.
    cells = device_cells(dots)
    assert sorted(d["id"] for cell in cells.values() for d in cell) == [10, 11, 12]
    for key, cell in cells.items():
        assert all(cell_of(*d["geometry"]["coordinates"]) == key for d in cell)
    assert cell_of(121.5004, 31.3004) == (24300, 6260)
    assert cell_view(-1, 2) == "map_device_cell_-1_2"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(-0.02, 0.02), st.floats(-0.02, 0.02), st.one_of(st.none(), st.integers(1, 4))
        ),
        min_size=1,
        max_size=40,
    )
)
def test_every_device_is_in_one_group_and_loose_ones_stay_near_their_mark(placed):
    street = rows()
    street.devices[:] = [
        {"id": i + 1, "code": f"D{i}", "kind": "smoke", "building_id": b, "floor": None,
         "lon": 121.5 + dx, "lat": 31.3 + dy}
        for i, (dx, dy, b) in enumerate(placed)
    ]  # fmt: skip
    groups = build_layers(street, identity)[DEVICES]["features"]
    ids = [i for g in groups for i in g["properties"]["ids"]]
    assert sorted(ids) == list(range(1, len(placed) + 1))
    at = {d["id"]: (d["lon"], d["lat"]) for d in street.devices}
    for group in groups:
        members = group["properties"]["ids"]
        # The mark is one of its members' own places.
        assert tuple(group["geometry"]["coordinates"]) in {
            (round(at[i][0], 6), round(at[i][1], 6)) for i in members
        }
        if group["properties"]["b"] is None:
            lon, lat = group["geometry"]["coordinates"]
            assert all(
                abs(at[i][0] - lon) <= 0.0011 and abs(at[i][1] - lat) <= 0.0011 for i in members
            )
        else:
            assert {street.devices[i - 1]["building_id"] for i in members} == {
                group["properties"]["b"]
            }


def test_gcj02_moves_every_layer_and_the_bounds_together():
    plain = build_layers(rows(), identity)
    shifted = build_layers(rows(), wgs84_to_gcj02)
    lon, lat = device_dots(rows(), identity)[0]["geometry"]["coordinates"]
    expected = [round(v, 6) for v in wgs84_to_gcj02(lon, lat)]
    assert device_dots(rows(), wgs84_to_gcj02)[0]["geometry"]["coordinates"] == expected
    assert plain[DEVICES]["features"][0]["geometry"]["coordinates"] == [lon, lat]
    corner = shifted[BUILDINGS]["features"][0]["geometry"]["coordinates"][0][0]
    assert corner == [round(v, 6) for v in wgs84_to_gcj02(121.5, 31.3)]
    index = geometry_index(rows(), wgs84_to_gcj02, {}, {}, "http://tiles/{z}/{x}/{y}.png", "gcj02")
    corners = [wgs84_to_gcj02(*p) for p in rows().street["boundary"]["coordinates"][0]]
    south = min(p[1] for p in corners)
    west = min(p[0] for p in corners)
    assert index["bounds"][0] == [round(south, 6), round(west, 6)]
    assert index["basemap"] == {
        "tile_url": "http://tiles/{z}/{x}/{y}.png",
        "coordinates": "gcj02",
        "attribution": None,
    }


def test_geometry_index_names_layer_versions_and_counts():
    index = geometry_index(rows(), identity, {BUILDINGS: "v1"}, {BUILDINGS: 2}, None, "wgs84")
    assert index["layers"] == {BUILDINGS: {"version": "v1", "count": 2}}
    assert index["bounds"] == [[31.29, 121.49], [31.31, 121.51]]
    assert index["center"] == [31.3, 121.5]
    assert index["street"] == "测试街道"


def test_geometry_of_a_street_without_boundary_is_bounded_by_its_buildings():
    bare = MapRows(street=None, buildings=rows().buildings)
    index = geometry_index(bare, identity, {}, {}, None, "wgs84")
    assert index["bounds"] == [[31.3005, 121.5005], [31.3005, 121.5025]]
    assert geometry_index(MapRows(street=None), identity, {}, {}, None, "wgs84")["bounds"] is None


def test_positions_place_alerts_by_their_object():
    where = Positions.from_rows(rows(), identity)
    assert where.place({"object_type": "device", "object_id": 12}) == (121.5025, 31.3005, 2)
    assert where.place({"object_type": "building", "object_id": 1}) == (121.5005, 31.3005, 1)
    assert where.place({"object_type": "enterprise", "object_id": 101}) == (121.5025, 31.3005, 2)
    resident = {"object_type": "resident", "object_id": None, "building_id": 1}
    assert where.place(resident) == (121.5005, 31.3005, 1)
    assert where.place({"object_type": "device", "object_id": 999}) is None
    assert where.place({"object_type": "resident", "object_id": None}) is None


@given(
    last_seen=st.one_of(st.none(), st.floats(min_value=0, max_value=2e9)),
    interval=st.integers(min_value=1, max_value=86_400),
    k=st.floats(min_value=0.5, max_value=10),
    now=st.floats(min_value=0, max_value=2e9),
)
def test_offline_agrees_with_the_fire_rule(last_seen, interval, k, now):
    state = DeviceState("smoke", interval, last_seen)
    seen = None if last_seen is None else datetime.fromtimestamp(last_seen, UTC)
    rule = device_state(seen, interval, datetime.fromtimestamp(now, UTC), k)
    # Datetimes keep microseconds only: disagreement is allowed within that rounding.
    if last_seen is not None and abs((now - last_seen) - k * interval) < 1e-3:
        return
    view = device_states({1: state}, (), now, k)
    assert (view["offline"] == [1]) == (rule == "offline")


def test_device_states_put_alarm_before_maintenance_before_offline_and_count_all():
    now = 10_000.0
    states = {
        1: DeviceState("smoke", 60, now - 10),
        2: DeviceState("smoke", 60, now - 1000),
        3: DeviceState("smoke", 60, None),
        4: DeviceState("smoke", 60, now - 1000),
        5: DeviceState("smoke", 60, None, maintenance=True),  # silent, but out for service
        6: DeviceState("smoke", 60, None, maintenance=True),  # in service and in alarm
    }
    view = device_states(states, alarmed={4, 6, 99}, now_ts=now, offline_after_intervals=3)
    assert view["alarm"] == [4, 6]
    assert view["maintenance"] == [5]
    assert view["offline"] == [2, 3]
    assert view["counts"] == {
        "total": 6,
        "alarm": 2,
        "maintenance": 1,
        "offline": 2,
        "online": 1,
    }
    assert [device_state_of(i, view) for i in range(1, 7)] == [
        "online",
        "offline",
        "offline",
        "alarm",
        "maintenance",
        "alarm",
    ]


def alert(alert_id: int, level: str = "red", **extra) -> dict:
    """Return an open alert as the adapter reads it."""
    base = {
        "id": alert_id,
        "kind": "fire.smoke",
        "level": level,
        "object_type": "device",
        "object_id": 10,
        "title_zh": "烟感报警",
        "title_en": "Smoke alarm",
        "ts": 1000.0 + alert_id,
    }
    return base | extra


def test_stream_events_update_the_sql_snapshot():
    sql = [alert(1, "yellow"), alert(2)]
    ticker = [
        {"id": 1, "level": "orange", "status": "new", "ts": 1001},  # escalated since the read
        {"id": 2, "level": "red", "status": "resolved", "ts": 1002},
        alert(3) | {"status": "new", "ts": 5000.0},  # raised after the read
        alert(4) | {"status": "new", "ts": 10.0},  # long before the read, and not open in SQL
    ]
    merged = {a["id"]: a for a in merge_open_alerts(sql, 4000.0, ticker)}
    assert set(merged) == {1, 3}
    assert merged[1]["level"] == "orange"
    assert merge_open_alerts(None, None, [alert(5) | {"status": "new"}])[0]["id"] == 5


def test_a_lower_stream_level_never_lowers_an_alert():
    merged = merge_open_alerts(
        [alert(1, "red")], 0.0, [{"id": 1, "level": "blue", "status": "new"}]
    )
    assert merged[0]["level"] == "red"


def test_alert_markers_are_placed_sorted_and_capped():
    where = Positions.from_rows(rows(), identity)
    alerts = [alert(i, "blue") for i in range(1, MAX_ALERT_MARKERS + 5)]
    alerts += [
        alert(900, "red", object_type="building", object_id=2),
        alert(901, "orange", kind="device.offline"),  # shown as a grey device, not a pulse
        alert(902, "red", kind="enterprise.visit", object_type="enterprise", object_id=100),
        alert(903, "yellow", object_type="device", object_id=4242),  # not on the map
    ]
    view = alert_markers(alerts, where)
    assert view["items"][0]["id"] == 900
    assert view["items"][0]["building_id"] == 2 and view["items"][0]["device_id"] is None
    assert len(view["items"]) == MAX_ALERT_MARKERS
    assert view["total"] == MAX_ALERT_MARKERS + 5
    assert view["unplaced"] == 1
    assert view["counts"] == {"blue": MAX_ALERT_MARKERS + 4, "red": 1}
    assert {901, 902}.isdisjoint(a["id"] for a in view["items"])


def test_alert_markers_before_the_geometry_are_all_unplaced():
    view = alert_markers([alert(1)], None)
    assert view["items"] == [] and view["unplaced"] == 1


def test_only_real_device_alarms_mark_a_device():
    alerts = [
        alert(1),
        alert(2, kind="device.offline", object_id=11),
        alert(3, object_type="building"),
    ]
    assert alarmed_devices(alerts) == {10}


def test_case_markers_mark_overdue_and_keep_the_late_ones_first():
    now = datetime(2026, 11, 21, 8, tzinfo=UTC).timestamp()
    cases = [
        {"id": 1, "code": "C1", "state": "dispatched", "category": "x", "building_id": 1, "lon": 121.5, "lat": 31.3, "deadline_ts": now - 60},
        {"id": 2, "code": "C2", "state": "reported", "category": "x", "building_id": None, "lon": 121.5, "lat": 31.3, "deadline_ts": now + 60},
        {"id": 3, "code": "C3", "state": "handling", "category": "x", "building_id": None, "lon": None, "lat": None, "deadline_ts": None},
    ]  # fmt: skip
    view = case_markers(cases, now, identity)
    assert [c["id"] for c in view["items"]] == [1, 2]
    assert [c["overdue"] for c in view["items"]] == [True, False]
    assert view["counts"] == {"open": 3, "overdue": 1, "unplaced": 1}
    assert case_markers(None, now, identity)["items"] == []


def risk(building_id: int, colour: str) -> RiskResult:
    """Return a risk result with one reason."""
    reason = Reason("elders_alone", "独居老人 2 人", "2 elder(s) living alone", 2)
    return RiskResult(building_id, colour, 3.0, (reason,))


def test_building_card_joins_risk_counts_devices_cases_and_alerts():
    from cockpit.rules.housing import BuildingFacts

    facts = {
        1: BuildingFacts(
            1, residents=60, floating_residents=20, elders_living_alone=2, open_cases=1
        )
    }
    cards = building_cards(rows(), [risk(1, "red")], facts)
    devices = {"alarm": [10], "offline": [11], "counts": {}}
    cases = {
        "items": [
            {"id": 5, "code": "C5", "state": "dispatched", "overdue": True, "building_id": 1},
            {"id": 6, "code": "C6", "state": "reported", "overdue": False, "building_id": 2},
        ]
    }
    alerts = {"items": [alert(1) | {"building_id": 1, "device_id": 10}]}
    card = compose_building_card(1, cards, devices, cases, alerts)
    assert card["colour"] == "red"
    assert card["reasons"] == [{"zh": "独居老人 2 人", "en": "2 elder(s) living alone"}]
    assert (card["households"], card["residents"], card["floating"]) == (24, 60, 20)
    assert (
        card["compound"] == "长白一村"
        and card["grid"] == "第1网格"
        and card["community"] == "一社区"
    )
    assert card["devices"] == [
        {"kind": "smoke", "total": 2, "alarm": 1, "maintenance": 0, "offline": 1, "online": 0}
    ]
    assert [c["id"] for c in card["cases"]] == [5]
    assert [a["id"] for a in card["alerts"]] == [1]
    assert compose_building_card(99, cards, devices, cases, alerts) is None
    assert compose_building_card(1, None, None, None, None) is None
    # A building without a risk result or facts still has a card, with unknowns left empty.
    bare = compose_building_card(2, cards, None, None, None)
    assert bare["colour"] is None and bare["residents"] is None
    assert bare["devices"] == [
        {"kind": "elevator", "total": 1, "alarm": 0, "maintenance": 0, "offline": 0, "online": None}
    ]
    assert bare["enterprises"] == 5


def test_device_card_reads_state_building_and_alerts():
    cards = building_cards(rows(), [], None)
    props = {"id": 10, "k": "smoke", "b": 1, "c": "SM1", "f": 2}
    alerts = {
        "items": [alert(1) | {"building_id": 1, "device_id": 10}, alert(2) | {"device_id": 11}]
    }
    card = compose_device_card(props, cards, {"alarm": [10], "offline": []}, alerts)
    assert card["state"] == "alarm" and card["code"] == "SM1" and card["floor"] == 2
    assert card["building"] == "长白一村"
    assert [a["id"] for a in card["alerts"]] == [1]
    assert compose_device_card(props, cards, None, None)["state"] == "unknown"
    assert compose_device_card({"id": "10"}, cards, None, None) is None


def test_cards_name_no_one():
    from cockpit.rules.housing import BuildingFacts

    cards = building_cards(rows(), [risk(1, "yellow")], {1: BuildingFacts(1, residents=3)})
    card = cards["cards"]["1"]
    assert set(card) == {
        "id", "code", "name", "compound", "grid", "community", "use", "floors", "colour", "score",
        "reasons", "households", "residents", "floating", "elders_alone", "open_cases",
        "enterprises", "devices", "where",
    }  # fmt: skip
    # Where it is goes to the building only: its first address, no room, no one's name.
    assert set(card["where"]) <= {
        "address", "building_id", "building", "use", "floors", "community", "grid", "lon", "lat",
    }  # fmt: skip


def test_deadline_helpers_are_timezone_aware():
    # Overdue compares epoch seconds, so a deadline stored in UTC and read back compares right.
    deadline = datetime(2026, 11, 21, 8, tzinfo=UTC)
    case = {"id": 1, "lon": 1.0, "lat": 1.0, "deadline_ts": deadline.timestamp()}
    later = (deadline + timedelta(seconds=1)).timestamp()
    assert case_markers([case], later, identity)["items"][0]["overdue"] is True
    assert case_markers([case], deadline.timestamp(), identity)["items"][0]["overdue"] is False
