"""Check the audit log: filters, CSV cells a spreadsheet cannot run, and the daily retention prune."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cockpit.access.audit import (
    FORMULA_LEADS,
    MIN_RETENTION_DAYS,
    AuditLog,
    AuditQuery,
    DailyPrune,
    _cell,
)
from cockpit.alerts import AlertBook
from cockpit.clock import DISPLAY_ZONE, ManualClock
from cockpit.live import InProcessLiveStore
from cockpit.rules.config import load_rules_config
from cockpit.settings import Settings
from cockpit.worker import ViewModelWorker, build_worker
from data_adapters.live_state import LiveStateAdapter
from data_adapters.registry import DeviceRegistryAdapter, RegistryAdapter

START = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
DAY = 86400


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def audit(sqlite_engine, clock) -> AuditLog:
    return AuditLog(sqlite_engine, clock)


def test_actor_like_finds_an_account_by_any_part_of_its_name_and_treats_wildcards_as_text(audit):
    audit.record("leader:wang", "reveal", record=("case", 1), reason="回访核实")
    audit.record("dispatcher:wangli", "case_dispatch")
    audit.record("admin:li_%", "audit_view")
    audit.record("admin:lixy", "audit_view")
    found = {row["actor"] for row in audit.search(AuditQuery(actor_like="WANG"))}
    assert found == {"leader:wang", "dispatcher:wangli"}
    assert [row["actor"] for row in audit.search(AuditQuery(actor_like="li_%"))] == ["admin:li_%"]
    assert audit.search(AuditQuery(actor_like="wang", action="reveal"))[0]["reason"] == "回访核实"


def test_export_names_its_columns_and_can_show_beijing_time(audit):
    audit.record("leader:wang", "reveal", record=("case", 12), reason="回访", detail={"n": 2})
    rows = list(csv.reader(io.StringIO(audit.export_csv(zone=DISPLAY_ZONE))))
    assert rows[0][:5] == ["id", "at", "actor", "role", "action"]
    entry = dict(zip(rows[0], rows[1], strict=True))
    assert entry["at"] == "2026-12-01T12:00:00+08:00"
    assert entry["record_type"] == "case" and entry["record_id"] == "12"
    assert entry["detail"] == '{"n": 2}'  # JSON, not a Python repr
    utc = list(csv.reader(io.StringIO(audit.export_csv())))[1]
    assert utc[1] == "2026-12-01T04:00:00+00:00"


def test_a_typed_reason_is_kept_as_typed_and_exported_masked(audit):
    audit.record("dispatcher:li", "case_park", reason="居民电话13912345678，下周回访")
    assert audit.search()[0]["reason"] == "居民电话13912345678，下周回访"
    rows = list(csv.reader(io.StringIO(audit.export_csv())))
    assert dict(zip(rows[0], rows[1], strict=True))["reason"] == "居民电话139****5678，下周回访"


@given(st.sampled_from(FORMULA_LEADS), st.text(max_size=20))
def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_quoted(lead, rest):
    assert _cell(lead + rest) == "'" + lead + rest


@given(st.text(max_size=30).filter(lambda t: not t.startswith(FORMULA_LEADS)))
def test_any_other_cell_is_written_as_it_is(text):
    assert _cell(text) == text


def test_the_prune_runs_at_once_then_once_a_day_and_keeps_the_retention(audit, clock):
    audit.record("viewer:old", "login")  # at START
    clock.advance(100 * DAY)
    audit.record("viewer:newer", "login")
    pruner = DailyPrune(audit, retention_days=183)
    assert pruner.run_if_due() == 0  # nothing is 183 days old yet
    clock.advance(84 * DAY)  # START + 184 days: the first entry is past the retention
    assert pruner.run_if_due() == 1
    kept = {row["actor"] for row in audit.search()}
    assert kept == {"viewer:newer", DailyPrune.ACTOR}  # the prune itself is on the record
    (note,) = audit.search(AuditQuery(action="audit_prune"))
    assert note["detail"] == {"deleted": 1, "retention_days": 183}
    clock.advance(3600)
    assert pruner.run_if_due() is None  # once a day, not once a tick


def test_the_prune_waits_a_full_day_between_runs(audit, clock):
    pruner = DailyPrune(audit, retention_days=MIN_RETENTION_DAYS)
    assert pruner.run_if_due() == 0
    clock.advance(DAY - 1)
    assert pruner.run_if_due() is None
    clock.advance(1)
    assert pruner.run_if_due() == 0


def test_a_retention_under_six_months_is_refused(audit):
    with pytest.raises(ValueError, match="at least 183"):
        DailyPrune(audit, retention_days=MIN_RETENTION_DAYS - 1)


def test_the_view_model_worker_prunes_the_audit_log_on_its_tick(sqlite_engine, clock):
    audit = AuditLog(sqlite_engine, clock)
    audit.record("viewer:old", "login")
    clock.advance(201 * DAY)
    live = InProcessLiveStore()
    worker = ViewModelWorker(
        RegistryAdapter(sqlite_engine, clock, timedelta(seconds=10)),
        DeviceRegistryAdapter(sqlite_engine, clock, timedelta(seconds=60)),
        LiveStateAdapter(live, clock, timedelta(seconds=1)),
        live,
        clock,
        timedelta(seconds=30),
        audit_prune=DailyPrune(audit, retention_days=200),
    )
    worker.tick()
    assert [row["action"] for row in audit.search()] == ["audit_prune"]
    worker.tick()  # the same day: no second prune
    assert len(audit.search()) == 1


def test_the_full_worker_prunes_with_the_retention_setting(sqlite_engine, clock, tmp_path):
    settings = Settings(data_dir=tmp_path, audit_retention_days=365)
    live = InProcessLiveStore()
    audit = AuditLog(sqlite_engine, clock)
    worker = build_worker(
        sqlite_engine,
        live,
        clock,
        AlertBook(sqlite_engine, live),
        load_rules_config(),
        settings,
        audit=audit,
    )
    assert worker.audit_prune is not None and worker.audit_prune.retention_days == 365
    assert worker.audit_prune.audit is audit
    bare = build_worker(
        sqlite_engine, live, clock, AlertBook(sqlite_engine, live), load_rules_config(), settings
    )
    assert bare.audit_prune is None  # a demo's worker has no audit log to prune
