"""Poll the SQL store for what the live map lays over its geometry: open alerts and open cases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from cockpit.clock import Clock
from cockpit.rules.results import WORK_LIST_KINDS, RuleKind
from cockpit.store import schema as s
from data_adapters.base import Adapter, read_store, rows_as_dicts
from data_adapters.panel_facts import OPEN_STATES

# The map shows at most this many open cases, newest first; the panels count them all.
CASE_LIMIT = 2000
ALERT_LIMIT = 2000
# Not live incidents: offline devices are greyed in the device layer, and work lists (due visits,
# hundreds at a time) would crowd the real alarms out of the limit above.
UNMAPPED_ALERT_KINDS = frozenset({RuleKind.DEVICE_OFFLINE.value}) | WORK_LIST_KINDS


class MapAlertsAdapter(Adapter[list[dict[str, Any]]]):
    """Read every open alert with the building that places a resident's or enterprise's alert."""

    name = "map_alerts"

    def __init__(self, engine: Engine, clock: Clock, interval: timedelta) -> None:
        super().__init__(clock, interval)
        self.engine = engine

    def _fetch(self) -> list[dict[str, Any]]:
        """Return open alerts, newest first, as dicts; see `read_open_alerts`."""
        return read_store(self.engine, read_open_alerts)


def read_open_alerts(conn: Connection) -> list[dict[str, Any]]:
    """Return open alerts; a resident's alert carries its building and loses the resident's id."""
    alerts = rows_as_dicts(
        conn,
        select(
            s.Alert.id,
            s.Alert.kind,
            s.Alert.level,
            s.Alert.status,
            s.Alert.object_type,
            s.Alert.object_id,
            s.Alert.title.label("title_zh"),
            s.Alert.title_en,
            s.Alert.raised_at,
        )
        .where(s.Alert.open_key.is_not(None), s.Alert.kind.not_in(UNMAPPED_ALERT_KINDS))
        .order_by(s.Alert.raised_at.desc(), s.Alert.id.desc())
        .limit(ALERT_LIMIT),
    )
    residents = {a["object_id"] for a in alerts if a["object_type"] == "resident"}
    homes: dict[int, int] = {}
    if residents:
        homes = dict(
            conn.execute(
                select(s.Resident.id, s.Household.building_id)
                .join(s.Household, s.Household.id == s.Resident.household_id)
                .where(s.Resident.id.in_(residents))
            ).all()
        )
    for alert in alerts:
        alert["ts"] = alert.pop("raised_at").timestamp()
        if alert["object_type"] == "resident":
            # The map places the alert at the home building; who it is stays in the case.
            alert["building_id"] = homes.get(alert["object_id"])
            alert["object_id"] = None
    return alerts


class MapCasesAdapter(Adapter[list[dict[str, Any]]]):
    """Read open cases with a position: their own, else their address's, else their building's."""

    name = "map_cases"

    def __init__(self, engine: Engine, clock: Clock, interval: timedelta) -> None:
        super().__init__(clock, interval)
        self.engine = engine

    def _fetch(self) -> list[dict[str, Any]]:
        """Return open cases, newest first, as dicts; see `read_open_cases`."""
        return read_store(self.engine, read_open_cases)


def read_open_cases(conn: Connection) -> list[dict[str, Any]]:
    """Return open cases with lon/lat (None when nothing places them) and their deadline."""
    rows = rows_as_dicts(
        conn,
        select(
            s.Case.id,
            s.Case.code,
            s.Case.state,
            s.Case.category,
            s.Case.building_id,
            func.coalesce(s.Case.lon, s.Address.lon, s.Building.lon).label("lon"),
            func.coalesce(s.Case.lat, s.Address.lat, s.Building.lat).label("lat"),
            s.Case.reported_at,
            s.Case.deadline_at,
        )
        .outerjoin(s.Address, s.Address.id == s.Case.address_id)
        .outerjoin(s.Building, s.Building.id == s.Case.building_id)
        .where(s.Case.state.in_(OPEN_STATES))
        .order_by(s.Case.reported_at.desc(), s.Case.id.desc())
        .limit(CASE_LIMIT),
    )
    for row in rows:
        row["reported_at"] = row["reported_at"].timestamp()
        deadline = row.pop("deadline_at")
        row["deadline_ts"] = deadline.timestamp() if deadline else None
    return rows
