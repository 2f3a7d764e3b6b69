"""Test the GeoJSON buildings importer: validation that names the feature, and no partial writes."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from cockpit.importers import buildings as importer
from cockpit.importers.buildings import import_buildings, parse_buildings
from cockpit.importers.errors import ImportFileError, ImportStoreError, read_text
from cockpit.simulator.generator import seed_street
from cockpit.store import schema
from cockpit.store.counts import registry_counts
from tests.streets import tiny_tier

FIXTURE = Path(__file__).parents[1] / "fixtures" / "osm_buildings.geojson"
CENTRE = (129.1025, 35.1376)
TINY = tiny_tier(taxi_kiosks=2)


@pytest.fixture
def collection() -> dict:
    """Return a fresh copy of the real OSM export as a dict, for a test to break."""
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


@pytest.fixture
def tiny_street(sqlite_engine):
    """Return a SQLite store holding a small seeded street around the fixture's centre."""
    seed_street(sqlite_engine, TINY, 7, CENTRE)
    return sqlite_engine


def square(lon: float, lat: float, size: float = 0.0003) -> list[list[float]]:
    """Return a closed square ring of lon/lat positions."""
    return [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]


def feature(fid: str | None, geometry: dict | None, **properties) -> dict:
    """Return a GeoJSON Feature."""
    out = {"type": "Feature", "properties": properties, "geometry": geometry}
    if fid is not None:
        out["id"] = fid
    return out


def buildings_table(engine) -> list[tuple]:
    """Return every building's code and footprint, in id order."""
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                select(schema.Building.code, schema.Building.footprint).order_by(schema.Building.id)
            )
        ]


# -- parsing the real export --------------------------------------------------------------------


def test_real_osm_export_parses_into_27_buildings():
    parsed = parse_buildings(FIXTURE.read_text(encoding="utf-8"))
    assert len(parsed.buildings) == 27
    assert parsed.skipped_non_polygon == 0
    uses = [b.use for b in parsed.buildings]
    assert (uses.count("public"), uses.count("residential"), uses.count("commercial")) == (7, 19, 1)
    first = parsed.buildings[0]
    assert (first.external_id, first.floors, first.height_m, first.name) == (
        "way/333053084",
        2,
        6.0,
        "디자인관",
    )
    assert first.properties["building"] == "university"
    retail = parsed.buildings[25]
    assert (retail.road, retail.number, retail.use) == ("수영로", "312", "commercial")
    for b in parsed.buildings:
        assert 129.098 < b.lon < 129.107 and 35.134 < b.lat < 35.142


def test_point_and_line_features_are_skipped_and_counted(collection):
    collection["features"][:0] = [
        feature("node/1", {"type": "Point", "coordinates": [129.1, 35.1]}, amenity="bench"),
        feature("way/2", {"type": "LineString", "coordinates": [[129.1, 35.1], [129.2, 35.2]]}),
        feature("relation/3", None),
    ]
    parsed = parse_buildings(json.dumps(collection))
    assert (len(parsed.buildings), parsed.skipped_non_polygon) == (27, 3)
    assert parsed.buildings[0].index == 3


def test_multipolygon_with_a_hole_is_accepted_and_centred_on_its_largest_part():
    outer = square(129.10, 35.13, 0.001)
    hole = square(129.1004, 35.1304, 0.0001)
    geometry = {
        "type": "MultiPolygon",
        "coordinates": [[square(129.2, 35.2, 0.0001)], [outer, hole]],
    }
    text = json.dumps(
        {"type": "FeatureCollection", "features": [feature(7, geometry, building="school")]}
    )
    (only,) = parse_buildings(text).buildings
    assert only.external_id == "7" and only.use == "public"
    assert math.isclose(only.lon, 129.1005, abs_tol=1e-4) and math.isclose(
        only.lat, 35.1305, abs_tol=1e-4
    )


@pytest.mark.parametrize(
    ("properties", "floors", "height", "use"),
    [
        ({}, 6, 18.0, "residential"),
        ({"building": "yes", "building:levels": "3;4"}, 6, 18.0, "residential"),
        ({"building": "office", "building:levels": "10", "height": "41.5 m"}, 10, 41.5, "office"),
        ({"building": "Warehouse", "building:levels": 2, "height": "40 ft"}, 2, 12.2, "industrial"),
        ({"building": "hospital", "building:levels": "0", "height": "tall"}, 6, 18.0, "public"),
        ({"building": "supermarket", "building:levels": "2.0", "height": 9}, 2, 9.0, "commercial"),
        ({"building": "garage", "building:levels": "NaN"}, 6, 18.0, "residential"),
    ],
)
def test_tags_become_use_floors_and_height(properties, floors, height, use):
    text = json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                feature(
                    "w", {"type": "Polygon", "coordinates": [square(129.1, 35.1)]}, **properties
                )
            ],
        }
    )
    (only,) = parse_buildings(text).buildings
    assert (only.floors, only.height_m, only.use) == (floors, height, use)
    assert only.floors_defaulted == (floors == 6)


# -- validation names the feature ---------------------------------------------------------------


def _ring(collection, index):
    """Return the outer ring of a feature's Polygon."""
    return collection["features"][index]["geometry"]["coordinates"][0]


def _unclose(c):
    """Move the last position of feature 5's ring away from the first."""
    _ring(c, 5)[-1] = [129.0, 35.0]


def _three_positions(c):
    """Cut feature 12's ring to three positions."""
    c["features"][12]["geometry"]["coordinates"][0] = [[129.1, 35.1], [129.2, 35.1], [129.1, 35.1]]


def _longitude(c):
    """Put a longitude past 180 into feature 3."""
    _ring(c, 3)[1][0] = 181.5


def _latitude(c):
    """Put a latitude past -90 into feature 3."""
    _ring(c, 3)[2][1] = -95


def _text_coordinate(c):
    """Write a coordinate of feature 8 as text."""
    _ring(c, 8)[1] = ["129.1", 35.1]


def _bool_coordinate(c):
    """Write a coordinate of feature 8 as a boolean."""
    _ring(c, 8)[1] = [True, 35.1]


def _flat(c):
    """Collapse feature 2's ring onto one point."""
    c["features"][2]["geometry"]["coordinates"] = [[[129.1, 35.1]] * 5]


def _collinear(c):
    """Flatten feature 2's ring onto a line."""
    c["features"][2]["geometry"]["coordinates"] = [
        [[129.1, 35.1], [129.2, 35.2], [129.3, 35.3], [129.1, 35.1]]
    ]


def _duplicate(c):
    """Give feature 9 the id of feature 3."""
    c["features"][9]["id"] = c["features"][3]["id"]


def _unknown_type(c):
    """Misspell feature 4's geometry type."""
    c["features"][4]["geometry"]["type"] = "Polygonn"


def _bad_hole(c):
    """Turn feature 6 into a MultiPolygon whose second part has an unclosed hole."""
    good = _ring(c, 6)
    # The second polygon's outer ring is fine; its hole has lost its closing position.
    c["features"][6]["geometry"] = {
        "type": "MultiPolygon",
        "coordinates": [[good], [good, good[:-1]]],
    }


def _nan_property(c):
    """Give feature 10 a NaN height."""
    c["features"][10]["properties"]["height"] = float("nan")


def _properties_list(c):
    """Make feature 11's properties a list."""
    c["features"][11]["properties"] = ["building"]


def _long_street(c):
    """Give feature 25 a street name longer than the column."""
    c["features"][25]["properties"]["addr:street"] = "路" * 65


def _geometry_text(c):
    """Replace feature 1's geometry with WKT text."""
    c["features"][1]["geometry"] = "POLYGON((1 2, 3 4))"


def _not_a_feature(c):
    """Mistype feature 0 as a Point."""
    c["features"][0]["type"] = "Point"


def _id_object(c):
    """Give feature 0 an object id."""
    c["features"][0]["id"] = {"osm": 1}


def _nul_in_name(c):
    """Put a NUL character into feature 13's name."""
    c["features"][13]["properties"]["name"] = "a\x00b"


@pytest.mark.parametrize(
    ("breaker", "message"),
    [
        (_unclose, r"^feature 5 \(way/360099729\): polygon ring 0 is not closed"),
        (
            _three_positions,
            r"^feature 12 \(way/419831696\): polygon ring 0 needs at least 4 positions",
        ),
        (
            _longitude,
            r"^feature 3 \(way/360099726\): polygon ring 0 position 1 longitude is outside",
        ),
        (_latitude, r"^feature 3 \(way/360099726\): polygon ring 0 position 2 latitude is outside"),
        (_text_coordinate, r"^feature 8 \(way/419726908\): .* holds a string, not a number"),
        (_bool_coordinate, r"^feature 8 \(way/419726908\): .* holds a boolean, not a number"),
        (_flat, r"^feature 2 \(way/360099723\): polygon ring 0 has no area"),
        (_collinear, r"^feature 2 \(way/360099723\): polygon ring 0 has no area"),
        (_duplicate, r"^feature 9 \(way/360099726\): same id as feature 3$"),
        (_unknown_type, r"^feature 4 \(way/360099728\): unknown geometry type 'Polygonn'"),
        (_bad_hole, r"^feature 6 \(way/360099730\): polygon 1 ring 1 is not closed"),
        (_nan_property, r"^feature 10 \(way/419726912\): properties hold NaN"),
        (_properties_list, r"^feature 11 \(way/419726913\): properties must be an object"),
        (_long_street, r"^feature 25 \(way/434531532\): addr:street is longer than 64"),
        (_geometry_text, r"^feature 1 \(way/360099722\): geometry must be an object"),
        (_not_a_feature, r"^feature 0 \(way/333053084\): expected type Feature"),
        (_id_object, r"^feature 0: id must be a string or a number"),
        (_nul_in_name, r"^feature 13 \(way/419831697\): text holds a NUL"),
    ],
)
def test_a_broken_feature_is_named(collection, breaker, message):
    breaker(collection)
    with pytest.raises(ImportFileError, match=message) as caught:
        parse_buildings(json.dumps(collection, allow_nan=True))
    assert caught.value.location.startswith("feature ")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"type": "FeatureCollection",\n "features": [,]}', r"^line 2, column 15: invalid JSON"),
        ("", r"^line 1, column 1: invalid JSON"),
        ("[1, 2]", r"^file: expected a GeoJSON FeatureCollection object, got a list"),
        ('{"type": "Feature"}', r"^file: expected type FeatureCollection, got 'Feature'"),
        (
            '{"type": "FeatureCollection", "features": {}}',
            r"^file: a FeatureCollection needs a 'features' list",
        ),
        (
            '{"type": "FeatureCollection", "features": []}',
            r"^file: no Polygon or MultiPolygon features",
        ),
        (
            '{"type": "FeatureCollection", "features": [7]}',
            r"^feature 0: expected a Feature object, got a number",
        ),
        (
            '{"type": "FeatureCollection", "features": [{"type": "Feature", "id": '
            + "9" * 5000
            + "}]}",
            r"^feature 0: id must be a finite number$",
        ),
        ("[" * 100_000, r"^(file: JSON is nested too deeply|line 1, column \d+: invalid JSON)"),
    ],
)
def test_a_broken_file_is_named(text, message):
    with pytest.raises(ImportFileError, match=message):
        parse_buildings(text)


def test_only_points_is_an_empty_import():
    text = json.dumps(
        {
            "type": "FeatureCollection",
            "features": [feature("n", {"type": "Point", "coordinates": [1, 2]})],
        }
    )
    with pytest.raises(ImportFileError, match="no Polygon or MultiPolygon"):
        parse_buildings(text)


def test_files_bytes_and_text_are_read_alike(tmp_path):
    data = FIXTURE.read_bytes()
    bom_file = tmp_path / "with_bom.geojson"
    bom_file.write_bytes(b"\xef\xbb\xbf" + data)
    expected = data.decode("utf-8")
    assert read_text(FIXTURE) == read_text(str(FIXTURE)) == expected
    assert (
        read_text(bom_file)
        == read_text(b"\xef\xbb\xbf" + data)
        == read_text("\ufeff" + expected)
        == expected
    )
    with pytest.raises(ImportFileError, match=r"^file: no such file: .*missing\.geojson"):
        read_text(str(tmp_path / "missing.geojson"), (".geojson",))
    with pytest.raises(ImportFileError, match=r"^file: cannot read"):
        read_text(tmp_path / "missing.geojson")
    with pytest.raises(ImportFileError, match=r"^line 3: is not valid UTF-8"):
        read_text(b'{\n"a":\n"\xff"}')


# -- property tests: nothing but ImportFileError ------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=25,
)
NUMBERS = st.one_of(
    st.integers(-400, 400), st.floats(allow_nan=True, allow_infinity=True), st.just(129.1)
)
POSITIONS = st.lists(NUMBERS, min_size=0, max_size=4) | JSON_VALUES
RINGS = (
    st.lists(POSITIONS, max_size=6).map(lambda ring: ring + ring[:1] if ring else ring)
    | JSON_VALUES
)
GEOMETRIES = st.one_of(
    st.none(),
    JSON_VALUES,
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(["Polygon", "MultiPolygon", "Point", "LineString", "Polygonn"]),
            "coordinates": st.lists(RINGS, max_size=3)
            | st.lists(st.lists(RINGS, max_size=2), max_size=2)
            | JSON_VALUES,
        }
    ),
)
FEATURES = st.fixed_dictionaries(
    {"type": st.sampled_from(["Feature", "Feature", "Point"]), "geometry": GEOMETRIES},
    optional={
        "id": JSON_VALUES | st.text(max_size=4),
        "properties": JSON_VALUES
        | st.dictionaries(
            st.sampled_from(
                ["@id", "building", "building:levels", "height", "name", "addr:street"]
            ),
            JSON_VALUES,
        ),
    },
)


def _parses_or_names_a_place(text: str) -> None:
    """Parse text, allowing only a result or an ImportFileError that names a place."""
    try:
        parsed = parse_buildings(text)
    except ImportFileError as err:
        assert err.location and err.reason
    else:
        assert parsed.buildings


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON_VALUES)
def test_any_json_value_raises_only_import_file_error(value):
    _parses_or_names_a_place(json.dumps(value))


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_raises_only_import_file_error(text):
    _parses_or_names_a_place(text)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(FEATURES, max_size=5))
def test_any_feature_collection_raises_only_import_file_error(features):
    _parses_or_names_a_place(json.dumps({"type": "FeatureCollection", "features": features}))


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 26), st.integers(0, 4), st.sampled_from([None, "x", 1e400, -200, [], True, 1e-9])
)
def test_one_corrupted_coordinate_raises_only_import_file_error(index, position, value):
    collection = json.loads(FIXTURE.read_text(encoding="utf-8"))
    broken = copy.deepcopy(collection)
    ring = broken["features"][index]["geometry"]["coordinates"][0]
    ring[position % len(ring)] = value
    _parses_or_names_a_place(json.dumps(broken))


# -- the store ----------------------------------------------------------------------------------


def test_broken_file_writes_nothing(tiny_street, collection):
    before_counts, before_table = registry_counts(tiny_street), buildings_table(tiny_street)
    _unclose(collection)
    with pytest.raises(ImportFileError, match=r"^feature 5 "):
        import_buildings(tiny_street, json.dumps(collection))
    assert registry_counts(tiny_street) == before_counts
    assert buildings_table(tiny_street) == before_table


def test_a_failure_while_writing_rolls_everything_back(tiny_street, monkeypatch):
    before_counts, before_table = registry_counts(tiny_street), buildings_table(tiny_street)

    def explode(*_args, **_kwargs):
        """Fail as a broken disk would, halfway through the writes."""
        raise RuntimeError("disk full")

    monkeypatch.setattr(importer, "_move_references", explode)
    with pytest.raises(RuntimeError, match="disk full"):
        import_buildings(tiny_street, FIXTURE)
    assert registry_counts(tiny_street) == before_counts
    assert buildings_table(tiny_street) == before_table


def test_an_empty_store_is_refused(sqlite_engine):
    with pytest.raises(ImportStoreError, match="no street"):
        import_buildings(sqlite_engine, FIXTURE)
    assert registry_counts(sqlite_engine)["buildings"] == 0


def test_import_reports_what_it_did(tiny_street):
    seeded = registry_counts(tiny_street)["buildings"]
    report = import_buildings(tiny_street, FIXTURE)
    assert (report.kind, report.imported) == ("buildings", 27)
    assert seeded > 0 and report.details["replaced_buildings"] == seeded
    assert report.details["households_moved"] == 300
    assert report.details["enterprises_moved"] == 40
    assert report.details["skipped_non_polygon"] == 0
    assert 0 <= report.details["outside_street"] <= 27


def test_reimporting_reuses_the_codes(tiny_street):
    import_buildings(tiny_street, FIXTURE)
    first = buildings_table(tiny_street)
    import_buildings(tiny_street, FIXTURE.read_text(encoding="utf-8"))
    assert buildings_table(tiny_street) == first
    assert [code for code, _ in first] == [f"B310110012I{n:06d}" for n in range(1, 28)]


def test_moved_households_have_unique_rooms_within_their_new_address(tiny_street):
    import_buildings(tiny_street, FIXTURE)
    with tiny_street.connect() as conn:
        rows = conn.execute(select(schema.Household.address_id, schema.Household.room)).all()
        uses = set(
            conn.execute(
                select(schema.Building.use).join(
                    schema.Household, schema.Household.building_id == schema.Building.id
                )
            ).scalars()
        )
    assert len(set(rows)) == len(rows) == 300
    assert uses == {"residential"}
