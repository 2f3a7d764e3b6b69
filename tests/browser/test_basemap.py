"""Point the cockpit at an intranet tile server and look: tiles under the street, GCJ-02 shifted."""

from __future__ import annotations

import math
import re
import struct
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from cockpit.geo import distance_m
from cockpit.map_layers import projection
from tests.browser.conftest import CockpitServer, free_port, wait_for_js

pytestmark = pytest.mark.browser
TILE_PATH = re.compile(r"^/(wgs84|gcj02)/(\d+)/(\d+)/(\d+)\.png$")
SHOTS = "/tmp/tiles"


def tile_png() -> bytes:
    """Return a 256x256 PNG: pale ground with a dark edge, so tiles show in a screenshot."""
    rows = []
    for y in range(256):
        row = bytearray([0])  # filter: none
        for x in range(256):
            edge = x < 2 or y < 2
            row += bytes((60, 60, 70) if edge else (200, 205, 190))
        rows.append(bytes(row))
    header = struct.pack(">IIBBBBB", 256, 256, 8, 2, 0, 0, 0)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def tile_server() -> Iterator[SimpleNamespace]:
    """Serve the same PNG for any /{system}/{z}/{x}/{y}.png on a free loopback port; log paths."""
    png = tile_png()
    requested: list[str] = []
    lock = threading.Lock()

    class Tiles(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            with lock:
                requested.append(self.path)
            if not TILE_PATH.match(self.path):
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(png)))
            self.end_headers()
            self.wfile.write(png)

        def log_message(self, *args) -> None:
            """Keep the test's output quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Tiles)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"

    def paths(system: str) -> list[str]:
        with lock:
            return [p for p in requested if p.startswith(f"/{system}/")]

    yield SimpleNamespace(base=base, paths=paths, requested=requested)
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module", params=["wgs84", "gcj02"])
def tiled_cockpit(request, tile_server, tmp_path_factory) -> Iterator[SimpleNamespace]:
    """Run one cockpit per tile coordinate system, its tiles on the test's tile server."""
    system = request.param
    server = CockpitServer(
        tmp_path_factory.mktemp(f"tiles-{system}"),
        COCKPIT_SCALE="changbai",
        COCKPIT_REFRESH_MS="500",
        COCKPIT_LIVE_POLL_SECONDS="0.5",
        COCKPIT_TILE_URL=f"{tile_server.base}/{system}/{{z}}/{{x}}/{{y}}.png",
        COCKPIT_TILE_COORDINATES=system,
        # One of the two names its tile source; the other leaves the map's corner empty.
        COCKPIT_TILE_ATTRIBUTION=CREDIT if system == "gcj02" else "",
    )
    server.start()
    yield SimpleNamespace(server=server, system=system)
    server.stop()


CREDIT = "© 测试测绘院 2026"


def stored_street(database_url: str) -> tuple[tuple[float, float], dict[int, dict]]:
    """Return the street centre and every building footprint as stored (WGS84)."""
    from sqlalchemy import select

    from cockpit.store import schema
    from cockpit.store.database import make_engine

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            street = conn.execute(select(schema.Street.center_lon, schema.Street.center_lat)).one()
            rows = conn.execute(select(schema.Building.id, schema.Building.footprint)).all()
    finally:
        engine.dispose()
    return (street[0], street[1]), {row[0]: row[1] for row in rows}


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """Return the slippy-map tile (x, y) holding a point at zoom z (Web Mercator, as Leaflet)."""
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def footprint_bounds(footprint: dict, project) -> tuple[float, float, float, float]:
    """Return (south, west, north, east) of a projected footprint, as the map would draw it."""
    rings = (
        footprint["coordinates"]
        if footprint["type"] == "Polygon"
        else [ring for polygon in footprint["coordinates"] for ring in polygon]
    )
    points = [project(lon, lat) for ring in rings for lon, lat in ring]
    return (
        min(p[1] for p in points),
        min(p[0] for p in points),
        max(p[1] for p in points),
        max(p[0] for p in points),
    )


def test_tiles_are_drawn_under_the_street_and_the_street_sits_on_them(
    tiled_cockpit, tile_server, open_page
):
    system = tiled_cockpit.system
    server = tiled_cockpit.server
    page = open_page(server.url + "?mode=wall", 1920, 1080)
    wait_for_js(
        page,
        "() => window.cockpitMap && window.cockpitMap.registry.buildings.size > 0"
        " && document.querySelectorAll('.leaflet-tile-pane img.leaflet-tile-loaded').length > 0",
    )
    tiles = page.evaluate(
        """() => {
          const pane = document.querySelector('.leaflet-tile-pane');
          const overlay = document.querySelector('.leaflet-overlay-pane');
          return {
            srcs: [...pane.querySelectorAll('img.leaflet-tile-loaded')].map(i => i.src),
            tileZ: Number(getComputedStyle(pane).zIndex),
            overlayZ: Number(getComputedStyle(overlay).zIndex),
            // Where WebGL draws the buildings, its canvas has a pane of its own.
            buildingsZ: Number(getComputedStyle(
              (document.querySelector('canvas.cm-buildings-gl') || overlay).closest('.leaflet-pane')
            ).zIndex),
            zoom: window.cockpitMap.registry.map.getZoom(),
          };
        }"""
    )
    page.screenshot(path=f"{SHOTS}/basemap-{system}.png")
    # The browser fetched the tiles from the tile server, and the <img>s show them.
    paths = tile_server.paths(system)
    assert paths, f"no tile request reached the tile server: {tile_server.requested[:5]}"
    assert all(TILE_PATH.match(p) for p in paths), paths
    assert all(src.startswith(f"{tile_server.base}/{system}/") for src in tiles["srcs"])
    # The street's drawing (buildings, WebGL's canvas or the overlay pane's) lies over the tiles.
    assert tiles["tileZ"] < tiles["buildingsZ"] <= tiles["overlayZ"]
    assert page.locator(".leaflet-overlay-pane canvas").count() > 0

    centre, footprints = stored_street(server.database_url)
    project = projection(system)
    # The tiles asked for cover the street's centre in the tiles' own coordinates.
    z = math.floor(tiles["zoom"] + 0.5)  # as Leaflet rounds a fractional zoom for its tiles
    asked = {tuple(int(v) for v in TILE_PATH.match(p).groups()[1:]) for p in paths}
    assert (z, *tile_of(*project(*centre), z)) in asked

    # Every building is drawn where the tiles' system puts it: shifted for GCJ-02, not for WGS84.
    drawn = page.evaluate(
        """() => {
          const out = {};
          for (const [id, layer] of window.cockpitMap.registry.buildings) {
            const b = layer.getBounds();
            out[id] = [b.getSouth(), b.getWest(), b.getNorth(), b.getEast()];
          }
          return out;
        }"""
    )
    assert len(drawn) == len(footprints)
    shifts = []
    for key, (south, west, north, east) in drawn.items():
        expected = footprint_bounds(footprints[int(key)], project)
        assert (south, west, north, east) == pytest.approx(expected, abs=2e-6)
        stored = footprint_bounds(footprints[int(key)], lambda lon, lat: (lon, lat))
        shifts.append(distance_m((stored[1], stored[0]), (west, south)))
    if system == "gcj02":
        # Shanghai's GCJ-02 offset is about half a kilometre.
        assert min(shifts) > 300, min(shifts)
    else:
        assert max(shifts) < 0.5, max(shifts)
    # The corner credits the tile source when told whom, and never advertises the map library.
    credit = page.locator(".leaflet-control-attribution")
    if system == "gcj02":
        assert credit.inner_text().strip() == CREDIT
    else:
        assert credit.count() == 0
    assert page.console_errors == []
