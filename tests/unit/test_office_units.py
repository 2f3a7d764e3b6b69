"""Check the simulator's lettable units per office building, which office vacancy is counted on."""

from __future__ import annotations

from collections import defaultdict

from cockpit.domain.kinds import OFFICE_UNITS_PROPERTY
from cockpit.simulator.generator import OFFICE_OCCUPANCY, StreetGenerator
from tests.streets import tiny_tier

CENTER = (121.537, 31.279)
# Enough firms that a building's let rooms, not its floor count, decide its units.
BUSY = tiny_tier(enterprises=600)


def rooms_let(rows: dict[str, list[dict]]) -> dict[int, set[str]]:
    """Return office building id → the rooms its operating enterprises occupy."""
    offices = {b["id"] for b in rows["buildings"] if b["use"] == "office"}
    let: dict[int, set[str]] = defaultdict(set)
    for e in rows["enterprises"]:
        if e["building_id"] in offices and e["status"] == "operating":
            let[e["building_id"]].add(e["room"])
    return let


def test_every_office_building_counts_units_that_hold_its_let_rooms():
    rows = StreetGenerator(BUSY, 7, CENTER).generate()
    let = rooms_let(rows)
    offices = [b for b in rows["buildings"] if b["use"] == "office"]
    assert len(offices) == BUSY.office_buildings
    low, high = OFFICE_OCCUPANCY
    for b in offices:
        units = b["properties"][OFFICE_UNITS_PROPERTY]
        assert isinstance(units, int) and units >= max(len(let[b["id"]]), b["floors"])
        occupancy = len(let[b["id"]]) / units
        assert low - 0.01 <= occupancy <= high, (b["id"], occupancy)
    others = [b for b in rows["buildings"] if b["use"] != "office"]
    assert others and all(b["properties"] is None for b in others)


def test_units_leave_the_rest_of_the_street_as_it_was(monkeypatch):
    """The units draw from a stream of their own: same seed, same units; nothing else moves."""
    first = StreetGenerator(BUSY, 11, CENTER).generate()
    assert StreetGenerator(BUSY, 11, CENTER).generate()["buildings"] == first["buildings"]
    other = StreetGenerator(BUSY, 12, CENTER).generate()
    units = [b["properties"] for b in first["buildings"] if b["use"] == "office"]
    assert units != [b["properties"] for b in other["buildings"] if b["use"] == "office"]
    monkeypatch.setattr(StreetGenerator, "_office_units", lambda self: None)
    without = StreetGenerator(BUSY, 11, CENTER).generate()
    for table, rows in first.items():
        if table == "buildings":
            rows = [dict(b, properties=None) for b in rows]
        elif table == "streets":
            rows = [dict(r, created_at=None) for r in rows]
            without[table] = [dict(r, created_at=None) for r in without[table]]
        assert rows == without[table], table
