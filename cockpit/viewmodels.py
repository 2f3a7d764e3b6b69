"""Turn adapter snapshots into small, versioned, JSON-ready view models and publish them."""

from __future__ import annotations

import hashlib
import time
from datetime import datetime
from typing import Any

import orjson

from cockpit.domain.kinds import FIRE_DEVICE_KINDS
from cockpit.live import LiveStore

# A device silent for more than this many reporting intervals is offline, never "normal".
OFFLINE_AFTER_INTERVALS = 3
FIRE_KINDS = frozenset(k.value for k in FIRE_DEVICE_KINDS)
OVERVIEW = "overview"
TICKER = "ticker"


def devices_online(
    devices: dict[int, tuple[str, int]], last_seen: dict[int, float], now: datetime
) -> dict[str, int]:
    """Count devices whose last report is within their allowed silence, overall and for fire."""
    now_ts = now.timestamp()
    online = fire_online = fire_total = 0
    for device_id, (kind, interval) in devices.items():
        is_fire = kind in FIRE_KINDS
        fire_total += is_fire
        seen = last_seen.get(device_id)
        if seen is not None and now_ts - seen <= interval * OFFLINE_AFTER_INTERVALS:
            online += 1
            fire_online += is_fire
    return {
        "devices_online": online,
        "fire_online": fire_online,
        "fire_total": fire_total,
        "devices_total": len(devices),
    }


def build_overview(
    registry: dict[str, Any] | None,
    devices: dict[int, tuple[str, int]] | None,
    live: dict[str, Any] | None,
    readings_per_min: float | None,
    sources: list[dict[str, Any]],
    now: datetime,
    street_name: str | None,
) -> dict[str, Any]:
    """Return the first page's view model: registry counts, live counts and source health."""
    kpis: dict[str, Any] = {}
    if registry:
        kpis.update(registry["counts"])
        for key in ("complaints_today", "requests_today", "cases_today", "open_cases"):
            kpis[key] = registry[key]
    if devices is not None and live is not None:
        kpis.update(devices_online(devices, live["last_seen"], now))
    if live is not None:
        kpis["readings_total"] = live["counters"].get("readings_accepted", 0)
        kpis["rejected_total"] = sum(
            v for k, v in live["counters"].items() if k.startswith("rejected:")
        )
    kpis["readings_per_min"] = None if readings_per_min is None else round(readings_per_min)
    data_times = [s["fetched_at"] for s in sources if s.get("fetched_at")]
    return {
        "street": street_name or (registry or {}).get("street_name") or "",
        "kpis": kpis,
        "sources": [{k: v for k, v in s.items() if k != "fetched_at"} for s in sources],
        "stale": any(s["state"] != "ok" for s in sources),
        "data_at": min(data_times) if data_times else None,
    }


class ViewModelPublisher:
    """Write view models to the shared cache; the version is a digest of the content."""

    def __init__(self, live: LiveStore) -> None:
        self.live = live

    def publish(self, name: str, model: dict[str, Any], generated_at: datetime) -> str:
        """Publish the model under its name and return its version."""
        # Ages and timestamps change every tick; only the content decides whether clients redraw.
        # A digest, unlike a counter, agrees across worker restarts and several worker processes.
        content = {k: v for k, v in model.items() if k not in ("data_at",)}
        content["sources"] = [
            {k: v for k, v in s.items() if k != "age_s"} for s in model.get("sources", [])
        ]
        digest = hashlib.blake2b(
            orjson.dumps(content, option=orjson.OPT_SORT_KEYS), digest_size=12
        ).hexdigest()
        payload = dict(
            model, version=digest, generated_at=generated_at.isoformat(), published_wall=time.time()
        )
        self.live.set_view(name, orjson.dumps(payload))
        return digest


def read_view(live: LiveStore, name: str) -> dict[str, Any] | None:
    """Return a published view model, or None when none is there yet."""
    raw = live.get_view(name)
    return orjson.loads(raw) if raw else None
