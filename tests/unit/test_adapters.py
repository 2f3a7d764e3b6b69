"""Check the adapter coordinator: last good data, health, one log line per outage, backoff."""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime, timedelta

from cockpit.clock import ManualClock
from cockpit.live import InProcessLiveStore, LiveStoreError
from data_adapters.base import Adapter, AdapterError
from data_adapters.live_state import LiveStateAdapter

START = datetime(2026, 11, 21, tzinfo=UTC)


class FlakySource(Adapter[int]):
    """Return increasing numbers, or fail while told to."""

    name = "flaky"

    def __init__(self, clock):
        super().__init__(clock, timedelta(seconds=10), random.Random(1))
        self.down = False
        self.calls = 0

    def _fetch(self) -> int:
        self.calls += 1
        if self.down:
            raise AdapterError("connection refused")
        return self.calls


def test_keeps_last_good_data_while_down_and_recovers():
    clock = ManualClock(START)
    source = FlakySource(clock)
    assert source.refresh() and source.snapshot.data == 1
    source.down = True
    clock.advance(10)
    assert not source.refresh()
    assert source.snapshot.data == 1 and source.available and not source.ok
    assert source.health(timedelta(seconds=30))["state"] == "stale"
    source.down = False
    clock.advance(600)
    assert source.refresh() and source.snapshot.data == 3 and source.ok


def test_logs_once_when_down_and_once_on_recovery(caplog):
    clock = ManualClock(START)
    source = FlakySource(clock)
    source.refresh()
    source.down = True
    with caplog.at_level(logging.INFO):
        for _ in range(5):
            clock.advance(600)
            source.refresh()
        source.down = False
        clock.advance(600)
        source.refresh()
    messages = [r.getMessage() for r in caplog.records]
    assert sum("is down" in m for m in messages) == 1
    assert sum("recovered" in m for m in messages) == 1


def test_backs_off_with_jitter_after_failures():
    clock = ManualClock(START)
    source = FlakySource(clock)
    source.down = True
    source.refresh()
    clock.advance(10)
    assert not source.due(), "a failed source waits longer than its interval before the next try"
    clock.advance(3600)
    assert source.due()


def test_health_reports_down_before_any_data_and_stale_past_interval_plus_limit():
    clock = ManualClock(START)
    source = FlakySource(clock)
    assert source.health(timedelta(seconds=30))["state"] == "down"
    source.refresh()
    assert source.health(timedelta(seconds=30))["state"] == "ok"
    clock.advance(39)  # interval 10 s + limit 30 s: not stale yet
    assert source.health(timedelta(seconds=30))["state"] == "ok"
    clock.advance(2)
    assert source.health(timedelta(seconds=30)) == {
        "name": "flaky",
        "state": "stale",
        "age_s": 41.0,
        "error": None,
    }


class BrokenLive(InProcessLiveStore):
    """Fail every read like a Redis server that went away."""

    def counters(self):
        raise LiveStoreError("Redis: connection refused")


def test_live_state_adapter_turns_store_errors_into_adapter_errors():
    adapter = LiveStateAdapter(BrokenLive(), ManualClock(START), timedelta(seconds=1))
    assert adapter.refresh() is False
    assert "connection refused" in adapter.last_error
