"""Check reveal with a reason: masked by default, unmasked only for a reveal role with a reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from dash import Dash, no_update
from hypothesis import given
from hypothesis import strategies as st

from callbacks import reveal as reveal_callbacks
from callbacks.reveal import RevealScreens, fired
from cockpit.access.audit import AuditLog, AuditQuery
from cockpit.access.policy import DEFAULT_REVEAL_ROLES, Permission, Principal, Role
from cockpit.cases.texts import ReportText
from layouts.cases import case_card
from layouts.reveal import CASE_TEXTS, REVEAL_GO, REVEAL_REASON, REVEAL_TIMER, TEXTS_BODY
from tests.unit.cases.test_texts import AGAIN, TYPED, reported_street

TABLET = "?mode=tablet&lang=zh"
MOBILE, ID_NUMBER, EMAIL = "13912345678", "330104199001010018", "zhang.san@example.com"
REASON = "回访核实联系方式"
SECONDS = 90.0


def principal(role: Role, name: str = "wang", reveal_roles=DEFAULT_REVEAL_ROLES) -> Principal:
    return Principal(account_id=1, username=name, role=role, reveal_roles=frozenset(reveal_roles))


def words(component: Any) -> str:
    """Return every text a component tree would show or carry in its props, joined."""
    if component is None or component is no_update:
        return ""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return " ".join(words(child) for child in component)
    props = component.to_plotly_json()["props"]
    return " ".join(
        words(value) if key == "children" else str(value)
        for key, value in props.items()
        if value is not None
    )


def ids(component: Any) -> list[dict]:
    """Return the pattern ids in a component tree."""
    if component is None or isinstance(component, str | int | float) or component is no_update:
        return []
    if isinstance(component, list | tuple):
        return [i for child in component for i in ids(child)]
    found = [component.id] if isinstance(getattr(component, "id", None), dict) else []
    return found + ids(getattr(component, "children", None))


@pytest.fixture
def street(sqlite_engine):
    return reported_street(sqlite_engine)


@pytest.fixture
def screens(street):
    audit = AuditLog(street.engine)
    return RevealScreens(
        street.texts, "zh", reveal_seconds=SECONDS, audit=audit, source_ip=lambda: "10.0.0.9"
    )


def reveals(screens: RevealScreens) -> list[dict]:
    return screens.audit.search(AuditQuery(action="reveal"))


def test_the_card_holds_the_empty_section_the_callback_fills():
    case = {"id": 7, "code": "RQ00000007", "state": "reported", "history": []}
    assert {"type": CASE_TEXTS, "case": 7} in ids(case_card(case, "zh", interactive=False))


def test_a_viewer_sees_the_reported_words_masked_and_no_reveal_control(screens, street):
    section = screens.section(principal(Role.VIEWER), street.repair_case, TABLET)
    shown = words(section)
    assert "139****5678" in shown and "330104********0018" in shown and "z***@example.com" in shown
    assert MOBILE not in shown and ID_NUMBER not in shown and EMAIL not in shown
    assert "楼道灯坏了" in shown  # the words that are nobody's stay readable
    assert not any(i["type"] in (REVEAL_GO, REVEAL_REASON, REVEAL_TIMER) for i in ids(section))


def test_a_leader_gets_the_reason_box_and_a_timer_that_waits(screens, street):
    section = screens.section(principal(Role.LEADER), street.repair_case, TABLET)
    kinds = {i["type"] for i in ids(section)}
    assert {TEXTS_BODY, REVEAL_GO, REVEAL_REASON, REVEAL_TIMER} <= kinds
    assert MOBILE not in words(section)
    (timer,) = [c for c in section[2].children if getattr(c, "id", {}).get("type") == REVEAL_TIMER]
    assert timer.disabled is True and timer.interval == SECONDS * 1000
    assert "至少 4 个字" in words(section)  # the card says how long a reason must be


@pytest.mark.parametrize("role", [Role.KIOSK, Role.GRID_WORKER])
def test_a_wall_or_a_grid_worker_is_sent_no_text_at_all(screens, street, role):
    assert screens.section(principal(role), street.repair_case, TABLET) is None
    assert screens.section(None, street.repair_case, TABLET) is None


def test_the_demo_and_the_wall_show_no_reported_text(screens, street):
    for search in ("?mode=demo", "?mode=wall"):
        shown = words(screens.section(principal(Role.LEADER), street.repair_case, search))
        assert "楼道灯" not in shown and "139" not in shown


def test_a_leader_with_a_reason_sees_the_words_unmasked_and_it_is_audited(screens, street):
    body, timer_off = screens.reveal(principal(Role.LEADER), street.repair_case, REASON, TABLET)
    shown = words(body)
    assert TYPED in shown and AGAIN in shown and timer_off is False
    (entry,) = reveals(screens)
    assert entry["actor"] == "leader:wang" and entry["role"] == "leader"
    assert (entry["record_type"], entry["record_id"]) == ("case", str(street.repair_case))
    assert entry["reason"] == REASON and entry["outcome"] == "ok"
    assert entry["source_ip"] == "10.0.0.9" and entry["detail"]["texts"] == 2


def test_time_up_masks_the_words_again(screens, street):
    screens.reveal(principal(Role.LEADER), street.repair_case, REASON, TABLET)
    again = words(screens.masked(principal(Role.LEADER), street.repair_case, TABLET))
    assert MOBILE not in again and "139****5678" in again
    assert len(reveals(screens)) == 1  # masking is no reveal


@pytest.mark.parametrize("reason", [None, "", "   ", "核实", "abc", " ab "])
def test_no_reason_or_a_short_one_is_refused_says_why_and_is_audited(screens, street, reason):
    body, timer_off = screens.reveal(principal(Role.LEADER), street.repair_case, reason, TABLET)
    shown = words(body)
    assert MOBILE not in shown and ID_NUMBER not in shown and timer_off is True
    assert "至少 4 个字" in shown
    (entry,) = reveals(screens)
    assert entry["outcome"] == "refused" and entry["actor"] == "leader:wang"


@pytest.mark.parametrize("role", [Role.VIEWER, Role.DISPATCHER, Role.GRID_WORKER, Role.KIOSK])
def test_a_role_without_reveal_is_refused_whatever_it_types(screens, street, role):
    body, timer_off = screens.reveal(principal(role, "zhou"), street.repair_case, REASON, TABLET)
    assert MOBILE not in words(body) and ID_NUMBER not in words(body) and timer_off is True
    (entry,) = reveals(screens)
    assert entry["outcome"] == "refused" and entry["actor"] == f"{role.value}:zhou"
    assert entry["reason"] == REASON  # what was typed is kept: a refusal is evidence too


def test_an_admin_may_grant_reveal_to_another_role(screens, street):
    dispatcher = principal(Role.DISPATCHER, reveal_roles={"dispatcher", "admin"})
    assert dispatcher.may(Permission.REVEAL)
    body, _ = screens.reveal(dispatcher, street.repair_case, REASON, TABLET)
    assert TYPED in words(body)
    kiosk = principal(Role.KIOSK, reveal_roles={"kiosk"})  # a wall reads no record, granted or not
    body, _ = screens.reveal(kiosk, street.repair_case, REASON, TABLET)
    assert TYPED not in words(body) and reveals(screens)[0]["outcome"] == "refused"


def test_a_reveal_off_the_tablet_or_of_nothing_is_refused(screens, street):
    for search in ("?mode=wall", "?mode=demo"):
        body, _ = screens.reveal(principal(Role.LEADER), street.repair_case, REASON, search)
        assert MOBILE not in words(body) and "楼道灯" not in words(body)
    body, _ = screens.reveal(principal(Role.LEADER), 10**9, REASON, TABLET)
    assert "没有文字内容" in words(body)
    assert [e["outcome"] for e in reveals(screens)] == ["refused"] * 3
    assert screens.reveal(principal(Role.LEADER), True, REASON, TABLET) == (no_update, True)


def test_a_drawn_button_or_timer_fires_nothing_and_a_tap_names_its_case():
    drawn = [
        {"prop_id": json.dumps({"case": 7, "type": REVEAL_GO}) + ".n_clicks", "value": 0},
        {"prop_id": json.dumps({"case": 7, "type": REVEAL_TIMER}) + ".n_intervals", "value": 0},
    ]
    assert fired(drawn) is None and fired([{"prop_id": ".", "value": None}]) is None
    tap = [{"prop_id": json.dumps({"case": 7, "type": REVEAL_GO}) + ".n_clicks", "value": 1}]
    assert fired(tap) == (REVEAL_GO, 7)
    forged = [{"prop_id": json.dumps({"case": "7", "type": REVEAL_GO}) + ".n_clicks", "value": 1}]
    assert fired(forged) is None


def test_register_attaches_the_fill_and_the_reveal_callbacks(street):
    app = Dash(__name__, suppress_callback_exceptions=True)
    reveal_callbacks.register(
        app, street.texts, "zh", reveal_seconds=SECONDS, who=lambda: None, audit=None
    )
    outputs = " ".join(app.callback_map)
    assert CASE_TEXTS in outputs and TEXTS_BODY in outputs and REVEAL_TIMER in outputs


class FixedTexts:
    """Answer every case with the same two texts, as CaseTexts would read them."""

    def reports(self, case_id: int, limit: int = 20) -> list[ReportText]:
        at = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
        return [ReportText("resident", at, TYPED, False), ReportText("resident", at, AGAIN, True)][
            :limit
        ]


class Recorder:
    """Keep audit entries in a list."""

    def __init__(self) -> None:
        self.entries: list[dict] = []

    def record(self, actor, action, **fields) -> None:
        self.entries.append({"actor": actor, "action": action, **fields})


@given(
    role=st.sampled_from(list(Role)),
    granted=st.sets(st.sampled_from([r.value for r in Role])),
    reason=st.one_of(st.none(), st.text(max_size=12)),
    mode=st.sampled_from(["tablet", "wall", "demo", "worker", "nonsense"]),
)
def test_unmasked_words_leave_only_for_a_record_reader_with_reveal_a_reason_and_a_tablet(
    role, granted, reason, mode
):
    audit = Recorder()
    screens = RevealScreens(FixedTexts(), "zh", reveal_seconds=SECONDS, audit=audit)
    who = principal(role, reveal_roles=granted)
    body, timer_off = screens.reveal(who, 7, reason, f"?mode={mode}")
    allowed = (
        who.may(Permission.VIEW_RECORDS)
        and role.value in granted
        and mode == "tablet"
        and len((reason or "").strip()) >= 4
    )
    shown = words(body)
    assert (MOBILE in shown) is allowed and (EMAIL in shown) is allowed
    assert timer_off is not allowed
    (entry,) = audit.entries
    assert entry["action"] == "reveal" and entry["record"] == ("case", 7)
    assert entry["outcome"] == ("ok" if allowed else "refused")
    # Masked text never leaves for a principal who may not read records at all.
    if not who.may(Permission.VIEW_RECORDS):
        assert "楼道灯" not in shown and "139" not in shown
    # The fill is masked for every principal, whatever the roles granted.
    assert MOBILE not in words(screens.section(who, 7, f"?mode={mode}"))
