"""Run the screens bench once, briefly, on the real Redis: push and poll screens both see changes."""

from __future__ import annotations

import pytest

from cockpit.bench.screens import bench_screens
from tests.conftest import REDIS_URL, require_server

pytestmark = pytest.mark.integration


def test_the_screens_bench_runs_worker_and_gunicorn_and_every_screen_sees_each_change():
    """A bench that breaks fails here, not when someone runs it; its figures are not asserted,
    only that it measured something real: every screen saw every change, without errors."""
    require_server("Redis", "127.0.0.1", 6379)
    said: list[str] = []
    results = bench_screens(
        (3,), REDIS_URL, "changbai", changes=2, every_s=1.0, idle_s=2.0, say=said.append
    )
    assert set(results) == {"push, 3 screens", "poll, 3 screens"}
    for figures in results.values():
        assert figures["expected"] == 6 and figures["missed"] == 0 and figures["errors"] == 0
    # Pushed screens took the differences from the stream: no poll every second.
    assert results["push, 3 screens"]["refreshes"] < results["poll, 3 screens"]["refreshes"]
    assert any(line.startswith("push, 3 screens: change to screen p50") for line in said)
