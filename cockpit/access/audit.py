"""Append to, search and export the audit log: sign-ins, reveals and every write, with their why.

    audit = AuditLog(engine, clock)
    audit.record("leader:wang", "reveal", role="leader", record=("case", 12), reason="回访核实")
    rows = audit.search(AuditQuery(actor="leader:wang", action="reveal"))
    csv_text = audit.export_csv(AuditQuery(since=...))

The log is append-only for everyone: the code offers no update and no delete, except `prune`,
which drops what is older than the retention (COCKPIT_AUDIT_RETENTION_DAYS, six months at least).
"""

from __future__ import annotations

import csv
import io
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy.exc import SQLAlchemyError

from cockpit.clock import Clock, SystemClock
from cockpit.privacy import mask_text
from cockpit.store import schema as s
from cockpit.store.outage import UNREACHABLE

log = logging.getLogger(__name__)
OK, REFUSED, FAILED = "ok", "refused", "failed"
COLUMNS = (
    "id",
    "at",
    "actor",
    "role",
    "action",
    "record_type",
    "record_id",
    "reason",
    "outcome",
    "source_ip",
    "detail",
)
SEARCH_LIMIT = 500
EXPORT_LIMIT = 100_000
MIN_RETENTION_DAYS = 183  # six months: the issue's floor, and Settings' too
PRUNE_EVERY = timedelta(days=1)
# A spreadsheet runs a cell starting with one of these as a formula (OWASP's CSV injection list).
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filter the audit log: by actor, action, record, outcome and time; newest first."""

    actor: str | None = None
    action: str | None = None
    # Part of the actor, any case: an admin types "wang", the log says "leader:wang".
    actor_like: str | None = None
    record_type: str | None = None
    record_id: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = SEARCH_LIMIT


class AuditLog:
    """Write audit entries and read them back for an admin."""

    def __init__(self, engine: Engine, clock: Clock | None = None) -> None:
        self.engine = engine
        self.clock = clock or SystemClock()

    def record(
        self,
        actor: str,
        action: str,
        *,
        role: str | None = None,
        record: tuple[str, Any] | None = None,
        reason: str | None = None,
        outcome: str = OK,
        source_ip: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Append one entry; a failure to write is logged, never hidden, never raised at a user."""
        record_type, record_id = record if record else (None, None)
        values = {
            "at": self.clock.now(),
            "actor": (actor or "anonymous")[:64],
            "role": role,
            "action": action[:40],
            "record_type": record_type,
            "record_id": None if record_id is None else str(record_id)[:40],
            "reason": reason,
            "outcome": outcome,
            "source_ip": (source_ip or None) and source_ip[:64],
            "detail": detail,
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(s.AuditEntry).values(**values))
        except UNREACHABLE as exc:
            # The store is down (an expected fault): one line, no trace.
            log.warning(
                "audit entry not written (store unreachable): %s %s: %s",
                values["actor"],
                action,
                str(exc).splitlines()[0],
            )
        except SQLAlchemyError:
            log.exception("audit entry not written: %s %s", values["actor"], action)

    def search(self, query: AuditQuery | None = None) -> list[dict[str, Any]]:
        """Return the entries the query selects, newest first, at most `limit`."""
        query = query or AuditQuery()
        a = s.AuditEntry
        stmt = select(*(getattr(a, c) for c in COLUMNS)).order_by(a.at.desc(), a.id.desc())
        for column in ("actor", "action", "record_type", "record_id", "outcome"):
            value = getattr(query, column)
            if value:
                stmt = stmt.where(getattr(a, column) == value)
        if query.actor_like:
            pattern = "%" + _escape_like(query.actor_like.lower()) + "%"
            stmt = stmt.where(func.lower(a.actor).like(pattern, escape="\\"))
        if query.since is not None:
            stmt = stmt.where(a.at >= query.since)
        if query.until is not None:
            stmt = stmt.where(a.at < query.until)
        stmt = stmt.limit(max(1, min(query.limit, EXPORT_LIMIT)))
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(stmt)]

    def actions(self) -> list[str]:
        """Return every action name the log holds, sorted (for the admin page's filter)."""
        with self.engine.connect() as conn:
            names = conn.execute(select(s.AuditEntry.action).distinct()).scalars()
            return sorted(names)

    def export_csv(self, query: AuditQuery | None = None, *, zone: tzinfo | None = None) -> str:
        """Return the selected entries as CSV text with a header row.

        Times are ISO 8601 with their offset: UTC, or in `zone` (the admin page's Asia/Shanghai).
        """
        query = query or AuditQuery(limit=EXPORT_LIMIT)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for row in self.search(query):
            if zone is not None and isinstance(row["at"], datetime):
                row["at"] = row["at"].astimezone(zone)
            row["reason"] = shown_reason(row["reason"])
            writer.writerow([_cell(row[c]) for c in COLUMNS])
        return out.getvalue()

    def prune(self, retention_days: int) -> int:
        """Delete the entries older than the retention and return how many went."""
        horizon = self.clock.now() - timedelta(days=retention_days)
        with self.engine.begin() as conn:
            done = conn.execute(delete(s.AuditEntry).where(s.AuditEntry.at < horizon))
        return done.rowcount or 0


def shown_reason(reason: str | None) -> str | None:
    """Return a typed reason as pages and exports show it: a phone or ID number in it masked."""
    # A note may quote a resident ("called 13912345678"): kept as typed, masked on the way out.
    return mask_text(reason) if reason else reason


class DailyPrune:
    """Prune the audit log at most once a day, by the log's own (wall) clock.

    The view-model worker calls `run_if_due()` on every tick; the first call prunes at once, so a
    restarted worker catches up. A simulated street's fast clock never ages the log.
    """

    ACTOR = "system:retention"

    def __init__(
        self, audit: AuditLog, retention_days: int, every: timedelta = PRUNE_EVERY
    ) -> None:
        if retention_days < MIN_RETENTION_DAYS:
            raise ValueError(
                f"the audit log keeps at least {MIN_RETENTION_DAYS} days, not {retention_days}"
            )
        self.audit = audit
        self.retention_days = retention_days
        self.every = every
        self.last_run: datetime | None = None

    def run_if_due(self) -> int | None:
        """Prune when a day has passed since the last try; return how many went (None: not due)."""
        now = self.audit.clock.now()
        if self.last_run is not None and now - self.last_run < self.every:
            return None
        # A failed try waits for the next day too: the log only grows a little meanwhile.
        self.last_run = now
        try:
            gone = self.audit.prune(self.retention_days)
        except SQLAlchemyError:
            log.exception("audit log not pruned")
            return None
        if gone:
            log.info("audit log: %d entries older than %d days pruned", gone, self.retention_days)
            self.audit.record(
                self.ACTOR,
                "audit_prune",
                detail={"deleted": gone, "retention_days": self.retention_days},
            )
        return gone


def _escape_like(text: str) -> str:
    """Return text with LIKE's wildcards escaped (backslash is the escape character)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _cell(value: Any) -> str:
    """Return one CSV cell; a formula-leading cell is quoted so a spreadsheet runs no formula."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        text = value.isoformat()
    elif isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    else:
        text = str(value)
    return "'" + text if text.startswith(FORMULA_LEADS) else text
