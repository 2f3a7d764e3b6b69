"""Stop a private PostgreSQL under a running pipeline: reads stay, writes fail whole, alarms wait."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from callbacks.cases import act_audited, refused
from cockpit.access.audit import AuditLog
from cockpit.access.policy import Permission, Principal, Role
from cockpit.alerts import AlertBook
from cockpit.cases.deadlines import load_cases_config
from cockpit.cases.desk import CaseDesk
from cockpit.clock import ManualClock
from cockpit.domain.kinds import CaseState
from cockpit.ingest import Ingest
from cockpit.live import RedisLiveStore
from cockpit.open311 import make_blueprint
from cockpit.panels import SOURCE_HEALTH
from cockpit.rules.config import load_rules_config
from cockpit.settings import Settings
from cockpit.simulator.generator import seed_street
from cockpit.store import schema
from cockpit.store.database import make_engine, migrate
from cockpit.store.outage import StoreUnavailableError
from cockpit.streaming import MEMORY_WAITING_ALERTS, StreamingRules
from cockpit.viewmodels import OVERVIEW, read_view
from cockpit.web.limits import make_limiter
from cockpit.worker import ViewModelWorker
from data_adapters.live_state import LiveStateAdapter
from data_adapters.registry import DeviceRegistryAdapter, RegistryAdapter
from tests.private_servers import PrivatePostgres
from tests.streets import tiny_tier

pytestmark = pytest.mark.integration
START = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)


def smoke_alarm(device_id: int, ts: datetime, seq: int) -> dict:
    """Return a smoke detector's alarm reading."""
    return {
        "device_id": device_id,
        "device_type": "smoke",
        "kind": "reading",
        "ts": ts,
        "seq": seq,
        "values": {"alarm": True},
    }


def open311_client(engine, ingest, clock):
    """Return a test client of the Open311 blueprint wired as app.py wires it."""
    app = Flask(__name__)
    app.testing = True
    app.register_blueprint(
        make_blueprint(
            engine,
            ingest,
            clock,
            "310110012",
            clients={},
            limiter=make_limiter(app, Settings(redis_url=None)),
            rate_limit="100 per minute",
            audit=AuditLog(engine, clock),
        )
    )
    return app.test_client()


def stored_counts(engine) -> tuple[int, ...]:
    """Count what a write could have left behind: requests, history rows, acknowledged alerts."""
    with engine.connect() as conn:
        return (
            len(conn.execute(select(schema.ResidentRequest.id)).all()),
            len(conn.execute(select(schema.CaseHistory.id)).all()),
            len(
                conn.execute(
                    select(schema.Alert.id).where(schema.Alert.status == "acknowledged")
                ).all()
            ),
        )


def test_postgres_down_keeps_views_fails_writes_whole_and_holds_alarms(
    fault, redis_client, street_code, caplog
):
    fault(
        "PostgreSQL unreachable",
        "last views kept and marked stale; a case action fails with a clear message and "
        "changes nothing; an alarm read meanwhile is raised when the store returns",
    )
    with PrivatePostgres() as pg:
        engine = make_engine(pg.url)
        migrate(engine)
        seed_street(engine, tiny_tier(fire_devices=12), 41, (121.5, 31.3))
        with engine.connect() as conn:
            first, second = (
                conn.execute(select(schema.Device.id).where(schema.Device.kind == "smoke").limit(2))
                .scalars()
                .all()
            )
        live = RedisLiveStore(redis_client, street_code)
        clock = ManualClock(START)
        alerts = AlertBook(engine, live)
        rules = StreamingRules(engine, alerts, load_rules_config())
        desk = CaseDesk(engine, live, clock, load_cases_config(), alerts)
        ingest = Ingest(engine, live, clock, rules, desk)
        registry = RegistryAdapter(engine, clock, timedelta(seconds=10))
        worker = ViewModelWorker(
            registry,
            DeviceRegistryAdapter(engine, clock, timedelta(seconds=60)),
            LiveStateAdapter(live, clock, timedelta(seconds=1)),
            live,
            clock,
            timedelta(seconds=30),
            alerts=alerts,
        )
        try:
            assert ingest.device_messages([smoke_alarm(first, START, 1)]).accepted == 1
            desk.sync(START)
            with engine.connect() as conn:
                alert_id = conn.execute(
                    select(schema.Alert.id).where(schema.Alert.object_id == first)
                ).scalar_one()
            worker.tick()
            assert read_view(live, OVERVIEW)["stale"] is False
            web = open311_client(engine, ingest, clock)
            before = stored_counts(engine)
            leader = Principal(1, "li", Role.LEADER)

            caplog.set_level(logging.WARNING)
            caplog.clear()
            pg.stop()
            clock.advance(30)
            worker.tick()  # must not raise: the last good snapshots are published, marked stale
            overview = read_view(live, OVERVIEW)
            assert overview["stale"] is True
            assert overview["kpis"]["devices_total"] > 0  # the last good numbers stay
            assert registry.health(timedelta(seconds=30))["state"] == "stale"
            assert read_view(live, SOURCE_HEALTH)["status"] != "ok"

            # A write fails with a clear message in both languages and changes nothing.
            with pytest.raises(StoreUnavailableError) as failed:
                desk.act("acknowledge", "leader:li", alert_id=alert_id, action_key="k1")
            zh, en = refused(failed.value, "zh")[1], refused(failed.value, "en")[1]
            assert "数据库" in zh and "database" in en.lower()
            # The tablet's path: audited, and the audit log being down too hides nothing.
            with pytest.raises(StoreUnavailableError):
                act_audited(
                    desk,
                    AuditLog(engine, clock),
                    leader,
                    Permission.ACT_CASES,
                    "acknowledge",
                    ("alert", alert_id),
                    alert_id=alert_id,
                    action_key="k2",
                )
            # A resident's report is refused with a clear 503, not half-stored.
            answer = web.post(
                "/open311/v2/requests.json",
                data={"service_code": "elevator", "description": "电梯停运", "address_id": "5"},
            )
            assert answer.status_code == 503 and "try again" in answer.get_json()[0]["description"]
            # A fresh ingest cannot check readings without the registry: it refuses the batch
            # whole (the MQTT bridge then holds it), so nothing half-applied reaches live state.
            with pytest.raises(StoreUnavailableError):
                Ingest(engine, live, clock).device_messages([smoke_alarm(second, START, 9)])
            assert live.latest([second]) == {}

            # A fire alarm read while the store is down is applied and waits for the book.
            result = ingest.device_messages([smoke_alarm(second, START + timedelta(seconds=30), 1)])
            assert result.accepted == 1 and rules.alerts_waiting >= 1
            # Kept in Redis too: a restart of this process during the outage would lose nothing.
            assert live.load_rule_memory(MEMORY_WAITING_ALERTS)

            pg.start()
            clock.advance(30)
            rules.flush_alerts()
            assert rules.alerts_waiting == 0
            assert live.load_rule_memory(MEMORY_WAITING_ALERTS) == {}
            with engine.connect() as conn:
                raised = set(
                    conn.execute(select(schema.Alert.object_id, schema.Alert.status)).all()
                )
            assert (second, "new") in raised  # the alarm read during the outage is on the book
            assert (first, "new") in raised  # the failed acknowledgement left nothing behind
            assert stored_counts(engine) == before  # no request, history row or acknowledgement
            traces = [r.getMessage() for r in caplog.records if r.exc_info]
            assert not traces, traces  # an expected fault is one line, never a stack trace

            for _ in range(40):  # the adapters back off; a few minutes of clock bring them back
                clock.advance(30)
                worker.tick()
                if read_view(live, OVERVIEW)["stale"] is False:
                    break
            assert read_view(live, OVERVIEW)["stale"] is False
        finally:
            live.clear()
            engine.dispose()


def test_an_acknowledgement_is_never_kept_without_its_case(
    fault, postgres_engine, redis_client, street_code, monkeypatch
):
    fault(
        "PostgreSQL unreachable",
        "a connection lost mid-action leaves the alert unacknowledged and its case unregistered",
    )
    seed_street(postgres_engine, tiny_tier(fire_devices=12), 42, (121.5, 31.3))
    with postgres_engine.connect() as conn:
        detector = conn.execute(
            select(schema.Device.id).where(schema.Device.kind == "smoke").limit(1)
        ).scalar_one()
    live = RedisLiveStore(redis_client, street_code)
    clock = ManualClock(START)
    alerts = AlertBook(postgres_engine, live)
    desk = CaseDesk(postgres_engine, live, clock, load_cases_config(), alerts)
    ingest = Ingest(
        postgres_engine,
        live,
        clock,
        StreamingRules(postgres_engine, alerts, load_rules_config()),
        desk,
    )
    try:
        ingest.device_messages([smoke_alarm(detector, START, 1)])
        desk.sync(START)
        with postgres_engine.connect() as conn:
            alert_id = conn.execute(select(schema.Alert.id)).scalar_one()

        def connection_lost(*args, **kwargs):
            raise OperationalError("UPDATE cases", {}, Exception("server closed the connection"))

        # The alert's acknowledgement is written, then the connection dies before the case moves.
        with monkeypatch.context() as patched:
            patched.setattr(desk, "_apply", connection_lost)
            with pytest.raises(StoreUnavailableError):
                desk.act("acknowledge", "leader:li", alert_id=alert_id, action_key="k1")
        with postgres_engine.connect() as conn:
            status = conn.execute(select(schema.Alert.status)).scalar_one()
            state = conn.execute(select(schema.Case.state)).scalar_one()
        assert (status, state) == ("new", CaseState.REPORTED.value)

        done = desk.act("acknowledge", "leader:li", alert_id=alert_id, action_key="k1")
        assert done.applied
        with postgres_engine.connect() as conn:
            assert conn.execute(select(schema.Alert.status)).scalar_one() == "acknowledged"
    finally:
        live.clear()
