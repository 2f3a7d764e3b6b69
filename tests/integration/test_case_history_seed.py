"""Check that seeded history equals what live actions would have written, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from cockpit.cases.deadlines import load_cases_config
from cockpit.cases.desk import CaseDesk
from cockpit.clock import ManualClock
from cockpit.live import InProcessLiveStore
from cockpit.simulator import history
from cockpit.simulator.generator import seed_street
from cockpit.store import schema
from cockpit.store.database import make_engine, migrate
from tests.streets import tiny_tier

pytestmark = pytest.mark.integration
END = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # a Friday, 18:00 in Shanghai
COMPARED = (
    "state",
    "deadline_at",
    "closed_at",
    "resolution_level",
    "department",
    "assignee",
    "rework_count",
    "satisfaction",
    "handle_due_at",
    "verified_at",
    "paused_remaining_s",
)


class SetClock:
    """Tell whatever time the test sets: past cases overlap, so time goes back and forth."""

    at = END

    def now(self) -> datetime:
        """Return the time last set."""
        return self.at


def plans(engine, days: int = 6):
    """Return the history module's plans of past cases for the tiny street."""
    street = history._street(engine)
    rng = random.Random("equal")
    out = []
    # One case per (category, building): a live desk links repeats, the bulk writer does not.
    places = {a[1]: a for a in street.addresses}
    problems = [(c, b) for c, _ in history.CATEGORIES for b in sorted(places)]
    for n, (category, building_id) in enumerate(rng.sample(problems, 60)):
        at = END - (END - END.replace(day=END.day - days)) * rng.random()
        address, building, grid, lon, lat = places[building_id]
        worker = rng.choice(street.workers)[0]
        report = history.Report(
            source=history.CaseSource.GRID_WORKER,
            category=category,
            title="暴露垃圾",
            description="网格巡查",
            reported_at=at,
            grid_id=grid,
            address_id=address,
            building_id=building,
            lon=lon,
            lat=lat,
            reporter_worker_id=worker,
            code=f"T{n:04d}",
        )
        out.append((report, history._steps(rng, at, END, street, worker)))
    return sorted(out, key=lambda plan: plan[0].reported_at)


def cases(engine) -> list[tuple]:
    """Return every case's compared columns and its history, in code order."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(schema.Case.code, *(schema.Case.__table__.c[c] for c in COMPARED)).order_by(
                schema.Case.code
            )
        ).all()
        steps = conn.execute(
            select(
                schema.Case.code,
                schema.CaseHistory.action,
                schema.CaseHistory.from_state,
                schema.CaseHistory.to_state,
                schema.CaseHistory.at,
            )
            .join(schema.Case, schema.Case.id == schema.CaseHistory.case_id)
            .order_by(schema.Case.code, schema.CaseHistory.id)
        ).all()
    return [tuple(r) for r in rows] + [tuple(r) for r in steps]


def test_bulk_history_equals_live_actions(any_engine, tmp_path) -> None:
    seed_street(any_engine, tiny_tier(), 9, (121.5, 31.3))
    live_path = make_engine(f"sqlite:///{tmp_path / 'live.db'}")
    migrate(live_path)
    seed_street(live_path, tiny_tier(), 9, (121.5, 31.3))
    config = load_cases_config()
    past = plans(any_engine)
    assert any(len(steps) >= 6 for _, steps in past)  # some go all the way round

    bulk = CaseDesk(any_engine, InProcessLiveStore(), ManualClock(END), config)
    assert bulk.record_past(past) == len(past)

    clock = SetClock()
    one_by_one = CaseDesk(live_path, InProcessLiveStore(), clock, config)
    for report, steps in past:
        case_id = one_by_one.report(report)
        for step in steps:
            clock.at = step.at
            one_by_one.act(
                step.action,
                step.actor,
                case_id=case_id,
                note=step.note,
                target=step.target,
                satisfaction=step.satisfaction,
            )
    assert cases(any_engine) == cases(live_path)
    live_path.dispose()


def test_seed_history_leaves_a_month_of_cases_mostly_closed(sqlite_engine) -> None:
    seed_street(sqlite_engine, tiny_tier(), 9, (121.5, 31.3))
    written = history.seed_history(sqlite_engine, END, days=30, seed=9)
    with sqlite_engine.connect() as conn:
        first, last = conn.execute(
            select(func.min(schema.Case.reported_at), func.max(schema.Case.reported_at))
        ).one()
        closed = conn.scalar(
            select(func.count()).where(schema.Case.state.in_(("closed", "evaluated")))
        )
    assert written > 0 and (END - first).days == 29 and last < END
    assert closed / written > 0.8
