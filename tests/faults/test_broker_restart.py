"""Kill the MQTT broker while the simulator publishes: nothing sent goes missing uncounted."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

import pytest

from cockpit.clock import ManualClock
from cockpit.ingest import SEQ_GAP_COUNTER, Ingest
from cockpit.live import InProcessLiveStore
from cockpit.mqtt_bridge import LOST_PUBLISHER, PUBLISHED, MqttBridge, MqttPublisher
from cockpit.simulator.generator import seed_street
from cockpit.simulator.scenario import LiveScenario
from tests import waiting
from tests.private_servers import PrivateMosquitto
from tests.streets import tiny_tier

pytestmark = pytest.mark.integration
START = datetime(2026, 11, 21, 1, 0, tzinfo=UTC)
STREET = "330104901"
STEP_S = 0.02  # real seconds between simulated steps
SIM_STEP_S = 20  # simulated seconds per step: a few dozen readings each
DOWN_S = 1.5  # how long the broker stays dead


class RoomyMosquitto(PrivateMosquitto):
    """A private broker that queues as much for an absent bridge as a street sends meanwhile."""

    def _write_conf(self) -> None:
        super()._write_conf()
        # Mosquitto's default, 1000, silently drops the rest of what it queues for a client
        # that is away or behind, QoS 1 or not; docs/deploy.md sizes it the same way.
        with self.conf.open("a") as conf:
            conf.write("max_queued_messages 200000\n")


def wait_until(condition, timeout: float = 20.0) -> bool:
    """Wait as tests.waiting does, longer by default: this fault takes a while to mend."""
    return waiting.wait_until(condition, timeout)


def test_broker_killed_and_restarted_while_the_simulator_publishes(fault, sqlite_engine, caplog):
    fault(
        "MQTT broker killed (SIGKILL) and restarted while the simulator publishes",
        "the bridge resubscribes by itself; every reading sent is ingested or counted as lost",
    )
    caplog.set_level(logging.INFO, logger="cockpit.mqtt_bridge")
    seed_street(sqlite_engine, tiny_tier(), 9, (121.5, 31.3))
    clock = ManualClock(START)
    live = InProcessLiveStore()
    ingest = Ingest(sqlite_engine, live, clock)
    # Saved every 200 changes (a queued message is one): often enough that the bridge's session
    # is on disk before the kill, seldom enough that saving does not become the bottleneck.
    with RoomyMosquitto(autosave_interval=200) as broker:
        # A unique client id (the default): its session lives as long as this bridge, and the
        # broker's persistence carries it, with the messages queued for it, across the restart.
        bridge = MqttBridge(ingest, STREET, broker.host, broker.port, session_expiry_s=120)
        publisher = MqttPublisher(broker.host, broker.port, STREET, counters=live.incr)
        stop = threading.Event()
        try:
            bridge.start()
            assert bridge.wait_ready(10), "bridge did not subscribe within 10 s"
            scenario = LiveScenario(sqlite_engine, ingest, clock, 9, sink=publisher.send)

            def simulate() -> None:
                while not stop.is_set():
                    clock.advance(SIM_STEP_S)
                    scenario.step()
                    stop.wait(STEP_S)

            simulator = threading.Thread(target=simulate, name="simulator", daemon=True)
            simulator.start()
            time.sleep(1.5)  # every device has reported before the kill
            before_kill = publisher.stats.sent
            broker.kill()
            assert wait_until(lambda: not bridge.connected, 5), "bridge never noticed the kill"
            time.sleep(DOWN_S)  # the simulator goes on publishing into paho's queue
            while_down = publisher.stats.sent - before_kill
            broker.start()
            assert wait_until(lambda: bridge.health()["state"] == "ok"), bridge.health()
            time.sleep(2.0)  # more publishing with the broker back: a loss shows as a gap
            stop.set()
            simulator.join(5)

            assert publisher.flush(20), publisher.stats
            stats = publisher.stats
            given = stats.sent + publisher.dropped

            def ingested() -> int:
                counters = live.counters()
                return counters.get("readings_accepted", 0) + counters.get("readings_stale", 0)

            def counted_lost() -> int:
                # The publisher counts what the broker never acknowledged; ingest counts the
                # numbers a device's sequence skipped: what the broker acknowledged and lost.
                return stats.lost + live.counters().get(SEQ_GAP_COUNTER, 0)

            assert wait_until(lambda: ingested() + counted_lost() >= given), (
                f"{given} given, {ingested()} ingested, {counted_lost()} counted lost: "
                f"{stats} {live.counters()} {bridge.stats}"
            )
            time.sleep(0.3)  # anything delivered twice would show up below
            counters = live.counters()
            assert while_down > 0, "nothing was published while the broker was down"
            # Every reading given to the publisher is ingested once or counted as lost, and
            # nothing is ingested that was not given.
            assert ingested() <= given, (stats, counters)
            assert given - ingested() <= counted_lost(), (stats, counters, bridge.stats)
            assert counters[PUBLISHED] == stats.sent
            assert counters.get(LOST_PUBLISHER, 0) == stats.lost
            assert bridge.stats.dropped == 0
            messages = [r.getMessage() for r in caplog.records if r.name == "cockpit.mqtt_bridge"]
            assert any("bridge reconnected" in m for m in messages), messages
            assert not any(r.exc_info for r in caplog.records), "a stack trace was logged"
            print(
                f"\nbroker restart: {given} readings given to the publisher, {while_down} while "
                f"the broker was down; {counters.get('readings_accepted', 0)} ingested, "
                f"{counters.get('readings_stale', 0)} late, "
                f"{counters.get('readings_duplicate', 0)} delivered twice; lost: {stats.lost} "
                f"unacknowledged, {counters.get(SEQ_GAP_COUNTER, 0)} acknowledged by the broker "
                "and lost in its crash (counted from sequence gaps)"
            )
        finally:
            stop.set()
            publisher.close(2)
            bridge.stop()
