"""Measure the live pipeline on this machine and print the figures; never asserted in tests."""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from cockpit.alerts import AlertBook
from cockpit.clock import ManualClock, SystemClock
from cockpit.ingest import Ingest
from cockpit.live import InProcessLiveStore, LiveStore, RedisLiveStore
from cockpit.rules.config import load_rules_config
from cockpit.settings import Settings
from cockpit.simulator.generator import seed_street
from cockpit.simulator.scenario import LiveScenario
from cockpit.simulator.tiers import get_tier
from cockpit.store import schema
from cockpit.store.database import make_engine, migrate
from cockpit.streaming import StreamingRules
from cockpit.viewmodels import TICKER, read_view
from cockpit.worker import build_worker


def _normal_readings(devices: list[tuple[int, str]], start: datetime) -> Iterator[dict]:
    """Yield everyday fire readings, round robin over the devices, as MQTT would deliver them."""
    values = {
        "smoke": {"obscuration_pct_m": 0.1, "alarm": False, "battery_pct": 90},
        "gas": {"lel_pct": 1.0, "alarm": False},
        "electricity": {"current_a": 20.0, "leakage_ma": 30.0, "cable_temp_c": 35.0},
        "water_pressure": {"pressure_kpa": 320.0},
        "patrol_point": {"checked_in": True},
    }
    seq = 0
    while True:
        seq += 1
        ts = (start + timedelta(milliseconds=seq)).isoformat()
        for device_id, kind in devices:
            yield {
                "device_id": device_id,
                "device_type": kind,
                "kind": "reading",
                "ts": ts,
                "seq": seq,
                "values": values[kind],
            }


def bench_ingest(
    redis_url: str | None,
    scale: str = "s-street",
    seconds: float = 10.0,
    batch: int = 2_000,
    incidents: int = 40,
    say: Callable[[str], None] = print,
) -> dict[str, float]:
    """Seed a scratch street, push readings through ingest into the live store and time an incident."""
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        migrate(engine)
        started = time.perf_counter()
        seed_street(engine, get_tier(scale), 7, (121.537, 31.279))
        say(f"seeded {scale} in {time.perf_counter() - started:.1f} s")
        street = f"bench{os.getpid()}"
        live: LiveStore = (
            RedisLiveStore.from_url(redis_url, street) if redis_url else InProcessLiveStore()
        )
        say(f"live store: {'Redis at ' + redis_url if redis_url else 'in process'}")
        try:
            return _run(engine, live, seconds, batch, incidents, say)
        finally:
            live.clear()
            engine.dispose()


def _run(
    engine, live: LiveStore, seconds: float, batch: int, incidents: int, say
) -> dict[str, float]:
    clock = SystemClock()
    alerts = AlertBook(engine, live)
    ingest = Ingest(engine, live, clock, StreamingRules(engine, alerts, load_rules_config()))
    with engine.connect() as conn:
        fire_devices = conn.execute(
            select(schema.Device.id, schema.Device.kind)
            .where(
                schema.Device.kind.in_(
                    ["smoke", "gas", "electricity", "water_pressure", "patrol_point"]
                )
            )
            .order_by(schema.Device.id)
        ).all()
    smoke = [d for d, k in fire_devices if k == "smoke"]
    # Stamped just before now and a millisecond apart per round, as a live street reports: the
    # worker then sees every terminal online, and the incidents (stamped now) are the newest.
    stream = _normal_readings([tuple(d) for d in fire_devices], clock.now() - timedelta(seconds=10))
    # Build the messages before timing: the figure is ingest's, not the generator's.
    prepared = [
        [next(stream) for _ in range(batch)] for _ in range(max(1, int(seconds * 40_000 / batch)))
    ]
    say(f"{len(fire_devices)} fire terminals; {len(prepared) * batch} readings prepared")
    accepted = 0
    begun = time.perf_counter()
    for messages in prepared:
        accepted += ingest.device_messages(messages).accepted
        if time.perf_counter() - begun >= seconds:
            break
    elapsed = time.perf_counter() - begun
    rate = accepted / elapsed
    say(f"ingested {accepted} readings in {elapsed:.2f} s")

    # The worker the cockpit runs, at the configured intervals (COCKPIT_* settings).
    settings = Settings()
    worker = build_worker(engine, live, clock, alerts, load_rules_config(), settings)
    begun = time.perf_counter()
    worker.tick()  # every adapter is due on the first tick: the heaviest tick there is
    periodic_ms = (time.perf_counter() - begun) * 1000
    say(
        f"first worker tick (all SQL adapters, building risk, device states, panels): "
        f"{periodic_ms:.0f} ms, of which rules and panels {worker.periodic_seconds * 1000:.0f} ms; "
        f"the store poll interval is {settings.store_poll_seconds * 1000:,.0f} ms"
    )
    stop = threading.Event()
    load = threading.Thread(
        target=_background_load, args=(ingest, stream, batch // 4, stop), daemon=True
    )
    runner = threading.Thread(target=worker.run, args=(stop, 1.0), daemon=True)
    load.start()
    runner.start()
    latencies = []
    try:
        for n in range(incidents):
            device = smoke[n % len(smoke)]
            alarm = {
                "device_id": device,
                "device_type": "smoke",
                "kind": "event",
                "ts": datetime.now(UTC).isoformat(),
                "seq": 10**9 + n,
                "values": {"alarm": True, "obscuration_pct_m": 4.2},
            }
            t0 = time.perf_counter()
            ingest.device_messages([alarm])
            while not _ticker_has(live, device):
                if time.perf_counter() - t0 > 10:
                    break
                time.sleep(0.002)
            latencies.append((time.perf_counter() - t0) * 1000)
            time.sleep(0.05)
    finally:
        stop.set()
        load.join(5)
        runner.join(5)
    p95 = statistics.quantiles(latencies, n=20)[-1] if len(latencies) > 1 else latencies[0]
    say(
        f"incident to ticker: median {statistics.median(latencies):.0f} ms over {len(latencies)} incidents "
        "while ingest ran under load"
    )
    say(f"periodic_rules_ms: {periodic_ms:.0f}")
    say(f"ingest_readings_per_s: {rate:.0f}")
    say(f"incident_to_alert_p95_ms: {p95:.0f}")
    return {
        "periodic_rules_ms": periodic_ms,
        "ingest_readings_per_s": rate,
        "incident_to_alert_p95_ms": p95,
    }


def _background_load(
    ingest: Ingest, stream: Iterator[dict], batch: int, stop: threading.Event
) -> None:
    """Keep ingesting everyday readings while incidents are timed, as a live street would."""
    while not stop.is_set():
        ingest.device_messages([next(stream) for _ in range(batch)])


def _ticker_has(live: LiveStore, device_id: int) -> bool:
    """Tell whether the published ticker shows an alert on the device."""
    model = read_view(live, TICKER)
    return bool(model) and any(
        item.get("object_type") == "device" and item.get("object_id") == device_id
        for item in model["items"]
    )


def bench_outage(scale: str = "s-street", say: Callable[[str], None] = print) -> dict[str, float]:
    """Time the worker tick that finds the whole street silent, and weigh the views it publishes.

    Measured twice: as shipped (the silent feed is one source.silent alert) and with
    `[devices.source_silence] enabled = false` (every device raises device.offline, which the
    ticker then groups). The bytes are the serialised views the screens download.
    """
    figures: dict[str, float] = {}
    for label, enabled in (("source", True), ("per_device", False)):
        with tempfile.TemporaryDirectory() as folder:
            engine = make_engine(f"sqlite:///{Path(folder) / 'outage.db'}")
            migrate(engine)
            seed_street(engine, get_tier(scale), 7, (121.537, 31.279))
            clock = ManualClock(datetime(2026, 11, 21, tzinfo=UTC))
            live = InProcessLiveStore()
            alerts = AlertBook(engine, live)
            LiveScenario(engine, Ingest(engine, live, clock), clock, 1).step()  # all reported
            rules = load_rules_config()
            silence = rules.devices.source_silence.model_copy(update={"enabled": enabled})
            rules = rules.model_copy(
                update={"devices": rules.devices.model_copy(update={"source_silence": silence})}
            )
            worker = build_worker(engine, live, clock, alerts, rules, Settings())
            figures[f"{label}_normal_tick_ms"] = _timed(worker.tick)
            before = {name: len(live.get_view(name) or b"") for name in OUTAGE_VIEWS}
            clock.advance(3600)  # the street goes quiet for an hour
            figures[f"{label}_outage_tick_ms"] = _timed(worker.tick)
            open_alerts = alerts.open_levels(OUTAGE_KINDS)
            clock.advance(5)
            figures[f"{label}_next_tick_ms"] = _timed(worker.tick)
            while live.read_events("alerts", worker.ticker.cursor, limit=1):
                worker.publish_ticker()  # as run() does between ticks: the stream caught up
            after = {name: len(live.get_view(name) or b"") for name in OUTAGE_VIEWS}
            engine.dispose()
        for kind in OUTAGE_KINDS:
            say(f"{label}: open {kind}: {sum(k.startswith(kind) for k in open_alerts)}")
        for name in OUTAGE_VIEWS:
            say(f"{label}: {name} bytes: {before[name]} -> {after[name]}")
            figures[f"{label}_{name}_bytes"] = after[name]
    for name, value in figures.items():
        if name.endswith("_ms"):
            say(f"{name}: {value:.0f}")
    return figures


OUTAGE_KINDS = ("source.silent", "device.offline", "fire.patrol_overdue")
OUTAGE_VIEWS = ("ticker", "map_alerts", "map_devices", "governance", "overview")


def _timed(fn: Callable[[], object]) -> float:
    """Return how long one call took, in milliseconds."""
    begun = time.perf_counter()
    fn()
    return (time.perf_counter() - begun) * 1000
