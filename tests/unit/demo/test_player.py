"""Test the demo player with a manual clock: speed, pause, resume, the day's end, the thread."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from cockpit.clock import ManualClock
from cockpit.demo.captions import FINISHED, PAUSED, PLAYING, Caption, CaptionBoard, PlayerStatus
from cockpit.demo.player import MAX_REAL_STEP_S, Player

START = datetime(2026, 5, 20, 0, 0, tzinfo=UTC)


class FakeTimeline:
    """Record where the player moved the clock and what it published."""

    def __init__(self, hours: float = 2) -> None:
        self.clock = ManualClock(START)
        self.start = START
        self.end = START + timedelta(hours=hours)
        self.moves: list[datetime] = []
        self.published: list[PlayerStatus] = []

    def run_until(self, moment: datetime) -> None:
        """Move the clock to the moment."""
        self.moves.append(moment)
        self.clock.advance((moment - self.clock.now()).total_seconds())

    def publish(self, status: PlayerStatus) -> None:
        """Keep the published status."""
        self.published.append(status)


def test_playing_moves_the_clock_by_speed_times_real_time() -> None:
    """At 60x, half a real second moves the day 30 s; each tick publishes the status."""
    timeline = FakeTimeline()
    player = Player(timeline, 60)
    player.tick(0.5)
    player.tick(0.25)
    assert timeline.clock.now() == START + timedelta(seconds=45)
    assert [s.state for s in timeline.published] == [PLAYING, PLAYING]
    assert timeline.published[-1].speed == 60


def test_pause_holds_the_clock_and_play_resumes_it() -> None:
    """Paused ticks publish but do not move the clock."""
    timeline = FakeTimeline()
    player = Player(timeline, 10)
    player.pause()
    player.tick(1.0)
    assert timeline.clock.now() == START
    assert timeline.published[-1].state == PAUSED
    player.play()
    player.tick(1.0)
    assert timeline.clock.now() == START + timedelta(seconds=10)


def test_speed_changes_take_effect_and_bad_speeds_are_refused() -> None:
    """A new speed applies from the next tick; zero or negative speeds raise."""
    timeline = FakeTimeline()
    player = Player(timeline, 1)
    player.set_speed(300)
    player.tick(0.1)
    assert timeline.clock.now() == START + timedelta(seconds=30)
    with pytest.raises(ValueError):
        player.set_speed(0)
    with pytest.raises(ValueError):
        Player(timeline, -1)


def test_a_stalled_tick_does_not_jump_the_day() -> None:
    """A tick after a long stall moves at most MAX_REAL_STEP_S of real time."""
    timeline = FakeTimeline()
    player = Player(timeline, 60)
    player.tick(30.0)
    assert timeline.clock.now() == START + timedelta(seconds=60 * MAX_REAL_STEP_S)


def test_the_day_stops_at_its_end_and_stays_finished() -> None:
    """The clock never passes the end; play after the end keeps it finished."""
    timeline = FakeTimeline(hours=0.01)  # 36 s
    player = Player(timeline, 300)
    player.tick(1.0)
    assert timeline.clock.now() == timeline.end
    assert timeline.published[-1].state == FINISHED
    assert timeline.published[-1].progress == 1.0
    player.play()
    player.tick(1.0)
    assert timeline.clock.now() == timeline.end
    assert len(timeline.moves) == 1


def test_the_thread_plays_until_stopped() -> None:
    """run() ticks on real time in its own thread and ends when the stop event is set."""
    timeline = FakeTimeline()
    player = Player(timeline, 3600)
    stop = threading.Event()
    thread = threading.Thread(target=player.run, args=(stop, 0.02))
    thread.start()
    deadline = threading.Event()
    while not timeline.moves and not deadline.wait(0.02):
        pass
    stop.set()
    thread.join(2)
    assert not thread.is_alive()
    assert timeline.clock.now() > START


def test_a_failing_tick_is_logged_and_the_thread_goes_on(caplog) -> None:
    """An exception in the timeline does not end the player thread."""
    timeline = FakeTimeline()
    calls = []

    def flaky(moment):
        calls.append(moment)
        if len(calls) == 1:
            raise RuntimeError("boom")
        FakeTimeline.run_until(timeline, moment)

    timeline.run_until = flaky
    player = Player(timeline, 600)
    stop = threading.Event()
    thread = threading.Thread(target=player.run, args=(stop, 0.02))
    thread.start()
    waiter = threading.Event()
    while len(calls) < 3 and not waiter.wait(0.02):
        pass
    stop.set()
    thread.join(2)
    assert len(calls) >= 3
    assert "demo player tick failed" in caplog.text


def test_the_caption_board_keeps_time_order_and_builds_the_view() -> None:
    """Captions added out of order come back in time order; the view carries the newest."""
    board = CaptionBoard("scripted", expected=3)
    board.add(Caption(START + timedelta(minutes=5), "dispatch", "派遣", "Dispatched"))
    board.add(Caption(START + timedelta(minutes=1), "alarm", "告警", "Alarm"))
    status = PlayerStatus(
        PLAYING, 60, START + timedelta(hours=1), START, START + timedelta(hours=4)
    )
    view = board.view(status, replay_days=["2026-05-19"])
    assert [c["kind"] for c in view["captions"]] == ["alarm", "dispatch"]
    assert view["current"]["en"] == "Dispatched"
    assert view["captions"][0]["time"] == "08:01"  # Shanghai time
    assert view["progress"] == 0.25
    assert view["replay_days"] == ["2026-05-19"]
    assert (view["state"], view["speed"], view["expected"]) == (PLAYING, 60, 3)
