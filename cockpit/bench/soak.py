"""Run a production-shaped cockpit under a live street and pushed screens for a while; print memory; never asserts.

`cockpit simulate --speed 1` plays the street's devices over the real Mosquitto, `cockpit worker`
(with its MQTT bridge) publishes, gunicorn's two web workers serve `screens` pushed walls (the
clients of cockpit.bench.screens); a red alert is raised every `alert_every_s`. Every
`sample_s` the resident memory (VmRSS) of the worker and of each web worker is read from /proc;
at the end each process's first, last and highest, and its growth per ten minutes (a least-
squares line through the samples after the first `settle_s`, when caches have filled).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cockpit.bench.screens import Load, Screen, _pushed, production_cockpit, run_apart

Say = Callable[[str], None]


def rss_mb(pid: int) -> float | None:
    """Return a process's resident memory in MB, from /proc (None once it is gone)."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return None


def bench_soak(
    minutes: float = 30.0,
    scale: str = "s-street",
    redis_url: str = "redis://127.0.0.1:6379/0",
    mqtt_url: str = "mqtt://127.0.0.1:1883",
    screens: int = 50,
    sample_s: float = 30.0,
    settle_s: float = 300.0,
    alert_every_s: float = 20.0,
    say: Say = print,
) -> dict[str, dict[str, float]]:
    """Print memory samples while the cockpit runs, then each process's summary; return it."""
    with production_cockpit(
        scale, redis_url, screens + 64, say, mqtt_url=mqtt_url, simulate=True
    ) as cockpit:
        samples = run_apart(_soak(cockpit, minutes * 60, screens, sample_s, alert_every_s, say))
    summary = {}
    for name, series in samples.items():
        if len(series) < 2:
            continue
        later = [(t, mb) for t, mb in series if t >= settle_s] or series
        summary[name] = {
            "first_mb": series[0][1],
            "last_mb": series[-1][1],
            "max_mb": max(mb for _, mb in series),
            "growth_mb_per_10_min": _slope(later) * 600,
        }
        s = summary[name]
        say(
            f"{name}: {s['first_mb']:.0f} MB at start, {s['last_mb']:.0f} MB at the end, "
            f"{s['max_mb']:.0f} MB at most; after {settle_s:.0f} s, "
            f"{s['growth_mb_per_10_min']:+.1f} MB per 10 minutes"
        )
    return summary


async def _soak(
    cockpit: Any, seconds: float, screens: int, sample_s: float, alert_every_s: float, say: Say
) -> dict[str, list[tuple[float, float]]]:
    """Hold the screens, raise alerts and sample memory for `seconds`; return the samples."""
    import aiohttp

    load = Load([Screen() for _ in range(screens)])
    samples: dict[str, list[tuple[float, float]]] = {}
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0),
        timeout=aiohttp.ClientTimeout(total=None, sock_read=None),
        headers={"Cookie": cockpit.cookie},
    ) as session:
        tasks = [asyncio.create_task(_pushed(session, cockpit, s, load)) for s in load.screens]
        started = time.monotonic()
        next_alert = started
        next_sample = started
        while time.monotonic() - started < seconds:
            now = time.monotonic()
            if now >= next_alert:
                tag = f"soak-{secrets.token_hex(3)}"
                load.raised[tag] = now
                await asyncio.to_thread(cockpit.raise_alert, tag)
                next_alert += alert_every_s
            if now >= next_sample:
                at = now - started
                pids = {"worker": cockpit.worker_pid}
                pids |= {f"web {i}": pid for i, pid in enumerate(sorted(cockpit.web_pids()))}
                line = []
                for name, pid in pids.items():
                    mb = rss_mb(pid)
                    if mb is not None:
                        samples.setdefault(name, []).append((at, mb))
                        line.append(f"{name} {mb:.0f} MB")
                say(f"{at:6.0f} s: " + ", ".join(line))
                next_sample += sample_s
            await asyncio.sleep(0.5)
        load.stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    seen = sum(len(s.seen) for s in load.screens)
    say(
        f"{len(load.raised)} alerts raised; the screens saw {seen} of "
        f"{len(load.raised) * screens}; errors {sum(s.errors for s in load.screens)}"
    )
    return samples


def _slope(points: list[tuple[float, float]]) -> float:
    """Return the least-squares slope of (seconds, MB) points, in MB per second."""
    if len({t for t, _ in points}) < 2:
        return 0.0
    return statistics.linear_regression([t for t, _ in points], [mb for _, mb in points]).slope
