"""Drive the `cockpit` command as a user would: seed, stats, refusals and import errors."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from cockpit.cli import main
from cockpit.store.counts import STAT_NAMES

CHANGBAI = {
    "communities": 16,
    "compounds": 45,
    "grids": 48,
    "office_buildings": 12,
    "households": 37000,
    "residents": 70000,
    "enterprises": 1800,
    "fire_devices": 2400,
    "grid_workers": 120,
}


def parse_stats(output: str) -> dict[str, int]:
    """Return the `name: value` lines of a command's output."""
    pairs = [line.split(": ", 1) for line in output.splitlines() if ": " in line]
    return {name: int(value) for name, value in pairs if name in STAT_NAMES}


@pytest.fixture(scope="module")
def seeded_url(tmp_path_factory) -> str:
    """Seed the Changbai street once through the command line and return its database URL."""
    url = f"sqlite:///{tmp_path_factory.mktemp('cli') / 'c.db'}"
    result = CliRunner().invoke(
        main, ["seed", "--scale", "changbai", "--seed", "3", "--database-url", url]
    )
    assert result.exit_code == 0, result.output
    assert "seeded changbai (seed 3) in" in result.output
    return url


def test_seed_prints_the_tier_counts(seeded_url):
    result = CliRunner().invoke(main, ["stats", "--database-url", seeded_url])
    assert result.exit_code == 0
    stats = parse_stats(result.output)
    assert list(stats) == list(STAT_NAMES)
    assert {k: stats[k] for k in CHANGBAI} == CHANGBAI


def test_seeding_a_full_store_is_refused(seeded_url):
    result = CliRunner().invoke(main, ["seed", "--scale", "changbai", "--database-url", seeded_url])
    assert result.exit_code == 1
    assert "already holds a street" in result.output


def test_broken_building_file_names_the_feature_and_imports_nothing(seeded_url, tmp_path):
    bad = tmp_path / "bad.geojson"
    ring = [[121.5, 31.3], [121.501, 31.3], [121.501, 31.301], [121.5, 31.301]]  # not closed
    feature = {"type": "Feature", "id": "way/42", "properties": {"building": "yes"}}
    feature["geometry"] = {"type": "Polygon", "coordinates": [ring]}
    bad.write_text(
        json.dumps({"type": "FeatureCollection", "features": [feature]}), encoding="utf-8"
    )
    before = CliRunner().invoke(main, ["stats", "--database-url", seeded_url]).output
    result = CliRunner().invoke(
        main, ["import", "buildings", str(bad), "--database-url", seeded_url]
    )
    assert result.exit_code == 1
    assert "feature 0 (way/42)" in result.output and "nothing was imported" in result.output
    assert CliRunner().invoke(main, ["stats", "--database-url", seeded_url]).output == before


def test_import_into_an_empty_store_says_why(tmp_path):
    register = tmp_path / "r.csv"
    register.write_text(
        "address,room,name,id_number,gender,birth_date,registration\n", encoding="utf-8"
    )
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    result = CliRunner().invoke(main, ["import", "residents", str(register), "--database-url", url])
    assert result.exit_code == 1
    assert "nothing was imported" in result.output
    assert "Traceback" not in result.output


def test_migrate_says_what_it_created_then_that_nothing_was(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    first = CliRunner().invoke(main, ["migrate", "--database-url", url])
    assert first.exit_code == 0, first.output
    assert f"store: {tmp_path / 'new.db'}" in first.output
    assert "created the schema at revision" in first.output
    assert "streets" in first.output and "cases" in first.output
    again = CliRunner().invoke(main, ["migrate", "--database-url", url])
    assert again.exit_code == 0
    assert "schema is current" in again.output and "nothing created" in again.output


def test_stats_on_a_missing_store_says_so_and_creates_nothing(tmp_path):
    path = tmp_path / "nowhere" / "cockpit.db"
    result = CliRunner().invoke(main, ["stats", "--database-url", f"sqlite:///{path}"])
    assert result.exit_code == 1
    assert f"no store at {path}" in result.output
    assert "Traceback" not in result.output
    assert not path.exists() and not path.parent.exists()


def test_stats_on_a_database_without_the_schema_says_so(tmp_path):
    path = tmp_path / "other.db"
    path.write_bytes(b"")  # an empty SQLite file: a database, not a cockpit store
    result = CliRunner().invoke(main, ["stats", "--database-url", f"sqlite:///{path}"])
    assert result.exit_code == 1
    assert "holds no cockpit schema" in result.output
