"""Check what the worker publishes for the map, and that it republishes only what changed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import orjson

from cockpit.live import InProcessLiveStore
from cockpit.map_layers import (
    BUILDING_CARDS,
    CARD_SHARDS,
    CELL_VIEW_PREFIX,
    MAP_ALERTS,
    MAP_CASES,
    MAP_DEVICES,
    MAP_GEOMETRY,
    card_shard,
    layer_view,
    shard_cards,
)
from cockpit.map_views import MapViews
from cockpit.panels import DeviceState
from cockpit.viewmodels import ViewModelPublisher, read_view
from data_adapters.base import Snapshot
from tests.unit.test_map_layers import alert, risk, rows

NOW = datetime(2026, 11, 21, 8, tzinfo=UTC)


class HeldAdapter:
    """Stand in for an adapter: hold a snapshot the test sets."""

    def __init__(self, name: str, data=None) -> None:
        self.name = name
        self.snapshot = None if data is None else Snapshot(data, NOW)

    def hold(self, data) -> None:
        self.snapshot = Snapshot(data, NOW)


class CountingLive(InProcessLiveStore):
    """Count the views written, to see what a tick republished."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def set_view(self, name: str, payload: bytes) -> None:
        self.writes.append(name)
        super().set_view(name, payload)


def views(live, tile_coordinates: str = "wgs84"):
    """Return the map views over held snapshots: the test street, one open case, one alert."""
    case = {"id": 5, "code": "C5", "state": "dispatched", "category": "x", "building_id": 1,
            "lon": 121.5, "lat": 31.3, "reported_at": 0.0, "deadline_ts": NOW.timestamp() - 1}  # fmt: skip
    mapped = MapViews(
        HeldAdapter("map_geometry", rows()),
        HeldAdapter("map_alerts", [alert(1)]),
        HeldAdapter("map_cases", [case]),
        None,
        tile_coordinates,
    )
    return mapped, ViewModelPublisher(live)


STATES = {10: DeviceState("smoke", 60, NOW.timestamp()), 11: DeviceState("smoke", 60, None)}


def test_a_tick_publishes_every_map_view():
    live = CountingLive()
    mapped, publisher = views(live)
    mapped.publish(publisher, STATES, [risk(1, "red")], {}, [], NOW, 3.0)
    geometry = read_view(live, MAP_GEOMETRY)
    for name, entry in geometry["layers"].items():
        assert read_view(live, layer_view(name))["version"] == entry["version"]
    assert read_view(live, MAP_DEVICES)["alarm"] == [10]
    assert read_view(live, MAP_DEVICES)["offline"] == [11]
    assert [a["id"] for a in read_view(live, MAP_ALERTS)["items"]] == [1]
    assert read_view(live, MAP_CASES)["items"][0]["overdue"] is True
    assert read_view(live, BUILDING_CARDS)["count"] == 2
    assert read_view(live, card_shard(1))["cards"]["1"]["colour"] == "red"
    # Each device once in its building's mark and once in its cell, all cells of the index's set.
    cells = [n for n in live.writes if n.startswith(CELL_VIEW_PREFIX)]
    assert cells and all(
        read_view(live, n)["set"] == geometry["device_cells"]["version"] for n in cells
    )
    dots = [f["properties"]["id"] for n in cells for f in read_view(live, n)["features"]]
    groups = read_view(live, layer_view("devices"))["features"]
    assert sorted(dots) == sorted(i for g in groups for i in g["properties"]["ids"]) == [10, 11, 12]
    assert geometry["device_cells"]["count"] == 3
    # The index is written after the layers and cells it names, and the card index after its shards.
    assert live.writes.index(MAP_GEOMETRY) > live.writes.index(layer_view("devices"))
    assert live.writes.index(MAP_GEOMETRY) > max(live.writes.index(n) for n in cells)
    assert live.writes.index(BUILDING_CARDS) > live.writes.index(card_shard(1))


def test_unchanged_geometry_and_cards_are_not_republished():
    live = CountingLive()
    mapped, publisher = views(live)
    risks = [risk(1, "red")]
    mapped.publish(publisher, STATES, risks, {}, [], NOW, 3.0)
    live.writes.clear()
    mapped.geometry.hold(rows())  # a new poll, the same street
    mapped.publish(publisher, STATES, list(risks), {}, [], NOW, 3.0)
    assert set(live.writes) == {MAP_CASES, MAP_ALERTS, MAP_DEVICES}
    live.writes.clear()
    mapped.publish(publisher, STATES, [risk(1, "yellow")], {}, [], NOW, 3.0)
    assert BUILDING_CARDS in live.writes and MAP_GEOMETRY not in live.writes
    live.writes.clear()
    moved = replace(rows(), households={1: 25})
    mapped.geometry.hold(moved)
    mapped.publish(publisher, STATES, [risk(1, "yellow")], {}, [], NOW, 3.0)
    assert MAP_GEOMETRY in live.writes and BUILDING_CARDS in live.writes


def test_a_lost_cache_gets_the_geometry_and_cards_again():
    live = CountingLive()
    mapped, publisher = views(live)
    risks = [risk(1, "red")]
    mapped.publish(publisher, STATES, risks, {}, [], NOW, 3.0)
    live.clear()  # Redis restarted empty
    mapped.publish(publisher, STATES, risks, {}, [], NOW, 3.0)
    assert read_view(live, MAP_GEOMETRY) is not None
    assert read_view(live, BUILDING_CARDS) is not None


def test_an_alert_from_the_stream_shows_before_the_next_sql_poll():
    live = CountingLive()
    mapped, publisher = views(live)
    mapped.publish(publisher, STATES, [], {}, [], NOW, 3.0)
    fresh = alert(7, "orange", object_id=11) | {"status": "new", "ts": NOW.timestamp()}
    mapped.publish_alerts(publisher, [fresh], NOW)
    assert [a["id"] for a in read_view(live, MAP_ALERTS)["items"]] == [1, 7]
    assert read_view(live, MAP_DEVICES)["alarm"] == [10, 11]
    resolved = {"id": 1, "status": "resolved", "level": "red", "ts": NOW.timestamp()}
    mapped.publish_alerts(publisher, [fresh, resolved], NOW)
    assert [a["id"] for a in read_view(live, MAP_ALERTS)["items"]] == [7]


def test_gcj02_setting_shifts_geometry_alerts_and_cases_alike():
    plain_live, shifted_live = CountingLive(), CountingLive()
    for live, system in ((plain_live, "wgs84"), (shifted_live, "gcj02")):
        mapped, publisher = views(live, system)
        mapped.publish(publisher, STATES, [], {}, [], NOW, 3.0)
    plain = read_view(plain_live, MAP_ALERTS)["items"][0]
    shifted = read_view(shifted_live, MAP_ALERTS)["items"][0]
    assert shifted["lon"] - plain["lon"] > 0.003  # ~0.0045° east in Shanghai
    cell = next(n for n in shifted_live.writes if n.startswith(CELL_VIEW_PREFIX))
    device = orjson.loads(shifted_live.get_view(cell))["features"][0]
    assert device["geometry"]["coordinates"] == [shifted["lon"], shifted["lat"]]
    case_shift = read_view(shifted_live, MAP_CASES)["items"][0]["lon"] - 121.5
    assert case_shift > 0.003
    assert read_view(shifted_live, MAP_GEOMETRY)["basemap"]["coordinates"] == "gcj02"


def test_shards_cover_every_card_once():
    cards = {"cards": {str(i): {"id": i} for i in range(1, 100)}}
    shards = shard_cards(cards)
    assert len(shards) == CARD_SHARDS
    held = [key for shard in shards.values() for key in shard["cards"]]
    assert sorted(held, key=int) == [str(i) for i in range(1, 100)]
    assert all(key in shards[card_shard(int(key))]["cards"] for key in held)
