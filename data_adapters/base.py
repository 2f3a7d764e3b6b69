"""Give every source the same coordinator: poll interval, last good data, health, backoff."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from cockpit.clock import Clock

T = TypeVar("T")
MAX_BACKOFF = timedelta(minutes=2)


class AdapterError(RuntimeError):
    """Report that a source could not be read this time."""


@dataclass(frozen=True)
class Snapshot(Generic[T]):
    """Hold one good reading of a source and when it was taken."""

    data: T
    fetched_at: datetime


class Adapter(Generic[T]):
    """Poll one source: `_fetch` raises AdapterError; `refresh` keeps the last good snapshot."""

    name = "adapter"

    def __init__(self, clock: Clock, interval: timedelta, rng: random.Random | None = None) -> None:
        self.clock = clock
        self.interval = interval
        self.snapshot: Snapshot[T] | None = None
        self.ok = False
        self.last_error: str | None = None
        self.failures = 0
        self._next_at: datetime | None = None
        self._rng = rng or random.Random()
        self._log = logging.getLogger(f"{__name__}.{self.name}")

    def _fetch(self) -> T:
        """Read the source once; raise AdapterError when it cannot."""
        raise NotImplementedError

    @property
    def available(self) -> bool:
        """Tell whether any good data has ever been read."""
        return self.snapshot is not None

    @property
    def fetched_at(self) -> datetime | None:
        """Return when the last good data was read."""
        return self.snapshot.fetched_at if self.snapshot else None

    def due(self) -> bool:
        """Tell whether the next poll is due."""
        return self._next_at is None or self.clock.now() >= self._next_at

    def refresh(self) -> bool:
        """Poll the source now; keep the old snapshot on failure and back off with jitter."""
        now = self.clock.now()
        try:
            data = self._fetch()
        except AdapterError as exc:
            if self.ok or self.failures == 0:
                self._log.warning("%s is down: %s", self.name, exc)
            self.ok = False
            self.failures += 1
            self.last_error = str(exc)
            backoff = min(MAX_BACKOFF, self.interval * (2 ** min(self.failures, 6)))
            self._next_at = now + backoff * self._rng.uniform(0.5, 1.0)
            return False
        if self.failures:
            self._log.info("%s recovered after %d failed polls", self.name, self.failures)
        self.snapshot = Snapshot(data, now)
        self.ok = True
        self.failures = 0
        self.last_error = None
        self._next_at = now + self.interval
        return True

    def health(self, stale_after: timedelta) -> dict[str, Any]:
        """Describe this source for the source-health view: state, age, last error."""
        now = self.clock.now()
        age = (now - self.fetched_at).total_seconds() if self.fetched_at else None
        if not self.available:
            state = "down"
        elif not self.ok:
            state = "stale"
        else:
            # A slow source is not stale between its own polls: allow its interval plus the limit.
            limit = (self.interval + stale_after).total_seconds()
            state = "ok" if age is not None and age <= limit else "stale"
        return {
            "name": self.name,
            "state": state,
            "age_s": None if age is None else round(age, 1),
            "error": self.last_error,
        }


def read_store(engine: Engine, work: Callable[[Connection], T]) -> T:
    """Run the queries on one connection, turning SQL failures into AdapterError."""
    try:
        with engine.connect() as conn:
            return work(conn)
    except SQLAlchemyError as exc:
        raise AdapterError(
            f"SQL store: {exc.__class__.__name__}: {str(exc).splitlines()[0]}"
        ) from exc


def rows_as_dicts(conn: Connection, statement) -> list[dict[str, Any]]:
    """Return a statement's rows as plain dicts."""
    result = conn.execute(statement)
    keys = tuple(result.keys())
    # zip over plain tuples: Row._mapping costs ten times more per row at 10,000 devices
    return [dict(zip(keys, row, strict=True)) for row in result]
