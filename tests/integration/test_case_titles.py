"""Check that case titles name the category and the building, never what a resident typed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import insert, select

from cockpit.alerts import AlertBook
from cockpit.cases.deadlines import load_cases_config
from cockpit.cases.desk import CaseDesk
from cockpit.cases.titles import case_title
from cockpit.clock import ManualClock
from cockpit.domain.kinds import CaseSource, ComplaintSource
from cockpit.ingest import Ingest
from cockpit.live import InProcessLiveStore
from cockpit.rules.config import load_rules_config
from cockpit.simulator import history
from cockpit.simulator.generator import seed_street
from cockpit.store import schema
from cockpit.store.database import alembic_config, make_engine
from cockpit.streaming import StreamingRules
from tests.streets import tiny_tier

pytestmark = pytest.mark.integration

MONDAY_10 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
TYPED = "我是王小明，电话13912345678，身份证330104199001010018，楼道灯坏了"
PERSONAL = ("王小明", "13912345678", "330104199001010018", "楼道灯")


def street(engine):
    """Seed a tiny street; return (ingest, desk, one standard address row)."""
    seed_street(engine, tiny_tier(fire_devices=12), 5, (121.5, 31.3))
    live, clock = InProcessLiveStore(), ManualClock(MONDAY_10)
    alerts = AlertBook(engine, live)
    desk = CaseDesk(engine, live, clock, load_cases_config(), alerts)
    ingest = Ingest(engine, live, clock, StreamingRules(engine, alerts, load_rules_config()), desk)
    with engine.connect() as conn:
        address = conn.execute(select(schema.Address).order_by(schema.Address.id).limit(1)).one()
    return ingest, desk, address


def cases(engine) -> list:
    """Return every case row, oldest first."""
    with engine.connect() as conn:
        return conn.execute(select(schema.Case).order_by(schema.Case.id)).all()


def test_resident_and_complaint_cases_are_titled_by_category_and_building(any_engine) -> None:
    """The words typed stay in the description; the title and the link note carry none."""
    ingest, desk, address = street(any_engine)
    desk.sync()
    at = MONDAY_10
    ingest.resident_request("repair", TYPED, at, "app", address.lon, address.lat, None, address.id)
    # The same problem again: it links to the case, and the link note names the case's title.
    ingest.resident_request("repair", TYPED, at, "app", address.lon, address.lat, None, address.id)
    ingest.complaint(ComplaintSource.HOTLINE_12345, "H-1", at, "noise", TYPED, "某处")
    desk.sync()
    rows = cases(any_engine)
    place = f"{address.road}{address.number}"
    assert [(r.source, r.title, r.title_en) for r in rows] == [
        (CaseSource.RESIDENT.value, f"设施报修 · {place}", case_title("repair", place)[1]),
        (CaseSource.COMPLAINT.value, "噪声扰民", "Noise"),
    ]
    assert rows[0].title_en.startswith("Facility repair · No. ")
    assert rows[0].description == TYPED and TYPED in rows[1].description
    with any_engine.connect() as conn:
        notes = conn.execute(select(schema.CaseHistory.note)).scalars().all()
    assert any(note and note.endswith(f"设施报修 · {place}") for note in notes)
    for text in [r.title for r in rows] + [r.title_en for r in rows] + [n or "" for n in notes]:
        assert not any(word in text for word in PERSONAL)


def test_seeded_history_titles_its_requests_and_complaints_the_same_way(sqlite_engine) -> None:
    """Past requests and complaints go through the same title builder as live ones."""
    seed_street(sqlite_engine, tiny_tier(), 5, (121.5, 31.3))
    assert history.seed_history(sqlite_engine, MONDAY_10, days=10, seed=3) > 0
    with sqlite_engine.connect() as conn:
        rows = conn.execute(
            select(
                schema.Case.source,
                schema.Case.category,
                schema.Case.title,
                schema.Address.road,
                schema.Address.number,
            )
            .outerjoin(schema.Address, schema.Address.id == schema.Case.address_id)
            .where(schema.Case.source.in_([CaseSource.RESIDENT.value, CaseSource.COMPLAINT.value]))
        ).all()
    assert {r.source for r in rows} == {CaseSource.RESIDENT.value, CaseSource.COMPLAINT.value}
    for row in rows:
        place = f"{row.road}{row.number}" if row.road else None
        assert row.title == case_title(row.category, place)[0]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migration_0007_retitles_old_cases_and_their_link_notes(backend, tmp_path, request) -> None:
    """Old titles that copied a resident's words become category and place; others stay."""
    url = (
        f"sqlite:///{tmp_path / 'old.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    engine = make_engine(url)
    try:
        config = alembic_config(engine)
        command.upgrade(config, "0006")
        seed_street(engine, tiny_tier(fire_devices=12), 5, (121.5, 31.3))
        with engine.connect() as conn:
            address = conn.execute(
                select(schema.Address).order_by(schema.Address.id).limit(1)
            ).one()
        old = {
            "source_ref": None,
            "description": TYPED,
            "state": "reported",
            "reported_at": MONDAY_10,
            "priority": "normal",
            "centre": "street",
            "dispatch_count": 0,
            "rework_count": 0,
            "self_handled": False,
            "address_id": None,
        }
        with engine.begin() as conn:
            conn.execute(
                insert(schema.Case),
                [
                    old
                    | {
                        "id": 1,
                        "code": "RQ00000001",
                        "source": "resident",
                        "category": "repair",
                        "title": TYPED[:200],
                        "title_en": TYPED,
                        "address_id": address.id,
                    },
                    old
                    | {
                        "id": 2,
                        "code": "CP00000001",
                        "source": "complaint",
                        "category": "noise",
                        "title": TYPED[:200],
                        "title_en": None,
                    },
                    old
                    | {
                        "id": 3,
                        "code": "GR00000001",
                        "source": "grid_worker",
                        "category": "exposed_rubbish",
                        "title": "暴露垃圾",
                        "title_en": "Exposed rubbish",
                    },
                ],
            )
            conn.execute(
                insert(schema.CaseHistory),
                [
                    {
                        "id": 1,
                        "case_id": 1,
                        "action": "link",
                        "from_state": "reported",
                        "to_state": "reported",
                        "actor": "resident",
                        "at": MONDAY_10,
                        "note": f"resident:7 {TYPED}",
                        "action_key": "link:resident:7",
                    },
                    {
                        "id": 2,
                        "case_id": 3,
                        "action": "handled",
                        "from_state": "handling",
                        "to_state": "handled",
                        "actor": "worker:1",
                        "at": MONDAY_10,
                        "note": "已清理，联系人电话13912345678",
                        "action_key": "k2",
                    },
                ],
            )
        command.upgrade(config, "head")
        place = f"{address.road}{address.number}"
        with engine.connect() as conn:
            titles = conn.execute(
                select(
                    schema.Case.id, schema.Case.title, schema.Case.title_en, schema.Case.description
                ).order_by(schema.Case.id)
            ).all()
            notes = dict(conn.execute(select(schema.CaseHistory.id, schema.CaseHistory.note)).all())
        assert [tuple(t) for t in titles] == [
            (1, *case_title("repair", place), TYPED),
            (2, "噪声扰民", "Noise", TYPED),
            (3, "暴露垃圾", "Exposed rubbish", TYPED),
        ]
        # A link note keeps its reference; a worker's own note is theirs, kept as written.
        assert notes == {1: f"resident:7 设施报修 · {place}", 2: "已清理，联系人电话13912345678"}
    finally:
        engine.dispose()
