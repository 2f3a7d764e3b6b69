"""Check the case screens' pure parts: the card, dispatch targets, taps, the grid worker page."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from dash import no_update
from hypothesis import given
from hypothesis import strategies as st

from callbacks.cases import CaseScreens, inputs_of, moved, outcome, profile, refused, tapped
from callbacks.grid_worker import refreshed
from cockpit.access.policy import Principal, Role
from cockpit.cases.desk import ActResult, CaseActionError
from cockpit.i18n import LANGUAGES
from data_adapters.base import AdapterError
from layouts.cases import (
    CASE_ACT,
    CASE_CARD,
    CJK,
    case_card,
    dispatch_targets,
    find_case,
    fingerprint,
    title_of,
)
from layouts.grid_worker import task_card, task_list, tasks_fingerprint, tasks_of, worker_id

NOW = datetime(2026, 5, 6, 2, 0, tzinfo=UTC)


def summary(case_id: int = 7, **changes: Any) -> dict[str, Any]:
    """Return a case summary as the `cases` view model carries it."""
    case = {
        "id": case_id,
        "code": f"AL{case_id:08d}",
        "title_zh": "烟感报警",
        "title_en": "Smoke alarm",
        "category": "fire.smoke",
        "state": "registered",
        "priority": "urgent",
        "centre": "street",
        "routing": "urgent",
        "assignee": None,
        "department": None,
        "grid_id": 3,
        "building_id": 11,
        "lon": 121.5,
        "lat": 31.2,
        "reported_at": "2026-05-06T01:00:00+00:00",
        "deadline_at": "2026-05-06T01:30:00+00:00",
        "overdue": True,
        "paused_remaining_s": None,
        "supervised": False,
        "escalated": False,
        "actions": ["dispatch", "escalate", "park", "void"],
        "history": [
            {
                "action": "report",
                "from_state": None,
                "to_state": "reported",
                "actor": "alert",
                "at": "2026-05-06T01:00:00+00:00",
                "note": None,
            },
            {
                "action": "register",
                "from_state": "reported",
                "to_state": "registered",
                "actor": "duty:li",
                "at": "2026-05-06T01:02:00+00:00",
                "note": "on it",
            },
        ],
    }
    case.update(changes)
    return case


def view(*cases: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """Return a `cases` view holding the cases as open."""
    return {"open": list(cases), "overdue": [], **extra}


def ids_of(component: Any, kind: str) -> list[dict[str, Any]]:
    """Return every pattern id of the type found in a component tree."""
    found = []

    def walk(node: Any) -> None:
        if node is None or isinstance(node, str | int | float):
            return
        if isinstance(node, list | tuple):
            for child in node:
                walk(child)
            return
        node_id = getattr(node, "id", None)
        if isinstance(node_id, dict) and node_id.get("type") == kind:
            found.append(node_id)
        walk(getattr(node, "children", None))

    walk(component)
    return found


def text_of(component: Any) -> str:
    """Return all the text in a component tree."""
    if component is None:
        return ""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return " ".join(text_of(c) for c in component)
    return text_of(getattr(component, "children", None))


# -- the card ------------------------------------------------------------------------------------


def keys(card: Any) -> dict[str, str]:
    """Return the action key of each button of a card."""
    return {b["action"]: b["key"] for b in ids_of(card, CASE_ACT)}


def test_card_offers_one_button_per_allowed_action_each_with_its_own_key():
    card = case_card(summary(), "en", nonce="n1", drawn_from=fingerprint(summary()))
    buttons = ids_of(card, CASE_ACT)
    assert [b["action"] for b in buttons] == ["dispatch", "escalate", "park", "void"]
    working = case_card(summary(actions=["accept", "arrive", "handled", "supervise"]), "en")
    assert [b["action"] for b in ids_of(working, CASE_ACT)] == ["handled", "supervise"]
    assert len({b["key"] for b in buttons}) == 4
    assert all(b["case"] == 7 and len(b["key"]) <= 64 for b in buttons)


def test_keys_hold_while_the_published_case_holds_so_a_double_tap_acts_once():
    drawn = fingerprint(summary())
    first = keys(case_card(summary(), "en", nonce="n1", drawn_from=drawn))
    # Redrawn after the first tap, before the view is republished: the same keys.
    redrawn = keys(case_card(summary(state="dispatched", actions=["dispatch"]), "en",
                             nonce="n1", drawn_from=drawn))  # fmt: skip
    assert redrawn["dispatch"] == first["dispatch"]
    moved_on = keys(case_card(summary(), "en", nonce="n1", drawn_from="dispatched|0|3|team:1"))
    assert moved_on["dispatch"] != first["dispatch"]
    other_card = keys(case_card(summary(), "en", nonce="n2", drawn_from=drawn))
    assert other_card["dispatch"] != first["dispatch"]


def test_card_flags_overdue_and_lists_history_newest_first_in_the_language():
    text = text_of(case_card(summary(), "en"))
    assert "⚠ Overdue" in text
    assert "Registered" in text and "Dispatch" in text
    assert text.index("on it") < text.index("alert")  # newest first
    assert "Reported → Registered" in text
    zh = text_of(case_card(summary(), "zh"))
    assert "超时" in zh and "烟感报警" in zh


def test_card_on_the_wall_shows_no_buttons_and_a_gone_case_says_so():
    assert ids_of(case_card(summary(), "zh", interactive=False), CASE_ACT) == []
    assert "no longer" in text_of(case_card(None, "en"))


def test_card_remembers_what_it_was_drawn_from_and_the_last_message():
    card = case_card(summary(), "en", drawn_from="x", message=("error", "Refused: nope"))
    stores = [c for c in card.children if getattr(c, "id", None) == {"type": CASE_CARD, "id": 7}]
    assert stores[0].data == {"fp": "x", "nonce": "", "message": ["error", "Refused: nope"]}
    assert "Refused: nope" in text_of(card)


def test_a_parked_case_shows_its_clock_paused_not_a_deadline():
    text = text_of(case_card(summary(state="parked", overdue=False, actions=["resume"]), "en"))
    assert "Clock paused" in text and "⚠" not in text


def test_fingerprint_changes_with_state_overdue_history_and_assignee():
    base = fingerprint(summary())
    assert base == "registered|1|2|"
    assert fingerprint(summary(state="dispatched")) != base
    assert fingerprint(summary(overdue=False)) != base
    assert fingerprint(summary(history=[])) != base
    assert fingerprint(summary(assignee="team:1")) != base
    assert fingerprint(None) == ""


def test_find_case_looks_in_open_overdue_and_tasks():
    task = summary(9, task="revisit", state="closed")
    found = view(summary(), tasks_by_worker={"4": [task]})
    assert find_case(found, 7)["id"] == 7
    assert find_case(found, 9)["task"] == "revisit"
    assert find_case(found, 99) is None
    assert find_case(None, 7) is None


# -- dispatch targets ------------------------------------------------------------------------------


def test_targets_put_the_grid_worker_of_the_case_first_then_matching_teams():
    published = view(
        targets={
            "workers": [
                {"id": 1, "grid_id": 2, "name": "王**"},
                {"id": 5, "grid_id": 3, "name": "长**"},
            ],
            "teams": [
                {"id": 8, "kind": "property", "name": "物业维修队"},
                {"id": 9, "kind": "fire", "name": "长白社区微型消防站"},
            ],
            "communities": [{"id": 2, "name": "长白社区"}],
        }
    )
    options = dispatch_targets(summary(department="fire"), published, "en")
    values = [o["value"] for o in options]
    # Communities come before the workers of other grids: they are the likelier target.
    assert values == ["worker:5", "team:9", "team:8", "community:2", "worker:1"]
    labels = {o["value"]: o["label"] for o in options}
    # English never spells a masked name (长** is a surname, not the place 长白): number and grid.
    assert labels["worker:5"] == "Grid worker 5 · Grid 3"
    assert labels["community:2"] == "Changbai Community"
    assert not any(CJK.search(text) for text in labels.values())
    zh = {o["value"]: o["label"] for o in dispatch_targets(summary(), published, "zh")}
    assert zh["community:2"] == "长白社区"
    assert zh["worker:5"] == "网格员 · 长** · 网格 3"
    unspelled = view(targets={"communities": [{"id": 3, "name": "ꀀ社区"}]})
    assert dispatch_targets(summary(), unspelled, "en")[0]["label"] == "Community 3"


def test_before_any_dispatch_the_teams_that_usually_handle_the_category_come_first():
    from cockpit.cases.deadlines import load_cases_config

    routing = load_cases_config(None).routing
    teams = [
        {"id": 8, "kind": "property", "name": "物业维修队"},
        {"id": 9, "kind": "fire", "name": "长白社区微型消防站"},
        {"id": 10, "kind": "elevator", "name": "电梯维保站"},
    ]
    published = view(targets={"teams": teams})
    first = {
        category: dispatch_targets(
            summary(category=category, department=None),
            published,
            "zh",
            routing.team_kind(category),
        )[0]["value"]
        for category in ("fire.smoke", "elevator.trapped", "repair")
    }
    assert first == {"fire.smoke": "team:9", "elevator.trapped": "team:10", "repair": "team:8"}
    assert routing.team_kind("no.such_category") is None and routing.team_kind(None) is None


@given(
    st.lists(st.text(max_size=12), min_size=3, max_size=3),
    st.sampled_from(["fire", "property", "police"]),
)
def test_english_targets_never_show_chinese(names: list[str], kind: str):
    published = view(
        targets={
            "workers": [{"id": 1, "grid_id": 3, "name": names[0][:1] + "**"}],
            "teams": [{"id": 2, "kind": kind, "name": names[1]}],
            "communities": [{"id": 3, "name": names[2]}],
        }
    )
    options = dispatch_targets(summary(), published, "en")
    assert len(options) == 3
    assert not any(CJK.search(o["label"]) for o in options)


def test_targets_fall_back_to_ranked_communities_and_workers_with_tasks():
    published = view(
        indicators={"community": [{"key": 6, "name": "控江社区"}]},
        tasks_by_worker={"12": [], "3": []},
    )
    values = [o["value"] for o in dispatch_targets(summary(), published, "zh")]
    assert values == ["community:6", "worker:3", "worker:12"]
    assert dispatch_targets(summary(), None, "zh") == []


# -- taps --------------------------------------------------------------------------------------------


def test_tapped_ignores_buttons_only_drawn_and_reads_the_pattern_id():
    pattern = {"type": "case-act", "case": 7, "action": "dispatch", "key": "k1"}
    prop = json.dumps(pattern) + ".n_clicks"
    assert tapped([{"prop_id": prop, "value": 0}]) is None
    assert tapped([{"prop_id": prop, "value": 1}]) == pattern
    assert tapped([{"prop_id": "card-close.n_clicks", "value": 1}]) is None
    assert tapped(None) is None


@given(st.text(max_size=80), st.one_of(st.none(), st.integers(), st.text(max_size=5)))
def test_tapped_never_raises_on_anything_the_browser_sends(prop_id, value):
    result = tapped([{"prop_id": prop_id, "value": value}])
    assert result is None or isinstance(result, dict)


@given(st.text(max_size=60))
def test_profile_always_gives_a_known_language(search):
    lang, mode = profile(search, "zh")
    assert lang in LANGUAGES
    assert isinstance(mode, str)


def test_profile_reads_mode_and_language_and_defaults_to_the_wall():
    assert profile("?mode=tablet&lang=en", "zh") == ("en", "tablet")
    assert profile("", "zh") == ("zh", "wall")
    assert profile(None, "en") == ("en", "wall")


def test_inputs_of_picks_the_values_of_the_tapped_case():
    states = [
        {"id": {"type": "case-input", "case": 7, "name": "note"}, "value": "go"},
        {"id": {"type": "case-input", "case": 7, "name": "target"}, "value": "team:1"},
        {"id": {"type": "case-input", "case": 8, "name": "note"}, "value": "other"},
    ]
    assert inputs_of(states, 7) == {"note": "go", "target": "team:1"}


def test_moved_shows_the_new_state_its_actions_and_a_history_line_until_the_view_catches_up():
    result = ActResult(7, "dispatched", True, datetime(2026, 5, 6, 3, 0))  # naive, as SQLite
    shown = moved(
        summary(),
        result,
        action="dispatch",
        actor="tablet",
        note=None,
        target="team:1",
        now=NOW,
    )
    assert shown["state"] == "dispatched"
    assert shown["assignee"] == "team:1"
    assert "accept" in shown["actions"] and "dispatch" in shown["actions"]
    assert shown["overdue"] is False
    assert shown["history"][-1]["to_state"] == "dispatched"
    assert len(shown["history"]) == 3
    repeat = moved(
        summary(), ActResult(7, "dispatched", False), action="dispatch", actor="tablet",
        note=None, target="team:1", now=NOW,
    )  # fmt: skip
    assert len(repeat["history"]) == 2 and "assignee" in repeat and repeat["assignee"] is None


def test_messages_say_done_already_done_or_the_desks_reason():
    assert outcome(ActResult(7, "dispatched", True), "dispatch", "en")[0] == "ok"
    kind, text = outcome(ActResult(7, "dispatched", False), "dispatch", "en")
    assert kind == "repeat" and "once" in text
    kind, text = refused(CaseActionError("case 7: dispatch needs a target"), "en")
    assert kind == "error" and "dispatch needs a target" in text
    assert "Traceback" not in refused(RuntimeError("boom"), "en")[1]
    assert "boom" not in refused(RuntimeError("boom"), "en")[1]


class FakeClock:
    """Stand still at NOW."""

    def now(self) -> datetime:
        return NOW


DISPATCHER = Principal(account_id=1, username="li", role=Role.DISPATCHER)
VIEWER = Principal(account_id=2, username="zhao", role=Role.VIEWER)
KIOSK = Principal(account_id=3, username="wall", role=Role.KIOSK)


class FakeDesk:
    """Act once per key, refuse a dispatch without a target, as the real desk does."""

    def __init__(self) -> None:
        from cockpit.cases.deadlines import load_cases_config

        self.clock = FakeClock()
        self.config = load_cases_config(None)
        self.calls: list[dict[str, Any]] = []
        self.keys: set[str] = set()

    def act(self, action: str, actor: str, **kw: Any) -> ActResult:
        self.calls.append({"action": action, "actor": actor, **kw})
        if action == "dispatch" and not kw.get("target"):
            raise CaseActionError("dispatch target None must be team:<id>")
        applied = kw["action_key"] not in self.keys
        self.keys.add(kw["action_key"])
        return ActResult(kw.get("case_id") or 7, "dispatched", applied, NOW + timedelta(hours=2))


def test_a_double_tap_acts_once_and_says_so():
    desk = FakeDesk()
    screens = CaseScreens(lambda name: view(summary()), desk, "zh")
    tap = {"type": CASE_ACT, "case": 7, "action": "dispatch", "key": "k1"}
    first = screens.act(
        DISPATCHER, tap, {"target": "team:1", "note": " "}, "?mode=tablet&lang=en", "n1"
    )
    second = screens.act(DISPATCHER, tap, {"target": "team:1"}, "?mode=tablet&lang=en", "n1")
    assert [c["action_key"] for c in desk.calls] == ["k1", "k1"]
    # The actor is the signed-in account, never the page's mode or anything the page sent.
    assert desk.calls[0]["note"] is None and desk.calls[0]["actor"] == "dispatcher:li"
    assert "Done: Dispatch" in text_of(first)
    assert "Already done" in text_of(second)
    assert first.__dict__["data-state"] == "dispatched"


def test_a_refused_tap_shows_the_reason_and_the_wall_cannot_act():
    desk = FakeDesk()
    screens = CaseScreens(lambda name: view(summary()), desk, "zh")
    tap = {"type": CASE_ACT, "case": 7, "action": "dispatch", "key": "k1"}
    card = screens.act(DISPATCHER, tap, {}, "?mode=tablet&lang=en", "n1")
    assert "Refused: dispatch target None" in text_of(card)
    assert card.__dict__["data-state"] == "registered"
    on_wall = screens.act(DISPATCHER, tap, {"target": "team:1"}, "?mode=wall&lang=en", "n1")
    assert "Refused: this screen only shows cases" in text_of(on_wall)
    # A wall's kiosk and a stranger are told nothing and move nothing, whatever the URL says.
    assert screens.act(KIOSK, tap, {"target": "team:1"}, "?mode=tablet", "n1") is no_update
    assert screens.act(None, tap, {"target": "team:1"}, "?mode=tablet", "n1") is no_update
    viewer = screens.act(VIEWER, tap, {"target": "team:1"}, "?mode=tablet&lang=en", "n1")
    assert "the viewer role may not act" in text_of(viewer)
    assert len(desk.calls) == 1


def test_acknowledge_registers_the_alerts_case_and_shows_its_card():
    desk = FakeDesk()
    screens = CaseScreens(lambda name: view(summary(), overdue=[]), desk, "zh")
    card = screens.acknowledge(
        DISPATCHER, {"type": "alert-ack", "id": 40, "key": "a1"}, "?mode=tablet"
    )
    assert desk.calls[0]["action"] == "acknowledge" and desk.calls[0]["alert_id"] == 40
    assert "已办理" in text_of(card)


def test_a_demo_page_shows_the_demos_cases_and_never_acts_on_production():
    desk = FakeDesk()
    production = view(summary(7, title_zh="生产案件"))
    demo = view(summary(7, title_zh="演示案件"))
    screens = CaseScreens(lambda name: production, desk, "zh", read_demo=lambda name: demo)
    card = screens.card(DISPATCHER, 7, "?mode=demo", nonce="n1")
    assert "演示案件" in text_of(card) and "生产案件" not in text_of(card)
    assert ids_of(card, CASE_ACT) == []  # a visitor watches: no buttons
    tap = {"type": CASE_ACT, "case": 7, "action": "dispatch", "key": "k1"}
    refused = screens.act(DISPATCHER, tap, {"target": "team:1"}, "?mode=demo&lang=en", "n1")
    assert "Refused" in text_of(refused)
    ack = {"type": "alert-ack", "id": 40, "key": "a1"}
    assert "Refused" in text_of(screens.acknowledge(DISPATCHER, ack, "?mode=demo&lang=en"))
    assert desk.calls == []
    # Without a demo reader a demo page shows no case at all rather than production's.
    blind = CaseScreens(lambda name: production, desk, "zh")
    assert "生产案件" not in text_of(blind.card(DISPATCHER, 7, "?mode=demo", nonce="n1"))


def stored_row(case_id: int, **changes: Any) -> dict[str, Any]:
    """Return a case row as data_adapters.case_facts.CaseReader reads it from the store."""
    case = summary(case_id, **changes)
    return {
        **{k: v for k, v in case.items() if k not in ("title_zh", "overdue", "actions")},
        "title": case["title_zh"],
        "source": "alert",
        "parked_from": None,
        "supervised_at": None,
        "escalated_at": None,
        "history": [dict(case["history"][1], note="回电 13912345678")],
    }


def test_a_case_past_the_published_hundred_is_read_from_the_store_for_its_card():
    """The lists hold the most pressing hundred; a map marker or KPI row opens any other case,
    from the store, as a record reader only, never on a demo page, and a store fault says gone."""
    reads: list[int] = []

    def read_case(case_id: int) -> dict[str, Any] | None:
        reads.append(case_id)
        return stored_row(case_id, title_zh="第一百零一件") if case_id == 101 else None

    production = view(summary(7))
    screens = CaseScreens(lambda name: production, FakeDesk(), "zh", read_case=read_case)
    card = screens.card(DISPATCHER, 101, "?mode=tablet&lang=zh", nonce="n1")
    text = text_of(card)
    assert "第一百零一件" in text and "AL00000101" in text
    assert "13912345678" not in text  # its history's notes are masked as the lists' are
    assert ids_of(card, CASE_ACT)  # and it can be acted on like any listed case
    assert reads == [101]
    assert screens.card(DISPATCHER, 7, "?mode=tablet", nonce="n1") is not None
    assert reads == [101]  # a listed case costs no read
    assert "该案件已不在在办列表中" in text_of(
        screens.card(DISPATCHER, 5, "?mode=tablet", nonce="n")
    )
    assert screens.card(KIOSK, 101, "?mode=tablet", nonce="n1") is no_update
    assert screens.card(None, 101, "?mode=tablet", nonce="n1") is no_update
    reads.clear()
    demo = CaseScreens(
        lambda n: production, FakeDesk(), "zh", lambda n: view(), read_case=read_case
    )
    assert "第一百零一件" not in text_of(demo.card(DISPATCHER, 101, "?mode=demo", nonce="n1"))
    assert reads == []  # a demo page never reads production's store

    def broken(case_id: int) -> dict[str, Any] | None:
        raise AdapterError("SQL store: OperationalError: gone")

    down = CaseScreens(lambda name: production, FakeDesk(), "zh", read_case=broken)
    assert "该案件已不在在办列表中" in text_of(
        down.card(DISPATCHER, 101, "?mode=tablet", nonce="n")
    )


# -- the grid worker page ------------------------------------------------------------------------


def test_worker_id_accepts_numbers_only():
    assert worker_id("12") == "12"
    assert worker_id(" 3 ") == "3"
    assert worker_id("x; drop") is None
    assert worker_id(None) is None


def test_worker_tasks_list_handling_first_and_offer_the_phone_actions():
    handle = summary(1, state="dispatched", task="handle", overdue=False,
                     actions=["dispatch", "accept", "arrive", "handled", "supervise", "void"])  # fmt: skip
    revisit = summary(2, state="closed", task="revisit", actions=["revisit"])
    tasks = tasks_of({"worker": "4", "tasks": [revisit, handle]}, "4")
    assert [t["id"] for t in tasks] == [1, 2]
    # Another worker's view is nobody's list here.
    assert tasks_of({"worker": "5", "tasks": [revisit, handle]}, "4") == []
    accept = ids_of(task_card(handle, "en", "n1"), "worker-act")
    assert [b["action"] for b in accept] == ["accept", "handled"]
    handling = summary(1, state="handling", task="handle", actions=["arrive", "handled", "void"])
    assert [b["action"] for b in ids_of(task_card(handling, "en", "n1"), "worker-act")] == [
        "handled"
    ]
    revisit_card = task_card(revisit, "en", "n1")
    assert [b["action"] for b in ids_of(revisit_card, "worker-act")] == ["revisit"]
    assert ids_of(revisit_card, "worker-sat") == [{"type": "worker-sat", "case": 2}]
    assert "No task" in text_of(task_list("4", [], "en", "n1"))
    assert "/worker?worker=" in text_of(task_list(None, [], "en", "n1"))
    # Redrawn after a tap, the task's buttons keep the keys of the state still published.
    after = dict(handling, drawn_state="dispatched")
    before = {b["action"]: b["key"] for b in ids_of(task_card(handle, "en", "n1"), "worker-act")}
    again = {b["action"]: b["key"] for b in ids_of(task_card(after, "en", "n1"), "worker-act")}
    assert again["handled"] == before["handled"]


def test_a_read_only_task_list_offers_no_buttons_and_no_inputs():
    """Staff reading a worker's list (/worker?worker=N) see the tasks, never the worker's taps."""
    handle = summary(1, state="handling", task="handle", actions=["handled"])
    revisit = summary(2, state="closed", task="revisit", actions=["revisit"])
    drawn = task_list("4", [handle, revisit], "en", "n1", read_only=True)
    for kind in ("worker-act", "worker-note", "worker-sat"):
        assert ids_of(drawn, kind) == []
    assert "AL00000001" in text_of(drawn)


def published(worker: str, tasks: list, version: str) -> bytes:
    """Return a published tasks view's bytes, stamps last as the publisher writes them."""
    body = {
        "worker": worker,
        "tasks": tasks,
        "version": version,
        "generated_at": "x",
        "published_wall": 1.0,
    }
    return json.dumps(body, separators=(",", ":")).encode()


def test_worker_refresh_redraws_only_when_the_workers_tasks_change():
    task = summary(1, state="dispatched", task="handle", actions=["accept", "handled"])
    context = {"worker": "4", "lang": "en", "version": "v1", "fp": tasks_fingerprint([task])}
    assert refreshed(published("4", [task], "v1"), context, worker="4") == (None, None)
    cards, new = refreshed(published("4", [task], "v2"), context, worker="4")
    assert cards is None and new["version"] == "v2"
    moved_on = dict(task, state="handling")
    cards, new = refreshed(published("4", [moved_on], "v3"), context, worker="4")
    assert cards is not None and new["fp"] != context["fp"]
    assert refreshed(None, context, worker="4") == (None, None)
    assert refreshed(published("4", [], "v4"), context, worker=None) == (None, None)


def test_worker_refresh_draws_whom_the_server_names_not_the_pages_context():
    """A context forged to name worker 5 still gets worker 4's list when the server says 4."""
    task = summary(1, state="dispatched", task="handle", actions=["accept", "handled"])
    forged = {"worker": "5", "lang": "en", "version": "v1", "fp": ""}
    cards, new = refreshed(published("4", [task], "v1"), forged, worker="4")
    assert new["worker"] == "4" and cards is not None
    assert [b["case"] for b in ids_of(cards, "worker-act")] == [1, 1]
    # A view that is not the named worker's draws an empty list, never someone else's tasks.
    cards, _ = refreshed(published("5", [task], "v2"), forged, worker="4")
    assert ids_of(cards, "worker-act") == []


def test_english_titles_never_show_chinese():
    case = summary(title_en="消防通道堵塞", category="no_such_category")
    assert title_of(case, "en") == "no_such_category"
    assert title_of(dict(case, category="长白"), "en") == "AL00000007"
    assert title_of(summary(), "en") == "Smoke alarm"
    assert title_of(summary(), "zh") == "烟感报警"


def test_every_service_has_a_category_label_with_the_catalogues_names():
    from cockpit.domain.services import SERVICES
    from cockpit.i18n import LABELS

    for service in SERVICES:
        entry = LABELS[f"case_category_{service.code}"]
        assert (entry["zh"], entry["en"]) == (service.name.zh, service.name.en)


def test_card_and_task_mask_personal_data_in_titles_and_notes():
    """Defence in depth: whatever a view still carries, the screens show it masked."""
    case = summary(
        title_zh="电话13912345678",
        title_en="call 13912345678",
        history=[
            {
                "action": "handled",
                "from_state": "handling",
                "to_state": "handled",
                "actor": "worker:3",
                "at": "2026-05-06T01:02:00+00:00",
                "note": "已联系 330104199001010018 本人，邮箱 li.si@example.com",
            }
        ],
    )
    for lang in LANGUAGES:
        shown = text_of(case_card(case, lang)) + text_of(task_card(case, lang, "n1"))
        assert "13912345678" not in shown and "139****5678" in shown
        assert "330104199001010018" not in shown and "330104********0018" in shown
        assert "li.si@" not in shown and "l***@example.com" in shown
    assert title_of(case, "en") == "call 139****5678"
