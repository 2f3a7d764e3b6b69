"""Run devices through the real Mosquitto into ingest and the real Redis: broker → bridge → live."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import select

from cockpit.alerts import AlertBook
from cockpit.clock import ManualClock
from cockpit.domain.kinds import DeviceKind
from cockpit.ingest import Ingest
from cockpit.live import InProcessLiveStore, RedisLiveStore
from cockpit.mqtt_bridge import MqttBridge, MqttPublisher
from cockpit.rules.config import load_rules_config
from cockpit.simulator.generator import seed_street
from cockpit.simulator.scenario import LiveScenario
from cockpit.store import schema
from cockpit.store.database import make_engine, migrate
from cockpit.streaming import StreamingRules
from tests.devices import KnownDevices
from tests.streets import tiny_tier
from tests.waiting import wait_until

pytestmark = pytest.mark.integration
START = datetime(2026, 11, 21, 1, 0, tzinfo=UTC)
DEVICES = range(1, 21)
READINGS_PER_DEVICE = 10
# Short, so sessions the tests leave on the broker go away soon after.
SESSION_EXPIRY_S = 60


def raw_device_client(host: str, port: int) -> mqtt.Client:
    """Return a connected plain paho client, standing in for the street's devices."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect(host, port)
    client.loop_start()
    return client


def test_bridge_ingests_each_reading_once_and_counts_every_refusal(
    mqtt_broker, redis_client, street_code, sqlite_engine
):
    host, port = mqtt_broker
    live = RedisLiveStore(redis_client, street_code)
    kinds = list(DeviceKind)
    registry = KnownDevices({d: kinds[d % len(kinds)].value for d in (*DEVICES, 1, 3, 4, 5)})
    bridge = MqttBridge(
        Ingest(sqlite_engine, live, ManualClock(START), devices=registry),
        street_code,
        host,
        port,
        session_expiry_s=SESSION_EXPIRY_S,
    )
    devices = None
    try:
        bridge.start()
        assert bridge.wait_ready(10), "bridge did not connect and subscribe within 10 s"
        assert bridge.connected
        devices = raw_device_client(host, port)
        published = []

        def publish(topic: str, payload: bytes) -> None:
            published.append(devices.publish(topic, payload, qos=1))

        started = time.perf_counter()
        for seq in range(1, READINGS_PER_DEVICE + 1):
            for device_id in DEVICES:
                kind = kinds[device_id % len(kinds)].value
                topic = f"cockpit/{street_code}/{kind}/{device_id}/reading"
                payload = orjson.dumps(
                    {
                        "ts": (START + timedelta(seconds=seq)).isoformat(),
                        "seq": seq,
                        "values": {"v": seq * 1.5, "ok": True},
                    }
                )
                publish(topic, payload)
                publish(topic, payload)  # QoS 1 is at least once: the broker may redeliver
        base = f"cockpit/{street_code}"
        good = orjson.dumps({"ts": START.isoformat(), "seq": 1, "values": {}})
        publish(f"{base}/smoke/1/reading", b"{not json")
        publish(f"{base}/smoke/abc/reading", good)
        publish(f"{base}/toaster/5/reading", good)
        publish(
            f"{base}/smoke/3/reading",
            orjson.dumps({"ts": "2026-11-21T01:00:00", "seq": 1, "values": {}}),
        )
        publish(
            f"{base}/smoke/4/reading",
            orjson.dumps({"ts": START.isoformat(), "seq": 1, "values": {}, "device_id": 99}),
        )
        # Another street's topic is outside the subscription: never received, never counted.
        publish(f"cockpit/{street_code}x/smoke/1/reading", good)
        for info in published:
            info.wait_for_publish(10)
        expected = READINGS_PER_DEVICE * len(DEVICES) * 2 + 5

        assert wait_until(lambda: bridge.stats.processed >= expected), bridge.stats
        elapsed = time.perf_counter() - started
        time.sleep(0.2)  # anything extra would show up in the counts below

        stats = bridge.stats
        assert (stats.received, stats.processed, stats.rejected) == (expected, expected, 5)
        assert (stats.dropped, stats.pending) == (0, 0)
        assert live.counters() == {
            "readings_accepted": 200,
            "readings_duplicate": 200,
            "rejected:payload:json": 1,
            "rejected:topic:device_id": 1,
            "rejected:topic:device_type": 1,
            "rejected:payload:ts": 1,
            "rejected:payload:device_mismatch": 1,
        }
        latest = live.latest(DEVICES)
        assert sorted(latest) == list(DEVICES)
        for device_id, reading in latest.items():
            assert reading["seq"] == READINGS_PER_DEVICE, device_id
            assert reading["ts"] == (START + timedelta(seconds=READINGS_PER_DEVICE)).timestamp()
            assert reading["kind"] == kinds[device_id % len(kinds)].value
        print(
            f"\nMQTT broker→bridge→ingest→Redis: {expected} messages in {elapsed * 1000:.0f} ms, "
            f"{expected / elapsed:.0f} messages/s ({stats.batches} ingest batches)"
        )
    finally:
        if devices is not None:
            devices.disconnect()
            devices.loop_stop()
        bridge.stop()
        live.clear()


def test_live_scenario_publishes_through_the_broker_into_redis(
    mqtt_broker, redis_client, street_code, sqlite_engine, tmp_path
):
    host, port = mqtt_broker
    seed_street(sqlite_engine, tiny_tier(), 4, (121.5, 31.3))
    clock = ManualClock(START)
    live = RedisLiveStore(redis_client, street_code)
    ingest = Ingest(sqlite_engine, live, clock)
    bridge = MqttBridge(ingest, street_code, host, port, session_expiry_s=SESSION_EXPIRY_S)
    publisher = MqttPublisher(host, port, street_code)
    # The same street and scenario written straight into ingest, to compare with the MQTT path.
    direct_engine = make_engine(f"sqlite:///{tmp_path / 'direct.db'}")
    try:
        bridge.start()
        assert bridge.wait_ready(10), "bridge did not connect and subscribe within 10 s"
        migrate(direct_engine)
        seed_street(direct_engine, tiny_tier(), 4, (121.5, 31.3))
        direct_clock = ManualClock(START)
        direct_live = InProcessLiveStore()
        direct = LiveScenario(
            direct_engine, Ingest(direct_engine, direct_live, direct_clock), direct_clock, 4
        )
        batches: list[int] = []

        def sink(messages):
            # Counted here: step() leaves out what the scripted incidents send.
            batches.append(len(messages))
            return publisher.send(messages)

        scenario = LiveScenario(sqlite_engine, ingest, clock, 4, sink=sink)

        for _ in range(30):
            direct_clock.advance(60)
            direct.step()
        started = time.perf_counter()
        for _ in range(30):
            clock.advance(60)
            scenario.step()
            # Let the bridge catch up after each simulated minute, as it would in real time:
            # Mosquitto queues at most 1000 messages (max_queued_messages) for a subscriber
            # that falls behind and drops the rest, QoS 1 or not.
            sent = sum(batches)
            assert publisher.flush(10), "broker did not acknowledge the scenario's messages"
            assert wait_until(lambda n=sent: bridge.stats.processed >= n), (sent, bridge.stats)
        elapsed = time.perf_counter() - started

        assert sent > len(scenario.devices)  # every device reported, some several times
        assert bridge.stats.received == sent
        assert bridge.stats.rejected == 0
        # Complaints, requests and grid reports still go through ingest; the counts agree.
        assert live.counters() == direct_live.counters()
        assert live.counters()["complaints_received"] >= 1  # the scripted 110 call at +10 min
        ids = list(scenario.devices)
        assert live.latest(ids) == direct_live.latest(ids)
        # Every device reported through the broker, bar those out for service (they send nothing).
        assert len(live.latest(ids)) == len(ids) - len(scenario.faults.maintenance)
        print(
            f"\nlive scenario over MQTT: {sent} device messages in {elapsed * 1000:.0f} ms "
            f"(scenario, broker, bridge, Redis; paced per simulated minute), "
            f"{sent / elapsed:.0f} messages/s"
        )
    finally:
        publisher.close()
        bridge.stop()
        live.clear()
        direct_engine.dispose()


def test_bridge_reconnects_and_gets_what_the_broker_queued_meanwhile(
    mqtt_broker, redis_client, street_code, sqlite_engine, caplog
):
    host, port = mqtt_broker
    live = RedisLiveStore(redis_client, street_code)
    client_id = f"cockpit-bridge-{street_code}"
    smoke_detectors = KnownDevices({device_id: "smoke" for device_id in DEVICES})
    bridge = MqttBridge(
        Ingest(sqlite_engine, live, ManualClock(START), devices=smoke_detectors),
        street_code,
        host,
        port,
        client_id=client_id,
        session_expiry_s=SESSION_EXPIRY_S,
    )
    devices = None
    caplog.set_level(logging.INFO, logger="cockpit.mqtt_bridge")
    try:
        bridge.start()
        assert bridge.wait_ready(10), "bridge did not connect and subscribe within 10 s"
        # Another connection with the bridge's client id takes its session over and leaves at
        # once: the broker drops the bridge but keeps the session, as in a network outage.
        intruder = mqtt.Client(CallbackAPIVersion.VERSION2, client_id, protocol=mqtt.MQTTv5)
        expiry = Properties(PacketTypes.CONNECT)
        expiry.SessionExpiryInterval = SESSION_EXPIRY_S
        intruder.connect(host, port, clean_start=False, properties=expiry)
        intruder.loop_start()
        assert wait_until(lambda: not bridge.connected, 5), "bridge was not disconnected"
        intruder.disconnect()
        intruder.loop_stop()

        devices = raw_device_client(host, port)
        infos = [
            devices.publish(
                f"cockpit/{street_code}/smoke/{device_id}/reading",
                orjson.dumps({"ts": START.isoformat(), "seq": 1, "values": {"alarm": False}}),
                qos=1,
            )
            for device_id in DEVICES
        ]
        for info in infos:
            info.wait_for_publish(10)
        assert not bridge.connected  # paho waits a second before reconnecting

        assert wait_until(lambda: bridge.stats.processed >= len(DEVICES)), bridge.stats
        assert bridge.connected
        assert live.counters() == {"readings_accepted": len(DEVICES)}
        messages = [r.getMessage() for r in caplog.records if r.name == "cockpit.mqtt_bridge"]
        assert sum("lost MQTT broker" in m for m in messages) == 1, messages
        assert sum("reconnected" in m for m in messages) == 1, messages
    finally:
        if devices is not None:
            devices.disconnect()
            devices.loop_stop()
        bridge.stop()
        live.clear()


def test_a_far_future_reading_cannot_silence_a_detector_and_bad_ids_are_counted(
    mqtt_broker, redis_client, street_code, sqlite_engine
):
    host, port = mqtt_broker
    seed_street(sqlite_engine, tiny_tier(fire_devices=12), 6, (121.5, 31.3))
    with sqlite_engine.connect() as conn:
        detector = conn.execute(
            select(schema.Device.id).where(schema.Device.kind == "smoke").limit(1)
        ).scalar_one()
    live = RedisLiveStore(redis_client, street_code)
    rules = StreamingRules(sqlite_engine, AlertBook(sqlite_engine, live), load_rules_config())
    bridge = MqttBridge(
        Ingest(sqlite_engine, live, ManualClock(START), rules),
        street_code,
        host,
        port,
        session_expiry_s=SESSION_EXPIRY_S,
    )
    devices = None
    try:
        bridge.start()
        assert bridge.wait_ready(10), "bridge did not connect and subscribe within 10 s"
        devices = raw_device_client(host, port)
        base = f"cockpit/{street_code}"

        def alarm(topic: str, ts: datetime, seq: int) -> None:
            payload = orjson.dumps({"ts": ts.isoformat(), "seq": seq, "values": {"alarm": True}})
            devices.publish(topic, payload, qos=1).wait_for_publish(10)

        # Ten years ahead first, then the real alarm, in this order on one topic.
        alarm(f"{base}/smoke/{detector}/reading", START + timedelta(days=3650), 1)
        alarm(f"{base}/smoke/{detector}/reading", START, 2)
        alarm(f"{base}/smoke/987654/reading", START, 1)
        alarm(f"{base}/gas/{detector}/reading", START, 3)
        assert wait_until(lambda: bridge.stats.processed >= 4), bridge.stats

        counters = live.counters()
        assert counters["rejected:ts:future"] == 1
        assert counters["rejected:device:unknown"] == 1
        assert counters["rejected:device:type_mismatch"] == 1
        assert counters["readings_accepted"] == 1
        assert live.latest([detector])[detector]["seq"] == 2
        with sqlite_engine.connect() as conn:
            raised = conn.execute(
                select(schema.Alert.kind, schema.Alert.level, schema.Alert.object_id)
            ).all()
        assert [tuple(r) for r in raised] == [("fire.smoke", "red", detector)]
    finally:
        if devices is not None:
            devices.disconnect()
            devices.loop_stop()
        bridge.stop()
        live.clear()
