"""Collect the demo's captions and build the `demo` view model the caption bar draws."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from cockpit.clock import to_display

DEMO_VIEW = "demo"
SPEEDS = (1, 10, 60, 300)
MAX_CAPTIONS = 200
SCRIPTED, REPLAY = "scripted", "replay"
PREPARING, PLAYING, PAUSED, FINISHED = "preparing", "playing", "paused", "finished"


@dataclass(frozen=True, slots=True)
class Caption:
    """Say one highlight in both languages, at its simulated time."""

    at: datetime
    kind: str
    zh: str
    en: str

    def as_dict(self) -> dict[str, Any]:
        """Return the caption as the view model carries it, with its local time of day."""
        return dict(
            asdict(self), at=self.at.isoformat(), time=to_display(self.at).strftime("%H:%M")
        )


@dataclass(frozen=True, slots=True)
class PlayerStatus:
    """Tell where the player is: its state, speed, simulated time and progress through the day."""

    state: str
    speed: float
    now: datetime
    start: datetime
    end: datetime

    @property
    def progress(self) -> float:
        """Return how far through the day the player is, from 0 to 1."""
        span = (self.end - self.start).total_seconds()
        done = (self.now - self.start).total_seconds()
        return 0.0 if span <= 0 else round(min(1.0, max(0.0, done / span)), 4)


class CaptionBoard:
    """Hold the captions shown so far, oldest first; any thread may add, the player publishes."""

    def __init__(self, mode: str, expected: int | None = None) -> None:
        self.mode = mode
        self.expected = expected
        self._captions: list[Caption] = []
        self._lock = threading.Lock()

    def add(self, caption: Caption) -> None:
        """Add a caption, keeping the list in time order."""
        with self._lock:
            self._captions.append(caption)
            self._captions.sort(key=lambda c: c.at)

    def captions(self) -> list[Caption]:
        """Return the captions so far, oldest first."""
        with self._lock:
            return list(self._captions)

    def view(self, status: PlayerStatus, **extra: Any) -> dict[str, Any]:
        """Return the `demo` view model: captions, the current one, clock, speed, progress."""
        shown = [c.as_dict() for c in self.captions()[-MAX_CAPTIONS:]]
        local = to_display(status.now)
        return {
            "mode": self.mode,
            "state": status.state,
            "speed": status.speed,
            "speeds": list(SPEEDS),
            "clock": status.now.isoformat(),
            "time": local.strftime("%H:%M:%S"),
            "day": local.date().isoformat(),
            "progress": status.progress,
            "captions": shown,
            "current": shown[-1] if shown else None,
            "expected": self.expected,
            **extra,
        }
