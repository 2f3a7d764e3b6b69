"""Keep graded alerts: one open alert per condition and object, new → acknowledged → resolved."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import IntegrityError

from cockpit.domain.kinds import AlertLevel, AlertStatus
from cockpit.live import LiveStore
from cockpit.rules.results import AlertCandidate, level_rank
from cockpit.store import schema

ESCALATION = {
    AlertLevel.BLUE: AlertLevel.YELLOW,
    AlertLevel.YELLOW: AlertLevel.ORANGE,
    AlertLevel.ORANGE: AlertLevel.RED,
    AlertLevel.RED: AlertLevel.RED,
}
ALERT_STREAM = "alerts"


class AlertError(ValueError):
    """Refuse an alert action that does not fit the alert's state."""


class AlertResolvedError(AlertError):
    """Refuse to acknowledge an alert already resolved (its case may still be registered)."""


@dataclass(frozen=True)
class Raised:
    """Tell what raising a candidate did: the alert's id and whether it is new."""

    alert_id: int
    created: bool
    level: AlertLevel


class AlertBook:
    """Write alerts to SQL and announce changes on the live alerts stream for the ticker."""

    def __init__(self, engine: Engine, live: LiveStore) -> None:
        self.engine = engine
        self.live = live

    def raise_candidate(self, candidate: AlertCandidate, at: datetime) -> Raised:
        """Open an alert for the candidate, or fold it into the open one for the same condition."""
        try:
            with self.engine.begin() as conn:
                alert_id = conn.execute(
                    schema.Alert.__table__.insert().returning(schema.Alert.id),
                    self._row(candidate, at),
                ).scalar_one()
        except IntegrityError:
            return self._fold(candidate, at)
        self._announce("raised", alert_id, candidate.level, candidate, at)
        return Raised(alert_id, True, candidate.level)

    @staticmethod
    def _row(candidate: AlertCandidate, at: datetime) -> dict[str, Any]:
        """Return the alerts-table row that opens a candidate."""
        return {
            "kind": candidate.kind,
            "level": candidate.level.value,
            "status": AlertStatus.NEW.value,
            "condition_key": candidate.condition_key,
            "open_key": candidate.condition_key,
            "object_type": candidate.object_type,
            "object_id": candidate.object_id,
            "title": candidate.title_zh,
            "title_en": candidate.title_en,
            "routing": candidate.routing,
            "reasons": candidate.reasons_json(),
            "raised_at": at,
        }

    def _fold(self, candidate: AlertCandidate, at: datetime) -> Raised:
        """Keep the open alert; raise its level if the new evidence is graver, and keep the reasons."""
        with self.engine.begin() as conn:
            alert_id, level = conn.execute(
                select(schema.Alert.id, schema.Alert.level).where(
                    schema.Alert.open_key == candidate.condition_key
                )
            ).one()
            current = AlertLevel(level)
            if level_rank(candidate.level) > level_rank(current):
                conn.execute(
                    update(schema.Alert)
                    .where(schema.Alert.id == alert_id)
                    .values(level=candidate.level.value, reasons=candidate.reasons_json())
                )
                current = candidate.level
                regraded = True
            else:
                regraded = False
        if regraded:
            # Graver evidence: the ticker and cards show the new level and reasons at once.
            self.live.append_event(
                ALERT_STREAM,
                {
                    "event": "regraded",
                    "id": alert_id,
                    "level": current.value,
                    "reasons": candidate.reasons_json(),
                    "ts": at.timestamp(),
                },
            )
        return Raised(alert_id, False, current)

    def acknowledge(self, alert_id: int, by: str, at: datetime) -> None:
        """Mark a new alert acknowledged; acknowledging twice changes nothing."""
        with self.engine.begin() as conn:
            changed = self.acknowledge_in(conn, alert_id, by, at)
        if changed:
            self.announce_acknowledged(alert_id, at)

    def acknowledge_in(self, conn, alert_id: int, by: str, at: datetime) -> bool:
        """Acknowledge inside the caller's transaction; return whether it changed anything.

        The caller announces (`announce_acknowledged`) after its commit, so a rolled-back
        transaction (the case it belongs with was not registered) leaves no trace anywhere.
        """
        status = self._status(conn, alert_id)
        if status == AlertStatus.RESOLVED:
            raise AlertResolvedError(f"alert {alert_id} is resolved and cannot be acknowledged")
        if status == AlertStatus.ACKNOWLEDGED:
            return False
        conn.execute(
            update(schema.Alert)
            .where(schema.Alert.id == alert_id)
            .values(status=AlertStatus.ACKNOWLEDGED.value, acknowledged_at=at, acknowledged_by=by)
        )
        return True

    def announce_acknowledged(self, alert_id: int, at: datetime) -> None:
        """Tell every screen's ticker and alert card who has it in hand, without a SQL poll."""
        self.live.append_event(
            ALERT_STREAM, {"event": "acknowledged", "id": alert_id, "ts": at.timestamp()}
        )

    def resolve(self, condition_key: str, at: datetime) -> int | None:
        """Resolve the open alert of a condition when it has cleared; return its id, if any."""
        with self.engine.begin() as conn:
            alert_id = conn.execute(
                select(schema.Alert.id).where(schema.Alert.open_key == condition_key)
            ).scalar()
            if alert_id is None:
                return None
            conn.execute(
                update(schema.Alert)
                .where(schema.Alert.id == alert_id)
                .values(status=AlertStatus.RESOLVED.value, resolved_at=at, open_key=None)
            )
        self.live.append_event(
            ALERT_STREAM, {"event": "resolved", "id": alert_id, "ts": at.timestamp()}
        )
        return alert_id

    def escalate_unacknowledged(self, now: datetime, after: timedelta) -> list[int]:
        """Raise by one level every new alert nobody acknowledged within `after`; return their ids."""
        escalated = []
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(schema.Alert.id, schema.Alert.level).where(
                    schema.Alert.status == AlertStatus.NEW.value,
                    schema.Alert.escalated_at.is_(None),
                    schema.Alert.raised_at <= now - after,
                )
            ).all()
            for alert_id, level in rows:
                raised_to = ESCALATION[AlertLevel(level)]
                conn.execute(
                    update(schema.Alert)
                    .where(schema.Alert.id == alert_id)
                    .values(level=raised_to.value, escalated_at=now)
                )
                escalated.append((alert_id, raised_to))
        for alert_id, raised_to in escalated:
            self.live.append_event(
                ALERT_STREAM,
                {
                    "event": "escalated",
                    "id": alert_id,
                    "level": raised_to.value,
                    "ts": now.timestamp(),
                },
            )
        return [alert_id for alert_id, _ in escalated]

    def open_levels(self, kinds: tuple[str, ...]) -> dict[str, AlertLevel]:
        """Return the condition key and level of every open alert of these kinds."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(schema.Alert.open_key, schema.Alert.level).where(
                    schema.Alert.open_key.is_not(None), schema.Alert.kind.in_(kinds)
                )
            ).all()
        return {key: AlertLevel(level) for key, level in rows}

    def resolved_since(self, kinds: tuple[str, ...], since: datetime) -> dict[str, datetime]:
        """Return the condition key and latest resolution time of alerts of these kinds resolved since."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(schema.Alert.condition_key, func.max(schema.Alert.resolved_at))
                .where(schema.Alert.kind.in_(kinds), schema.Alert.resolved_at >= since)
                .group_by(schema.Alert.condition_key)
            ).all()
        return {key: at for key, at in rows}

    def resolve_many(self, condition_keys: list[str], at: datetime) -> list[int]:
        """Resolve the open alerts of these conditions in one transaction; return their ids."""
        if not condition_keys:
            return []
        ids: list[int] = []
        with self.engine.begin() as conn:
            # In slices: a bound parameter per key, and SQLite allows some thousands per statement.
            for start in range(0, len(condition_keys), 500):
                ids += (
                    conn.execute(
                        select(schema.Alert.id).where(
                            schema.Alert.open_key.in_(condition_keys[start : start + 500])
                        )
                    )
                    .scalars()
                    .all()
                )
            for start in range(0, len(ids), 500):
                conn.execute(
                    update(schema.Alert)
                    .where(schema.Alert.id.in_(ids[start : start + 500]))
                    .values(status=AlertStatus.RESOLVED.value, resolved_at=at, open_key=None)
                )
        for alert_id in ids:
            self.live.append_event(
                ALERT_STREAM, {"event": "resolved", "id": alert_id, "ts": at.timestamp()}
            )
        return ids

    def raise_many(self, candidates: list[AlertCandidate], at: datetime) -> None:
        """Open alerts for conditions not yet open, in one transaction; fold the rest one by one."""
        if not candidates:
            return
        rows = [self._row(candidate, at) for candidate in candidates]
        try:
            with self.engine.begin() as conn:
                ids = (
                    conn.execute(
                        schema.Alert.__table__.insert().returning(
                            schema.Alert.id, sort_by_parameter_order=True
                        ),
                        rows,
                    )
                    .scalars()
                    .all()
                )
        except IntegrityError:
            # Some condition was opened meanwhile (another process): take the careful path.
            for candidate in candidates:
                self.raise_candidate(candidate, at)
            return
        for alert_id, candidate in zip(ids, candidates, strict=True):
            self._announce("raised", alert_id, candidate.level, candidate, at)

    def open_alerts(self, limit: int = 50) -> list[dict[str, Any]]:
        """Return open alerts, gravest and newest first, as plain dicts."""
        order = {AlertLevel.RED.value: 0, AlertLevel.ORANGE.value: 1, AlertLevel.YELLOW.value: 2}
        with self.engine.connect() as conn:
            rows = (
                conn.execute(
                    select(schema.Alert.__table__)
                    .where(schema.Alert.open_key.is_not(None))
                    .order_by(schema.Alert.raised_at.desc())
                    .limit(limit)
                )
                .mappings()
                .all()
            )
        alerts = [_as_dict(a) for a in rows]
        return sorted(alerts, key=lambda a: order.get(a["level"], 3))

    @staticmethod
    def _status(conn, alert_id: int) -> AlertStatus:
        status = conn.execute(
            select(schema.Alert.status).where(schema.Alert.id == alert_id)
        ).scalar()
        if status is None:
            raise AlertError(f"no alert {alert_id}")
        return AlertStatus(status)

    def _announce(
        self, event: str, alert_id: int, level: AlertLevel, candidate: AlertCandidate, at: datetime
    ) -> None:
        """Put the alert on the live stream, so the ticker shows it without waiting for a SQL poll."""
        self.live.append_event(
            ALERT_STREAM,
            {
                "event": event,
                "id": alert_id,
                "level": level.value,
                "kind": candidate.kind,
                "title_zh": candidate.title_zh,
                "title_en": candidate.title_en,
                "object_type": candidate.object_type,
                "object_id": candidate.object_id,
                "routing": candidate.routing,
                "reasons": candidate.reasons_json(),
                "ts": at.timestamp(),
            },
        )


def _as_dict(alert) -> dict[str, Any]:
    """Return an alert row as a JSON-ready dict."""
    return {
        "id": alert["id"],
        "kind": alert["kind"],
        "level": alert["level"],
        "status": alert["status"],
        "object_type": alert["object_type"],
        "object_id": alert["object_id"],
        "title_zh": alert["title"],
        "title_en": alert["title_en"],
        "routing": alert["routing"],
        "reasons": alert["reasons"],
        "raised_at": alert["raised_at"].isoformat(),
        "escalated": alert["escalated_at"] is not None,
    }
