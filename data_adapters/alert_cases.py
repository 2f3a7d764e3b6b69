"""Read the case each alert opened or joined, for the ticker and alert cards to show its state."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, select

from cockpit.domain.kinds import CaseSource
from cockpit.store import schema as s
from data_adapters.base import read_store
from data_adapters.registry import CLOSED_STATES

# Ids per statement: the ticker holds some twenty alerts; a bound parameter each.
SLICE = 500


class AlertCases:
    """Return, by alert id, the code, state, priority and current deadline of the alert's case."""

    # A query per ticker change, at most a few dozen ids on the unique (source, source_id) index.

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def of(self, alert_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """Return alert id → its case: {id, code, state, open, priority, deadline_at (ISO) or None}."""
        ids = sorted({i for i in alert_ids if isinstance(i, int) and not isinstance(i, bool)})
        if not ids:
            return {}
        report, c = s.CaseReport, s.Case

        def work(conn) -> dict[int, dict[str, Any]]:
            found: dict[int, dict[str, Any]] = {}
            for start in range(0, len(ids), SLICE):
                rows = conn.execute(
                    select(report.source_id, c.id, c.code, c.state, c.priority, c.deadline_at)
                    .join(c, c.id == report.case_id)
                    .where(
                        report.source == CaseSource.ALERT.value,
                        report.source_id.in_(ids[start : start + SLICE]),
                    )
                )
                for alert_id, case_id, code, state, priority, deadline in rows:
                    found[alert_id] = {
                        "id": case_id,
                        "code": code,
                        "state": state,
                        "open": state not in CLOSED_STATES,
                        "priority": priority,
                        "deadline_at": deadline.isoformat() if deadline else None,
                    }
            return found

        return read_store(self.engine, work)
