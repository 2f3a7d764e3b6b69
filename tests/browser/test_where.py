"""Read "where" as people would: a case card, an alert card and a grid worker's task say where.

Each names the address (to the building, no room), the building, and the community and grid, in
the page's language; the tablet's card flies the map to the building, the phone's task links to
the phone's own map app at it. Expected places are read from the store, not from the page.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import re
import time
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.browser.conftest import REDIS_URL, CockpitServer, wait_for_js
from tests.browser.test_map import map_ready
from tests.browser.test_screens import CJK, wait_for_text

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/wherecards")
# A room or a unit after the building's number (501室, 3单元): never on a card.
ROOM = re.compile(r"[0-9]+室|单元|\bRoom\b|\bUnit\b", re.IGNORECASE)
# Far enough to say the map moved, near enough to say it went to the building (~100 m).
NEAR_DEG = 0.001


def shot(page, name: str) -> None:
    """Save a screenshot under /tmp/wherecards/ for a person to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def place_of_building(server: CockpitServer, building_id: int) -> dict:
    """Return a building's roads, centre, community and grid names from the store."""
    from sqlalchemy import select

    from cockpit.store import schema
    from cockpit.store.database import make_engine

    b, g, c, a = schema.Building, schema.Grid, schema.Community, schema.Address
    engine = make_engine(server.database_url)
    try:
        with engine.connect() as conn:
            lat, lon, grid, community = conn.execute(
                select(b.lat, b.lon, g.name, c.name)
                .join(g, g.id == b.grid_id)
                .join(c, c.id == g.community_id)
                .where(b.id == building_id)
            ).one()
            addresses = conn.execute(
                select(a.road, a.number).where(a.building_id == building_id)
            ).all()
    finally:
        engine.dispose()
    return {
        "lat": lat,
        "lon": lon,
        "grid": grid,
        "community": community,
        "roads": {road for road, _ in addresses},
        # The house number to the building: its leading digits (107弄1号 → 107).
        "numbers": {re.match(r"[0-9]*", number).group(0) for _, number in addresses},
    }


def open_cases_with_a_building(server: CockpitServer, states: tuple[str, ...]) -> list[int]:
    """Return ids of open cases in the states that are tied to a building, newest first."""
    from sqlalchemy import select

    from cockpit.store import schema
    from cockpit.store.database import make_engine

    engine = make_engine(server.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(schema.Case.id)
                .where(schema.Case.state.in_(states), schema.Case.building_id.is_not(None))
                .order_by(schema.Case.id.desc())
            ).all()
    finally:
        engine.dispose()
    return [row[0] for row in rows]


def building_of_case(server: CockpitServer, case_id: int) -> int:
    """Return the building a case is tied to."""
    from sqlalchemy import select

    from cockpit.store import schema
    from cockpit.store.database import make_engine

    engine = make_engine(server.database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                select(schema.Case.building_id).where(schema.Case.id == case_id)
            ).scalar_one()
    finally:
        engine.dispose()


def assert_names_the_place(text: str, place: dict, lang: str) -> None:
    """Check a card's or task's text names the building's address, community and grid."""
    from cockpit.i18n import place_name

    assert not ROOM.search(text), f"a room on the card: {text!r}"
    if lang == "zh":
        assert any(road in text for road in place["roads"]), (place["roads"], text)
        assert place["grid"] in text and place["community"] in text, text
    else:
        assert not CJK.search(text), f"Chinese on an English card: {text!r}"
        assert place_name(place["grid"], "en") in text, text
        assert place_name(place["community"], "en") in text, text
        assert any(place_name(road, "en") in text for road in place["roads"]), text
    assert any(n and n in text for n in place["numbers"]), (place["numbers"], text)


def map_centre(page) -> tuple[float, float, float]:
    """Return the live map's centre (lat, lon) and zoom."""
    return tuple(
        page.evaluate(
            "() => { const m = window.cockpitMap.registry.map, c = m.getCenter();"
            " return [c.lat, c.lng, m.getZoom()]; }"
        )
    )


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_case_card_says_where_and_shows_it_on_the_map(cockpit, open_page, lang) -> None:
    page = open_page(f"{cockpit.url}?mode=tablet&lang={lang}", 1024, 768, role="dispatcher")
    map_ready(page)
    wanted = set(open_cases_with_a_building(cockpit, ("reported", "registered", "dispatched")))
    assert wanted, "the street has no open case tied to a building"
    page.locator("#panel-cases-body .case-row").first.wait_for(timeout=30_000)
    # The first row of the open-case list whose case the store ties to a building.
    shown = page.eval_on_selector_all(
        "#panel-cases-body .case-row", "els => els.map(e => JSON.parse(e.dataset.pick).id)"
    )
    case_id = next((i for i in shown if i in wanted), None)
    assert case_id is not None, f"no listed case has a building: {shown[:10]}"
    pick = json.dumps({"kind": "case", "id": case_id}, separators=(",", ":"))
    page.locator(f"#panel-cases-body .case-row[data-pick='{pick}']").first.click()
    card = page.locator(f".card-case[data-case='{case_id}']")
    card.wait_for(timeout=15_000)
    where = card.locator(".card-where")
    building_id = building_of_case(cockpit, case_id)
    place = place_of_building(cockpit, building_id)
    text = where.inner_text()
    assert_names_the_place(text, place, lang)
    for part in ("where-address", "where-building", "where-community", "where-grid"):
        value = where.locator(f".{part} .card-val").inner_text().strip()
        assert value and value != "—", f"{part} is empty on the card: {text!r}"
    shot(page, f"case-card-{lang}")

    before = map_centre(page)
    button = where.locator(".where-show-on-map")
    assert button.inner_text().endswith("在地图上查看" if lang == "zh" else "Show on map")
    button.click()
    # The map flies to the building: its centre ends near the building, which it was not.
    wait_for_js(
        page,
        "() => { const m = window.cockpitMap.registry.map, c = m.getCenter();"
        f" return m.getZoom() >= 17 && Math.abs(c.lat - {place['lat']}) < {NEAR_DEG}"
        f" && Math.abs(c.lng - {place['lon']}) < {NEAR_DEG}; }}",
        timeout=10,
    )
    after = map_centre(page)
    moved = math.hypot(after[0] - before[0], after[1] - before[1])
    assert moved > 0 or after[2] > before[2], f"the map did not move: {before} -> {after}"
    assert after[2] >= 17, f"the map did not zoom to the building: {after}"
    # The building's own card opens over the map (its title romanised in English).
    building = page.locator(f".card-building[data-building='{building_id}']")
    building.wait_for(timeout=10_000)
    title = building.locator(".card-title").inner_text()
    if lang == "en":
        assert not CJK.search(title), f"a Chinese name on an English card: {title!r}"
    shot(page, f"case-card-building-{lang}")
    # Closing it shows the map, scrolled into view, at the building.
    page.click("#card-close")
    wait_for_text(page, "#card-overlay", lambda t: t == "", timeout=5)
    box = page.locator(".leaflet-container").first.bounding_box()
    assert box and box["y"] < 768 / 2 and box["y"] + box["height"] > 768 / 2, box
    shot(page, f"case-card-on-map-{lang}")
    assert page.console_errors == []


def smoke_alarm_on_a_detector(server: CockpitServer) -> tuple[int, int, int]:
    """Send a real smoke detector's alarm through ingest and the rules; return (alert, device, building).

    The same path the MQTT bridge feeds: validated, put in live state, the streaming rules raise
    the alert in the alert book, and the server's worker puts it on the ticker.
    """
    from sqlalchemy import select

    from cockpit.alerts import AlertBook
    from cockpit.cases.deadlines import load_cases_config
    from cockpit.cases.desk import CaseDesk
    from cockpit.clock import SystemClock
    from cockpit.ingest import Ingest
    from cockpit.live import RedisLiveStore
    from cockpit.rules.config import load_rules_config
    from cockpit.settings import Settings
    from cockpit.store import schema
    from cockpit.store.database import make_engine
    from cockpit.streaming import StreamingRules

    engine = make_engine(server.database_url)
    try:
        d = schema.Device
        with engine.connect() as conn:
            street = conn.execute(select(schema.Street.code)).scalar_one()
            detectors = conn.execute(
                select(d.id, d.building_id).where(d.kind == "smoke", d.building_id.is_not(None))
            ).all()
        device, building = random.choice(detectors)
        live = RedisLiveStore.from_url(REDIS_URL, street)
        alerts = AlertBook(engine, live)
        settings = Settings()
        ingest = Ingest(
            engine,
            live,
            SystemClock(),
            StreamingRules(engine, alerts, load_rules_config(settings.rules_file)),
            CaseDesk(engine, live, SystemClock(), load_cases_config(settings.cases_file), alerts),
        )
        seq = live.latest([device]).get(device, {}).get("seq", 0) + 1
        message = {
            "device_id": device,
            "device_type": "smoke",
            "kind": "event",
            "ts": datetime.now(UTC).isoformat(),
            "seq": seq,
            "values": {"alarm": True, "obscuration_pct_m": 4.2, "battery_pct": 90},
        }
        assert ingest.device_messages([message]).accepted == 1
        a = schema.Alert
        with engine.connect() as conn:
            alert = conn.execute(
                select(a.id)
                .where(a.kind == "fire.smoke", a.object_type == "device", a.object_id == device)
                .order_by(a.id.desc())
            ).scalar()
        assert alert is not None, f"the smoke alarm of device {device} raised no alert"
        return alert, device, building
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def smoke_alarm(cockpit) -> tuple[int, int, int]:
    """Raise one smoke alarm on a real detector for the module's alert cards."""
    return smoke_alarm_on_a_detector(cockpit)


def open_alert_card(page, alert_id: int) -> str:
    """Tap the alert on the ticker and return its card's text."""
    pick = json.dumps({"kind": "alert", "id": str(alert_id)}, separators=(",", ":"))
    item = page.locator(f".ticker-item[data-pick='{pick}']")
    item.first.wait_for(state="attached", timeout=30_000)
    item.first.dispatch_event("click")  # the ticker scrolls: no stable position to click
    page.locator(".card-alert .card-where").wait_for(timeout=10_000)
    return page.inner_text(".card-alert")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_an_alert_card_names_the_device_by_kind_and_place(
    cockpit, open_page, smoke_alarm, lang
) -> None:
    alert, device, building = smoke_alarm
    page = open_page(f"{cockpit.url}?mode=tablet&lang={lang}", 1024, 768, role="dispatcher")
    text = open_alert_card(page, alert)
    place = place_of_building(cockpit, building)
    assert_names_the_place(page.inner_text(".card-alert .card-where"), place, lang)
    # The object line names the kind and the place, never a row number (设备 #1234).
    object_line = page.locator(
        ".card-alert .card-field", has_text="烟感" if lang == "zh" else "Smoke"
    )
    assert object_line.count() >= 1, text
    assert str(device) not in text and "#" not in text, text
    if lang == "en":
        assert not CJK.search(text), text
    shot(page, f"alert-card-{lang}")
    assert page.console_errors == []


def dispatch_the_alarms_case(server: CockpitServer, alert_id: int) -> tuple[int, int]:
    """Dispatch the case a smoke alarm opened to a worker of its grid; return (case, worker)."""
    from sqlalchemy import select

    from cockpit.cases.deadlines import load_cases_config
    from cockpit.cases.desk import CaseDesk
    from cockpit.clock import SystemClock
    from cockpit.live import RedisLiveStore
    from cockpit.settings import Settings
    from cockpit.store import schema
    from cockpit.store.database import make_engine

    engine = make_engine(server.database_url)
    try:
        c, b = schema.Case, schema.Building
        deadline = time.monotonic() + 30
        found = None
        while found is None and time.monotonic() < deadline:
            with engine.connect() as conn:
                found = conn.execute(
                    select(c.id, c.state, b.grid_id)
                    .join(b, b.id == c.building_id)
                    .where(c.alert_id == alert_id)
                ).first()
            if found is None:
                time.sleep(0.25)  # the server's worker opens the alert's case
        assert found is not None, f"alert {alert_id} opened no case tied to a building"
        case_id, state, grid = found
        with engine.connect() as conn:
            street = conn.execute(select(schema.Street.code)).scalar_one()
            worker = (
                conn.execute(
                    select(schema.GridWorker.id)
                    .where(schema.GridWorker.grid_id == grid)
                    .order_by(schema.GridWorker.id)
                ).scalar()
                or conn.execute(select(schema.GridWorker.id)).scalar()
            )
        desk = CaseDesk(
            engine,
            RedisLiveStore.from_url(REDIS_URL, street),
            SystemClock(),
            load_cases_config(Settings().cases_file),
        )
        if state == "reported":
            desk.act("register", "setup:test", case_id=case_id)
        desk.act("dispatch", "setup:test", case_id=case_id, target=f"worker:{worker}")
        return case_id, worker
    finally:
        engine.dispose()


def floor_of(server: CockpitServer, device_id: int) -> int | None:
    """Return the floor a device is installed on."""
    from sqlalchemy import select

    from cockpit.store import schema
    from cockpit.store.database import make_engine

    engine = make_engine(server.database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                select(schema.Device.floor).where(schema.Device.id == device_id)
            ).scalar_one()
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def dispatched(cockpit, smoke_alarm) -> tuple[int, int]:
    """Dispatch the smoke alarm's case to a grid worker of its grid."""
    return dispatch_the_alarms_case(cockpit, smoke_alarm[0])


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_grid_workers_task_says_where_to_go(
    cockpit, open_page, smoke_alarm, dispatched, lang
) -> None:
    case_id, worker = dispatched
    _, device, building = smoke_alarm
    page = open_page(f"{cockpit.url}worker?worker={worker}&lang={lang}", 390, 844)
    task = page.locator(f".worker-task[data-case='{case_id}']")
    task.wait_for(timeout=20_000)
    where = task.locator(".worker-where")
    text = where.inner_text()
    place = place_of_building(cockpit, building)
    assert text.startswith("前往" if lang == "zh" else "Go to"), text
    assert_names_the_place(text, place, lang)
    # A smoke alarm's task says the detector's floor: where in the building to go.
    floor = floor_of(cockpit, device)
    if floor is not None:
        assert (f"{floor}楼" if lang == "zh" else f"floor {floor}") in text, text
    link = where.locator("a.worker-map-link")
    href = link.get_attribute("href")
    found = re.match(r"geo:(-?[0-9.]+),(-?[0-9.]+)(\?|$)", href or "")
    assert found, f"not a geo: link: {href!r}"
    lat, lon = float(found.group(1)), float(found.group(2))
    assert abs(lat - place["lat"]) < NEAR_DEG and abs(lon - place["lon"]) < NEAR_DEG, href
    assert not ROOM.search(urllib.parse.unquote(href)), href
    # Big enough for a thumb, and nothing wider than the phone.
    assert link.bounding_box()["height"] >= 44
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, f"worker-task-{lang}")
    assert page.console_errors == []


def rooms_of_the_register(server: CockpitServer, limit: int = 3000) -> set[str]:
    """Return addresses down to the room (安图路3号501室) of households in the register."""
    from sqlalchemy import select

    from cockpit.store import schema
    from cockpit.store.database import make_engine

    engine = make_engine(server.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(schema.Address.number, schema.Household.room)
                .join(schema.Household, schema.Household.address_id == schema.Address.id)
                .limit(limit)
            ).all()
    finally:
        engine.dispose()
    return {f"{number}{room}" for number, room in rows if room}


def test_the_wall_names_places_no_finer_than_its_policy(cockpit, open_page, smoke_alarm) -> None:
    """The wall (kiosk) may name a device's building; it never receives a room, nor a case's place."""
    alert, _, building = smoke_alarm
    bodies: list[str] = []
    answers = []

    def keep(response) -> None:
        answers.append(response.status)
        # A redirect, a 204 (nothing new), or a body the browser already let go has no text.
        with contextlib.suppress(Exception):
            bodies.append(response.text())

    page = open_page(f"{cockpit.url}?mode=wall&lang=zh", 1920, 1080, role="kiosk")
    page.on("response", keep)
    page.reload()  # everything the wall receives, from its page and first views on
    wait_for_text(page, "#data-freshness", lambda t: "秒前" in t)
    open_alert_card(page, alert)
    place = place_of_building(cockpit, building)
    # A detector on a stair or a corridor is the building's: the wall may say which building.
    assert any(road in page.inner_text(".card-alert") for road in place["roads"])
    assert page.locator(".card-alert .where-show-on-map").count() == 0  # nothing to tap
    time.sleep(2)  # a few more refreshes of every view
    seen = "\n".join(bodies)
    assert len(answers) > 5 and len(bodies) > 5
    rooms = [r for r in rooms_of_the_register(cockpit) if r in seen]
    assert rooms == [], f"the wall received addresses down to the room: {rooms[:5]}"
    # The wall's case view holds counts and codes, never where a case is.
    views = [v for b in bodies for v in objects_with(parsed(b), "funnel")]
    assert views, "the wall received no case view"
    assert not [v for v in views if objects_with(v, "where")], "a case's place on the wall"


def parsed(body: str):
    """Return a response body as JSON, or None when it is not JSON."""
    try:
        return json.loads(body)
    except ValueError:
        return None


def objects_with(value, key: str) -> list[dict]:
    """Return every JSON object under the value (itself included) that has the key."""
    found = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if key in item:
                found.append(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found
