"""Keep live state (latest readings, event streams, counters, view models) in Redis or in process."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import count
from typing import Any, Protocol

import orjson


@dataclass(frozen=True, slots=True)
class LiveReading:
    """Carry one device reading: device time in epoch seconds, sequence number and values."""

    device_id: int
    kind: str
    ts: float
    seq: int
    values: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """Return the reading as a plain dict."""
        return {
            "device_id": self.device_id,
            "kind": self.kind,
            "ts": self.ts,
            "seq": self.seq,
            "values": self.values,
        }

    def as_json(self) -> bytes:
        """Return the reading as compact JSON."""
        return orjson.dumps(self.as_dict())


class LiveStoreError(RuntimeError):
    """Report that the live store could not be reached or refused an operation."""


class LiveStore(Protocol):
    """Hold the street's live state; ingest is its only writer."""

    def ping(self) -> bool:
        """Return True when the store answers."""
        ...

    def put_readings(self, readings: Sequence[LiveReading]) -> list[bool]:
        """Store readings newer than the stored ones; return which were applied."""
        ...

    def latest(self, device_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """Return the latest reading of each device that has one."""
        ...

    def last_seen(self) -> dict[int, float]:
        """Return each reporting device's latest device time."""
        ...

    def append_event(self, stream: str, event: dict[str, Any], maxlen: int | None = None) -> str:
        """Append an event to a named, capped stream (at `maxlen`, or the store's) and return its id."""
        ...

    def read_events(
        self, stream: str, after: str = "0", limit: int = 100
    ) -> list[tuple[str, dict[str, Any]]]:
        """Return up to limit events after the id, oldest first."""
        ...

    def wait_events(self, stream: str, after: str, timeout_s: float) -> bool:
        """Block until the stream has an event after the id or the timeout passes; tell which."""
        ...

    def last_event_id(self, stream: str) -> str:
        """Return the id of the stream's newest event, or "0" when it has none."""
        ...

    def incr(self, counter: str, amount: int = 1) -> int:
        """Add to a named counter and return its value."""
        ...

    def counters(self) -> dict[str, int]:
        """Return all counters."""
        ...

    def set_view(self, name: str, payload: bytes) -> None:
        """Publish a serialised view model under its name."""
        ...

    def get_view(self, name: str) -> bytes | None:
        """Return a published view model, or None."""
        ...

    def get_view_tails(self, names: Sequence[str], size: int) -> list[bytes | None]:
        """Return the last `size` bytes of each published view (None when absent), at once."""
        ...

    def get_views(self, names: Sequence[str]) -> list[bytes | None]:
        """Return each published view whole (None when absent), at once."""
        ...

    def save_rule_memory(self, rule: str, items: Mapping[int, bytes]) -> None:
        """Keep what a streaming rule remembers per object (a car, a resident), for a restart."""
        ...

    def load_rule_memory(self, rule: str) -> dict[int, bytes]:
        """Return everything a streaming rule remembered, by object id."""
        ...

    def forget_rule_memory(self, rule: str, ids: Iterable[int]) -> None:
        """Drop what a streaming rule remembered about these objects."""
        ...

    def clear(self) -> None:
        """Forget all live state of this street."""
        ...


STREAM_MAXLEN = 100_000


class InProcessLiveStore:
    """Hold live state in this process's memory, for the embedded default with no server."""

    def __init__(self, stream_maxlen: int = STREAM_MAXLEN) -> None:
        self._lock = threading.Lock()
        self._appended = threading.Condition(self._lock)
        self._maxlen = stream_maxlen
        self._latest: dict[int, tuple[float, bytes]] = {}  # serialised, like Redis: no shared state
        self._streams: dict[str, deque[tuple[str, dict[str, Any]]]] = {}
        self._ids = count(1)
        self._counters: dict[str, int] = {}
        self._views: dict[str, bytes] = {}
        self._memory: dict[str, dict[int, bytes]] = {}

    def ping(self) -> bool:
        """Return True: memory always answers."""
        return True

    def put_readings(self, readings: Sequence[LiveReading]) -> list[bool]:
        """Store readings newer than the stored ones; return which were applied."""
        applied = []
        with self._lock:
            for reading in readings:
                current = self._latest.get(reading.device_id)
                if current is not None and current[0] >= reading.ts:
                    applied.append(False)
                    continue
                self._latest[reading.device_id] = (reading.ts, reading.as_json())
                applied.append(True)
        return applied

    def latest(self, device_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """Return the latest reading of each device that has one."""
        with self._lock:
            return {i: orjson.loads(self._latest[i][1]) for i in device_ids if i in self._latest}

    def last_seen(self) -> dict[int, float]:
        """Return each reporting device's latest device time."""
        with self._lock:
            return {i: ts for i, (ts, _) in self._latest.items()}

    def append_event(self, stream: str, event: dict[str, Any], maxlen: int | None = None) -> str:
        """Append an event to a named, capped stream (at `maxlen`, or the store's) and return its id."""
        with self._lock:
            event_id = f"{next(self._ids)}-0"
            self._streams.setdefault(stream, deque(maxlen=maxlen or self._maxlen)).append(
                (event_id, dict(event))
            )
            self._appended.notify_all()
            return event_id

    def read_events(
        self, stream: str, after: str = "0", limit: int = 100
    ) -> list[tuple[str, dict[str, Any]]]:
        """Return up to limit events after the id, oldest first."""
        after_n = _id_number(after)
        with self._lock:
            events = self._streams.get(stream, ())
            newer = [(i, dict(e)) for i, e in events if _id_number(i) > after_n]
        return newer[:limit]

    def wait_events(self, stream: str, after: str, timeout_s: float) -> bool:
        """Block until the stream has an event after the id or the timeout passes; tell which."""
        after_n = _id_number(after)

        def newer() -> bool:
            events = self._streams.get(stream)
            return bool(events) and _id_number(events[-1][0]) > after_n

        with self._appended:
            return self._appended.wait_for(newer, timeout=timeout_s)

    def last_event_id(self, stream: str) -> str:
        """Return the id of the stream's newest event, or "0" when it has none."""
        with self._lock:
            events = self._streams.get(stream)
            return events[-1][0] if events else "0"

    def incr(self, counter: str, amount: int = 1) -> int:
        """Add to a named counter and return its value."""
        with self._lock:
            self._counters[counter] = self._counters.get(counter, 0) + amount
            return self._counters[counter]

    def counters(self) -> dict[str, int]:
        """Return all counters."""
        with self._lock:
            return dict(self._counters)

    def set_view(self, name: str, payload: bytes) -> None:
        """Publish a serialised view model under its name."""
        with self._lock:
            self._views[name] = payload

    def get_view(self, name: str) -> bytes | None:
        """Return a published view model, or None."""
        with self._lock:
            return self._views.get(name)

    def get_view_tails(self, names: Sequence[str], size: int) -> list[bytes | None]:
        """Return the last `size` bytes of each published view (None when absent), at once."""
        with self._lock:
            found = [self._views.get(name) for name in names]
        return [raw[-size:] if raw else None for raw in found]

    def get_views(self, names: Sequence[str]) -> list[bytes | None]:
        """Return each published view whole (None when absent), at once."""
        with self._lock:
            return [self._views.get(name) for name in names]

    def save_rule_memory(self, rule: str, items: Mapping[int, bytes]) -> None:
        """Keep what a streaming rule remembers per object."""
        with self._lock:
            self._memory.setdefault(rule, {}).update(items)

    def load_rule_memory(self, rule: str) -> dict[int, bytes]:
        """Return everything a streaming rule remembered, by object id."""
        with self._lock:
            return dict(self._memory.get(rule, {}))

    def forget_rule_memory(self, rule: str, ids: Iterable[int]) -> None:
        """Drop what a streaming rule remembered about these objects."""
        with self._lock:
            memory = self._memory.get(rule, {})
            for object_id in ids:
                memory.pop(object_id, None)

    def clear(self) -> None:
        """Forget all live state."""
        with self._lock:
            self._latest.clear()
            self._streams.clear()
            self._counters.clear()
            self._views.clear()
            self._memory.clear()


def _id_number(event_id: str) -> tuple[int, int]:
    """Order stream ids of the form 'ms-seq' numerically."""
    head, _, tail = event_id.partition("-")
    return int(head or 0), int(tail or 0)


# Compare-and-set in one round trip, so two ingest processes cannot move a device's state backwards.
# The batch travels as one argument of "device\tts\tbody" lines and the answer as one string of
# 0/1 flags: packing and parsing thousands of separate values costs the client more than Redis.
_PUT_READINGS = """
local data = ARGV[1]
local applied = {}
local pos = 1
while pos <= #data do
  local line_end = string.find(data, "\\n", pos, true) or (#data + 1)
  local tab1 = string.find(data, "\\t", pos, true)
  local tab2 = string.find(data, "\\t", tab1 + 1, true)
  local device = string.sub(data, pos, tab1 - 1)
  local stamp = string.sub(data, tab1 + 1, tab2 - 1)
  local current = redis.call('HGET', KEYS[1], device)
  if current and tonumber(current) >= tonumber(stamp) then
    applied[#applied + 1] = '0'
  else
    redis.call('HSET', KEYS[1], device, stamp)
    redis.call('HSET', KEYS[2], device, string.sub(data, tab2 + 1, line_end - 1))
    applied[#applied + 1] = '1'
  end
  pos = line_end + 1
end
return table.concat(applied)
"""


class RedisLiveStore:
    """Hold live state in Redis: hashes for latest values, streams for events, keys for views."""

    def __init__(self, client: Any, street: str, stream_maxlen: int = STREAM_MAXLEN) -> None:
        self._redis = client
        self._prefix = f"cockpit:{street}:"
        self._maxlen = stream_maxlen
        self._put_script = client.register_script(_PUT_READINGS)
        self._street = street

    @property
    def client(self) -> Any:
        """Return the Redis client, for parts that keep keys of their own under the street."""
        return self._redis

    @property
    def street(self) -> str:
        """Return the street code that namespaces this store's keys (`cockpit:<street>:`)."""
        return self._street

    @classmethod
    def from_url(cls, url: str, street: str) -> RedisLiveStore:
        """Connect to the Redis server at the URL."""
        import redis

        return cls(redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=3), street)

    def _key(self, name: str) -> str:
        return self._prefix + name

    def _call(self, fn, *args, **kwargs):
        """Run a Redis call, turning connection trouble into LiveStoreError."""
        import redis

        try:
            return fn(*args, **kwargs)
        except redis.RedisError as exc:
            raise LiveStoreError(f"Redis: {exc}") from exc

    def ping(self) -> bool:
        """Return True when Redis answers."""
        try:
            return bool(self._call(self._redis.ping))
        except LiveStoreError:
            return False

    def put_readings(self, readings: Sequence[LiveReading]) -> list[bool]:
        """Store readings newer than the stored ones, in one round trip; return which were applied."""
        if not readings:
            return []
        # JSON escapes every control character inside strings, so no body holds a tab or newline.
        batch = b"\n".join(
            b"%d\t%s\t%s" % (r.device_id, repr(r.ts).encode(), r.as_json()) for r in readings
        )
        result = self._call(
            self._put_script, keys=[self._key("latest_ts"), self._key("latest")], args=[batch]
        )
        return [flag == ord("1") for flag in result]

    def latest(self, device_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """Return the latest reading of each device that has one."""
        ids = list(device_ids)
        if not ids:
            return {}
        values = self._call(self._redis.hmget, self._key("latest"), ids)
        return {i: orjson.loads(v) for i, v in zip(ids, values, strict=True) if v is not None}

    def last_seen(self) -> dict[int, float]:
        """Return each reporting device's latest device time."""
        raw = self._call(self._redis.hgetall, self._key("latest_ts"))
        return {int(k): float(v) for k, v in raw.items()}

    def append_event(self, stream: str, event: dict[str, Any], maxlen: int | None = None) -> str:
        """Append an event to a named, capped stream (at `maxlen`, or the store's) and return its id."""
        event_id = self._call(
            self._redis.xadd,
            self._key(f"stream:{stream}"),
            {"data": orjson.dumps(event)},
            maxlen=maxlen or self._maxlen,
            approximate=True,
        )
        return event_id.decode() if isinstance(event_id, bytes) else str(event_id)

    def read_events(
        self, stream: str, after: str = "0", limit: int = 100
    ) -> list[tuple[str, dict[str, Any]]]:
        """Return up to limit events after the id, oldest first."""
        if limit <= 0:
            return []
        rows = self._call(
            self._redis.xrange,
            self._key(f"stream:{stream}"),
            min=f"({after}" if after != "0" else "-",
            count=limit,
        )
        return [
            (i.decode() if isinstance(i, bytes) else i, orjson.loads(fields[b"data"]))
            for i, fields in rows
        ]

    def wait_events(self, stream: str, after: str, timeout_s: float) -> bool:
        """Block on XREAD until the stream has an event after the id or the timeout passes."""
        block_ms = max(1, int(min(timeout_s, 4.0) * 1000))
        key = self._key(f"stream:{stream}")
        # The client's socket timeout must outlast the server-side block.
        rows = self._call(
            self._redis.xread, {key: after if after != "0" else "0-0"}, count=1, block=block_ms
        )
        return bool(rows)

    def last_event_id(self, stream: str) -> str:
        """Return the id of the stream's newest event, or "0" when it has none."""
        rows = self._call(self._redis.xrevrange, self._key(f"stream:{stream}"), count=1)
        if not rows:
            return "0"
        event_id = rows[0][0]
        return event_id.decode() if isinstance(event_id, bytes) else str(event_id)

    def incr(self, counter: str, amount: int = 1) -> int:
        """Add to a named counter and return its value."""
        return int(self._call(self._redis.hincrby, self._key("counters"), counter, amount))

    def counters(self) -> dict[str, int]:
        """Return all counters."""
        raw = self._call(self._redis.hgetall, self._key("counters"))
        return {k.decode(): int(v) for k, v in raw.items()}

    def set_view(self, name: str, payload: bytes) -> None:
        """Publish a serialised view model under its name."""
        self._call(self._redis.set, self._key(f"view:{name}"), payload)

    def get_view(self, name: str) -> bytes | None:
        """Return a published view model, or None."""
        return self._call(self._redis.get, self._key(f"view:{name}"))

    def get_view_tails(self, names: Sequence[str], size: int) -> list[bytes | None]:
        """Return the last `size` bytes of each published view (None when absent), at once.

        One round trip of GETRANGEs: a screen's refresh learns every view's version from its
        tail (callbacks/shell.py) and fetches whole only the views that changed, instead of
        reading some 600 KB to find that nothing did.
        """
        pipe = self._redis.pipeline(transaction=False)
        for name in names:
            pipe.getrange(self._key(f"view:{name}"), -size, -1)
        return [tail or None for tail in self._call(pipe.execute)]

    def get_views(self, names: Sequence[str]) -> list[bytes | None]:
        """Return each published view whole (None when absent), in one MGET."""
        if not names:
            return []
        return self._call(self._redis.mget, [self._key(f"view:{name}") for name in names])

    def save_rule_memory(self, rule: str, items: Mapping[int, bytes]) -> None:
        """Keep what a streaming rule remembers per object, in one hash per rule."""
        if items:
            self._call(self._redis.hset, self._key(f"rules:{rule}"), mapping=dict(items))

    def load_rule_memory(self, rule: str) -> dict[int, bytes]:
        """Return everything a streaming rule remembered, by object id."""
        raw = self._call(self._redis.hgetall, self._key(f"rules:{rule}"))
        return {int(k): v for k, v in raw.items()}

    def forget_rule_memory(self, rule: str, ids: Iterable[int]) -> None:
        """Drop what a streaming rule remembered about these objects, in one HDEL."""
        fields = [str(object_id) for object_id in ids]
        if fields:
            self._call(self._redis.hdel, self._key(f"rules:{rule}"), *fields)

    def clear(self) -> None:
        """Forget all live state of this street."""
        # scan_iter is lazy: list it inside _call so connection errors surface as LiveStoreError.
        keys = self._call(lambda: list(self._redis.scan_iter(match=self._prefix + "*", count=1000)))
        if keys:
            self._call(self._redis.delete, *keys)


def make_live_store(redis_url: str | None, street: str) -> LiveStore:
    """Return the Redis live store when a URL is set, else the in-process one."""
    if redis_url:
        return RedisLiveStore.from_url(redis_url, street)
    return InProcessLiveStore()
