"""Provide the one injectable clock every timer, simulator and store reads."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

DISPLAY_ZONE = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    """Tell the current time as an aware UTC datetime."""

    def now(self) -> datetime:
        """Return the current time in UTC."""
        ...


class SystemClock:
    """Read the machine's wall clock."""

    def now(self) -> datetime:
        """Return the real current time in UTC."""
        return datetime.now(UTC)


class ScaledClock:
    """Run time faster than real time from a chosen start, for simulation and demos."""

    def __init__(self, speed: float = 1.0, start: datetime | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        if start is not None and start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self.speed = speed
        self._start = start or datetime.now(UTC)
        self._origin = time.monotonic()

    def now(self) -> datetime:
        """Return the simulated time: start plus real elapsed time times speed."""
        elapsed = (time.monotonic() - self._origin) * self.speed
        return self._start + timedelta(seconds=elapsed)

    def real_seconds_until(self, moment: datetime) -> float:
        """Return how many real seconds remain until the simulated moment."""
        return max(0.0, (moment - self.now()).total_seconds() / self.speed)


class ManualClock:
    """Stand still until told to move; for tests and replays."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """Return the time last set."""
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward and return the new time."""
        with self._lock:
            self._now += timedelta(seconds=seconds)
            return self._now


def to_display(moment: datetime) -> datetime:
    """Convert a UTC time to the street's display zone (Asia/Shanghai)."""
    return moment.astimezone(DISPLAY_ZONE)


def local_day(moment: datetime) -> date:
    """Return the street's calendar day at a UTC moment."""
    return to_display(moment).date()
