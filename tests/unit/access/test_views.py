"""Check each role is sent only its views: the wall aggregates, a grid worker their own tasks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from dash import no_update
from hypothesis import given
from hypothesis import strategies as st

from callbacks.grid_worker import make_layout, read_only, shown_worker
from callbacks.shell import REFRESHED_VIEWS, page_views, refresh_views, role_reader
from cockpit.access.policy import Permission, Principal, Role
from cockpit.access.views import AGGREGATE_VIEWS, TASKS_STORE, view_for, views_for
from cockpit.cases.panel import CASES, CASES_WALL, TASKS_PREFIX, build_case_views, tasks_view
from cockpit.live import InProcessLiveStore
from cockpit.viewmodels import ViewModelPublisher
from cockpit.worker import TaskViews, TickerFeed
from tests.unit.test_case_screens import ids_of, text_of

NOW = datetime(2026, 5, 4, 2, 0, tzinfo=UTC)
SECRET = "※"  # in every free text below: found anywhere in a wall's view, a test fails
PERSON = "欧阳娜娜"
MOBILE = "13912345678"
STORES = (*REFRESHED_VIEWS, TASKS_STORE, CASES_WALL, "map_geometry", "tasks:5", "audit")


def principal(role: Role, worker_id: int | None = None) -> Principal:
    """Return a signed-in principal of the role (a grid worker bound to a record)."""
    if role is Role.GRID_WORKER and worker_id is None:
        worker_id = 4
    return Principal(account_id=1, username="someone", role=role, worker_id=worker_id)


roles = st.sampled_from(list(Role))
stores = st.one_of(st.sampled_from(STORES), st.text(max_size=12))
requested = st.one_of(st.none(), st.integers(0, 400), st.text(max_size=6))


@given(roles, stores, requested)
def test_each_role_gets_only_views_its_permissions_allow(role, store, worker) -> None:
    """No role ever gets a view outside what its permissions grant, whatever it asks."""
    who = principal(role)
    name = view_for(who, store, worker)
    if name is None:
        return
    if name.startswith(TASKS_PREFIX):
        assert store == TASKS_STORE
        assert who.may(Permission.VIEW_RECORDS) or name == tasks_view(who.worker_id)
    elif name == CASES:
        assert who.may(Permission.VIEW_RECORDS)
    else:
        assert name in AGGREGATE_VIEWS | {CASES_WALL}


@given(stores, requested)
def test_a_kiosk_never_gets_a_view_that_is_not_aggregate(store, worker) -> None:
    """A wall: aggregates, and the cases store filled from `cases_wall`."""
    name = view_for(principal(Role.KIOSK), store, worker)
    assert name is None or name in AGGREGATE_VIEWS | {CASES_WALL}
    assert view_for(principal(Role.KIOSK), CASES) == CASES_WALL


@given(st.integers(1, 400), stores, requested)
def test_a_grid_worker_gets_their_own_tasks_only(mine, store, worker) -> None:
    """Whatever ?worker= says, a grid worker's tasks view is their own; never the full cases."""
    who = principal(Role.GRID_WORKER, mine)
    name = view_for(who, store, worker)
    assert name != CASES
    if name is not None and name.startswith(TASKS_PREFIX):
        assert name == tasks_view(mine)
    assert view_for(who, TASKS_STORE, worker) == tasks_view(mine)
    assert shown_worker(who, worker) == (str(mine), tasks_view(mine))


@given(stores, requested)
def test_no_session_gets_nothing(store, worker) -> None:
    """No principal, no view: the refresh must not rely on the gate in front."""
    assert view_for(None, store, worker) is None


def test_record_viewers_get_the_full_cases_and_may_read_a_workers_list() -> None:
    """Viewer, dispatcher, leader and admin: `cases`; /worker?worker=12 read-only."""
    for role in (Role.VIEWER, Role.DISPATCHER, Role.LEADER, Role.ADMIN):
        who = principal(role)
        assert view_for(who, CASES) == CASES
        assert view_for(who, TASKS_STORE, "12") == tasks_view(12)
        assert view_for(who, TASKS_STORE, "12; x") is None
        assert view_for(who, TASKS_STORE) is None
        assert read_only(who)
    assert not read_only(principal(Role.GRID_WORKER, 12))
    assert read_only(None)


# -- the split views -------------------------------------------------------------------------


def row(case_id: int, **changes: Any) -> dict[str, Any]:
    """Return an open-case row as the case facts adapter reads it, with free text everywhere."""
    base = {
        "id": case_id,
        "code": f"GR{case_id:04d}",
        "source": "grid_worker",
        "category": "exposed_rubbish",
        "title": f"{SECRET}{PERSON} {MOBILE} 门口垃圾",
        "title_en": f"{SECRET} rubbish at {PERSON}'s door",
        "state": "handling",
        "parked_from": None,
        "priority": "urgent",
        "centre": "street",
        "routing": None,
        "assignee": f"worker:{case_id % 3 + 1}",
        "department": "grid",
        "grid_id": 2,
        "building_id": 3,
        "reporter_worker_id": 7,
        "lon": 121.5,
        "lat": 31.3,
        "reported_at": (NOW - timedelta(hours=3)).isoformat(),
        "deadline_at": (NOW - timedelta(hours=1)).isoformat(),
        "paused_remaining_s": None,
        "supervised_at": None,
        "escalated_at": None,
    }
    return base | changes


def facts(count: int = 6) -> dict[str, Any]:
    """Return case facts whose titles, notes and targets all carry a person's data."""
    rows = [row(i) for i in range(1, count + 1)]
    note = {"action": "handled", "from_state": "handling", "to_state": "handled"}
    return {
        "by_state": {"handling": count},
        "cases_today": count,
        "open": rows,
        "revisits": [row(99, state="closed", assignee="team:1")],
        "history": {
            r["id"]: [
                note | {"actor": "worker:1", "at": NOW.isoformat(), "note": f"{SECRET}{MOBILE}"}
            ]
            for r in rows
        },
        "indicators": {
            "street": {"closure_rate": 0.5, "on_time_handling": 0.75},
            "grid": [{"key": 2, "name": "长白社区第2网格", "rank": 1}],
        },
        "targets": {"workers": [{"id": n, "grid_id": 2, "name": PERSON} for n in (1, 2, 3, 7)]},
    }


def strings(value: Any) -> list[str]:
    """Return every string in a JSON value, keys included."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *strings(v))]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return []


def test_the_wall_view_holds_counts_and_codes_and_no_text_anyone_typed() -> None:
    """By keys and by every value: no titles, histories, tasks, notes, people or targets."""
    wall = build_case_views(facts(), NOW).wall
    assert set(wall) == {"kpis", "funnel", "centres", "indicators", "overdue"}
    assert set(wall["indicators"]) <= {"since", "street", "community"}
    assert wall["kpis"]["overdue"] == 6 and wall["kpis"]["urgent_open"] == 6
    assert 0 < len(wall["overdue"]) <= 4
    assert all(set(item) == {"code", "category"} for item in wall["overdue"])
    found = " ".join(strings(wall))
    for word in (SECRET, PERSON, MOBILE, "title", "history", "note", "worker", "assignee"):
        assert word not in found, word
    assert "tasks" not in found and "targets" not in found


@given(st.text(min_size=1, max_size=30))
def test_whatever_a_resident_types_never_reaches_the_wall(typed: str) -> None:
    """Any title and note: the wall's view is the same as with none at all."""
    plain = facts(3)
    typed_facts = facts(3)
    for item in typed_facts["open"]:
        item.update(title=typed, title_en=typed)
    for entries in typed_facts["history"].values():
        entries[0]["note"] = typed
    assert build_case_views(typed_facts, NOW).wall == build_case_views(plain, NOW).wall


def test_the_staff_view_has_no_task_lists_and_masks_the_notes() -> None:
    """Record viewers get the open list and histories, each note masked; no tasks_by_worker."""
    views = build_case_views(facts(), NOW)
    assert "tasks_by_worker" not in views.cases
    notes = [e["note"] for c in views.cases["open"] for e in c["history"]]
    assert notes and all(MOBILE not in n and "139****5678" in n for n in notes)
    assert all(PERSON not in w["name"] for w in views.cases["targets"]["workers"])
    # Each worker's tasks ride in their own view alone.
    assert {t["id"] for t in views.worker_view("2")["tasks"]} == {1, 4}
    assert [t["task"] for t in views.worker_view("7")["tasks"]] == ["revisit"]


def test_empty_facts_give_empty_views() -> None:
    """Before the first read every view is there, empty."""
    views = build_case_views(None, NOW)
    assert views.tasks == {} and views.wall["overdue"] == [] and views.cases["open"] == []


# -- publishing the tasks views --------------------------------------------------------------


class CountingStore(InProcessLiveStore):
    """Count the views written, to see that unchanged task lists are not written again."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def set_view(self, name: str, payload: bytes) -> None:
        """Write the view and remember its name."""
        self.writes.append(name)
        super().set_view(name, payload)


def test_tasks_views_are_written_once_each_then_only_when_they_change() -> None:
    """After a start every worker once (so no stale list stays); then only changed ones."""
    live = CountingStore()
    tasks = TaskViews(ViewModelPublisher(live))
    data = facts()
    assert tasks.publish(build_case_views(data, NOW), data, NOW) == 4  # workers 1, 2, 3 and 7
    assert tasks.publish(build_case_views(data, NOW), data, NOW) == 0
    data["open"] = [r for r in data["open"] if r["assignee"] != "worker:2"]
    live.writes.clear()
    assert tasks.publish(build_case_views(data, NOW), data, NOW) == 1
    assert live.writes == [tasks_view(2)]
    emptied = orjson.loads(live.get_view(tasks_view(2)))
    assert emptied["worker"] == "2" and emptied["tasks"] == []


# -- the refresh and the first render choose alike -------------------------------------------


def published_store() -> InProcessLiveStore:
    """Return a live store holding the case views and an overview."""
    live = InProcessLiveStore()
    publisher = ViewModelPublisher(live)
    views = build_case_views(facts(), NOW)
    publisher.publish(CASES, views.cases, NOW)
    publisher.publish(CASES_WALL, views.wall, NOW)
    publisher.publish("overview", {"kpis": {}}, NOW)
    TaskViews(publisher).publish(views, facts(), NOW)
    return live


def test_a_walls_refresh_fills_the_cases_store_from_the_wall_view() -> None:
    """The same store id, the role's view: the wall's bytes hold no title and no task."""
    live = published_store()

    def read(name: str) -> dict[str, Any] | None:
        raw = live.get_view(name)
        return orjson.loads(raw) if raw else None

    for who, expected in ((principal(Role.KIOSK), CASES_WALL), (principal(Role.LEADER), CASES)):
        chosen = role_reader(live.get_view, views_for(who, REFRESHED_VIEWS))
        out, _, _ = refresh_views(chosen, REFRESHED_VIEWS, None, 5.0)
        sent = out[REFRESHED_VIEWS.index(CASES)]
        assert sent == read(expected)
        # The first render picks as the refresh does.
        assert page_views(who, read, REFRESHED_VIEWS)[CASES] == sent
        shown = orjson.dumps([v for v in out if v is not no_update]).decode()
        assert (SECRET in shown) is (who.role is Role.LEADER)
        assert "tasks" not in shown
    nobody = role_reader(live.get_view, views_for(None, REFRESHED_VIEWS))
    assert all(v is no_update for v in refresh_views(nobody, REFRESHED_VIEWS, None, 5.0)[0])


def test_the_worker_page_shows_the_signed_in_workers_own_tasks_whatever_the_url_says() -> None:
    """?worker=3 on worker 2's phone shows worker 2's list; staff read one list without buttons."""
    live = published_store()

    def read(name: str) -> dict[str, Any] | None:
        raw = live.get_view(name)
        return orjson.loads(raw) if raw else None

    mine = make_layout(read, "en", 2000, who=lambda: principal(Role.GRID_WORKER, 2))
    page = mine(worker="3")
    assert {b["case"] for b in ids_of(page, "worker-act")} == {1, 4}
    staff = make_layout(read, "en", 2000, who=lambda: principal(Role.DISPATCHER))(worker="3")
    assert ids_of(staff, "worker-act") == [] and "GR0002" in text_of(staff)
    wall = make_layout(read, "en", 2000, who=lambda: principal(Role.KIOSK))(worker="3")
    assert "GR000" not in text_of(wall)


# -- the ticker ------------------------------------------------------------------------------


def test_an_elders_alert_reaches_the_ticker_as_visit_needed_without_usage() -> None:
    """Water and door data stay with the case: the ticker says a visit is needed, no figures."""
    feed = TickerFeed()
    reasons = [
        {"code": "no_water", "text_zh": "14 小时无用水", "text_en": "No water used for 14 h"}
    ]
    event = {
        "event": "raised",
        "id": 1,
        "level": "orange",
        "kind": "elder.no_water",
        "title_zh": "独居老人长时间无用水",
        "title_en": "No water use at an elder's home",
        "object_type": "resident",
        "object_id": 812,
        "reasons": reasons,
        "ts": 10.0,
    }
    regraded = {"event": "regraded", "id": 1, "level": "red", "reasons": reasons, "ts": 11.0}
    feed.absorb([("1-0", event), ("2-0", regraded)])
    shown = orjson.dumps(feed.model()).decode()
    assert "14" not in shown and "water" not in shown.replace("no_water", "") and "812" not in shown
    assert "visit needed" in shown
