"""Poll the SQL store for the closed loop: open cases, revisits due, the funnel and the indicators."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, case, func, or_, select

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

    def __init__(self, engine: Engine, clock: Clock, interval: timedelta) -> None:
        super().__init__(clock, interval)
        self.engine = engine

    def _fetch(self) -> dict[str, Any]:
        """Return the facts; `_facts` lists the keys."""
        now = self.clock.now()
        return read_store(self.engine, lambda conn: self._facts(conn, now))

    def _facts(self, conn: Connection, now: datetime) -> dict[str, Any]:
        """Return now, by_state, cases_today, open, revisits, history, targets and indicators."""
        today = now.astimezone(DISPLAY_ZONE).date()
        since = display_day_start(today - timedelta(days=WINDOW_DAYS - 1))
        c = s.Case
        columns = [getattr(c, name) for name in CASE_COLUMNS]
        by_state = dict(conn.execute(select(c.state, func.count()).group_by(c.state)).all())
        cases_today = conn.execute(
            select(func.count()).select_from(c).where(c.reported_at >= display_day_start(today))
        ).scalar_one()
        urgent_first = case((c.priority == "urgent", 0), else_=1)
        open_rows = conn.execute(
            select(*columns)
            .where(c.state.in_(OPEN_STATES))
            .order_by(urgent_first, c.deadline_at.is_(None), c.deadline_at, c.id)
            .limit(OPEN_LIMIT)
        ).mappings()
        open_cases = [_jsonable(row) for row in open_rows]
        # Closed but not yet revisited: the grid worker asks the resident how it went (回访).
        revisits = [
            _jsonable(row)
            for row in conn.execute(
                select(*columns)
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
        listed = [row["id"] for row in open_cases[:HISTORY_CASES]]
        history: dict[int, list[dict[str, Any]]] = {}
        if listed:
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
                .where(h.case_id.in_(listed))
                .order_by(h.case_id, h.at, h.id)
            ).mappings():
                entry = _jsonable(row)
                if entry["repeats"] is None:  # only a case's one repeats row carries them
                    del entry["repeats"], entry["last_at"]
                history.setdefault(entry.pop("case_id"), []).append(entry)
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
            "indicators": indicators.compute(conn, since, now),
        }


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
