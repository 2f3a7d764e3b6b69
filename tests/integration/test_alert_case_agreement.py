"""Check on the real stores that a cleared alert whose case is open reads the same everywhere."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from cockpit.alerts import AlertBook
from cockpit.cases.deadlines import load_cases_config
from cockpit.cases.desk import CaseDesk
from cockpit.clock import ManualClock
from cockpit.domain.kinds import DeviceKind
from cockpit.ingest import Ingest
from cockpit.live import RedisLiveStore
from cockpit.panels import GOVERNANCE, KPI_LISTS
from cockpit.rules.config import load_rules_config
from cockpit.settings import Settings
from cockpit.simulator.generator import seed_street
from cockpit.store import schema
from cockpit.streaming import StreamingRules
from cockpit.viewmodels import TICKER, read_view
from cockpit.worker import build_worker
from tests.streets import tiny_tier

pytestmark = pytest.mark.integration

MONDAY_10 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def smoke_alarm(ingest, device_id: int, at: datetime) -> None:
    """Send one smoke detector's alarm event."""
    ingest.device_messages(
        [
            {
                "device_id": device_id,
                "device_type": "smoke",
                "kind": "event",
                "ts": at.isoformat(),
                "seq": 1,
                "values": {"alarm": True, "obscuration_pct_m": 4.2, "battery_pct": 90},
            }
        ]
    )


def test_an_alert_cleared_while_its_case_is_open_stays_on_the_ticker_and_the_kpi(
    any_engine, redis_client, street_code
) -> None:
    """Smoke alarm clears before anyone acts: ticker shows the case, the KPI counts it, until closed."""
    live = RedisLiveStore(redis_client, street_code)
    clock = ManualClock(MONDAY_10)
    try:
        seed_street(any_engine, tiny_tier(fire_devices=12), 5, (121.5, 31.3))
        alerts = AlertBook(any_engine, live)
        desk = CaseDesk(any_engine, live, clock, load_cases_config(), alerts)
        rules = StreamingRules(any_engine, alerts, load_rules_config())
        ingest = Ingest(any_engine, live, clock, rules, desk)
        worker = build_worker(
            any_engine, live, clock, alerts, load_rules_config(), Settings(), desk
        )
        worker.tick()
        with any_engine.connect() as conn:
            smoke = conn.execute(
                select(schema.Device.id).where(schema.Device.kind == DeviceKind.SMOKE).limit(1)
            ).scalar_one()
        smoke_alarm(ingest, smoke, clock.now())
        clock.advance(5)
        worker.tick()  # the sync opens the alert's case
        worker.panels.refresh()
        worker.tick()
        with any_engine.connect() as conn:
            alert_id, key = conn.execute(
                select(schema.Alert.id, schema.Alert.open_key).where(
                    schema.Alert.kind == "fire.smoke"
                )
            ).one()

        clock.advance(10)
        alerts.resolve(key, clock.now())  # the detector cleared; nobody acknowledged it
        worker.tick()
        worker.panels.refresh()
        worker.tick()

        (item,) = [i for i in read_view(live, TICKER)["items"] if i["id"] == alert_id]
        assert item["status"] == "resolved"
        assert item["case"]["state"] == "reported" and item["case"]["open"] is True
        # Opened 5 s after the report, the 30 s acknowledge step is still ahead, not overdue.
        assert datetime.fromisoformat(item["case"]["deadline_at"]) > clock.now()
        governance = read_view(live, GOVERNANCE)
        assert governance["alerts"]["open_by_level"]["red"] == 0
        assert governance["alerts"]["red_unsettled"] == 1
        listed = read_view(live, KPI_LISTS)["lists"]["open_red_alerts"]
        assert [(r["id"], r["case"]["state"]) for r in listed] == [(alert_id, "reported")]

        # Acknowledging the cleared alert registers its case (the alert stays resolved).
        result = desk.act("acknowledge", "duty:li", alert_id=alert_id, action_key="ack")
        assert (result.state, result.applied) == ("registered", True)
        worker.tick()
        (item,) = [i for i in read_view(live, TICKER)["items"] if i["id"] == alert_id]
        assert (item["status"], item["case"]["state"]) == ("resolved", "registered")

        desk.act("void", "leader:wang", case_id=result.case_id, note="误报", action_key="v")
        worker.tick()
        worker.panels.refresh()
        worker.tick()
        (item,) = [i for i in read_view(live, TICKER)["items"] if i["id"] == alert_id]
        assert item["case"]["open"] is False
        assert read_view(live, GOVERNANCE)["alerts"]["red_unsettled"] == 0
    finally:
        live.clear()
