"""Run the benches issue 13 names and print one table: each figure, its target and its command."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

Say = Callable[[str], None]
ROOT = Path(__file__).resolve().parents[2]
TOKEN = re.compile(r"/kiosk\?token=([A-Za-z0-9_-]+)")


@dataclass(frozen=True)
class Figure:
    """One row of the table: what was measured, its value, the target, and how to measure it."""

    name: str
    value: str
    target: str
    command: str


def bench_all(
    scale: str = "s-street",
    redis_url: str | None = None,
    runs: int = 100,
    browser: bool = True,
    say: Say = print,
    changes_s: float = 60.0,
    screens: tuple[int, ...] = (50, 200, 500),
) -> list[Figure]:
    """Run each bench once on `scale`, print its lines as it goes, then print the table.

    With `redis_url`, also the production-shaped ones: screens connected (push and poll) and,
    with the browser, MQTT alarms to a Chromium wall (Mosquitto on 127.0.0.1:1883).
    """
    from cockpit.bench.compress import bench_compress
    from cockpit.bench.map import bench_map
    from cockpit.bench.refresh import WARM_UP_S, bench_changes, bench_refresh

    on = f" --scale {scale}"
    redis = f" --redis-url {redis_url}" if redis_url else ""
    figures: list[Figure] = []

    def add(name: str, value: str, target: str, command: str) -> None:
        figures.append(Figure(name, value, target, command))

    say(f"== refresh ({scale}) ==")
    refresh = bench_refresh(scale, redis_url, runs, say=say)
    for role, screen in (("kiosk", "wall"), ("dispatcher", "tablet")):
        quiet, floor = refresh[f"{role}, unchanged"], refresh[f"{role}, floor"]
        ratio = quiet["p50_ms"] / floor["p50_ms"]
        command = f"cockpit bench refresh{on}{redis}"
        add(f"{screen} refresh, nothing new, p50", f"{quiet['p50_ms']:.2f} ms", "", command)
        add(f"{screen} refresh / bare Flask floor", f"{ratio:.1f}x", "<= 1.5x", command)
        own = refresh[f"{role}, app floor"]["p50_ms"]
        add(
            f"{screen} refresh / the app's own route (sign-in, headers, limits)",
            f"{quiet['p50_ms'] / own:.1f}x ({own:.2f} ms)",
            "",
            command,
        )
        every = refresh[f"{role}, every view changed"]
        add(f"{screen} refresh, every view new", f"{every['bytes']:,} B plain", "", command)

    from cockpit.access.views import VIEW_BUDGETS

    for name, weight in refresh["view bytes"].items():
        if weight and name in VIEW_BUDGETS:
            budget = VIEW_BUDGETS[name]
            verdict = "" if weight <= budget else " (over)"
            add(f"view {name}, whole", f"{weight:,} B{verdict}", f"<= {budget:,} B", command)

    say(f"== bytes per change ({scale}) ==")
    changes = bench_changes(
        scale, redis_url, changes_s, say=say, warm_up_s=min(WARM_UP_S, int(changes_s))
    )
    command = f"cockpit bench changes{on}{redis} --seconds {changes_s:g}"
    tick = changes.pop("worker tick")
    add(
        "worker tick while the street plays, p50 / max",
        f"{tick['p50_ms']:.0f} / {tick['max_ms']:.0f} ms",
        "steady < 1 s",
        command,
    )
    for screen, sent in changes.items():
        add(
            f"{screen} bytes per change, mean",
            f"{sent['mean_br_bytes']:,.0f} B brotli ({sent['mean_bytes']:,.0f} B plain; "
            f"{sent['whole_mean_bytes']:,.0f} B with views whole)",
            "<= 5 KB" if screen == "wall" else "",
            command,
        )
        add(
            f"{screen} largest message",
            f"{sent['max_br_bytes']:,} B brotli ({sent['max_bytes']:,} B plain)",
            "<= 50 KB",
            command,
        )

    say(f"== compression ({scale}) ==")
    packed = bench_compress(scale, max(5, runs // 10), say=say)
    command = f"cockpit bench compress{on}"
    add("wall scripts, brotli", f"{packed['br, gzip']['scripts']:,} B", "", command)
    add(
        "full refresh, brotli",
        f"{packed['br, gzip']['refresh']:,} B",
        "<= 50 KB a message",
        command,
    )

    say(f"== map ({scale}) ==")
    mapped = bench_map(scale=scale, runs=max(3, runs // 20), say=say)
    command = f"cockpit bench map{on}"
    add("map geometry, gzip, once per browser", f"{mapped['geometry_gzip_bytes']:,} B", "", command)
    add(
        "largest device cell (zoomed in)",
        f"{mapped['device_cell_max_bytes']:,} B plain",
        "",
        command,
    )
    add("worker map tick, nothing new", f"{mapped['tick_new_equal_inputs_ms']:.1f} ms", "", command)

    if redis_url:
        from cockpit.bench.screens import bench_screens

        say(f"== screens connected, push and poll ({scale}) ==")
        counts = ",".join(str(n) for n in screens)
        command = f"cockpit bench screens{on} --redis-url {redis_url} --screens {counts}"
        for key, got in bench_screens(screens, redis_url, scale, say=say).items():
            add(
                f"{key}: change to screen p50 / p95",
                f"{got['p50_ms']:.0f} / {got['p95_ms']:.0f} ms, missed {got['missed']:.0f}, "
                f"errors {got['errors']:.0f}",
                "p95 < 1 s, none missed, no errors" if key.startswith("push") else "",
                command,
            )
            add(
                f"{key}: web CPU idle / per change",
                f"{got['idle_cpu']:.3f} s/s / {got['cpu_per_change_ms']:.0f} ms",
                "flat as screens grow" if key.startswith("push") else "",
                command,
            )
        if browser:
            from cockpit.bench.events import bench_events

            say(f"== smoke alarm over MQTT to a wall in Chromium ({scale}) ==")
            got = bench_events(scale, redis_url, say=say)
            add(
                "MQTT smoke alarm to the wall's ticker, p50 / p95",
                f"{got['p50_ms']:.0f} / {got['p95_ms']:.0f} ms ({got['events']} events)",
                "",
                f"cockpit bench events{on} --redis-url {redis_url}",
            )

    if browser:
        from cockpit.bench.browser import bench_first_render, in_chromium

        say(f"== the wall in Chromium ({scale}) ==")
        command = f"cockpit bench all{on}"
        with running_cockpit(scale, say) as (url, token):
            # The server's first wall pays for its layers being packed: measured, then fresh
            # browsers on the warm server, WebGL and canvas side by side, each compositing as
            # on a GPU (SwiftShader standing in) and in software (a PC without one).
            cold = bench_first_render(url, token, recolours=1, say=say)
            runs = {
                (gpu, webgl): in_chromium(
                    lambda own, webgl=webgl: bench_first_render(
                        url, token, recolours=9, webgl=webgl, browser=own, say=say
                    ),
                    gpu=gpu,
                )
                for gpu in (True, False)
                for webgl in (True, False)
            }
        add(
            "wall first render, the server's first wall",
            f"{cold['first_render_s']:.2f} s",
            "",
            command,
        )
        for (gpu, webgl), drawn in runs.items():
            how = f"{drawn['renderer']}, {'GPU' if gpu else 'software'} compositing"
            if gpu and webgl:
                add("map layers downloaded", f"{drawn['map_layers_bytes']:,} B plain", "", command)
            add(
                f"wall first full render ({how})",
                f"{drawn['first_render_s']:.2f} s",
                "<= 3 s" if webgl else "",
                command,
            )
            add(
                f"recolour all {drawn['buildings']:,} buildings, main thread ({how})",
                f"{drawn['recolour_main_ms']:.1f} ms (script {drawn['recolour_script_ms']:.1f} ms)",
                "<= 50 ms for 10,000" if webgl else "",
                command,
            )
            add(
                f"recolour, to the frame after ({how})",
                f"{drawn['recolour_painted_ms']:.1f} ms (idle frames {drawn['idle_frames_ms']:.1f} ms)",
                "",
                command,
            )
    say("")
    say(table(figures))
    return figures


def table(figures: list[Figure]) -> str:
    """Return the figures as a Markdown table (it reads in a console and pastes into the docs)."""
    lines = ["| figure | value | target | command |", "| --- | --- | --- | --- |"]
    lines += [f"| {f.name} | {f.value} | {f.target} | `{f.command}` |" for f in figures]
    return "\n".join(lines)


def free_port() -> int:
    """Return a loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def running_cockpit(scale: str, say: Say, timeout: float = 300) -> Iterator[tuple[str, str]]:
    """Start `python app.py` on a scratch store and a free port; yield its URL and wall token."""
    with tempfile.TemporaryDirectory(prefix="cockpit-bench-") as scratch:
        port = free_port()
        log = Path(scratch) / "cockpit.log"
        env = {
            **os.environ,
            "COCKPIT_DATA_DIR": scratch,
            "COCKPIT_PORT": str(port),
            "COCKPIT_SCALE": scale,
            "COCKPIT_DATABASE_URL": "",
            "COCKPIT_REDIS_URL": "",
        }
        url = f"http://127.0.0.1:{port}/"
        with log.open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        try:
            started = time.monotonic()
            token = _wait_until_up(process, url, log, started + timeout)
            say(f"cockpit on {url} ({scale}) up in {time.monotonic() - started:.0f} s")
            yield url, token
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_until_up(process: subprocess.Popen, url: str, log: Path, deadline: float) -> str:
    """Return the wall's token once the cockpit answers; raise with its log if it does not."""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the cockpit exited: {log.read_text()[-2000:]}")
        found = TOKEN.search(log.read_text(errors="replace"))
        try:
            with urllib.request.urlopen(url + "healthz", timeout=2):
                if found:
                    return found.group(1)
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the cockpit did not answer in time: {log.read_text()[-2000:]}")
