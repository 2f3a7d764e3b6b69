"""Tell a whole source gone silent (the feed, the broker link, a device type) from silent devices.

When the simulator, the broker or a vendor's platform stops, every device behind it falls silent
at once. That is one fault, of the source: it raises one `source.silent` alert about the source
and the devices it covers raise no `device.offline` of their own. A device already silent before
its source stopped is a fault of its own and keeps its own alert.

    the feed          every device heard at least once (patrol points are people's check-ins,
                      not a feed, but their check-ins cannot arrive either: they are covered)
    a device type     the devices of one kind (one topic, usually one vendor's platform), when
                      there are at least `min_devices` of them; watched only while the feed is not

A source is silent when none of its devices reported for `quiet_after_intervals` of its shortest
report interval (seen before any device's own offline window ends, so nothing floods first),
when `silent_share` of its devices are offline at once, or (the feed) when the MQTT bridge has
been cut off from its broker for `link_down_after_s`. Pure: no clock, no store; the worker calls
it each tick with the device states and the recently resolved source alerts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from cockpit.domain.kinds import FIRE_DEVICE_KINDS, AlertLevel, DeviceKind
from cockpit.rules.config import RulesConfig
from cockpit.rules.results import AlertCandidate, Reason, RuleKind, condition_key

OBJECT_SOURCE = "source"
FEED_ID = 0  # the whole device feed; a device type is 1 + its place in DeviceKind
KIND_NAMES = {
    DeviceKind.WATER_PRESSURE: ("消防水压", "fire water pressure sensors"),
    DeviceKind.ELECTRICITY: ("智慧用电", "smart electricity meters"),
    DeviceKind.SMOKE: ("烟感", "smoke detectors"),
    DeviceKind.GAS: ("气感", "gas detectors"),
    DeviceKind.PATROL_POINT: ("巡更点", "patrol points"),
    DeviceKind.WATER_METER: ("智能水表", "smart water meters"),
    DeviceKind.DOOR_SENSOR: ("门磁", "door sensors"),
    DeviceKind.ELEVATOR: ("智慧电梯", "smart elevators"),
    DeviceKind.TAXI_KIOSK: ("一键叫车", "taxi kiosks"),
    DeviceKind.CAMERA: ("视频监控", "cameras"),
}
FEED_TITLE = ("设备数据接入中断", "Device feed silent")
LINK_TITLE = ("物联网消息服务器连接中断", "MQTT broker link down")


class Silent(Protocol):
    """Describe what the rule needs of a device: its kind, report interval and last report."""

    kind: str
    interval_s: int
    last_seen: float | None


@dataclass(frozen=True)
class SourceSilence:
    """Hold this tick's verdict: the source alerts and the devices whose silence they explain."""

    candidates: tuple[AlertCandidate, ...] = ()
    # Devices whose own silence alerts are not raised (and, when open, resolved): their source is.
    covered: frozenset[int] = frozenset()
    # Devices of a source that came back lately: their own silence counts from its return.
    counted_from: Mapping[int, float] = field(default_factory=dict)


def source_id(kind: str | None) -> int:
    """Return the object id of a source: 0 for the feed, 1 + the kind's place for a device type."""
    if kind is None:
        return FEED_ID
    return 1 + list(DeviceKind).index(DeviceKind(kind))


def source_key(kind: str | None) -> str:
    """Return the condition key of a source's silence alert."""
    return condition_key(RuleKind.SOURCE_SILENT, OBJECT_SOURCE, source_id(kind))


def source_silence(
    states: Mapping[int, Silent],
    now_ts: float,
    cfg: RulesConfig,
    *,
    link_down_for_s: float | None = None,
    link_name: str = "",
    returned: Mapping[str, float] | None = None,
) -> SourceSilence:
    """Return the silent sources' alerts and the devices they cover, from the device states.

    `link_down_for_s` is how long the MQTT bridge has been cut off (None: connected, or no
    bridge); `returned` maps a source alert's condition key to when it was resolved, for the
    sources that came back within the last offline window.
    """
    rule = cfg.devices.source_silence
    if not rule.enabled:
        return SourceSilence()
    k = cfg.devices.offline_after_intervals
    heard: dict[int, Silent] = {}
    by_kind: dict[str, dict[int, Silent]] = {}
    for device_id, state in states.items():
        # A device out for service is silent on purpose: it says nothing about its source.
        if state.last_seen is None or state.interval_s <= 0 or getattr(state, "maintenance", False):
            continue
        heard[device_id] = state
        if state.kind != DeviceKind.PATROL_POINT:
            by_kind.setdefault(state.kind, {})[device_id] = state
    counted_from = _counted_from(heard, returned or {})
    # Each type's figures once; the feed's (every watched device) are theirs taken together.
    stats = {kind: _stats(members, now_ts, k, counted_from) for kind, members in by_kind.items()}
    whole = _together(stats.values())
    link_down = link_down_for_s is not None and link_down_for_s >= rule.link_down_after_s
    feed = _verdict(whole, now_ts, rule.quiet_after_intervals, rule.silent_share)
    if feed is not None or link_down:
        onset = feed.onset if feed is not None else whole.newest
        reasons = []
        if link_down:
            reasons.append(
                Reason(
                    "link_down",
                    f"与消息服务器 {link_name} 的连接已中断 {link_down_for_s:.0f} 秒",
                    f"Cut off from the broker {link_name} for {link_down_for_s:.0f} s",
                    round(link_down_for_s or 0.0, 1),
                    rule.link_down_after_s,
                )
            )
        if feed is not None:
            reasons.extend(feed.reasons)
        title = LINK_TITLE if link_down else FEED_TITLE
        candidate = _candidate(None, rule.level, title, reasons)
        covered = _covered(heard, onset, k) if onset is not None else frozenset()
        return SourceSilence((candidate,), covered, counted_from)
    candidates, covered = [], set()
    for kind, members in sorted(by_kind.items()):
        if len(members) < rule.min_devices:
            continue
        found = _verdict(stats[kind], now_ts, rule.quiet_after_intervals, rule.silent_share)
        if found is None:
            continue
        level = rule.level if kind in FIRE_DEVICE_KINDS else rule.minor_level
        zh, en = KIND_NAMES.get(DeviceKind(kind), (kind, kind))
        title = (f"{zh}设备数据中断", f"No data from {en}")
        candidates.append(_candidate(kind, level, title, found.reasons))
        covered |= _covered(members, found.onset, k)
    return SourceSilence(tuple(candidates), frozenset(covered), counted_from)


@dataclass(frozen=True)
class _Found:
    """Say why a source is silent and when it fell silent."""

    onset: float
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class _Stats:
    """Hold what the verdict needs of a source's devices, so the feed's are its types' summed."""

    count: int
    newest: float | None  # the latest report among them
    shortest: float | None  # the shortest report interval among them
    offline: int  # how many are offline
    offline_newest: float | None  # the latest report among the offline ones


def _stats(
    members: Mapping[int, Silent], now_ts: float, k: float, counted_from: Mapping[int, float]
) -> _Stats:
    """Return the figures of these (heard, in service) devices at now_ts."""
    if not members:
        return _Stats(0, None, None, 0, None)
    offline = [
        s.last_seen
        for d, s in members.items()
        if now_ts - max(s.last_seen, counted_from.get(d, 0.0)) > k * s.interval_s
    ]
    return _Stats(
        len(members),
        _newest(members),
        min(s.interval_s for s in members.values()),
        len(offline),
        max(offline, default=None),
    )


def _together(parts: Iterable[_Stats]) -> _Stats:
    """Return the figures of several sources' devices taken as one source."""
    parts = [p for p in parts if p.count]
    if not parts:
        return _Stats(0, None, None, 0, None)
    return _Stats(
        sum(p.count for p in parts),
        max(p.newest for p in parts if p.newest is not None),
        min(p.shortest for p in parts if p.shortest is not None),
        sum(p.offline for p in parts),
        max((p.offline_newest for p in parts if p.offline_newest is not None), default=None),
    )


def _verdict(
    stats: _Stats, now_ts: float, quiet_after: float, share_needed: float
) -> _Found | None:
    """Return why a source with these figures is silent, or None when it is not."""
    if not stats.count:
        return None
    quiet_s = now_ts - stats.newest
    share = stats.offline / stats.count
    reasons = []
    onset = None
    if quiet_s > quiet_after * stats.shortest:
        onset = stats.newest
        reasons.append(
            Reason(
                "source_quiet",
                f"{stats.count} 台设备已 {quiet_s:.0f} 秒无任何数据",
                f"None of {stats.count} devices reported for {quiet_s:.0f} s",
                round(quiet_s, 1),
                round(quiet_after * stats.shortest, 1),
            )
        )
    if share >= share_needed:
        # Fell silent when the last of the offline devices did: older silences are their own.
        onset = stats.offline_newest if onset is None else onset
        reasons.append(
            Reason(
                "source_share",
                f"{stats.offline}/{stats.count} 台设备离线（{share:.0%}）",
                f"{stats.offline} of {stats.count} devices offline ({share:.0%})",
                round(share, 3),
                share_needed,
            )
        )
    return None if onset is None else _Found(onset, tuple(reasons))


def _covered(members: Mapping[int, Silent], onset: float, k: float) -> frozenset[int]:
    """Return the devices that were still reporting when their source fell silent."""
    return frozenset(
        d
        for d, s in members.items()
        # A patrol point is late after one window; any other device after k intervals.
        if onset - s.last_seen <= (1 if s.kind == DeviceKind.PATROL_POINT else k) * s.interval_s
    )


def _counted_from(heard: Mapping[int, Silent], returned: Mapping[str, float]) -> dict[int, float]:
    """Return, per device of a source that came back, the time its own silence counts from."""
    if not returned:
        return {}
    feed_back = returned.get(source_key(None), 0.0)
    kind_back = {kind: returned.get(source_key(kind), 0.0) for kind in DeviceKind}
    counted: dict[int, float] = {}
    for device_id, state in heard.items():
        back = max(feed_back, kind_back.get(state.kind, 0.0))
        if back > (state.last_seen or 0.0):
            counted[device_id] = back
    return counted


def _newest(members: Mapping[int, Silent]) -> float | None:
    """Return the latest report time among the devices."""
    return max((s.last_seen for s in members.values() if s.last_seen is not None), default=None)


def _candidate(
    kind: str | None, level: AlertLevel, title: tuple[str, str], reasons: Iterable[Reason]
) -> AlertCandidate:
    """Build the silence alert of one source."""
    return AlertCandidate.build(
        RuleKind.SOURCE_SILENT,
        level,
        OBJECT_SOURCE,
        source_id(kind),
        title[0],
        title[1],
        tuple(reasons),
    )
