"""Give each demo visitor a room of their own: a DemoController per visitor key, a few per process.

    rooms = DemoRooms(make_controller, runtime.stop_event, key_of=current_room_key)
    demo = rooms.open(key)           # the visitor's room, made on demand; None: all rooms busy
    rooms.read_raw_current("demo")   # what the current request's visitor watches, or None

A room closes after `idle_s` without a read or a command. A new visitor takes a free place, else
the least recently used room idle for `busy_s` or more; when every room was used within `busy_s`
the visitor is told to come back later and never gets someone else's room. Stopping the runtime
stops every room. These rooms live in one process (the embedded default, no Redis); with Redis,
cockpit/demo/shared.py's SharedDemoRooms extends them so every web worker serves every room.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from cockpit.demo.captions import DEMO_VIEW
from cockpit.demo.controller import DemoController
from cockpit.i18n import label

log = logging.getLogger(__name__)

CAPACITY = 3
IDLE_S = 15 * 60.0
BUSY_S = 60.0
SWEEP_EVERY_S = 30.0
# How many closed keys a process remembers, to tell "your room was closed" from "not here".
REMEMBERED_CLOSED = 256
CLOSED, ELSEWHERE = "closed", "elsewhere"


@dataclass(slots=True)
class Room:
    """Hold one visitor's controller and when it was last read or commanded."""

    key: str
    controller: DemoController
    used: float


class DemoRooms:
    """Hold up to `capacity` demo rooms keyed by visitor, open them on demand, close idle ones."""

    def __init__(
        self,
        make_controller: Callable[[], DemoController],
        stop_event: threading.Event,
        *,
        capacity: int = CAPACITY,
        idle_s: float = IDLE_S,
        busy_s: float = BUSY_S,
        key_of: Callable[[], str | None] = lambda: None,
        now: Callable[[], float] = time.monotonic,
        sweep_every_s: float = SWEEP_EVERY_S,
    ) -> None:
        if capacity < 1:
            raise ValueError("a demo needs at least one room")
        self.make_controller = make_controller
        self.capacity = capacity
        self.idle_s = idle_s
        self.busy_s = busy_s
        self.key_of = key_of
        self.now = now
        self._lock = threading.Lock()
        self._rooms: dict[str, Room] = {}
        self._closed: OrderedDict[str, None] = OrderedDict()
        self._stopped = False
        threading.Thread(
            target=self._watch,
            args=(stop_event, sweep_every_s),
            name="demo-rooms-watch",
            daemon=True,
        ).start()

    # -- rooms -----------------------------------------------------------------------------------

    def open(self, key: str) -> DemoController | None:
        """Return the key's room, opening one if needed; None when every room is busy (or the
        runtime stopped)."""
        leaving: list[Room] = []
        with self._lock:
            if self._stopped:
                return None
            now = self.now()
            room = self._rooms.get(key)
            if room is not None:
                room.used = now
                return room.controller
            leaving.extend(self._pop_idle(now))
            if len(self._rooms) >= self.capacity:
                free = [r for r in self._rooms.values() if now - r.used >= self.busy_s]
                if free:
                    leaving.append(self._pop(min(free, key=lambda r: r.used).key))
            if len(self._rooms) < self.capacity:
                room = Room(key, self.make_controller(), now)
                self._rooms[key] = room
                self._closed.pop(key, None)
        self._close(leaving)
        return None if room is None else room.controller

    def get(self, key: str | None) -> DemoController | None:
        """Return the key's room if this process holds it (and count this as its use)."""
        if not key:
            return None
        with self._lock:
            room = self._rooms.get(key)
            if room is None:
                return None
            room.used = self.now()
            return room.controller

    def holds(self, key: str | None) -> bool:
        """Tell whether this process holds a room for the key (without counting a use)."""
        with self._lock:
            return bool(key) and key in self._rooms

    def absence(self, key: str | None) -> str:
        """Say why the key has no room here: "closed" (idle or evicted here) or "elsewhere"."""
        with self._lock:
            return CLOSED if key and key in self._closed else ELSEWHERE

    def keys(self) -> list[str]:
        """Return the keys of the open rooms, least recently used first."""
        with self._lock:
            return [r.key for r in sorted(self._rooms.values(), key=lambda r: r.used)]

    def close_idle(self) -> int:
        """Close the rooms idle for `idle_s` or more; return how many closed."""
        with self._lock:
            leaving = self._pop_idle(self.now())
        self._close(leaving)
        return len(leaving)

    def stop(self) -> None:
        """Close every room and open no more."""
        with self._lock:
            self._stopped = True
            leaving = [self._pop(key) for key in list(self._rooms)]
        self._close(leaving)

    @property
    def stopped(self) -> bool:
        """Tell whether the rooms were stopped with the runtime."""
        return self._stopped

    # -- the current request's visitor -----------------------------------------------------------

    def current(self) -> DemoController | None:
        """Return the room of the visitor making the current request, if this process holds it."""
        return self.get(self.key_of())

    def read_raw_current(self, name: str) -> bytes | None:
        """Return a view from the current visitor's room; nothing when they have none here."""
        key = self.key_of()
        controller = self.get(key)
        if controller is not None:
            return controller.read_raw(name)
        if name == DEMO_VIEW and key and self.absence(key) == CLOSED:
            return closed_view()
        return None

    def read_view_current(self, name: str) -> dict[str, Any] | None:
        """Return a view from the current visitor's room, parsed, or None."""
        raw = self.read_raw_current(name)
        return orjson.loads(raw) if raw else None

    # -- inside ----------------------------------------------------------------------------------

    def _pop_idle(self, now: float) -> list[Room]:
        """Take out the rooms idle too long (the caller holds the lock)."""
        idle = [key for key, r in self._rooms.items() if now - r.used >= self.idle_s]
        return [self._pop(key) for key in idle]

    def _pop(self, key: str) -> Room:
        """Take a room out and remember its key as closed (the caller holds the lock)."""
        self._closed[key] = None
        while len(self._closed) > REMEMBERED_CLOSED:
            self._closed.popitem(last=False)
        return self._rooms.pop(key)

    def _close(self, leaving: list[Room]) -> None:
        """Stop the controllers of rooms already taken out (outside the lock: stopping joins)."""
        for room in leaving:
            log.info("closing demo room %s…", room.key[:8])
            try:
                room.controller.stop()
            except Exception:
                log.exception("demo room %s did not stop cleanly", room.key[:8])

    def _watch(self, stop_event: threading.Event, every_s: float) -> None:
        """Close idle rooms now and then; close them all when the runtime stops."""
        while not stop_event.wait(every_s):
            self.close_idle()
        self.stop()


def closed_view() -> bytes:
    """Return the `demo` view a page of a closed room gets: the caption says to reload."""
    return notice_view("demo_room_closed", CLOSED, "room-closed")


def notice_view(label_key: str, state: str, version: str, **extra: Any) -> bytes:
    """Return a `demo` view that only says one thing (a closed room, a room being prepared)."""
    caption = {
        "kind": "info",
        "time": "",
        "zh": label(label_key, "zh"),
        "en": label(label_key, "en"),
    }
    return orjson.dumps(
        {
            "mode": "scripted",
            "state": state,
            **extra,
            "captions": [caption],
            "current": caption,
            "progress": 0,
            "version": version,
        }
    )
