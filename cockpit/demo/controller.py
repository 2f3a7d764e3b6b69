"""Hold one demo room: a scripted day or a replay, started by its visitor's first ?mode=demo
page, stopped when its room closes or the runtime stops, commanded by that visitor's controls.

create_app makes a DemoRooms (cockpit/demo/rooms.py, or cockpit/demo/shared.py when Redis is
set) that holds a few DemoControllers, one per visitor; nothing lives at module level. A room's
controller runs in the one web process that owns the room (its street file in <data_dir>/demo/,
its clock, its threads); with a RoomMirror the views it shows are copied to Redis, so any other
web worker can serve its visitor.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import date
from typing import Any

import orjson
from sqlalchemy import Engine

from cockpit.clock import SystemClock, local_day
from cockpit.demo.captions import DEMO_VIEW, PREPARING, REPLAY, SCRIPTED, SPEEDS
from cockpit.demo.mirror import RoomMirror
from cockpit.demo.player import Player
from cockpit.demo.replay import DayReplay
from cockpit.demo.session import DemoSession
from cockpit.live import InProcessLiveStore, LiveStore
from cockpit.settings import Settings
from cockpit.viewmodels import TICKER
from data_adapters.recorded_day import RecordedDayReader

log = logging.getLogger(__name__)

# The replay shows its own captions and ticker; everything else is the recorded street's wall.
REPLAY_VIEWS = frozenset({DEMO_VIEW, TICKER})


class DemoError(ValueError):
    """Refuse a demo command: an unknown speed, a day with no records, a bad mode."""


class DemoController:
    """Own this process's demo session or replay, and answer the demo screen's commands."""

    def __init__(
        self,
        settings: Settings,
        recorded: Engine,
        recorded_live: LiveStore,
        stop_event: threading.Event | None = None,
        *,
        open_session: Callable[..., DemoSession] = DemoSession.open,
        mirror: RoomMirror | None = None,
    ) -> None:
        self.settings = settings
        self.reader = RecordedDayReader(recorded)
        self.recorded_live = recorded_live
        self._open_session = open_session
        self._mirror = mirror
        self._lock = threading.RLock()
        self._session: DemoSession | None = None
        self._preparing: threading.Thread | None = None
        self._failed: str | None = None
        # How far the street being prepared is: (share 0..1, label key of the step under way).
        self._progress: tuple[float, str] = (0.0, "demo_step_street")
        self._mode = SCRIPTED
        self._replay: tuple[DayReplay, Player, threading.Event, InProcessLiveStore] | None = None
        self._days: list[str] = []
        self._stopped = False
        self._speed = settings.demo_speed
        # Stop with the runtime: its stop event ends the demo's threads and removes its files.
        # DemoRooms passes none: it watches the runtime itself and stops every room it holds.
        if stop_event is not None:
            threading.Thread(
                target=self._stop_when, args=(stop_event,), name="demo-stop-watch", daemon=True
            ).start()

    # -- state -----------------------------------------------------------------------------------

    @property
    def mode(self) -> str:
        """Return "scripted" or "replay"."""
        return self._mode

    def ensure_started(self) -> bool:
        """Start preparing the scripted day if nothing plays yet; tell whether it is ready."""
        with self._lock:
            if self._stopped:
                return False
            if self._mode == REPLAY and self._replay is not None:
                return True
            if self._session is None and self._preparing is None:
                self._prepare()
            return self._session is not None

    @property
    def failure(self) -> str | None:
        """Return why the last preparation failed, if it did."""
        return self._failed

    def progress(self) -> tuple[float, str]:
        """Return how far the street being prepared is: a share done and its step's label key."""
        return self._progress

    def _note_step(self, share: float, step: str) -> None:
        """Keep the preparation's progress (one tuple: a reader never sees half of it)."""
        self._progress = (max(0.0, min(1.0, share)), step)

    def read_raw(self, name: str) -> bytes | None:
        """Return a published view the demo screen shows, from the store now playing."""
        with self._lock:
            replay, session = self._replay, self._session
        if self._mode == REPLAY and replay is not None:
            live = replay[3] if name in REPLAY_VIEWS else self.recorded_live
            return live.get_view(name)
        if session is None:
            return None
        return session.live.get_view(name)

    def read_view(self, name: str) -> dict[str, Any] | None:
        """Return a published view the demo screen shows, parsed, or None."""
        raw = self.read_raw(name)
        return orjson.loads(raw) if raw else None

    def replay_days(self) -> list[str]:
        """Return the recorded days a replay can show, newest first (read when the demo starts)."""
        return list(self._days)

    def _extra(self) -> dict[str, Any]:
        """Return what every `demo` view model carries besides the player's state."""
        return {"replay_days": self.replay_days(), "preparing": self._preparing is not None}

    # -- commands --------------------------------------------------------------------------------

    def play(self) -> None:
        """Resume the clock."""
        player = self._player()
        if player is not None:
            player.play()

    def pause(self) -> None:
        """Stop the clock where it is."""
        player = self._player()
        if player is not None:
            player.pause()

    def toggle(self) -> str | None:
        """Pause when playing, play when paused; return "pause" or "play" (None: nothing plays)."""
        player = self._player()
        if player is None:
            return None
        if player.status().state == "playing":
            player.pause()
            return "pause"
        player.play()
        return "play"

    def set_speed(self, speed: float) -> None:
        """Play at one of the offered speeds."""
        if speed not in SPEEDS:
            raise DemoError(f"speed must be one of {', '.join(map(str, SPEEDS))}, not {speed!r}")
        self._speed = float(speed)
        player = self._player()
        if player is not None:
            player.set_speed(speed)

    def restart(self) -> None:
        """Play the day again from its start: a fresh street for the script, the same day's
        records for a replay."""
        with self._lock:
            if self._mode == REPLAY and self._replay is not None:
                self._start_replay(self._replay[0].day, self._replay[0].items)
                return
            if self._preparing is not None:
                return
            if self._session is not None:
                self._session.player.pause()  # keeps showing while the fresh street gets ready
            self._prepare()

    def scripted(self) -> None:
        """Switch to the scripted day."""
        with self._lock:
            self._mode = SCRIPTED
            self._stop_replay()
            self._show(self._session.live if self._session is not None else None, SCRIPTED)
        self.ensure_started()

    def replay(self, day: date) -> None:
        """Switch to replaying a recorded day from the store."""
        items = self.reader.read_day(day)
        if not items:
            raise DemoError(f"the store holds nothing recorded on {day.isoformat()}")
        with self._lock:
            self._mode = REPLAY
            if self._session is not None:
                self._session.player.pause()
            self._start_replay(day, items)

    def stop(self) -> None:
        """Stop whatever plays and remove the demo's files."""
        with self._lock:
            self._stopped = True
            session, self._session = self._session, None
            self._stop_replay()
            if self._mirror is not None:
                self._mirror.detach()  # a thread finishing its last tick writes nothing out
        if session is not None:
            session.stop()

    # -- inside ----------------------------------------------------------------------------------

    def _player(self) -> Player | None:
        with self._lock:
            if self._mode == REPLAY and self._replay is not None:
                return self._replay[1]
            return self._session.player if self._session is not None else None

    def _prepare(self) -> None:
        """Make a fresh demo street in a background thread; swap it in when ready."""
        self._progress = (0.0, "demo_step_street")
        self._preparing = threading.Thread(target=self._build, name="demo-prepare", daemon=True)
        self._preparing.start()

    def _build(self) -> None:
        try:
            self._days = [
                d.isoformat() for d in self.reader.days_with_data(local_day(SystemClock().now()))
            ]
        except Exception:
            log.exception("cannot list the recorded days for replay")
        try:
            if self._mirror is not None:
                session = self._open_session(
                    self.settings,
                    speed=self._speed,
                    live=self._mirror.store(),
                    on_step=self._note_step,
                )
            else:
                session = self._open_session(
                    self.settings, speed=self._speed, on_step=self._note_step
                )
        except Exception as exc:
            log.exception("the demo street could not be prepared")
            with self._lock:
                self._failed = str(exc)
                self._preparing = None
            return
        session.timeline.extra = self._extra
        with self._lock:
            old, self._session = self._session, session
            self._failed = None
            self._preparing = None
            if self._stopped:
                self._session = None
                old, session = session, None
            elif self._mode == SCRIPTED:
                self._show(session.live, SCRIPTED)
        if session is not None:
            session.start()
        if old is not None:
            old.stop()

    def _start_replay(self, day: date, items: list) -> None:
        self._stop_replay()
        live = self._mirror.store() if self._mirror is not None else InProcessLiveStore()
        timeline = DayReplay(day, items, live, self._extra)
        player = Player(timeline, self._speed)
        player.tick(0.0)
        self._show(live, REPLAY)
        stop = threading.Event()
        threading.Thread(target=player.run, args=(stop,), name="demo-replay", daemon=True).start()
        self._replay = (timeline, player, stop, live)

    def _stop_replay(self) -> None:
        if self._replay is not None:
            self._replay[2].set()
            self._replay = None

    def _show(self, live: InProcessLiveStore | None, mode: str) -> None:
        """Make the store the one other web workers read for this room (the caller holds the
        lock); nothing to do without a mirror."""
        if self._mirror is not None:
            self._mirror.show(live, mode)

    def _stop_when(self, stop_event: threading.Event) -> None:
        stop_event.wait()
        self.stop()

    def status(self) -> str:
        """Return the player's state, or "preparing" while the demo street is being made."""
        player = self._player()
        return player.status().state if player is not None else PREPARING
