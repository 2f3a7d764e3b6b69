"""Measure the live map on a seeded street: payload bytes, worker-tick cost, card and layer serving.

Prints figures, never asserts; `python -m cockpit.bench.map [scale]` runs it on a scratch SQLite file.
"""

from __future__ import annotations

import gzip
import random
import time
from collections.abc import Callable
from datetime import timedelta
from functools import partial

import orjson
from sqlalchemy import Engine

from cockpit.bench.panels import NOW, busy_street, time_calls
from cockpit.clock import ManualClock
from cockpit.live import InProcessLiveStore
from cockpit.map_layers import (
    LAYERS,
    MAP_ALERTS,
    MAP_CASES,
    MAP_DEVICES,
    MAP_GEOMETRY,
    card_shard,
    cell_view,
    cells_over,
    compose_building_card,
    layer_view,
)
from cockpit.map_views import build_map_views
from cockpit.panels import MAP_COLOURS, join_device_states, map_building_colours
from cockpit.rules.config import load_rules_config
from cockpit.rules.housing import building_risk
from cockpit.viewmodels import ViewModelPublisher, read_view
from data_adapters.panel_facts import BuildingFactsAdapter
from data_adapters.registry import DeviceRegistryAdapter

Say = Callable[[str], None]


def measure(engine: Engine, runs: int = 10, say: Say = print) -> dict[str, float]:
    """Time the map's adapters, its share of a worker tick and its callbacks on a seeded store."""
    figures: dict[str, float] = {}
    clock = ManualClock(NOW)
    live = InProcessLiveStore()
    publisher = ViewModelPublisher(live)
    views = build_map_views(
        engine, clock, timedelta(seconds=10), timedelta(minutes=5), None, "wgs84"
    )
    for adapter in views.adapters:
        median, worst = time_calls(adapter.refresh, runs)
        figures[f"adapter_{adapter.name}_ms"] = median
        say(f"adapter {adapter.name}: median {median:.1f} ms, slowest {worst:.1f} ms")

    registry = DeviceRegistryAdapter(engine, clock, timedelta(minutes=1))
    registry.refresh()
    rng = random.Random(7)
    now_ts = NOW.timestamp()
    # Most devices heard recently, a few silent for long: the offline list the map carries.
    last_seen = {
        device_id: now_ts - (rng.uniform(0, 30) if rng.random() < 0.97 else 86_400)
        for device_id in registry.snapshot.data
    }
    states = join_device_states(registry.snapshot.data, last_seen)
    facts_adapter = BuildingFactsAdapter(engine, clock, timedelta(minutes=1))
    facts_adapter.refresh()
    facts = facts_adapter.snapshot.data
    cfg = load_rules_config()
    risks = [building_risk(f, cfg) for f in facts.values()]
    publisher.publish(MAP_COLOURS, {"colours": map_building_colours(risks)}, NOW)

    started = time.perf_counter()
    views.publish(publisher, states, risks, facts, [], NOW, 3.0)
    first = (time.perf_counter() - started) * 1000
    figures["tick_first_ms"] = first
    say(f"worker tick, first (geometry, cards and overlays published): {first:.1f} ms")
    median, worst = time_calls(
        lambda: views.publish(publisher, states, risks, facts, [], NOW, 3.0), runs
    )
    figures["tick_steady_ms"] = median
    say(f"worker tick, steady (overlays only): median {median:.1f} ms, slowest {worst:.1f} ms")
    # Every slow poll brings new snapshot objects with, mostly, the same content.
    median, worst = time_calls(
        lambda: views.publish(publisher, states, list(risks), dict(facts), [], NOW, 3.0), runs
    )
    figures["tick_new_equal_inputs_ms"] = median
    say(
        f"worker tick after a slow poll, nothing changed: median {median:.1f} ms, slowest {worst:.1f} ms"
    )
    median, worst = time_calls(lambda: views.publish_alerts(publisher, [], NOW), runs)
    figures["alert_publish_ms"] = median
    say(f"alert arrival (alerts + device states): median {median:.1f} ms, slowest {worst:.1f} ms")

    say("payloads (raw bytes / gzip level 6):")
    total_raw = total_gz = 0
    for name in (*(layer_view(n) for n in LAYERS), MAP_GEOMETRY):
        raw = live.get_view(name) or b""
        packed = len(gzip.compress(raw, 6))
        total_raw += len(raw)
        total_gz += packed
        say(f"  {name}: {len(raw):,} / {packed:,}")
    figures["geometry_bytes"], figures["geometry_gzip_bytes"] = total_raw, total_gz
    say(f"  geometry sent once per browser: {total_raw:,} / {total_gz:,}")
    # Zoomed in, a screen fetches the device dots of the cells it looks at.
    cells = [
        live.get_view(cell_view(x, y))
        for x, y in cells_over(read_view(live, MAP_GEOMETRY)["bounds"])
    ]
    sizes = sorted(len(raw) for raw in cells if raw)
    figures["device_cells"], figures["device_cell_max_bytes"] = len(sizes), max(sizes, default=0)
    say(
        f"  device cells (fetched as a zoomed-in screen pans): {len(sizes)}, "
        f"median {sizes[len(sizes) // 2] if sizes else 0:,} B, largest {max(sizes, default=0):,} B"
    )
    for name in (MAP_COLOURS, MAP_DEVICES, MAP_ALERTS, MAP_CASES, card_shard(1)):
        raw = live.get_view(name) or b""
        say(f"  {name}: {len(raw):,} / {len(gzip.compress(raw, 6)):,}")

    figures.update(_callbacks(live, runs, say))
    return figures


def _callbacks(live: InProcessLiveStore, runs: int, say: Say) -> dict[str, float]:
    """Time what the web process does for the map: refresh reads, a card, a layer download."""
    from dash._utils import to_json

    from callbacks.map import serve_layer
    from layouts.map import building_card

    figures: dict[str, float] = {}
    read = partial(read_view, live)

    def refresh_reads() -> None:
        for name in (MAP_COLOURS, MAP_DEVICES, MAP_ALERTS, MAP_CASES):
            orjson.loads(live.get_view(name) or b"null")

    median, worst = time_calls(refresh_reads, runs)
    figures["refresh_map_views_ms"] = median
    say(
        f"refresh callback, reading the 4 map views: median {median:.2f} ms, slowest {worst:.2f} ms"
    )
    building_id = 1

    def card() -> None:
        composed = compose_building_card(
            building_id,
            read(card_shard(building_id)),
            read(MAP_DEVICES),
            read(MAP_CASES),
            read(MAP_ALERTS),
        )
        to_json(building_card(composed, "zh"))

    median, worst = time_calls(card, runs)
    figures["card_callback_ms"] = median
    say(f"building card callback: median {median:.1f} ms, slowest {worst:.1f} ms")

    import flask

    app = flask.Flask(__name__)
    version = (read(layer_view("devices")) or {}).get("version", "")

    def layer(packed: dict | None) -> None:
        with app.test_request_context(headers={"Accept-Encoding": "gzip"}):
            serve_layer(read, "devices", version, packed)

    median, worst = time_calls(lambda: layer(None), runs)
    figures["devices_layer_pack_ms"] = median
    say(f"devices layer, packed afresh: median {median:.1f} ms, slowest {worst:.1f} ms")
    packed: dict = {}
    median, worst = time_calls(lambda: layer(packed), runs)
    figures["devices_layer_serve_ms"] = median
    say(f"devices layer, already packed: median {median:.2f} ms, slowest {worst:.2f} ms")
    return figures


def bench_map(
    url: str | None = None, scale: str = "s-street", runs: int = 10, say: Say = print
) -> dict[str, float]:
    """Seed a street with a year of activity (scratch SQLite unless a URL is given) and measure."""
    with busy_street(url, scale, say) as engine:
        return measure(engine, runs, say)
