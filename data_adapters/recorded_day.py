"""Read one recorded day from a store, read-only: alerts, case steps, complaints and requests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine, func, select

from cockpit.clock import DISPLAY_ZONE
from cockpit.store import schema as s

# The case steps a replay tells; registering, linking and the like would only crowd the captions.
REPLAYED_ACTIONS = ("dispatch", "arrive", "handled", "close")


@dataclass(frozen=True, slots=True)
class RecordedItem:
    """Hold one recorded happening: when, what ("alert", "case", "complaint", "request"), facts."""

    at: datetime
    what: str
    facts: dict[str, Any] = field(default_factory=dict)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """Return the local day's start and end as aware datetimes."""
    start = datetime.combine(day, time(0), DISPLAY_ZONE)
    return start, start + timedelta(days=1)


class RecordedDayReader:
    """Find the days a store holds data for and read one of them, with SELECTs only."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def days_with_data(self, today: date, back_days: int = 30) -> list[date]:
        """Return the local days, newest first, within the window that hold any recorded item."""
        since, _ = day_bounds(today - timedelta(days=back_days - 1))
        _, until = day_bounds(today)
        found: set[date] = set()
        with self.engine.connect() as conn:
            for column in (
                s.Alert.raised_at,
                s.CaseHistory.at,
                s.Complaint.received_at,
                s.ResidentRequest.requested_at,
            ):
                cursor = since
                # One index seek per day that has data, however many rows each day holds.
                while cursor < until:
                    first = conn.execute(
                        select(func.min(column)).where(column >= cursor, column < until)
                    ).scalar()
                    if first is None:
                        break
                    day = first.astimezone(DISPLAY_ZONE).date()
                    found.add(day)
                    cursor = day_bounds(day)[1]
        return sorted(found, reverse=True)

    def read_day(self, day: date) -> list[RecordedItem]:
        """Return the day's alerts, case steps, complaints and requests, in time order."""
        start, end = day_bounds(day)
        items: list[RecordedItem] = []
        with self.engine.connect() as conn:
            a = s.Alert
            for row in conn.execute(
                select(
                    a.id,
                    a.kind,
                    a.level,
                    a.title,
                    a.title_en,
                    a.object_type,
                    a.object_id,
                    a.raised_at,
                    a.resolved_at,
                ).where(a.raised_at >= start, a.raised_at < end)
            ).mappings():
                items.append(RecordedItem(row["raised_at"], "alert", dict(row)))
            h, c = s.CaseHistory, s.Case
            for row in conn.execute(
                select(
                    h.at,
                    h.action,
                    h.to_state,
                    h.target,
                    c.code,
                    c.source,
                    c.category,
                    c.title,
                    c.title_en,
                    c.alert_id,
                )
                .join(c, c.id == h.case_id)
                .where(h.at >= start, h.at < end, h.action.in_(REPLAYED_ACTIONS))
            ).mappings():
                items.append(RecordedItem(row["at"], "case", dict(row)))
            for row in conn.execute(
                select(s.Complaint.received_at, s.Complaint.source, s.Complaint.category).where(
                    s.Complaint.received_at >= start, s.Complaint.received_at < end
                )
            ).mappings():
                items.append(RecordedItem(row["received_at"], "complaint", dict(row)))
            r = s.ResidentRequest
            for row in conn.execute(
                select(r.requested_at, r.service_code, r.channel).where(
                    r.requested_at >= start, r.requested_at < end
                )
            ).mappings():
                items.append(RecordedItem(row["requested_at"], "request", dict(row)))
            targets = self._targets(conn, {i.facts["target"] for i in items if i.what == "case"})
        for item in items:
            if item.what == "case":
                item.facts["target_name"] = targets.get(item.facts["target"])
        order = {"alert": 0, "complaint": 1, "request": 2, "case": 3}
        return sorted(items, key=lambda i: (i.at, order[i.what]))

    @staticmethod
    def _targets(conn, targets: set[str | None]) -> dict[str, str]:
        """Return the name of each dispatch target ("team:3" → the team's name)."""
        ids: dict[str, set[int]] = {}
        for target in targets:
            kind, _, ident = (target or "").partition(":")
            if ident.isdigit():
                ids.setdefault(kind, set()).add(int(ident))
        names: dict[str, str] = {}
        queries = {
            "team": select(s.ResponseTeam.id, s.ResponseTeam.name).where(
                s.ResponseTeam.id.in_(ids.get("team", ()))
            ),
            "worker": select(s.GridWorker.id, s.Grid.name)
            .join(s.Grid, s.Grid.id == s.GridWorker.grid_id)
            .where(s.GridWorker.id.in_(ids.get("worker", ()))),
            "community": select(s.Community.id, s.Community.name).where(
                s.Community.id.in_(ids.get("community", ()))
            ),
        }
        for kind, query in queries.items():
            if ids.get(kind):
                for ident, name in conn.execute(query):
                    names[f"{kind}:{ident}"] = name
        return names
