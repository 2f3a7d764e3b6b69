"""Seed a month of closed-loop history, so trends, topics and indicators have a past on day one."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import Engine, select

from cockpit.cases.deadlines import load_cases_config
from cockpit.cases.desk import CaseDesk, PastStep, Report
from cockpit.clock import ManualClock
from cockpit.domain.kinds import BuildingUse, CaseSource
from cockpit.domain.services import SERVICES
from cockpit.live import InProcessLiveStore
from cockpit.simulator.scenario import (
    COMPLAINTS_PER_DAY,
    EVERYDAY_COMPLAINTS,
    GRID_CATEGORIES,
    REQUEST_CHANNELS,
    REQUEST_SERVICES,
    RESIDENT_REQUESTS_PER_DAY,
)
from cockpit.store import schema as s

# Grid workers' reports a day on S street; a street's rates scale with its grid workers.
CASES_PER_DAY = 60
S_STREET_WORKERS = 366
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

# Resident requests (Open311) and complaints come at the live scenario's daily rates, each in a
# resident's words: the scenario's where it has them, else these, for every catalogue service.
REQUEST_TEXTS = {
    "elevator": "电梯经常停运，老人上下楼不方便",
    "elderly_care": "楼里独居老人希望社区提供助餐服务",
    "fire_passage": "楼道堆放杂物，堵住了消防通道",
    "illegal_building": "楼顶有人违章搭建彩钢棚",
} | dict(REQUEST_SERVICES)
# How often each service is asked for, relative to the others (unlisted: 5).
REQUEST_MIX = {
    "repair": 16,
    "sanitation": 14,
    "parking": 12,
    "noise": 10,
    "water": 10,
    "elevator": 8,
    "greenery": 7,
    "fire_passage": 7,
    "elderly_care": 5,
    "illegal_building": 4,
}
# Topics rise and fall week on week: each one's share drifts over the history by up to this much
# either way. In each feed one topic flares up in one community for the last days (a building
# site's noise, a broken lift): raised this many times as often, this share of it from there.
TOPIC_DRIFT = 0.7
FLARE_DAYS = (3, 10)
FLARE_BOOST = 3.0
FLARE_LOCAL = 0.7
# Residents who asked for something are called back (回访) more often than others.
REQUEST_REVISIT_SHARE = 0.9
REVISIT_SHARE = 0.7
# Everyday complaints are about homes.
HOME = BuildingUse.RESIDENTIAL.value


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


@dataclass(frozen=True)
class _Topic:
    """Hold one thing residents raise: its code, their words, how often, and how that changes."""

    code: str
    text: str
    weight: float
    drift: float  # the weight runs from (1 - drift) to (1 + drift) times over the history
    source: str | None = None  # the complaint channel; None for a request
    flare: tuple[int, int] | None = None  # (community, days before the end it began)

    def weight_on(self, day: int, days: int) -> float:
        """Return the topic's weight `day` days before the end of a `days`-long history."""
        x = (days - day) / max(1, days - 1)
        weight = self.weight * max(0.15, 1 + self.drift * (2 * x - 1))
        if self.flare is not None and day <= self.flare[1]:
            weight *= FLARE_BOOST
        return weight


@dataclass(frozen=True)
class _Place:
    """Hold a standard address residents report from, and its community."""

    id: int
    text: str
    lon: float
    lat: float
    community: int
    home: bool


def _places(engine: Engine) -> list[_Place]:
    """Read every standard address with its community, in id order."""
    a = s.Address
    with engine.connect() as conn:
        return [
            _Place(row.id, row.full_text, row.lon, row.lat, row.community_id, row.use == HOME)
            for row in conn.execute(
                select(a.id, a.full_text, a.lon, a.lat, s.Grid.community_id, s.Building.use)
                .join(s.Building, s.Building.id == a.building_id)
                .join(s.Grid, s.Grid.id == a.grid_id)
                .order_by(a.id)
            )
        ]


def _topics(rng: random.Random, places: list[_Place]) -> tuple[list[_Topic], list[_Topic]]:
    """Return the request and complaint topics, each with its drift, one of each flaring."""
    requests = [
        _Topic(
            service.code,
            REQUEST_TEXTS.get(service.code, service.description.zh),
            REQUEST_MIX.get(service.code, 5),
            rng.uniform(-TOPIC_DRIFT, TOPIC_DRIFT),
        )
        for service in SERVICES
    ]
    complaints = [
        _Topic(code, text, 1.0, rng.uniform(-TOPIC_DRIFT, TOPIC_DRIFT), source.value)
        for source, (code, text) in EVERYDAY_COMPLAINTS.items()
    ]
    flared = []
    for topics, pool in ((requests, places), (complaints, [p for p in places if p.home])):
        communities = sorted({p.community for p in pool})
        if not communities:
            flared.append(topics)
            continue
        n = rng.randrange(len(topics))
        flare = (rng.choice(communities), rng.randint(*FLARE_DAYS))
        flared.append([replace(t, flare=flare) if i == n else t for i, t in enumerate(topics)])
    return flared[0], flared[1]


def _mentions(
    rng: random.Random,
    repeats: random.Random,
    topics: list[_Topic],
    places: list[_Place],
    end: datetime,
    days: int,
    per_day: int,
    window: timedelta,
) -> list[tuple[datetime, _Topic, _Place]]:
    """Return when, what about and where residents raised things, some raising one again."""
    local: dict[int, list[_Place]] = {}
    for place in places:
        local.setdefault(place.community, []).append(place)
    out: list[tuple[datetime, _Topic, _Place]] = []
    for day in range(days, 0, -1):
        start = end - timedelta(days=day)
        weights = [topic.weight_on(day, days) for topic in topics]
        for _ in range(rng.randint(per_day * 3 // 4, per_day * 5 // 4)):
            at = start + timedelta(hours=_hour(rng), seconds=rng.uniform(0, HOUR))
            topic = rng.choices(topics, weights)[0]
            pool = places
            if topic.flare is not None and day <= topic.flare[1] and rng.random() < FLARE_LOCAL:
                pool = local.get(topic.flare[0]) or places
            place = rng.choice(pool)
            if at < end:
                out.append((at, topic, place))
    out.sort(key=lambda mention: mention[0])
    # A neighbour raises the same problem again soon after: the case desk links it, if open.
    lookback = (window.days + 2) * (per_day * 5 // 4 + 1)
    for n, (at, _, _) in enumerate(out):
        if n == 0 or repeats.random() >= REPEAT_SHARE:
            continue
        for _ in range(REPEAT_TRIES):
            first_at, topic, place = out[repeats.randrange(max(0, n - lookback), n)]
            if at - window <= first_at < at:
                out[n] = (at, topic, place)
                break
    return out


def _hour(rng: random.Random) -> int:
    """Return the hour of a day something is reported: few at night, most in working hours."""
    return rng.choices(range(24), [1] * 7 + [4] * 12 + [2] * 5)[0]


def _feeds(
    rng: random.Random,
    repeats: random.Random,
    places: list[_Place],
    end: datetime,
    days: int,
    scale: float,
    window: timedelta,
) -> tuple[list[dict], list[dict]]:
    """Return past resident requests and complaints (rows without ids), simulated throughout."""
    request_topics, complaint_topics = _topics(rng, places)
    homes = [p for p in places if p.home] or places
    requests = [
        {
            "service_code": topic.code,
            "description": topic.text,
            "channel": rng.choice(REQUEST_CHANNELS),
            "requested_at": at,
            "lon": place.lon,
            "lat": place.lat,
            "address_text": place.text,
            "address_id": place.id,
        }
        for at, topic, place in _mentions(
            rng,
            repeats,
            request_topics,
            places,
            end,
            days,
            max(1, round(RESIDENT_REQUESTS_PER_DAY * scale)),
            window,
        )
    ]
    # Everyday complaints are about homes, as live; none names an enterprise, so none would have
    # raised an enterprise "smoke" alert the history does not write.
    complaints = [
        {
            "source": topic.source,
            "external_id": f"SIM-H{at.timestamp() * 1000:.0f}-{n}",
            "received_at": at,
            "category": topic.code,
            "text": topic.text,
            "address_text": place.text,
            "address_id": place.id,
            "enterprise_id": None,
        }
        for n, (at, topic, place) in enumerate(
            _mentions(
                rng,
                repeats,
                complaint_topics,
                homes,
                end,
                days,
                max(1, round(COMPLAINTS_PER_DAY * scale)),
                window,
            )
        )
    ]
    return requests, complaints


def _steps(
    rng: random.Random,
    at: datetime,
    end: datetime,
    street: _Street,
    worker: int,
    *,
    revisit_share: float = REVISIT_SHARE,
):
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
    if rng.random() < revisit_share:
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
    """Write `days` of past cases, requests and complaints through the case desk; return cases.

    Grid workers' reports, resident requests and complaints each draw from random streams of
    their own, so adding one leaves the others' draws as they were.
    """
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
    scale = len(street.workers) / S_STREET_WORKERS
    per_day = max(1, round(CASES_PER_DAY * scale))
    # Enough of the latest plans to hold every report of the window.
    lookback = (window.days + 2) * (per_day * 5 // 4 + 1)
    plans: list[tuple[Report, list[PastStep]]] = []
    for day in range(days, 0, -1):
        start = end - timedelta(days=day)
        for _ in range(rng.randint(per_day * 3 // 4, per_day * 5 // 4)):
            # Reports follow the day: few at night, most in working hours.
            hour = _hour(rng)
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
    requests, complaints = _feeds(
        random.Random(f"{seed}:history feeds"),
        random.Random(f"{seed}:history feed repeats"),
        _places(engine),
        end,
        days,
        scale,
        window,
    )
    handling = random.Random(f"{seed}:history feed steps")

    def steps(report: Report) -> list[PastStep]:
        """Return what happened to a request's or complaint's case, handled in its grid."""
        worker = grids.get(report.grid_id) or handling.choice(street.workers)[0]
        share = REQUEST_REVISIT_SHARE if report.source is CaseSource.RESIDENT else REVISIT_SHARE
        return _steps(handling, report.reported_at, end, street, worker, revisit_share=share)

    return desk.record_past(plans, requests=requests, complaints=complaints, steps=steps)
