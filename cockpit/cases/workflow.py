"""Move a case through the GB/T 30428 cycle: a pure state machine of actions and refusals.

Main line: reported -register-> registered -dispatch-> dispatched -accept/arrive-> handling
-handled-> handled -verify-> verified -close-> closed -revisit-> evaluated.
Side states: parked (挂账: `park` with a reason pauses the clock, `resume` returns to the state it
was parked from), voided (作废: `void` with a reason, final), rework (返工: `reject` at
verification sends the case back to its handler), supervised (督办: `supervise` with a leader's
note tightens the handling deadline), escalated (`escalate` with a reason hands it to the district
grid centre, which handles it or dispatches it back). A grid worker may `self_handle` a problem
they reported (自行处置). `apply` refuses anything else with a WorkflowError naming what is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from cockpit.domain.kinds import CaseSource, CaseState

S = CaseState


class Action(StrEnum):
    """Name each thing a person can do to a case."""

    REGISTER = "register"  # 立案 (acknowledging an alert registers its case)
    DISPATCH = "dispatch"  # 派遣 to a team, grid worker or community
    ACCEPT = "accept"  # the handler takes the task
    ARRIVE = "arrive"  # the handler is on site (the fast chain's third step)
    HANDLED = "handled"  # 处理反馈: the handler reports it done
    SELF_HANDLE = "self_handle"  # 自行处置: the reporting grid worker solved it on the spot
    VERIFY = "verify"  # 核查通过
    REJECT = "reject"  # 核查不通过 → rework
    CLOSE = "close"  # 结案
    REVISIT = "revisit"  # 回访: the resident's satisfaction → evaluated
    PARK = "park"  # 挂账
    RESUME = "resume"  # 解除挂账
    VOID = "void"  # 作废
    SUPERVISE = "supervise"  # 督办
    ESCALATE = "escalate"  # 上报区网格中心


# States a case is worked in by its handler; from each, the handler's moves are the same.
WORKING = (S.DISPATCHED, S.HANDLING, S.REWORK, S.SUPERVISED)
PARKABLE = (S.REGISTERED, *WORKING, S.ESCALATED)
FINAL = (S.EVALUATED, S.VOIDED)
# Closed for good or abandoned: no clock runs.
ENDED = (S.CLOSED, S.EVALUATED, S.VOIDED)

TRANSITIONS: dict[tuple[CaseState, Action], CaseState] = {
    (S.REPORTED, Action.REGISTER): S.REGISTERED,
    (S.REPORTED, Action.SELF_HANDLE): S.HANDLED,
    (S.REPORTED, Action.VOID): S.VOIDED,
    (S.REGISTERED, Action.DISPATCH): S.DISPATCHED,
    (S.REGISTERED, Action.ESCALATE): S.ESCALATED,
    (S.ESCALATED, Action.DISPATCH): S.DISPATCHED,
    (S.ESCALATED, Action.HANDLED): S.HANDLED,
    (S.HANDLED, Action.VERIFY): S.VERIFIED,
    (S.HANDLED, Action.REJECT): S.REWORK,
    (S.VERIFIED, Action.CLOSE): S.CLOSED,
    (S.CLOSED, Action.REVISIT): S.EVALUATED,
}
for _state in WORKING:
    TRANSITIONS[(_state, Action.DISPATCH)] = S.DISPATCHED  # re-dispatch: the wrong handler
    TRANSITIONS[(_state, Action.HANDLED)] = S.HANDLED
    TRANSITIONS[(_state, Action.SUPERVISE)] = S.SUPERVISED
    TRANSITIONS[(_state, Action.ESCALATE)] = S.ESCALATED
    TRANSITIONS[(_state, Action.ARRIVE)] = S.HANDLING
    if _state is not S.HANDLING:
        TRANSITIONS[(_state, Action.ACCEPT)] = S.HANDLING
for _state in PARKABLE:
    TRANSITIONS[(_state, Action.PARK)] = S.PARKED
for _state in (S.REGISTERED, *WORKING, S.ESCALATED, S.PARKED):
    TRANSITIONS[(_state, Action.VOID)] = S.VOIDED

# Actions that must say why; dispatch must say to whom; revisit must give a satisfaction score.
NEEDS_NOTE = frozenset({Action.PARK, Action.VOID, Action.SUPERVISE, Action.REJECT, Action.ESCALATE})
SATISFACTION_RANGE = range(1, 6)

# When each action stamps its stage (the desk stores these in the case's *_at columns).
STAMPS: dict[Action, tuple[str, ...]] = {
    Action.REGISTER: ("registered_at",),
    Action.DISPATCH: ("dispatched_at",),
    Action.ACCEPT: ("accepted_at",),
    Action.ARRIVE: ("accepted_at", "arrived_at"),
    Action.HANDLED: ("handled_at",),
    Action.SELF_HANDLE: ("handled_at",),
    Action.VERIFY: ("verified_at",),
    Action.CLOSE: ("closed_at",),
    Action.REVISIT: ("evaluated_at",),
    Action.SUPERVISE: ("supervised_at",),
    Action.ESCALATE: ("escalated_at",),
    Action.PARK: ("parked_at",),
}


class WorkflowError(ValueError):
    """Refuse an action the case's state does not allow, saying what would be allowed."""


@dataclass(frozen=True)
class CaseRecord:
    """Hold the part of a case the workflow decides on."""

    state: CaseState
    source: CaseSource
    parked_from: CaseState | None = None
    stamped: frozenset[str] = frozenset()
    dispatch_count: int = 0
    rework_count: int = 0
    assignee: str | None = None
    self_handled: bool = False
    satisfaction: int | None = None


def allowed(record: CaseRecord) -> list[Action]:
    """Return the actions the case's state allows, in the order of the cycle."""
    actions = [a for a in Action if (record.state, a) in TRANSITIONS]
    if record.state is S.PARKED:
        actions.insert(0, Action.RESUME)
    if record.source is not CaseSource.GRID_WORKER and Action.SELF_HANDLE in actions:
        actions.remove(Action.SELF_HANDLE)
    return actions


def apply(
    record: CaseRecord,
    action: Action | str,
    *,
    note: str | None = None,
    target: str | None = None,
    satisfaction: int | None = None,
) -> CaseRecord:
    """Return the case after the action, or raise WorkflowError with a clear reason."""
    try:
        action = Action(action)
    except ValueError:
        known = ", ".join(a.value for a in Action)
        raise WorkflowError(f"unknown action {action!r}; known actions: {known}") from None
    if action not in allowed(record):
        names = ", ".join(a.value for a in allowed(record)) or "none (the case is final)"
        raise WorkflowError(
            f"cannot {action.value} a case that is {record.state.value}; allowed: {names}"
        )
    if action in NEEDS_NOTE and not (note and note.strip()):
        raise WorkflowError(f"{action.value} needs a reason or note")
    if action is Action.DISPATCH and not (target and target.strip()):
        raise WorkflowError("dispatch needs a target: a team, a grid worker or a community")
    if action is Action.REVISIT and satisfaction not in SATISFACTION_RANGE:
        raise WorkflowError(f"revisit needs a satisfaction score from 1 to 5, not {satisfaction!r}")

    if action is Action.RESUME:
        if record.parked_from is None:
            raise WorkflowError("this parked case does not say which state to resume")
        to_state = record.parked_from
    else:
        to_state = TRANSITIONS[(record.state, action)]
    changes: dict = {
        "state": to_state,
        "parked_from": record.state if action is Action.PARK else None,
        "stamped": record.stamped | set(STAMPS.get(action, ())),
    }
    if action is Action.DISPATCH:
        changes.update(dispatch_count=record.dispatch_count + 1, assignee=target)
    elif action is Action.REJECT:
        changes["rework_count"] = record.rework_count + 1
    elif action is Action.SELF_HANDLE:
        changes["self_handled"] = True
    elif action is Action.REVISIT:
        changes["satisfaction"] = satisfaction
    return replace(record, **changes)
