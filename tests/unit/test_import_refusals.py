"""Test the imports' refusals (outside the street, a use gone, a bad feature) and skip reports."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import shapely
import shapely.geometry
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select

from cockpit.cli import main
from cockpit.geo import LocalFrame
from cockpit.importers.buildings import import_buildings, parse_buildings
from cockpit.importers.errors import ImportFileError, ImportRefusedError
from cockpit.importers.geography import import_geography
from cockpit.importers.street_checks import OUTSIDE_MARGIN_M, in_metres, refuse_outside
from cockpit.simulator.generator import seed_street
from cockpit.store import schema as s
from cockpit.store.counts import registry_counts
from data_adapters.case_facts import place_columns, placed
from data_adapters.map_overlays import read_open_alerts, read_open_cases
from tests.streets import tiny_tier

FIXTURE = Path(__file__).parents[1] / "fixtures" / "osm_buildings.geojson"
CENTRE = (129.1025, 35.1376)
TINY = tiny_tier(taxi_kiosks=2)
RAW = json.loads(FIXTURE.read_text(encoding="utf-8"))
# A point on a footprint's edge, rounded to 7 decimals (about a centimetre), counts as on it.
ON_FOOTPRINT_M = 0.05


@pytest.fixture
def street(sqlite_engine):
    """Return a SQLite store holding a small seeded street around the fixture's centre."""
    seed_street(sqlite_engine, TINY, 7, CENTRE)
    return sqlite_engine


def collection() -> dict:
    """Return a fresh copy of the real OSM export (27 buildings) to change."""
    return copy.deepcopy(RAW)


def shifted(data: dict, dlon: float) -> dict:
    """Return the collection with every position moved dlon degrees east."""

    def move(value):
        if isinstance(value, list) and value and isinstance(value[0], int | float):
            return [value[0] + dlon, *value[1:]]
        return [move(v) for v in value] if isinstance(value, list) else value

    for f in data["features"]:
        f["geometry"]["coordinates"] = move(f["geometry"]["coordinates"])
    return data


def bowtie(data: dict, index: int) -> dict:
    """Return the collection with feature `index`'s outline crossing itself."""
    (x0, y0), *_ = data["features"][index]["geometry"]["coordinates"][0]
    ring = [[x0, y0], [x0 + 3e-4, y0 + 3e-4], [x0 + 3e-4, y0], [x0, y0 + 1e-4], [x0, y0]]
    data["features"][index]["geometry"] = {"type": "Polygon", "coordinates": [ring]}
    return data


def flattened(data: dict, index: int) -> dict:
    """Return the collection with feature `index` squashed onto a line (no area)."""
    (x0, y0), *_ = data["features"][index]["geometry"]["coordinates"][0]
    ring = [[x0, y0], [x0 + 1e-4, y0], [x0 + 2e-4, y0], [x0, y0]]
    data["features"][index]["geometry"] = {"type": "Polygon", "coordinates": [ring]}
    return data


def tagged(data: dict, building: str) -> dict:
    """Return the collection with every feature tagged building=<building>."""
    for f in data["features"]:
        f["properties"]["building"] = building
    return data


def snapshot(engine) -> tuple:
    """Return what a refused import must leave unchanged: counts, buildings, homes and devices."""
    with engine.connect() as conn:
        return (
            registry_counts(engine),
            conn.execute(
                select(s.Building.code, s.Building.footprint).order_by(s.Building.id)
            ).all(),
            conn.execute(
                select(s.Household.id, s.Household.building_id).order_by(s.Household.id)
            ).all(),
            conn.execute(
                select(s.Device.id, s.Device.lon, s.Device.lat).order_by(s.Device.id)
            ).all(),
        )


def url_of(engine) -> str:
    """Return the engine's URL for the CLI's --database-url."""
    return engine.url.render_as_string(hide_password=False)


# -- buildings beyond the street ----------------------------------------------------------------


def test_buildings_all_outside_the_street_are_refused_with_the_counts(street):
    far = json.dumps(shifted(collection(), 0.05))  # some 4.5 km east
    before = snapshot(street)
    with pytest.raises(ImportRefusedError) as refused:
        import_buildings(street, far)
    assert refused.value.counts == {
        "buildings_outside": 27,
        "of_buildings": 27,
        "households_outside": 300,
        "of_households": 300,
    }
    message = str(refused.value)
    assert "buildings_outside 27" in message and "households_outside 300" in message
    assert "--allow-outside" in message
    assert snapshot(street) == before


def test_buildings_outside_import_when_allowed_and_say_so(street):
    report = import_buildings(street, json.dumps(shifted(collection(), 0.05)), allow_outside=True)
    assert report.imported == 27 == registry_counts(street)["buildings"]
    assert report.details["outside_boundary"] == 27
    assert any("27 of 27 buildings lie beyond" in w for w in report.warnings)


def test_a_few_buildings_outside_import_and_are_counted(street):
    # The real export already pokes out of the seeded street at one corner: counted, not refused.
    report = import_buildings(street, FIXTURE)
    assert report.imported == 27
    assert 0 < report.details["outside_boundary"] < 27 / 2


@given(
    buildings=st.integers(1, 500),
    out_share=st.floats(0, 1),
    households=st.integers(0, 50_000),
    home_share=st.floats(0, 1),
)
def test_an_import_is_refused_exactly_when_most_buildings_or_households_fall_outside(
    buildings, out_share, households, home_share
):
    out, homes_out = round(buildings * out_share), round(households * home_share)
    most = out > buildings / 2 or homes_out > households / 2
    refuse_outside("x", out, buildings, homes_out, households, allow=True)
    if most:
        with pytest.raises(ImportRefusedError, match="--allow-outside"):
            refuse_outside("x", out, buildings, homes_out, households, allow=False)
    else:
        refuse_outside("x", out, buildings, homes_out, households, allow=False)


# -- a use left with no building ----------------------------------------------------------------


def test_buildings_with_no_home_for_the_households_are_refused(street):
    offices = json.dumps(tagged(collection(), "office"))
    before = snapshot(street)
    with pytest.raises(ImportRefusedError) as refused:
        import_buildings(street, offices)
    assert refused.value.counts == {"households": 300, "residential_buildings": 0}
    assert "--allow-missing-uses" in str(refused.value)
    assert snapshot(street) == before
    report = import_buildings(street, offices, allow_missing_uses=True)
    assert report.imported == 27


def test_buildings_with_no_workplace_for_the_enterprises_are_refused_then_warned(street):
    homes = json.dumps(tagged(collection(), "apartments"))
    before = snapshot(street)
    with pytest.raises(ImportRefusedError) as refused:
        import_buildings(street, homes)
    assert refused.value.counts == {"enterprises": 40, "office_and_commercial_buildings": 0}
    assert snapshot(street) == before
    report = import_buildings(street, homes, allow_missing_uses=True)
    assert "office buildings drop from 2 to 0" in "\n".join(report.warnings)


# -- one bad feature: refused whole, or skipped and reported --------------------------------------


def test_one_degenerate_polygon_refuses_the_whole_file_naming_it(street):
    bad = json.dumps(bowtie(collection(), 7))
    before = snapshot(street)
    with pytest.raises(
        ImportFileError, match=r"^feature 7 \(way/419726906\): invalid polygon: Self-intersection"
    ):
        import_buildings(street, bad)
    assert snapshot(street) == before


def test_skip_invalid_imports_the_valid_buildings_and_reports_each_skipped_one(street):
    data = flattened(bowtie(collection(), 7), 20)
    report = import_buildings(street, json.dumps(data), skip_invalid=True)
    assert report.imported == 25 == registry_counts(street)["buildings"]
    assert report.details["skipped_invalid"] == 2
    assert len(report.skipped) == 2
    assert report.skipped[0].startswith("feature 7 (way/419726906): invalid polygon: Self-inters")
    assert (
        report.skipped[1] == f"feature 20 ({RAW['features'][20]['id']}): polygon ring 0 has no area"
    )
    with street.connect() as conn:
        ids = set(conn.execute(select(s.Building.external_id)).scalars())
    assert ids == {f["id"] for f in RAW["features"]} - {RAW["features"][i]["id"] for i in (7, 20)}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sets(st.integers(0, 26), max_size=26), st.booleans())
def test_skip_invalid_keeps_exactly_the_valid_features_in_order(broken, how):
    data = collection()
    for index in broken:
        (bowtie if how else flattened)(data, index)
    parsed = parse_buildings(json.dumps(data), skip_invalid=True)
    kept = [i for i in range(27) if i not in broken]
    assert [b.index for b in parsed.buildings] == kept
    assert [line.split(" (")[0] for line in parsed.skipped_invalid] == [
        f"feature {i}" for i in sorted(broken)
    ]
    if broken:
        with pytest.raises(ImportFileError, match=rf"^feature {min(broken)} "):
            parse_buildings(json.dumps(data))


def test_skip_invalid_with_every_feature_invalid_imports_nothing(street):
    data = collection()
    for index in range(27):
        flattened(data, index)
    before = snapshot(street)
    with pytest.raises(ImportFileError, match=r"27 invalid features skipped"):
        import_buildings(street, json.dumps(data), skip_invalid=True)
    assert snapshot(street) == before


def test_the_cli_refuses_outside_buildings_and_prints_each_skipped_feature(street, tmp_path):
    far, bad = tmp_path / "far.geojson", tmp_path / "bad.geojson"
    far.write_text(json.dumps(shifted(collection(), 0.05)))
    bad.write_text(json.dumps(bowtie(collection(), 7)))
    runner = CliRunner()
    refused = runner.invoke(
        main, ["import", "buildings", str(far), "--database-url", url_of(street)]
    )
    assert refused.exit_code == 1
    assert "buildings_outside 27" in refused.output and "nothing was imported" in refused.output
    whole = runner.invoke(main, ["import", "buildings", str(bad), "--database-url", url_of(street)])
    assert whole.exit_code == 1 and "feature 7 (way/419726906)" in whole.output
    skipped = runner.invoke(
        main, ["import", "buildings", str(bad), "--skip-invalid", "--database-url", url_of(street)]
    )
    assert skipped.exit_code == 0, skipped.output
    assert "skipped feature 7 (way/419726906): invalid polygon" in skipped.stderr
    assert "imported 26 buildings" in skipped.stdout


# -- geography: what test_import_geography.py leaves out -------------------------------------------


def test_a_boundary_leaving_a_few_buildings_outside_imports_and_counts_them(street):
    with street.connect() as conn:
        boundary = shapely.geometry.shape(conn.execute(select(s.Street.boundary)).scalar_one())
        homes = conn.execute(select(s.Building.id, s.Building.lon, s.Building.lat)).all()
    # Cut the boundary back to leave out the single building furthest east (by > the margin).
    east = max(homes, key=lambda b: b.lon)
    x0, y0, x1, y1 = boundary.bounds
    cut = east.lon - 2 * OUTSIDE_MARGIN_M / 91_000
    data = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"layer": "boundary"},
                "geometry": json.loads(shapely.to_geojson(shapely.box(x0, y0, cut, y1))),
            }
        ],
    }
    others_east = sum(1 for b in homes if b.lon > cut)
    report = import_geography(street, json.dumps(data))
    assert report.details["buildings_outside_boundary"] >= 1
    assert report.details["buildings_outside_boundary"] <= others_east < len(homes) / 2


def test_the_cli_prints_each_skipped_geography_feature(street, tmp_path):
    with street.connect() as conn:
        x0, y0, x1, y1 = shapely.geometry.shape(
            conn.execute(select(s.Street.boundary)).scalar_one()
        ).bounds
    road = {"type": "LineString", "coordinates": [[x0, y0], [x1, y1]]}
    stub = {"type": "LineString", "coordinates": [[x0, y0]]}
    data = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": "way/1",
                "properties": {"highway": "primary"},
                "geometry": road,
            },
            {
                "type": "Feature",
                "id": "way/2",
                "properties": {"highway": "primary"},
                "geometry": stub,
            },
        ],
    }
    path = tmp_path / "roads.geojson"
    path.write_text(json.dumps(data))
    runner = CliRunner()
    args = ["import", "geography", str(path), "--database-url", url_of(street)]
    whole = runner.invoke(main, args)
    assert whole.exit_code == 1 and "feature 1 (way/2)" in whole.output
    skipped = runner.invoke(main, [*args, "--skip-invalid"])
    assert skipped.exit_code == 0, skipped.output
    assert "skipped feature 1 (way/2): line needs at least 2 positions" in skipped.stderr
    assert "imported 1 geography features" in skipped.stdout


# -- everything attached to a building moves with it ---------------------------------------------


def attach_cases_and_alerts(engine) -> None:
    """Open a case at every building (as the desk places one) and one at a device; raise alerts."""
    now = datetime(2026, 12, 2, 5, 31, tzinfo=UTC)
    with engine.begin() as conn:
        buildings = conn.execute(select(s.Building.id, s.Building.lon, s.Building.lat)).all()
        first_address = dict(
            conn.execute(
                select(s.Address.building_id, s.Address.id).order_by(s.Address.id.desc())
            ).all()
        )
        device = conn.execute(
            select(s.Device.id, s.Device.building_id, s.Device.lon, s.Device.lat)
            .where(s.Device.building_id.is_not(None))
            .order_by(s.Device.id)
        ).first()
        common = {"source": "resident", "category": "x", "description": "", "state": "registered"}
        rows = [
            {
                **common,
                "code": f"C{b.id}",
                "title": f"at {b.id}",
                "building_id": b.id,
                "address_id": first_address[b.id],
                "lon": b.lon,
                "lat": b.lat,
                "reported_at": now,
            }
            for b in buildings
        ]
        rows.append(
            {
                **common,
                "code": "CD",
                "title": "device",
                "source": "alert",
                "building_id": device.building_id,
                "address_id": None,
                "lon": device.lon,
                "lat": device.lat,
                "reported_at": now,
            }
        )
        conn.execute(insert(s.Case.__table__), rows)
        key = "fire.water_pressure:building:{}"
        conn.execute(
            insert(s.Alert.__table__),
            [
                {
                    "kind": "fire.water_pressure",
                    "level": "orange",
                    "status": "new",
                    "condition_key": key.format(b.id),
                    "open_key": key.format(b.id),
                    "object_type": "building",
                    "object_id": b.id,
                    "title": "水压低",
                    "reasons": [],
                    "raised_at": now,
                }
                for b in buildings
            ],
        )


def off_footprint_m(frame: LocalFrame, footprint: dict, lon: float, lat: float) -> float:
    """Return how many metres a point lies outside a footprint (0 inside)."""
    outline = in_metres(shapely.geometry.shape(footprint), frame)
    return outline.distance(shapely.Point(frame.to_metres(lon, lat)))


def test_cases_devices_and_alerts_move_onto_the_new_buildings(street):
    attach_cases_and_alerts(street)
    with street.connect() as conn:
        old_ids = set(conn.execute(select(s.Building.id)).scalars())
        device_case = conn.execute(select(s.Case.id).where(s.Case.code == "CD")).scalar_one()
        device_id = conn.execute(
            select(s.Device.id)
            .where(s.Device.building_id.is_not(None))
            .order_by(s.Device.id)
            .limit(1)
        ).scalar_one()
    report = import_buildings(street, FIXTURE)
    assert report.details["case_markers_moved"] == len(old_ids) + 1
    assert report.details["alerts_moved"] == len(old_ids)
    frame = LocalFrame(*CENTRE)
    with street.connect() as conn:
        footprints = dict(conn.execute(select(s.Building.id, s.Building.footprint)).all())
        assert not old_ids & footprints.keys()
        # The map's case markers, read as the map reads them.
        markers = read_open_cases(conn)
        # The case desk's "where", read as the cases view reads it.
        where = {r.id: r for r in conn.execute(placed(select(s.Case.id, *place_columns()))).all()}
        devices = conn.execute(
            select(s.Device.id, s.Device.building_id, s.Device.lon, s.Device.lat).where(
                s.Device.building_id.is_not(None)
            )
        ).all()
        alerts = read_open_alerts(conn)
        keys = conn.execute(select(s.Alert.object_id, s.Alert.open_key, s.Alert.status)).all()
    assert len(markers) == len(old_ids) + 1
    for marker in markers:
        assert marker["building_id"] in footprints
        footprint = footprints[marker["building_id"]]
        assert off_footprint_m(frame, footprint, marker["lon"], marker["lat"]) <= ON_FOOTPRINT_M
        place = where[marker["id"]]
        assert place.where_building_id == marker["building_id"]
        assert (place.where_lon, place.where_lat) == (marker["lon"], marker["lat"])
    assert len(devices) == 111
    for d in devices:
        assert off_footprint_m(frame, footprints[d.building_id], d.lon, d.lat) <= ON_FOOTPRINT_M
    # A device alarm's case still stands where its device now stands.
    device = next(d for d in devices if d.id == device_id)
    marker = next(m for m in markers if m["id"] == device_case)
    assert (marker["lon"], marker["lat"]) == (device.lon, device.lat)
    assert marker["building_id"] == device.building_id
    # Old buildings that merge into one new building leave it one open alert, the rest resolved.
    assert len(keys) == len(old_ids)
    assert {object_id for object_id, _, _ in keys} <= footprints.keys()
    open_ids = [a["object_id"] for a in alerts]
    assert sorted(open_ids) == sorted(set(open_ids)) == sorted({o for o, _, _ in keys})
    for object_id, open_key, status in keys:
        assert (open_key, status) in (
            (f"fire.water_pressure:building:{object_id}", "new"),
            (None, "resolved"),
        )


def test_devices_keep_their_spread_on_the_new_buildings(street):
    with street.connect() as conn:
        before = conn.execute(
            select(s.Device.lon, s.Device.lat).where(s.Device.building_id.is_not(None))
        ).all()
    import_buildings(street, FIXTURE)
    with street.connect() as conn:
        after = conn.execute(
            select(s.Device.lon, s.Device.lat).where(s.Device.building_id.is_not(None))
        ).all()
    # Shrunk onto smaller footprints, not piled onto each building's centre.
    assert len(set(after)) > len(set(before)) / 2
