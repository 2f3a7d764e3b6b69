"""Cut Redis and the MQTT broker under a running pipeline and check it degrades and recovers alone."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from cockpit.clock import ManualClock
from cockpit.ingest import Ingest
from cockpit.live import RedisLiveStore
from cockpit.mqtt_bridge import MqttBridge, MqttPublisher
from cockpit.panels import SOURCE_HEALTH
from cockpit.simulator.generator import seed_street
from cockpit.simulator.scenario import LiveScenario
from cockpit.viewmodels import OVERVIEW, read_view
from tests import waiting
from tests.streets import live_worker, tiny_tier
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.integration
START = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)


def wait_until(condition, timeout: float = 15.0) -> bool:
    """Wait as tests.waiting does, longer by default: this fault takes a while to mend."""
    return waiting.wait_until(condition, timeout)


def settled(live, quiet_s: float = 0.5):
    """Return a condition that holds once the accepted-readings counter stops moving."""
    seen = {"value": None, "since": time.monotonic()}

    def condition() -> bool:
        value = live.counters().get("readings_accepted", 0)
        if value != seen["value"]:
            seen.update(value=value, since=time.monotonic())
        return time.monotonic() - seen["since"] >= quiet_s

    return condition


def test_redis_outage_marks_live_data_stale_and_recovers_without_restart(
    sqlite_engine, redis_client, street_code
):
    seed_street(sqlite_engine, tiny_tier(), 31, (121.5, 31.3))
    proxy = TcpProxy("127.0.0.1", 6379)
    live = RedisLiveStore.from_url(f"redis://127.0.0.1:{proxy.port}/0", street_code)
    clock = ManualClock(START)
    scenario = LiveScenario(sqlite_engine, Ingest(sqlite_engine, live, clock), clock, 31)
    worker = live_worker(sqlite_engine, live, clock)
    live_adapter = worker.live_state
    try:
        clock.advance(60)
        scenario.step()
        worker.tick()
        before = read_view(live, OVERVIEW)
        assert before["stale"] is False and before["kpis"]["devices_online"] > 0

        proxy.cut()
        clock.advance(60)
        with pytest.raises(Exception):  # noqa: B017 - the scenario's writes fail while Redis is gone
            scenario.step()
        worker.tick()  # must not raise: the worker keeps its last good snapshot
        assert live_adapter.available and not live_adapter.ok
        assert live_adapter.health(timedelta(seconds=30))["state"] == "stale"
        assert (
            live_adapter.snapshot.data["counters"]["readings_accepted"]
            == before["kpis"]["readings_total"]
        )

        proxy.restore()
        for _ in range(40):  # the adapter backs off; a few minutes of clock bring it back
            clock.advance(30)
            scenario.step()
            worker.tick()
            if live_adapter.ok:
                break
        after = read_view(RedisLiveStore(redis_client, street_code), OVERVIEW)
        assert live_adapter.ok and after["stale"] is False
        assert after["kpis"]["readings_total"] > before["kpis"]["readings_total"]
    finally:
        proxy.close()
        RedisLiveStore(redis_client, street_code).clear()


def test_broker_outage_is_seen_and_messages_flow_again_after_it(
    sqlite_engine, redis_client, street_code, mqtt_broker
):
    host, port = mqtt_broker
    seed_street(sqlite_engine, tiny_tier(), 32, (121.5, 31.3))
    proxy = TcpProxy(host, port)
    live = RedisLiveStore(redis_client, street_code)
    clock = ManualClock(START)
    bridge = MqttBridge(
        Ingest(sqlite_engine, live, clock),
        street_code,
        "127.0.0.1",
        proxy.port,
        session_expiry_s=60,
    )
    publisher = MqttPublisher(host, port, street_code)  # devices reach the broker directly
    scenario = LiveScenario(
        sqlite_engine, Ingest(sqlite_engine, live, clock), clock, 32, sink=publisher.send
    )
    worker = live_worker(sqlite_engine, live, clock, ingest_health=[bridge.health])

    def mqtt_state() -> str:
        worker.tick()
        health = read_view(live, SOURCE_HEALTH)
        assert read_view(live, OVERVIEW)["stale"] is (health["status"] != "ok")
        return next(s["state"] for s in health["sources"] if s["name"] == "mqtt")

    try:
        bridge.start()
        assert bridge.wait_ready(10)
        clock.advance(60)
        scenario.step()
        assert wait_until(lambda: live.counters().get("readings_accepted", 0) > 0)
        assert wait_until(settled(live))  # the whole step is in before the line is cut
        assert mqtt_state() == "ok"

        proxy.cut()
        assert wait_until(lambda: not bridge.connected)
        assert mqtt_state() == "down"
        accepted = live.counters()["readings_accepted"]
        clock.advance(60)
        scenario.step()  # published while the bridge is cut off: the broker keeps them (QoS 1 session)
        assert publisher.flush(10)
        time.sleep(0.5)
        assert live.counters()["readings_accepted"] == accepted

        proxy.restore()
        assert wait_until(lambda: bridge.connected, timeout=30)
        assert wait_until(lambda: live.counters()["readings_accepted"] > accepted, timeout=30)
        assert wait_until(lambda: mqtt_state() == "ok")
    finally:
        publisher.close()
        bridge.stop()
        proxy.close()
        live.clear()
