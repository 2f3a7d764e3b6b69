"""Test the clocks with a fake monotonic timer, so nothing depends on real elapsed time."""

from __future__ import annotations

import types
from datetime import UTC, datetime, timedelta, timezone

import pytest

from cockpit import clock
from cockpit.clock import ManualClock, ScaledClock, SystemClock, to_display

START = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


class FakeMonotonic:
    """Stand in for time.monotonic, moved by hand."""

    def __init__(self, value: float = 1000.0) -> None:
        self.value = value

    def __call__(self) -> float:
        """Return the fake monotonic reading."""
        return self.value


@pytest.fixture
def fake_monotonic(monkeypatch) -> FakeMonotonic:
    """Replace the time module cockpit.clock reads with one whose monotonic() we control."""
    fake = FakeMonotonic()
    monkeypatch.setattr(clock, "time", types.SimpleNamespace(monotonic=fake))
    return fake


def test_manual_clock_stands_still_until_advanced() -> None:
    """ManualClock returns its start until advanced, then start plus the advance."""
    c = ManualClock(START)
    assert c.now() == START
    assert c.now() == START
    assert c.advance(90) == START + timedelta(seconds=90)
    assert c.now() == START + timedelta(seconds=90)
    c.advance(0.5)
    assert c.now() == START + timedelta(seconds=90.5)


def test_manual_clock_refuses_naive_start() -> None:
    """A naive start time is refused."""
    with pytest.raises(ValueError):
        ManualClock(datetime(2026, 3, 1, 8, 0))


def test_scaled_clock_runs_speed_times_real_time(fake_monotonic) -> None:
    """ScaledClock moves `speed` simulated seconds per real second from its start."""
    c = ScaledClock(speed=60, start=START)
    assert c.now() == START
    fake_monotonic.value += 2.5
    assert c.now() == START + timedelta(seconds=150)
    fake_monotonic.value += 1
    assert c.now() == START + timedelta(seconds=210)


def test_scaled_clock_real_seconds_until(fake_monotonic) -> None:
    """real_seconds_until divides the simulated gap by the speed and is never negative."""
    c = ScaledClock(speed=10, start=START)
    assert c.real_seconds_until(START + timedelta(minutes=5)) == pytest.approx(30.0)
    fake_monotonic.value += 10  # 100 simulated seconds later
    assert c.real_seconds_until(START + timedelta(minutes=5)) == pytest.approx(20.0)
    assert c.real_seconds_until(START) == 0.0


def test_scaled_clock_defaults_to_now_in_utc() -> None:
    """Without a start, ScaledClock starts at the current UTC time."""
    before = datetime.now(UTC)
    now = ScaledClock().now()
    assert now.utcoffset() == timedelta(0)
    assert now >= before


@pytest.mark.parametrize("speed", [0, -1.0])
def test_scaled_clock_refuses_non_positive_speed(speed) -> None:
    """Speed must be positive."""
    with pytest.raises(ValueError):
        ScaledClock(speed=speed)


def test_scaled_clock_refuses_naive_start() -> None:
    """A naive start time is refused, as ManualClock does."""
    with pytest.raises(ValueError):
        ScaledClock(speed=1, start=datetime(2026, 3, 1, 8, 0))


def test_system_clock_is_aware_utc() -> None:
    """SystemClock returns an aware UTC time."""
    assert SystemClock().now().utcoffset() == timedelta(0)


def test_to_display_shows_shanghai_time() -> None:
    """to_display shows the same instant in Asia/Shanghai (UTC+8)."""
    shown = to_display(START)
    assert shown == START
    assert shown.utcoffset() == timedelta(hours=8)
    assert (shown.hour, shown.minute) == (16, 0)
    assert to_display(datetime(2026, 3, 1, 20, 0, tzinfo=timezone(timedelta(hours=-4)))).day == 2
