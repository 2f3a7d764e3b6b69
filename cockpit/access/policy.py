"""Decide, in one place, what each role may read and do; every callback and endpoint asks here.

    principal = Principal(account_id=3, username="li", role=Role.DISPATCHER)
    require(principal, Permission.ACT_CASES)          # raises AccessDenied for a viewer
    may_act_on_case(principal, "verify", case)        # a grid worker only on their own tasks

No session at all is `None`, which may do nothing but read the public endpoints.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    """Name each kind of account."""

    KIOSK = "kiosk"  # a wall: signs in with a revocable token, sees aggregates only
    VIEWER = "viewer"  # reads the cockpit, acts on nothing
    DISPATCHER = "dispatcher"  # the street centre's operators: register, dispatch, verify, close
    LEADER = "leader"  # street leaders: what dispatchers do, and supervise (督办)
    GRID_WORKER = "grid_worker"  # bound to one grid worker record: their own tasks only
    ADMIN = "admin"  # accounts and the audit log, and everything a leader may do


class Permission(StrEnum):
    """Name each thing the server guards."""

    VIEW_AGGREGATES = "view.aggregates"  # counts, rates, colours: what a wall shows
    VIEW_RECORDS = "view.records"  # case lists and cards, building and device cards (masked)
    VIEW_OWN_TASKS = "view.own_tasks"  # a grid worker's own task list
    ACT_CASES = "case.act"  # workflow actions on any case, acknowledging alerts
    SUPERVISE = "case.supervise"  # 督办: a leader's tightening of a deadline
    ACT_OWN_TASKS = "case.act_own"  # a grid worker's moves on the cases assigned to them
    REVEAL = "record.reveal"  # unmask one record after typing a reason
    READ_AUDIT = "audit.read"  # search and export the audit log
    MANAGE_ACCOUNTS = "accounts.manage"
    RUN_DEMO = "demo.run"  # play, pause and restart one's own demo


# What a refusal says each permission is, in the words a person on the screen reads.
PLAIN: dict[Permission, str] = {
    Permission.VIEW_AGGREGATES: "open the cockpit",
    Permission.VIEW_RECORDS: "read case records",
    Permission.VIEW_OWN_TASKS: "read a task list",
    Permission.ACT_CASES: "act on cases",
    Permission.SUPERVISE: "supervise cases",
    Permission.ACT_OWN_TASKS: "act on a grid worker's tasks",
    Permission.REVEAL: "unmask personal data",
    Permission.READ_AUDIT: "read the audit log",
    Permission.MANAGE_ACCOUNTS: "manage accounts",
    Permission.RUN_DEMO: "run a demo",
}
_EVERYONE_SIGNED_IN = {Permission.VIEW_AGGREGATES, Permission.RUN_DEMO}
_STAFF = _EVERYONE_SIGNED_IN | {Permission.VIEW_RECORDS}
_OPERATOR = _STAFF | {Permission.ACT_CASES}
GRANTS: dict[Role, frozenset[Permission]] = {
    Role.KIOSK: frozenset({Permission.VIEW_AGGREGATES}),
    Role.VIEWER: frozenset(_STAFF),
    Role.DISPATCHER: frozenset(_OPERATOR),
    Role.LEADER: frozenset(_OPERATOR | {Permission.SUPERVISE}),
    Role.GRID_WORKER: frozenset(
        _EVERYONE_SIGNED_IN | {Permission.VIEW_OWN_TASKS, Permission.ACT_OWN_TASKS}
    ),
    Role.ADMIN: frozenset(Permission),
}
# Who may unmask is a setting (COCKPIT_REVEAL_ROLES); these are its defaults.
DEFAULT_REVEAL_ROLES = frozenset({Role.LEADER, Role.ADMIN})
# A grid worker's moves on their own task: never verify or close their own work, never void it.
OWN_TASK_ACTIONS = frozenset({"accept", "arrive", "handled", "revisit"})
# Reporting and solving on the spot (自行处置) is the reporter's own move, on their own report.
REPORTER_ACTIONS = frozenset({"self_handle"})
SUPERVISE_ACTIONS = frozenset({"supervise"})
# The screens a role may open: a kiosk is a wall whatever its URL says.
MODES: dict[Role, tuple[str, ...]] = {
    Role.KIOSK: ("wall",),
    Role.VIEWER: ("tablet", "wall", "demo"),
    Role.DISPATCHER: ("tablet", "wall", "demo"),
    Role.LEADER: ("tablet", "wall", "demo"),
    Role.GRID_WORKER: ("worker", "demo"),
    Role.ADMIN: ("tablet", "wall", "demo"),
}


class AccessDenied(PermissionError):  # noqa: N818 (a verdict, read as one: "access denied")
    """Refuse a request the principal's role does not allow, saying why."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Describe who is signed in: their account, role and, for a grid worker, their record."""

    account_id: int
    username: str
    role: Role
    worker_id: int | None = None
    reveal_roles: frozenset[str] = DEFAULT_REVEAL_ROLES

    @property
    def actor(self) -> str:
        """Return the name written to case history and the audit log: role and account."""
        return f"{self.role.value}:{self.username}"[:64]

    def may(self, permission: Permission) -> bool:
        """Tell whether this principal's role grants the permission."""
        if permission is Permission.REVEAL:
            return self.role.value in self.reveal_roles
        return permission in GRANTS[self.role]


def may(principal: Principal | None, permission: Permission) -> bool:
    """Tell whether the principal (None: no session) holds the permission."""
    return principal is not None and principal.may(permission)


def require(principal: Principal | None, permission: Permission) -> Principal:
    """Return the principal when it holds the permission, else raise AccessDenied."""
    if principal is None:
        raise AccessDenied("sign in first")
    if not principal.may(permission):
        raise AccessDenied(f"the {principal.role.value} role may not {PLAIN[permission]}")
    return principal


def page_mode(principal: Principal | None, requested: str | None) -> str | None:
    """Return the screen the principal gets for the requested one; None when it may open none."""
    if principal is None:
        return None
    allowed = MODES[principal.role]
    return requested if requested in allowed else allowed[0]


def case_assignee(case: Mapping[str, Any]) -> int | None:
    """Return the grid worker id a case is assigned to ("worker:<id>"), else None."""
    kind, _, ident = str(case.get("assignee") or "").partition(":")
    return int(ident) if kind == "worker" and ident.isdigit() else None


def may_act_on_case(principal: Principal | None, action: str, case: Mapping[str, Any]) -> bool:
    """Tell whether the principal may take this action on this case (as the store has it now).

    `case` needs `assignee` and, for a grid worker's own report, `reporter_worker_id`.
    """
    if principal is None:
        return False
    if action in SUPERVISE_ACTIONS:
        return principal.may(Permission.SUPERVISE)
    if principal.may(Permission.ACT_CASES):
        return True
    if not principal.may(Permission.ACT_OWN_TASKS) or principal.worker_id is None:
        return False
    mine = principal.worker_id
    if action in OWN_TASK_ACTIONS and case_assignee(case) == mine:
        return True
    if action == "revisit" and case.get("reporter_worker_id") == mine:
        return True
    return action in REPORTER_ACTIONS and case.get("reporter_worker_id") == mine


def refusal(principal: Principal | None, action: str) -> str:
    """Return why the principal may not take the action on that case, in plain words."""
    if principal is None:
        return "sign in first"
    if action in SUPERVISE_ACTIONS:
        return "only a street leader may supervise (督办) a case"
    if principal.role is Role.GRID_WORKER:
        return f"a grid worker may {action} only the cases assigned to them"
    return f"the {principal.role.value} role may not {action} cases"


def case_guard(principal: Principal | None):
    """Return the check a case desk runs on the stored case before this principal's action."""

    def check(action: str, case: Mapping[str, Any]) -> None:
        if not may_act_on_case(principal, action, case):
            raise AccessDenied(refusal(principal, action))

    return check
