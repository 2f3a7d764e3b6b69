"""Own one scripted demo: a fresh SQLite street of its own, its live store, clock and threads.

The demo never touches the production stores: its street is the small "changbai" tier seeded
into <data_dir>/demo/ (seeded once per day into a template file, then copied for each session or
restart, since seeding takes seconds), its live state is an in-process store of its own, and its
clock is a ManualClock the player moves.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

from sqlalchemy import Engine, text, update

from cockpit.alerts import AlertBook
from cockpit.cases.deadlines import load_cases_config
from cockpit.cases.desk import CaseDesk
from cockpit.clock import DISPLAY_ZONE, ManualClock, SystemClock, local_day
from cockpit.demo.captions import SPEEDS
from cockpit.demo.player import Player
from cockpit.demo.script import DayScript, load_script
from cockpit.demo.scripted import DemoScenario, ScriptedDay
from cockpit.ingest import Ingest
from cockpit.live import InProcessLiveStore
from cockpit.rules.config import load_rules_config
from cockpit.settings import Settings
from cockpit.simulator.generator import seed_street
from cockpit.simulator.history import seed_history
from cockpit.simulator.tiers import Tier, get_tier
from cockpit.store import schema
from cockpit.store.database import make_engine, migrate
from cockpit.streaming import StreamingRules
from cockpit.viewmodels import ViewModelPublisher
from cockpit.worker import ViewModelWorker, build_worker

log = logging.getLogger(__name__)

DEMO_TIER = "changbai"
HISTORY_DAYS = 30
DEMO_STORE_POLL_S = 60.0
# Devices of the demo street report at most this often. A demo plays at 60x or more, where the real
# street's 30-second readings would cost a whole core; the wall looks the same, and the offline
# rule reads the same registry intervals, so no device seems silent.
DEMO_MIN_REPORT_INTERVAL_S = 300


def demo_folder(settings: Settings) -> Path:
    """Return the folder of the demo's own SQLite files."""
    return settings.data_dir / "demo"


# How far along a room's preparation each of its steps starts (the "preparing" screen's bar).
STEP_SHARES = {
    "demo_step_street": 0.0,
    "demo_step_history": 0.55,
    "demo_step_copy": 0.7,
    "demo_step_scenario": 0.75,
    "demo_step_first_view": 0.9,
}
# on_step(share done 0..1, label key of the step under way).
OnStep = Callable[[float, str], None]


def _no_step(_share: float, _step: str) -> None:
    """Hear of no step."""


def ensure_template(
    folder: Path,
    settings: Settings,
    day: date,
    tier: Tier | None = None,
    history_until: datetime | None = None,
    on_step: OnStep = _no_step,
) -> Path:
    """Return a seeded demo street for the day, seeding it first if this day has none yet.

    The street gets a month of closed-loop history up to `history_until` (default: the day's
    start), so the wall's trends and indicators have a past as on a street that has been running.
    """
    tier = tier or get_tier(DEMO_TIER)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"template-{tier.name}-{settings.seed}-{day.isoformat()}.db"
    if path.exists():
        return path
    street_share = STEP_SHARES["demo_step_history"]
    scratch = folder / f"seeding-{os.getpid()}-{uuid.uuid4().hex[:8]}.db"
    engine = make_engine(f"sqlite:///{scratch}")
    try:
        migrate(engine)
        report = seed_street(
            engine,
            tier,
            settings.seed,
            (settings.map_center_lon, settings.map_center_lat),
            as_of=day,
            on_step=lambda done, total, _name: on_step(
                street_share * done / total, "demo_step_street"
            ),
        )
        on_step(street_share, "demo_step_history")
        seed_history(
            engine,
            history_until or datetime.combine(day, time(0), DISPLAY_ZONE),
            HISTORY_DAYS,
            settings.seed,
        )
        with engine.begin() as conn:
            conn.execute(
                update(schema.Device)
                .where(schema.Device.report_interval_s < DEMO_MIN_REPORT_INTERVAL_S)
                .values(report_interval_s=DEMO_MIN_REPORT_INTERVAL_S)
            )
        with engine.begin() as conn:
            # Fold the write-ahead log into the file, so the template is one self-contained file.
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        log.info("seeded the demo street for %s in %.1f s", day, report.seconds)
    finally:
        engine.dispose()
    os.replace(scratch, path)  # atomic: another process never sees half a template
    _remove(scratch)
    for old in folder.glob(f"template-{tier.name}-*.db"):
        if old != path:
            _remove(old)
    return path


def _remove(path: Path) -> None:
    """Delete a SQLite file with its -wal and -shm companions, if they are there."""
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        candidate.unlink(missing_ok=True)


def sweep_sessions(folder: Path) -> None:
    """Delete session files left by processes that have ended (killed before they could)."""
    for path in folder.glob("session-*-*.db"):
        pid = path.name.split("-")[1]
        if pid.isdigit() and not _alive(int(pid)):
            _remove(path)


def _alive(pid: int) -> bool:
    """Tell whether a process with the id runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def copy_database(source: Path, target: Path) -> None:
    """Copy a SQLite database with SQLite's own backup, consistent even in WAL mode."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


@dataclass
class DemoSession:
    """Hold one scripted day's store, live store, clock, scenario, worker and player."""

    path: Path
    engine: Engine
    live: InProcessLiveStore
    clock: ManualClock
    timeline: ScriptedDay
    player: Player
    worker: ViewModelWorker
    worker_every_s: float
    stop_event: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        script: DayScript | None = None,
        day: date | None = None,
        speed: float | None = None,
        playing: bool = True,
        tier: Tier | None = None,
        live: InProcessLiveStore | None = None,
        on_step: OnStep = _no_step,
    ) -> DemoSession:
        """Create a fresh demo street for the day (default today) and get it ready to play.

        `live` is the in-process store to play in (a room's mirrored one); default a fresh one.
        `on_step` hears how far the preparation is, step by step.
        """
        script = script or load_script()
        day = day or local_day(SystemClock().now())
        folder = demo_folder(settings)
        on_step(0.0, "demo_step_street")
        template = ensure_template(folder, settings, day, tier, script.bounds(day)[0], on_step)
        on_step(STEP_SHARES["demo_step_copy"], "demo_step_copy")
        sweep_sessions(folder)
        path = folder / f"session-{os.getpid()}-{uuid.uuid4().hex[:8]}.db"
        copy_database(template, path)
        engine = make_engine(f"sqlite:///{path}")
        try:
            on_step(STEP_SHARES["demo_step_scenario"], "demo_step_scenario")
            return cls._build(settings, script, day, speed, playing, path, engine, live, on_step)
        except Exception:
            engine.dispose()
            _remove(path)
            raise

    @classmethod
    def _build(
        cls, settings, script, day, speed, playing, path, engine, live, on_step=_no_step
    ) -> DemoSession:
        migrate(engine)  # a template from an older release gets the newest schema
        start, _ = script.bounds(day)
        clock = ManualClock(start)
        live = live if live is not None else InProcessLiveStore()
        alerts = AlertBook(engine, live)
        rules_cfg = load_rules_config(settings.rules_file)
        desk = CaseDesk(engine, live, clock, load_cases_config(settings.cases_file), alerts)
        ingest = Ingest(engine, live, clock, StreamingRules(engine, alerts, rules_cfg), desk)
        scenario = DemoScenario(engine, ingest, clock, settings.seed)
        scenario.step()  # live state as a running street would have it, before the first tick
        # The demo's street has its own name: production's display name is not the demo's. Its
        # data ages on the demo clock, up to the fastest speed times faster than real time; SQL
        # is re-read once a simulated minute (a real second at 60x), not every few seconds.
        demo_settings = settings.model_copy(
            update={
                "street_name": None,
                "stale_after_seconds": settings.stale_after_seconds * max(SPEEDS),
                "store_poll_seconds": max(settings.store_poll_seconds, DEMO_STORE_POLL_S),
            }
        )
        worker = build_worker(engine, live, clock, alerts, rules_cfg, demo_settings, desk)
        timeline = ScriptedDay(script, day, clock, scenario, desk, engine, ViewModelPublisher(live))
        player = Player(timeline, speed or settings.demo_speed, playing=playing)
        player.tick(0.0)  # the opening caption and the demo view before the first page
        on_step(STEP_SHARES["demo_step_first_view"], "demo_step_first_view")
        worker.tick()
        return cls(path, engine, live, clock, timeline, player, worker, settings.live_poll_seconds)

    def start(self) -> None:
        """Start the player and the view-model worker as daemon threads."""
        for name, target, args in (
            ("demo-player", self.player.run, ()),
            ("demo-worker", self.worker.run, (self.worker_every_s,)),
        ):
            thread = threading.Thread(
                target=target, args=(self.stop_event, *args), name=name, daemon=True
            )
            thread.start()
            self.threads.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the threads, release the store and delete the session's file."""
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout)
        self.engine.dispose()
        _remove(self.path)

    @property
    def now(self) -> datetime:
        """Return the demo's simulated time."""
        return self.clock.now()
