"""Check the one place that decides who may read or do what, over every role and action."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cockpit.access.policy import (
    GRANTS,
    MODES,
    OWN_TASK_ACTIONS,
    AccessDenied,
    Permission,
    Principal,
    Role,
    case_guard,
    may,
    may_act_on_case,
    page_mode,
    require,
)
from cockpit.cases.workflow import Action

ACTIONS = [a.value for a in Action]
roles = st.sampled_from(list(Role))
actions = st.sampled_from(ACTIONS)
workers = st.integers(min_value=1, max_value=50)
assignees = st.one_of(
    st.none(),
    workers.map(lambda w: f"worker:{w}"),
    st.integers(1, 9).map(lambda t: f"team:{t}"),
    st.integers(1, 9).map(lambda c: f"community:{c}"),
    st.text(max_size=12),
)
cases = st.fixed_dictionaries(
    {"assignee": assignees, "reporter_worker_id": st.one_of(st.none(), workers)}
)


def principal(role: Role, worker: int | None = None) -> Principal:
    return Principal(account_id=1, username="u1", role=role, worker_id=worker)


@given(roles, st.sampled_from(list(Permission)))
def test_a_role_holds_exactly_its_grants(role, permission):
    expected = permission in GRANTS[role] or (
        permission is Permission.REVEAL and role in (Role.LEADER, Role.ADMIN)
    )
    assert may(principal(role), permission) is expected


@given(st.sampled_from(list(Permission)))
def test_no_session_may_do_nothing(permission):
    assert not may(None, permission)
    try:
        require(None, permission)
    except AccessDenied as exc:
        assert "sign in" in str(exc)
    else:
        raise AssertionError("no session passed a check")


def test_a_kiosk_sees_aggregates_only():
    wall = principal(Role.KIOSK)
    assert [p for p in Permission if wall.may(p)] == [Permission.VIEW_AGGREGATES]


@given(roles, actions, cases, workers)
def test_only_operators_act_on_any_case_and_workers_only_on_their_own(role, action, case, me):
    who = principal(role, me if role is Role.GRID_WORKER else None)
    allowed = may_act_on_case(who, action, case)
    if action == "supervise":
        assert allowed is (role in (Role.LEADER, Role.ADMIN))
    elif role in (Role.DISPATCHER, Role.LEADER, Role.ADMIN):
        assert allowed
    elif role is Role.GRID_WORKER:
        mine = case["assignee"] == f"worker:{me}"
        reported = case["reporter_worker_id"] == me
        expected = (
            (action in OWN_TASK_ACTIONS and mine)
            or (action == "revisit" and reported)
            or (action == "self_handle" and reported)
        )
        assert allowed is expected
    else:
        assert not allowed


@given(actions, cases)
def test_a_grid_worker_never_verifies_closes_or_voids(action, case):
    me = principal(Role.GRID_WORKER, 7)
    case = {**case, "assignee": "worker:7", "reporter_worker_id": 7}
    if action in ("verify", "close", "void", "dispatch", "reject", "register", "park"):
        assert not may_act_on_case(me, action, case)


def test_a_grid_worker_without_a_record_acts_on_nothing():
    lost = principal(Role.GRID_WORKER, None)
    assert not may_act_on_case(lost, "accept", {"assignee": "worker:None"})


@given(actions, cases)
def test_the_guard_refuses_with_a_reason_what_the_policy_refuses(action, case):
    guard = case_guard(principal(Role.VIEWER))
    try:
        guard(action, case)
    except AccessDenied as exc:
        assert str(exc)
    else:
        raise AssertionError("a viewer acted")


@given(
    roles,
    st.one_of(
        st.none(), st.text(max_size=10), st.sampled_from(["wall", "tablet", "demo", "worker"])
    ),
)
def test_the_role_decides_the_screen_whatever_the_url_asks(role, requested):
    mode = page_mode(principal(role), requested)
    assert mode in MODES[role]
    if role is Role.KIOSK:
        assert mode == "wall"
    assert page_mode(None, requested) is None


def test_the_actor_names_role_and_account():
    assert principal(Role.DISPATCHER).actor == "dispatcher:u1"


@given(roles, st.sampled_from(list(Permission)))
def test_a_refusal_names_the_role_and_what_it_may_not_do_in_plain_words(role, permission):
    who = principal(role)
    if who.may(permission):
        return
    try:
        require(who, permission)
    except AccessDenied as exc:
        assert str(exc).startswith(f"the {role.value} role may not ") and "." not in str(exc)
