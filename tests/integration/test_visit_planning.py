"""Plan the eight mandatory visits (八必访) from stored enterprise records, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import insert, select, update

from cockpit.alerts import AlertBook
from cockpit.clock import ManualClock
from cockpit.domain.kinds import AlertStatus
from cockpit.live import InProcessLiveStore
from cockpit.panels import ENTERPRISE
from cockpit.rules.config import load_rules_config
from cockpit.rules.enterprise import visit_triggers
from cockpit.rules.results import RuleKind
from cockpit.simulator.generator import seed_street
from cockpit.store import schema
from cockpit.viewmodels import read_view
from cockpit.worker import ENTERPRISE_POLL, ViewModelWorker
from data_adapters.enterprise_facts import EnterpriseFactsAdapter
from data_adapters.live_state import LiveStateAdapter
from data_adapters.panel_facts import PanelFactsAdapter
from data_adapters.registry import DeviceRegistryAdapter, RegistryAdapter
from tests.streets import tiny_tier

pytestmark = pytest.mark.integration
TODAY = date(2026, 11, 21)
START = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def open_visits(engine) -> dict[str, int]:
    """Return condition key → alert id of the open visit alerts."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(schema.Alert.condition_key, schema.Alert.id).where(
                schema.Alert.kind == RuleKind.ENTERPRISE_VISIT.value,
                schema.Alert.status != AlertStatus.RESOLVED.value,
            )
        )
        return dict(rows.all())


def test_due_visits_are_raised_listed_and_resolved_once_visited(any_engine) -> None:
    seed_street(any_engine, tiny_tier(), 5, (121.5, 31.3), as_of=TODAY)
    with any_engine.begin() as conn:
        # An enterprise in trouble that nobody has visited: a trigger that must fire.
        conn.execute(
            update(schema.Enterprise).where(schema.Enterprise.id == 1).values(status="abnormal")
        )
        conn.execute(
            schema.EnterpriseEvent.__table__.delete().where(
                schema.EnterpriseEvent.enterprise_id == 1
            )
        )
    clock = ManualClock(START)
    live = InProcessLiveStore()
    rules = load_rules_config()
    enterprises = EnterpriseFactsAdapter(any_engine, clock, ENTERPRISE_POLL)
    worker = ViewModelWorker(
        RegistryAdapter(any_engine, clock, timedelta(seconds=10)),
        DeviceRegistryAdapter(any_engine, clock, timedelta(seconds=60)),
        LiveStateAdapter(live, clock, timedelta(seconds=1)),
        live,
        clock,
        timedelta(seconds=30),
        alerts=AlertBook(any_engine, live),
        panels=PanelFactsAdapter(any_engine, clock, timedelta(seconds=10)),
        rules_cfg=rules,
        enterprises=enterprises,
    )
    worker.tick()

    expected = {
        trigger.to_alert().condition_key
        for facts, history in enterprises.snapshot.data.values()
        for trigger in visit_triggers(facts, history, rules, TODAY)
    }
    raised = open_visits(any_engine)
    assert set(raised) == expected
    abnormal = next(k for k in expected if k.endswith(":1:abnormal_operation"))
    with any_engine.connect() as conn:
        reasons = conn.execute(
            select(schema.Alert.reasons).where(schema.Alert.id == raised[abnormal])
        )
        assert reasons.scalar_one()[0]["code"] == "status"

    worker.tick()  # planning again on the same records raises nothing new
    assert open_visits(any_engine) == raised

    # The panel lists the visits once the panel facts are read again.
    clock.advance(11)
    worker.tick()
    visits = read_view(live, ENTERPRISE)["visits"]
    assert visits["total"] == len(expected)
    assert any(row["enterprise_id"] == 1 for row in visits["due"])

    with any_engine.begin() as conn:
        conn.execute(
            insert(schema.EnterpriseEvent).values(
                enterprise_id=1, kind="visit", happened_on=TODAY, trigger="abnormal_operation"
            )
        )
    clock.advance(ENTERPRISE_POLL.total_seconds() + 1)
    worker.tick()
    assert set(open_visits(any_engine)) == expected - {abnormal}
