"""Turn adapter snapshots into small, versioned, JSON-ready view models and publish them."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

from cockpit.domain.kinds import FIRE_DEVICE_KINDS
from cockpit.live import LiveStore
from cockpit.panels import OFFLINE_AFTER_INTERVALS, DeviceState
from cockpit.view_patches import diff, size_of

log = logging.getLogger(__name__)
FIRE_KINDS = frozenset(k.value for k in FIRE_DEVICE_KINDS)
OVERVIEW = "overview"
TICKER = "ticker"


def devices_online(
    states: Mapping[int, DeviceState], now: datetime, offline_after_intervals: float
) -> dict[str, int]:
    """Count devices online, offline and in maintenance, overall and for fire, by the configured rule.

    online + offline + maintenance = total; a device out for service is neither up nor down.
    """
    now_ts = now.timestamp()
    online = fire_online = fire_total = maintenance = 0
    for state in states.values():
        is_fire = state.kind in FIRE_KINDS
        fire_total += is_fire
        if state.maintenance:
            maintenance += 1
        elif state.online(now_ts, offline_after_intervals):
            online += 1
            fire_online += is_fire
    return {
        "devices_online": online,
        "devices_offline": len(states) - online - maintenance,
        "devices_maintenance": maintenance,
        "fire_online": fire_online,
        "fire_total": fire_total,
        "devices_total": len(states),
    }


def build_overview(
    registry: dict[str, Any] | None,
    device_states: Mapping[int, DeviceState] | None,
    live: dict[str, Any] | None,
    readings_per_min: float | None,
    sources: list[dict[str, Any]],
    now: datetime,
    street_name: str | None,
    offline_after_intervals: float = OFFLINE_AFTER_INTERVALS,
) -> dict[str, Any]:
    """Return the first page's view model: registry counts, live counts and source health."""
    kpis: dict[str, Any] = {}
    if registry:
        kpis.update(registry["counts"])
        for key in ("complaints_today", "requests_today", "cases_today", "open_cases"):
            kpis[key] = registry[key]
    if device_states and live is not None:
        kpis.update(devices_online(device_states, now, offline_after_intervals))
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


# The overview's ingest counters, for /healthz, benches and tests: drawn on no screen.
UNDRAWN_KPIS = frozenset({"readings_total", "rejected_total", "readings_per_min"})
# Which views changed, one event per worker cycle that changed any: the screens' push (SSE) reads
# it; a thousand events are minutes of history, enough for any reader that fell behind.
VIEWS_STREAM = "views"
VIEWS_STREAM_MAXLEN = 1_000
# A patched view's chain of differences is published beside it under this suffix.
PATCH_SUFFIX = "~patch"
# A chain holds the last few changes, so a screen that missed one (it polled slower than the
# worker ticked) is still sent the difference; at most half the view's size in all, or the
# screen may as well fetch the view whole.
PATCH_STEPS = 8
PATCH_SHARE = 0.5
# What publish() adds to a model: never part of a difference.
STAMPS = ("version", "generated_at", "published_wall")


def patch_view(name: str) -> str:
    """Return the name the chain of differences of a view is published under."""
    return f"{name}{PATCH_SUFFIX}"


class ViewModelPublisher:
    """Write view models to the shared cache; the version is a digest of the content.

    For the views named in `patched` it also publishes, beside each, the chain of its last
    changes (`patch_view`): {"to": version, "at": generated_at, "steps": [{"from": version,
    "ops": [...]}, ...]}, oldest first, the operations of cockpit.view_patches. A screen that
    holds one of the versions a step starts from is sent the operations from there on, not the
    view whole (callbacks/shell.py).
    """

    def __init__(
        self,
        live: LiveStore,
        patched: frozenset[str] = frozenset(),
        budgets: Mapping[str, int] | None = None,
    ) -> None:
        self.live = live
        self.patched = patched
        self.budgets = budgets or {}  # bytes a view may weigh; logged once when over
        self._over: set[str] = set()
        self._versions: dict[str, str] = {}  # the version last published of each view
        self._changed: set[str] = set()  # views whose content changed since the last announce
        self._last: dict[str, bytes] = {}  # a patched view's last publication, to diff
        self._steps: dict[str, list[dict[str, Any]]] = {}  # and its chain, oldest first

    @staticmethod
    def version_of(model: dict[str, Any]) -> str:
        """Return the version the model would be published with: a digest of its content."""
        # Ages and timestamps change every tick; only the content decides whether clients redraw.
        # A digest, unlike a counter, agrees across worker restarts and several worker processes.
        content = {k: v for k, v in model.items() if k not in ("data_at",)}
        content["sources"] = [
            {k: v for k, v in s.items() if k != "age_s"} for s in model.get("sources", [])
        ]
        if isinstance(model.get("kpis"), dict):
            # Counters of the ingest that no screen draws: left out, or the overview (and with
            # it every screen's push and refresh) would change at every tick of a live street.
            content["kpis"] = {k: v for k, v in model["kpis"].items() if k not in UNDRAWN_KPIS}
        return hashlib.blake2b(
            orjson.dumps(content, option=orjson.OPT_SORT_KEYS), digest_size=12
        ).hexdigest()

    def publish(
        self, name: str, model: dict[str, Any], generated_at: datetime, version: str | None = None
    ) -> str:
        """Publish the model under its name and return its version (computed unless given)."""
        digest = version or self.version_of(model)
        payload = dict(
            model, version=digest, generated_at=generated_at.isoformat(), published_wall=time.time()
        )
        raw = orjson.dumps(payload)
        budget = self.budgets.get(name)
        if budget is not None and len(raw) > budget and name not in self._over:
            self._over.add(name)
            log.warning("view %s weighs %d B, over its budget of %d B", name, len(raw), budget)
        changed = self._versions.get(name) != digest
        if name in self.patched:
            if changed:
                self._publish_chain(name, model, digest, payload["generated_at"], len(raw))
            self._last[name] = raw  # bytes: a caller may change its model after publishing it
        self.live.set_view(name, raw)
        if changed:
            self._versions[name] = digest
            self._changed.add(name)
        return digest

    def _publish_chain(
        self, name: str, model: dict[str, Any], digest: str, at: str, view_bytes: int
    ) -> None:
        """Publish the chain of the view's last changes, this one (to `digest`) last."""
        last, was = self._last.get(name), self._versions.get(name)
        steps = self._steps.get(name, [])
        if last is None or was is None:
            steps = []  # nothing to diff against: a first publication (or a restart)
        else:
            before = {k: v for k, v in orjson.loads(last).items() if k not in STAMPS}
            steps = [*steps, {"from": was, "ops": diff(before, model)}]
        budget = view_bytes * PATCH_SHARE
        sizes = [size_of(step["ops"]) for step in steps]
        while steps and (len(steps) > PATCH_STEPS or sum(sizes) > budget):
            steps, sizes = steps[1:], sizes[1:]  # the oldest go first
        self._steps[name] = steps
        # Written before the view: a screen that reads the new view's version finds its chain.
        self.live.set_view(patch_view(name), orjson.dumps({"to": digest, "at": at, "steps": steps}))

    def announce(self) -> str | None:
        """Tell the screens' push streams, in one event, which views changed since the last call.

        Appended to the live store's VIEWS_STREAM (a Redis stream every web process reads,
        cockpit/web/push.py); nothing when nothing changed. Kept for the next call if the
        store is out of reach, so no change goes unannounced.
        """
        if not self._changed:
            return None
        names = sorted(self._changed)
        event_id = self.live.append_event(
            VIEWS_STREAM, {"views": names}, maxlen=VIEWS_STREAM_MAXLEN
        )
        self._changed.difference_update(names)
        return event_id


# The publisher appends version, generated_at and published_wall last: they sit in the tail.
TAIL_BYTES = 160
VERSION_KEY = b'"version":"'
WALL_KEY = b'"published_wall":'


def peek(raw: bytes) -> tuple[str, float] | None:
    """Return a published view's version and wall time from its tail, without parsing it all."""
    # Parsing a large view (the cases list) every tick only to learn it is unchanged costs
    # milliseconds per client; the tail holds both stamps. Anything unexpected: parse in full.
    tail_start = max(0, len(raw) - TAIL_BYTES)
    at = raw.rfind(VERSION_KEY, tail_start)
    wall_at = raw.rfind(WALL_KEY, tail_start)
    if at < 0 or wall_at < at:
        return None
    start = at + len(VERSION_KEY)
    end = raw.find(b'"', start)
    wall_end = raw.find(b"}", wall_at)
    try:
        wall = float(raw[wall_at + len(WALL_KEY) : wall_end])
    except ValueError:
        return None
    if end < 0 or wall_end != len(raw) - 1:
        return None
    return raw[start:end].decode(), wall


def read_view(live: LiveStore, name: str) -> dict[str, Any] | None:
    """Return a published view model, or None when none is there yet."""
    raw = live.get_view(name)
    return orjson.loads(raw) if raw else None
