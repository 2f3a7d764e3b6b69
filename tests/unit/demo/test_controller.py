"""Test the demo controller with a fake session: lazy start, commands, switching, stopping."""

from __future__ import annotations

import os
import threading
from datetime import date

import pytest

from cockpit.demo.captions import PAUSED, PLAYING
from cockpit.demo.controller import DemoController, DemoError
from cockpit.demo.session import sweep_sessions
from cockpit.live import InProcessLiveStore
from cockpit.settings import Settings
from tests.unit.demo.fakes import FakeSession
from tests.waiting import wait_until


@pytest.fixture
def controller(sqlite_engine):
    """Return a controller over an empty recorded store, with fake sessions it keeps a list of."""
    sessions: list[FakeSession] = []
    ready = threading.Event()

    def open_session(settings, **kw):
        sessions.append(FakeSession())
        ready.set()
        return sessions[-1]

    production = InProcessLiveStore()
    production.set_view("overview", b'{"production": true}')
    stop = threading.Event()
    demo = DemoController(Settings(), sqlite_engine, production, stop, open_session=open_session)
    demo.test_sessions, demo.test_ready, demo.test_stop = sessions, ready, stop
    yield demo
    demo.stop()


def wait_ready(demo: DemoController) -> None:
    """Wait until the background preparation swapped the fake session in."""
    assert wait_until(demo.ensure_started, timeout=30), "the demo never became ready"


def test_nothing_starts_before_the_first_demo_page(controller) -> None:
    """The controller prepares nothing until ensure_started, then serves the demo's own views."""
    assert controller.test_sessions == []
    assert controller.read_raw("overview") is None
    wait_ready(controller)
    assert len(controller.test_sessions) == 1 and controller.test_sessions[0].started
    assert controller.read_raw("overview") == b'{"demo": true}'  # never production's


def test_commands_reach_the_player_and_bad_speeds_are_refused(controller) -> None:
    """Toggle pauses and resumes; speeds outside the offered ones raise DemoError."""
    wait_ready(controller)
    player = controller.test_sessions[0].player
    assert controller.toggle() == "pause"
    assert player.state == PAUSED and controller.status() == PAUSED
    assert controller.toggle() == "play"
    assert player.state == PLAYING
    controller.set_speed(300)
    assert player.speed == 300
    with pytest.raises(DemoError, match="speed must be one of"):
        controller.set_speed(42)


def test_restart_swaps_in_a_fresh_session_and_stops_the_old(controller) -> None:
    """Restart prepares a new street in the background; the old one stops once it is swapped."""
    wait_ready(controller)
    first = controller.test_sessions[0]
    controller.restart()
    for _ in range(200):
        if first.stopped:
            break
        threading.Event().wait(0.01)
    assert first.stopped and len(controller.test_sessions) == 2
    assert controller.test_sessions[1].started


def test_a_day_without_records_cannot_be_replayed(controller) -> None:
    """Replaying a day the store holds nothing for raises DemoError and keeps the script."""
    wait_ready(controller)
    with pytest.raises(DemoError, match="nothing recorded"):
        controller.replay(date(2026, 5, 20))
    assert controller.mode == "scripted"


def test_the_runtime_stop_event_stops_the_demo(controller) -> None:
    """Setting the runtime's stop event stops the session and refuses to start another."""
    wait_ready(controller)
    controller.test_stop.set()
    session = controller.test_sessions[0]
    for _ in range(200):
        if session.stopped:
            break
        threading.Event().wait(0.01)
    assert session.stopped
    assert controller.ensure_started() is False


def test_session_files_of_ended_processes_are_swept(tmp_path) -> None:
    """A session file whose process is gone is deleted; this process's own files stay."""
    mine = tmp_path / f"session-{os.getpid()}-aaaa.db"
    gone = tmp_path / "session-999999999-bbbb.db"
    for path in (mine, gone, tmp_path / "session-999999999-bbbb.db-wal"):
        path.write_bytes(b"x")
    sweep_sessions(tmp_path)
    assert mine.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [mine.name]
