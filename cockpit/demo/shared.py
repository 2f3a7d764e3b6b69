"""Share demo rooms between web processes through Redis: one visitor's demo is one demo.

    rooms = make_demo_rooms(settings, engine, live, stop_event, key_of)  # shared when live is Redis
    rooms.open(key)                  # the visitor's room: this process's own, or a RemoteRoom
    rooms.read_raw_current("demo")   # the visitor's view, from whichever process plays the room

Any web process may own rooms. The owner plays the room as the embedded default does (its
street file, clock and threads) and holds a claim on it, a Redis key with a TTL its watch thread
refreshes; it copies the views the room shows into the room's namespace (cockpit/demo/mirror.py)
and takes the room's commands from its inbox list. Every other process reads the room's views
from Redis and sends commands to the owner's inbox, waiting for the answer. Capacity, the least
recently used room and idle expiry are kept in one sorted set of rooms for all processes, changed
only by Lua scripts, so two processes never give out the same place. An owner that dies stops
refreshing its claim; once the claim expires the next request for the room, on any process,
reopens it there: the visitor sees "preparing" and a fresh demo of their own.

Keys, under the street's prefix `cockpit:<street>:demo:`:
    rooms             sorted set: visitor key → last use (epoch seconds)
    owner:<key>       the owning process's id, expiring after CLAIM_TTL_S unless refreshed
    closed:<key>      set when a room closed (idle, taken by a newcomer), for a day
    room:<key>:…      the room's views (a RedisLiveStore namespace) and its mode
    inbox:<owner>     commands for an owner; reply:<id> their answers
The scripts touch keys they compute, which standalone Redis allows (not Redis Cluster).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from datetime import date
from functools import partial
from typing import Any

import orjson

from cockpit.demo.captions import DEMO_VIEW, PREPARING, REPLAY
from cockpit.demo.controller import REPLAY_VIEWS, DemoController, DemoError
from cockpit.demo.mirror import RoomMirror
from cockpit.demo.rooms import (
    BUSY_S,
    CAPACITY,
    CLOSED,
    IDLE_S,
    DemoRooms,
    Room,
    closed_view,
    notice_view,
)
from cockpit.live import LiveStore, LiveStoreError, RedisLiveStore
from cockpit.settings import Settings

log = logging.getLogger(__name__)

# A claim outlives a few missed refreshes (a busy process), and a dead owner's visitors wait
# at most this long before their room is reopened elsewhere.
CLAIM_TTL_S = 15.0
HEARTBEAT_S = 3.0
# How long a command waits for the owner's answer before the bar says the room did not answer.
REPLY_TIMEOUT_S = 8.0
ENSURE_TIMEOUT_S = 2.0
# Blocking reads wait at most this long at a time: under the client's socket timeout (5 s),
# and short enough that a stopping process leaves within a second.
BLOCK_S = 1.0
# The owner's own reads mark the room used at most this often (remote reads mark it each time).
TOUCH_EVERY_S = 5.0
REMEMBER_CLOSED_S = 24 * 3600
MODE = "mode"

# Give the key its room or tell who holds it: 'held' + owner, 'opened' or 'full' + the keys of
# the rooms closed to make place (idle ones, or the least recently used one idle for busy_s).
_CLAIM = """
local rooms, prefix = KEYS[1], ARGV[8]
local key, owner, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local capacity, busy, idle = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local holder = redis.call('GET', prefix .. 'owner:' .. key)
if holder then
  redis.call('ZADD', rooms, 'XX', ARGV[3], key)
  return {'held', holder}
end
local out = {'opened', ''}
local function close(k)
  redis.call('ZREM', rooms, k)
  redis.call('DEL', prefix .. 'owner:' .. k)
  redis.call('SET', prefix .. 'closed:' .. k, '1', 'EX', ARGV[9])
  out[#out + 1] = k
end
for _, k in ipairs(redis.call('ZRANGEBYSCORE', rooms, '-inf', tostring(now - idle))) do
  if k ~= key then close(k) end
end
if not redis.call('ZSCORE', rooms, key) and redis.call('ZCARD', rooms) >= capacity then
  local lru = redis.call('ZRANGEBYSCORE', rooms, '-inf', tostring(now - busy), 'LIMIT', 0, 1)
  if #lru == 0 then
    out[1] = 'full'
    return out
  end
  close(lru[1])
end
redis.call('ZADD', rooms, ARGV[3], key)
redis.call('SET', prefix .. 'owner:' .. key, owner, 'PX', ARGV[7])
redis.call('DEL', prefix .. 'closed:' .. key)
return out
"""

# Close every room idle for idle_s (whoever owned it, dead or alive); return their keys.
_SWEEP = """
local rooms, prefix = KEYS[1], ARGV[2]
local out = {}
for _, k in ipairs(redis.call('ZRANGEBYSCORE', rooms, '-inf', ARGV[1])) do
  redis.call('ZREM', rooms, k)
  redis.call('DEL', prefix .. 'owner:' .. k)
  redis.call('SET', prefix .. 'closed:' .. k, '1', 'EX', ARGV[3])
  out[#out + 1] = k
end
return out
"""

# Refresh the owner's claims; return the keys it no longer holds (taken, expired, closed).
_HEARTBEAT = """
local owner, ttl, prefix = ARGV[1], ARGV[2], ARGV[3]
local lost = {}
for i = 4, #ARGV do
  local claim = prefix .. 'owner:' .. ARGV[i]
  if redis.call('GET', claim) == owner then
    redis.call('PEXPIRE', claim, ttl)
  else
    lost[#lost + 1] = ARGV[i]
  end
end
return lost
"""

# Give up the owner's claim on a room; closed=1 also takes it off the rooms and remembers why.
_RELEASE = """
local rooms, prefix = KEYS[1], ARGV[3]
local claim = prefix .. 'owner:' .. ARGV[2]
if redis.call('GET', claim) ~= ARGV[1] then
  return 0
end
redis.call('DEL', claim)
if ARGV[4] == '1' then
  redis.call('ZREM', rooms, ARGV[2])
  redis.call('SET', prefix .. 'closed:' .. ARGV[2], '1', 'EX', ARGV[5])
end
return 1
"""


class RoomUnreachableError(DemoError):
    """Say the process playing the room did not answer a command in time."""


def _text(value: Any) -> str | None:
    """Return a Redis answer as text (None stays None)."""
    return value.decode() if isinstance(value, bytes) else value


class RedisRoomBoard:
    """Keep who owns which room, each room's last use and closures in Redis, for all processes."""

    def __init__(
        self,
        client: Any,
        street: str,
        *,
        capacity: int = CAPACITY,
        idle_s: float = IDLE_S,
        busy_s: float = BUSY_S,
        claim_ttl_s: float = CLAIM_TTL_S,
        now: Callable[[], float] = time.time,
    ) -> None:
        if capacity < 1:
            raise ValueError("a demo needs at least one room")
        self.client = client
        self.street = street
        self.capacity = capacity
        self.idle_s = idle_s
        self.busy_s = busy_s
        self.claim_ttl_s = claim_ttl_s
        self.now = now
        self.prefix = f"cockpit:{street}:demo:"
        self.rooms_key = self.prefix + "rooms"
        self._claim = client.register_script(_CLAIM)
        self._sweep = client.register_script(_SWEEP)
        self._heartbeat = client.register_script(_HEARTBEAT)
        self._release = client.register_script(_RELEASE)

    def _call(self, fn, *args, **kwargs):
        """Run a Redis call, turning connection trouble into LiveStoreError."""
        import redis

        try:
            return fn(*args, **kwargs)
        except redis.RedisError as exc:
            raise LiveStoreError(f"Redis: {exc}") from exc

    def views(self, key: str) -> RedisLiveStore:
        """Return the room's namespace of views (`cockpit:<street>:demo:room:<key>:`)."""
        return RedisLiveStore(self.client, f"{self.street}:demo:room:{key}")

    def _mode_key(self, key: str) -> str:
        return f"{self.prefix}room:{key}:{MODE}"

    def claim(self, key: str, owner: str) -> tuple[str, str | None, list[str]]:
        """Return ('held', owner, []) for a room someone holds, else ('opened' | 'full', None,
        keys of the rooms closed to make place); 'opened' means this owner holds it now."""
        answer = self._call(
            self._claim,
            keys=[self.rooms_key],
            args=[
                key,
                owner,
                repr(self.now()),
                self.capacity,
                repr(self.busy_s),
                repr(self.idle_s),
                int(self.claim_ttl_s * 1000),
                self.prefix,
                REMEMBER_CLOSED_S,
            ],
        )
        state, holder, *closed = (_text(v) for v in answer)
        if state == "held":
            return state, holder, []
        return state, None, closed

    def holder(self, key: str) -> str | None:
        """Return the id of the process holding the room (and mark the room used), or None."""
        pipe = self.client.pipeline(transaction=False)
        pipe.get(self.prefix + "owner:" + key)
        pipe.zadd(self.rooms_key, {key: self.now()}, xx=True)
        return _text(self._call(pipe.execute)[0])

    def known(self, key: str) -> bool:
        """Tell whether the key names an open room (held now, or waiting to be reopened)."""
        return self._call(self.client.zscore, self.rooms_key, key) is not None

    def touch(self, key: str) -> None:
        """Mark the room used now."""
        self._call(self.client.zadd, self.rooms_key, {key: self.now()}, xx=True)

    def look(self, key: str, name: str) -> tuple[str | None, bool, bool, str | None, bytes | None]:
        """Return (holder, closed, known, mode, view) for a read of the room's view, in one
        round trip that also marks the room used."""
        pipe = self.client.pipeline(transaction=False)
        pipe.get(self.prefix + "owner:" + key)
        pipe.exists(self.prefix + "closed:" + key)
        pipe.zscore(self.rooms_key, key)
        pipe.get(self._mode_key(key))
        pipe.get(f"{self.prefix}room:{key}:view:{name}")
        pipe.zadd(self.rooms_key, {key: self.now()}, xx=True)
        holder, closed, score, mode, view, _ = self._call(pipe.execute)
        return _text(holder), bool(closed), score is not None, _text(mode), view

    def heartbeat(self, owner: str, keys: list[str]) -> list[str]:
        """Refresh the owner's claims on the keys; return the ones it lost."""
        if not keys:
            return []
        lost = self._call(
            self._heartbeat,
            args=[owner, int(self.claim_ttl_s * 1000), self.prefix, *keys],
        )
        return [_text(k) for k in lost]

    def idle(self, keys: list[str]) -> list[str]:
        """Return the keys whose rooms nobody used for idle_s (or that are no longer rooms)."""
        if not keys:
            return []
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            pipe.zscore(self.rooms_key, key)
        limit = self.now() - self.idle_s
        scores = self._call(pipe.execute)
        return [k for k, s in zip(keys, scores, strict=True) if s is None or s <= limit]

    def sweep(self) -> list[str]:
        """Close every room idle for idle_s, also those of dead owners; return their keys."""
        closed = self._call(
            self._sweep,
            keys=[self.rooms_key],
            args=[repr(self.now() - self.idle_s), self.prefix, REMEMBER_CLOSED_S],
        )
        return [_text(k) for k in closed]

    def release(self, key: str, owner: str, *, closed: bool) -> bool:
        """Give up the owner's claim; closed: the room ends (else another process may reopen
        it). Return whether the owner still held it."""
        released = self._call(
            self._release,
            keys=[self.rooms_key],
            args=[owner, key, self.prefix, "1" if closed else "0", REMEMBER_CLOSED_S],
        )
        return bool(released)

    def was_closed(self, key: str) -> bool:
        """Tell whether the key's room was closed (idle, or given to a newcomer)."""
        return bool(self._call(self.client.exists, self.prefix + "closed:" + key))

    def clear_room(self, key: str) -> None:
        """Remove the room's views and mode (a fresh owner starts from nothing)."""
        self.views(key).clear()

    def keys(self) -> list[str]:
        """Return the keys of all open rooms, least recently used first."""
        return [_text(k) for k in self._call(self.client.zrange, self.rooms_key, 0, -1)]


class RoomViews:
    """Write one room's views and mode into its Redis namespace (a RoomMirror's sink)."""

    def __init__(self, board: RedisRoomBoard, key: str) -> None:
        self.board = board
        self.key = key
        self.store = board.views(key)

    def put(self, views: dict[str, bytes], mode: str) -> None:
        """Write the views and the room's mode in one round trip."""
        pipe = self.board.client.pipeline(transaction=False)
        for name, payload in views.items():
            pipe.set(f"{self.board.prefix}room:{self.key}:view:{name}", payload)
        pipe.set(self.board._mode_key(self.key), mode)
        self.board._call(pipe.execute)

    def clear(self) -> None:
        """Remove every view of the room."""
        self.board.clear_room(self.key)


class Mailbox:
    """Carry commands to a room's owner through Redis lists and bring back the answer."""

    def __init__(
        self,
        board: RedisRoomBoard,
        owner: str,
        *,
        timeout_s: float = REPLY_TIMEOUT_S,
        block_s: float = BLOCK_S,
    ) -> None:
        self.board = board
        self.owner = owner
        self.timeout_s = timeout_s
        self.block_s = block_s

    def _inbox(self, owner: str) -> str:
        return self.board.prefix + "inbox:" + owner

    def call(
        self,
        owner: str,
        key: str,
        command: str,
        args: dict[str, Any] | None = None,
        timeout_s: float | None = None,
    ) -> Any:
        """Send a command to the owner of the key's room; return its result or raise DemoError
        (refused there) or RoomUnreachableError (no answer in time)."""
        client, board = self.board.client, self.board
        timeout_s = self.timeout_s if timeout_s is None else timeout_s
        reply = f"{board.prefix}reply:{secrets.token_hex(8)}"
        message = {
            "key": key,
            "command": command,
            "args": args or {},
            "reply": reply,
            "sent": time.time(),
        }
        pipe = client.pipeline(transaction=False)
        pipe.rpush(self._inbox(owner), orjson.dumps(message))
        # An inbox whose owner died holds nothing for long.
        pipe.expire(self._inbox(owner), int(self.timeout_s * 4))
        board._call(pipe.execute)
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            answer = board._call(client.blpop, [reply], timeout=min(left, self.block_s))
            if answer is not None:
                data = orjson.loads(answer[1])
                if "error" in data:
                    raise DemoError(data["error"])
                return data.get("result")
        raise RoomUnreachableError(
            "the web process playing your demo did not answer; reload the page"
        )

    def serve(self, stop: threading.Event, handle: Callable[[str, str, dict], Any]) -> None:
        """Answer this owner's commands until stopped; a command its sender gave up on is
        dropped, never applied late."""
        client, board = self.board.client, self.board
        failing = False
        while not stop.is_set():
            try:
                item = board._call(client.blpop, [self._inbox(self.owner)], timeout=self.block_s)
            except LiveStoreError as exc:
                if not failing:
                    log.warning("demo commands cannot be received (%s); retrying", exc)
                failing = True
                stop.wait(self.block_s)
                continue
            failing = False
            if item is None:
                continue
            message = orjson.loads(item[1])
            if time.time() - message["sent"] > self.timeout_s:
                continue
            try:
                answer = {"result": handle(message["key"], message["command"], message["args"])}
            except (DemoError, ValueError) as exc:
                answer = {"error": str(exc)}
            except Exception:
                log.exception("demo command %s failed", message["command"])
                answer = {"error": "the demo room failed to do it"}
            try:
                pipe = client.pipeline(transaction=False)
                pipe.rpush(message["reply"], orjson.dumps(answer))
                pipe.expire(message["reply"], int(self.timeout_s) + 1)
                board._call(pipe.execute)
            except LiveStoreError as exc:
                log.warning("demo command answer lost: %s", exc)


# What an owner does for a command from another process: the controller's method, by name.
COMMANDS: dict[str, Callable[[DemoController, dict], Any]] = {
    "toggle": lambda demo, _args: demo.toggle(),
    "play": lambda demo, _args: demo.play(),
    "pause": lambda demo, _args: demo.pause(),
    "restart": lambda demo, _args: demo.restart(),
    "set_speed": lambda demo, args: demo.set_speed(float(args["speed"])),
    "scripted": lambda demo, _args: demo.scripted(),
    "replay": lambda demo, args: demo.replay(date.fromisoformat(args["day"])),
    "status": lambda demo, _args: demo.status(),
    "ensure_started": lambda demo, _args: {
        "ready": demo.ensure_started(),
        "failure": demo.failure,
    },
}


class RemoteRoom:
    """Stand for a room another web process plays: commands go to it, views come from Redis."""

    def __init__(self, rooms: SharedDemoRooms, key: str, owner: str) -> None:
        self.rooms = rooms
        self.key = key
        self.owner = owner
        self.failure: str | None = None

    def _call(self, command: str, timeout_s: float | None = None, **args: Any) -> Any:
        try:
            return self.rooms.mailbox.call(self.owner, self.key, command, args, timeout_s)
        except LiveStoreError as exc:
            raise RoomUnreachableError(f"the demo rooms cannot be reached ({exc})") from exc

    def ensure_started(self) -> bool:
        """Tell whether the room plays (the owner starts preparing it if nothing does)."""
        try:
            # Short: a page load must not hang on an owner that died and has not expired yet.
            answer = self._call("ensure_started", timeout_s=ENSURE_TIMEOUT_S)
        except RoomUnreachableError:
            return False  # "preparing": the page asks again, and a dead owner's room reopens
        self.failure = answer["failure"]
        return bool(answer["ready"])

    def toggle(self) -> str | None:
        """Pause when playing, play when paused; return what was done."""
        return self._call("toggle")

    def play(self) -> None:
        """Resume the clock."""
        self._call("play")

    def pause(self) -> None:
        """Stop the clock where it is."""
        self._call("pause")

    def restart(self) -> None:
        """Play the day again from its start."""
        self._call("restart")

    def set_speed(self, speed: float) -> None:
        """Play at one of the offered speeds (the owner refuses others)."""
        self._call("set_speed", speed=speed)

    def scripted(self) -> None:
        """Switch to the scripted day."""
        self._call("scripted")

    def replay(self, day: date) -> None:
        """Switch to replaying a recorded day."""
        self._call("replay", day=day.isoformat())

    def status(self) -> str:
        """Return the player's state as the owner knows it."""
        return self._call("status")

    def read_raw(self, name: str) -> bytes | None:
        """Return one of the room's views, from Redis."""
        return self.rooms.read_raw_of(self.key, name)

    def read_view(self, name: str) -> dict[str, Any] | None:
        """Return one of the room's views, parsed, or None."""
        raw = self.read_raw(name)
        return orjson.loads(raw) if raw else None


def owner_id() -> str:
    """Return an id for this process's rooms, unique across hosts, processes and restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class SharedDemoRooms(DemoRooms):
    """Hold the rooms this process owns and reach the others' through Redis (see module doc)."""

    def __init__(
        self,
        make_controller: Callable[[RoomMirror], DemoController],
        stop_event: threading.Event,
        *,
        board: RedisRoomBoard,
        recorded_live: LiveStore,
        key_of: Callable[[], str | None] = lambda: None,
        owner: str | None = None,
        heartbeat_s: float = HEARTBEAT_S,
        sweep_every_s: float = 30.0,
        reply_timeout_s: float = REPLY_TIMEOUT_S,
    ) -> None:
        # Set before the base class starts the watch thread, which uses them.
        self.board = board
        self.owner = owner or owner_id()
        self.mailbox = Mailbox(board, self.owner, timeout_s=reply_timeout_s)
        self.recorded_live = recorded_live
        self.make_room = make_controller
        self.heartbeat_s = heartbeat_s
        self._opening = threading.Lock()
        super().__init__(
            lambda: None,  # unused: rooms are made with their mirror by make_room
            stop_event,
            capacity=board.capacity,
            idle_s=board.idle_s,
            busy_s=board.busy_s,
            key_of=key_of,
            now=board.now,
            sweep_every_s=sweep_every_s,
        )
        threading.Thread(
            target=self.mailbox.serve,
            args=(stop_event, self._handle),
            name="demo-rooms-mailbox",
            daemon=True,
        ).start()
        # A gunicorn worker that exits (restarted, scaled down) hands its rooms over at once
        # instead of leaving its visitors on a frozen demo until the claims expire.
        atexit.register(self._release_claims)

    # -- rooms -----------------------------------------------------------------------------------

    def open(self, key: str) -> DemoController | RemoteRoom | None:  # type: ignore[override]
        """Return the key's room: this process's, another's, or a new one here; None when every
        room of every process is busy (or this process stopped)."""
        with self._opening:
            local = self._local(key)
            if local is not None or self._stopped:
                return local
            for _ in range(2):
                state, holder, closed = self.board.claim(key, self.owner)
                self._closed_elsewhere(closed)
                if state == "full":
                    return None
                if state == "held" and holder != self.owner:
                    return RemoteRoom(self, key, holder)
                if state == "opened":
                    return self._open_here(key)
                # Our own stale claim (a room stopped here whose release failed): drop it, retry.
                self.board.release(key, self.owner, closed=False)
            return None

    def get(self, key: str | None) -> DemoController | RemoteRoom | None:  # type: ignore[override]
        """Return the key's room wherever it plays (and count this as its use); None if none."""
        if not key:
            return None
        local = self._local(key)
        if local is not None:
            return local
        try:
            holder = self.board.holder(key)
        except LiveStoreError as exc:
            log.warning("demo room %s cannot be looked up: %s", key[:8], exc)
            return None
        return RemoteRoom(self, key, holder) if holder and holder != self.owner else None

    def holds(self, key: str | None) -> bool:
        """Tell whether the key names an open room in any process (or one to reopen)."""
        if not key:
            return False
        with self._lock:
            if key in self._rooms:
                return True
        return self.board.known(key)

    def absence(self, key: str | None) -> str:
        """Say why the key has no room: it closed (no process holds rooms "elsewhere" here)."""
        return CLOSED

    def close_idle(self) -> int:
        """Close the rooms nobody used for idle_s, here and those dead owners left; return how
        many of this process's closed."""
        with self._lock:
            mine = list(self._rooms)
        idle = self.board.idle(mine)
        for key in idle:
            self.board.release(key, self.owner, closed=True)
        for key in self.board.sweep():
            if key not in mine:
                self.board.clear_room(key)
        with self._lock:
            leaving = [self._pop(key) for key in idle if key in self._rooms]
        self._close(leaving)
        for room in leaving:
            self.board.clear_room(room.key)
        return len(leaving)

    def stop(self) -> None:
        """Stop every room here and give up their claims, so another process reopens them."""
        with self._lock:
            self._stopped = True
            leaving = [self._pop(key) for key in list(self._rooms)]
        for room in leaving:
            with contextlib.suppress(LiveStoreError):  # else the claim expires by itself
                self.board.release(room.key, self.owner, closed=False)
        self._close(leaving)

    def _release_claims(self) -> None:
        """Give up every claim this process holds (at exit), leaving the rooms to be reopened."""
        with self._lock:
            mine = list(self._rooms)
        for key in mine:
            with contextlib.suppress(LiveStoreError):
                self.board.release(key, self.owner, closed=False)

    # -- the current request's visitor -----------------------------------------------------------

    def read_raw_current(self, name: str) -> bytes | None:
        """Return a view from the current visitor's room, wherever it plays; nothing when they
        have none (a closed room's `demo` view says so)."""
        key = self.key_of()
        if not key:
            return None
        try:
            return self.read_raw_of(key, name)
        except LiveStoreError as exc:
            log.warning("demo room %s unreadable: %s", key[:8], exc)
            return None

    def read_raw_of(self, key: str, name: str) -> bytes | None:
        """Return a view of the key's room; reopen it here when its owner died."""
        local = self._local(key)
        if local is not None:
            return local.read_raw(name) or (preparing_view() if name == DEMO_VIEW else None)
        holder, closed, known, mode, view = self.board.look(key, name)
        if holder:
            if mode == REPLAY and name not in REPLAY_VIEWS:
                return self.recorded_live.get_view(name)  # a replay shows the recorded street
            return view
        if closed:
            return closed_view() if name == DEMO_VIEW else None
        if not known or self._stopped:
            return None
        # Its owner died (no claim, not closed): open it again here, fresh.
        log.info("demo room %s lost its process; reopening it here", key[:8])
        room = self.open(key)
        if isinstance(room, DemoController):
            room.ensure_started()
        return preparing_view() if name == DEMO_VIEW else None

    # -- inside ----------------------------------------------------------------------------------

    def _local(self, key: str) -> DemoController | None:
        """Return this process's room for the key, marking it used in Redis now and then."""
        with self._lock:
            room = self._rooms.get(key)
            if room is None:
                return None
            now = self.now()
            due = now - room.used >= TOUCH_EVERY_S
            if due:
                room.used = now
        if due:
            with contextlib.suppress(LiveStoreError):  # the next read marks it
                self.board.touch(key)
        return room.controller

    def _open_here(self, key: str) -> DemoController:
        """Start a room this process has just claimed, from a clean namespace."""
        self.board.clear_room(key)
        controller = self.make_room(RoomMirror(RoomViews(self.board, key)))
        with self._lock:
            self._rooms[key] = Room(key, controller, self.now())
        log.info("opened demo room %s here (%s)", key[:8], self.owner)
        return controller

    def _closed_elsewhere(self, keys: list[str]) -> None:
        """Stop the local rooms among those the board just closed; clear their views."""
        with self._lock:
            leaving = [self._pop(key) for key in keys if key in self._rooms]
        self._close(leaving)
        for key in keys:
            self.board.clear_room(key)

    def _drop_lost(self, keys: list[str]) -> None:
        """Stop the local rooms whose claim another process took or that closed meanwhile."""
        with self._lock:
            leaving = [self._pop(key) for key in keys if key in self._rooms]
        for room in leaving:
            log.info("demo room %s is no longer this process's; stopping it", room.key[:8])
        self._close(leaving)
        for room in leaving:
            # Views it wrote after losing the claim are nobody's, unless someone reopened it.
            if self.board.holder(room.key) is None:
                self.board.clear_room(room.key)

    def _handle(self, key: str, command: str, args: dict) -> Any:
        """Apply a command another process sent for a room of this one."""
        with self._lock:
            room = self._rooms.get(key)
        if room is None:
            raise DemoError("this demo room is no longer open; reload the page")
        if command not in COMMANDS:
            raise DemoError(f"unknown demo command {command!r}")
        return COMMANDS[command](room.controller, args)

    def _watch(self, stop_event: threading.Event, every_s: float) -> None:
        """Refresh this process's claims; close idle rooms now and then; stop with the runtime."""
        failing = False
        last_sweep = time.monotonic()
        while not stop_event.wait(self.heartbeat_s):
            try:
                with self._lock:
                    mine = list(self._rooms)
                self._drop_lost(self.board.heartbeat(self.owner, mine))
                if time.monotonic() - last_sweep >= every_s:
                    last_sweep = time.monotonic()
                    self.close_idle()
                failing = False
            except LiveStoreError as exc:
                if not failing:
                    log.warning("demo room claims cannot be refreshed (%s); retrying", exc)
                failing = True
        self.stop()


def preparing_view() -> bytes:
    """Return the `demo` view of a room being (re)opened: the bar says it is being prepared."""
    return notice_view("demo_preparing", PREPARING, "room-preparing", preparing=True)


def make_demo_rooms(
    settings: Settings,
    engine: Any,
    live: LiveStore,
    stop_event: threading.Event,
    key_of: Callable[[], str | None],
) -> DemoRooms:
    """Return the demo rooms of this web process: shared through Redis when the live store is
    Redis (several web workers), else this process's own (the embedded default)."""
    if isinstance(live, RedisLiveStore):
        board = RedisRoomBoard(live.client, live.street, capacity=settings.demo_rooms)
        return SharedDemoRooms(
            lambda mirror: DemoController(settings, engine, live, mirror=mirror),
            stop_event,
            board=board,
            recorded_live=live,
            key_of=key_of,
        )
    return DemoRooms(
        partial(DemoController, settings, engine, live),
        stop_event,
        capacity=settings.demo_rooms,
        key_of=key_of,
    )
