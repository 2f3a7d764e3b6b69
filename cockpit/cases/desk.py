"""Own the closed loop's writes: open cases from every source, link duplicates, apply actions.

The one command service of the tablet, the wall's acknowledge button and the grid worker page:

    desk = CaseDesk(engine, live, clock, load_cases_config(settings.cases_file), alerts)
    desk.act("dispatch", "leader:wang", case_id=12, target="team:3", action_key="tap-7f2c")
    desk.act("acknowledge", "duty:li", alert_id=40, action_key="tap-91aa")

`act(action, actor, *, case_id | alert_id, note, target, satisfaction, level, within_s,
action_key)` applies one workflow action (cockpit.cases.workflow.Action, plus "acknowledge":
acknowledge the alert and register its case) and returns an ActResult. The action key makes it
idempotent: the same key on the same case acts once (a double tap returns applied=False and the
current state). A refused action raises CaseActionError (a ValueError) with a clear message and
changes nothing. Targets of dispatch: "team:<id>", "worker:<id>" (grid worker), "community:<id>".
Every applied action is a case_history row (who, when, from, to, why) and an event on the live
"cases" stream, so the worker republishes the `cases` view model at its next tick.

`sync()` (the worker calls it every tick) opens one case per new alert, resident request and
complaint, links repeats of an open problem (same category and building or address within the
duplicates window) to it, and reports cases that have just become overdue. `report()` opens a grid
worker's report (Ingest.grid_report calls it). Deadlines are columns of the case, so a restart
resumes them; parking stores when the clock stopped, and resuming moves every pending due time.
"""

from __future__ import annotations

import logging
import uuid
from bisect import insort
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import chain
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, insert, null, or_, select, update
from sqlalchemy.exc import IntegrityError

from cockpit.alerts import AlertBook, AlertError, AlertResolvedError
from cockpit.cases import workflow
from cockpit.cases.deadlines import NORMAL, URGENT, CasesConfig, Planner, current_deadline
from cockpit.cases.titles import case_title, place_of
from cockpit.cases.workflow import ENDED, Action, CaseRecord, WorkflowError
from cockpit.clock import Clock
from cockpit.domain.kinds import CaseSource, CaseState, RequestStatus
from cockpit.live import LiveStore
from cockpit.rules.results import WORK_LIST_KINDS
from cockpit.store import schema as s
from cockpit.store.bulk import bulk_insert
from cockpit.store.database import max_id, reset_sequences
from cockpit.store.outage import UNREACHABLE, StoreUnavailableError

log = logging.getLogger(__name__)

CASE_STREAM = "cases"
# The action key of a case's one "link" row, which counts all its repeat reports.
REPEATS_KEY = "link:repeats"
ACKNOWLEDGE = "acknowledge"
SYNC_BATCH = 500
# Stage times that keep their first value: on-time dispatch counts the first dispatch.
FIRST_ONLY = frozenset(
    {"registered_at", "dispatched_at", "accepted_at", "arrived_at", "escalated_at"}
)
OPEN_STATES = tuple(state.value for state in CaseState if state not in ENDED)
CODE_PREFIX = {
    CaseSource.ALERT: "AL",
    CaseSource.RESIDENT: "RQ",
    CaseSource.COMPLAINT: "CP",
    CaseSource.GRID_WORKER: "GR",
}
TARGET_KINDS = ("team", "worker", "community")
RESOLUTION_BY_TARGET = {"worker": "grid", "community": "community", "team": "street"}


# Called with (action, case row) before an action is applied; raises CaseActionError to refuse.
Authorize = Callable[[str, dict[str, Any]], None]


class CaseActionError(ValueError):
    """Refuse an action: unknown case or alert, bad target, or a move the workflow forbids."""


class _ChangedMeanwhileError(CaseActionError):
    """Say the case moved between reading and writing it."""


@dataclass(frozen=True)
class ActResult:
    """Tell what an action did: the case, its state now, and whether this call changed it."""

    case_id: int
    state: str
    applied: bool
    deadline_at: datetime | None = None


@dataclass
class SyncResult:
    """Count what one sync did."""

    opened: int = 0
    linked: int = 0
    overdue: list[int] = field(default_factory=list)


@dataclass
class Report:
    """Describe one incoming report that opens a case or joins an open one."""

    source: CaseSource
    category: str
    title: str
    description: str
    reported_at: datetime
    source_id: int | None = None
    title_en: str | None = None
    grid_id: int | None = None
    address_id: int | None = None
    building_id: int | None = None
    lon: float | None = None
    lat: float | None = None
    alert_id: int | None = None
    reporter_worker_id: int | None = None
    routing: str | None = None
    priority: str = NORMAL
    centre: str = "street"
    code: str | None = None


@dataclass(frozen=True)
class PastStep:
    """Describe one action of a case that already happened, for CaseDesk.record_past."""

    action: str
    actor: str
    at: datetime
    note: str | None = None
    target: str | None = None
    satisfaction: int | None = None


class CaseDesk:
    """Open, link and move cases; the single writer of cases and their history."""

    def __init__(
        self,
        engine: Engine,
        live: LiveStore,
        clock: Clock,
        config: CasesConfig,
        alerts: AlertBook | None = None,
    ) -> None:
        self.engine = engine
        self.live = live
        self.clock = clock
        self.config = config
        self.planner = Planner(config)
        self.alerts = alerts or AlertBook(engine, live)
        self._cursors: dict[CaseSource, int] = {}
        self._overdue_checked: datetime | None = None

    # -- opening -------------------------------------------------------------------------------

    def report(self, report: Report) -> int:
        """Open a case for one report (or link it to the open case of the same problem)."""
        with self.engine.begin() as conn:
            ((case_id, created),) = self._open(conn, [report])
        self._announce("opened" if created else "linked", case_id, report.reported_at)
        return case_id

    def record_past(
        self,
        cases: Iterable[tuple[Report, Iterable[PastStep]]],
        *,
        requests: Sequence[dict[str, Any]] = (),
        complaints: Sequence[dict[str, Any]] = (),
        steps: Callable[[Report], Iterable[PastStep]] | None = None,
    ) -> int:
        """Write cases that already happened, each with its actions, in one bulk transaction.

        Seeds a street's history (the screens' trends and indicators). Every step goes through
        the same workflow and deadline rules as a live action, worked out in memory: a month of
        a street's cases is too many round trips to write one action at a time. Reports are taken
        in the order reported; one that repeats a past case still open at its time (the rule of
        `report()`: same category and building or address within the duplicates window) is linked
        to that case, with the same rows a live link writes, and its own steps are dropped. Cases
        already in the store are not linked to: their state at a past time is not known.

        `requests` and `complaints` are past Open311 requests and complaints (rows of their tables
        without ids): they are stored in the order they came in, and each becomes a report the way
        `sync()` reads it, with the actions `steps(report)` returns. Closing a case closes the
        requests that reported it, as a live close does.
        """
        window = timedelta(hours=self.config.duplicates.window_hours)
        with self.engine.begin() as conn:
            cases = chain(cases, self._past_feeds(conn, requests, complaints, steps))
            departments = {
                f"team:{team}": kind
                for team, kind in conn.execute(select(s.ResponseTeam.id, s.ResponseTeam.kind))
            }
            case_id = max_id(conn, s.Case.__table__)
            blank = dict.fromkeys(s.Case.__table__.c.keys()) | {
                "dispatch_count": 0,
                "rework_count": 0,
                "self_handled": False,
            }
            rows: list[dict[str, Any]] = []
            reports: list[dict[str, Any]] = []
            histories: dict[int, list[dict[str, Any]]] = {}
            summaries: dict[int, dict[str, Any]] = {}  # by case: its repeats' one summary row
            # Each past case's states over time, and the cases under each problem key.
            timelines: dict[int, list[tuple[datetime, str]]] = {}
            problems: dict[tuple, list[tuple[datetime, int]]] = {}
            closed: dict[int, datetime] = {}
            for report, actions in sorted(cases, key=lambda plan: plan[0].reported_at):
                keys = _problem_keys(report)
                repeated = _past_repeat(problems, timelines, keys, report.reported_at, window)
                if repeated is not None:
                    state = _state_at(timelines[repeated], report.reported_at)
                    report_row, history_row = _link_rows(repeated, state, report)
                    reports.append(report_row)
                    # One summary row per case, as a live link keeps it: never one per repeat.
                    summaries[repeated] = fold_repeat(summaries.get(repeated), history_row)
                    continue
                case_id += 1
                case = blank | self.new_case_row(report) | {"id": case_id}
                history = histories[case_id] = []
                timeline = timelines[case_id] = [(report.reported_at, case["state"])]
                for key in keys:
                    problems.setdefault(key, []).append((report.reported_at, case_id))
                reports.append(
                    {
                        "case_id": case_id,
                        "source": report.source.value,
                        "source_id": report.source_id,
                        "reported_at": report.reported_at,
                        "linked": False,
                    }
                )
                history.append(
                    _history_row(
                        case_id,
                        "report",
                        None,
                        case["state"],
                        report.source.value,
                        report.reported_at,
                        None,
                        None,
                        "report",
                    )
                )
                for n, step in enumerate(actions):
                    action = Action(step.action)
                    before = _record(case)
                    try:
                        after = workflow.apply(
                            before,
                            action,
                            note=step.note,
                            target=step.target,
                            satisfaction=step.satisfaction,
                        )
                    except WorkflowError as exc:
                        raise CaseActionError(f"past case {case_id}: {exc}") from exc
                    kind = (step.target or "").partition(":")[0]
                    department = departments.get(step.target) or {
                        "worker": "grid",
                        "community": "community",
                    }.get(kind)
                    history.append(
                        _history_row(
                            case_id,
                            action.value,
                            case["state"],
                            after.state.value,
                            step.actor,
                            step.at,
                            step.note,
                            step.target,
                            f"past-{n}",
                        )
                    )
                    case |= self.changes(
                        case,
                        before,
                        after,
                        action,
                        step.at,
                        department=department if action is Action.DISPATCH else None,
                    )
                    timeline.append((step.at, after.state.value))
                    if action is Action.CLOSE:
                        closed[case_id] = step.at
                rows.append(case)
            bulk_insert(conn, s.Case.__table__, rows)
            report_id = max_id(conn, s.CaseReport.__table__)
            reports.sort(key=lambda r: r["reported_at"])
            bulk_insert(
                conn,
                s.CaseReport.__table__,
                [dict(r, id=report_id + i) for i, r in enumerate(reports, 1)],
            )
            # As _close_requests does live: residents see their requests done when the case closes.
            closing = [
                {"request_id": r["source_id"], "closed_at": closed[r["case_id"]]}
                for r in reports
                if r["source"] == CaseSource.RESIDENT.value
                and r["source_id"] is not None
                and r["case_id"] in closed
            ]
            if closing:
                conn.execute(
                    update(s.ResidentRequest)
                    .where(s.ResidentRequest.id == bindparam("request_id"))
                    .values(status=RequestStatus.CLOSED.value, updated_at=bindparam("closed_at")),
                    closing,
                )
            for repeated, summary in summaries.items():
                insort(histories[repeated], summary, key=lambda h: h["at"])
            history_id = max_id(conn, s.CaseHistory.__table__)
            bulk_insert(
                conn,
                s.CaseHistory.__table__,
                [
                    dict(h, id=history_id + i)
                    for i, h in enumerate(chain.from_iterable(histories.values()), 1)
                ],
            )
        reset_sequences(self.engine)
        return len(rows)

    def _past_feeds(
        self,
        conn: Connection,
        requests: Sequence[dict[str, Any]],
        complaints: Sequence[dict[str, Any]],
        steps: Callable[[Report], Iterable[PastStep]] | None,
    ) -> list[tuple[Report, list[PastStep]]]:
        """Store past requests and complaints in arrival order; return their reports and steps."""
        plans: list[tuple[Report, list[PastStep]]] = []
        for model, rows, at, fetch in (
            (s.ResidentRequest, requests, "requested_at", self._request_reports),
            (s.Complaint, complaints, "received_at", self._complaint_reports),
        ):
            if not rows:
                continue
            table = model.__table__
            blank = dict.fromkeys(table.c.keys())
            after = max_id(conn, table)
            ordered = sorted(rows, key=lambda row, at=at: row[at])
            if model is s.ResidentRequest:
                # New, as Ingest.resident_request stores them; closing their case closes them.
                blank |= {"status": RequestStatus.OPEN.value}
                ordered = [{"updated_at": row["requested_at"], **row} for row in ordered]
            bulk_insert(
                conn, table, [blank | row | {"id": after + n} for n, row in enumerate(ordered, 1)]
            )
            # Read back by the sync's own readers, so each report is the one live would open.
            while True:
                reports, last = fetch(conn, after)
                if last == after:
                    break
                plans += [(report, list(steps(report) if steps else ())) for report in reports]
                after = last
        return plans

    def sync(self, now: datetime | None = None) -> SyncResult:
        """Open cases for new alerts, requests and complaints; find cases just gone overdue."""
        now = now or self.clock.now()
        result = SyncResult()
        for source, fetch in (
            (CaseSource.ALERT, self._alert_reports),
            (CaseSource.RESIDENT, self._request_reports),
            (CaseSource.COMPLAINT, self._complaint_reports),
        ):
            with self.engine.begin() as conn:
                cursor = self._cursor(conn, source, now)
                reports, last = fetch(conn, cursor)
                outcomes = self._open(conn, reports) if reports else []
            self._cursors[source] = last
            result.opened += sum(created for _, created in outcomes)
            result.linked += sum(not created for _, created in outcomes)
        since, self._overdue_checked = self._overdue_checked, now
        if since is not None:
            with self.engine.connect() as conn:
                result.overdue = list(
                    conn.execute(
                        select(s.Case.id).where(
                            s.Case.state.in_(OPEN_STATES),
                            s.Case.deadline_at > since,
                            s.Case.deadline_at <= now,
                        )
                    ).scalars()
                )
        if result.opened or result.linked or result.overdue:
            self.live.append_event(
                CASE_STREAM,
                {
                    "event": "sync",
                    "opened": result.opened,
                    "linked": result.linked,
                    "overdue": result.overdue[:50],
                    "ts": now.timestamp(),
                },
            )
        return result

    def _cursor(self, conn: Connection, source: CaseSource, now: datetime) -> int:
        """Return the last source id already turned into a case (or skipped as too old)."""
        if source in self._cursors:
            return self._cursors[source]
        done = conn.execute(
            select(func.max(s.CaseReport.source_id)).where(s.CaseReport.source == source.value)
        ).scalar()
        if done is not None:
            return int(done)
        table, at = {
            CaseSource.ALERT: (s.Alert, s.Alert.raised_at),
            CaseSource.RESIDENT: (s.ResidentRequest, s.ResidentRequest.requested_at),
            CaseSource.COMPLAINT: (s.Complaint, s.Complaint.received_at),
        }[source]
        horizon = now - timedelta(hours=self.config.sync.backfill_hours)
        older = conn.execute(select(func.max(table.id)).where(at < horizon)).scalar()
        return int(older or 0)

    def _alert_reports(self, conn: Connection, after: int) -> tuple[list[Report], int]:
        """Return reports for alerts after the id, with where each alert's object is."""
        rows = _rows_after(conn, s.Alert, after)
        if not rows:
            return [], after
        places = _alert_places(conn, rows)
        routing_cfg = self.config.routing
        reports = []
        for alert in rows:
            if alert.kind in WORK_LIST_KINDS or alert.kind in self.config.sync.skip_alert_kinds:
                continue
            urgent = (
                alert.level in routing_cfg.urgent_levels
                or (alert.routing or "") in routing_cfg.urgent_routings
            )
            place = places.get((alert.object_type, alert.object_id), {})
            reports.append(
                Report(
                    source=CaseSource.ALERT,
                    source_id=alert.id,
                    category=alert.kind,
                    title=alert.title,
                    title_en=alert.title_en,
                    description="; ".join(r.get("text_zh", "") for r in alert.reasons or [])
                    or alert.title,
                    reported_at=alert.raised_at,
                    alert_id=alert.id,
                    routing=alert.routing,
                    priority=URGENT if urgent else NORMAL,
                    centre=self._centre(None, alert.kind),
                    **place,
                )
            )
        return reports, rows[-1].id

    def _request_reports(self, conn: Connection, after: int) -> tuple[list[Report], int]:
        """Return reports for resident requests after the id."""
        rows = _rows_after(conn, s.ResidentRequest, after)
        if not rows:
            return [], after
        addresses = {row.address_id for row in rows if row.address_id}
        places = _address_places(conn, addresses)
        names = _address_names(conn, addresses)
        reports = [
            Report(
                source=CaseSource.RESIDENT,
                source_id=row.id,
                category=row.service_code,
                # Titled by service and building: the resident's words stay in the description.
                **_titles(row.service_code, names.get(row.address_id)),
                description=row.description,
                reported_at=row.requested_at,
                routing="routine",
                centre=self._centre(None, row.service_code),
                **(places.get(row.address_id) or {"lon": row.lon, "lat": row.lat}),
            )
            for row in rows
        ]
        return reports, rows[-1].id

    def _complaint_reports(self, conn: Connection, after: int) -> tuple[list[Report], int]:
        """Return reports for complaints after the id; 110 and police categories go to the police."""
        rows = _rows_after(conn, s.Complaint, after)
        if not rows:
            return [], after
        addresses = {row.address_id for row in rows if row.address_id}
        places = _address_places(conn, addresses)
        names = _address_names(conn, addresses)
        reports = [
            Report(
                source=CaseSource.COMPLAINT,
                source_id=row.id,
                category=row.category,
                # Titled by category and building: the complainant's words stay in the description.
                **_titles(row.category, names.get(row.address_id)),
                description=f"[{row.source}] {row.text}",
                reported_at=row.received_at,
                routing="routine",
                centre=self._centre(row.source, row.category),
                **places.get(row.address_id, {}),
            )
            for row in rows
        ]
        return reports, rows[-1].id

    def _centre(self, channel: str | None, category: str) -> str:
        """Send police matters to the police command room, the rest to the street centre."""
        routing = self.config.routing
        if channel in routing.police_sources or category in routing.police_categories:
            return "police"
        return "street"

    def _open(self, conn: Connection, reports: list[Report]) -> list[tuple[int, bool]]:
        """Open or link each new report in this transaction; return (case id, opened) for each."""
        # A tap on the wall may have opened an alert's case before the sync reached the alert.
        taken = _already_reported(conn, reports)
        reports = [r for r in reports if (r.source.value, r.source_id) not in taken]
        if not reports:
            return []
        window = timedelta(hours=self.config.duplicates.window_hours)
        earliest = min(r.reported_at for r in reports) - window
        known = self._open_problems(conn, reports, earliest)
        outcomes = []
        for report in reports:
            keys = _problem_keys(report)
            case_id = next(
                (
                    known[k][0]
                    for k in keys
                    if k in known and report.reported_at - known[k][1] <= window
                ),
                None,
            )
            if case_id is not None:
                self._link(conn, case_id, report)
                outcomes.append((case_id, False))
                continue
            case_id = self._insert(conn, report)
            for key in keys:
                known[key] = (case_id, report.reported_at)
            outcomes.append((case_id, True))
        return outcomes

    def _open_problems(
        self, conn: Connection, reports: list[Report], since: datetime
    ) -> dict[tuple, tuple[int, datetime]]:
        """Return the open cases the reports could repeat, by (category, place) key."""
        categories = {r.category for r in reports}
        buildings = {r.building_id for r in reports if r.building_id}
        addresses = {r.address_id for r in reports if r.address_id}
        if not buildings and not addresses:
            return {}
        c = s.Case
        rows = conn.execute(
            select(c.id, c.category, c.building_id, c.address_id, c.reported_at)
            .where(
                c.state.in_(OPEN_STATES),
                c.reported_at >= since,
                c.category.in_(categories),
                or_(c.building_id.in_(buildings), c.address_id.in_(addresses)),
            )
            .order_by(c.reported_at)
        ).all()
        known: dict[tuple, tuple[int, datetime]] = {}
        for case_id, category, building_id, address_id, reported_at in rows:
            if building_id:
                known[(category, "building", building_id)] = (case_id, reported_at)
            if address_id:
                known[(category, "address", address_id)] = (case_id, reported_at)
        return known

    def new_case_row(self, report: Report, opened_at: datetime | None = None) -> dict[str, Any]:
        """Return the row of a case a report opens at `opened_at` (default: reported), with due times."""
        due = self.planner.on_open(report.priority, report.category, report.reported_at, opened_at)
        code = report.code or (
            f"{CODE_PREFIX[report.source]}{report.source_id:08d}"
            if report.source_id is not None
            # A grid worker may file two reports in the same second: the suffix keeps codes unique.
            else f"{CODE_PREFIX.get(report.source, 'CS')}{report.reported_at:%Y%m%d%H%M%S}"
            f"{uuid.uuid4().hex[:8].upper()}"
        )
        return {
            "code": code,
            "source": report.source.value,
            "source_ref": None if report.source_id is None else str(report.source_id),
            "category": report.category,
            "title": report.title[:200],
            "title_en": (report.title_en or "")[:200] or None,
            "description": report.description,
            "state": CaseState.REPORTED.value,
            "grid_id": report.grid_id,
            "address_id": report.address_id,
            "building_id": report.building_id,
            "alert_id": report.alert_id,
            "reporter_worker_id": report.reporter_worker_id,
            "lon": report.lon,
            "lat": report.lat,
            "reported_at": report.reported_at,
            "routing": report.routing,
            "priority": report.priority,
            "centre": report.centre,
            "deadline_at": due["register_due_at"],
            **due,
        }

    def _insert(self, conn: Connection, report: Report) -> int:
        """Insert a new case with its first due time, its report row and its history row."""
        case_id = conn.execute(
            insert(s.Case).returning(s.Case.id), self.new_case_row(report, self.clock.now())
        ).scalar_one()
        conn.execute(
            insert(s.CaseReport),
            {
                "case_id": case_id,
                "source": report.source.value,
                "source_id": report.source_id,
                "reported_at": report.reported_at,
                "linked": False,
            },
        )
        self._history(
            conn,
            case_id,
            "report",
            None,
            CaseState.REPORTED.value,
            report.source.value,
            report.reported_at,
            None,
            None,
            "report",
        )
        return case_id

    def _link(self, conn: Connection, case_id: int, report: Report) -> None:
        """Attach a repeat report to the open case of the same problem; count it in the summary."""
        state = conn.execute(select(s.Case.state).where(s.Case.id == case_id)).scalar_one()
        report_row, history_row = _link_rows(case_id, state, report)
        conn.execute(insert(s.CaseReport), report_row)
        _fold_into_history(conn, history_row)

    # -- actions -------------------------------------------------------------------------------

    def act(
        self,
        action: str,
        actor: str,
        *,
        case_id: int | None = None,
        alert_id: int | None = None,
        note: str | None = None,
        target: str | None = None,
        satisfaction: int | None = None,
        level: str | None = None,
        within_s: float | None = None,
        action_key: str | None = None,
        authorize: Authorize | None = None,
    ) -> ActResult:
        """Apply one action to a case (or to an alert's case); idempotent per action key.

        `authorize(action, case_row)` runs in the writing transaction on the case as stored,
        before anything changes, and raises CaseActionError to refuse (who may act on what is
        cockpit.access.policy's business; the desk only gives it the row). The case, its history
        and the alert it came from change in one transaction: all or nothing. Raises
        StoreUnavailableError when the store cannot be reached; then nothing was changed.
        """
        try:
            return self._act(
                action,
                actor,
                case_id=case_id,
                alert_id=alert_id,
                note=note,
                target=target,
                satisfaction=satisfaction,
                level=level,
                within_s=within_s,
                action_key=action_key,
                authorize=authorize,
            )
        except UNREACHABLE as exc:
            raise StoreUnavailableError(
                f"the case store cannot be reached; {action} was not carried out"
            ) from exc

    def _act(
        self,
        action: str,
        actor: str,
        *,
        case_id: int | None,
        alert_id: int | None,
        note: str | None,
        target: str | None,
        satisfaction: int | None,
        level: str | None,
        within_s: float | None,
        action_key: str | None,
        authorize: Authorize | None,
    ) -> ActResult:
        """Apply one action as `act` describes, letting the store's errors through."""
        if not actor or not actor.strip():
            raise CaseActionError("an action needs the actor's name")
        if (case_id is None) == (alert_id is None):
            raise CaseActionError("give exactly one of case_id and alert_id")
        now = self.clock.now()
        key = (action_key or uuid.uuid4().hex)[:64]
        acknowledging = action == ACKNOWLEDGE
        if acknowledging:
            action = Action.REGISTER.value
        try:
            act = Action(action)
        except ValueError:
            known = ", ".join([ACKNOWLEDGE, *(a.value for a in Action)])
            raise CaseActionError(f"unknown action {action!r}; known actions: {known}") from None
        if alert_id is not None:
            case_id = self._case_of_alert(alert_id)
        if authorize is not None:
            # Refused before anything moves: neither the alert nor the case changes.
            authorize(act.value, self._row(case_id))
        if act is Action.DISPATCH:
            target = self._check_target(target)
        acknowledged: list[int] = []  # announced only once the transaction has committed
        try:
            with self.engine.begin() as conn:
                if acknowledging and alert_id is not None:
                    try:
                        if self.alerts.acknowledge_in(conn, alert_id, actor, now):
                            acknowledged.append(alert_id)
                    except AlertResolvedError:
                        pass  # cleared before anyone took it: its case still needs registering
                    except AlertError as exc:
                        raise CaseActionError(str(exc)) from exc
                if acknowledging and _state_in(conn, case_id) != CaseState.REPORTED.value:
                    applied = False  # registered already: acknowledging only takes the alert
                else:
                    applied = self._apply(
                        conn,
                        case_id,
                        act,
                        actor,
                        now,
                        key,
                        note=note,
                        target=target,
                        satisfaction=satisfaction,
                        level=level,
                        within_s=within_s,
                        authorize=authorize,
                    )
                if applied and act is Action.REGISTER:
                    acknowledged += self._acknowledge_alert_of(conn, case_id, actor, now)
                result = _result_in(conn, case_id, applied=applied)
        except IntegrityError:
            # The same key raced in from a second tap: it acted once; this one changed nothing.
            acknowledged, result = [], self._result(case_id, applied=False)
        except _ChangedMeanwhileError:
            # Two taps of one button race: the first moved the case, the second must not refuse.
            if not self._acted(case_id, key):
                raise
            acknowledged, result = [], self._result(case_id, applied=False)
        except WorkflowError as exc:
            raise CaseActionError(f"case {case_id}: {exc}") from exc
        for acked in dict.fromkeys(acknowledged):
            self.alerts.announce_acknowledged(acked, now)
        if result.applied:
            self._announce(act.value, case_id, now, state=result.state)
        return result

    def _apply(
        self,
        conn: Connection,
        case_id: int,
        action: Action,
        actor: str,
        now: datetime,
        key: str,
        **kw: Any,
    ) -> bool:
        """Apply the action in the transaction; return False when the key already acted."""
        seen = conn.execute(
            select(s.CaseHistory.id).where(
                s.CaseHistory.case_id == case_id, s.CaseHistory.action_key == key
            )
        ).first()
        if seen is not None:
            return False
        row = (
            conn.execute(select(s.Case.__table__).where(s.Case.id == case_id).with_for_update())
            .mappings()
            .first()
        )
        if row is None:
            raise CaseActionError(f"no case {case_id}")
        case = dict(row)
        if kw.get("authorize") is not None:
            kw["authorize"](action.value, case)  # again on the locked row: it may have moved
        before = _record(case)
        after = workflow.apply(
            before, action, note=kw["note"], target=kw["target"], satisfaction=kw["satisfaction"]
        )
        changes = self._changes(conn, case, before, after, action, now, **kw)
        done = conn.execute(
            update(s.Case)
            .where(s.Case.id == case_id, s.Case.state == case["state"])
            .values(**changes)
        )
        if done.rowcount != 1:
            raise _ChangedMeanwhileError(f"case {case_id} changed meanwhile; look again and retry")
        self._history(
            conn,
            case_id,
            action.value,
            case["state"],
            after.state.value,
            actor,
            now,
            kw["note"],
            kw["target"],
            key,
        )
        if action is Action.CLOSE:
            self._close_requests(conn, case_id, now)
        return True

    def _changes(
        self,
        conn: Connection,
        case: dict[str, Any],
        before: CaseRecord,
        after: CaseRecord,
        action: Action,
        now: datetime,
        *,
        target: str | None,
        level: str | None,
        within_s: float | None,
        **_: Any,
    ) -> dict[str, Any]:
        """Return the column changes of one applied action, looking up the handler's department."""
        department = self._department(conn, target) if action is Action.DISPATCH else None
        return self.changes(
            case, before, after, action, now, department=department, level=level, within_s=within_s
        )

    def changes(
        self,
        case: dict[str, Any],
        before: CaseRecord,
        after: CaseRecord,
        action: Action,
        now: datetime,
        *,
        department: str | None = None,
        level: str | None = None,
        within_s: float | None = None,
    ) -> dict[str, Any]:
        """Return the column changes of one applied action, given the handler's department."""
        changes: dict[str, Any] = {
            "state": after.state.value,
            "parked_from": after.parked_from.value if after.parked_from else None,
            "dispatch_count": after.dispatch_count,
            "rework_count": after.rework_count,
            "assignee": after.assignee,
            "self_handled": after.self_handled,
            "satisfaction": after.satisfaction,
        }
        for column in workflow.STAMPS.get(action, ()):
            if column not in FIRST_ONLY or case.get(column) is None:
                changes[column] = now
        if action is Action.DISPATCH:
            changes["department"] = department
        if action in (Action.HANDLED, Action.SELF_HANDLE):
            changes["resolution_level"] = level or _resolution_level(before, action)
        if action is Action.PARK:
            changes["paused_remaining_s"] = self.planner.remaining(case, now)
        if action is Action.RESUME:
            changes.update(self.planner.resume_changes(case, now))
            changes.update(parked_at=None, paused_remaining_s=None)
        changes.update(self.planner.due_changes(case, action, now, within_s=within_s))
        changes["deadline_at"] = current_deadline({**case, **changes})
        return changes

    def _check_target(self, target: str | None) -> str:
        """Return a dispatch target "kind:id" after checking that it exists."""
        kind, _, ident = (target or "").partition(":")
        if kind not in TARGET_KINDS or not ident.isdigit():
            raise CaseActionError(
                f"dispatch target {target!r} must be team:<id>, worker:<id> or community:<id>"
            )
        table = {"team": s.ResponseTeam, "worker": s.GridWorker, "community": s.Community}[kind]
        with self.engine.connect() as conn:
            if conn.execute(select(table.id).where(table.id == int(ident))).first() is None:
                raise CaseActionError(f"dispatch target {target} does not exist")
        return f"{kind}:{int(ident)}"

    @staticmethod
    def _department(conn: Connection, target: str | None) -> str | None:
        """Return the department a target belongs to: the team's kind, "grid" or "community"."""
        kind, _, ident = (target or "").partition(":")
        if kind == "team":
            return conn.execute(
                select(s.ResponseTeam.kind).where(s.ResponseTeam.id == int(ident))
            ).scalar()
        return {"worker": "grid", "community": "community"}.get(kind)

    def _close_requests(self, conn: Connection, case_id: int, now: datetime) -> None:
        """Close the Open311 requests that reported this case, so residents see it done."""
        request_ids = select(s.CaseReport.source_id).where(
            s.CaseReport.case_id == case_id, s.CaseReport.source == CaseSource.RESIDENT.value
        )
        conn.execute(
            update(s.ResidentRequest)
            .where(s.ResidentRequest.id.in_(request_ids))
            .values(status=RequestStatus.CLOSED.value, updated_at=now)
        )

    def _acknowledge_alert_of(
        self, conn: Connection, case_id: int, actor: str, now: datetime
    ) -> list[int]:
        """Acknowledge, in the case's transaction, the alert it came from; return it if changed."""
        alert_id = conn.execute(select(s.Case.alert_id).where(s.Case.id == case_id)).scalar()
        if alert_id is None:
            return []
        try:
            return [alert_id] if self.alerts.acknowledge_in(conn, alert_id, actor, now) else []
        except AlertError:
            return []  # resolved meanwhile: the case still goes on

    def _case_of_alert(self, alert_id: int) -> int:
        """Return the case an alert opened or joined, opening it now if the sync has not yet."""
        query = select(s.CaseReport.case_id).where(
            s.CaseReport.source == CaseSource.ALERT.value, s.CaseReport.source_id == alert_id
        )
        with self.engine.connect() as conn:
            case_id = conn.execute(query).scalar()
        if case_id is not None:
            return case_id
        try:
            with self.engine.begin() as conn:
                reports, _ = self._alert_reports(conn, alert_id - 1)
                reports = [r for r in reports if r.source_id == alert_id]
                if not reports:
                    raise CaseActionError(f"no alert {alert_id}, or its kind opens no case")
                opened = self._open(conn, reports)
            if opened:
                return opened[0][0]
        except IntegrityError:
            pass
        with self.engine.connect() as conn:
            return conn.execute(query).scalar_one()  # the sync opened it meanwhile

    def _acted(self, case_id: int, key: str) -> bool:
        """Tell whether an action with this key is already in the case's history."""
        with self.engine.connect() as conn:
            return (
                conn.execute(
                    select(s.CaseHistory.id).where(
                        s.CaseHistory.case_id == case_id, s.CaseHistory.action_key == key
                    )
                ).first()
                is not None
            )

    def _row(self, case_id: int) -> dict[str, Any]:
        """Return a case's row, or raise CaseActionError when there is no such case."""
        with self.engine.connect() as conn:
            row = conn.execute(select(s.Case.__table__).where(s.Case.id == case_id)).mappings()
            found = row.first()
        if found is None:
            raise CaseActionError(f"no case {case_id}")
        return dict(found)

    def _state(self, case_id: int) -> str:
        """Return a case's state, or raise CaseActionError when there is no such case."""
        with self.engine.connect() as conn:
            state = conn.execute(select(s.Case.state).where(s.Case.id == case_id)).scalar()
        if state is None:
            raise CaseActionError(f"no case {case_id}")
        return state

    def _result(self, case_id: int, *, applied: bool) -> ActResult:
        """Return the case's state and deadline now."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(s.Case.state, s.Case.deadline_at).where(s.Case.id == case_id)
            ).first()
        if row is None:
            raise CaseActionError(f"no case {case_id}")
        return ActResult(case_id, row.state, applied, row.deadline_at)

    @staticmethod
    def _history(
        conn: Connection,
        case_id: int,
        action: str,
        from_state: str | None,
        to_state: str,
        actor: str,
        at: datetime,
        note: str | None,
        target: str | None,
        key: str,
    ) -> None:
        """Write one history row."""
        conn.execute(
            insert(s.CaseHistory),
            _history_row(case_id, action, from_state, to_state, actor, at, note, target, key),
        )

    def _announce(self, event: str, case_id: int, at: datetime, **extra: Any) -> None:
        """Put the change on the live cases stream, so every screen sees it at the next tick."""
        self.live.append_event(
            CASE_STREAM, {"event": event, "id": case_id, "ts": at.timestamp(), **extra}
        )

    # -- reading -------------------------------------------------------------------------------

    def history(self, case_id: int) -> list[dict[str, Any]]:
        """Return a case's history rows, oldest first, as JSON-ready dicts."""
        h = s.CaseHistory
        with self.engine.connect() as conn:
            rows = (
                conn.execute(
                    select(
                        h.action,
                        h.from_state,
                        h.to_state,
                        h.actor,
                        h.at,
                        h.note,
                        h.target,
                        h.repeats,
                        h.last_at,
                    )
                    .where(h.case_id == case_id)
                    .order_by(h.at, h.id)
                )
                .mappings()
                .all()
            )
        # Only the case's one repeats row counts (repeats, last_at); the others leave them out.
        entries = []
        for row in rows:
            entry = dict(row, at=row["at"].isoformat())
            if row["repeats"]:
                entry["last_at"] = row["last_at"].isoformat()
            else:
                del entry["repeats"], entry["last_at"]
            entries.append(entry)
        return entries


def _state_in(conn: Connection, case_id: int) -> str:
    """Return a case's state read in the caller's transaction, or refuse an unknown case."""
    state = conn.execute(select(s.Case.state).where(s.Case.id == case_id)).scalar()
    if state is None:
        raise CaseActionError(f"no case {case_id}")
    return state


def _result_in(conn: Connection, case_id: int, *, applied: bool) -> ActResult:
    """Return the case's state and deadline as the caller's transaction sees them."""
    row = conn.execute(select(s.Case.state, s.Case.deadline_at).where(s.Case.id == case_id)).first()
    if row is None:
        raise CaseActionError(f"no case {case_id}")
    return ActResult(case_id, row.state, applied, row.deadline_at)


def _rows_after(conn: Connection, model: Any, after: int) -> list[Any]:
    """Return the next batch of a source table's rows past the sync's cursor, in id order."""
    return conn.execute(
        select(model.__table__).where(model.id > after).order_by(model.id).limit(SYNC_BATCH)
    ).all()


def _already_reported(conn: Connection, reports: list[Report]) -> set[tuple[str, int]]:
    """Return the (source, source id) of the reports that already opened or joined a case."""
    taken: set[tuple[str, int]] = set()
    by_source: dict[str, list[int]] = {}
    for report in reports:
        if report.source_id is not None:
            by_source.setdefault(report.source.value, []).append(report.source_id)
    for source, ids in by_source.items():
        rows = conn.execute(
            select(s.CaseReport.source_id).where(
                s.CaseReport.source == source, s.CaseReport.source_id.in_(ids)
            )
        )
        taken.update((source, source_id) for (source_id,) in rows)
    return taken


def _history_row(
    case_id: int,
    action: str,
    from_state: str | None,
    to_state: str,
    actor: str,
    at: datetime,
    note: str | None,
    target: str | None,
    key: str,
) -> dict[str, Any]:
    """Return one history row: who, when, from, to, why."""
    return {
        "case_id": case_id,
        "action": action,
        "from_state": from_state,
        "to_state": to_state,
        "actor": actor[:64],
        "at": at,
        "note": note,
        "target": target,
        "action_key": key,
        "repeats": None,
        "last_at": None,
    }


def _record(case: dict[str, Any]) -> CaseRecord:
    """Return the workflow's view of a case row."""
    stamped = frozenset(
        column
        for columns in workflow.STAMPS.values()
        for column in columns
        if case.get(column) is not None
    )
    return CaseRecord(
        state=CaseState(case["state"]),
        source=CaseSource(case["source"]),
        parked_from=CaseState(case["parked_from"]) if case.get("parked_from") else None,
        stamped=stamped,
        dispatch_count=case.get("dispatch_count") or 0,
        rework_count=case.get("rework_count") or 0,
        assignee=case.get("assignee"),
        self_handled=bool(case.get("self_handled")),
        satisfaction=case.get("satisfaction"),
    )


def _resolution_level(before: CaseRecord, action: Action) -> str:
    """Return where a case was resolved: district when escalated, else by who handled it."""
    if before.state is CaseState.ESCALATED:
        return "district"
    if action is Action.SELF_HANDLE:
        return "grid"
    kind = (before.assignee or "").partition(":")[0]
    return RESOLUTION_BY_TARGET.get(kind, "street")


def fold_repeat(summary: Mapping[str, Any] | None, link: Mapping[str, Any]) -> dict[str, Any]:
    """Return a case's repeats summary row with one more link row (or summary) folded in.

    The summary counts the repeats, keeps the first one's time in `at` and the last one's in
    `last_at`, and the state, source and note of the latest; folding is order-free for the count
    and the two times, so repeats arriving late or out of order summarise the same.
    """
    link_last = link.get("last_at") or link["at"]
    if summary is None:
        return dict(link, repeats=link.get("repeats") or 1, last_at=link_last)
    latest = link if link_last >= summary["last_at"] else summary
    return dict(
        summary,
        repeats=(summary.get("repeats") or 1) + (link.get("repeats") or 1),
        at=min(summary["at"], link["at"]),
        last_at=max(summary["last_at"], link_last),
        from_state=latest["from_state"],
        to_state=latest["to_state"],
        actor=latest["actor"],
        note=latest["note"],
    )


def _repeats_row(conn: Connection, case_id: int):
    """Return the case's repeat summary row, locked, as mappings (first() or one())."""
    h = s.CaseHistory
    columns = (h.id, h.at, h.last_at, h.repeats, h.from_state, h.to_state, h.actor, h.note)
    return conn.execute(
        select(*columns).where(h.case_id == case_id, h.action_key == REPEATS_KEY).with_for_update()
    ).mappings()


def _fold_into_history(conn: Connection, link: dict[str, Any]) -> None:
    """Fold one repeat into its case's summary row, inserting the row for the first repeat."""
    h = s.CaseHistory
    held = _repeats_row(conn, link["case_id"]).first()
    if held is None:
        try:
            with conn.begin_nested():  # another process may insert the first summary meanwhile
                conn.execute(insert(h), fold_repeat(None, link))
            return
        except IntegrityError:
            held = _repeats_row(conn, link["case_id"]).one()
    folded = fold_repeat(dict(held), link)
    conn.execute(
        update(h)
        .where(h.id == held["id"])
        .values(
            {k: folded[k] for k in ("at", "last_at", "repeats", "from_state", "to_state")}
            | {"actor": folded["actor"], "note": folded["note"]}
        )
    )


def _link_rows(case_id: int, state: str, report: Report) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return the report row and the history row that link a repeat report to an open case."""
    ref = report.source_id if report.source_id is not None else uuid.uuid4().hex[:12]
    source = report.source.value
    return (
        {
            "case_id": case_id,
            "source": source,
            "source_id": report.source_id,
            "reported_at": report.reported_at,
            "linked": True,
        },
        _history_row(
            case_id,
            "link",
            state,
            state,
            source,
            report.reported_at,
            f"{source}:{ref} {report.title}"[:500],
            None,
            REPEATS_KEY,
        )
        | {"repeats": 1, "last_at": report.reported_at},
    )


def _past_repeat(
    problems: dict[tuple, list[tuple[datetime, int]]],
    timelines: dict[int, list[tuple[datetime, str]]],
    keys: list[tuple],
    at: datetime,
    window: timedelta,
) -> int | None:
    """Return the past case a report at `at` repeats, chosen as `_open` chooses one live."""
    for key in keys:
        # Live, the latest reported open case under the first key that has one wins.
        still_open = [
            case_id
            for reported_at, case_id in problems.get(key, ())
            if at - reported_at <= window and _state_at(timelines[case_id], at) in OPEN_STATES
        ]
        if still_open:
            return still_open[-1]
    return None


def _state_at(timeline: list[tuple[datetime, str]], at: datetime) -> str:
    """Return a past case's state at a time from its (time, state after) steps."""
    state = timeline[0][1]
    for when, after in timeline:
        if when > at:
            break
        state = after
    return state


def _problem_keys(report: Report) -> list[tuple]:
    """Return the keys under which a report repeats an open problem."""
    keys = []
    if report.building_id:
        keys.append((report.category, "building", report.building_id))
    if report.address_id:
        keys.append((report.category, "address", report.address_id))
    return keys


def _address_places(conn: Connection, address_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Return address id → its building, grid and coordinates."""
    ids = list(address_ids)
    if not ids:
        return {}
    a = s.Address
    return {
        row.id: {
            "address_id": row.id,
            "building_id": row.building_id,
            "grid_id": row.grid_id,
            "lon": row.lon,
            "lat": row.lat,
        }
        for row in conn.execute(
            select(a.id, a.building_id, a.grid_id, a.lon, a.lat).where(a.id.in_(ids))
        )
    }


def _address_names(conn: Connection, address_ids: Iterable[int]) -> dict[int, str]:
    """Return address id → its building-level place (road and number) from the register."""
    ids = list(address_ids)
    if not ids:
        return {}
    a = s.Address
    rows = conn.execute(select(a.id, a.road, a.number).where(a.id.in_(ids)))
    return {row.id: place for row in rows if (place := place_of(row.road, row.number))}


def _titles(category: str, place: str | None) -> dict[str, str]:
    """Return a report's title and title_en, built from its category and place only."""
    title, title_en = case_title(category, place)
    return {"title": title, "title_en": title_en}


def _alert_places(conn: Connection, alerts: list[Any]) -> dict[tuple[str, int], dict[str, Any]]:
    """Return (object type, id) → building, grid and coordinates for devices, residents, firms."""
    wanted: dict[str, set[int]] = {}
    for alert in alerts:
        wanted.setdefault(alert.object_type, set()).add(alert.object_id)
    b = s.Building
    places: dict[tuple[str, int], dict[str, Any]] = {}
    queries = {
        "device": select(s.Device.id, b.id, b.grid_id, s.Device.lon, s.Device.lat, null())
        .join(b, b.id == s.Device.building_id)
        .where(s.Device.id.in_(wanted.get("device", ()))),
        "resident": select(s.Resident.id, b.id, b.grid_id, b.lon, b.lat, s.Household.address_id)
        .join(s.Household, s.Household.id == s.Resident.household_id)
        .join(b, b.id == s.Household.building_id)
        .where(s.Resident.id.in_(wanted.get("resident", ()))),
        "enterprise": select(
            s.Enterprise.id, b.id, b.grid_id, b.lon, b.lat, s.Enterprise.address_id
        )
        .join(b, b.id == s.Enterprise.building_id)
        .where(s.Enterprise.id.in_(wanted.get("enterprise", ()))),
        "building": select(b.id, b.id, b.grid_id, b.lon, b.lat, null()).where(
            b.id.in_(wanted.get("building", ()))
        ),
    }
    for object_type, query in queries.items():
        if not wanted.get(object_type):
            continue
        for object_id, building_id, grid_id, lon, lat, address_id in conn.execute(query):
            places[(object_type, object_id)] = {
                "building_id": building_id,
                "grid_id": grid_id,
                "lon": lon,
                "lat": lat,
                "address_id": address_id,
            }
    return places
