"""Run the wall's first-render bench once on a cockpit of its own: it must draw and measure."""

from __future__ import annotations

import pytest

from cockpit.bench.all import running_cockpit
from cockpit.bench.browser import bench_first_render

pytestmark = pytest.mark.browser


def test_the_first_render_bench_opens_the_wall_and_recolours_every_building(browser):
    said: list[str] = []
    with running_cockpit("changbai", said.append) as (url, token):
        figures = bench_first_render(url, token, recolours=2, browser=browser, say=said.append)
        canvas = bench_first_render(
            url, token, recolours=2, webgl=False, browser=browser, say=said.append
        )
    # The same wall drawn both ways: WebGL where the browser has it, the canvas where it has not.
    assert (figures["renderer"], canvas["renderer"]) == ("webgl", "canvas")
    assert canvas["buildings"] == figures["buildings"]
    # What a fresh wall downloaded and drew: the changbai street's buildings, all recoloured.
    assert figures["buildings"] > 500
    assert figures["map_layers_bytes"] > 100_000
    assert figures["first_render_s"] > 0 and figures["recolour_painted_ms"] > 0
    assert any(line.startswith("first_render_s: ") for line in said)
