"""Measure bytes on the wire with and without compression, and what compressing costs; prints."""

from __future__ import annotations

import gzip
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import brotli
import orjson

from cockpit.bench.refresh import _request, _signed_in, published_street

RUNS = 100
SCRIPT_RUNS = 10
ENCODINGS = {"plain": "identity", "gzip": "gzip", "br, gzip": "gzip, deflate, br"}
SCRIPT_SOURCE = re.compile(r'<(?:script|link)[^>]+(?:src|href)="(/[^"]+)"')


def bench_compress(
    scale: str = "s-street", runs: int = RUNS, say: Callable[[str], None] = print
) -> dict[str, Any]:
    """Print the wall's scripts, a full refresh and the map layers' bytes per encoding."""
    with tempfile.TemporaryDirectory(prefix="cockpit-bench-compress-") as tmp:
        runtime, app, _play = published_street(Path(tmp), scale)
        client = _signed_in(app, runtime, "kiosk")
        index = client.get("/?mode=wall").get_data(as_text=True)
        scripts = sorted(set(SCRIPT_SOURCE.findall(index)))
        output = next(key for key in app.callback_map if "heartbeat-store.data" in key)
        refresh = _request(output, app.callback_map[output], {}, "wall")
        geometry = runtime.live.get_view("map_geometry")
        layers = orjson.loads(geometry).get("layers", {}) if geometry else {}
        layer_urls = [f"/map-layers/{name}/{v['version']}.json" for name, v in layers.items()]
        results: dict[str, Any] = {}
        for label_, accept in ENCODINGS.items():
            page = sum(
                _wire(client.get(url, headers={"Accept-Encoding": accept})) for url in scripts
            )
            answer = client.post(
                "/_dash-update-component",
                data=refresh,
                content_type="application/json",
                headers={"Accept-Encoding": accept},
            )
            maps = sum(
                _wire(client.get(u, headers={"Accept-Encoding": accept})) for u in layer_urls
            )
            results[label_] = {"scripts": page, "refresh": _wire(answer), "layers": maps}
            say(
                f"{label_:>8}: scripts {page:,} B ({len(scripts)} files), "
                f"refresh (every view new) {_wire(answer):,} B "
                f"[{answer.headers.get('Content-Encoding', 'none')}], "
                f"map layers {maps:,} B ({len(layer_urls)} URLs)"
            )
        for label_, accept in ENCODINGS.items():
            timings = _time_refresh(client, refresh, accept, runs)
            results[label_]["refresh_p50_ms"] = statistics.median(timings)
            say(
                f"refresh server time, {label_}: p50 {statistics.median(timings):.2f} ms ({runs} runs)"
            )
        for label_, accept in ENCODINGS.items():
            timings = []
            for _ in range(SCRIPT_RUNS):
                started = time.perf_counter()
                for url in scripts:
                    _wire(client.get(url, headers={"Accept-Encoding": accept}))
                timings.append((time.perf_counter() - started) * 1000)
            results[label_]["scripts_p50_ms"] = statistics.median(timings)
            say(
                f"all {len(scripts)} scripts server time, {label_}: "
                f"p50 {statistics.median(timings):.1f} ms ({SCRIPT_RUNS} runs)"
            )
        body = client.post(
            "/_dash-update-component", data=refresh, content_type="application/json"
        ).data
        say(f"compressing the {len(body):,} B refresh answer alone (p50 of {runs}):")
        for name, pack in _codecs().items():
            timings, size = _time_codec(pack, body, runs)
            say(f"  {name:>10}: {size:,} B, {statistics.median(timings):.2f} ms")
        runtime.stop()
    return results


def _wire(response: Any) -> int:
    """Return the bytes the response's body puts on the wire (compressed if it was)."""
    response.direct_passthrough = False
    return len(response.get_data())


def _time_refresh(client: Any, body: bytes, accept: str, runs: int) -> list[float]:
    """Post the full refresh `runs` times with the Accept-Encoding; return milliseconds each."""
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        client.post(
            "/_dash-update-component",
            data=body,
            content_type="application/json",
            headers={"Accept-Encoding": accept},
        )
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def _codecs() -> dict[str, Callable[[bytes], bytes]]:
    """Return the candidate compressors by name."""
    codecs: dict[str, Callable[[bytes], bytes]] = {}
    for level in (1, 5, 6, 9):
        codecs[f"gzip {level}"] = lambda data, level=level: gzip.compress(data, level)
    for quality in (1, 4, 5):
        codecs[f"brotli {quality}"] = lambda data, q=quality: brotli.compress(data, quality=q)
    return codecs


def _time_codec(pack: Callable[[bytes], bytes], body: bytes, runs: int) -> tuple[list[float], int]:
    """Compress the body `runs` times; return the milliseconds each took and the size."""
    timings = []
    size = 0
    for _ in range(runs):
        started = time.perf_counter()
        size = len(pack(body))
        timings.append((time.perf_counter() - started) * 1000)
    return timings, size
