"""Play the demo on real stores: the scripted day to closure in its own store, and the replay of
a recorded day on SQLite and PostgreSQL, without writing to the store it reads, and two
visitors' demo rooms side by side."""

from __future__ import annotations

import hashlib
import threading
import time as time_module
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from cockpit.alerts import AlertBook
from cockpit.cases.deadlines import load_cases_config
from cockpit.cases.desk import CaseDesk
from cockpit.clock import DISPLAY_ZONE, ManualClock
from cockpit.demo.controller import DemoController
from cockpit.demo.player import Player
from cockpit.demo.replay import DayReplay
from cockpit.demo.rooms import DemoRooms
from cockpit.demo.script import load_script
from cockpit.demo.scripted import DemoScenario
from cockpit.demo.session import DemoSession, demo_folder
from cockpit.domain.kinds import ComplaintSource
from cockpit.ingest import Ingest
from cockpit.live import InProcessLiveStore
from cockpit.rules.config import load_rules_config
from cockpit.settings import Settings
from cockpit.simulator.generator import seed_street
from cockpit.store import schema
from cockpit.store.database import make_engine, migrate
from cockpit.streaming import StreamingRules
from cockpit.viewmodels import read_view
from data_adapters.recorded_day import RecordedDayReader
from tests.streets import tiny_tier

DAY = date(2026, 5, 20)


def sha256(path) -> str:
    """Return the digest of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_demo_plays_its_day_to_closure_in_its_own_store(tmp_path) -> None:
    """Every highlight caption appears in script order, the cases close, production is untouched."""
    production = tmp_path / "cockpit.db"
    engine = make_engine(f"sqlite:///{production}")
    migrate(engine)
    seed_street(engine, tiny_tier(fire_devices=12), 7, (121.5, 31.3))
    engine.dispose()
    before = sha256(production)
    settings = Settings(data_dir=tmp_path, database_url=None, redis_url=None)
    script = load_script()
    session = DemoSession.open(
        settings, script=script, day=DAY, tier=tiny_tier(fire_devices=12), playing=True
    )
    try:
        assert session.path.parent == demo_folder(settings)
        assert str(session.engine.url) != settings.resolved_database_url
        timeline = session.timeline
        while session.clock.now() < timeline.end:
            timeline.run_until(min(timeline.end, session.clock.now() + timedelta(minutes=1)))
            timeline.desk.sync()  # the worker thread's job, done here between steps
        session.worker.tick()
        session.player.tick(0.0)
        captions = timeline.board.captions()
        expected = [step for step in script.steps if step.captioned]
        assert [c.kind for c in captions] == [step.kind for step in expected]
        assert all(c.zh and c.en and "—" not in c.en for c in captions)  # every value found
        for caption, step in zip(captions, expected, strict=True):
            assert caption.at >= script.when(step, DAY)  # never before its step, in order
            if step.do not in ("await_alert", "incident", "caption"):
                assert caption.at == script.when(step, DAY)  # case steps keep their time
        assert [c.at for c in captions] == sorted(c.at for c in captions)
        view = read_view(session.live, "demo")
        assert view["state"] == "finished" and view["progress"] == 1.0
        assert len(view["captions"]) == len(expected)
        assert read_view(session.live, "overview") is not None
        with session.engine.connect() as conn:
            closed = conn.execute(
                select(func.count()).where(
                    schema.Case.state == "closed", schema.Case.alert_id.is_not(None)
                )
            ).scalar()
        assert closed == 3  # the smoke alarm, the trapped elevator, the enterprise
    finally:
        session.stop()
    assert not session.path.exists()
    assert sha256(production) == before


def record_a_day(engine) -> dict[str, datetime]:
    """Seed a tiny street and record on DAY: a smoke alarm and its case to closure, a complaint
    and a resident request; return when each happened."""
    seed_street(engine, tiny_tier(fire_devices=12), 7, (121.5, 31.3), as_of=DAY)
    live = InProcessLiveStore()
    start = datetime.combine(DAY, time(9), DISPLAY_ZONE)
    clock = ManualClock(start)
    alerts = AlertBook(engine, live)
    desk = CaseDesk(engine, live, clock, load_cases_config(), alerts)
    ingest = Ingest(engine, live, clock, StreamingRules(engine, alerts, load_rules_config()), desk)
    scenario = DemoScenario(engine, ingest, clock, 7)
    scenario.step()
    times = {"complaint": start + timedelta(minutes=5)}
    clock.advance(300)
    ingest.complaint(ComplaintSource.HOTLINE_12345, "T-1", clock.now(), "noise", "噪音", "某路1号")
    clock.advance(60)
    times["request"] = clock.now()
    ingest.resident_request("repair", "楼道灯不亮", clock.now(), "app")
    clock.advance(600)
    times["alarm"] = clock.now()
    scenario.trigger("smoke_alarm", clock.now())
    scenario.step()
    desk.sync()
    # Closed at once: a connection left open in a transaction would block dropping the schema.
    with engine.connect() as conn:
        alert_id = conn.execute(
            select(schema.Alert.id).where(schema.Alert.kind == "fire.smoke")
        ).scalar_one()
        team = conn.execute(
            select(schema.ResponseTeam.id).where(schema.ResponseTeam.kind == "fire").limit(1)
        ).scalar_one()
    case = desk.act("acknowledge", "duty", alert_id=alert_id)
    for minutes, action in (
        (2, "dispatch"),
        (8, "arrive"),
        (20, "handled"),
        (5, "verify"),
        (5, "close"),
    ):
        clock.advance(minutes * 60)
        desk.act(
            action,
            "duty",
            case_id=case.case_id,
            target=f"team:{team}" if action == "dispatch" else None,
        )
        times[action] = clock.now()
    return times


def test_a_recorded_day_replays_in_time_order(any_engine) -> None:
    """The reader finds the day and the replay tells alarm, dispatch, arrival and closure in
    order, on SQLite and PostgreSQL, changing no row of the store it reads."""
    times = record_a_day(any_engine)
    counted = (schema.Alert, schema.CaseHistory, schema.Case, schema.Complaint)

    def counts() -> list[int]:
        with any_engine.connect() as conn:
            return [conn.execute(select(func.count()).select_from(t)).scalar() for t in counted]

    before = counts()
    reader = RecordedDayReader(any_engine)
    days = reader.days_with_data(DAY + timedelta(days=1))
    assert DAY in days and days == sorted(days, reverse=True)
    assert reader.days_with_data(DAY - timedelta(days=1)) == []
    items = reader.read_day(DAY)
    assert [i.at for i in items] == sorted(i.at for i in items)
    assert all(i.at.tzinfo is not None for i in items)
    live = InProcessLiveStore()
    replay = DayReplay(DAY, items, live)
    player = Player(replay, 3600)
    while player.status().state != "finished":
        player.tick(1.0)
    captions = replay.board.captions()
    mine = [c for c in captions if c.kind in ("alarm", "dispatch", "arrival", "closure")]
    assert [c.kind for c in mine] == ["alarm", "dispatch", "arrival", "closure"]
    assert [c.at for c in mine] == [times[k] for k in ("alarm", "dispatch", "arrive", "close")]
    assert mine[0].zh.startswith("红色预警") and mine[0].en.startswith("Red alert")
    assert "微型消防站" in mine[1].zh
    signals = [c.at for c in captions if c.kind == "signal"]
    assert signals == [times["complaint"], times["request"]]
    view = read_view(live, "demo")
    assert (view["mode"], view["state"], view["replay_day"]) == ("replay", "finished", "2026-05-20")
    assert read_view(live, "ticker")["items"][0]["level"] == "red"
    assert counts() == before


def test_two_demo_rooms_play_apart_and_stop_with_the_runtime(tmp_path, sqlite_engine) -> None:
    """Two visitors' rooms get two street files and two clocks: pausing one leaves the other
    playing; the runtime's stop event stops both and removes their files."""
    settings = Settings(data_dir=tmp_path, database_url=None, redis_url=None)
    stop = threading.Event()

    def open_session(settings, **kw) -> DemoSession:
        return DemoSession.open(settings, day=DAY, tier=tiny_tier(fire_devices=12), **kw)

    rooms = DemoRooms(
        lambda: DemoController(
            settings, sqlite_engine, InProcessLiveStore(), open_session=open_session
        ),
        stop,
    )
    demos = [rooms.open(key) for key in ("a" * 32, "b" * 32)]
    deadline = time_module.monotonic() + 120
    while not all(demo.ensure_started() for demo in demos):
        assert time_module.monotonic() < deadline and not any(d.failure for d in demos)
        time_module.sleep(0.05)
    first, second = (demo._session for demo in demos)
    assert first.path != second.path and first.path.exists() and second.path.exists()
    assert demos[0].toggle() == "pause"
    held, moving = first.clock.now(), second.clock.now()
    time_module.sleep(1.5)
    assert first.clock.now() == held and second.clock.now() > moving
    assert demos[1].status() == "playing" and demos[0].status() == "paused"
    stop.set()
    deadline = time_module.monotonic() + 30
    while first.path.exists() or second.path.exists():
        assert time_module.monotonic() < deadline, "the rooms' files were not removed"
        time_module.sleep(0.05)
    assert rooms.open("c" * 32) is None
