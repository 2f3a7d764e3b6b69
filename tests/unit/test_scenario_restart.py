"""Test that a restarted live scenario neither replays its scripted incidents nor moves them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from cockpit.clock import ManualClock
from cockpit.demo.scripted import DemoScenario
from cockpit.ingest import Ingest
from cockpit.live import InProcessLiveStore
from cockpit.simulator.generator import seed_street
from cockpit.simulator.scenario import SCRIPT, LiveScenario
from cockpit.store import schema
from tests.streets import tiny_tier

START = datetime(2026, 11, 21, 0, 0, tzinfo=UTC)


@pytest.fixture
def street(sqlite_engine):
    """Return (engine, clock) on a freshly seeded tiny street."""
    seed_street(sqlite_engine, tiny_tier(fire_devices=12), 5, (121.5, 31.3))
    return sqlite_engine, ManualClock(START)


def start(engine, clock) -> tuple[LiveScenario, InProcessLiveStore]:
    """Start a scenario as a fresh process would: its own live store, the same database."""
    live = InProcessLiveStore()
    return LiveScenario(engine, Ingest(engine, live, clock), clock, 5), live


def run(clock, scenario, seconds, step=30) -> None:
    """Advance the clock in steps, letting the scenario emit what is due."""
    for _ in range(int(seconds // step)):
        clock.advance(step)
        scenario.step()


def alarms(live) -> int:
    """Return how many smoke alarms the devices sent."""
    events = live.read_events("device_events", limit=10**6)
    return sum(1 for _, e in events if e["values"].get("alarm"))


def test_restart_does_not_replay_the_smoke_alarm(street):
    engine, clock = street
    first, live = start(engine, clock)
    run(clock, first, 3 * 60)
    assert [i.name for _, i in first.played] == ["smoke_alarm"] and alarms(live) == 1
    # The cockpit restarts: a new scenario on the same store, its clock three minutes on.
    second, live_after = start(engine, clock)
    run(clock, second, 5 * 60)
    assert alarms(live_after) == 0
    assert [i.name for _, i in second.played] == ["trapped_elevator"]
    with engine.connect() as conn:
        played = dict(
            conn.execute(
                select(schema.ScenarioIncident.name, schema.ScenarioIncident.played_at).where(
                    schema.ScenarioIncident.played_at.is_not(None)
                )
            ).all()
        )
    assert set(played) == {"smoke_alarm", "trapped_elevator"}


def test_incidents_to_come_keep_their_times_across_a_restart(street):
    engine, clock = street
    first, _ = start(engine, clock)
    run(clock, first, 60)
    clock.advance(3600)  # down for an hour: the trapped elevator was due meanwhile
    second, _ = start(engine, clock)
    run(clock, second, 60)
    played = {i.name: at for at, i in second.played}
    assert played == {
        "smoke_alarm": START + timedelta(minutes=2),
        "trapped_elevator": START + timedelta(minutes=5),
        "enterprise_110": START + timedelta(minutes=10),
    }
    with engine.connect() as conn:
        due = dict(
            conn.execute(select(schema.ScenarioIncident.name, schema.ScenarioIncident.due_at)).all()
        )
    assert due == {i.name: START + i.at for i in SCRIPT}


def test_two_scenarios_on_one_store_play_an_incident_once(street):
    engine, clock = street
    one, live_one = start(engine, clock)
    two, live_two = start(engine, clock)
    run(clock, one, 3 * 60, step=60)
    run(clock, two, 60, step=60)
    assert alarms(live_one) + alarms(live_two) == 1


def test_a_demo_scenario_keeps_no_timetable(street):
    engine, clock = street
    live = InProcessLiveStore()
    demo = DemoScenario(engine, Ingest(engine, live, clock), clock, 5)
    run(clock, demo, 10 * 60, step=60)
    assert demo.played == []
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(schema.ScenarioIncident)) == 0
