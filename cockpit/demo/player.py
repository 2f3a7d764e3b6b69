"""Move a demo's manual clock at a chosen speed, with pause, resume and a stop at the day's end."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta
from typing import Protocol

from cockpit.clock import ManualClock
from cockpit.demo.captions import FINISHED, PAUSED, PLAYING, PlayerStatus

log = logging.getLogger(__name__)

# A stalled tick (a slow step, a busy process) must not make the day jump ahead.
MAX_REAL_STEP_S = 1.0


class Timeline(Protocol):
    """Play something along a manual clock: a scripted day or a recorded one."""

    clock: ManualClock
    start: datetime
    end: datetime

    def run_until(self, moment: datetime) -> None:
        """Move the clock to the moment, doing everything due on the way."""
        ...

    def publish(self, status: PlayerStatus) -> None:
        """Publish the `demo` view model for the player's status."""
        ...


class Player:
    """Advance a timeline by speed × real time while playing; pause, resume, change speed."""

    def __init__(self, timeline: Timeline, speed: float, *, playing: bool = True) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.timeline = timeline
        self._speed = float(speed)
        self._playing = playing
        self._lock = threading.RLock()

    @property
    def finished(self) -> bool:
        """Tell whether the clock has reached the end of the day."""
        return self.timeline.clock.now() >= self.timeline.end

    def status(self) -> PlayerStatus:
        """Return the player's state, speed and position."""
        with self._lock:
            state = FINISHED if self.finished else PLAYING if self._playing else PAUSED
            return PlayerStatus(
                state,
                self._speed,
                self.timeline.clock.now(),
                self.timeline.start,
                self.timeline.end,
            )

    def play(self) -> None:
        """Resume playing (a finished day stays finished: restart it instead)."""
        with self._lock:
            self._playing = True

    def pause(self) -> None:
        """Stop the clock where it is."""
        with self._lock:
            self._playing = False

    def set_speed(self, speed: float) -> None:
        """Play at a new speed, in simulated seconds per real second."""
        if not speed > 0:
            raise ValueError(f"speed must be positive, got {speed!r}")
        with self._lock:
            self._speed = float(speed)

    def tick(self, real_seconds: float) -> None:
        """Advance by the real time passed (times the speed) when playing, then publish."""
        with self._lock:
            if self._playing and not self.finished:
                step = min(max(real_seconds, 0.0), MAX_REAL_STEP_S) * self._speed
                target = min(self.timeline.end, self.timeline.clock.now() + timedelta(seconds=step))
                self.timeline.run_until(target)
            status = self.status()
        self.timeline.publish(status)

    def run(self, stop: threading.Event, tick_s: float = 0.2) -> None:
        """Tick on real time until stopped; a failing tick is logged and retried, never fatal."""
        last = time.monotonic()
        failing = False
        while not stop.wait(tick_s):
            now = time.monotonic()
            try:
                self.tick(now - last)
                failing = False
            except Exception:
                if not failing:
                    log.exception("demo player tick failed; retrying")
                failing = True
            last = now
