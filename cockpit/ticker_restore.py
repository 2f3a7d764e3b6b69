"""Rebuild the ticker from the alert book when a worker starts, then go on from the live stream.

The ticker (`cockpit.worker.TickerFeed`) folds the live `alerts` stream, which dies with an
in-process store and may be trimmed or already long in Redis. A fresh worker replays the
alerts table instead: each alert the ticker could hold becomes the events that made it what it
is now (raised with its current level and reasons, escalated, acknowledged, resolved), fed to
the ticker's own `absorb`, so its rules (privacy of resident alerts, which alerts it keeps)
apply exactly as they do live. The stream's newest id is read before the table, so an alert
that moves meanwhile is applied again from the stream afterwards, never missed.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import Engine, and_, not_, select

from cockpit.alert_groups import NEVER_GROUPED
from cockpit.alerts import ALERT_STREAM
from cockpit.domain.kinds import AlertLevel, AlertStatus
from cockpit.live import LiveStore
from cockpit.rules.results import WORK_LIST_KINDS
from cockpit.store import schema


class Ticker(Protocol):
    """What the restore needs of the ticker: its cursor, sizes, grouping and `absorb`."""

    cursor: str
    SIZE: int
    MEMBERS_MAX: int
    grouping: Any  # cockpit.rules.config.GroupingConfig: the kinds counted as one item

    def absorb(self, events: list[tuple[str, dict]]) -> bool:
        """Apply alert events; tell whether anything changed."""
        ...


def restore_ticker(ticker: Ticker, engine: Engine, live: LiveStore) -> bool:
    """Fold the stored alerts the ticker would show into it; tell whether any were found.

    A ticker that has read nothing yet goes on from the stream's newest event; one that has
    (the store was down at its first tick) keeps its cursor, and the table's state wins.
    """
    newest = live.last_event_id(ALERT_STREAM) if ticker.cursor == "0" else ticker.cursor
    events = stored_alert_events(
        engine, ticker.SIZE, tuple(ticker.grouping.kinds), ticker.MEMBERS_MAX
    )
    if events:
        ticker.absorb(events)
    ticker.cursor = newest
    return bool(events)


def stored_alert_events(
    engine: Engine, size: int, grouped: tuple[str, ...] = (), members_max: int = 50_000
) -> list[tuple[str, dict[str, Any]]]:
    """Return, as stream events oldest first, the alerts a ticker of `size` items could hold.

    The ticker keeps open alerts before resolved ones, each gravest then newest first: the
    newest `size` of each status group and level are enough to pick its items from. Open
    alerts of the grouped kinds (not red) are all kept, up to `members_max`, so a group's
    count comes back right (cockpit.alert_groups).
    """
    a = schema.Alert
    columns = (
        a.id,
        a.kind,
        a.level,
        a.status,
        a.title,
        a.title_en,
        a.object_type,
        a.object_id,
        a.routing,
        a.reasons,
        a.raised_at,
        a.acknowledged_at,
        a.escalated_at,
        a.resolved_at,
    )
    is_open = a.status != AlertStatus.RESOLVED.value
    member = and_(is_open, a.kind.in_(grouped), a.level != NEVER_GROUPED)
    rows = []
    with engine.connect() as conn:
        if grouped:
            rows += conn.execute(
                select(*columns)
                .where(member)
                .order_by(a.raised_at.desc(), a.id.desc())
                .limit(members_max)
            ).all()
        for resolved in (False, True):
            for level in AlertLevel:
                status = (
                    a.status == AlertStatus.RESOLVED.value
                    if resolved
                    else and_(is_open, not_(member))
                )
                rows += conn.execute(
                    select(*columns)
                    .where(status, a.level == level.value, a.kind.not_in(WORK_LIST_KINDS))
                    .order_by(a.raised_at.desc(), a.id.desc())
                    .limit(size)
                ).all()
    rows.sort(key=lambda row: (row.raised_at, row.id))
    return [event for row in rows for event in alert_events(row)]


def alert_events(row: Any) -> list[tuple[str, dict[str, Any]]]:
    """Return the events that bring a ticker item to the stored alert's state, as announced."""
    ref = "0"  # a stand-in id: restore_ticker sets the ticker's cursor afterwards
    events = [
        (
            ref,
            {
                # The fields and order of AlertBook._announce: a restored item equals a live one.
                "event": "raised",
                "id": row.id,
                "level": row.level,
                "kind": row.kind,
                "title_zh": row.title,
                "title_en": row.title_en,
                "object_type": row.object_type,
                "object_id": row.object_id,
                "routing": row.routing,
                "reasons": row.reasons,
                "ts": row.raised_at.timestamp(),
            },
        )
    ]
    if row.escalated_at is not None:
        events.append(
            (
                ref,
                {
                    "event": "escalated",
                    "id": row.id,
                    "level": row.level,
                    "ts": row.escalated_at.timestamp(),
                },
            )
        )
    if row.acknowledged_at is not None:
        events.append(
            (ref, {"event": "acknowledged", "id": row.id, "ts": row.acknowledged_at.timestamp()})
        )
    if row.status == AlertStatus.RESOLVED.value:
        at = row.resolved_at or row.raised_at
        events.append((ref, {"event": "resolved", "id": row.id, "ts": at.timestamp()}))
    return events
