"""Measure what a running cockpit page costs the browser: busy time, long tasks, layout shifts."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

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
REFRESH_PATH = "/_dash-update-component"


def bench_browser(
    url: str,
    *,
    width: int,
    height: int,
    seconds: float,
    settle_s: float,
    throttle: float,
    token: str | None = None,
    user: str | None = None,
    password: str | None = None,
    say: Callable[[str], None] = print,
) -> dict[str, float]:
    """Open `url` in headless Chromium, let it settle, then measure `seconds` of live updates.

    The pages need a session: `token` signs the browser in as a wall (/kiosk?token=), `user` and
    `password` as a person (the /login form, posted with the page's own cookies).
    """
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
            refresh_ids: set[str] = set()
            refreshes: list[float] = []

            def finished(event: dict[str, Any]) -> None:
                received.append(event["encodedDataLength"])
                if event["requestId"] in refresh_ids:
                    refreshes.append(event["encodedDataLength"])

            def responded(event: dict[str, Any]) -> None:
                if urlsplit(event["response"]["url"]).path.endswith(REFRESH_PATH):
                    refresh_ids.add(event["requestId"])

            cdp.on("Network.responseReceived", responded)
            cdp.on("Network.loadingFinished", finished)
            _sign_in(page, url, token, user, password)
            # A tablet's CPU is several times slower than this machine's: slow Chromium down alike.
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": throttle})
            page.goto(url)
            time.sleep(settle_s)
            before, long_before, shifts_before = _sample(page, cdp)
            bytes_before = sum(received)
            refreshes_before = len(refreshes)
            started = time.monotonic()
            time.sleep(seconds)
            after, long_after, shifts_after = _sample(page, cdp)
            bytes_during = sum(received) - bytes_before
            measured = refreshes[refreshes_before:]
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
            # What opening the page cost (HTML, scripts, first layout and views) before measuring.
            "load_kb": round(bytes_before / 1024, 1),
            "network_kb_per_min": round(bytes_during / 1024 * 60 / elapsed, 1),
            # Dash callbacks answered (the refresh tick and any other): what each one costs.
            "callback_responses": len(measured),
            "callback_kb_median": round(statistics.median(measured) / 1024, 2) if measured else 0,
            "callback_kb_max": round(max(measured, default=0) / 1024, 1),
            "console_errors": len(errors),
        }
    )
    say(f"{url} at {width}x{height}, CPU slowed {throttle:g}x, {elapsed:.0f} s measured")
    for name, value in figures.items():
        say(f"{name}: {value}")
    return figures


def _sign_in(
    page: Any, url: str, token: str | None, user: str | None, password: str | None
) -> None:
    """Start the page's session: a wall by its kiosk token, a person through the login form."""
    parts = urlsplit(url)
    if token:
        kiosk = urlunsplit((parts.scheme, parts.netloc, "/kiosk", f"token={token}", ""))
        response = page.request.get(kiosk, max_redirects=0)
    elif user:
        login = urlunsplit((parts.scheme, parts.netloc, "/login", "", ""))
        response = page.request.post(
            login, form={"username": user, "password": password or ""}, max_redirects=0
        )
    else:
        return
    if response.status not in (200, 302, 303):
        raise RuntimeError(f"sign-in failed: HTTP {response.status}")


def _sample(page: Any, cdp: Any) -> tuple[dict[str, float], list[float], list[float]]:
    """Return Chromium's cumulative metrics and the long tasks and shifts seen so far."""
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    seen = page.evaluate("window.__bench")
    return metrics, seen["long"], seen["shifts"]


def _snake(name: str) -> str:
    """Return CamelCase as snake_case."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


# Run in the page: the map is drawn when its buildings, device marks and colours are all in.
MAP_DRAWN = """() => { const r = window.cockpitMap && window.cockpitMap.registry;
  return !!r && r.buildings.size > 0 && r.deviceGroups.size > 0 && Object.keys(r.colours).length > 0
    && (!r.gl || r.gl.info.buildings > 0); }"""
# Run in the page: give every building another colour at once, as a worker's new risk view would;
# the script's milliseconds, then until the frame after the redraw has begun.
RECOLOUR = """async () => {
  const r = window.cockpitMap.registry, turn = {red: "green", green: "yellow", yellow: "red"};
  const colours = {};
  Object.keys(r.colours).forEach((k) => { colours[k] = turn[r.colours[k]] || "red"; });
  const started = performance.now();
  window.dash_clientside.cockpitMap.colours({version: "bench", colours: colours}, null);
  const script = performance.now() - started;
  await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
  return {buildings: Object.keys(colours).length, script_ms: script, painted_ms: performance.now() - started};
}"""
# The same two frames with nothing changed: what waiting for a frame costs by itself.
IDLE_FRAMES = """async () => {
  const started = performance.now();
  await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
  return performance.now() - started;
}"""


# Run before the page's scripts: a browser without WebGL, for the canvas side of the comparison.
NO_WEBGL = """(() => { const get = HTMLCanvasElement.prototype.getContext;
  HTMLCanvasElement.prototype.getContext = function (kind, options) {
    return /webgl/.test(kind) ? null : get.call(this, kind, options); }; })();"""


def _task_seconds(cdp: Any) -> float:
    """Return the page's main-thread task time so far (Chrome's TaskDuration), in seconds."""
    metrics = cdp.send("Performance.getMetrics")["metrics"]
    return next(m["value"] for m in metrics if m["name"] == "TaskDuration")


# A wall's PC has a GPU; this machine has none. SwiftShader stands in as the GPU, so Chromium
# composites and runs WebGL as on a GPU (in the GPU process) instead of in software compositing,
# where every WebGL frame is read back into the page's main thread.
GPU_ARGS = ["--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist"]


def in_chromium(run: Callable[[Any], Any], *, gpu: bool = False) -> Any:
    """Launch Debian's Chromium headless for one bench run; return what `run(browser)` returns.

    `gpu` composites with SwiftShader as the GPU (GPU_ARGS), as a wall's browser would on its GPU.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        args = ["--no-sandbox", *(GPU_ARGS if gpu else [])]
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            return run(browser)
        finally:
            browser.close()


def bench_first_render(
    url: str,
    token: str,
    *,
    width: int = 1920,
    height: int = 1080,
    recolours: int = 5,
    webgl: bool = True,
    browser: Any = None,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Open the wall afresh (empty cache) and time its map: drawn, bytes, and a full recolour.

    `webgl=False` hides WebGL from the page, so the canvas draws the buildings (a wall whose
    browser has none). `browser` is a Playwright browser to open the page in (a test's); without
    one, Chromium is started for the run.
    """
    if browser is None:
        return in_chromium(
            lambda own: bench_first_render(
                url, token, width=width, height=height, recolours=recolours, webgl=webgl,
                browser=own, say=say,
            )
        )  # fmt: skip
    context = browser.new_context(viewport={"width": width, "height": height})
    if not webgl:
        context.add_init_script(NO_WEBGL)
    try:
        page = context.new_page()
        layers: list[Any] = []
        page.on("response", lambda r: layers.append(r) if "/map-layers/" in r.url else None)
        _sign_in(page, url, token, None, None)
        started = time.monotonic()
        page.goto(url)
        page.wait_for_function(MAP_DRAWN, timeout=180_000, polling=50)
        drawn = time.monotonic() - started
        sizes = [len(r.body()) for r in layers]
        time.sleep(2)  # let the first refresh land, as a person would wait before looking
        cdp = context.new_cdp_session(page)
        cdp.send("Performance.enable")
        runs = []
        for _ in range(recolours):
            # The main thread's task time over the recolour and its frames, less the same frames
            # idle: what the recolour cost the page's own thread (a software GL's raster runs in
            # the GPU process and shows in painted_ms, not here).
            busy = _task_seconds(cdp)
            run = page.evaluate(RECOLOUR)
            run["main_s"] = _task_seconds(cdp) - busy
            busy = _task_seconds(cdp)
            run["idle_ms"] = page.evaluate(IDLE_FRAMES)
            run["idle_main_s"] = _task_seconds(cdp) - busy
            runs.append(run)
        renderer = page.evaluate("() => window.cockpitMap.registry.gl ? 'webgl' : 'canvas'")
    finally:
        context.close()
    figures = {
        "renderer": renderer,
        "first_render_s": round(drawn, 2),
        "map_layers_bytes": sum(sizes),
        "buildings": runs[0]["buildings"],
        "recolour_script_ms": round(statistics.median(r["script_ms"] for r in runs), 1),
        "recolour_painted_ms": round(statistics.median(r["painted_ms"] for r in runs), 1),
        "idle_frames_ms": round(statistics.median(r["idle_ms"] for r in runs), 1),
        "recolour_main_ms": round(
            statistics.median(1000 * (r["main_s"] - r["idle_main_s"]) for r in runs), 1
        ),
    }
    say(f"{url} at {width}x{height}, a fresh browser:")
    for name, value in figures.items():
        say(f"{name}: {value}")
    return figures
