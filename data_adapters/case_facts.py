"""Poll the SQL store for the closed loop: open cases, revisits due, the funnel and the indicators."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Select, case, func, or_, select
from sqlalchemy.orm import aliased

from cockpit.cases import indicators
from cockpit.cases.workflow import ENDED
from cockpit.clock import DISPLAY_ZONE, Clock
from cockpit.domain.kinds import CaseState
from cockpit.store import schema as s
from data_adapters.base import Adapter, read_store, rows_as_dicts
from data_adapters.panel_facts import display_day_start

WINDOW_DAYS = 30
OPEN_STATES = tuple(state.value for state in CaseState if state not in ENDED)
# The map and the lists need the open cases; a street in crisis is capped, the most urgent first.
OPEN_LIMIT = 2000
HISTORY_CASES = 100
CASE_COLUMNS = (
    "id",
    "code",
    "source",
    "category",
    "title",
    "title_en",
    "state",
    "parked_from",
    "priority",
    "centre",
    "routing",
    "assignee",
    "department",
    "grid_id",
    "building_id",
    "reporter_worker_id",
    "lon",
    "lat",
    "reported_at",
    "deadline_at",
    "paused_remaining_s",
    "supervised_at",
    "escalated_at",
    "dispatch_count",
    "rework_count",
)


class CaseFactsAdapter(Adapter[dict[str, Any]]):
    """Read what the `cases` view model needs in a handful of queries on one connection."""

    name = "case_facts"

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        interval: timedelta,
        indicators_every: timedelta = timedelta(0),
    ) -> None:
        super().__init__(clock, interval)
        self.engine = engine
        # The 30-day indicators are the costliest read (a quarter second at district scale) and
        # move slowly: recomputed at most this often, and on a new day, while the open cases
        # and the funnel are read at every refresh.
        self.indicators_every = indicators_every
        self._indicators: tuple[datetime, datetime, dict[str, Any]] | None = None

    def _indicators_now(self, conn: Connection, since: datetime, now: datetime) -> dict[str, Any]:
        """Return the indicators since `since`, computed again once `indicators_every` passed."""
        held = self._indicators
        if held is None or held[0] != since or now - held[1] >= self.indicators_every:
            held = self._indicators = (since, now, indicators.compute(conn, since, now))
        return held[2]

    def _fetch(self) -> dict[str, Any]:
        """Return the facts; `_facts` lists the keys."""
        now = self.clock.now()
        return read_store(self.engine, lambda conn: self._facts(conn, now))

    def _facts(self, conn: Connection, now: datetime) -> dict[str, Any]:
        """Return now, by_state, cases_today, open, revisits, history, targets and indicators."""
        today = now.astimezone(DISPLAY_ZONE).date()
        since = display_day_start(today - timedelta(days=WINDOW_DAYS - 1))
        c = s.Case
        columns = [getattr(c, name) for name in CASE_COLUMNS] + place_columns()
        by_state = dict(conn.execute(select(c.state, func.count()).group_by(c.state)).all())
        cases_today = conn.execute(
            select(func.count()).select_from(c).where(c.reported_at >= display_day_start(today))
        ).scalar_one()
        urgent_first = case((c.priority == "urgent", 0), else_=1)
        open_rows = conn.execute(
            placed(select(*columns))
            .where(c.state.in_(OPEN_STATES))
            .order_by(urgent_first, c.deadline_at.is_(None), c.deadline_at, c.id)
            .limit(OPEN_LIMIT)
        ).mappings()
        open_cases = [_jsonable(row) for row in open_rows]
        # Closed but not yet revisited: the grid worker asks the resident how it went (回访).
        revisits = [
            _jsonable(row)
            for row in conn.execute(
                placed(select(*columns))
                .where(
                    c.state == CaseState.CLOSED.value,
                    c.closed_at >= since,
                    # Only a grid worker revisits; the rest are the street centre's phone calls.
                    or_(c.assignee.like("worker:%"), c.reporter_worker_id.is_not(None)),
                )
                .order_by(c.closed_at)
                .limit(OPEN_LIMIT)
            ).mappings()
        ]
        history = _histories(conn, [row["id"] for row in open_cases[:HISTORY_CASES]])
        targets = _targets(conn)
        worker_grids = {w["id"]: w["grid_id"] for w in targets["workers"]}
        return {
            "now": now.isoformat(),
            "by_state": by_state,
            "cases_today": cases_today,
            "open": open_cases,
            "open_total": sum(n for state, n in by_state.items() if state in OPEN_STATES),
            "revisits": revisits,
            "history": history,
            "worker_grids": worker_grids,
            "targets": targets,
            "indicators": self._indicators_now(conn, since, now),
        }


class CaseReader:
    """Read one case by id, as the `cases` view lists it, for a card the lists leave out."""

    # The published lists hold the hundred most pressing open cases; a street with more (or a
    # closed case opened from a KPI list) still needs its card: one indexed read per tap.

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def one(self, case_id: int) -> dict[str, Any] | None:
        """Return the case's row (with its place and history), or None when there is none."""

        def work(conn: Connection) -> dict[str, Any] | None:
            c = s.Case
            columns = [getattr(c, name) for name in CASE_COLUMNS] + place_columns()
            row = conn.execute(placed(select(*columns)).where(c.id == case_id)).mappings().first()
            if row is None:
                return None
            return dict(_jsonable(row), history=_histories(conn, [case_id]).get(case_id, []))

        return read_store(self.engine, work)


def _histories(conn: Connection, case_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Return each listed case's history entries, oldest first (a case's repeats folded in one)."""
    history: dict[int, list[dict[str, Any]]] = {}
    if not case_ids:
        return history
    h = s.CaseHistory
    for row in conn.execute(
        select(
            h.case_id,
            h.action,
            h.from_state,
            h.to_state,
            h.actor,
            h.at,
            h.note,
            h.repeats,
            h.last_at,
        )
        .where(h.case_id.in_(case_ids))
        .order_by(h.case_id, h.at, h.id)
    ).mappings():
        entry = _jsonable(row)
        if entry["repeats"] is None:  # only a case's one repeats row carries them
            del entry["repeats"], entry["last_at"]
        history.setdefault(entry.pop("case_id"), []).append(entry)
    return history


# Where each case is (cockpit.places): its address, else its building's first address; the
# building, grid and community by name. Joined once in the case queries, never per card.
_ADDRESS = aliased(s.Address, name="case_address")
_FIRST = aliased(s.Address, name="first_address")
_BUILDING_OF = func.coalesce(s.Case.building_id, _ADDRESS.building_id)


def _first_address(column: str):
    """Return the building's first standard address's column, for a case with no address."""
    return (
        select(getattr(_FIRST, column))
        .where(_FIRST.building_id == s.Building.id)
        .order_by(_FIRST.id)
        .limit(1)
        .scalar_subquery()
    )


def _device_floor():
    """Return the floor of the device whose alert opened the case (a smoke alarm's 5楼), if any."""
    return (
        select(s.Device.floor)
        .join(s.Alert, s.Alert.object_id == s.Device.id)
        .where(s.Alert.id == s.Case.alert_id, s.Alert.object_type == "device")
        .limit(1)
        .scalar_subquery()
    )


def place_columns() -> list[Any]:
    """Return the where_* columns the case queries add (see `placed` for their joins)."""
    return [
        func.coalesce(_ADDRESS.road, _first_address("road")).label("where_road"),
        func.coalesce(_ADDRESS.number, _first_address("number")).label("where_number"),
        s.Building.id.label("where_building_id"),
        s.Building.name.label("where_building"),
        s.Building.use.label("where_use"),
        s.Building.floors.label("where_floors"),
        _device_floor().label("where_floor"),
        s.Grid.name.label("where_grid"),
        s.Community.name.label("where_community"),
        func.coalesce(s.Case.lon, _ADDRESS.lon, s.Building.lon).label("where_lon"),
        func.coalesce(s.Case.lat, _ADDRESS.lat, s.Building.lat).label("where_lat"),
    ]


def placed(query: Select) -> Select:
    """Return a case query joined to its address, building, grid and community (all optional)."""
    return (
        query.select_from(s.Case)
        .outerjoin(_ADDRESS, _ADDRESS.id == s.Case.address_id)
        .outerjoin(s.Building, s.Building.id == _BUILDING_OF)
        .outerjoin(s.Grid, s.Grid.id == func.coalesce(s.Case.grid_id, s.Building.grid_id))
        .outerjoin(s.Community, s.Community.id == s.Grid.community_id)
    )


def _targets(conn: Connection) -> dict[str, list[dict[str, Any]]]:
    """Return whom a case can be dispatched to: grid workers, response teams, communities."""
    # Names as stored: the view model masks the grid workers' before publishing them.
    w, t, c = s.GridWorker, s.ResponseTeam, s.Community
    return {
        "workers": rows_as_dicts(conn, select(w.id, w.grid_id, w.name).order_by(w.id)),
        "teams": rows_as_dicts(conn, select(t.id, t.kind, t.name).order_by(t.id)),
        "communities": rows_as_dicts(conn, select(c.id, c.name).order_by(c.id)),
    }


def _jsonable(row) -> dict[str, Any]:
    """Return a row as a dict with times as ISO strings."""
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in dict(row).items()}
