"""Check CaseTexts: a case's own words, then its linked reports' words, as they were typed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, select

from cockpit.alerts import AlertBook
from cockpit.cases.deadlines import load_cases_config
from cockpit.cases.desk import CaseDesk
from cockpit.cases.texts import CaseTexts
from cockpit.clock import ManualClock
from cockpit.domain.kinds import ComplaintSource
from cockpit.ingest import Ingest
from cockpit.live import InProcessLiveStore
from cockpit.rules.config import load_rules_config
from cockpit.simulator.generator import seed_street
from cockpit.store import schema
from cockpit.streaming import StreamingRules
from tests.streets import tiny_tier

MONDAY_10 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
TYPED = "我是王小明，电话13912345678，身份证330104199001010018，楼道灯坏了"
AGAIN = "还是没修，联系我 zhang.san@example.com 或 13812345678"
NOISE = "楼上装修太吵，车牌沪A12345的车天天堵门"


@dataclass
class ReportedStreet:
    """Hold a tiny street where residents and a hotline reported, and the cases they opened."""

    engine: Engine
    texts: CaseTexts
    repair_case: int
    noise_case: int


def reported_street(engine: Engine) -> ReportedStreet:
    """Seed a tiny street; report a repair twice (one case) and a noise complaint twice."""
    seed_street(engine, tiny_tier(fire_devices=12), 5, (121.5, 31.3))
    live, clock = InProcessLiveStore(), ManualClock(MONDAY_10)
    alerts = AlertBook(engine, live)
    desk = CaseDesk(engine, live, clock, load_cases_config(), alerts)
    ingest = Ingest(engine, live, clock, StreamingRules(engine, alerts, load_rules_config()), desk)
    with engine.connect() as conn:
        address = conn.execute(select(schema.Address).order_by(schema.Address.id).limit(1)).one()
    desk.sync()
    at = MONDAY_10
    ingest.resident_request("repair", TYPED, at, "app", address.lon, address.lat, None, address.id)
    desk.sync()
    clock.advance(600)
    later = clock.now()
    ingest.resident_request(
        "repair", AGAIN, later, "app", address.lon, address.lat, None, address.id
    )
    noise = "某小区"
    ingest.complaint(ComplaintSource.HOTLINE_12345, "H-1", at, "noise", NOISE, noise, address.id)
    ingest.complaint(
        ComplaintSource.HOTLINE_12345, "H-2", later, "noise", "又吵了", noise, address.id
    )
    desk.sync()
    with engine.connect() as conn:
        cases = dict(conn.execute(select(schema.Case.category, schema.Case.id)).all())
    return ReportedStreet(engine, CaseTexts(engine), cases["repair"], cases["noise"])


def test_a_case_reads_its_own_words_then_the_repeat_reports_as_typed(sqlite_engine):
    street = reported_street(sqlite_engine)
    first, repeat = street.texts.reports(street.repair_case)
    assert (first.source, first.text, first.linked) == ("resident", TYPED, False)
    assert (repeat.source, repeat.text, repeat.linked) == ("resident", AGAIN, True)
    assert first.at == MONDAY_10 and repeat.at > first.at


def test_a_complaint_reads_with_its_line_like_the_case_desk_wrote_the_first(sqlite_engine):
    street = reported_street(sqlite_engine)
    texts = street.texts.reports(street.noise_case)
    assert [t.text for t in texts] == ["[12345] " + NOISE, "[12345] 又吵了"]
    assert [t.source for t in texts] == ["complaint", "complaint"]


def test_the_newest_reports_come_first_and_the_limit_holds(sqlite_engine):
    street = reported_street(sqlite_engine)
    assert [t.text for t in street.texts.reports(street.repair_case, limit=1)] == [TYPED]
    assert street.texts.reports(street.repair_case, limit=0) == []


def test_an_unknown_case_has_no_texts(sqlite_engine):
    street = reported_street(sqlite_engine)
    assert street.texts.reports(10**9) == []
