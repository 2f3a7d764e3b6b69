"""Load the case deadlines (defaults.toml merged with Settings.cases_file) and plan each stage's due time.

Routine cases run on working time (cockpit.cases.calendar): register, dispatch, handle (per
category), verify and close, each from the moment the previous stage ended. Urgent cases run the
fast response chain (T street "30125") on elapsed time, every limit counted from the report.
`Planner.due_changes` returns the due-time columns an action sets; `current_deadline` tells
which one the case's state is waiting on, stored as Case.deadline_at so a restart resumes it.
Parking pauses the clock: on resume every pending due time moves by the time spent parked.
"""

from __future__ import annotations

import tomllib
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cockpit.cases.calendar import CalendarError, WorkingCalendar
from cockpit.cases.workflow import Action
from cockpit.domain.kinds import CaseState
from cockpit.rules.config import merge

DEFAULTS_RESOURCE = "defaults.toml"
NORMAL, URGENT = "normal", "urgent"
DUE_COLUMNS = (
    "register_due_at",
    "dispatch_due_at",
    "arrive_due_at",
    "handle_due_at",
    "verify_due_at",
    "close_due_at",
)

Positive = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]
S = CaseState


class CasesConfigError(ValueError):
    """Report a cases file that cannot be read or does not validate, naming the bad keys."""


class _Model(BaseModel):
    """Refuse unknown keys and freeze every section."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Limit(_Model):
    """Give a limit in working days, hours and minutes (they add up)."""

    days: NonNegative = 0
    hours: NonNegative = 0
    minutes: NonNegative = 0

    @model_validator(mode="after")
    def _check(self) -> Self:
        """Refuse a limit of no time at all."""
        if self.days == self.hours == self.minutes == 0:
            raise ValueError("a limit needs days, hours or minutes above zero")
        return self

    def seconds(self, calendar: WorkingCalendar) -> float:
        """Return the limit in working seconds on this calendar."""
        return self.days * calendar.day_seconds + self.hours * 3600 + self.minutes * 60


class CalendarConfig(_Model):
    """Describe working time: zone, periods of a working day, holidays and make-up workdays."""

    zone: str
    periods: Annotated[list[tuple[str, str]], Field(min_length=1)]
    holidays: list[date] = []
    workdays: list[date] = []


class StagesConfig(_Model):
    """Set the working-time limits of the stages around handling."""

    # "register" would shadow BaseModel.register: the TOML key stays, the attribute differs.
    registration: Limit = Field(alias="register")
    dispatch: Limit
    verify: Limit
    close: Limit


class CategoryConfig(_Model):
    """Set one category's handling limit."""

    handle: Limit


class FastChainConfig(_Model):
    """Set the fast chain's limits in elapsed seconds from the report."""

    acknowledge_s: Positive
    dispatch_s: Positive
    arrive_s: Positive
    handle_s: Positive
    verify_s: Positive
    close_s: Positive

    @model_validator(mode="after")
    def _check(self) -> Self:
        """Refuse a chain whose steps are due out of order."""
        steps = [self.acknowledge_s, self.dispatch_s, self.arrive_s, self.handle_s]
        if steps != sorted(steps):
            raise ValueError("acknowledge_s <= dispatch_s <= arrive_s <= handle_s must hold")
        return self


class FirstStepConfig(_Model):
    """Set the least time the first step leaves from a case's opening, per priority."""

    urgent: Limit
    normal: Limit

    def floor(self, priority: str) -> Limit:
        """Return the least time a case of this priority gets to be acknowledged or registered."""
        return self.urgent if priority == URGENT else self.normal


class SuperviseConfig(_Model):
    """Set how much a leader's supervision cuts the handling time left."""

    factor: Annotated[float, Field(gt=0, le=1)]


class DuplicatesConfig(_Model):
    """Set the window in which a second report of the same problem joins the open case."""

    window_hours: Positive


class RoutingConfig(_Model):
    """Decide which cases run the fast chain and which go to the police command room."""

    urgent_levels: list[str]
    urgent_routings: list[str]
    police_sources: list[str]
    police_categories: list[str]
    # Category (or its family, the part before the first dot) → the kind of response team that
    # usually handles it: the tablet offers those teams first when dispatching.
    teams: dict[str, str] = {}

    def team_kind(self, category: str | None) -> str | None:
        """Return the kind of team that usually handles a category, or None."""
        if not category:
            return None
        return self.teams.get(category) or self.teams.get(category.split(".", 1)[0])


class SyncConfig(_Model):
    """Decide what the periodic sync turns into cases."""

    backfill_hours: NonNegative
    skip_alert_kinds: list[str] = []


class CasesConfig(_Model):
    """Hold every deadline and routing choice of the closed loop; build it with load_cases_config()."""

    calendar: CalendarConfig
    stages: StagesConfig
    default: CategoryConfig
    categories: dict[str, CategoryConfig] = {}
    fast_chain: FastChainConfig
    first_step: FirstStepConfig
    supervise: SuperviseConfig
    duplicates: DuplicatesConfig
    routing: RoutingConfig
    sync: SyncConfig

    @model_validator(mode="after")
    def _check(self) -> Self:
        """Refuse a calendar that cannot count time."""
        self.working_calendar()
        return self

    def working_calendar(self) -> WorkingCalendar:
        """Return the working calendar these settings describe."""
        try:
            return WorkingCalendar.build(
                self.calendar.zone,
                self.calendar.periods,
                self.calendar.holidays,
                self.calendar.workdays,
            )
        except (CalendarError, ValueError, KeyError) as exc:
            raise ValueError(f"calendar: {exc}") from exc

    def handle_limit(self, category: str) -> Limit:
        """Return the handling limit of a category, or the default one."""
        return (self.categories.get(category) or self.default).handle


def load_cases_config(path: Path | None = None) -> CasesConfig:
    """Return the shipped defaults merged with the TOML file at path, validated."""
    text = resources.files(__package__).joinpath(DEFAULTS_RESOURCE).read_text(encoding="utf-8")
    merged = tomllib.loads(text)
    if path is not None:
        try:
            override = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise CasesConfigError(f"cannot read cases file {path}: {exc.strerror or exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise CasesConfigError(f"cases file {path} is not valid TOML: {exc}") from exc
        merged = merge(merged, override)
    try:
        return CasesConfig.model_validate(merged)
    except ValidationError as exc:
        where = f" in {path}" if path is not None else " in the shipped defaults"
        problems = "; ".join(
            f"'{'.'.join(str(p) for p in e['loc'])}': {e['msg']}" for e in exc.errors()
        )
        raise CasesConfigError(f"invalid cases configuration{where}: {problems}") from exc


class Planner:
    """Compute due times on the configured calendar; pure, no I/O."""

    def __init__(self, config: CasesConfig) -> None:
        self.config = config
        self.calendar = config.working_calendar()

    def add(self, priority: str, start: datetime, seconds: float) -> datetime:
        """Return start plus seconds on the case's clock: working time, or elapsed when urgent."""
        if priority == URGENT:
            return start + timedelta(seconds=seconds)
        return self.calendar.add(start, seconds)

    def between(self, priority: str, start: datetime, end: datetime) -> float:
        """Return the seconds from start to end on the case's clock."""
        if priority == URGENT:
            return (end - start).total_seconds()
        return self.calendar.between(start, end)

    def on_open(
        self,
        priority: str,
        category: str,
        reported_at: datetime,
        opened_at: datetime | None = None,
    ) -> dict[str, Any]:
        """Return the due times a new case starts with, the first one at least its floor away.

        The stages count from the report; a case the cockpit opens later (`opened_at`, the report
        time when not given) still gets `[first_step]` from its opening to be acknowledged or
        registered, so no case is overdue the moment it appears.
        """
        opened_at = max(reported_at, opened_at or reported_at)
        floor = self.add(
            priority, opened_at, self.config.first_step.floor(priority).seconds(self.calendar)
        )
        if priority == URGENT:
            chain = self.config.fast_chain
            # Late to the desk: the whole chain moves, so its steps stay in order.
            at = reported_at + max(
                timedelta(0), floor - (reported_at + timedelta(seconds=chain.acknowledge_s))
            )
            return {
                "register_due_at": at + timedelta(seconds=chain.acknowledge_s),
                "dispatch_due_at": at + timedelta(seconds=chain.dispatch_s),
                "arrive_due_at": at + timedelta(seconds=chain.arrive_s),
                "handle_due_at": at + timedelta(seconds=chain.handle_s),
                "close_due_at": at
                + timedelta(seconds=chain.handle_s + chain.verify_s + chain.close_s),
            }
        stages = self.config.stages
        due = self.add(NORMAL, reported_at, stages.registration.seconds(self.calendar))
        return {"register_due_at": max(due, floor)}

    def due_changes(
        self,
        case: dict[str, Any],
        action: Action,
        at: datetime,
        *,
        within_s: float | None = None,
    ) -> dict[str, Any]:
        """Return the due-time columns the action sets on a case (a dict of its columns)."""
        priority, cal = case["priority"], self.calendar
        stages = self.config.stages
        handle_s = (
            self.config.fast_chain.handle_s
            if priority == URGENT
            else self.config.handle_limit(case["category"]).seconds(cal)
        )
        if action is Action.REGISTER and priority == NORMAL:
            total = sum(
                limit.seconds(cal) for limit in (stages.dispatch, stages.verify, stages.close)
            )
            return {
                "dispatch_due_at": self.add(NORMAL, at, stages.dispatch.seconds(cal)),
                "close_due_at": self.add(NORMAL, at, total + handle_s),
            }
        if action is Action.DISPATCH and case.get("handle_due_at") is None:
            return {"handle_due_at": self.add(priority, at, handle_s)}
        if action is Action.REJECT:
            # Rework restarts the handling clock; the case's overall deadline stays.
            return {"handle_due_at": self.add(priority, at, handle_s)}
        if action in (Action.HANDLED, Action.SELF_HANDLE):
            verify_s = (
                self.config.fast_chain.verify_s
                if priority == URGENT
                else stages.verify.seconds(cal)
            )
            changes = {"verify_due_at": self.add(priority, at, verify_s)}
            if case.get("close_due_at") is None:
                close_s = (
                    self.config.fast_chain.close_s
                    if priority == URGENT
                    else stages.close.seconds(cal)
                )
                changes["close_due_at"] = self.add(priority, changes["verify_due_at"], close_s)
            return changes
        if action is Action.SUPERVISE:
            due = case.get("handle_due_at")
            if due is None:
                return {}
            left = self.between(priority, at, due)
            cut = within_s if within_s is not None else left * self.config.supervise.factor
            if left > 0 and cut < left:
                return {"handle_due_at": self.add(priority, at, max(cut, 0.0))}
            return {}
        return {}

    def resume_changes(self, case: dict[str, Any], at: datetime) -> dict[str, Any]:
        """Move every due time still ahead at parking by the time the case spent parked."""
        parked_at = case["parked_at"]
        priority = case["priority"]
        paused = max(0.0, self.between(priority, parked_at, at))
        changes = {}
        for column in DUE_COLUMNS:
            due = case.get(column)
            if due is not None and due >= parked_at:
                changes[column] = self.add(priority, due, paused)
        return changes

    def remaining(self, case: dict[str, Any], at: datetime) -> float | None:
        """Return the clock time left to the current deadline (negative when overdue)."""
        due = case.get("deadline_at")
        return None if due is None else self.between(case["priority"], at, due)


def current_deadline(case: dict[str, Any]) -> datetime | None:
    """Return the due time the case's state waits on; None while parked or once ended."""
    state = CaseState(case["state"])
    if state is S.REPORTED:
        return case.get("register_due_at")
    if state is S.REGISTERED:
        return case.get("dispatch_due_at")
    if state in (S.DISPATCHED, S.HANDLING, S.REWORK, S.SUPERVISED, S.ESCALATED):
        if case.get("priority") == URGENT and case.get("arrived_at") is None:
            return case.get("arrive_due_at") or case.get("handle_due_at")
        return case.get("handle_due_at")
    if state is S.HANDLED:
        return case.get("verify_due_at")
    if state is S.VERIFIED:
        return case.get("close_due_at")
    return None
