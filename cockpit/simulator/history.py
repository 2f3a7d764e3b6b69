"""Seed a month of closed-loop history, so trends and indicators have a past on the first day."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import Engine, select

from cockpit.cases.deadlines import load_cases_config
from cockpit.cases.desk import CaseDesk, PastStep, Report
from cockpit.clock import ManualClock
from cockpit.domain.kinds import CaseSource
from cockpit.live import InProcessLiveStore
from cockpit.simulator.scenario import GRID_CATEGORIES, REQUEST_SERVICES
from cockpit.store import schema as s

# Grid reports, resident requests and complaints the live scenario turns into cases each day.
CASES_PER_DAY = 60
CATEGORIES = GRID_CATEGORIES + tuple(
    (code, title.split("，")[0]) for code, title in REQUEST_SERVICES if code in ("repair", "noise")
)
HOUR = 3600.0
# The share of past reports that report an earlier problem again (same place and category):
# the case desk links those still open within its duplicates window to the case, as live.
REPEAT_SHARE = 0.1
REPEAT_TRIES = 8
# Most repeats come while the problem is fresh (and its case most likely open).
REPEAT_WITHIN = timedelta(hours=24)


@dataclass(frozen=True)
class _Street:
    """Hold who and where cases can be sent to: grid workers by grid, communities, teams."""

    workers: list[tuple[int, int]]  # (worker id, grid id)
    communities: list[int]
    teams: list[int]
    addresses: list[tuple[int, int, int, float, float]]  # (id, building, grid, lon, lat)


def _street(engine: Engine) -> _Street:
    """Read the targets and addresses past cases are drawn from."""
    with engine.connect() as conn:
        return _Street(
            [tuple(r) for r in conn.execute(select(s.GridWorker.id, s.GridWorker.grid_id))],
            list(conn.scalars(select(s.Community.id))),
            list(conn.scalars(select(s.ResponseTeam.id))),
            [
                tuple(r)
                for r in conn.execute(
                    select(
                        s.Address.id,
                        s.Address.building_id,
                        s.Building.grid_id,
                        s.Address.lon,
                        s.Address.lat,
                    ).join(s.Building, s.Building.id == s.Address.building_id)
                )
            ],
        )


def _steps(rng: random.Random, at: datetime, end: datetime, street: _Street, worker: int):
    """Return the actions a case reported at `at` went through before `end`."""
    steps: list[PastStep] = []

    def after(low_h: float, high_h: float) -> datetime:
        nonlocal at
        at = at + timedelta(seconds=rng.uniform(low_h, high_h) * HOUR)
        return at

    def step(action: str, actor: str, *, low: float, high: float, **kw) -> bool:
        when = after(low, high)
        if when >= end:
            return False
        steps.append(PastStep(action, actor, when, **kw))
        return True

    if not step("register", "centre", low=0.05, high=0.8):
        return steps
    roll = rng.random()
    if roll < 0.01:
        step("void", "centre", low=0.1, high=1, note="重复上报，已并案")
        return steps
    if roll < 0.03:
        if not step("escalate", "centre", low=0.5, high=3, note="涉及多部门，街道无法单独解决"):
            return steps
        if not step("handled", "district", low=4, high=48):
            return steps
    else:
        target_roll = rng.random()
        if target_roll < 0.55:
            target = f"worker:{worker}"
        elif target_roll < 0.85 and street.communities:
            target = f"community:{rng.choice(street.communities)}"
        else:
            target = f"team:{rng.choice(street.teams)}" if street.teams else f"worker:{worker}"
        if not step("dispatch", "centre", low=0.1, high=1.2, target=target):
            return steps
        if not step("accept", target, low=0.1, high=1.5):
            return steps
        if rng.random() < 0.02 and not step("park", "centre", low=1, high=4, note="待产权方确认"):
            return steps
        if steps[-1].action == "park" and not step("resume", "centre", low=12, high=72):
            return steps
        # Most are handled well inside their limit; some run late, as the indicators should show.
        late = rng.random() < 0.12
        if not step(
            "handled", target, low=20 if late else 0.5, high=60 if late else 16, note="已处置"
        ):
            return steps
        if rng.random() < 0.06:
            if not step("reject", "centre", low=0.5, high=3, note="核查未达标准，返工"):
                return steps
            if not step("handled", target, low=1, high=12, note="返工完成"):
                return steps
    if not step("verify", "centre", low=0.3, high=4):
        return steps
    if not step("close", "centre", low=0.05, high=1):
        return steps
    if rng.random() < 0.7:
        satisfaction = rng.choices((5, 4, 3, 2, 1), (62, 25, 8, 3, 2))[0]
        step("revisit", "centre", low=2, high=30, satisfaction=satisfaction)
    return steps


def _repeat(
    rng: random.Random,
    report: Report,
    plans: list[tuple[Report, list[PastStep]]],
    lookback: int,
    window: timedelta,
) -> Report | None:
    """Return the report as a repeat of a problem reported within the window before it, if any.

    Picks among the last `lookback` plans (they cover the window) a few times at random rather
    than scanning them: a big street writes thousands of reports a day.
    """
    at = report.reported_at
    for _ in range(REPEAT_TRIES):
        if not plans:
            return None
        first = plans[rng.randrange(max(0, len(plans) - lookback), len(plans))][0]
        if at - window <= first.reported_at < at:
            # The grid's worker comes by again and finds it still (or again) there.
            return replace(first, description=f"{first.title}（再次上报）", reported_at=at)
    return None


def seed_history(engine: Engine, end: datetime, days: int = 30, seed: int = 42) -> int:
    """Write `days` of past cases ending at `end` through the case desk; return how many."""
    street = _street(engine)
    if not street.workers or not street.addresses:
        return 0
    rng = random.Random(f"{seed}:history")
    # Repeats draw from their own stream: every other report is drawn as it was without them.
    repeats = random.Random(f"{seed}:repeats")
    grids = {grid: worker for worker, grid in street.workers}
    config = load_cases_config()
    window = min(REPEAT_WITHIN, timedelta(hours=config.duplicates.window_hours))
    desk = CaseDesk(engine, InProcessLiveStore(), ManualClock(end), config)
    per_day = max(1, round(CASES_PER_DAY * len(street.workers) / 366))
    # Enough of the latest plans to hold every report of the window.
    lookback = (window.days + 2) * (per_day * 5 // 4 + 1)
    plans: list[tuple[Report, list[PastStep]]] = []
    for day in range(days, 0, -1):
        start = end - timedelta(days=day)
        for _ in range(rng.randint(per_day * 3 // 4, per_day * 5 // 4)):
            # Reports follow the day: few at night, most in working hours.
            hour = rng.choices(range(24), [1] * 7 + [4] * 12 + [2] * 5)[0]
            at = start + timedelta(hours=hour, seconds=rng.uniform(0, HOUR))
            if at >= end:
                continue
            address, building, grid, lon, lat = rng.choice(street.addresses)
            worker = grids.get(grid) or rng.choice(street.workers)[0]
            code, title = rng.choice(CATEGORIES)
            report = Report(
                source=CaseSource.GRID_WORKER,
                category=code,
                title=title,
                description=f"{title}（网格巡查）",
                reported_at=at,
                grid_id=grid,
                address_id=address,
                building_id=building,
                lon=lon,
                lat=lat,
                reporter_worker_id=worker,
            )
            if repeats.random() < REPEAT_SHARE:
                report = _repeat(repeats, report, plans, lookback, window) or report
            plans.append((report, _steps(rng, at, end, street, report.reporter_worker_id)))
    plans.sort(key=lambda plan: plan[0].reported_at)
    return desk.record_past(plans)
