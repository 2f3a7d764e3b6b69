"""Bridge device messages from an MQTT broker into ingest, and publish simulated ones to it."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from cockpit.domain.kinds import DeviceKind
from cockpit.ingest import DeviceMessage, Ingest
from cockpit.live import LiveStoreError
from cockpit.logs import log_fault
from cockpit.store.outage import StoreUnavailableError

if TYPE_CHECKING:
    from cockpit.settings import Settings

log = logging.getLogger(__name__)

TOPIC_ROOT = "cockpit"
KINDS = frozenset({"reading", "event", "status"})
MAX_PAYLOAD_BYTES = 64 * 1024
DEFAULT_PORT = 1883
DEFAULT_TLS_PORT = 8883
DEFAULT_CLIENT_PREFIX = "cockpit"
# The broker keeps a stopped bridge's subscription and queued QoS 1 messages this long, so a
# restart or an outage resumes where it stopped without the session living on forever.
SESSION_EXPIRY_S = 3600
RECONNECT_MIN_S, RECONNECT_MAX_S = 1, 30
# Bound memory while the live store is down; beyond this, messages are dropped and counted.
MAX_PENDING = 100_000
# Live-store counters of device messages lost on the MQTT path, by where they were lost.
LOST_BRIDGE = "lost:mqtt:bridge"  # received by the bridge, never handed to ingest
LOST_PUBLISHER = "lost:mqtt:publisher"  # given to the publisher, never acknowledged by the broker
PUBLISHED = "mqtt:published"  # given to the publisher and queued for the broker

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
    """Name a broker, the credentials to log in with, and how to speak TLS to it."""

    host: str
    port: int = DEFAULT_PORT
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # repr=False: never in a log line
    tls: bool = False
    ca_file: Path | None = None  # None with tls: the system's trusted CAs
    cert_file: Path | None = None  # client certificate, for brokers that ask for one
    key_file: Path | None = None
    client_id_prefix: str = DEFAULT_CLIENT_PREFIX

    def __str__(self) -> str:
        """Name the broker for log lines and health, without credentials."""
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def parse_mqtt_url(url: str) -> BrokerAddress:
    """Read mqtt[s]://[user[:password]@]host[:port] into a broker address; mqtts means TLS."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts"):
        raise ValueError(
            f"MQTT URL must start with mqtt:// or mqtts:// (got {parts.scheme or 'none'}://)"
        )
    if not parts.hostname:
        raise ValueError("MQTT URL names no host")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("MQTT URL must be mqtt://host:port with nothing after the port")
    tls = parts.scheme == "mqtts"
    return BrokerAddress(
        parts.hostname,
        parts.port or (DEFAULT_TLS_PORT if tls else DEFAULT_PORT),
        unquote(parts.username) if parts.username else None,
        unquote(parts.password) if parts.password else None,
        tls=tls,
    )


def broker_from_settings(settings: Settings) -> BrokerAddress:
    """Combine COCKPIT_MQTT_URL with the login and TLS settings; ValueError names a bad one."""
    if not settings.mqtt_url:
        raise ValueError("COCKPIT_MQTT_URL is not set")
    at = parse_mqtt_url(settings.mqtt_url)
    files = {
        "COCKPIT_MQTT_CA_FILE": settings.mqtt_ca_file,
        "COCKPIT_MQTT_CERT_FILE": settings.mqtt_cert_file,
        "COCKPIT_MQTT_KEY_FILE": settings.mqtt_key_file,
    }
    for name, path in files.items():
        if path is not None and not path.is_file():
            raise ValueError(f"{name}={path}: no such file")
    if (settings.mqtt_cert_file is None) != (settings.mqtt_key_file is None):
        raise ValueError("COCKPIT_MQTT_CERT_FILE and COCKPIT_MQTT_KEY_FILE go together")
    tls = at.tls or settings.mqtt_tls or any(path is not None for path in files.values())
    port = at.port
    if tls and urlsplit(settings.mqtt_url).port is None:
        port = DEFAULT_TLS_PORT  # mqtt://host with COCKPIT_MQTT_TLS=true: the TLS port
    password = settings.mqtt_password.get_secret_value() if settings.mqtt_password else None
    username = settings.mqtt_username or at.username
    if password is not None and username is None:
        raise ValueError("COCKPIT_MQTT_PASSWORD is set but no user name (COCKPIT_MQTT_USERNAME)")
    return BrokerAddress(
        at.host,
        port,
        username,
        password if password is not None else at.password,
        tls=tls,
        ca_file=settings.mqtt_ca_file,
        cert_file=settings.mqtt_cert_file,
        key_file=settings.mqtt_key_file,
        client_id_prefix=settings.mqtt_client_id,
    )


def unique_client_id(prefix: str, role: str, street: str) -> str:
    """Return a client id no other connection has: role, street, host, pid and a random part."""
    # Two connections with one id knock each other off the broker, over and over; the pid and
    # the random part keep two processes, or two clients of one process, apart.
    host = re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname())[:32] or "host"
    return f"{prefix}-{role}-{street}-{host}-{os.getpid()}-{secrets.token_hex(3)}"


def make_client(client_id: str, broker: BrokerAddress) -> mqtt.Client:
    """Return a paho MQTT v5 client logged in and speaking TLS as the broker address says."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    if broker.username is not None:
        client.username_pw_set(broker.username, broker.password)
    if broker.tls:
        # Certificates and the host name are checked (paho's defaults): no insecure mode.
        client.tls_set(
            ca_certs=str(broker.ca_file) if broker.ca_file else None,
            certfile=str(broker.cert_file) if broker.cert_file else None,
            keyfile=str(broker.key_file) if broker.key_file else None,
        )
    client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
    return client


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
        tls: bool = False,
        ca_file: Path | None = None,
        cert_file: Path | None = None,
        key_file: Path | None = None,
        client_id_prefix: str = DEFAULT_CLIENT_PREFIX,
    ) -> None:
        if batch_size < 1 or flush_ms < 0:
            raise ValueError("batch_size must be at least 1 and flush_ms not negative")
        self.ingest = ingest
        self.street = check_street(street)
        self.host, self.port = host, port
        self.broker = BrokerAddress(
            host, port, username, password, tls, ca_file, cert_file, key_file, client_id_prefix
        )
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
        self._problem: str | None = None  # why the bridge is not connected, for health
        self._lost_reported = 0  # dropped messages already added to the live store's counter
        self._subscribed = threading.Event()
        self._store_down = False
        self._last_message_at: float | None = None  # wall time of the newest message received
        self._flusher: threading.Thread | None = None
        # The client id names the broker's session for this bridge. Unique per process by
        # default, so two bridges never knock each other off; the session then lives as long as
        # the process (network drops and broker restarts resume it), not across bridge restarts.
        # A caller passing its own stable id resumes that session on its first connect too.
        self._resume = client_id is not None
        self.client_id = client_id or unique_client_id(client_id_prefix, "bridge", self.street)
        self._client = make_client(self.client_id, self.broker)
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
        # clean_start=False on every reconnect: QoS 1 messages the broker queued for this session
        # while the bridge was away (a network drop, a broker restart with persistence) are
        # delivered when it comes back. A fresh unique id has no session to resume on its first.
        clean_start = False if self._resume else mqtt.MQTT_CLEAN_START_FIRST_ONLY
        self._client.connect_async(self.host, self.port, clean_start=clean_start, properties=props)
        self._client.loop_start()

    def wait_ready(self, timeout: float = 10.0) -> bool:
        """Wait until the bridge is connected and subscribed; return whether it is."""
        return self._subscribed.wait(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Disconnect, hand what is queued to ingest, and stop the flusher."""
        with self._ready:
            self._stopping = True
        props = None
        if not self._resume:
            # Nobody will come back for a unique id's session: let the broker drop it now rather
            # than queue the street's messages for it until it expires.
            props = Properties(PacketTypes.DISCONNECT)
            props.SessionExpiryInterval = 0
        self._client.disconnect(properties=props)
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
        problem = self._problem or "not connected yet"
        return {
            "name": "mqtt",
            "state": "ok" if subscribed else "down",
            "age_s": None if last is None else round(time.time() - last, 1),
            "error": None if subscribed else f"MQTT broker {self.broker}: {problem}",
            "lost": self.stats.dropped,
        }

    @property
    def stats(self) -> BridgeStats:
        """Return a snapshot of the bridge's counters."""
        with self._lock:
            return BridgeStats(**self._counts, pending=len(self._queue))

    # -- paho callbacks (paho's network thread: parse and queue, nothing slower) -----------------

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            # A wrong password or a refused id is a fact for the operator, not a stack trace.
            self._problem = f"refused the bridge ({reason_code})"
            if not self._lost:
                log.warning("MQTT broker %s refused the bridge: %s", self.broker, reason_code)
                self._lost = True
            return
        self._problem = None
        # Subscribe on every connect: a broker that restarted without its sessions has forgotten
        # the subscription, and one that kept it takes the same subscription as a no-op.
        client.subscribe(subscription(self.street), qos=1)
        if self._lost:
            log.info("MQTT bridge reconnected to %s:%d", *self._at())
            self._lost = False
        else:
            log.info("MQTT bridge connected to %s:%d", *self._at())

    def _on_connect_fail(self, client, userdata) -> None:
        self._problem = "unreachable (retrying with backoff)"
        if not self._lost:
            log.warning("cannot reach MQTT broker %s:%d; retrying with backoff", *self._at())
            self._lost = True

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self._subscribed.clear()
        if not self._stopping and self._problem is None:
            self._problem = f"connection lost ({reason_code}); reconnecting"
        if not self._stopping and not self._lost:
            log.warning(
                "lost MQTT broker %s:%d (%s); reconnecting with backoff", *self._at(), reason_code
            )
            self._lost = True

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        if any(code.is_failure for code in reason_codes):
            self._problem = f"refused subscription {subscription(self.street)} ({reason_codes[0]})"
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
            except Exception as exc:
                # A bug must not stop the bridge; log it and carry on with the next batch.
                log_fault(log, exc, "MQTT bridge could not process %d messages", len(items))
                self._count(dropped=len(items) - (self.stats.processed - before))
            self._report_lost()
        with self._ready:
            dropped = len(self._queue)
            self._queue.clear()
            self._counts["dropped"] += dropped
        if dropped:
            log.warning("MQTT bridge stopped with %d messages not ingested", dropped)
        self._report_lost()

    def _report_lost(self) -> None:
        """Add newly dropped messages to the live store's lost counter, when it answers."""
        with self._lock:
            unreported = self._counts["dropped"] - self._lost_reported
        if not unreported:
            return
        # The store may be why they were dropped; then the count waits for the next batch (and
        # stays in stats and health meanwhile).
        with contextlib.suppress(LiveStoreError):
            self.ingest.live.incr(LOST_BRIDGE, unreported)
            with self._lock:
                self._lost_reported += unreported
            log.warning("MQTT bridge lost %d device messages (queue full or stopped)", unreported)

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
        """Call into ingest, waiting out a live or SQL store outage with backoff (logged once)."""
        delay = RECONNECT_MIN_S
        while True:
            try:
                value = fn(*args)
            except (LiveStoreError, StoreUnavailableError) as exc:
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
    """Return a bridge to the broker at mqtt[s]://[user[:password]@]host[:port]."""
    return from_broker(ingest, street, parse_mqtt_url(url), **options)


def from_broker(ingest: Ingest, street: str, broker: BrokerAddress, **options: Any) -> MqttBridge:
    """Return a bridge to that broker, logged in and speaking TLS as it says."""
    return MqttBridge(
        ingest, street, broker.host, broker.port, **_client_options(broker), **options
    )


def _client_options(broker: BrokerAddress) -> dict[str, Any]:
    """Return the keyword arguments that carry a broker address's login and TLS into a client."""
    return {
        "username": broker.username,
        "password": broker.password,
        "tls": broker.tls,
        "ca_file": broker.ca_file,
        "cert_file": broker.cert_file,
        "key_file": broker.key_file,
        "client_id_prefix": broker.client_id_prefix,
    }


# -- the publisher -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublisherStats:
    """Count what the publisher was given and what became of it."""

    # Every message given to send() is counted once: sent (then acked, pending or lost at
    # close or by the broker's refusal) or lost at once to a full queue.
    sent: int = 0  # queued for the broker, in paho or held while the link is down
    acked: int = 0  # acknowledged by the broker (PUBACK success)
    lost: int = 0  # dropped on a full queue, refused by the broker, or unacknowledged at close
    pending: int = 0  # queued, not yet acknowledged (paho resends them after a reconnect)


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
        tls: bool = False,
        ca_file: Path | None = None,
        cert_file: Path | None = None,
        key_file: Path | None = None,
        client_id_prefix: str = DEFAULT_CLIENT_PREFIX,
        counters: Callable[[str, int], object] | None = None,
    ) -> None:
        self.street = check_street(street)
        self.host, self.port = host, port
        self.broker = BrokerAddress(
            host, port, username, password, tls, ca_file, cert_file, key_file, client_id_prefix
        )
        self._counters = counters  # e.g. the live store's incr: published and lost, by batch
        self._max_queued = max_queued
        self._cond = threading.Condition()
        # Held here, in order, while the link is down and until paho's resends after a reconnect
        # are acknowledged: paho would send what is published during the reconnect handshake
        # before its own older queue, and a device's readings would arrive out of order.
        self._held: deque[tuple[str, bytes]] = deque()
        self._link_up = False  # set by on_connect (paho's is_connected() flips before it runs)
        self._releasing = False
        self._release_lock = threading.Lock()
        self._accepted = 0  # given to send() and queued, in paho or held
        self._sent = 0  # handed to paho
        self._acked = 0
        self._dropped = 0  # paho's queue was full
        self._refused = 0  # the broker answered PUBACK with a failure (e.g. not authorised)
        self._abandoned = 0  # still unacknowledged when the publisher closed
        self._disconnected = False
        self.client_id = client_id or unique_client_id(client_id_prefix, "pub", self.street)
        self._client = make_client(self.client_id, self.broker)
        # paho keeps unacknowledged QoS 1 messages, while disconnected too, and resends them after
        # a reconnect; cap that (mids also cap it near 65,535), and count what the cap refuses.
        self._client.max_queued_messages_set(max_queued)
        self._client.on_publish = self._on_publish
        self._client.on_connect = self._on_connect
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_disconnect = self._on_disconnect
        # Connect in the background: the scenario never blocks on the broker; paho queues.
        self._client.connect_async(host, port)
        self._client.loop_start()

    @classmethod
    def from_url(cls, url: str, street: str, **options: Any) -> MqttPublisher:
        """Return a publisher to the broker at mqtt[s]://[user[:password]@]host[:port]."""
        return cls.from_broker(parse_mqtt_url(url), street, **options)

    @classmethod
    def from_broker(cls, broker: BrokerAddress, street: str, **options: Any) -> MqttPublisher:
        """Return a publisher to that broker, logged in and speaking TLS as it says."""
        return cls(broker.host, broker.port, street, **_client_options(broker), **options)

    def send(self, messages: Sequence[DeviceMessage]) -> int:
        """Publish each message at QoS 1 to its topic and return how many were queued."""
        items = [(topic_of(self.street, m), payload_of(m)) for m in messages]
        with self._cond:
            room = max(self._max_queued - (self._sent - self._answered()) - len(self._held), 0)
            hold = bool(self._held) or self._releasing or not self._link_up
            if hold:
                self._held.extend(items[:room])
                dropped = max(len(items) - room, 0)
                items = []
            else:
                dropped = 0
        # paho is called outside our lock: its thread holds its own lock when it calls back.
        dropped += self._publish(items)
        with self._cond:
            queued = len(messages) - dropped
            self._accepted += queued
            first = dropped and not self._dropped
            self._dropped += dropped
        if first:
            log.warning("MQTT publisher queue full; dropping device messages (counted as lost)")
        self._count(PUBLISHED, queued)
        self._count(LOST_PUBLISHER, dropped)
        if hold:
            # A release that lost the race for its lock is picked up here, at the latest.
            self._release()
        return queued

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until the broker answered everything sent; return whether it did in time."""
        deadline = time.monotonic() + timeout
        while True:
            self._release()
            with self._cond:
                left = deadline - time.monotonic()
                if self._cond.wait_for(self._all_answered, min(max(left, 0), 0.1)):
                    return True
            if left <= 0:
                return False

    def close(self, timeout: float = 5.0) -> None:
        """Flush, count what the broker never acknowledged as lost, then disconnect."""
        self.flush(timeout)
        self._client.disconnect()
        self._client.loop_stop()
        with self._cond:
            abandoned = self._sent - self._answered() + len(self._held)
            self._held.clear()
            self._abandoned += abandoned
        if abandoned:
            log.warning(
                "MQTT publisher closed with %d messages %s never acknowledged; counted as lost",
                abandoned,
                self.broker,
            )
            self._count(LOST_PUBLISHER, abandoned)

    @property
    def connected(self) -> bool:
        """Tell whether the publisher is connected to the broker."""
        return self._client.is_connected()

    @property
    def dropped(self) -> int:
        """Return how many messages were dropped because paho's queue was full."""
        with self._cond:
            return self._dropped

    @property
    def stats(self) -> PublisherStats:
        """Return a snapshot of the publisher's counters."""
        with self._cond:
            lost = self._dropped + self._refused + self._abandoned
            pending = self._accepted - self._acked - self._refused - self._abandoned
            return PublisherStats(self._accepted, self._acked, lost, pending)

    def _answered(self) -> int:
        """Return how many messages handed to paho the broker answered or the close gave up on."""
        return self._acked + self._refused + self._abandoned

    def _all_answered(self) -> bool:
        return not self._held and not self._releasing and self._answered() >= self._sent

    def _publish(self, items: list[tuple[str, bytes]]) -> int:
        """Hand messages to paho in order; return how many its full queue refused."""
        refused = 0
        for topic, payload in items:
            if self._client.publish(topic, payload, qos=1).rc == mqtt.MQTT_ERR_QUEUE_SIZE:
                refused += 1
        with self._cond:
            self._sent += len(items) - refused
        return refused

    def _release(self) -> None:
        """Hand held messages to paho once the link is up and paho's own queue is answered."""
        # Never wait for the lock: paho's thread calls this holding paho's lock, which another
        # releaser may be waiting for; whoever holds it drains everything held, in order.
        if not self._release_lock.acquire(blocking=False):
            return
        try:
            while True:
                with self._cond:
                    ready = self._link_up and self._answered() >= self._sent
                    if not self._held or not ready:
                        self._releasing = False
                        return
                    self._releasing = True
                    items = list(self._held)
                    self._held.clear()
                dropped = self._publish(items)
                if dropped:
                    with self._cond:
                        self._accepted -= dropped
                        self._dropped += dropped
                    self._count(PUBLISHED, -dropped)
                    self._count(LOST_PUBLISHER, dropped)
        finally:
            self._release_lock.release()

    def _count(self, counter: str, amount: int) -> None:
        """Add to a live-store counter, if one is wired; its outage must not stop the devices."""
        if self._counters is None or not amount:
            return
        with contextlib.suppress(LiveStoreError):  # the publisher's own stats keep the count
            self._counters(counter, amount)

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        refused = reason_code.is_failure
        with self._cond:
            if refused:
                self._refused += 1
                first = self._refused == 1
            else:
                self._acked += 1
            drained = self._held and self._answered() >= self._sent
            self._cond.notify_all()
        if drained:
            self._release()
        if refused:
            if first:
                log.warning(
                    "MQTT broker %s refused a device message: %s (counted as lost)",
                    self.broker,
                    reason_code,
                )
            self._count(LOST_PUBLISHER, 1)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            if not self._disconnected:
                log.warning("MQTT broker %s refused the publisher: %s", self.broker, reason_code)
                self._disconnected = True
        else:
            with self._cond:
                self._link_up = True
            # With nothing of paho's to resend, what was held can go now; else on_publish lets
            # it go once paho's resends are acknowledged.
            self._release()
            if self._disconnected:
                log.info("MQTT publisher reconnected to %s", self.broker)
                self._disconnected = False

    def _on_connect_fail(self, client, userdata) -> None:
        with self._cond:
            self._link_up = False
        if not self._disconnected:
            log.warning("cannot reach MQTT broker %s; publisher queueing, retrying", self.broker)
            self._disconnected = True

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        with self._cond:
            self._link_up = False
        if not self._disconnected and reason_code.is_failure:
            log.warning("MQTT publisher lost %s (%s); reconnecting", self.broker, reason_code)
            self._disconnected = True
