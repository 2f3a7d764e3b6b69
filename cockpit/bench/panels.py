"""Time the panel-facts adapters on a seeded street with a year of activity; prints, never asserts."""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, insert, select

from cockpit.clock import ManualClock
from cockpit.domain.services import SERVICES
from cockpit.rules.config import load_rules_config
from cockpit.rules.housing import building_risk
from cockpit.simulator.generator import seed_street
from cockpit.simulator.tiers import get_tier
from cockpit.store import schema
from cockpit.store.database import make_engine, migrate
from data_adapters.panel_facts import BuildingFactsAdapter, PanelFactsAdapter

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
# A year of the studies' rates for a street of 100,000: events, requests and fire alarms a day.
CASES_PER_DAY = 60
REQUESTS_PER_DAY = 120
FIRE_ALERTS_PER_DAY = 12
DAYS = 365
LEVELS = ("grid", "grid", "community", "community", "community", "street", "street", "district")


def add_activity(engine: Engine, rng: random.Random, now: datetime = NOW) -> dict[str, int]:
    """Insert a year of cases, resident requests and fire alerts; return how many of each."""
    with engine.connect() as conn:
        buildings = conn.execute(select(schema.Building.id)).scalars().all()
        fire_devices = (
            conn.execute(select(schema.Device.id).where(schema.Device.kind.in_(("smoke", "gas"))))
            .scalars()
            .all()
        )
    cases, requests, alerts = [], [], []
    for day in range(DAYS):
        for _ in range(CASES_PER_DAY):
            reported = now - timedelta(days=day, seconds=rng.randrange(86_400))
            done = day > 2 or rng.random() < 0.5
            closed_at = reported + timedelta(hours=rng.uniform(1, 60)) if done else None
            if closed_at is not None and closed_at > now:
                done, closed_at = False, None
            cases.append(
                {
                    "code": f"B{len(cases):08d}",
                    "source": "grid_worker",
                    "category": "sanitation",
                    "title": "bench",
                    "description": "bench",
                    "state": "closed" if done else rng.choice(("reported", "dispatched")),
                    "building_id": rng.choice(buildings),
                    "reported_at": reported,
                    "deadline_at": reported + timedelta(hours=48),
                    "closed_at": closed_at,
                    "resolution_level": rng.choice(LEVELS) if done else None,
                }
            )
        for _ in range(REQUESTS_PER_DAY):
            at = now - timedelta(days=day, seconds=rng.randrange(86_400))
            requests.append(
                {
                    "service_code": rng.choice(SERVICES).code,
                    "description": "bench",
                    "status": "closed" if day > 1 or rng.random() < 0.4 else "open",
                    "channel": "bench",
                    "requested_at": at,
                    "updated_at": at,
                }
            )
        for _ in range(FIRE_ALERTS_PER_DAY):
            device = rng.choice(fire_devices)
            key = f"fire.smoke:device:{device}:{len(alerts)}"
            still_open = day == 0 and rng.random() < 0.5
            raised = now - timedelta(days=day, seconds=rng.randrange(86_400))
            alerts.append(
                {
                    "kind": "fire.smoke",
                    "level": "red",
                    "status": "new" if still_open else "resolved",
                    "condition_key": key,
                    "open_key": key if still_open else None,
                    "object_type": "device",
                    "object_id": device,
                    "title": "烟感报警",
                    "title_en": "Smoke alarm",
                    "reasons": [],
                    "raised_at": raised,
                    "resolved_at": None if still_open else raised + timedelta(minutes=20),
                }
            )
    with engine.begin() as conn:
        conn.execute(insert(schema.Case), cases)
        conn.execute(insert(schema.ResidentRequest), requests)
        conn.execute(insert(schema.Alert), alerts)
    return {"cases": len(cases), "requests": len(requests), "alerts": len(alerts)}


@contextmanager
def busy_street(url: str | None, scale: str, say: Callable[[str], None]) -> Iterator[Engine]:
    """Yield a store seeded with a street and a year of activity (scratch SQLite unless a URL)."""
    with tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(url or f"sqlite:///{Path(scratch) / 'bench.db'}")
        try:
            migrate(engine)
            started = time.perf_counter()
            seed_street(engine, get_tier(scale), 42, (121.537, 31.279))
            added = add_activity(engine, random.Random(42))
            say(
                f"seeded {scale} on {engine.dialect.name} with {added} "
                f"in {time.perf_counter() - started:.1f} s"
            )
            yield engine
        finally:
            engine.dispose()


def time_calls(fetch: Callable[[], object], runs: int) -> tuple[float, float]:
    """Return the median and the slowest of `runs` calls, in milliseconds, after one warm-up."""
    fetch()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fetch()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


def bench_panel_facts(
    url: str | None = None,
    scale: str = "s-street",
    runs: int = 10,
    say: Callable[[str], None] = print,
) -> dict[str, float]:
    """Seed a street (a scratch SQLite file unless a URL of an empty store is given) and time."""
    with busy_street(url, scale, say) as engine:
        clock = ManualClock(NOW)
        panel = PanelFactsAdapter(engine, clock, timedelta(seconds=30))
        buildings = BuildingFactsAdapter(engine, clock, timedelta(seconds=60))
        figures = {}
        for adapter in (panel, buildings):
            median, worst = time_calls(adapter._fetch, runs)
            figures[adapter.name] = median
            say(f"{adapter.name}: median {median:.1f} ms, slowest {worst:.1f} ms")
        facts = buildings._fetch()
        cfg = load_rules_config()
        median, worst = time_calls(lambda: [building_risk(f, cfg) for f in facts.values()], runs)
        figures["building_risk"] = median
        say(
            f"building_risk over {len(facts)} buildings: median {median:.1f} ms, "
            f"slowest {worst:.1f} ms"
        )
        return figures
