"""Build the case views each role receives from the case facts: pure, no I/O.

The worker publishes three kinds (see build_case_views):
- "cases_wall" (CASES_WALL), for walls and kiosks: aggregates and counts only.
    kpis: {cases_today, open, closure_rate, on_time_rate (on-time closure), on_time_handling,
      overdue, urgent_open}
    funnel: [{state, count}] in the cycle's order, side states after
    centres: {"street": n, "police": n} open cases per command room (双脑联动)
    indicators: {since, street: {...}, community: [...]} (see cockpit.cases.indicators for the
      row keys; each table is ranked, rank 1 best)
    overdue: [{code, category}] the most overdue (at most 4): no title, no person, no free text
- "cases" (CASES), for roles that may view records (Permission.VIEW_RECORDS): the above, with
    indicators also per grid and department, and
    overdue: [case summary], most overdue first (at most 20)
    open: [case summary with "history"], urgent first, then by deadline (at most 100); each
      history entry's note is masked (cockpit.privacy.mask_text)
    map: [{id, lon, lat, state, priority, overdue}] every open case with coordinates
    targets: who a case can be dispatched to, each list by id:
      {workers: [{id, grid_id, name}], teams: [{id, kind, name}], communities: [{id, name}]}
      (a grid worker's name is masked, 王**)
- "tasks:<worker id>" (tasks_view(worker id)), for that grid worker alone:
    {worker, tasks: [case summary with "task": "handle" | "revisit"]}
A case summary: id, code, title_zh, title_en, category, state, priority, centre, routing,
assignee, department, grid_id, building_id, lon, lat, reported_at, deadline_at (ISO, UTC),
overdue (bool), paused_remaining_s, supervised, escalated, actions (what the workflow allows),
where: {address (road and number, to the building), building_id, building, use, floors,
community, grid, lon, lat} as stored (cockpit.places; the cards spell it per language), or None.
The wall's view carries no place: a case is often a resident's matter.
Countdowns are left to the browser: a model that changed every second would redraw every screen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cockpit.cases.workflow import WORKING, CaseRecord, allowed
from cockpit.domain.kinds import CaseSource, CaseState
from cockpit.places import where_of_row
from cockpit.privacy import mask_name, mask_text, where_for

CASES = "cases"
CASES_WALL = "cases_wall"
# Who a case can be dispatched to: read by the server's case card, never sent to a screen.
CASE_TARGETS = "case_targets"
# The rows of each indicator ranking a screen is sent (the tablet shows the first twelve).
SCREEN_INDICATOR_ROWS = 24
TASKS_PREFIX = "tasks:"
OVERDUE_LIMIT = 20
# What the wall's governance panel has room for: a code and a category word per row.
WALL_OVERDUE_LIMIT = 4
WALL_KEYS = ("kpis", "funnel", "centres")
# The wall ranks communities; the grid and department tables (most of the bytes) are the tablet's.
WALL_INDICATORS = ("since", "street", "community")
OPEN_LIST_LIMIT = 100
FUNNEL_STATES = tuple(state.value for state in CaseState)
WORKING_STATES = frozenset(state.value for state in WORKING)


def summary(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Return the JSON summary of one case row at `now`."""
    deadline = row.get("deadline_at")
    overdue = (
        deadline is not None
        and row["state"] != CaseState.PARKED.value
        and datetime.fromisoformat(deadline) < now
    )
    record = CaseRecord(
        state=CaseState(row["state"]),
        source=CaseSource(row["source"]) if row["source"] in set(CaseSource) else CaseSource.ALERT,
        parked_from=CaseState(row["parked_from"]) if row.get("parked_from") else None,
    )
    return {
        "id": row["id"],
        "code": row["code"],
        "title_zh": row["title"],
        "title_en": row.get("title_en") or row["title"],
        "category": row["category"],
        "state": row["state"],
        "priority": row["priority"],
        "centre": row["centre"],
        "routing": row.get("routing"),
        "assignee": row.get("assignee"),
        "department": row.get("department"),
        "grid_id": row.get("grid_id"),
        "building_id": row.get("building_id"),
        "lon": row.get("lon"),
        "lat": row.get("lat"),
        "reported_at": row["reported_at"],
        "deadline_at": deadline,
        "overdue": overdue,
        "paused_remaining_s": row.get("paused_remaining_s"),
        "supervised": row.get("supervised_at") is not None,
        "escalated": row.get("escalated_at") is not None,
        "actions": [a.value for a in allowed(record)],
        # Only record readers and the assigned grid worker receive summaries (never the wall).
        "where": where_for(where_of_row(row), personal=True, may_read_records=True),
    }


def case_summary(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Return one case's summary with its history (notes masked), as the open list carries it."""
    return dict(summary(row, now), history=_masked(row.get("history") or []))


def tasks_view(worker_id: int | str) -> str:
    """Return the name of the view that holds one grid worker's own tasks."""
    return f"{TASKS_PREFIX}{worker_id}"


@dataclass(frozen=True, slots=True)
class CaseViews:
    """Hold the case views of one build: the wall's, the staff's and each grid worker's tasks."""

    wall: dict[str, Any]
    cases: dict[str, Any]
    tasks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by worker id (str)

    def worker_view(self, worker_id: str) -> dict[str, Any]:
        """Return one worker's tasks view; a worker without tasks gets an empty list."""
        return {"worker": worker_id, "tasks": self.tasks.get(worker_id, [])}


def build_case_views(facts: dict[str, Any] | None, now: datetime) -> CaseViews:
    """Return every case view built from one read of the facts."""
    if facts is None:
        cases = build_cases_view(None, now)
        return CaseViews(wall_view(cases), cases, {})
    open_cases = [summary(row, now) for row in facts["open"]]
    cases = _staff_view(facts, open_cases)
    return CaseViews(wall_view(cases), cases, _tasks(facts, open_cases, now))


def screen_view(cases: dict[str, Any]) -> dict[str, Any]:
    """Return the `cases` view as screens are sent it: no dispatch targets, no case positions,
    the indicator rankings cut to their first rows.

    The targets are the card's (CASE_TARGETS, read on the server); the map draws the cases
    from its own view (map_cases); a district's 880 grids would otherwise be sent whole to
    show twelve. Kept so, a district's view stays within its budget (VIEW_BUDGETS).
    """
    view = {k: v for k, v in cases.items() if k not in ("targets", "map")}
    indicators = cases.get("indicators") or {}
    view["indicators"] = {
        key: rows[:SCREEN_INDICATOR_ROWS] if isinstance(rows, list) else rows
        for key, rows in indicators.items()
    }
    return view


def wall_view(cases: dict[str, Any]) -> dict[str, Any]:
    """Return the wall's view of the cases: counts and aggregates, and overdue codes only."""
    view = {key: cases.get(key) or {} for key in WALL_KEYS}
    view["funnel"] = cases.get("funnel") or []
    indicators = cases.get("indicators") or {}
    view["indicators"] = {
        key: indicators[key][:SCREEN_INDICATOR_ROWS]
        if isinstance(indicators[key], list)
        else indicators[key]
        for key in WALL_INDICATORS
        if key in indicators
    }
    view["overdue"] = [
        {"code": item["code"], "category": item["category"]}
        for item in (cases.get("overdue") or [])[:WALL_OVERDUE_LIMIT]
    ]
    return view


def build_cases_view(facts: dict[str, Any] | None, now: datetime) -> dict[str, Any]:
    """Return the `cases` view model of record viewers; an empty one while no facts were read yet."""
    if facts is None:
        return {
            "kpis": {},
            "funnel": [],
            "overdue": [],
            "open": [],
            "map": [],
            "centres": {},
            "indicators": {},
            "targets": {},
        }
    return _staff_view(facts, [summary(row, now) for row in facts["open"]])


def _staff_view(facts: dict[str, Any], open_cases: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the `cases` view from the facts and the open cases' summaries."""
    history = facts.get("history") or {}
    by_state = facts["by_state"]
    street = facts["indicators"].get("street", {})
    overdue = sorted(
        (c for c in open_cases if c["overdue"]), key=lambda c: (c["deadline_at"], c["id"])
    )
    centres: dict[str, int] = {}
    for item in open_cases:
        centres[item["centre"]] = centres.get(item["centre"], 0) + 1
    return {
        "kpis": {
            "cases_today": facts["cases_today"],
            "open": facts.get("open_total", len(open_cases)),
            "closure_rate": street.get("closure_rate"),
            # 按期办结率: closed within the case's deadline, of the cases closed (30 days' reports).
            "on_time_rate": street.get("on_time_closure"),
            # 按时处置率: handled within the handling limit, of the cases handled; told as such.
            "on_time_handling": street.get("on_time_handling"),
            "overdue": len(overdue),
            "urgent_open": sum(1 for c in open_cases if c["priority"] == "urgent"),
        },
        "funnel": _funnel(by_state),
        "overdue": overdue[:OVERDUE_LIMIT],
        "open": [
            dict(c, history=_masked(history.get(c["id"], history.get(str(c["id"]), []))))
            for c in open_cases[:OPEN_LIST_LIMIT]
        ],
        "map": [
            {k: c[k] for k in ("id", "lon", "lat", "state", "priority", "overdue")}
            for c in open_cases
            if c["lon"] is not None and c["lat"] is not None
        ],
        "centres": centres,
        "indicators": facts["indicators"],
        "targets": _targets(facts.get("targets") or {}),
    }


def _masked(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return history entries with each note's mobiles, ID numbers and the like masked."""
    return [
        dict(entry, note=mask_text(entry["note"])) if entry.get("note") else entry
        for entry in history
    ]


def _funnel(by_state: dict[str, int]) -> list[dict[str, Any]]:
    """List counts in the cycle's order; unknown states go last, so none is lost."""
    known = [{"state": st, "count": by_state.get(st, 0)} for st in FUNNEL_STATES]
    extra = [
        {"state": st, "count": n} for st, n in sorted(by_state.items()) if st not in FUNNEL_STATES
    ]
    return known + extra


def _targets(targets: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """List the dispatch targets by id, with every grid worker's name masked."""

    def rows(key: str, columns: tuple[str, ...]) -> list[dict[str, Any]]:
        found = [{k: item.get(k) for k in columns} for item in targets.get(key) or []]
        return sorted(found, key=lambda item: item["id"])

    workers = rows("workers", ("id", "grid_id", "name"))
    for worker in workers:
        worker["name"] = mask_name(worker["name"])
    return {
        "workers": workers,
        "teams": rows("teams", ("id", "kind", "name")),
        "communities": rows("communities", ("id", "name")),
    }


def _tasks(
    facts: dict[str, Any], open_cases: list[dict[str, Any]], now: datetime
) -> dict[str, list[dict[str, Any]]]:
    """Group each grid worker's tasks: cases dispatched to them, and closed cases to revisit."""
    tasks: dict[str, list[dict[str, Any]]] = {}
    for item in open_cases:
        kind, _, ident = (item["assignee"] or "").partition(":")
        if kind == "worker" and item["state"] in WORKING_STATES:
            tasks.setdefault(ident, []).append(dict(item, task="handle"))
    for row in facts.get("revisits", []):
        kind, _, ident = (row.get("assignee") or "").partition(":")
        worker = ident if kind == "worker" else row.get("reporter_worker_id")
        if worker is not None:
            tasks.setdefault(str(worker), []).append(dict(summary(row, now), task="revisit"))
    return tasks
