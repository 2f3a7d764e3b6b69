"""Write the view-model worker's heartbeat and judge from it how old a view model may grow."""

from __future__ import annotations

import os
import socket
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import orjson

from cockpit.live import LiveStore, LiveStoreError

# Published next to the view models (set_view), so every web process reads it from the same cache.
WORKER_HEARTBEAT = "worker_heartbeat"
# About an hour of ticks at the default interval: the hourly enterprise read stays in the window.
TICK_WINDOW = 4096


class HeartbeatWriter:
    """Publish who the worker is and how long its ticks take, once per completed tick."""

    def __init__(
        self,
        live: LiveStore,
        wall: Callable[[], float] = time.time,
        pid: int | None = None,
        host: str | None = None,
    ) -> None:
        self.live = live
        self.wall = wall
        self.pid = os.getpid() if pid is None else pid
        self.host = socket.gethostname() if host is None else host
        self.started_wall = wall()
        self.ticks = 0
        # The first tick reads every source cold; it says nothing about the ticks that follow.
        self._durations: deque[float] = deque(maxlen=TICK_WINDOW)

    def beat(self, tick_s: float, interval_s: float | None) -> dict[str, Any]:
        """Record a completed tick of tick_s seconds and publish the heartbeat; return it."""
        self.ticks += 1
        if self.ticks > 1:
            self._durations.append(tick_s)
        beat = {
            "pid": self.pid,
            "host": self.host,
            "interval_s": interval_s,
            "tick_s": round(tick_s, 3),
            "slowest_tick_s": round(max(self._durations, default=0.0), 3),
            "ticks": self.ticks,
            "started_wall": self.started_wall,
            "beat_wall": self.wall(),
        }
        self.live.set_view(WORKER_HEARTBEAT, orjson.dumps(beat))
        return beat


def parse_heartbeat(raw: bytes | None) -> dict[str, Any] | None:
    """Return a published heartbeat, or None when there is none or it is not one."""
    if not raw:
        return None
    try:
        beat = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(beat, dict) or not isinstance(beat.get("beat_wall"), int | float):
        return None
    return beat


def stale_limit_s(
    beat: dict[str, Any] | None, after_intervals: float, default_interval_s: float
) -> float:
    """Return the age past which view models are stale: so many of the worker's cycles.

    A cycle is the worker's interval plus its slowest recent tick (the interval is counted from
    the end of a tick), both as the worker reports them; without a heartbeat, the web's own
    interval setting stands in.
    """
    interval = (beat or {}).get("interval_s")
    slowest = (beat or {}).get("slowest_tick_s")
    if not isinstance(interval, int | float) or interval <= 0:
        interval = default_interval_s
    if not isinstance(slowest, int | float) or slowest < 0:
        slowest = 0.0
    return round(after_intervals * (interval + slowest), 2)


def worker_freshness(
    read_raw: Callable[[str], bytes | None],
    after_intervals: float,
    default_interval_s: float,
    now_wall: float | None = None,
) -> dict[str, Any]:
    """Return how long ago the worker last beat and whether that is stale, on the server's clock.

    `age_s` is None when no worker has beaten yet or the view cache cannot be read (`lost`).
    """
    try:
        beat = parse_heartbeat(read_raw(WORKER_HEARTBEAT))
    except LiveStoreError:  # the view cache is down: the page says so; /healthz logs it
        return {"age_s": None, "stale": True, "lost": True}
    if beat is None:
        return {"age_s": None, "stale": True, "lost": False}
    now = time.time() if now_wall is None else now_wall
    age = max(0.0, round(now - beat["beat_wall"], 1))
    limit = stale_limit_s(beat, after_intervals, default_interval_s)
    return {"age_s": age, "stale": age > limit, "lost": False}
