"""Decide which published view fills each page store for the signed-in role: one place for all.

    view_for(principal, "cases")           # "cases_wall" for a kiosk, "cases" for a dispatcher
    view_for(principal, TASKS_STORE)       # "tasks:<id>" for a grid worker: their own, only
    view_for(principal, TASKS_STORE, 12)   # a record viewer may read worker 12's list

No session gets nothing. Used by the refresh callback and by the first render of every page, so
what a page starts with and what it is sent later agree.
"""

from __future__ import annotations

from cockpit.access.policy import Permission, Principal, may
from cockpit.cases.panel import CASES, CASES_WALL, tasks_view

# The worker page's tasks: not a shell store, the /worker page's own.
TASKS_STORE = "tasks"
# Aggregates and colours: what every signed-in screen may draw, the wall included.
AGGREGATE_VIEWS = frozenset(
    {
        "overview",
        "ticker",
        "governance",
        "enterprise",
        "livelihood",
        "map_colours",
        "map_devices",
        "map_alerts",
        "map_cases",
        "demo",
    }
)
# Stores filled from another view for a role that may not have the full one.
AGGREGATE_STAND_INS = {CASES: CASES_WALL}
# Every view a screen's refresh fills a store from: the worker publishes their differences too.
SCREEN_VIEWS = AGGREGATE_VIEWS | {CASES, CASES_WALL}
# What each screen view may weigh, plain JSON bytes, whole (a change travels as its difference):
# a first render and a screen that lost its place download them. The worker says so in its log
# when one is over; tests/integration/test_view_budgets.py checks them on a played S street and
# `cockpit bench all` prints them at any scale.
VIEW_BUDGETS = {
    "overview": 4_000,
    "ticker": 16_000,
    "governance": 16_000,
    "enterprise": 16_000,
    "livelihood": 16_000,
    "demo": 16_000,
    CASES_WALL: 16_000,
    "map_devices": 64_000,
    "map_alerts": 64_000,
    "map_cases": 160_000,  # a marker per open case, up to MAX_CASE_MARKERS (a district: ~1,000)
    "map_colours": 160_000,  # a colour per building: 7,266 at district scale
    CASES: 256_000,
}


def view_for(
    principal: Principal | None, store: str, worker: int | str | None = None
) -> str | None:
    """Return the published view that fills the store for this principal, or None: send nothing.

    `worker` names the grid worker whose tasks a record viewer asks for (the /worker page's
    ?worker=); a grid worker always gets their own, whatever is asked.
    """
    if principal is None or not may(principal, Permission.VIEW_AGGREGATES):
        return None
    if store == TASKS_STORE:
        return _tasks_for(principal, worker)
    if store in AGGREGATE_VIEWS:
        return store
    if may(principal, Permission.VIEW_RECORDS):
        return store if store == CASES else None
    return AGGREGATE_STAND_INS.get(store)


def _tasks_for(principal: Principal, worker: int | str | None) -> str | None:
    """Return the tasks view a principal may read: their own, or any one for a record viewer."""
    if may(principal, Permission.VIEW_OWN_TASKS) and principal.worker_id is not None:
        return tasks_view(principal.worker_id)
    text = str(worker if worker is not None else "").strip()
    if may(principal, Permission.VIEW_RECORDS) and text.isdigit():
        return tasks_view(int(text))
    return None


def views_for(principal: Principal | None, stores: tuple[str, ...]) -> dict[str, str | None]:
    """Return, for each store, the view it is filled from (None: the store stays empty)."""
    return {store: view_for(principal, store) for store in stores}


def stores_by_view(principal: Principal | None, stores: tuple[str, ...]) -> dict[str, str]:
    """Return, for each view the principal is sent, the store it fills (the push's mapping)."""
    return {view: store for store, view in views_for(principal, stores).items() if view}
