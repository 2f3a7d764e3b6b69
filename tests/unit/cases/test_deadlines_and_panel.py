"""Test the deadline planner, the cases config loader and the `cases` view model builder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cockpit.cases.deadlines import (
    CasesConfigError,
    Planner,
    current_deadline,
    load_cases_config,
)
from cockpit.cases.panel import build_case_views, build_cases_view
from cockpit.cases.workflow import Action

MONDAY_10 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
PLANNER = Planner(load_cases_config())


def test_the_fast_chain_counts_seconds_from_the_report_day_and_night() -> None:
    """An urgent case at Saturday 3 am must be reached within 5 minutes, weekend or not."""
    saturday_night = datetime(2026, 11, 27, 19, 0, tzinfo=UTC)
    due = PLANNER.on_open("urgent", "fire.smoke", saturday_night)
    assert due["register_due_at"] - saturday_night == timedelta(seconds=30)
    assert due["arrive_due_at"] - saturday_night == timedelta(minutes=5)
    case = {"state": "dispatched", "priority": "urgent", **due}
    assert current_deadline(case) == due["arrive_due_at"]
    assert current_deadline(dict(case, arrived_at=saturday_night)) == due["handle_due_at"]


def test_category_limits_apply_from_dispatch_in_working_time() -> None:
    """Exposed rubbish dispatched Monday 10:00 is due Tuesday 10:00; unknown categories take 3 days."""
    case = {"priority": "normal", "category": "exposed_rubbish"}
    due = PLANNER.due_changes(case, Action.DISPATCH, MONDAY_10)["handle_due_at"]
    assert due == MONDAY_10 + timedelta(days=1)
    other = PLANNER.due_changes(dict(case, category="lost_cat"), Action.DISPATCH, MONDAY_10)
    assert other["handle_due_at"] == MONDAY_10 + timedelta(days=3)


def test_supervision_halves_the_handling_time_left() -> None:
    """Eight working hours left become four when a leader supervises."""
    due = MONDAY_10 + timedelta(days=1)
    case = {"priority": "normal", "category": "x", "handle_due_at": due}
    cut = PLANNER.due_changes(case, Action.SUPERVISE, MONDAY_10)["handle_due_at"]
    assert PLANNER.calendar.between(MONDAY_10, cut) == 4 * 3600


def test_a_bad_cases_file_names_the_key(tmp_path) -> None:
    """Unknown keys and reversed chains are refused with the key at fault."""
    bad = tmp_path / "cases.toml"
    bad.write_text("[fast_chain]\narrive_s = 10\n[supervise]\nfactr = 1\n", encoding="utf-8")
    with pytest.raises(CasesConfigError, match="supervise.factr"):
        load_cases_config(bad)
    bad.write_text("[categories.noise]\nhandle = { hours = 0 }\n", encoding="utf-8")
    with pytest.raises(CasesConfigError, match="categories.noise.handle"):
        load_cases_config(bad)


def test_an_override_changes_one_category_and_keeps_the_rest(tmp_path) -> None:
    """A user file lays one limit over the defaults."""
    good = tmp_path / "cases.toml"
    good.write_text("[categories.noise]\nhandle = { hours = 1 }\n", encoding="utf-8")
    config = load_cases_config(good)
    assert config.handle_limit("noise").hours == 1
    assert config.handle_limit("illegal_building").days == 15


def row(**kw):
    """Return an open-case row as the case facts adapter reads it."""
    base = {
        "id": 1,
        "code": "GR1",
        "source": "grid_worker",
        "category": "exposed_rubbish",
        "title": "暴露垃圾",
        "title_en": None,
        "state": "handling",
        "parked_from": None,
        "priority": "normal",
        "centre": "street",
        "routing": None,
        "assignee": "worker:7",
        "department": "grid",
        "grid_id": 2,
        "building_id": 3,
        "reporter_worker_id": 7,
        "lon": 121.5,
        "lat": 31.3,
        "reported_at": MONDAY_10.isoformat(),
        "deadline_at": (MONDAY_10 + timedelta(hours=1)).isoformat(),
        "paused_remaining_s": None,
        "supervised_at": None,
        "escalated_at": None,
        "dispatch_count": 1,
        "rework_count": 0,
    }
    return base | kw


def facts(open_rows, revisits=()):
    """Return case facts around some rows."""
    return {
        "by_state": {"handling": len(open_rows), "mystery": 1},
        "cases_today": len(open_rows),
        "open": list(open_rows),
        "revisits": list(revisits),
        "history": {},
        "indicators": {"street": {"closure_rate": 0.5, "on_time_handling": 0.75}},
    }


def test_overdue_flags_flip_when_the_deadline_passes_without_a_new_read() -> None:
    """The same facts show the case on time before its deadline and overdue after it."""
    data = facts([row(), row(id=2, state="parked", parked_from="handling")])
    before = build_cases_view(data, MONDAY_10)
    after = build_cases_view(data, MONDAY_10 + timedelta(hours=2))
    assert [c["overdue"] for c in before["open"]] == [False, False]
    assert [c["overdue"] for c in after["open"]] == [True, False]  # a parked clock never runs out
    assert after["kpis"]["overdue"] == 1 and after["overdue"][0]["id"] == 1
    assert after["funnel"][-1] == {"state": "mystery", "count": 1}


def test_tasks_group_by_worker_with_revisits() -> None:
    """A worker sees the case dispatched to them and the closed case they reported, to revisit."""
    closed = row(id=9, state="closed", assignee="team:1", reporter_worker_id=8)
    views = build_case_views(facts([row()], [closed]), MONDAY_10)
    seven, eight = views.worker_view("7"), views.worker_view("8")
    assert [(t["id"], t["task"]) for t in seven["tasks"]] == [(1, "handle")]
    assert [(t["id"], t["task"]) for t in eight["tasks"]] == [(9, "revisit")]
    assert "handled" in seven["tasks"][0]["actions"]
    assert eight["tasks"][0]["actions"] == ["revisit"]
    assert views.worker_view("99") == {"worker": "99", "tasks": []}
    # Nobody's tasks ride in the views every record viewer or wall receives.
    assert "tasks_by_worker" not in views.cases and "tasks_by_worker" not in views.wall


def test_targets_are_published_by_id_with_every_grid_worker_name_masked() -> None:
    """Workers, teams and communities reach the view; a worker's name only as 王**."""
    data = facts([row()])
    data["targets"] = {
        "workers": [
            {"id": 12, "grid_id": 4, "name": "欧阳娜娜", "phone": "13800000000"},
            {"id": 3, "grid_id": 1, "name": "王小明"},
        ],
        "teams": [{"id": 2, "kind": "fire", "name": "长白社区微型消防站", "members": 6}],
        "communities": [{"id": 1, "name": "长白社区"}],
    }
    view = build_cases_view(data, MONDAY_10)
    assert view["targets"] == {
        "workers": [
            {"id": 3, "grid_id": 1, "name": "王**"},
            {"id": 12, "grid_id": 4, "name": "欧**"},
        ],
        "teams": [{"id": 2, "kind": "fire", "name": "长白社区微型消防站"}],
        "communities": [{"id": 1, "name": "长白社区"}],
    }
    assert "王小明" not in str(view) and "13800000000" not in str(view)
    assert build_cases_view(None, MONDAY_10)["targets"] == {}
    assert build_cases_view(facts([row()]), MONDAY_10)["targets"] == {
        "workers": [],
        "teams": [],
        "communities": [],
    }
