"""Check that seeded history equals what live actions would have written, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta

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
    """Return the history module's plans of past cases for the tiny street, with repeats."""
    street = history._street(engine)
    rng = random.Random("equal")
    out = []
    # One problem per (category, building), and some reported again: soon (the case is open and
    # links the repeat), or after the case closed or the duplicates window ended (a new case).
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
    for n, (first, steps) in enumerate(list(out)):
        closed = next((step.at for step in steps if step.action == "close"), None)
        if n % 5 == 0:
            later = first.reported_at + timedelta(minutes=rng.uniform(1, 20))
        elif n % 5 == 1 and closed is not None:
            later = closed + timedelta(hours=1)
        elif n % 5 == 2:
            later = first.reported_at + timedelta(hours=75)
        else:
            continue
        if later >= END:
            continue
        again = dataclasses.replace(first, reported_at=later, code=f"R{n:04d}")
        out.append((again, history._steps(rng, later, END, street, first.reporter_worker_id)))
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
        reports = conn.execute(
            select(
                schema.Case.code,
                schema.CaseReport.source,
                schema.CaseReport.reported_at,
                schema.CaseReport.linked,
            )
            .join(schema.Case, schema.Case.id == schema.CaseReport.case_id)
            .order_by(schema.Case.code, schema.CaseReport.reported_at)
        ).all()
    return [tuple(r) for r in rows] + [tuple(r) for r in steps] + [tuple(r) for r in reports]


def test_bulk_history_equals_live_actions(any_engine, tmp_path) -> None:
    seed_street(any_engine, tiny_tier(), 9, (121.5, 31.3))
    live_path = make_engine(f"sqlite:///{tmp_path / 'live.db'}")
    migrate(live_path)
    seed_street(live_path, tiny_tier(), 9, (121.5, 31.3))
    config = load_cases_config()
    past = plans(any_engine)
    assert any(len(steps) >= 6 for _, steps in past)  # some go all the way round

    bulk = CaseDesk(any_engine, InProcessLiveStore(), ManualClock(END), config)
    written = bulk.record_past(past)

    clock = SetClock()
    one_by_one = CaseDesk(live_path, InProcessLiveStore(), clock, config)
    # Live, reports and actions come in the order they happen: whether a repeat finds its case
    # open depends on what happened to the case before the repeat, not after.
    events = [(report.reported_at, n, None) for n, (report, _) in enumerate(past)]
    events += [(step.at, n, step) for n, (_, steps) in enumerate(past) for step in steps]
    events.sort(key=lambda event: (event[0], event[2] is not None, event[1]))
    case_of: dict[int, int] = {}
    for at, n, step in events:
        clock.at = at
        if step is None:
            case_id = one_by_one.report(past[n][0])
            if case_id not in case_of.values():
                case_of[n] = case_id  # a linked repeat has no steps of its own
        elif n in case_of:
            one_by_one.act(
                step.action,
                step.actor,
                case_id=case_of[n],
                note=step.note,
                target=step.target,
                satisfaction=step.satisfaction,
            )
    assert cases(any_engine) == cases(live_path)
    with any_engine.connect() as conn:
        links = conn.execute(
            select(schema.Case.code, schema.CaseHistory.from_state, schema.CaseHistory.to_state)
            .join(schema.Case, schema.Case.id == schema.CaseHistory.case_id)
            .where(schema.CaseHistory.action == "link")
        ).all()
        linked = conn.scalar(select(func.count()).where(schema.CaseReport.linked.is_(True)))
        repeats_opened = conn.scalar(select(func.count()).where(schema.Case.code.like("R%")))
    # Both sides of the rule were exercised: repeats linked to an open case, and repeats of a
    # closed (or too old) case opened their own.
    assert links and len(links) == linked == len(past) - written
    assert all(code.startswith("T") and was == now for code, was, now in links)
    assert repeats_opened > 0
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


def test_seed_history_links_repeats_while_their_case_is_open(sqlite_engine) -> None:
    seed_street(sqlite_engine, tiny_tier(grid_workers=60), 9, (121.5, 31.3))
    history.seed_history(sqlite_engine, END, days=30, seed=9)
    window = timedelta(hours=load_cases_config().duplicates.window_hours)
    c, h = schema.Case, schema.CaseHistory
    with sqlite_engine.connect() as conn:
        links = conn.execute(
            select(h.at, h.from_state, h.to_state, c.reported_at, c.closed_at)
            .join(c, c.id == h.case_id)
            .where(h.action == "link")
        ).all()
        linked = conn.scalar(select(func.count()).where(schema.CaseReport.linked.is_(True)))
    assert links and len(links) == linked
    for at, was, now, reported_at, closed_at in links:
        assert was == now and was not in ("closed", "evaluated", "voided")
        assert reported_at < at <= reported_at + window
        assert closed_at is None or at < closed_at
