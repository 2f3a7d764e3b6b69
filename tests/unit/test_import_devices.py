"""Test the device register import: by building or position, named bad lines, skips, replace."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from cockpit.cli import main
from cockpit.domain.kinds import DeviceKind
from cockpit.importers.devices import DEFAULT_INTERVAL_S, import_devices, parse_devices
from cockpit.importers.errors import ImportFileError, ImportStoreError
from cockpit.simulator.generator import seed_street
from cockpit.store import schema as s
from tests.streets import tiny_tier

CENTRE = (129.1025, 35.1376)
TINY = tiny_tier(taxi_kiosks=2)
HEADER = "id,kind,building,lon,lat,installed_on"
NEW_ID = 900_001


@pytest.fixture
def street(sqlite_engine):
    """Return a SQLite store holding a small seeded street (125 simulated devices)."""
    seed_street(sqlite_engine, TINY, 7, CENTRE)
    return sqlite_engine


def a_building(engine):
    """Return the first seeded building's id, code and centre."""
    with engine.connect() as conn:
        return conn.execute(
            select(s.Building.id, s.Building.code, s.Building.lon, s.Building.lat).order_by(
                s.Building.id
            )
        ).first()


def devices(engine) -> list[tuple]:
    """Return every device row, in id order: what a refused import must leave unchanged."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(s.Device.__table__).order_by(s.Device.id))]


def register(*lines: str) -> str:
    """Return a register's text: the header and the lines."""
    return "\n".join((HEADER, *lines)) + "\n"


def good_lines(engine) -> list[str]:
    """Return two valid lines: a smoke detector in a building, a camera at a position."""
    b = a_building(engine)
    return [
        f"{NEW_ID},smoke,{b.code},,,2024-03-01",
        f"{NEW_ID + 1},camera,,{b.lon + 0.0001:.7f},{b.lat:.7f},2023-11-30",
    ]


# -- a good register ----------------------------------------------------------------------------


def test_a_register_places_devices_by_building_and_by_coordinates(street):
    b = a_building(street)
    before = len(devices(street))
    report = import_devices(street, register(*good_lines(street)))
    assert (report.kind, report.imported, report.skipped) == ("devices", 2, [])
    assert report.details["added"] == 2 and report.details["in_buildings"] == 1
    with street.connect() as conn:
        smoke, camera = conn.execute(
            select(s.Device.__table__).where(s.Device.id >= NEW_ID).order_by(s.Device.id)
        ).all()
        total = conn.execute(select(func.count()).select_from(s.Device)).scalar_one()
    assert total == before + 2
    assert (smoke.kind, smoke.building_id, smoke.lon, smoke.lat) == ("smoke", b.id, b.lon, b.lat)
    assert smoke.installed_on == date(2024, 3, 1)
    assert smoke.report_interval_s == DEFAULT_INTERVAL_S.get("smoke", 60)
    assert (camera.kind, camera.building_id) == ("camera", None)
    assert (camera.lon, camera.lat) == (round(b.lon + 0.0001, 7), round(b.lat, 7))
    assert smoke.code != camera.code


def test_chinese_headers_and_kind_names_are_read(street):
    b = a_building(street)
    text = f"设备编号,设备类型,建筑,安装日期\n{NEW_ID},烟感,{b.code},2024-03-01\n"
    report = import_devices(street, text.encode("utf-8-sig"))
    assert report.imported == 1
    with street.connect() as conn:
        kind = conn.execute(select(s.Device.kind).where(s.Device.id == NEW_ID)).scalar_one()
    assert kind == DeviceKind.SMOKE.value


def test_a_listed_device_is_updated_by_id_and_the_rest_kept(street):
    with street.connect() as conn:
        known = conn.execute(select(s.Device.id, s.Device.code).order_by(s.Device.id)).first()
    b = a_building(street)
    report = import_devices(street, register(f"{known.id},gas,{b.code},,,2020-01-02"))
    assert (report.details["added"], report.details["updated"], report.details["removed"]) == (
        0,
        1,
        0,
    )
    with street.connect() as conn:
        row = conn.execute(select(s.Device.__table__).where(s.Device.id == known.id)).one()
    assert (row.kind, row.building_id, row.code) == ("gas", b.id, known.code)
    assert len(devices(street)) == 125


def test_replace_removes_every_device_the_register_does_not_list(street):
    with street.connect() as conn:
        kept = conn.execute(select(s.Device.id).order_by(s.Device.id)).scalars().first()
    b = a_building(street)
    text = register(*good_lines(street), f"{kept},smoke,{b.code},,,2022-05-05")
    report = import_devices(street, text, replace=True)
    assert report.details["removed"] == 124
    assert (report.details["added"], report.details["updated"]) == (2, 1)
    assert [row[0] for row in devices(street)] == [kept, NEW_ID, NEW_ID + 1]


def test_replace_keeps_a_device_whose_line_was_skipped(street):
    with street.connect() as conn:
        typo, moved = conn.execute(select(s.Device.id).order_by(s.Device.id).limit(2)).scalars()
    b = a_building(street)
    text = register(
        *good_lines(street),
        f"{typo},smoke,{b.code},,,2024-13-01",  # a bad month: skipped, not removed
        f"{moved},smoke,NO-SUCH,,,2024-01-01",  # an unknown building: skipped, not removed
    )
    report = import_devices(street, text, skip_invalid=True, replace=True)
    assert [line.split(":")[0] for line in report.skipped] == [
        "line 4, installed_on",
        "line 5, building",
    ]
    assert report.details["removed"] == 123
    assert [row[0] for row in devices(street)] == [typo, moved, NEW_ID, NEW_ID + 1]


def test_a_store_without_a_street_is_refused(sqlite_engine):
    with pytest.raises(ImportStoreError, match="no street"):
        import_devices(sqlite_engine, register("1,smoke,,129.1,35.1,2024-01-01"))


# -- a bad line refuses the whole register, naming its line --------------------------------------


def bad_lines(engine) -> dict[str, tuple[str, str]]:
    """Return, by name, a bad line and the message naming it (when it is line 3)."""
    b = a_building(engine)
    return {
        "unknown kind": (f"{NEW_ID + 5},toaster,{b.code},,,2024-01-01", r"line 3, kind: unknown"),
        "bad date": (f"{NEW_ID + 5},smoke,{b.code},,,2024-02-30", r"line 3, installed_on: must"),
        "unknown building": (
            f"{NEW_ID + 5},smoke,NO-SUCH,,,2024-01-01",
            r"line 3, building: no building has code or external id 'NO-SUCH'",
        ),
        "outside the street": (
            f"{NEW_ID + 5},camera,,{b.lon + 0.05:.7f},{b.lat:.7f},2024-01-01",
            r"line 3, lon: lies more than 50 m outside the street's boundary",
        ),
        "duplicate id": (
            f"{NEW_ID},gas,{b.code},,,2024-01-01",
            r"line 3, id: same device id as line 2",
        ),
    }


@pytest.mark.parametrize(
    "name", ["unknown kind", "bad date", "unknown building", "outside the street", "duplicate id"]
)
def test_a_bad_line_is_named_and_nothing_is_imported(street, name):
    first, second = good_lines(street)
    bad, message = bad_lines(street)[name]
    before = devices(street)
    with pytest.raises(ImportFileError, match=rf"^{message}"):
        import_devices(street, register(first, bad, second))
    assert devices(street) == before


def test_skip_invalid_imports_the_rest_and_reports_each_skipped_line(street):
    first, second = good_lines(street)
    bad = [line for line, _ in bad_lines(street).values()]
    # Each bad line its own id, so only the duplicate repeats one.
    bad = [line.replace(f"{NEW_ID + 5},", f"{NEW_ID + 10 + n},", 1) for n, line in enumerate(bad)]
    report = import_devices(street, register(first, *bad, second), skip_invalid=True)
    assert report.imported == 2
    assert report.details["skipped_invalid"] == 5
    assert [line.split(":")[0] for line in report.skipped] == [
        "line 3, kind",
        "line 4, installed_on",
        "line 5, building",
        "line 6, lon",
        "line 7, id",
    ]
    with street.connect() as conn:
        new = conn.execute(select(s.Device.id).where(s.Device.id >= NEW_ID)).scalars().all()
    assert sorted(new) == [NEW_ID, NEW_ID + 1]


def test_skip_invalid_with_no_valid_line_imports_nothing(street):
    bad, _ = bad_lines(street)["unknown kind"]
    before = devices(street)
    with pytest.raises(ImportFileError, match="1 invalid lines skipped"):
        import_devices(street, register(bad), skip_invalid=True)
    assert devices(street) == before


# -- the parser on any input --------------------------------------------------------------------


rows = st.lists(
    st.tuples(
        st.integers(1, 2**31 - 1),
        st.sampled_from([k.value for k in DeviceKind]),
        st.from_regex(r"[A-Z][A-Z0-9]{0,12}", fullmatch=True),
        st.dates(date(1990, 1, 1), date(2099, 12, 31)),
    ),
    min_size=1,
    max_size=8,
    unique_by=lambda r: r[0],
)


@given(rows)
def test_any_valid_register_parses_line_for_line(items):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "kind", "building", "installed_on"])
    writer.writerows([(i, k, b, d.isoformat()) for i, k, b, d in items])
    parsed = parse_devices(out.getvalue())
    assert [(r.line, r.id, r.kind, r.building, r.installed_on) for r in parsed.rows] == [
        (n, i, k, b, d) for n, (i, k, b, d) in enumerate(items, start=2)
    ]


@given(st.text(max_size=300))
def test_any_text_raises_only_import_file_error_naming_a_line(text):
    try:
        parse_devices(HEADER + "\n" + text)
    except ImportFileError as err:
        assert err.location.startswith("line ")


@given(
    st.lists(st.text(alphabet=st.characters(blacklist_characters="\r\n"), max_size=20), max_size=8)
)
def test_any_cells_in_skip_mode_name_each_line_skipped(cells):
    text = register(*(",".join([c, "smoke", "B1", "", "", "2024-01-01"]) for c in cells))
    try:
        parsed = parse_devices(text, skip_invalid=True)
    except ImportFileError as err:
        assert err.location.startswith("line ")
        return
    assert all(line.startswith("line ") for line in parsed.skipped)
    assert len(parsed.rows) + len(parsed.skipped) <= len(cells)


# -- through the command line -------------------------------------------------------------------


def test_the_cli_imports_a_register_and_refuses_a_bad_one(street, tmp_path):
    url = street.url.render_as_string(hide_password=False)
    first, second = good_lines(street)
    bad_line, _ = bad_lines(street)["unknown kind"]
    good, bad = tmp_path / "devices.csv", tmp_path / "bad.csv"
    good.write_text(register(first, second), encoding="utf-8")
    bad.write_text(register(first, bad_line, second), encoding="utf-8")
    runner = CliRunner()
    before = devices(street)
    refused = runner.invoke(main, ["import", "devices", str(bad), "--database-url", url])
    assert refused.exit_code == 1
    assert "line 3, kind: unknown device kind 'toaster'" in refused.output
    assert "nothing was imported" in refused.output
    assert devices(street) == before
    skipped = runner.invoke(
        main, ["import", "devices", str(bad), "--skip-invalid", "--database-url", url]
    )
    assert skipped.exit_code == 0, skipped.output
    assert "skipped line 3, kind: unknown device kind" in skipped.stderr
    assert "imported 2 devices" in skipped.stdout
    replaced = runner.invoke(
        main, ["import", "devices", str(good), "--replace", "--database-url", url]
    )
    assert replaced.exit_code == 0, replaced.output
    assert "removed" in replaced.stdout and len(devices(street)) == 2
