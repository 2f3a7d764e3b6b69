"""Run the live path on the real servers: scenario → ingest → Redis → worker → a web worker's read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cockpit.clock import ManualClock
from cockpit.ingest import Ingest
from cockpit.live import RedisLiveStore
from cockpit.simulator.generator import seed_street
from cockpit.simulator.scenario import LiveScenario
from cockpit.viewmodels import OVERVIEW, read_view
from cockpit.worker import ViewModelWorker
from data_adapters.live_state import LiveStateAdapter
from data_adapters.registry import DeviceRegistryAdapter, RegistryAdapter
from tests.streets import tiny_tier

pytestmark = pytest.mark.integration
START = datetime(2026, 11, 21, 1, 0, tzinfo=UTC)


def test_web_worker_reads_what_the_worker_published_from_live_redis_state(
    postgres_engine, redis_client, street_code
):
    seed_street(postgres_engine, tiny_tier(), 11, (121.5, 31.3))
    clock = ManualClock(START)
    live = RedisLiveStore(redis_client, street_code)
    try:
        ingest = Ingest(postgres_engine, live, clock)
        scenario = LiveScenario(postgres_engine, ingest, clock, 11)
        worker = ViewModelWorker(
            RegistryAdapter(postgres_engine, clock, timedelta(seconds=10)),
            DeviceRegistryAdapter(postgres_engine, clock, timedelta(seconds=60)),
            LiveStateAdapter(live, clock, timedelta(seconds=1)),
            live,
            clock,
            timedelta(seconds=30),
        )
        for _ in range(120):
            clock.advance(60)
            scenario.step()
        # A grid worker's report today, whatever the scenario happened to file.
        ingest.grid_report(1, 1, "exposed_rubbish", "暴露垃圾", "路口垃圾未清运", clock.now())
        worker.tick()
        # A web worker is another process with its own client: it sees only what Redis holds.
        web_side = RedisLiveStore.from_url("redis://127.0.0.1:6379/0", street_code)
        model = read_view(web_side, OVERVIEW)
        assert model["kpis"]["residents"] == 700
        kpis, faults = model["kpis"], scenario.faults
        # Every healthy device is online; the fleet's faults and maintenance are counted apart.
        healthy = kpis["devices_total"] - len(faults.maintenance | faults.dead | faults.flapping)
        assert kpis["devices_total"] >= kpis["devices_online"] >= healthy > 0
        assert kpis["devices_maintenance"] == len(faults.maintenance)
        assert model["kpis"]["readings_total"] == live.counters()["readings_accepted"] > 0
        assert model["kpis"]["open_cases"] >= 1
        assert model["stale"] is False
        assert [incident.name for _, incident in scenario.played][:3] == [
            "smoke_alarm",
            "trapped_elevator",
            "enterprise_110",
        ]
    finally:
        live.clear()


def test_redelivered_messages_change_nothing_in_redis(postgres_engine, redis_client, street_code):
    seed_street(postgres_engine, tiny_tier(), 12, (121.5, 31.3))
    clock = ManualClock(START)
    live = RedisLiveStore(redis_client, street_code)
    try:
        ingest = Ingest(postgres_engine, live, clock)
        batch = [
            {
                "device_id": d,
                "device_type": "smoke",
                "kind": "reading",
                "ts": START.isoformat(),
                "seq": 1,
                "values": {"alarm": False},
            }
            for d in (1, 2, 3)
        ]
        assert ingest.device_messages(batch).accepted == 3
        again = ingest.device_messages(batch)
        assert (again.accepted, again.duplicates) == (0, 3)
        assert live.counters()["readings_accepted"] == 3
    finally:
        live.clear()
