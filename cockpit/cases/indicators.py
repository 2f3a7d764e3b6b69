"""Compute the case indicators of the GB/T 30428 family per community, grid and department, ranked.

One grouped SQL query per dimension over the cases reported in the window. Each row holds:
registered, on_time_acceptance, accurate_dispatch, on_time_handling, overdue,
on_time_verification, rework_rate, closure_rate, on_time_closure, satisfaction (mean score 1-5),
satisfied_share (4 or 5), self_handled_share, score (0-100) and rank (1 = best). Rates are
shares from 0 to 1, or None when nothing was counted yet. Rows also carry key and name; community
and grid rows carry name_en too (romanised, else "Community 6" / "Grid 12"): never Chinese.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, case, func, or_, select

from cockpit.cases.workflow import ENDED
from cockpit.domain.kinds import CaseState
from cockpit.i18n import place_name
from cockpit.store import schema as s

CLOSED = (CaseState.CLOSED.value, CaseState.EVALUATED.value)
OPEN = tuple(state.value for state in CaseState if state not in ENDED)
# The score weighs what residents feel most: handled on time, closed, closed on time, satisfied.
SCORE_WEIGHTS = {
    "on_time_handling": 0.3,
    "closure_rate": 0.3,
    "on_time_closure": 0.2,
    "satisfied_share": 0.2,
}
# The simulator's and many streets' grid names: 长白社区第3网格.


def _count(condition) -> Any:
    """Return SUM(CASE WHEN condition THEN 1 ELSE 0 END)."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _on_time(done, due) -> Any:
    """Return the condition 'done, and by its due time (or with no due time)'."""
    return and_(done.is_not(None), or_(due.is_(None), done <= due))


def _columns(now: datetime) -> list[Any]:
    """Return the aggregate columns every dimension shares."""
    c = s.Case
    return [
        _count(c.registered_at.is_not(None)).label("registered"),
        _count(_on_time(c.registered_at, c.register_due_at)).label("accepted_on_time"),
        _count(c.dispatched_at.is_not(None)).label("dispatched"),
        _count(c.dispatch_count == 1).label("dispatched_once"),
        _count(c.handled_at.is_not(None)).label("handled"),
        _count(_on_time(c.handled_at, c.handle_due_at)).label("handled_on_time"),
        _count(
            and_(
                c.state.in_(OPEN),
                c.state != CaseState.PARKED.value,
                c.deadline_at.is_not(None),
                c.deadline_at < now,
            )
        ).label("overdue"),
        _count(c.verified_at.is_not(None)).label("verified"),
        _count(_on_time(c.verified_at, c.verify_due_at)).label("verified_on_time"),
        _count(c.rework_count > 0).label("reworked"),
        _count(c.state.in_(CLOSED)).label("closed"),
        _count(and_(c.state.in_(CLOSED), _on_time(c.closed_at, c.close_due_at))).label(
            "closed_on_time"
        ),
        func.avg(c.satisfaction).label("satisfaction"),
        _count(c.satisfaction.is_not(None)).label("revisited"),
        _count(c.satisfaction >= 4).label("satisfied"),
        _count(c.self_handled.is_(True)).label("self_handled"),
        func.count().label("cases"),
    ]


def _share(part: int, whole: int) -> float | None:
    """Return part/whole rounded to four places, or None for an empty whole."""
    return None if not whole else round(min(part / whole, 1.0), 4)


def indicator_row(row: Any) -> dict[str, Any]:
    """Turn one aggregate row into the indicator dict (without rank)."""
    registered = int(row.registered)
    handled = int(row.handled)
    values = {
        "cases": int(row.cases),
        "registered": registered,
        "on_time_acceptance": _share(int(row.accepted_on_time), registered),
        "accurate_dispatch": _share(int(row.dispatched_once), int(row.dispatched)),
        "on_time_handling": _share(int(row.handled_on_time), handled),
        "overdue": int(row.overdue),
        "on_time_verification": _share(int(row.verified_on_time), int(row.verified)),
        "rework_rate": _share(int(row.reworked), handled),
        "closure_rate": _share(int(row.closed), registered),
        "on_time_closure": _share(int(row.closed_on_time), int(row.closed)),
        "satisfaction": None if row.satisfaction is None else round(float(row.satisfaction), 2),
        "satisfied_share": _share(int(row.satisfied), int(row.revisited)),
        "self_handled_share": _share(int(row.self_handled), handled),
    }
    scored = {k: values[k] for k in SCORE_WEIGHTS if values[k] is not None}
    weight = sum(SCORE_WEIGHTS[k] for k in scored)
    values["score"] = (
        round(100 * sum(SCORE_WEIGHTS[k] * v for k, v in scored.items()) / weight, 1)
        if weight
        else None
    )
    return values


def rank(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sort rows best first (score, then more cases) and number them; unscored rows last."""
    ordered = sorted(
        rows, key=lambda r: (r["score"] is None, -(r["score"] or 0), -r["cases"], str(r["key"]))
    )
    return [dict(row, rank=i) for i, row in enumerate(ordered, start=1)]


def community_en(name: str | None, key: Any) -> str:
    """Return a community's name in English: romanised, else "Community <id>"."""
    return place_name(name, "en", f"Community {key}")


def grid_en(name: str | None, key: Any) -> str:
    """Return a grid's name in English: romanised ("Changbai Community Grid 3"), else "Grid <id>"."""
    return place_name(name, "en", f"Grid {key}")


def compute(conn: Connection, since: datetime, now: datetime) -> dict[str, Any]:
    """Return the street's indicators and the ranked tables per community, grid and department."""
    c = s.Case
    window = c.reported_at >= since
    street = conn.execute(select(*_columns(now)).where(window)).one()
    grid_names = dict(conn.execute(select(s.Grid.id, s.Grid.name)).all())
    community_names = dict(conn.execute(select(s.Community.id, s.Community.name)).all())

    def table(
        key_column, names: dict | None, english: Callable[[str | None, Any], str] | None = None
    ) -> list[dict[str, Any]]:
        rows = conn.execute(
            select(key_column.label("key"), *_columns(now))
            .select_from(c)
            .outerjoin(s.Grid, s.Grid.id == c.grid_id)
            .where(window, key_column.is_not(None))
            .group_by(key_column)
        ).all()
        ranked = rank(
            [
                dict(
                    indicator_row(row),
                    key=row.key,
                    name=(names or {}).get(row.key, str(row.key)),
                )
                for row in rows
            ]
        )
        if english is not None:
            for row in ranked:
                row["name_en"] = english((names or {}).get(row["key"]), row["key"])
        return ranked

    return {
        "since": since.isoformat(),
        "street": indicator_row(street),
        "community": table(s.Grid.community_id, community_names, community_en),
        "grid": table(c.grid_id, grid_names, grid_en),
        "department": table(c.department, None),
    }
