"""Resume a faster-than-real simulated street's clock where its last run left it.

A `ScaledClock` starts at the real time, so a cockpit simulating at 60x that restarts would put
its street back by however far the simulation had run ahead: alerts resolved before they were
raised, deadlines suddenly far away. The store already holds simulated times (alerts, case
steps, complaints, requests, played incidents); the newest of them is where the street's clock
stood, near enough, and a restarted clock goes on from there. At real speed nothing is moved:
a clock that is the real clock must not follow a future-dated record.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, func, select

from cockpit.clock import ScaledClock
from cockpit.store import schema

# Indexed columns the simulated street writes with its own clock's time.
SIMULATED_TIMES = (
    schema.Alert.raised_at,
    schema.CaseHistory.at,
    schema.Complaint.received_at,
    schema.ResidentRequest.requested_at,
    schema.ScenarioIncident.played_at,
)


def last_simulated_time(engine: Engine) -> datetime | None:
    """Return the newest simulated time the store recorded, or None for an empty store."""
    with engine.connect() as conn:
        times = [conn.execute(select(func.max(column))).scalar() for column in SIMULATED_TIMES]
    # SQLite hands max() back as naive text-parsed times: they are stored in UTC.
    aware = [t if t.tzinfo else t.replace(tzinfo=UTC) for t in times if t is not None]
    return max(aware, default=None)


def simulation_clock(engine: Engine, speed: float) -> ScaledClock:
    """Return the simulation's clock: from now, or from the store's last time if that is later."""
    if speed == 1:
        return ScaledClock(speed)
    last = last_simulated_time(engine)
    now = datetime.now(UTC)
    return ScaledClock(speed, start=last if last is not None and last > now else None)
