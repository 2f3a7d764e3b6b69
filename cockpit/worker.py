"""Poll the adapters and publish view models: a thread when embedded, `cockpit worker` in production."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from cockpit.clock import Clock
from cockpit.live import LiveStore, LiveStoreError
from cockpit.viewmodels import OVERVIEW, ViewModelPublisher, build_overview
from data_adapters.base import Adapter
from data_adapters.live_state import LiveStateAdapter
from data_adapters.registry import DeviceRegistryAdapter, RegistryAdapter

log = logging.getLogger(__name__)


class ViewModelWorker:
    """Refresh each adapter when due and publish the view models built from their snapshots."""

    def __init__(
        self,
        registry: RegistryAdapter,
        devices: DeviceRegistryAdapter,
        live_state: LiveStateAdapter,
        live: LiveStore,
        clock: Clock,
        stale_after: timedelta,
        street_name: str | None = None,
    ) -> None:
        self.registry = registry
        self.devices = devices
        self.live_state = live_state
        self.adapters: list[Adapter] = [registry, devices, live_state]
        self.publisher = ViewModelPublisher(live)
        self.clock = clock
        self.stale_after = stale_after
        self.street_name = street_name
        self._rate_base: tuple[float, int] | None = None  # (epoch, readings) a minute window back
        self._publish_failing = False

    def tick(self) -> None:
        """Refresh due adapters, then rebuild and publish the view models."""
        for adapter in self.adapters:
            if adapter.due():
                adapter.refresh()
        now = self.clock.now()
        live = self.live_state.snapshot.data if self.live_state.snapshot else None
        model = build_overview(
            self.registry.snapshot.data if self.registry.snapshot else None,
            self.devices.snapshot.data if self.devices.snapshot else None,
            live,
            self._readings_per_min(live, now.timestamp()),
            [
                dict(
                    a.health(self.stale_after),
                    fetched_at=a.fetched_at.isoformat() if a.fetched_at else None,
                )
                for a in self.adapters
            ],
            now,
            self.street_name,
        )
        try:
            self.publisher.publish(OVERVIEW, model, now)
            if self._publish_failing:
                log.info("view-model cache is reachable again")
            self._publish_failing = False
        except LiveStoreError as exc:
            if not self._publish_failing:
                log.warning("cannot publish view models: %s", exc)
            self._publish_failing = True

    def _readings_per_min(self, live: dict | None, now_ts: float) -> float | None:
        """Return accepted readings per minute over the last minute or so."""
        if live is None:
            return None
        total = live["counters"].get("readings_accepted", 0)
        if self._rate_base is None or total < self._rate_base[1]:
            self._rate_base = (now_ts, total)
            return None
        elapsed = now_ts - self._rate_base[0]
        rate = (total - self._rate_base[1]) * 60 / elapsed if elapsed > 0 else None
        if elapsed >= 60:
            self._rate_base = (now_ts, total)
        return rate

    def run(self, stop: threading.Event, every_s: float) -> None:
        """Tick until stopped; nothing that goes wrong in a tick stops the loop."""
        while not stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("view-model worker tick failed")
            stop.wait(every_s)
