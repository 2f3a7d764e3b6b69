"""Test the case state machine: every sequence of actions keeps the case in a legal state."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cockpit.cases.workflow import (
    ENDED,
    FINAL,
    Action,
    CaseRecord,
    WorkflowError,
    allowed,
    apply,
)
from cockpit.domain.kinds import CaseSource, CaseState

S = CaseState
RESUMABLE = {S.REGISTERED, S.DISPATCHED, S.HANDLING, S.REWORK, S.SUPERVISED, S.ESCALATED}

steps = st.lists(
    st.tuples(
        st.sampled_from(list(Action)),
        st.sampled_from([None, "", "  ", "原因"]),
        st.sampled_from([None, "team:1", "worker:2"]),
        st.sampled_from([None, 0, 1, 5, 6]),
    ),
    max_size=40,
)


def assert_legal(record: CaseRecord, path: list[Action]) -> None:
    """Check the invariants of a case that the workflow moved along `path`."""
    assert isinstance(record.state, CaseState)
    assert (record.parked_from is not None) == (record.state is S.PARKED)
    if record.parked_from is not None:
        assert record.parked_from in RESUMABLE
    if record.state in (S.HANDLED, S.VERIFIED, S.CLOSED, S.EVALUATED):
        assert "handled_at" in record.stamped
        handled_by = record.self_handled or "dispatched_at" in record.stamped
        assert handled_by or "escalated_at" in record.stamped
    if record.state in (S.VERIFIED, S.CLOSED, S.EVALUATED):
        assert "verified_at" in record.stamped
    if record.state in (S.CLOSED, S.EVALUATED):
        assert "closed_at" in record.stamped
    if record.state is S.EVALUATED:
        assert record.satisfaction in range(1, 6)
    if record.state is S.REWORK:
        assert record.rework_count >= 1
    if record.self_handled:
        assert record.source is CaseSource.GRID_WORKER
    if record.dispatch_count:
        assert record.assignee
    if record.state in FINAL:
        assert allowed(record) == []


@settings(max_examples=400)
@given(source=st.sampled_from(list(CaseSource)), actions=steps)
def test_no_sequence_of_actions_reaches_an_illegal_state(source, actions) -> None:
    """Apply random actions: allowed ones move the case, the rest are refused and change nothing."""
    record = CaseRecord(state=S.REPORTED, source=source)
    path: list[Action] = []
    for action, note, target, satisfaction in actions:
        try:
            after = apply(record, action, note=note, target=target, satisfaction=satisfaction)
        except WorkflowError as exc:
            assert str(exc)
            continue
        assert action in allowed(record)
        record = after
        path.append(action)
        assert_legal(record, path)
    if record.state in ENDED:
        assert record.state in (S.CLOSED, S.EVALUATED, S.VOIDED)


def test_the_main_line_runs_from_report_to_evaluation() -> None:
    """Register, dispatch, accept, handle, verify, close and revisit in order."""
    record = CaseRecord(state=S.REPORTED, source=CaseSource.RESIDENT)
    for action, kw in [
        (Action.REGISTER, {}),
        (Action.DISPATCH, {"target": "team:3"}),
        (Action.ACCEPT, {}),
        (Action.HANDLED, {"note": "清理完毕"}),
        (Action.VERIFY, {}),
        (Action.CLOSE, {}),
        (Action.REVISIT, {"satisfaction": 5}),
    ]:
        record = apply(record, action, **kw)
    assert record.state is S.EVALUATED
    assert allowed(record) == []


def test_illegal_transition_is_refused_with_what_is_allowed() -> None:
    """Closing a case nobody handled names the state and the allowed actions."""
    record = CaseRecord(state=S.REGISTERED, source=CaseSource.ALERT)
    with pytest.raises(WorkflowError, match="cannot close a case that is registered; allowed: "):
        apply(record, Action.CLOSE)


@pytest.mark.parametrize("action", [Action.PARK, Action.VOID, Action.ESCALATE])
def test_park_void_and_escalate_need_a_reason(action) -> None:
    """A blank reason is refused."""
    record = CaseRecord(state=S.REGISTERED, source=CaseSource.ALERT)
    with pytest.raises(WorkflowError, match="needs a reason"):
        apply(record, action, note="  ")
    assert apply(record, action, note="等待区里批复").state is not S.REGISTERED


def test_parking_resumes_to_the_state_it_left() -> None:
    """A case parked while handling goes back to handling."""
    record = CaseRecord(state=S.HANDLING, source=CaseSource.ALERT, assignee="team:1")
    parked = apply(record, Action.PARK, note="等待配件")
    assert (parked.state, parked.parked_from) == (S.PARKED, S.HANDLING)
    resumed = apply(parked, Action.RESUME)
    assert (resumed.state, resumed.parked_from) == (S.HANDLING, None)


def test_failed_verification_sends_the_case_back_to_rework() -> None:
    """Reject counts a rework; the handler can report it handled again."""
    record = CaseRecord(state=S.HANDLED, source=CaseSource.ALERT, stamped=frozenset({"handled_at"}))
    rework = apply(record, Action.REJECT, note="现场仍有垃圾")
    assert (rework.state, rework.rework_count) == (S.REWORK, 1)
    assert apply(rework, Action.HANDLED).state is S.HANDLED


def test_only_the_grid_workers_own_reports_can_be_self_handled() -> None:
    """Self-handling is offered for grid worker reports only."""
    ours = CaseRecord(state=S.REPORTED, source=CaseSource.GRID_WORKER)
    assert apply(ours, Action.SELF_HANDLE).self_handled
    theirs = CaseRecord(state=S.REPORTED, source=CaseSource.RESIDENT)
    with pytest.raises(WorkflowError, match="cannot self_handle"):
        apply(theirs, Action.SELF_HANDLE)


def test_unknown_action_and_bad_satisfaction_are_refused() -> None:
    """Unknown names and scores outside 1-5 get clear errors."""
    closed = CaseRecord(state=S.CLOSED, source=CaseSource.ALERT)
    with pytest.raises(WorkflowError, match="unknown action 'fly'"):
        apply(closed, "fly")
    with pytest.raises(WorkflowError, match="satisfaction score from 1 to 5"):
        apply(closed, Action.REVISIT, satisfaction=9)
