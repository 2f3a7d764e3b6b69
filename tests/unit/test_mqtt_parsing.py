"""Check MQTT topic and payload parsing, its reason codes, and the bridge's batching."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta, timezone

import orjson
import paho.mqtt.client as mqtt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from cockpit.clock import ManualClock
from cockpit.domain.kinds import DeviceKind
from cockpit.ingest import DeviceMessage, Ingest
from cockpit.live import InProcessLiveStore
from cockpit.mqtt_bridge import (
    MAX_PAYLOAD_BYTES,
    BrokerAddress,
    MessageError,
    MqttBridge,
    parse_mqtt_url,
    parse_payload,
    parse_topic,
    payload_of,
    subscription,
    to_message,
    topic_of,
)
from tests.devices import KnownDevices

STREET = "s1"
NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
TOPIC = f"cockpit/{STREET}/smoke/12/reading"


def body(**fields) -> bytes:
    """Return a valid payload as bytes, with fields replaced or added."""
    payload = {"ts": "2026-11-21T08:00:00+08:00", "seq": 3, "values": {"alarm": False}}
    payload.update(fields)
    return orjson.dumps(payload)


def reason_of(topic: str, payload: bytes) -> str:
    """Return the reason code to_message refuses the message with."""
    with pytest.raises(MessageError) as caught:
        to_message(topic, payload, STREET)
    return caught.value.reason


# -- examples --------------------------------------------------------------------------------------


def test_a_valid_message_becomes_what_device_message_validates():
    raw = to_message(TOPIC, body(), STREET)
    message = DeviceMessage.model_validate(raw)
    assert (message.device_id, message.device_type, message.kind) == (
        12,
        DeviceKind.SMOKE,
        "reading",
    )
    assert message.ts == datetime(2026, 11, 21, 0, 0, tzinfo=UTC)
    assert (message.seq, message.values) == (3, {"alarm": False})


@pytest.mark.parametrize(
    ("topic", "reason"),
    [
        ("cockpit/s1/smoke/12", "topic:shape"),
        ("cockpit/s1/smoke/12/reading/extra", "topic:shape"),
        ("other/s1/smoke/12/reading", "topic:shape"),
        ("", "topic:shape"),
        ("cockpit/s2/smoke/12/reading", "topic:street"),
        ("cockpit/s1/toaster/12/reading", "topic:device_type"),
        ("cockpit/s1/smoke/abc/reading", "topic:device_id"),
        ("cockpit/s1/smoke/0/reading", "topic:device_id"),
        ("cockpit/s1/smoke/-3/reading", "topic:device_id"),
        ("cockpit/s1/smoke/012/reading", "topic:device_id"),  # one device, one topic
        ("cockpit/s1/smoke/١٢/reading", "topic:device_id"),  # int() would take Arabic digits
        ("cockpit/s1/smoke/12/telemetry", "topic:kind"),
    ],
)
def test_bad_topics_are_refused_with_their_reason(topic, reason):
    assert reason_of(topic, body()) == reason


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json", "payload:json"),
        (b"\xff\xfe", "payload:json"),
        (b"", "payload:json"),
        (b'{"ts": "2026-11-21T08:00:00Z", "seq": 1, "values": {}, "n": NaN}', "payload:json"),
        (b"[1, 2]", "payload:shape"),
        (b'{"ts": "2026-11-21T08:00:00Z", "seq": 1}', "payload:shape"),
        (body(extra=1), "payload:shape"),
        (body(seq="3"), "payload:shape"),
        (body(seq=True), "payload:shape"),
        (body(ts=1_700_000_000), "payload:shape"),
        (body(values=[1]), "payload:shape"),
        (body(values={"nested": {"a": 1}}), "payload:shape"),
        (b"{" + b" " * MAX_PAYLOAD_BYTES + b"}", "payload:too_large"),
        (body(ts="2026-11-21T08:00:00"), "payload:ts"),  # naive: whose 08:00?
        (body(ts="1700000000"), "payload:ts"),  # pydantic alone would read this as epoch
        (body(ts="yesterday"), "payload:ts"),
        (body(device_id=13), "payload:device_mismatch"),
        (body(device_id="13"), "payload:device_mismatch"),
        (body(device_id=True), "payload:device_mismatch"),
        (body(device_type="gas"), "payload:device_mismatch"),
    ],
)
def test_bad_payloads_are_refused_with_their_reason(payload, reason):
    assert reason_of(TOPIC, payload) == reason


def test_a_payload_may_repeat_the_topics_device():
    raw = to_message(TOPIC, body(device_id=12, device_type="smoke"), STREET)
    assert (raw["device_id"], raw["device_type"]) == (12, "smoke")
    assert to_message(TOPIC, body(device_id="12"), STREET)["device_id"] == 12


def test_a_payload_at_the_size_limit_is_accepted():
    payload = body(values={"pad": ""})
    padded = payload.replace(
        b'"pad":""', b'"pad":"' + b"x" * (MAX_PAYLOAD_BYTES - len(payload)) + b'"'
    )
    assert len(padded) == MAX_PAYLOAD_BYTES
    assert to_message(TOPIC, padded, STREET)["seq"] == 3


def test_topic_parts_come_back_typed():
    assert parse_topic("cockpit/s1/elevator/7/status", STREET) == (DeviceKind.ELEVATOR, 7, "status")
    assert subscription(STREET) == "cockpit/s1/+/+/+"


def test_a_street_code_must_be_one_topic_level():
    for street in ("", "a/b", "a+", "#"):
        with pytest.raises(ValueError):
            subscription(street)


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("mqtt://broker", BrokerAddress("broker", 1883)),
        ("mqtt://127.0.0.1:1884", BrokerAddress("127.0.0.1", 1884)),
        ("mqtt://dev%40s:p%3Aw@broker:1883/", BrokerAddress("broker", 1883, "dev@s", "p:w")),
    ],
)
def test_mqtt_urls_name_host_port_and_login(url, address):
    assert parse_mqtt_url(url) == address


@pytest.mark.parametrize("url", ["tcp://broker:1883", "mqtt://", "mqtt://broker/topic", "broker"])
def test_other_urls_are_refused(url):
    with pytest.raises(ValueError):
        parse_mqtt_url(url)


# -- properties ------------------------------------------------------------------------------------

LEVELS = st.sampled_from(["cockpit", STREET, "smoke", "12", "reading", "", "+", "#", "0", "x"])
TOPICS = st.text() | st.lists(LEVELS | st.text(max_size=6), max_size=7).map("/".join)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
# Payloads shaped like the real thing, with any field possibly of the wrong type.
NEAR_PAYLOADS = st.fixed_dictionaries(
    {},
    optional={
        "ts": st.text(max_size=30) | st.datetimes().map(datetime.isoformat) | JSON,
        "seq": st.integers() | JSON,
        "values": st.dictionaries(st.text(max_size=5), JSON, max_size=3) | JSON,
        "device_id": st.integers() | st.text(max_size=4),
        "device_type": st.sampled_from([k.value for k in DeviceKind]) | st.text(max_size=4),
    },
)


def _encode(value) -> bytes:
    """Serialise like a device would, falling back to bytes for what JSON cannot carry."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return repr(value).encode()


PAYLOADS = st.binary(max_size=200) | JSON.map(_encode) | NEAR_PAYLOADS.map(_encode)


@settings(max_examples=400, deadline=None)
@given(topic=TOPICS, payload=PAYLOADS)
def test_arbitrary_messages_raise_nothing_but_message_error(topic, payload):
    try:
        raw = to_message(topic, payload, STREET)
    except MessageError as exc:
        assert exc.reason.split(":")[0] in ("topic", "payload")
        return
    # What passes the bridge either validates or is refused by ingest's own validation.
    with contextlib.suppress(ValidationError):
        DeviceMessage.model_validate(raw)


@settings(max_examples=300, deadline=None)
@given(payload=st.binary(max_size=300) | PAYLOADS)
def test_arbitrary_payload_bytes_raise_nothing_but_message_error(payload):
    with contextlib.suppress(MessageError):
        parse_payload(payload)


@settings(max_examples=300, deadline=None)
@given(topic=TOPICS)
def test_arbitrary_topics_raise_nothing_but_message_error(topic):
    with contextlib.suppress(MessageError):
        parse_topic(topic, STREET)


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)  # JSON has neither
    | st.text(st.characters(exclude_categories=("Cs",)), max_size=20)  # lone surrogates: no UTF-8
)
ZONES = st.sampled_from(
    [UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-3, minutes=-30))]
)
MESSAGES = st.builds(
    DeviceMessage,
    device_id=st.integers(min_value=1, max_value=10**17),
    device_type=st.sampled_from(list(DeviceKind)),
    kind=st.sampled_from(["reading", "event", "status"]),
    ts=st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=ZONES),
    seq=st.integers(min_value=0, max_value=2**63 - 1),
    values=st.dictionaries(st.text(max_size=10), SCALARS, max_size=6),
)


@settings(max_examples=300, deadline=None)
@given(message=MESSAGES)
def test_valid_messages_round_trip_through_the_publish_format(message):
    raw = to_message(topic_of(STREET, message), payload_of(message), STREET)
    again = DeviceMessage.model_validate(raw)
    assert again == message
    assert again.ts.utcoffset() == message.ts.utcoffset()
    assert {k: type(v) for k, v in again.values.items()} == {
        k: type(v) for k, v in message.values.items()
    }


# -- the bridge's queue and flusher, without a broker ----------------------------------------------


def delivered(topic: str, payload: bytes) -> mqtt.MQTTMessage:
    """Return a message as paho hands it to on_message."""
    msg = mqtt.MQTTMessage(topic=topic.encode())
    msg.payload = payload
    return msg


def test_a_redelivery_in_the_same_batch_counts_as_a_duplicate(sqlite_engine):
    live = InProcessLiveStore()
    ingest = Ingest(sqlite_engine, live, ManualClock(NOW), devices=KnownDevices({12: "smoke"}))
    bridge = MqttBridge(ingest, STREET, "127.0.0.1", 1)
    for seq in (1, 2):
        for _ in range(2):  # QoS 1: the same message twice
            payload = body(ts=(NOW + timedelta(seconds=seq)).isoformat(), seq=seq)
            bridge._on_message(None, None, delivered(TOPIC, payload))
    bridge._on_message(None, None, delivered(TOPIC, b"{broken"))
    # Never started: stop() marks the queue for draining and the flusher runs it here, in line.
    bridge.stop()
    bridge._flush_loop()
    assert live.counters() == {
        "readings_accepted": 2,
        "readings_duplicate": 2,
        "rejected:payload:json": 1,
    }
    assert live.latest([12])[12]["seq"] == 2
    stats = bridge.stats
    assert (stats.received, stats.processed, stats.rejected, stats.pending) == (5, 5, 1, 0)
    assert stats.batches == 1  # ingest follows each device through the batch
