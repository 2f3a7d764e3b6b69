"""Test the street simulator: exact splits, layout, synthetic people and the generated rows."""

from __future__ import annotations

import dataclasses
import math
import random
from collections import Counter
from datetime import date
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import STRtree, unary_union
from shapely.geometry import Point, shape

from cockpit.domain.kinds import FIRE_DEVICE_KINDS, BuildingUse, DeviceKind
from cockpit.geo import geometry_centroid, point_in_geometry
from cockpit.rules.config import load_rules_config
from cockpit.simulator import generator, layout, people
from cockpit.simulator.generator import REFERENCE_DAY, StreetGenerator, split_exact
from cockpit.simulator.tiers import TIERS
from tests.streets import tiny_tier

CENTER = (121.537, 31.279)
TINY = tiny_tier()


def age_on(birth: date, day: date) -> int:
    """Return a person's age in whole years on a day, counted by the calendar."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def generate(tier=TINY, seed: int = 7) -> dict[str, list[dict]]:
    """Return the rows of a freshly generated street."""
    return StreetGenerator(tier, seed, CENTER).generate()


@pytest.fixture(scope="module")
def tiny_rows() -> dict[str, list[dict]]:
    """Return the rows of the tiny street with seed 7, generated once for the module."""
    return generate()


# -- split_exact ------------------------------------------------------------------------------

weights_strategy = st.lists(
    st.one_of(
        st.integers(min_value=0, max_value=1000),
        st.floats(min_value=0.001, max_value=1000, allow_nan=False, allow_infinity=False),
    ),
    min_size=1,
    max_size=30,
).filter(lambda ws: sum(ws) > 0)


@given(total=st.integers(min_value=0, max_value=1_000_000), weights=weights_strategy)
def test_split_exact_sums_and_stays_near_exact_share(total, weights) -> None:
    """Parts add up to the total, are non-negative, and are the floor or ceiling of the exact share."""
    parts = split_exact(total, weights)
    assert len(parts) == len(weights)
    assert sum(parts) == total
    assert all(isinstance(p, int) and p >= 0 for p in parts)
    weight_sum = sum(Fraction(w) for w in weights)
    for part, weight in zip(parts, weights, strict=True):
        exact = Fraction(total) * Fraction(weight) / weight_sum
        assert abs(part - exact) < 1, (part, float(exact))
        if weight == 0:
            assert part == 0


def test_split_exact_examples() -> None:
    """Largest remainders go first; ties go to the earlier part."""
    assert split_exact(10, [1, 1, 1]) == [4, 3, 3]
    assert split_exact(7, [0.5, 0.25, 0.25]) == [3, 2, 2]
    assert split_exact(0, [3, 1]) == [0, 0]
    assert split_exact(6037, [0.52, 0.22, 0.08, 0.08, 0.10]) == [3139, 1328, 483, 483, 604]


# -- layout -----------------------------------------------------------------------------------

rects = st.tuples(
    st.floats(min_value=-5000, max_value=5000),
    st.floats(min_value=-5000, max_value=5000),
    st.floats(min_value=1, max_value=8000),
    st.floats(min_value=1, max_value=8000),
).map(lambda r: (r[0], r[1], r[0] + r[2], r[1] + r[3]))


@given(rect=rects, n=st.integers(min_value=1, max_value=60))
def test_split_rect_tiles_the_rectangle(rect, n) -> None:
    """split_rect gives n cells of equal area that lie inside the rectangle and do not overlap."""
    cells = layout.split_rect(rect, n)
    x0, y0, x1, y1 = rect
    area = (x1 - x0) * (y1 - y0)
    tol = 1e-9 * max(abs(v) for v in rect) + 1e-9
    assert len(cells) == n
    areas = [(c[2] - c[0]) * (c[3] - c[1]) for c in cells]
    assert math.isclose(sum(areas), area, rel_tol=1e-9)
    for cell_area in areas:
        assert math.isclose(cell_area, area / n, rel_tol=1e-9)
    for cx0, cy0, cx1, cy1 in cells:
        assert cx0 < cx1 and cy0 < cy1
        assert x0 - tol <= cx0 and cx1 <= x1 + tol
        assert y0 - tol <= cy0 and cy1 <= y1 + tol
    for i, a in enumerate(cells):
        for b in cells[i + 1 :]:
            overlap_w = min(a[2], b[2]) - max(a[0], b[0])
            overlap_h = min(a[3], b[3]) - max(a[1], b[1])
            assert overlap_w <= tol or overlap_h <= tol, (a, b)


def test_split_rect_refuses_zero_cells() -> None:
    """Asking for no cells is an error."""
    with pytest.raises(ValueError):
        layout.split_rect((0, 0, 1, 1), 0)


@given(rect=rects, needed=st.integers(min_value=0, max_value=80))
def test_slots_cover_at_least_what_is_needed(rect, needed) -> None:
    """slots() returns at least the plots asked for, each inside the block."""
    plots = layout.slots(rect, needed)
    assert len(plots) >= max(needed, 1)
    x0, y0, x1, y1 = rect
    tol = 1e-9 * max(abs(v) for v in rect) + 1e-9
    for p in plots:
        assert x0 - tol <= p.x0 < p.x1 <= x1 + tol
        assert y0 - tol <= p.y0 < p.y1 <= y1 + tol


# -- people -----------------------------------------------------------------------------------


@settings(max_examples=50)
@given(
    people_spec=st.lists(
        st.tuples(
            st.sampled_from(people.ORIGIN_REGIONS[:3]),
            st.dates(min_value=date(1930, 1, 1), max_value=date(2025, 12, 31)),
            st.sampled_from("MF"),
        ),
        max_size=200,
    )
)
def test_id_number_maker_issues_unique_valid_numbers(people_spec) -> None:
    """Every number is unique and valid, encodes region and birth, and has the sex's parity."""
    maker = people.IdNumberMaker()
    numbers = []
    for region, birth, gender in people_spec:
        number = maker.make(region, birth, gender)
        assert people.is_valid_id_number(number), number
        assert number[:6] == region
        assert number[6:14] == f"{birth:%Y%m%d}"
        assert int(number[16]) % 2 == (1 if gender == "M" else 0)
        numbers.append(number)
    assert len(set(numbers)) == len(numbers)


def test_id_number_maker_many_on_one_day() -> None:
    """Five hundred men and five hundred women born the same day get distinct numbers, then it stops."""
    maker = people.IdNumberMaker()
    born = date(1990, 5, 17)
    numbers = [maker.make("330104", born, g) for g in "MF" for _ in range(500)]
    assert len(set(numbers)) == 1000
    assert all(people.is_valid_id_number(n) for n in numbers)
    with pytest.raises(ValueError):
        maker.make("330104", born, "M")


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("11010519491231002X", True),  # the textbook example
        ("11010519491231002x", True),
        ("110105194912310021", False),  # wrong check character
        ("11010519491331002X", False),  # month 13
        ("11010519490229002X", False),  # 1949 is no leap year
        ("1101051949123100", False),  # too short
        ("A1010519491231002X", False),
        ("", False),
    ],
)
def test_is_valid_id_number(value, valid) -> None:
    """The validator checks length, digits, birth date and the MOD 11-2 check character."""
    assert people.is_valid_id_number(value) is valid


def test_is_valid_id_number_never_raises_on_odd_digits() -> None:
    """A string with non-ASCII 'digits' is simply invalid."""
    assert people.is_valid_id_number("²10105194912310021") is False


@given(
    seed=st.integers(min_value=0, max_value=2**32),
    serial=st.integers(min_value=1, max_value=99_999_999),
)
def test_uscc_has_18_characters_from_the_alphabet_and_checks(seed, serial) -> None:
    """A USCC is 18 characters of the GB 32100 alphabet, starts 91 + region, and its check holds."""
    code = people.uscc(random.Random(seed), "330104", serial)
    assert len(code) == 18
    assert set(code) <= set(people.USCC_ALPHABET)
    assert code.startswith("91330104")
    weighted = sum(
        people.USCC_ALPHABET.index(c) * w for c, w in zip(code, people.USCC_WEIGHTS, strict=False)
    )
    assert (weighted + people.USCC_ALPHABET.index(code[17])) % 31 == 0


def test_mobile_and_names_look_plausible() -> None:
    """Mobile numbers are 11 digits with a known prefix; names are two or three characters."""
    rng = random.Random(1)
    for _ in range(200):
        number = people.mobile(rng)
        assert len(number) == 11 and number.isdigit() and number[:3] in people.MOBILE_PREFIXES
        assert 2 <= len(people.person_name(rng)) <= 3


# -- the generated street ---------------------------------------------------------------------


def test_tiny_street_has_the_tiers_exact_counts(tiny_rows) -> None:
    """Rows match the tier's counts for every registry the tier fixes."""
    rows = tiny_rows
    uses = Counter(b["use"] for b in rows["buildings"])
    kinds = Counter(d["kind"] for d in rows["devices"])
    assert len(rows["streets"]) == 1
    assert len(rows["communities"]) == TINY.communities
    assert len(rows["compounds"]) == TINY.compounds
    assert len(rows["grids"]) == TINY.grids
    assert len(rows["households"]) == TINY.households
    assert len(rows["residents"]) == TINY.residents
    assert uses[BuildingUse.OFFICE.value] == TINY.office_buildings
    assert len(rows["enterprises"]) == TINY.enterprises
    assert sum(kinds[k.value] for k in FIRE_DEVICE_KINDS) == TINY.fire_devices
    assert len(rows["grid_workers"]) == TINY.grid_workers
    assert kinds[DeviceKind.TAXI_KIOSK.value] == TINY.taxi_kiosks
    compound_community = {c["id"]: c["community_id"] for c in rows["compounds"]}
    kiosk_areas = {
        compound_community[d["compound_id"]] for d in rows["devices"] if d["kind"] == "taxi_kiosk"
    }
    assert len(kiosk_areas) == TINY.taxi_kiosk_areas


def test_ids_are_dense_and_references_resolve(tiny_rows) -> None:
    """Each table's ids run 1..n and every foreign key points at an existing row."""
    rows = tiny_rows
    for table, table_rows in rows.items():
        assert [r["id"] for r in table_rows] == list(range(1, len(table_rows) + 1)), table
    ids = {t: {r["id"] for r in rs} for t, rs in rows.items()}
    assert {g["community_id"] for g in rows["grids"]} <= ids["communities"]
    assert {b["grid_id"] for b in rows["buildings"]} <= ids["grids"]
    assert {b["compound_id"] for b in rows["buildings"]} - {None} <= ids["compounds"]
    assert {h["building_id"] for h in rows["households"]} <= ids["buildings"]
    assert {h["address_id"] for h in rows["households"]} <= ids["addresses"]
    assert {r["household_id"] for r in rows["residents"]} == ids["households"]  # none empty
    assert {e["building_id"] for e in rows["enterprises"]} <= ids["buildings"]
    assert {d["resident_id"] for d in rows["devices"]} - {None} <= ids["residents"]
    assert {w["grid_id"] for w in rows["grid_workers"]} <= ids["grids"]
    assert len({(h["address_id"], h["room"]) for h in rows["households"]}) == len(
        rows["households"]
    )


def test_households_live_in_residential_buildings(tiny_rows) -> None:
    """Every household's building is residential, and its address is that building's."""
    buildings = {b["id"]: b for b in tiny_rows["buildings"]}
    addresses = {a["id"]: a for a in tiny_rows["addresses"]}
    for household in tiny_rows["households"]:
        assert buildings[household["building_id"]]["use"] == BuildingUse.RESIDENTIAL.value
        assert addresses[household["address_id"]]["building_id"] == household["building_id"]


def test_buildings_lie_inside_their_grids(tiny_rows) -> None:
    """Every building's footprint centroid and map point lie inside its grid's boundary."""
    grids = {g["id"]: g for g in tiny_rows["grids"]}
    for building in tiny_rows["buildings"]:
        boundary = grids[building["grid_id"]]["boundary"]
        assert point_in_geometry(geometry_centroid(building["footprint"]), boundary), building["id"]
        assert point_in_geometry((building["lon"], building["lat"]), boundary), building["id"]


def test_grids_lie_inside_their_communities_and_the_street(tiny_rows) -> None:
    """Every grid's centre lies in its community, and every community's in the street."""
    communities = {c["id"]: c for c in tiny_rows["communities"]}
    street = tiny_rows["streets"][0]["boundary"]
    for grid in tiny_rows["grids"]:
        centre = geometry_centroid(grid["boundary"])
        assert point_in_geometry(centre, communities[grid["community_id"]]["boundary"])
        assert point_in_geometry(centre, street)


def test_id_numbers_are_unique_and_valid(tiny_rows) -> None:
    """Every resident's ID number is valid, unique, and agrees with birth date and gender."""
    residents = tiny_rows["residents"]
    assert len({r["id_number"] for r in residents}) == len(residents)
    for r in residents:
        assert people.is_valid_id_number(r["id_number"]), r
        assert r["id_number"][6:14] == f"{r['birth_date']:%Y%m%d}"
        assert int(r["id_number"][16]) % 2 == (1 if r["gender"] == "M" else 0)
    assert len({e["uscc"] for e in tiny_rows["enterprises"]}) == len(tiny_rows["enterprises"])


def test_lives_alone_only_for_single_person_households(tiny_rows) -> None:
    """Only residents alone in their household are flagged, each with a smart water meter."""
    size = Counter(r["household_id"] for r in tiny_rows["residents"])
    alone = [r for r in tiny_rows["residents"] if r["lives_alone"]]
    assert alone, "the tiny street should have some elders living alone"
    for r in alone:
        assert size[r["household_id"]] == 1, r
        assert age_on(r["birth_date"], REFERENCE_DAY) >= 60, r
    meters = [d for d in tiny_rows["devices"] if d["kind"] == DeviceKind.WATER_METER.value]
    assert sorted(d["resident_id"] for d in meters) == sorted(r["id"] for r in alone)


def test_lives_alone_only_for_residents_aged_60_by_birth_date(tiny_rows) -> None:
    """Everyone flagged lives_alone is 60 or over on the reference day, counted from the birth date."""
    alone = [r for r in tiny_rows["residents"] if r["lives_alone"]]
    too_young = [
        (r["id"], r["birth_date"]) for r in alone if age_on(r["birth_date"], REFERENCE_DAY) < 60
    ]
    assert too_young == []


def test_same_seed_gives_identical_rows(tiny_rows) -> None:
    """Generating again with the same seed gives the same rows, apart from the creation time."""
    again = generate()
    assert again.keys() == tiny_rows.keys()
    for table in tiny_rows:
        if table == "streets":
            strip = [{k: v for k, v in r.items() if k != "created_at"} for r in again[table]]
            assert strip == [
                {k: v for k, v in r.items() if k != "created_at"} for r in tiny_rows[table]
            ]
        else:
            assert again[table] == tiny_rows[table], table


def test_different_seed_gives_different_residents(tiny_rows) -> None:
    """Another seed gives other residents (same counts, different people)."""
    other = generate(seed=8)
    assert len(other["residents"]) == len(tiny_rows["residents"])
    assert [r["name"] for r in other["residents"]] != [r["name"] for r in tiny_rows["residents"]]
    assert {r["id_number"] for r in other["residents"]} != {
        r["id_number"] for r in tiny_rows["residents"]
    }


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**31))
def test_any_seed_keeps_exact_counts_and_valid_ids(seed) -> None:
    """Whatever the seed, the tiny street keeps its exact counts and valid, unique ID numbers."""
    rows = generate(seed=seed)
    assert len(rows["households"]) == TINY.households
    assert len(rows["residents"]) == TINY.residents
    assert len(rows["enterprises"]) == TINY.enterprises
    assert len(rows["compounds"]) == TINY.compounds
    numbers = [r["id_number"] for r in rows["residents"]]
    assert len(set(numbers)) == len(numbers)
    assert all(people.is_valid_id_number(n) for n in numbers)


def tax_drops(rows: dict[str, list[dict]], pct: float, base: float) -> set[int]:
    """Return the enterprises whose tax fell from last year's snapshot by `pct` or more."""
    now = {e["id"]: e["annual_tax_wan"] for e in rows["enterprises"]}
    return {
        snap["enterprise_id"]
        for snap in rows["enterprise_snapshots"]
        if snap["annual_tax_wan"] >= base
        and 100 * (snap["annual_tax_wan"] - now[snap["enterprise_id"]]) / snap["annual_tax_wan"]
        >= pct
    }


def test_tax_moves_both_ways_and_only_the_big_changes_are_due_a_visit(monkeypatch) -> None:
    """Some firms' and buildings' tax grew since last year, some fell; the visits stay as they were."""
    tier = tiny_tier(enterprises=900, office_buildings=8)
    visits = load_rules_config().enterprise.visits
    rows = generate(tier, seed=11)
    monkeypatch.setattr(generator, "TAX_MOVED_SHARE", 0.0)
    unmoved = generate(tier, seed=11)

    now = {e["id"]: e["annual_tax_wan"] for e in rows["enterprises"]}
    last = {s["enterprise_id"]: s["annual_tax_wan"] for s in rows["enterprise_snapshots"]}
    grew = [e for e in now if now[e] > last[e]]
    assert len(grew) > 0.2 * len(now)
    assert all(
        s["annual_tax_wan"] >= now[s["enterprise_id"]] for s in unmoved["enterprise_snapshots"]
    )
    trend: dict[int, list[float]] = {}
    for e in rows["enterprises"]:
        sums = trend.setdefault(e["building_id"], [0.0, 0.0])
        sums[0] += now[e["id"]]
        sums[1] += last[e["id"]]
    offices = {b["id"] for b in rows["buildings"] if b["use"] == BuildingUse.OFFICE.value}
    changes = [this - before for b, (this, before) in trend.items() if b in offices]
    assert any(c > 0 for c in changes) and any(c < 0 for c in changes)

    # The firms due a tax-drop visit are the same with or without the moves (and there are some).
    due = tax_drops(rows, visits.tax_drop_pct, visits.tax_drop_min_base_wan)
    assert due and due == tax_drops(unmoved, visits.tax_drop_pct, visits.tax_drop_min_base_wan)
    # The moves draw from a stream of their own: every other generated value stays as it was.
    varying = {"streets": "created_at", "enterprise_snapshots": "annual_tax_wan"}
    for table in rows:
        column = varying.get(table)
        assert [{k: v for k, v in r.items() if k != column} for r in rows[table]] == [
            {k: v for k, v in r.items() if k != column} for r in unmoved[table]
        ], table


# -- the street's shape -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def changbai_rows() -> dict[str, list[dict]]:
    """Return the geography and buildings of the full Changbai street (no people: fast)."""
    street = StreetGenerator(TIERS["changbai"], 42, CENTER)
    street._geography()
    street._buildings()
    return street.rows


def test_buildings_overlap_neither_each_other_nor_roads_water_or_parks(changbai_rows) -> None:
    """No two footprints share area; none touches a road line, the river or a park."""
    footprints = [shape(b["footprint"]) for b in changbai_rows["buildings"]]
    assert all(f.is_valid and f.area > 0 for f in footprints)
    tree = STRtree(footprints)
    for i, footprint in enumerate(footprints):
        for j in tree.query(footprint, predicate="intersects"):
            assert j == i, (i, int(j))
    features = changbai_rows["map_features"]
    for feature in features:
        if feature["kind"] in ("road_main", "road_minor", "water", "green"):
            hit = tree.query(shape(feature["geometry"]), predicate="intersects")
            assert hit.size == 0, (feature["kind"], feature["name"])


def test_the_street_is_no_chessboard(changbai_rows) -> None:
    """Grids differ in size, roads bend, footprints differ in size and shape, floors vary."""
    grids = [shape(g["boundary"]).area for g in changbai_rows["grids"]]
    assert max(grids) > 1.5 * min(grids)
    roads = [shape(f["geometry"]) for f in changbai_rows["map_features"] if "road" in f["kind"]]
    # A bent road is longer than the straight line between its ends.
    assert any(r.length > 1.001 * Point(r.coords[0]).distance(Point(r.coords[-1])) for r in roads)
    footprints = [shape(b["footprint"]) for b in changbai_rows["buildings"]]
    areas = sorted(f.area for f in footprints)
    assert areas[-len(areas) // 10] > 2 * areas[len(areas) // 10]
    assert any(len(f.exterior.coords) > 5 for f in footprints), "some buildings are L-shaped"
    floors = Counter(b["floors"] for b in changbai_rows["buildings"])
    assert len(floors) > 8 and floors.most_common(1)[0][0] <= 7  # mostly walk-ups, some towers


def test_roads_water_and_parks_are_named_and_of_the_map_kinds(changbai_rows) -> None:
    """Every road has a Chinese name; main roads are few, the river and the parks named."""
    features = changbai_rows["map_features"]
    kinds = Counter(f["kind"] for f in features)
    assert set(kinds) == {"road_main", "road_minor", "block", "water", "green"}
    assert kinds["water"] == 1 and kinds["green"] >= 1
    for feature in features:
        if feature["kind"] != "block":
            assert feature["name"] and all("\u4e00" <= ch <= "\u9fff" for ch in feature["name"])
    main = {f["name"] for f in features if f["kind"] == "road_main"}
    minor = {f["name"] for f in features if f["kind"] == "road_minor"}
    assert main and minor and not main & minor
    # Addresses are on the roads the map draws.
    assert {a["road"] for a in changbai_rows["addresses"]} <= main | minor


def test_grids_tile_the_street(changbai_rows) -> None:
    """The grids cover the street without gaps or overlaps; each building lies in one grid only."""
    street = shape(changbai_rows["streets"][0]["boundary"])
    grids = [shape(g["boundary"]) for g in changbai_rows["grids"]]
    union = unary_union(grids)
    assert abs(union.area - street.area) < 1e-4 * street.area
    assert abs(sum(g.area for g in grids) - street.area) < 1e-4 * street.area
    for building in changbai_rows["buildings"]:
        footprint = shape(building["footprint"])
        inside = [i + 1 for i, g in enumerate(grids) if g.intersects(footprint)]
        assert inside == [building["grid_id"]], building["id"]


def test_a_street_seeded_under_its_own_name_carries_it_in_every_address() -> None:
    """COCKPIT_STREET_NAME reaches get_tier: the street row and every address take the name."""
    from cockpit.simulator.tiers import get_tier

    tier = get_tier("changbai", street_name=" 殷行街道 ")
    assert tier.street_name == "殷行街道" and get_tier("changbai").street_name == "长白新村街道"
    assert get_tier("changbai", street_name="  ").street_name == "长白新村街道"
    rows = StreetGenerator(dataclasses.replace(TINY, street_name=tier.street_name), 7, CENTER)
    rows = rows.generate()
    assert rows["streets"][0]["name"] == "殷行街道"
    assert all(a["full_text"].startswith("殷行街道") for a in rows["addresses"])


def test_the_default_street_is_changbai() -> None:
    """A fresh start seeds 长白新村街道, the street the README shows, around the default centre."""
    from cockpit.settings import Settings

    assert TIERS[Settings().scale].street_name == "长白新村街道"
