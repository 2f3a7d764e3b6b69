"""Play the scripted incidents through ingest and the streaming rules, and report the alerts."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from cockpit.alerts import AlertBook
from cockpit.clock import ManualClock
from cockpit.ingest import Ingest
from cockpit.rules.config import load_rules_config
from cockpit.simulator.generator import seed_street
from cockpit.simulator.scenario import LiveScenario
from cockpit.store import schema
from cockpit.streaming import StreamingRules
from tests.streets import tiny_tier

START = datetime(2026, 11, 21, 0, 0, tzinfo=UTC)


def play_incidents(engine, live, *, twice: bool, days: float = 2.2, sink_factory=None):
    """Seed a tiny street, play the scenario for some days and return (scenario, alerts by key)."""
    seed_street(engine, tiny_tier(fire_devices=12), 21, (121.5, 31.3))
    clock = ManualClock(START)
    ingest = Ingest(
        engine, live, clock, StreamingRules(engine, AlertBook(engine, live), load_rules_config())
    )
    if sink_factory is not None:
        sink = sink_factory(ingest)
    elif twice:
        # QoS 1 may deliver every message twice: send each batch again right after itself.
        def sink(messages):
            ingest.device_messages(messages)
            return ingest.device_messages(messages)
    else:
        sink = None
    scenario = LiveScenario(engine, ingest, clock, 21, sink=sink)
    for _ in range(int(days * 24 * 6)):
        clock.advance(600)
        scenario.step()
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                schema.Alert.kind,
                schema.Alert.level,
                schema.Alert.object_type,
                schema.Alert.object_id,
            )
        ).all()
    return scenario, rows


def incident_alerts(scenario, rows) -> dict[str, list[tuple[str, str]]]:
    """Return, per scripted incident, the (kind, level) of alerts on its target object."""
    targets = scenario._targets
    with scenario.engine.connect() as conn:
        elder = conn.execute(
            select(schema.Device.resident_id).where(schema.Device.id == targets["water_meter"])
        ).scalar_one()
    wanted = {
        "smoke_alarm": ("device", targets["smoke"], "fire.smoke"),
        "trapped_elevator": ("device", targets["elevator"], "elevator.trapped"),
        "elder_no_water": ("resident", elder, "elder.no_water"),
        "enterprise": ("enterprise", targets["enterprise"]["id"], "enterprise.smoke"),
    }
    return {
        name: [
            (kind, level)
            for kind, level, otype, oid in rows
            if (otype, oid, kind) == (o_type, o_id, o_kind)
        ]
        for name, (o_type, o_id, o_kind) in wanted.items()
    }


EXPECTED = {
    "smoke_alarm": [("fire.smoke", "red")],
    "trapped_elevator": [("elevator.trapped", "red")],
    "elder_no_water": [("elder.no_water", "red")],
    "enterprise": [("enterprise.smoke", "orange")],
}
