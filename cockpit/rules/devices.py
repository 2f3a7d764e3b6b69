"""Judge whether a reading is physically possible: an impossible value is a sensor fault."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cockpit.domain.kinds import AlertLevel, DeviceKind
from cockpit.rules.config import RulesConfig
from cockpit.rules.results import AlertCandidate, Reason, RuleKind, condition_key, is_number

OBJECT_DEVICE = "device"

Bounds = tuple[tuple[str, float, float], ...]


def plausible_bounds(cfg: RulesConfig) -> dict[str, Bounds]:
    """Return each device kind's (quantity, min, max) triples, flat for the per-reading check."""
    return {
        str(kind): tuple((name, r.min, r.max) for name, r in ranges.items())
        for kind, ranges in cfg.devices.plausible.items()
        if ranges
    }


def check(bounds: Bounds, values: Mapping[str, Any]) -> tuple[dict[str, float], bool]:
    """Return a reading's out-of-range quantities and whether it carried any ranged quantity."""
    faults: dict[str, float] = {}
    checked = False
    for name, low, high in bounds:
        value = values.get(name)
        if value is None or value is True or value is False:
            continue
        # Most readings are in range: compare first, ask the costlier questions only otherwise.
        try:
            inside = low <= value <= high
        except TypeError:
            continue
        if inside:
            checked = True
        elif is_number(value):
            checked = True
            faults[name] = value
    return faults, checked


def implausible(kind: DeviceKind, values: Mapping[str, Any], cfg: RulesConfig) -> dict[str, float]:
    """Return the quantities of a reading that lie outside their sensor's plausible range."""
    bounds = plausible_bounds(cfg).get(str(kind))
    return check(bounds, values)[0] if bounds else {}


def sensor_fault(
    device_id: int, kind: DeviceKind | str, faults: Mapping[str, float], cfg: RulesConfig
) -> AlertCandidate | None:
    """Raise a yellow maintenance alert naming each impossible quantity, value and range."""
    if not faults:
        return None
    ranges = cfg.devices.plausible[DeviceKind(kind)]
    reasons = []
    for name, value in faults.items():
        bounds = ranges[name]
        span = f"{bounds.min:g}..{bounds.max:g}"
        reasons.append(
            Reason(
                "implausible",
                f"{name} 读数 {value:g} 超出传感器可能范围 {span}，疑似传感器故障",
                f"{name} reads {value:g}, outside the sensor's possible range {span}: "
                "sensor fault suspected",
                value,
                span,
            )
        )
    return AlertCandidate.build(
        RuleKind.DEVICE_FAULT,
        AlertLevel.YELLOW,
        OBJECT_DEVICE,
        device_id,
        "传感器故障",
        "Sensor fault",
        tuple(reasons),
    )


def fault_condition_key(device_id: int) -> str:
    """Return the condition key of one device's sensor fault."""
    return condition_key(RuleKind.DEVICE_FAULT, OBJECT_DEVICE, device_id)
