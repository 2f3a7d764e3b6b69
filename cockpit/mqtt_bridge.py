"""Bridge device messages from an MQTT broker into ingest, and publish simulated ones to it."""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from cockpit.domain.kinds import DeviceKind
from cockpit.ingest import DeviceMessage, Ingest
from cockpit.live import LiveStoreError

log = logging.getLogger(__name__)

TOPIC_ROOT = "cockpit"
KINDS = frozenset({"reading", "event", "status"})
MAX_PAYLOAD_BYTES = 64 * 1024
DEFAULT_PORT = 1883
# The broker keeps a stopped bridge's subscription and queued QoS 1 messages this long, so a
# restart or an outage resumes where it stopped without the session living on forever.
SESSION_EXPIRY_S = 3600
RECONNECT_MIN_S, RECONNECT_MAX_S = 1, 30
# Bound memory while the live store is down; beyond this, messages are dropped and counted.
MAX_PENDING = 100_000

# Canonical decimal only (no sign, no leading zero, ASCII digits), so a device has one topic.
_DEVICE_ID = re.compile(r"[1-9][0-9]{0,17}")
_DEVICE_TYPES = frozenset(k.value for k in DeviceKind)
_PAYLOAD_REQUIRED = frozenset({"ts", "seq", "values"})
_PAYLOAD_ECHOES = frozenset({"device_id", "device_type"})
_SCALARS = (str, int, float, bool, type(None))


class MessageError(ValueError):
    """Refuse an MQTT message with a stable reason code (e.g. 'topic:shape') and a detail."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail or reason


# -- parsing (pure) ------------------------------------------------------------------------------


def check_street(street: str) -> str:
    """Return the street code if it can be one MQTT topic level, else raise ValueError."""
    if not street or any(c in street for c in "/+#\0"):
        raise ValueError(f"street code {street!r} cannot be an MQTT topic level")
    return street


def subscription(street: str) -> str:
    """Return the topic filter that matches every device message of the street."""
    return f"{TOPIC_ROOT}/{check_street(street)}/+/+/+"


def parse_topic(topic: str, street: str) -> tuple[DeviceKind, int, str]:
    """Split cockpit/{street}/{device_type}/{device_id}/{kind} into its checked parts."""
    levels = topic.split("/")
    if len(levels) != 5 or levels[0] != TOPIC_ROOT:
        raise MessageError("topic:shape", f"expected {TOPIC_ROOT}/<street>/<type>/<id>/<kind>")
    _, topic_street, device_type, device_id, kind = levels
    if topic_street != street:
        raise MessageError("topic:street", f"street {topic_street[:40]!r} is not {street!r}")
    if device_type not in _DEVICE_TYPES:
        raise MessageError("topic:device_type", f"unknown device type {device_type[:40]!r}")
    if not _DEVICE_ID.fullmatch(device_id):
        raise MessageError("topic:device_id", f"device id {device_id[:40]!r} is not a positive int")
    if kind not in KINDS:
        raise MessageError("topic:kind", f"kind {kind[:40]!r} is not reading, event or status")
    return DeviceKind(device_type), int(device_id), kind


def parse_payload(payload: bytes) -> dict[str, Any]:
    """Decode a JSON payload {"ts": ISO-8601 with zone, "seq": int, "values": {...}}."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise MessageError("payload:too_large", f"{len(payload)} bytes > {MAX_PAYLOAD_BYTES}")
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise MessageError("payload:json", str(exc)) from None
    if not isinstance(body, dict):
        raise MessageError("payload:shape", f"expected an object, got {type(body).__name__}")
    missing = _PAYLOAD_REQUIRED - body.keys()
    unknown = body.keys() - _PAYLOAD_REQUIRED - _PAYLOAD_ECHOES
    if missing or unknown:
        raise MessageError(
            "payload:shape", f"missing {sorted(missing)}, unknown {sorted(unknown)[:5]}"
        )
    ts, seq, values = body["ts"], body["seq"], body["values"]
    # type() rather than isinstance: JSON true must not pass as a sequence number.
    if not isinstance(ts, str) or type(seq) is not int or not isinstance(values, dict):
        raise MessageError("payload:shape", "ts must be a string, seq an integer, values an object")
    # Only scalars, so a device cannot mint new rejection reasons from its own value names.
    if not all(isinstance(v, _SCALARS) for v in values.values()):
        raise MessageError("payload:shape", "values must map names to scalars")
    try:
        moment = datetime.fromisoformat(ts)
    except ValueError:
        raise MessageError("payload:ts", f"ts {ts[:40]!r} is not ISO-8601") from None
    if moment.utcoffset() is None:
        raise MessageError("payload:ts", f"ts {ts[:40]!r} has no time zone")
    body["ts"] = moment
    return body


def to_message(topic: str, payload: bytes, street: str) -> dict[str, Any]:
    """Combine topic and payload into the dict DeviceMessage validates; the topic names the device."""
    device_type, device_id, kind = parse_topic(topic, street)
    body = parse_payload(payload)
    named_id = body.get("device_id", device_id)
    if not ((type(named_id) is int and named_id == device_id) or named_id == str(device_id)):
        raise MessageError("payload:device_mismatch", f"payload names device {str(named_id)[:40]}")
    if body.get("device_type", device_type.value) != device_type.value:
        raise MessageError("payload:device_mismatch", "payload names another device type")
    return {
        "device_id": device_id,
        "device_type": device_type.value,
        "kind": kind,
        "ts": body["ts"],
        "seq": body["seq"],
        "values": body["values"],
    }


def topic_of(street: str, message: DeviceMessage) -> str:
    """Return the topic a device message is published on."""
    return f"{TOPIC_ROOT}/{street}/{message.device_type.value}/{message.device_id}/{message.kind}"


def payload_of(message: DeviceMessage) -> bytes:
    """Return the JSON payload of a device message; the topic carries the rest."""
    return orjson.dumps({"ts": message.ts, "seq": message.seq, "values": message.values})


@dataclass(frozen=True)
class BrokerAddress:
    """Name a broker and the credentials to log in with."""

    host: str
    port: int = DEFAULT_PORT
    username: str | None = None
    password: str | None = None


def parse_mqtt_url(url: str) -> BrokerAddress:
    """Read mqtt://[user[:password]@]host[:port] into a broker address."""
    parts = urlsplit(url)
    if parts.scheme != "mqtt":
        raise ValueError(f"MQTT URL must start with mqtt:// (got {parts.scheme or 'none'}://)")
    if not parts.hostname:
        raise ValueError("MQTT URL names no host")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("MQTT URL must be mqtt://host:port with nothing after the port")
    return BrokerAddress(
        parts.hostname,
        parts.port or DEFAULT_PORT,
        unquote(parts.username) if parts.username else None,
        unquote(parts.password) if parts.password else None,
    )


# -- the bridge ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BridgeStats:
    """Count what the bridge has done since it started."""

    received: int = 0  # messages paho delivered
    rejected: int = 0  # refused by the bridge or by ingest's validation
    batches: int = 0  # calls into ingest.device_messages
    processed: int = 0  # messages handed to ingest or counted as rejected
    dropped: int = 0  # lost to a full queue, a live store down at stop, or an ingest bug
    pending: int = 0  # parsed, waiting for the flusher


@dataclass(frozen=True, slots=True)
class _Refused:
    """Carry a refused message's reason from paho's thread to the flusher."""

    reason: str
    detail: str


class _AbandonedError(Exception):
    """Give up on a batch because the bridge is stopping while the live store is down."""


class MqttBridge:
    """Subscribe to a street's device topics and feed the messages to ingest in batches."""

    def __init__(
        self,
        ingest: Ingest,
        street: str,
        host: str,
        port: int = DEFAULT_PORT,
        *,
        client_id: str | None = None,
        batch_size: int = 500,
        flush_ms: int = 50,
        username: str | None = None,
        password: str | None = None,
        session_expiry_s: int = SESSION_EXPIRY_S,
        max_pending: int = MAX_PENDING,
    ) -> None:
        if batch_size < 1 or flush_ms < 0:
            raise ValueError("batch_size must be at least 1 and flush_ms not negative")
        self.ingest = ingest
        self.street = check_street(street)
        self.host, self.port = host, port
        self._batch_size = batch_size
        self._flush_s = flush_ms / 1000
        self._max_pending = max_pending
        self._session_expiry_s = session_expiry_s
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)  # guards the queue and the counters
        self._queue: deque[dict[str, Any] | _Refused] = deque()
        self._counts = dict.fromkeys(("received", "rejected", "batches", "processed", "dropped"), 0)
        self._stopping = False
        self._draining = False
        self._lost = False  # a disconnect was logged and the matching reconnect not yet
        self._subscribed = threading.Event()
        self._store_down = False
        self._last_message_at: float | None = None  # wall time of the newest message received
        self._flusher: threading.Thread | None = None
        # The client id names the persistent session, so it must stay the same across restarts.
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"cockpit-bridge-{street}",
            protocol=mqtt.MQTTv5,
        )
        if username is not None:
            self._client.username_pw_set(username, password)
        self._client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
        self._client.on_connect = self._on_connect
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_disconnect = self._on_disconnect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message

    # -- control -------------------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background (retrying with backoff) and start the flusher."""
        if self._flusher is not None:
            raise RuntimeError("bridge already started")
        self._flusher = threading.Thread(
            target=self._flush_loop, name=f"mqtt-bridge-flusher-{self.street}", daemon=True
        )
        self._flusher.start()
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self._session_expiry_s
        # clean_start=False on every connect, the first included: QoS 1 messages queued for this
        # session while the bridge was away are delivered when it comes back.
        self._client.connect_async(self.host, self.port, clean_start=False, properties=props)
        self._client.loop_start()

    def wait_ready(self, timeout: float = 10.0) -> bool:
        """Wait until the bridge is connected and subscribed; return whether it is."""
        return self._subscribed.wait(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Disconnect, hand what is queued to ingest, and stop the flusher."""
        with self._ready:
            self._stopping = True
        self._client.disconnect()
        self._client.loop_stop()
        with self._ready:
            self._draining = True
            self._ready.notify_all()
        if self._flusher is not None:
            self._flusher.join(timeout)
            if self._flusher.is_alive():
                log.warning("MQTT bridge flusher did not stop within %.0f s", timeout)

    @property
    def connected(self) -> bool:
        """Tell whether the bridge is connected to the broker."""
        return self._client.is_connected()

    def health(self) -> dict[str, Any]:
        """Describe the bridge for the source-health view: ok while subscribed to the broker."""
        last = self._last_message_at
        subscribed = self._subscribed.is_set()
        return {
            "name": "mqtt",
            "state": "ok" if subscribed else "down",
            "age_s": None if last is None else round(time.time() - last, 1),
            "error": None
            if subscribed
            else f"no connection to MQTT broker {self.host}:{self.port}",
        }

    @property
    def stats(self) -> BridgeStats:
        """Return a snapshot of the bridge's counters."""
        with self._lock:
            return BridgeStats(**self._counts, pending=len(self._queue))

    # -- paho callbacks (paho's network thread: parse and queue, nothing slower) -----------------

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            if not self._lost:
                log.warning("MQTT broker %s:%d refused the bridge: %s", *self._at(), reason_code)
                self._lost = True
            return
        client.subscribe(subscription(self.street), qos=1)
        if self._lost:
            log.info("MQTT bridge reconnected to %s:%d", *self._at())
            self._lost = False
        else:
            log.info("MQTT bridge connected to %s:%d", *self._at())

    def _on_connect_fail(self, client, userdata) -> None:
        if not self._lost:
            log.warning("cannot reach MQTT broker %s:%d; retrying with backoff", *self._at())
            self._lost = True

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self._subscribed.clear()
        if not self._stopping and not self._lost:
            log.warning(
                "lost MQTT broker %s:%d (%s); reconnecting with backoff", *self._at(), reason_code
            )
            self._lost = True

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        if any(code.is_failure for code in reason_codes):
            log.error(
                "MQTT broker refused subscription %s: %s", subscription(self.street), reason_codes
            )
        else:
            self._subscribed.set()

    def _on_message(self, client, userdata, msg: mqtt.MQTTMessage) -> None:
        # An exception escaping here would stop paho's network loop, so nothing may escape.
        try:
            item: dict[str, Any] | _Refused = to_message(msg.topic, msg.payload, self.street)
        except MessageError as exc:
            item = _Refused(exc.reason, exc.detail)
        except UnicodeDecodeError:
            item = _Refused("topic:encoding", "topic is not UTF-8")
        except Exception as exc:  # noqa: BLE001
            item = _Refused("bridge:parse_error", repr(exc))
        with self._ready:
            self._counts["received"] += 1
            self._last_message_at = time.time()
            if len(self._queue) >= self._max_pending:
                self._counts["dropped"] += 1
                return
            self._queue.append(item)
            if len(self._queue) in (1, self._batch_size):
                self._ready.notify()

    def _at(self) -> tuple[str, int]:
        return self.host, self.port

    # -- flusher thread ------------------------------------------------------------------------

    def _flush_loop(self) -> None:
        """Drain the queue into ingest in batches of batch_size or every flush_ms."""
        while (items := self._take()) is not None:
            before = self.stats.processed
            try:
                self._process(items)
            except _AbandonedError:
                self._count(dropped=len(items) - (self.stats.processed - before))
            except Exception:
                # A bug must not stop the bridge; log it and carry on with the next batch.
                log.exception("MQTT bridge could not process %d messages", len(items))
                self._count(dropped=len(items) - (self.stats.processed - before))
        with self._ready:
            dropped = len(self._queue)
            self._queue.clear()
            self._counts["dropped"] += dropped
        if dropped:
            log.warning("MQTT bridge stopped with %d messages not ingested", dropped)

    def _take(self) -> list[dict[str, Any] | _Refused] | None:
        """Return the next batch, or None once the bridge is stopping and the queue is empty."""
        with self._ready:
            self._ready.wait_for(lambda: self._queue or self._draining)
            if not self._queue:
                return None
            # Wait briefly for a fuller batch: one round trip to the live store per batch.
            self._ready.wait_for(
                lambda: len(self._queue) >= self._batch_size or self._draining,
                timeout=self._flush_s,
            )
            return [self._queue.popleft() for _ in range(min(len(self._queue), self._batch_size))]

    def _process(self, items: list[dict[str, Any] | _Refused]) -> None:
        messages: list[dict[str, Any]] = []
        for item in items:
            if isinstance(item, _Refused):
                self._retrying(self.ingest.reject, item.reason, item.detail)
                self._count(rejected=1, processed=1)
            else:
                messages.append(item)
        if messages:
            result = self._retrying(self.ingest.device_messages, messages)
            self._count(batches=1, rejected=sum(result.rejected.values()), processed=len(messages))

    def _retrying(self, fn, *args):
        """Call into ingest, waiting out a live store outage with backoff (logged once)."""
        delay = RECONNECT_MIN_S
        while True:
            try:
                value = fn(*args)
            except LiveStoreError as exc:
                if self._draining:
                    raise _AbandonedError from exc
                if not self._store_down:
                    log.warning("live store down, MQTT bridge holding messages: %s", exc)
                    self._store_down = True
                with self._ready:
                    self._ready.wait_for(lambda: self._draining, timeout=delay)
                delay = min(delay * 2, RECONNECT_MAX_S)
                continue
            if self._store_down:
                log.info("live store back, MQTT bridge ingesting again")
                self._store_down = False
            return value

    def _count(self, **amounts: int) -> None:
        with self._lock:
            for name, amount in amounts.items():
                self._counts[name] += amount


def from_url(ingest: Ingest, street: str, url: str, **options: Any) -> MqttBridge:
    """Return a bridge to the broker at mqtt://[user[:password]@]host[:port]."""
    at = parse_mqtt_url(url)
    return MqttBridge(
        ingest, street, at.host, at.port, username=at.username, password=at.password, **options
    )


# -- the publisher -------------------------------------------------------------------------------


class MqttPublisher:
    """Publish device messages at QoS 1 on their topics, as a street's devices would."""

    def __init__(
        self,
        host: str,
        port: int = DEFAULT_PORT,
        street: str = "",
        *,
        client_id: str | None = None,
        username: str | None = None,
        password: str | None = None,
        max_queued: int = MAX_PENDING,
    ) -> None:
        self.street = check_street(street)
        self.host, self.port = host, port
        self._cond = threading.Condition()
        self._sent = 0
        self._acked = 0
        self._dropped = 0
        self._lost = False
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"cockpit-pub-{street}-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv5,
        )
        if username is not None:
            self._client.username_pw_set(username, password)
        # paho keeps unacknowledged QoS 1 messages and resends them after a reconnect; cap that.
        self._client.max_queued_messages_set(max_queued)
        self._client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
        self._client.on_publish = self._on_publish
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        # Connect in the background: the scenario never blocks on the broker; paho queues.
        self._client.connect_async(host, port)
        self._client.loop_start()

    @classmethod
    def from_url(cls, url: str, street: str, **options: Any) -> MqttPublisher:
        """Return a publisher to the broker at mqtt://[user[:password]@]host[:port]."""
        at = parse_mqtt_url(url)
        return cls(at.host, at.port, street, username=at.username, password=at.password, **options)

    def send(self, messages: Sequence[DeviceMessage]) -> int:
        """Publish each message at QoS 1 to its topic and return how many were queued."""
        queued = 0
        for message in messages:
            info = self._client.publish(topic_of(self.street, message), payload_of(message), qos=1)
            if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
                with self._cond:
                    self._dropped += 1
                    first = self._dropped == 1
                if first:
                    log.warning("MQTT publisher queue full; dropping device messages")
                continue
            queued += 1
        with self._cond:
            self._sent += queued
        return queued

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until the broker acknowledged everything sent; return whether it did in time."""
        with self._cond:
            return self._cond.wait_for(lambda: self._acked >= self._sent, timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Flush, then disconnect."""
        self.flush(timeout)
        self._client.disconnect()
        self._client.loop_stop()

    @property
    def connected(self) -> bool:
        """Tell whether the publisher is connected to the broker."""
        return self._client.is_connected()

    @property
    def dropped(self) -> int:
        """Return how many messages were dropped because paho's queue was full."""
        with self._cond:
            return self._dropped

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        with self._cond:
            self._acked += 1
            self._cond.notify_all()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning(
                "MQTT broker %s:%d refused the publisher: %s", self.host, self.port, reason_code
            )
        elif self._lost:
            log.info("MQTT publisher reconnected to %s:%d", self.host, self.port)
            self._lost = False

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        if not self._lost and reason_code.is_failure:
            log.warning(
                "MQTT publisher lost %s:%d (%s); reconnecting", self.host, self.port, reason_code
            )
            self._lost = True
