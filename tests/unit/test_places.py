"""Check that every card and task says where: address to the building, building, community, grid.

The card data (case summaries, tasks, building, device and alert cards) and the cards drawn from
it, in Chinese and English, and what each role's view carries of a place.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from cockpit import places
from cockpit.access.policy import Principal, Role
from cockpit.access.views import view_for
from cockpit.cases.panel import CASES, CASES_WALL, build_case_views
from cockpit.map_layers import building_cards, compose_building_card, compose_device_card
from cockpit.map_views import MapViews
from cockpit.privacy import AREA_KEYS, WHERE_KEYS, building_address, where_for
from cockpit.worker import TickerFeed
from data_adapters.map_geometry import MapRows
from layouts.cases import case_card
from layouts.grid_worker import task_card
from layouts.map import building_card, device_card

NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
CJK = re.compile(r"[\u3400-\u9fff]")
PLACE = {
    "road": "安图路",
    "number": "3号",
    "building_id": 11,
    "use": "residential",
    "floors": 6,
    "community": "安图社区",
    "grid": "安图社区第2网格",
    "lon": 121.53,
    "lat": 31.28,
}
ZH = ("安图路3号", "住宅 · 6层", "安图社区", "安图社区第2网格")
EN = ("No. 3, Antu Road", "Residential · 6 floors", "Antu Community", "Antu Community Grid 2")


def text(component: Any) -> str:
    """Return every string of a Dash component tree, joined."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, str | int | float):
            found.append(str(node))
        elif isinstance(node, list | tuple):
            for child in node:
                walk(child)
        elif node is not None and hasattr(node, "children"):
            walk(node.children)

    walk(component)
    return " ".join(found)


def props_of(component: Any, class_name: str) -> list[dict[str, Any]]:
    """Return the props of every component in the tree carrying the class."""
    found = []

    def walk(node: Any) -> None:
        if isinstance(node, list | tuple):
            for child in node:
                walk(child)
        elif node is not None and hasattr(node, "to_plotly_json"):
            props = node.to_plotly_json()["props"]
            if class_name in str(props.get("className", "")).split():
                found.append(props)
            walk(getattr(node, "children", None))

    walk(component)
    return found


def case_row(case_id: int = 7, **changes: Any) -> dict[str, Any]:
    """Return an open case as data_adapters.case_facts reads it, with its where_* columns."""
    row = {
        "id": case_id,
        "code": f"RQ{case_id:08d}",
        "source": "resident",
        "category": "repair",
        "title": "设施报修 · 安图路3号",
        "title_en": "Facility repair · No. 3, Antu Road",
        "state": "dispatched",
        "parked_from": None,
        "priority": "normal",
        "centre": "street",
        "routing": "routine",
        "assignee": "worker:5",
        "department": "grid",
        "grid_id": 2,
        "building_id": 11,
        "reporter_worker_id": None,
        "lon": 121.53,
        "lat": 31.28,
        "reported_at": "2026-12-02T01:00:00+00:00",
        "deadline_at": "2026-12-02T09:00:00+00:00",
        "paused_remaining_s": None,
        "supervised_at": None,
        "escalated_at": None,
        "dispatch_count": 1,
        "rework_count": 0,
    }
    row |= {f"where_{k}": v for k, v in PLACE.items()}
    return row | changes


def facts(*rows: dict[str, Any]) -> dict[str, Any]:
    """Return case facts holding the rows as open cases."""
    return {
        "now": NOW.isoformat(),
        "by_state": {"dispatched": len(rows)},
        "cases_today": len(rows),
        "open": list(rows),
        "open_total": len(rows),
        "revisits": [],
        "history": {},
        "targets": {"workers": [{"id": 5, "grid_id": 2, "name": "王小明"}]},
        "indicators": {"street": {}},
    }


# -- the rules: to the building, and what each screen may carry ------------------------------

ROOMS = st.sampled_from(["501室", "3单元501室", "-501", "栋2单元", "#1201", " 1201", "楼3层"])


@given(
    road=st.sampled_from(["安图路", "延吉东路", "松花江路"]),
    lane=st.one_of(st.none(), st.integers(1, 999)),
    number=st.integers(1, 999),
    room=st.one_of(st.just(""), ROOMS),
    flat=st.sampled_from(["", "-501", " 1201", "#1201", "/501", "栋2单元", "幢3层"]),
)
def test_an_address_goes_to_the_building_never_the_room(road, lane, number, room, flat) -> None:
    house = f"{lane}弄{number}号" if lane else f"{number}号"
    assert building_address(road, house + room) == road + house
    # A number written without 号 keeps the house before a separator (12-501, 12栋2单元).
    assert building_address(road, f"{number}{flat}") == f"{road}{number}"
    # Digits run into a room (1501室) cannot be told apart: nothing is kept rather than a room.
    assert building_address(road, f"{number}501室") is None


def test_an_address_needs_a_road_and_a_number_and_masks_what_was_typed() -> None:
    assert building_address(None, "3号") is None and building_address("安图路", " ") is None
    assert "13912345678" not in building_address("安图路", "13912345678号")


PLACES = st.fixed_dictionaries(
    {},
    optional={
        key: st.one_of(st.text(max_size=8), st.integers(0, 50), st.floats(-180, 180))
        for key in (*WHERE_KEYS, "room", "name", "resident")
    },
)


@given(place=PLACES, personal=st.booleans(), records=st.booleans())
def test_a_screen_gets_only_what_its_audience_may_read_of_a_place(place, personal, records):
    shown = where_for(place, personal=personal, may_read_records=records) or {}
    assert set(shown) <= WHERE_KEYS, "never a room, a name or anything else"
    if personal and not records:
        # The wall learns the area of a resident's matter, never the building they live in.
        assert set(shown) <= AREA_KEYS
    else:
        assert shown == {k: v for k, v in place.items() if k in WHERE_KEYS and v not in (None, "")}


@given(role=st.sampled_from(list(Role)))
def test_each_role_receives_the_address_only_where_it_may_read_records(role) -> None:
    principal = Principal(1, "someone", role, worker_id=5 if role is Role.GRID_WORKER else None)
    views = build_case_views(facts(case_row()), NOW)
    name = view_for(principal, CASES)
    published = {CASES: views.cases, CASES_WALL: views.wall}.get(name) or {}
    body = json.dumps(published, ensure_ascii=False)
    if role in (Role.KIOSK, Role.GRID_WORKER):
        assert "安图路3号" not in body and "安图社区" not in body
    else:
        assert "安图路3号" in body
    # A grid worker reads the place of their own tasks (the page's `tasks:<id>` view).
    tasks = json.dumps(views.worker_view("5"), ensure_ascii=False)
    assert "安图路3号" in tasks and "安图社区第2网格" in tasks


# -- the card data ------------------------------------------------------------------------------


def test_a_place_is_spelt_in_both_languages() -> None:
    place = places.where(**PLACE, floor=5)
    said_zh, said_en = places.words(place, "zh"), places.words(place, "en")
    assert (said_zh["address"], said_zh["building"], said_zh["community"], said_zh["grid"]) == ZH
    assert (said_en["address"], said_en["building"], said_en["community"], said_en["grid"]) == EN
    assert places.headline(place, "zh") == "安图路3号 · 5楼"
    assert places.headline(place, "en") == "No. 3, Antu Road · floor 5"
    assert places.headline(None, "en") == "Location unknown"
    assert places.geo_uri(place).startswith("geo:31.280000,121.530000?q=31.280000,121.530000(")
    assert places.geo_uri({"address": "安图路3号"}) is None


def test_a_case_summary_and_a_task_carry_the_place_from_the_facts() -> None:
    views = build_case_views(facts(case_row()), NOW)
    (case,) = views.cases["open"]
    assert case["where"] == {"address": "安图路3号"} | {
        k: v for k, v in PLACE.items() if k not in ("road", "number")
    }
    assert views.worker_view("5")["tasks"][0]["where"] == case["where"]
    # The wall's view names no place at all.
    assert "where" not in json.dumps(views.wall) and "安图" not in json.dumps(views.wall)
    # A case nothing places has no place, and says so on its card.
    bare = {k: None for k in case_row() if k.startswith("where_")}
    (unplaced,) = build_case_views(facts(case_row(**bare)), NOW).cases["open"]
    assert unplaced["where"] is None
    assert "Location unknown" in text(case_card(unplaced, "en", interactive=False))


def test_the_case_card_says_where_in_both_languages_with_a_show_on_map_button() -> None:
    (case,) = build_case_views(facts(case_row()), NOW).cases["open"]
    for lang, expected in (("zh", ZH), ("en", EN)):
        card = case_card(case, lang, nonce="n", drawn_from="fp")
        (block,) = props_of(card, "card-where")
        said = text(block["children"])
        assert all(part in said for part in expected), (lang, said)
        (button,) = props_of(card, "where-show-on-map")
        assert json.loads(button["data-pick"]) == {"kind": "building", "id": 11}
        assert json.loads(button["data-focus"]) == {"building": 11, "at": [31.28, 121.53]}
    assert not CJK.search(text(props_of(case_card(case, "en"), "card-where")[0]["children"]))


def test_the_grid_workers_task_says_where_to_go_first() -> None:
    task = build_case_views(facts(case_row()), NOW).worker_view("5")["tasks"][0]
    for lang, expected in (("zh", ZH), ("en", EN)):
        card = task_card(task, lang, "nonce")
        first = card.children[1]  # under the task's kind and code, before its title
        assert "worker-where" in first.className
        said = text(first)
        assert all(part in said for part in expected), (lang, said)
        (link,) = props_of(card, "worker-map-link")
        assert link["href"].startswith("geo:31.280000,121.530000?q=")


def map_rows() -> MapRows:
    """Return a one-building street with a smoke detector and an elder's door sensor."""
    square = {
        "type": "Polygon",
        "coordinates": [[[121.53, 31.28], [121.531, 31.28], [121.531, 31.281], [121.53, 31.28]]],
    }
    return MapRows(
        street={"name": "长白新村街道", "center_lon": 121.53, "center_lat": 31.28, "boundary": square},
        communities=[{"id": 1, "name": "安图社区", "boundary": square}],
        grids=[{"id": 2, "code": "G2", "name": "安图社区第2网格", "community_id": 1, "boundary": square}],
        buildings=[
            {"id": 11, "code": "B11", "name": None, "use": "residential", "floors": 6, "grid_id": 2, "compound_id": None, "footprint": square, "lon": 121.53, "lat": 31.28},
        ],
        devices=[
            {"id": 8366, "code": "SM1", "kind": "smoke", "building_id": 11, "floor": 5, "lon": 121.5301, "lat": 31.2801},
            {"id": 9000, "code": "DS1", "kind": "door_sensor", "building_id": 11, "floor": 4, "lon": 121.5302, "lat": 31.2802},
        ],
        places={11: "安图路3号"},
    )  # fmt: skip


def test_building_and_device_cards_say_where_in_both_languages() -> None:
    cards = building_cards(map_rows(), [], None)
    building = compose_building_card(11, cards, None, None, None)
    device = compose_device_card(
        {"id": 8366, "k": "smoke", "b": 11, "c": "SM1", "f": 5}, cards, None, None
    )
    for lang, expected in (("zh", ZH), ("en", EN)):
        for card in (building_card(building, lang), device_card(device, lang)):
            (block,) = props_of(card, "card-where")
            said = text(block["children"])
            assert all(part in said for part in expected), (lang, said)
    assert "5楼" in text(device_card(device, "zh"))


class Publisher:
    """Stand in for the view publisher: the map's views are kept, nothing is sent."""

    def __init__(self) -> None:
        self.views: dict[str, Any] = {}
        self.live = self

    def publish(self, name: str, model: Any, now: datetime, version: str | None = None) -> str:
        self.views[name] = model
        return str(len(self.views))

    def get_view(self, name: str) -> Any:
        return self.views.get(name)


def test_an_alert_card_names_the_device_by_kind_and_place_and_hides_a_residents_home() -> None:
    views = MapViews(None, None, None)  # adapters are not read: the geometry is handed over
    views._publish_geometry(Publisher(), map_rows(), NOW)
    smoke = views.where_of({"object_type": "device", "object_id": 8366})
    assert smoke["zh"]["device"] == "烟感 · 安图路3号 · 5楼"
    assert smoke["en"]["device"] == "Smoke detector · No. 3, Antu Road · floor 5"
    assert smoke["en"]["grid"] == "Antu Community Grid 2" and smoke["building_id"] == 11
    building = views.where_of({"object_type": "building", "object_id": 11})
    assert building["zh"]["headline"] == "安图路3号" and "device" not in building["zh"]
    # An elder's door sensor is in their home: every screen gets the ticker, so only the area.
    door = views.where_of({"object_type": "device", "object_id": 9000})
    assert "安图路3号" not in json.dumps(door, ensure_ascii=False)
    assert door["zh"]["community"] == "安图社区" and "building_id" not in door
    ticker = TickerFeed()
    ticker.where_of = views.where_of
    ticker.absorb(
        [
            (
                "1-0",
                {
                    "event": "raised",
                    "id": 40,
                    "kind": "fire.smoke",
                    "level": "red",
                    "object_type": "device",
                    "object_id": 8366,
                    "title_zh": "烟感报警",
                    "title_en": "Smoke alarm",
                    "ts": NOW.timestamp(),
                },
            )
        ]
    )
    (item,) = ticker.model()["items"]
    assert item["where"] == smoke
