"""Play the scripted incidents through the real Mosquitto, Redis and PostgreSQL, every message twice."""

from __future__ import annotations

import time

import pytest

from cockpit.live import RedisLiveStore
from cockpit.mqtt_bridge import MqttBridge, MqttPublisher
from tests.scripted_incidents import EXPECTED, incident_alerts, play_incidents

pytestmark = pytest.mark.integration


def test_each_incident_raises_one_alert_over_mqtt_when_delivered_twice(
    postgres_engine, redis_client, street_code, mqtt_broker
):
    host, port = mqtt_broker
    live = RedisLiveStore(redis_client, street_code)
    made: dict[str, object] = {}

    def through_the_broker(ingest):
        """Publish every batch twice and wait until the bridge has ingested both copies."""
        bridge = MqttBridge(ingest, street_code, host, port, session_expiry_s=60)
        bridge.start()
        assert bridge.wait_ready(10)
        publisher = MqttPublisher(host, port, street_code)
        made.update(bridge=bridge, publisher=publisher, sent=0)

        def sink(messages):
            publisher.send(messages)
            publisher.send(messages)  # QoS 1 redelivery, as a flaky link would cause
            made["sent"] += 2 * len(messages)
            deadline = time.monotonic() + 20
            # Pace the simulated clock on the bridge, so the broker's queue never overflows.
            while bridge.stats.processed < made["sent"] and time.monotonic() < deadline:
                time.sleep(0.005)

        return sink

    try:
        scenario, rows = play_incidents(
            postgres_engine, live, twice=False, sink_factory=through_the_broker
        )
        assert made["bridge"].stats.processed == made["sent"]
        assert incident_alerts(scenario, rows) == EXPECTED
        counters = live.counters()
        handled = sum(
            counters.get(k, 0)
            for k in ("readings_accepted", "readings_duplicate", "readings_stale")
        )
        assert handled == made["sent"], (
            "every copy was accepted once, or refused as duplicate or late"
        )
        # A copy arriving after a newer reading of its device is late, not a duplicate.
        assert counters["readings_accepted"] <= made["sent"] // 2
        assert counters["readings_duplicate"] > 0
    finally:
        if "publisher" in made:
            made["publisher"].close()
        if "bridge" in made:
            made["bridge"].stop()
        live.clear()
