"""Poll the live store: counters and each device's last report time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from cockpit.clock import Clock
from cockpit.live import LiveStore, LiveStoreError
from data_adapters.base import Adapter, AdapterError


class LiveStateAdapter(Adapter[dict[str, Any]]):
    """Read counters and last-seen times from Redis or the in-process live store."""

    name = "live"

    def __init__(self, live: LiveStore, clock: Clock, interval: timedelta) -> None:
        super().__init__(clock, interval)
        self.live = live

    def _fetch(self) -> dict[str, Any]:
        """Return {'counters': ..., 'last_seen': {device id: epoch}}."""
        try:
            return {"counters": self.live.counters(), "last_seen": self.live.last_seen()}
        except LiveStoreError as exc:
            raise AdapterError(str(exc)) from exc
