"""Kill a private Redis (no persistence) under a running pipeline and check the cockpit recovers."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from cockpit.alerts import AlertBook
from cockpit.clock import ManualClock
from cockpit.ingest import Ingest
from cockpit.live import RedisLiveStore
from cockpit.rules.config import load_rules_config
from cockpit.simulator.generator import seed_street
from cockpit.simulator.scenario import LiveScenario
from cockpit.streaming import StreamingRules
from cockpit.viewmodels import OVERVIEW, TICKER, read_view
from tests.private_servers import PrivateRedis
from tests.streets import live_worker, tiny_tier

pytestmark = pytest.mark.integration
START = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)


def test_redis_killed_marks_live_data_stale_and_the_worker_rebuilds_what_redis_lost(
    fault, sqlite_engine, street_code, caplog
):
    fault(
        "Redis killed and restarted",
        "live data marked stale while down; after the restart the worker republishes every "
        "view, the ticker included, without a restart or a trace storm",
    )
    seed_street(sqlite_engine, tiny_tier(fire_devices=12), 51, (121.5, 31.3))
    with PrivateRedis() as server:
        live = RedisLiveStore.from_url(server.url, street_code)
        clock = ManualClock(START)
        alerts = AlertBook(sqlite_engine, live)
        rules = StreamingRules(sqlite_engine, alerts, load_rules_config())
        ingest = Ingest(sqlite_engine, live, clock, rules)
        scenario = LiveScenario(sqlite_engine, ingest, clock, 51)
        worker = live_worker(sqlite_engine, live, clock, alerts=alerts)
        live_adapter = worker.live_state
        from sqlalchemy import select

        from cockpit.store import schema

        with sqlite_engine.connect() as conn:
            detector = conn.execute(
                select(schema.Device.id).where(schema.Device.kind == "smoke").limit(1)
            ).scalar_one()
        clock.advance(60)
        scenario.step()
        ingest.device_messages(
            [
                {
                    "device_id": detector,
                    "device_type": "smoke",
                    "kind": "reading",
                    "ts": clock.now(),
                    "seq": 10_000,
                    "values": {"alarm": True},
                }
            ]
        )
        worker.tick()
        before = read_view(live, OVERVIEW)
        assert before["stale"] is False and before["kpis"]["devices_online"] > 0
        ticker_before = read_view(live, TICKER)
        assert any(item["object_id"] == detector for item in ticker_before["items"])

        server.kill()
        clock.advance(30)
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            for _ in range(5):
                clock.advance(5)
                worker.tick()  # must not raise while Redis is gone
        assert live_adapter.health(timedelta(seconds=30))["state"] == "stale"
        traces = [r for r in caplog.records if r.exc_info]
        assert not traces, [r.getMessage() for r in traces]
        assert len(caplog.records) <= 6, [r.getMessage() for r in caplog.records]

        server.start()  # empty: no persistence, every key is gone
        # No new alert arrives: what the screens show must come back from the worker alone.
        for _ in range(40):  # the adapter backs off; a few minutes of clock bring it back
            clock.advance(30)
            worker.tick()
            if live_adapter.ok:
                break
        worker.tick()
        after = read_view(live, OVERVIEW)
        assert live_adapter.ok and after is not None
        ticker_after = read_view(live, TICKER)
        assert ticker_after is not None, "the ticker was not republished after Redis lost it"
        assert any(item["object_id"] == detector for item in ticker_after["items"])
        live.clear()
