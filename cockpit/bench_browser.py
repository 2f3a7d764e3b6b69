"""Measure what a running cockpit page costs the browser: busy time, long tasks, layout shifts."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

CHROMIUM = "/usr/bin/chromium"
# Collected from the page's start: long tasks (>50 ms) and layout shifts without recent input.
OBSERVERS = """
window.__bench = {long: [], shifts: []};
new PerformanceObserver((list) => list.getEntries().forEach((e) =>
  window.__bench.long.push(e.duration))).observe({type: "longtask", buffered: true});
new PerformanceObserver((list) => list.getEntries().forEach((e) => {
  if (!e.hadRecentInput) window.__bench.shifts.push(e.value);
})).observe({type: "layout-shift", buffered: true});
"""
METRICS = ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration")


def bench_browser(
    url: str,
    *,
    width: int,
    height: int,
    seconds: float,
    settle_s: float,
    throttle: float,
    say: Callable[[str], None] = print,
) -> dict[str, float]:
    """Open `url` in headless Chromium, let it settle, then measure `seconds` of live updates."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # the test extra brings it
        raise RuntimeError("bench browser needs Playwright: pip install -e '.[test]'") from exc
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.add_init_script(OBSERVERS)
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            cdp = page.context.new_cdp_session(page)
            cdp.send("Performance.enable")
            cdp.send("Network.enable")
            received: list[float] = []
            cdp.on("Network.loadingFinished", lambda e: received.append(e["encodedDataLength"]))
            # A tablet's CPU is several times slower than this machine's: slow Chromium down alike.
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": throttle})
            page.goto(url)
            time.sleep(settle_s)
            before, long_before, shifts_before = _sample(page, cdp)
            bytes_before = sum(received)
            started = time.monotonic()
            time.sleep(seconds)
            after, long_after, shifts_after = _sample(page, cdp)
            bytes_during = sum(received) - bytes_before
            elapsed = time.monotonic() - started
        finally:
            browser.close()
    long_tasks = long_after[len(long_before) :]
    figures = {
        f"{_snake(name)}_ms_per_s": round((after[name] - before[name]) * 1000 / elapsed, 1)
        for name in METRICS
    }
    figures.update(
        {
            "long_tasks": len(long_tasks),
            "longest_task_ms": round(max(long_tasks, default=0.0)),
            "layout_shift": round(sum(shifts_after[len(shifts_before) :]), 4),
            "dom_nodes": int(after["Nodes"]),
            # What a tablet on a mobile network downloads to stay live (compressed, as sent).
            "network_kb_per_min": round(bytes_during / 1024 * 60 / elapsed, 1),
            "console_errors": len(errors),
        }
    )
    say(f"{url} at {width}x{height}, CPU slowed {throttle:g}x, {elapsed:.0f} s measured")
    for name, value in figures.items():
        say(f"{name}: {value}")
    return figures


def _sample(page: Any, cdp: Any) -> tuple[dict[str, float], list[float], list[float]]:
    """Return Chromium's cumulative metrics and the long tasks and shifts seen so far."""
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    seen = page.evaluate("window.__bench")
    return metrics, seen["long"], seen["shifts"]


def _snake(name: str) -> str:
    """Return CamelCase as snake_case."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")
