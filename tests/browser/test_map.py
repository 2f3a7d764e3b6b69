"""Look at the live map as people would: an alert raised now pulses on it, a tapped building opens."""

from __future__ import annotations

import threading
import time
import urllib.request
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from werkzeug.serving import make_server

from cockpit.domain.kinds import AlertLevel
from cockpit.rules.results import AlertCandidate, Reason, condition_key
from tests.browser.conftest import SignInAccounts, free_port, screenshot, wait_for_js

pytestmark = pytest.mark.browser
MARKER = "地图测试烟感报警"


@pytest.fixture(scope="module")
def live_cockpit(tmp_path_factory) -> Iterator[SimpleNamespace]:
    """Serve the real app in this process, so the test can raise an alert in its stores."""
    from app import create_app
    from cockpit.runtime import Runtime
    from cockpit.settings import Settings

    port = free_port()
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("map-cockpit"),
        database_url=None,
        redis_url=None,
        mqtt_url=None,
        scale="changbai",
        refresh_ms=500,
        live_poll_seconds=0.5,
        port=port,
    )
    runtime = Runtime.open(settings)
    app = create_app(settings, runtime)
    server = make_server("127.0.0.1", port, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while runtime.live.get_view("map_geometry") is None and time.monotonic() < deadline:
        time.sleep(0.25)
    urllib.request.urlopen(url + "healthz", timeout=10).close()
    SignInAccounts.running[url] = SignInAccounts(url, settings.resolved_database_url)
    yield SimpleNamespace(url=url, runtime=runtime)
    SignInAccounts.running.pop(url, None)
    server.shutdown()
    runtime.stop()


def map_ready(page) -> None:
    """Wait until buildings and devices are drawn and coloured."""
    wait_for_js(
        page,
        "() => { const r = window.cockpitMap && window.cockpitMap.registry;"
        " return r && r.buildings.size > 0 && r.deviceGroups.size > 0"
        " && Object.keys(r.colours).length > 0; }",
        timeout=60,
    )


def first_smoke_device(runtime) -> int:
    """Return a smoke detector's id from the store."""
    from sqlalchemy import select

    from cockpit.store import schema

    with runtime.engine.connect() as conn:
        return conn.execute(
            select(schema.Device.id).where(schema.Device.kind == "smoke").limit(1)
        ).scalar_one()


def test_alert_raised_now_reaches_ticker_and_map(live_cockpit, open_page):
    page = open_page(live_cockpit.url + "?mode=wall", 1920, 1080)
    map_ready(page)
    device_id = first_smoke_device(live_cockpit.runtime)
    candidate = AlertCandidate(
        kind="fire.smoke",
        level=AlertLevel.RED,
        object_type="device",
        object_id=device_id,
        condition_key=condition_key("fire.smoke", "device", device_id, "map-test"),
        title_zh=MARKER,
        title_en="Map test smoke alarm",
        reasons=(Reason("smoke", "烟雾浓度超限", "Smoke above the limit", 0.2, 0.1),),
    )
    raised_at = time.monotonic()
    raised = live_cockpit.runtime.alerts.raise_candidate(
        candidate, live_cockpit.runtime.clock.now()
    )
    wait_for_js(
        page, f"() => document.querySelector('#alert-ticker').innerText.includes('{MARKER}')"
    )
    in_ticker = time.monotonic() - raised_at
    wait_for_js(
        page,
        "() => (document.querySelector('#street-map-status').dataset.alerts || '')"
        f".split(' ').includes('{raised.alert_id}')",
    )
    print(f"the ticker showed the alert after {in_ticker:.1f} s")  # timed by benches, not here
    marker = page.locator(".cm-alert-red").first
    assert marker.is_visible()
    assert marker.inner_text() == "红"  # the level in a word, not only in colour
    # The alarmed detector itself turns into the alarm style in place.
    assert wait_for_js(page, f"() => window.cockpitMap.registry.alarm.has({device_id})")
    screenshot(page, "map-wall-alert")
    assert page.console_errors == []


def building_on_screen(page) -> dict:
    """Return a red building's id and the page point at its centre."""
    return page.evaluate(
        """() => {
          const r = window.cockpitMap.registry;
          for (const [id, layer] of r.buildings) {
            if (r.colours[id] !== 'red' || !r.map.hasLayer(layer)) continue;
            const p = r.map.latLngToContainerPoint(layer.getBounds().getCenter());
            const box = r.map.getContainer().getBoundingClientRect();
            if (p.x < 20 || p.y < 20 || p.x > box.width - 20 || p.y > box.height - 20) continue;
            return {id: id, x: box.left + p.x, y: box.top + p.y};
          }
          return null;
        }"""
    )


def test_tapping_a_building_on_the_tablet_opens_its_card_with_reasons(live_cockpit, open_page):
    page = open_page(live_cockpit.url + "?mode=tablet", 1024, 768)
    map_ready(page)
    page.locator("#map-section").scroll_into_view_if_needed()
    screenshot(page, "map-tablet")
    # Devices sit on buildings; switch them (and cases) off so the tap lands on the footprint.
    for name in ("物联设备", "在办案件"):
        page.locator("#map-layer-switch label", has_text=name).click()
    wait_for_js(page, "() => !window.cockpitMap.registry.visible.includes('devices')")
    # The shell above the map may grow or shrink a line between two refreshes, moving the map:
    # aim again when a tap missed, as a person would.
    card = page.locator("#card-overlay .card-building")
    for _attempt in range(5):
        target = building_on_screen(page)
        assert target is not None
        page.mouse.click(target["x"], target["y"])
        try:
            card.wait_for(timeout=3_000)
        except Exception:  # noqa: BLE001 - Playwright's timeout: tap again
            continue
        if card.get_attribute("data-building") == str(target["id"]):
            break
        page.locator("#card-close").click()
    assert card.get_attribute("data-building") == str(target["id"])
    text = card.inner_text()
    assert "红 高风险" in text
    reasons = card.locator(".map-card-reasons li").all_inner_texts()
    assert reasons, "a red building's card lists the reasons that coloured it"
    assert "实有房屋（户）" in text
    screenshot(page, "map-tablet-building-card")
    page.locator("#card-close").click()
    page.locator("#card-overlay .card-building").wait_for(state="detached", timeout=5_000)
    assert page.console_errors == []


def test_tapping_a_case_on_the_tablet_map_opens_the_case_card(live_cockpit, open_page):
    page = open_page(live_cockpit.url + "?mode=tablet&lang=en", 1024, 768)
    map_ready(page)
    wait_for_js(page, "() => window.cockpitMap.registry.caseMarkers.size > 0")
    page.locator("#map-section").scroll_into_view_if_needed()
    # Leaflet's own click on the marker: the hit test is the building test's business; this one
    # checks that a case marker opens the case, not the building it sits in.
    case_id = page.evaluate(
        """() => { const [id, held] = window.cockpitMap.registry.caseMarkers.entries().next().value;
                   held.marker.fire('click'); return id; }"""
    )
    card = page.locator(f"#card-overlay [data-case='{case_id}']")
    card.wait_for(timeout=10_000)
    assert page.locator("#card-overlay .card-building").count() == 0
    assert "Open cases" not in card.inner_text()
    screenshot(page, "map-tablet-case-card")
    assert page.console_errors == []


def store_names(runtime) -> tuple[set[str], set[str]]:
    """Return the community names and the road names of the store."""
    from sqlalchemy import select

    from cockpit.store import schema

    with runtime.engine.connect() as conn:
        communities = set(conn.execute(select(schema.Community.name)).scalars())
        roads = set(
            conn.execute(
                select(schema.MapFeature.name).where(
                    schema.MapFeature.kind.in_(("road_main", "road_minor"))
                )
            ).scalars()
        )
    return communities, roads - {None}


LABELS_SHOWN = """(kind) => [...document.querySelectorAll('.map-label.map-label-' + kind)]
  .map(e => { const b = e.firstChild.getBoundingClientRect();
    return {text: e.innerText, size: parseFloat(getComputedStyle(e.firstChild).fontSize),
            box: [b.left, b.top, b.right, b.bottom]}; })"""

MARKS_DRAWN = """() => { const r = window.cockpitMap.registry; let n = 0;
  r.map.eachLayer(l => { if (l instanceof L.CircleMarker) n++; });
  const alarmsDrawn = [...r.alarm].every(id => { const g = r.deviceGroups.get(r.groupOf.get(id));
    return g && r.map.hasLayer(g.marker) && g.marker.options.color === '#ff3b30'; });
  return {circles: n, devices: r.groupOf.size, dots: r.devices.size, cells: r.cells.size,
          alarmsDrawn: alarmsDrawn, zoom: r.map.getZoom()}; }"""


def overlapping(labels: list[dict]) -> list[tuple[str, str]]:
    """Return the pairs of labels whose boxes overlap."""
    pairs = []
    for i, a in enumerate(labels):
        for b in labels[i + 1 :]:
            (al, at, ar, ab), (bl, bt, br, bb) = a["box"], b["box"]
            if al < br and bl < ar and at < bb and bt < ab:
                pairs.append((a["text"], b["text"]))
    return pairs


def test_the_wall_names_roads_and_communities_and_sums_devices_per_building(
    live_cockpit, open_page
):
    from cockpit.i18n import place_name

    communities, roads = store_names(live_cockpit.runtime)
    for lang in ("zh", "en"):
        page = open_page(live_cockpit.url + f"?mode=wall&lang={lang}", 1920, 1080)
        map_ready(page)
        wait_for_js(page, "() => document.querySelectorAll('.map-label-road').length > 0")
        shown = page.evaluate(LABELS_SHOWN, "community") + page.evaluate(LABELS_SHOWN, "road")
        expected = {place_name(n, lang, n) for n in communities | roads}
        texts = [label["text"] for label in shown]
        assert set(texts) <= expected, set(texts) - expected
        assert any(t in {place_name(n, lang, n) for n in communities} for t in texts)
        assert len(texts) == len(set(texts)), "one label per road and community"
        if lang == "en":
            assert all(t.isascii() for t in texts), texts  # pinyin, never Chinese
        assert min(label["size"] for label in shown) >= 20  # read from across the room
        assert overlapping(shown) == []
        assert page.locator(".map-label-grid").count() == 0  # grids are drawn on demand
        screenshot(page, f"map-wall-labels-{lang}")
    # At the wall's zoom each building's devices are one mark (red when one is in alarm), and
    # no device's own dot has been fetched.
    far = page.evaluate(MARKS_DRAWN)
    assert far["alarmsDrawn"]
    assert far["circles"] < far["devices"] / 2, far
    assert far["dots"] == 0 and far["cells"] == 0, far
    page.evaluate("() => { window.cockpitMap.registry.map.setZoom(17.5, {animate: false}); }")
    near = wait_for_js(
        page,
        f"() => {{ const m = ({MARKS_DRAWN})(); return m.circles > {far['circles']} && m; }}",
    )
    # Zoomed in: the dots of the cells in view (and a ring around), not the whole street's.
    assert 0 < near["dots"] < near["devices"], near
    assert near["circles"] >= near["dots"]
    assert page.console_errors == []


PAN = """(share) => { const r = window.cockpitMap.registry, all = [...r.buildings.values()];
  const at = all[Math.floor(share * (all.length - 1))].getBounds().getCenter();
  r.map.setView(at, 18, {animate: false}); }"""
HELD = """() => { const r = window.cockpitMap.registry; const ids = new Set();
  let loading = 0;
  r.cells.forEach((held) => held ? held.ids.forEach((id) => ids.add(id)) : loading++);
  return {cells: r.cells.size, keys: [...r.cells.keys()], loading: loading, dots: r.devices.size,
          strays: [...r.devices.keys()].filter((id) => !ids.has(id)).length}; }"""


def test_a_panning_screen_holds_a_bounded_number_of_device_cells(live_cockpit, open_page):
    page = open_page(live_cockpit.url + "?mode=tablet", 1024, 768)
    map_ready(page)
    # Hold no more than the view asks for: its cells and the ring around them (at zoom 18 on a
    # 1024x768 page, 4x4 cells at most).
    page.evaluate("() => { window.cockpitMap.keepCells = 1; }")
    seen: set[str] = set()
    for share in (0.0, 0.25, 0.5, 0.75, 1.0):
        page.evaluate(PAN, share)
        held = wait_for_js(page, f"() => {{ const h = ({HELD})(); return h.loading === 0 && h; }}")
        seen.update(held["keys"])
        # Older cells are let go with their dots: every dot held belongs to a cell held.
        assert 0 < held["cells"] <= 16 and held["strays"] == 0, held
        assert held["dots"] > 0, held
    assert len(seen) > 16, "the pans crossed more cells than a screen holds at once"
    assert page.console_errors == []


def test_grids_are_outlined_and_named_when_switched_on(live_cockpit, open_page):
    page = open_page(live_cockpit.url + "?mode=tablet", 1024, 768)
    map_ready(page)
    page.locator("#map-section").scroll_into_view_if_needed()
    off = "() => { const r = window.cockpitMap.registry; return r.groups['map-grids'] && !r.map.hasLayer(r.groups['map-grids']); }"
    wait_for_js(page, off)
    assert page.locator(".map-label-grid").count() == 0
    page.locator("#map-layer-switch label", has_text="网格").click()
    wait_for_js(
        page,
        "() => window.cockpitMap.registry.map.hasLayer(window.cockpitMap.registry.groups['map-grids'])",
    )
    wait_for_js(page, "() => document.querySelectorAll('.map-label-grid').length > 0")
    assert "网格" in page.locator(".map-label-grid").first.inner_text()
    screenshot(page, "map-tablet-grids")
    page.locator("#map-layer-switch label", has_text="网格").click()
    wait_for_js(page, off)
    wait_for_js(page, "() => document.querySelectorAll('.map-label-grid').length === 0")
    assert page.console_errors == []


# Everything but the buildings off, so the sampled pixels show their fills.
BUILDINGS_ONLY = "() => window.dash_clientside.cockpitMap.layers(['buildings'])"
INSIDE = """(id) => {
  const r = window.cockpitMap.registry, layer = r.buildings.get(id), b = layer.getBounds();
  const box = r.map.getContainer().getBoundingClientRect(), points = [];
  for (let i = 1; i < 10; i++) {
    const at = L.latLng(b.getCenter().lat, b.getWest() + (b.getEast() - b.getWest()) * i / 10);
    if (!layer._containsPoint(r.map.latLngToLayerPoint(at))) continue;
    const p = r.map.latLngToContainerPoint(at);
    points.push([Math.round(box.left + p.x), Math.round(box.top + p.y)]);
  }
  return points;
}"""
# Close enough that a building is far wider than its outline (zoom 18: ~0.6 m a pixel).
CLOSE_ON = """(id) => new Promise((done) => {
  const r = window.cockpitMap.registry, layer = r.buildings.get(id);
  r.map.once("moveend", () => requestAnimationFrame(() => done(r.map.getZoom())));
  r.map.setView(layer.getBounds().getCenter(), 18, {animate: false});
})"""
RECOLOUR_ONE = """([id, colour, version]) =>
  window.dash_clientside.cockpitMap.colours({version: version, colours: {[id]: colour}}, null)"""


def fill_on_screen(page, building: int) -> str:
    """Return the risk colour most points inside the building show in a screenshot of the page."""
    from tests.browser.pixels import png_pixels, risk_of

    points = page.evaluate(INSIDE, building)
    assert len(points) >= 3, points
    left = min(x for x, _ in points)
    top = min(y for _, y in points)
    clip = {
        "x": left,
        "y": top,
        "width": max(x for x, _ in points) - left + 1,
        "height": max(y for _, y in points) - top + 1,
    }
    _, _, pixel = png_pixels(page.screenshot(clip=clip))
    seen = [risk_of(pixel(x - left, y - top)) for x, y in points]
    return max(set(seen), key=seen.count)


def assert_recolours_in_place(page, building: int) -> None:
    """Check the building shows red, then each other colour it is given, as a person sees it."""
    assert page.evaluate(CLOSE_ON, building) == 18
    assert fill_on_screen(page, building) == "red"
    for step, colour in enumerate(("green", "yellow", "red")):
        page.evaluate(RECOLOUR_ONE, [building, colour, f"test-{step}"])
        page.evaluate("() => new Promise((done) => requestAnimationFrame(() => done()))")
        assert fill_on_screen(page, building) == colour


def test_the_wall_draws_its_buildings_with_webgl_and_recolours_them_in_place(
    live_cockpit, open_page
):
    page = open_page(live_cockpit.url + "?mode=wall", 1920, 1080)
    map_ready(page)
    held = wait_for_js(
        page,
        "() => { const r = window.cockpitMap.registry;"
        " return r.gl && r.gl.info.buildings > 0 && [r.gl.info.buildings, r.buildings.size]; }",
    )
    assert held[0] == held[1], "every building Leaflet holds is in the WebGL buffers"
    page.evaluate(BUILDINGS_ONLY)
    target = building_on_screen(page)
    assert target is not None
    draws = page.evaluate("() => window.cockpitMap.registry.gl.info.draws")
    assert_recolours_in_place(page, target["id"])
    # One WebGL draw per recolour (three), no canvas redraw of the buildings.
    assert page.evaluate("() => window.cockpitMap.registry.gl.info.draws") - draws >= 3
    assert page.console_errors == []


def test_without_webgl_the_canvas_draws_and_recolours_the_buildings(live_cockpit, open_page):
    from cockpit.bench.browser import NO_WEBGL

    page = open_page(live_cockpit.url + "?mode=wall", 1920, 1080)
    page.add_init_script(NO_WEBGL)
    page.reload()
    map_ready(page)
    assert page.evaluate("() => window.cockpitMap.registry.gl") is None
    page.evaluate(BUILDINGS_ONLY)
    target = building_on_screen(page)
    assert target is not None
    assert_recolours_in_place(page, target["id"])
    assert page.console_errors == []


def test_a_lost_webgl_context_hands_the_buildings_to_the_canvas(live_cockpit, open_page):
    page = open_page(live_cockpit.url + "?mode=wall", 1920, 1080)
    map_ready(page)
    wait_for_js(page, "() => window.cockpitMap.registry.gl.info.buildings > 0")
    page.evaluate(BUILDINGS_ONLY)
    # As when a wall's GPU resets: the browser takes the WebGL context away.
    page.evaluate(
        "() => document.querySelector('canvas.cm-buildings-gl').getContext('webgl')"
        ".getExtension('WEBGL_lose_context').loseContext()"
    )
    wait_for_js(page, "() => window.cockpitMap.registry.glLost === true")
    assert page.locator("canvas.cm-buildings-gl").count() == 0
    target = building_on_screen(page)
    assert target is not None
    assert_recolours_in_place(page, target["id"])
