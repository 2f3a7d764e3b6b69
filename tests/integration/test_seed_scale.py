"""Seed S street at full scale into SQLite and PostgreSQL: exact counts, same content, sequences."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from cockpit.simulator.generator import StoreNotEmptyError, seed_street
from cockpit.simulator.tiers import TIERS
from cockpit.store.counts import STAT_NAMES, registry_counts
from cockpit.store.schema import Base, Complaint, Device, Resident
from tests.streets import tiny_tier

pytestmark = pytest.mark.integration

CENTER = (121.537, 31.279)
S_STREET_COUNTS = {
    "communities": 11,
    "compounds": 66,
    "grids": 88,
    "households": 38_500,
    "residents": 100_000,
    "office_buildings": 93,
    "enterprises": 9_971,
    "fire_devices": 6_037,
    "grid_workers": 366,
}
TINY = tiny_tier()


def normalise(value: Any) -> Any:
    """Return a value in a form both databases agree on: floats rounded, JSON sorted, dates as text."""
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {str(k): normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalise(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def store_digest(engine) -> tuple[str, dict[str, int]]:
    """Return a SHA-256 over every table's rows ordered by id (minus streets.created_at), and row counts."""
    digest = hashlib.sha256()
    counts: dict[str, int] = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            columns = [
                c for c in table.columns if not (table.name == "streets" and c.name == "created_at")
            ]
            rows = conn.execute(select(*columns).order_by(table.c.id)).all()
            counts[table.name] = len(rows)
            digest.update(table.name.encode())
            for row in rows:
                record = {c.name: normalise(v) for c, v in zip(columns, row, strict=True)}
                digest.update(json.dumps(record, sort_keys=True, ensure_ascii=False).encode())
                digest.update(b"\n")
    return digest.hexdigest(), counts


def test_s_street_has_exact_counts(any_engine) -> None:
    """Seeding S street gives exactly the field study's registry counts."""
    report = seed_street(any_engine, TIERS["s-street"], 42, CENTER)
    counts = registry_counts(any_engine)
    assert list(counts) == list(STAT_NAMES)
    assert {name: counts[name] for name in S_STREET_COUNTS} == S_STREET_COUNTS
    assert counts["buildings"] == report.rows["buildings"]
    assert counts["devices"] == report.rows["devices"] > counts["fire_devices"]


def test_same_seed_gives_identical_content_in_sqlite_and_postgresql(
    sqlite_engine, postgres_engine
) -> None:
    """S street seeded with the same seed into SQLite and into PostgreSQL holds identical rows."""
    seed_street(sqlite_engine, TIERS["s-street"], 42, CENTER)
    seed_street(postgres_engine, TIERS["s-street"], 42, CENTER)
    sqlite_digest, sqlite_counts = store_digest(sqlite_engine)
    postgres_digest, postgres_counts = store_digest(postgres_engine)
    assert sqlite_counts == postgres_counts
    assert sqlite_counts["residents"] == 100_000
    assert sqlite_digest == postgres_digest


def test_digest_tells_seeds_apart(sqlite_engine, tmp_path) -> None:
    """Two small streets from different seeds have different digests, so equal digests mean something."""
    from cockpit.store.database import make_engine, migrate

    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        migrate(other)
        seed_street(sqlite_engine, TINY, 1, CENTER)
        seed_street(other, TINY, 2, CENTER)
        assert store_digest(sqlite_engine)[0] != store_digest(other)[0]
    finally:
        other.dispose()


def test_seeding_a_non_empty_store_is_refused(any_engine) -> None:
    """A second seed into the same store raises StoreNotEmptyError and leaves the first street."""
    seed_street(any_engine, TINY, 1, CENTER)
    before = store_digest(any_engine)
    with pytest.raises(StoreNotEmptyError):
        seed_street(any_engine, TINY, 2, CENTER)
    assert store_digest(any_engine) == before


def test_inserts_after_seeding_get_fresh_ids(any_engine) -> None:
    """After a seed with explicit ids, rows inserted without an id get ids above the seeded ones."""
    seed_street(any_engine, TINY, 1, CENTER)
    with Session(any_engine) as session:
        max_resident = session.scalar(select(func.max(Resident.id)))
        max_device = session.scalar(select(func.max(Device.id)))
        household_id = session.scalar(select(func.min(Resident.household_id)))
        resident_id = session.execute(
            insert(Resident)
            .values(
                household_id=household_id,
                name="新居民",
                id_number="330104200001010011",
                gender="M",
                birth_date=date(2000, 1, 1),
                registration="registered",
                lives_alone=False,
                source="manual",
            )
            .returning(Resident.id)
        ).scalar_one()
        device_id = session.execute(
            insert(Device)
            .values(
                code="SM-NEW-1",
                kind="smoke",
                lon=CENTER[0],
                lat=CENTER[1],
                report_interval_s=60,
                installed_on=date(2026, 1, 1),
            )
            .returning(Device.id)
        ).scalar_one()
        session.add(
            Complaint(
                source="12345",
                external_id="X-1",
                received_at=datetime.fromisoformat("2026-01-01T08:00:00+08:00"),
                category="noise",
                text="噪音",
                address_text="长白路1号",
            )
        )
        session.commit()
        complaint_id = session.scalar(select(Complaint.id))
    assert resident_id == max_resident + 1
    assert device_id == max_device + 1
    assert complaint_id == 1
