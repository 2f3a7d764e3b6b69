"""Import the real OSM export and resident registers into seeded stores on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from cockpit.importers.buildings import import_buildings
from cockpit.importers.errors import ImportFileError
from cockpit.importers.residents import import_residents
from cockpit.simulator.generator import seed_street
from cockpit.simulator.people import id_check_digit
from cockpit.store import schema as s
from cockpit.store.counts import registry_counts
from tests.streets import tiny_tier

pytestmark = pytest.mark.integration

FIXTURE = Path(__file__).parents[1] / "fixtures" / "osm_buildings.geojson"
CENTRE = (129.1025, 35.1376)
TINY = tiny_tier(taxi_kiosks=2)
HEADER = "标准地址,房号,姓名,身份证号,手机号,性别,出生日期,户籍类型,独居"


@pytest.fixture
def street(any_engine):
    """Return a store, SQLite or PostgreSQL, holding a small street seeded on the fixture's centre."""
    seed_street(any_engine, TINY, 7, CENTRE)
    return any_engine


def make_id(birth: date, sequence: int) -> str:
    """Return a valid ID number born on that day; odd sequences are men's."""
    first17 = f"320102{birth:%Y%m%d}{sequence:03d}"
    return first17 + id_check_digit(first17)


def buildings_table(engine) -> list[tuple]:
    """Return every building row's code and footprint, in id order."""
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                select(s.Building.code, s.Building.footprint).order_by(s.Building.id)
            )
        ]


def population_counts(engine) -> dict[str, int]:
    """Return the registry counts an import must never change."""
    counts = registry_counts(engine)
    return {
        k: counts[k] for k in ("households", "residents", "enterprises", "devices", "fire_devices")
    }


def add_case_and_complaint(engine) -> None:
    """Add a case and a complaint that point at simulated buildings and addresses."""
    now = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    with engine.begin() as conn:
        building_id, address_id = conn.execute(
            select(s.Address.building_id, s.Address.id).limit(1)
        ).one()
        enterprise_id = conn.execute(
            select(s.Enterprise.id).order_by(s.Enterprise.id).limit(1)
        ).scalar_one()
        conn.execute(
            insert(s.Case),
            {
                "code": "C0001",
                "source": "grid_app",
                "category": "fire_lane",
                "title": "消防通道堵塞",
                "description": "楼下堆物",
                "state": "reported",
                "building_id": building_id,
                "address_id": address_id,
                "reported_at": now,
            },
        )
        conn.execute(
            insert(s.Complaint),
            {
                "source": "12345",
                "external_id": "X1",
                "received_at": now,
                "category": "prepaid",
                "text": "退费难",
                "address_text": "某路1号",
                "address_id": address_id,
                "enterprise_id": enterprise_id,
            },
        )


def test_osm_buildings_replace_the_simulated_ones_and_everyone_moves_in(street):
    add_case_and_complaint(street)
    before = population_counts(street)
    report = import_buildings(street, FIXTURE)
    assert report.imported == 27
    assert population_counts(street) == before
    with street.connect() as conn:
        buildings = conn.execute(select(s.Building.id, s.Building.source, s.Building.use)).all()
        imported = {b.id for b in buildings if b.source == "imported"}
        assert len(buildings) == len(imported) == 27
        external = (
            conn.execute(select(s.Building.external_id).order_by(s.Building.id)).scalars().all()
        )
        assert external[0] == "way/333053084" and len(set(external)) == 27
        use_of = {b.id: b.use for b in buildings}
        address_building = dict(conn.execute(select(s.Address.id, s.Address.building_id)).all())
        assert set(address_building.values()) == imported and len(address_building) == 27

        households = conn.execute(select(s.Household.building_id, s.Household.address_id)).all()
        assert all(address_building[a] == b and use_of[b] == "residential" for b, a in households)
        enterprises = conn.execute(select(s.Enterprise.building_id, s.Enterprise.address_id)).all()
        assert all(
            address_building[a] == b and use_of[b] in ("office", "commercial")
            for b, a in enterprises
        )
        device_buildings = (
            conn.execute(select(s.Device.building_id).where(s.Device.building_id.is_not(None)))
            .scalars()
            .all()
        )
        assert device_buildings and set(device_buildings) <= imported

        case = conn.execute(select(s.Case.building_id, s.Case.address_id)).one()
        assert case.building_id in imported and address_building[case.address_id] in imported
        complaint_address = conn.execute(select(s.Complaint.address_id)).scalar_one()
        assert (
            complaint_address
            == conn.execute(
                select(s.Enterprise.address_id).order_by(s.Enterprise.id).limit(1)
            ).scalar_one()
        )

        rooms = conn.execute(select(s.Household.address_id, s.Household.room)).all()
        assert len(set(rooms)) == len(rooms)
        grid_ids = set(conn.execute(select(s.Grid.id)).scalars())
        assert set(conn.execute(select(s.Building.grid_id)).scalars()) <= grid_ids


def test_new_rows_get_fresh_ids_after_an_import(street):
    import_buildings(street, FIXTURE)
    with street.begin() as conn:
        top = conn.execute(select(func.max(s.Building.id))).scalar_one()
        grid_id = conn.execute(select(s.Grid.id).limit(1)).scalar_one()
        new_id = conn.execute(
            insert(s.Building).returning(s.Building.id),
            {
                "code": "Bextra",
                "grid_id": grid_id,
                "use": "public",
                "floors": 1,
                "height_m": 3.0,
                "footprint": {"type": "Polygon", "coordinates": []},
                "lon": 129.1,
                "lat": 35.1,
            },
        ).scalar_one()
    assert new_id > top


def test_a_broken_copy_names_the_feature_and_changes_nothing(street, tmp_path):
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    ring = data["features"][5]["geometry"]["coordinates"][0]
    ring[-1] = [ring[-1][0] + 0.0001, ring[-1][1]]
    broken = tmp_path / "broken.geojson"
    broken.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    before_table, before_counts = buildings_table(street), registry_counts(street)
    with pytest.raises(
        ImportFileError, match=r"^feature 5 \(way/360099729\): polygon ring 0 is not closed"
    ):
        import_buildings(street, broken)
    assert buildings_table(street) == before_table
    assert registry_counts(street) == before_counts


def test_a_register_imports_onto_imported_addresses(street, tmp_path):
    import_buildings(street, FIXTURE)
    with street.connect() as conn:
        codes = conn.execute(
            select(s.Address.code, s.Address.full_text).order_by(s.Address.id)
        ).all()
    (code_a, _), (code_b, _) = codes[12], codes[13]
    full_text = codes[25].full_text  # 21센츄리시티 has a real OSM street address
    assert full_text.endswith("수영로312")
    lines = [
        HEADER,
        f"{code_a},1801,陈阿婆,{make_id(date(1941, 2, 3), 2)},,女,1941-02-03,户籍,是",
        f"{code_b},2203,周师傅,{make_id(date(1979, 8, 8), 5)},13912345678,男,1979-08-08,流动,否",
        f"{code_b},2203,周小明,{make_id(date(2012, 1, 20), 7)},,男,2012-01-20,流动,否",
        f"{full_text},1501,吴女士,{make_id(date(1990, 10, 10), 8)},15000000000,女,1990-10-10,户籍,",
    ]
    path = tmp_path / "三实登记.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    before = registry_counts(street)
    report = import_residents(street, path)
    assert report.imported == 4
    assert report.details["households_created"] == 3
    after = registry_counts(street)
    assert after["residents"] == before["residents"] + 4
    assert after["households"] == before["households"] + 3
    with street.connect() as conn:
        imported = conn.execute(
            select(s.Resident.name, s.Resident.lives_alone, s.Household.tenure, s.Building.source)
            .join(s.Household, s.Resident.household_id == s.Household.id)
            .join(s.Building, s.Household.building_id == s.Building.id)
            .where(s.Resident.source == "imported")
            .order_by(s.Resident.id)
        ).all()
    assert [tuple(r) for r in imported] == [
        ("陈阿婆", True, "owner", "imported"),
        ("周师傅", False, "tenant", "imported"),
        ("周小明", False, "tenant", "imported"),
        ("吴女士", False, "owner", "imported"),
    ]


def test_a_broken_register_names_the_line_and_imports_nothing(street, tmp_path):
    with street.connect() as conn:
        code = conn.execute(select(s.Address.code).order_by(s.Address.id).limit(1)).scalar_one()
    good = make_id(date(1985, 4, 4), 3)
    bad = good[:-1] + ("1" if good[-1] != "1" else "2")
    lines = [
        HEADER,
        f"{code},101,甲,{make_id(date(1960, 1, 1), 1)},,男,1960-01-01,户籍,否",
        f"{code},102,乙,{make_id(date(1961, 1, 1), 2)},,女,1961-01-01,户籍,否",
        f"{code},103,丙,{bad},,男,1985-04-04,户籍,否",
    ]
    path = tmp_path / "broken.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = registry_counts(street)
    with pytest.raises(ImportFileError, match=r"^line 4, id_number: check digit is wrong$"):
        import_residents(street, path)
    assert registry_counts(street) == before
    with street.connect() as conn:
        assert (
            conn.execute(select(func.count()).where(s.Resident.source == "imported")).scalar_one()
            == 0
        )
