"""Define what every rule returns: alert candidates carrying the facts that produced them."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cockpit.domain.kinds import AlertLevel

# Column widths of schema.Alert: a candidate that would not fit is a programming error.
KIND_MAX = 32
CONDITION_KEY_MAX = 120
TITLE_MAX = 200
ROUTING_MAX = 24

Fact = float | int | str | None

LEVEL_RANK = {AlertLevel.BLUE: 1, AlertLevel.YELLOW: 2, AlertLevel.ORANGE: 3, AlertLevel.RED: 4}


class RuleKind(StrEnum):
    """Name each alert kind the rules raise; the value is stored in Alert.kind."""

    SMOKE = "fire.smoke"
    SMOKE_BATTERY = "fire.smoke_battery"
    GAS = "fire.gas"
    WATER_PRESSURE = "fire.water_pressure"
    LEAKAGE = "fire.leakage"
    CABLE_TEMPERATURE = "fire.cable_temperature"
    OVERLOAD = "fire.overload"
    PATROL_OVERDUE = "fire.patrol_overdue"
    DEVICE_OFFLINE = "device.offline"
    DEVICE_FAULT = "device.fault"
    SOURCE_SILENT = "source.silent"
    ELEVATOR_TRAPPED = "elevator.trapped"
    ELDER_NO_WATER = "elder.no_water"
    ELDER_WATER_RUNNING = "elder.water_running"
    ELDER_NO_DOOR = "elder.no_door_opening"
    ENTERPRISE_SMOKE = "enterprise.smoke"
    ENTERPRISE_VISIT = "enterprise.visit"


# Kinds raised as alerts to be owned and tracked, but a work list rather than alarms: the enterprise
# panel lists them; the ticker, the map and the case desk leave them out.
WORK_LIST_KINDS = frozenset({RuleKind.ENTERPRISE_VISIT.value})
# Kinds about a device's own health, not what it senses: a silent or broken sensor, or a detector's
# low battery, is no alarm, so the map does not ring it and the fire panels do not count it alarmed.
DEVICE_HEALTH_KINDS = frozenset(
    {RuleKind.DEVICE_OFFLINE.value, RuleKind.DEVICE_FAULT.value, RuleKind.SMOKE_BATTERY.value}
)


class Routing(StrEnum):
    """Name where a candidate goes; the enterprise grades follow the studies' three routes."""

    ROUTINE = "routine"  # grid event platform (四平台流转)
    URGENT = "urgent"  # on-site dispatch (现场调度指挥)
    MAJOR = "major"  # street leader supervises (街道负责人督办)
    BROADCAST = "broadcast"  # fire: every responder at once (消息同步广播)
    PROPERTY_MAINTENANCE = "property_maintenance"  # elevator: property and maintenance firm
    SOCIAL_WORKER = "social_worker"  # elders: social worker and family call and visit


def level_rank(level: AlertLevel | None) -> int:
    """Return a level's order on the four-colour scale, 0 for no alert, so grades compare."""
    return 0 if level is None else LEVEL_RANK[level]


def condition_key(kind: str, object_type: str, object_id: int, detail: str = "") -> str:
    """Return the stable key of one condition on one object, e.g. 'fire.smoke:device:12'."""
    key = f"{kind}:{object_type}:{object_id}"
    return f"{key}:{detail}" if detail else key


@dataclass(frozen=True)
class Reason:
    """Record one fact that pushed a rule's result, with the threshold it was held against."""

    code: str
    text_zh: str
    text_en: str
    value: Fact = None
    threshold: Fact = None

    def __post_init__(self) -> None:
        """Refuse a reason without a code or a text, or with a value JSON cannot carry."""
        if not self.code or not self.text_zh or not self.text_en:
            raise ValueError("a reason needs a code and texts in Chinese and English")
        for name in ("value", "threshold"):
            fact = getattr(self, name)
            if isinstance(fact, float) and not math.isfinite(fact):
                raise ValueError(f"reason {self.code}: {name} {fact!r} is not finite")

    def as_dict(self) -> dict[str, Any]:
        """Return the reason as the JSON object stored in Alert.reasons."""
        return {
            "code": self.code,
            "text_zh": self.text_zh,
            "text_en": self.text_en,
            "value": self.value,
            "threshold": self.threshold,
        }


@dataclass(frozen=True)
class AlertCandidate:
    """Propose one alert: the alert store keeps one open alert per condition_key."""

    kind: str
    level: AlertLevel
    object_type: str
    object_id: int
    condition_key: str
    title_zh: str
    title_en: str
    reasons: tuple[Reason, ...]
    routing: str | None = None

    def __post_init__(self) -> None:
        """Make a candidate without reasons, or one the Alert table cannot hold, impossible."""
        if not isinstance(self.reasons, tuple) or not self.reasons:
            raise ValueError(
                f"{self.condition_key or self.kind}: an alert needs at least one reason"
            )
        if not all(isinstance(reason, Reason) for reason in self.reasons):
            raise TypeError("reasons must be Reason instances")
        if not isinstance(self.level, AlertLevel):
            raise TypeError(f"level must be an AlertLevel, not {self.level!r}")
        if not self.kind or len(self.kind) > KIND_MAX:
            raise ValueError(f"kind {self.kind!r} must be 1..{KIND_MAX} characters")
        if not self.condition_key or len(self.condition_key) > CONDITION_KEY_MAX:
            raise ValueError(f"condition_key must be 1..{CONDITION_KEY_MAX} characters")
        if (
            not self.title_zh
            or not self.title_en
            or max(len(self.title_zh), len(self.title_en)) > TITLE_MAX
        ):
            raise ValueError("an alert needs a title in Chinese and English")
        if self.routing is not None and not 0 < len(self.routing) <= ROUTING_MAX:
            raise ValueError(f"routing {self.routing!r} must be 1..{ROUTING_MAX} characters")

    @classmethod
    def build(
        cls,
        kind: str,
        level: AlertLevel,
        object_type: str,
        object_id: int,
        title_zh: str,
        title_en: str,
        reasons: tuple[Reason, ...] | list[Reason],
        routing: str | None = None,
    ) -> AlertCandidate:
        """Make a candidate whose condition key is derived from its kind and object."""
        return cls(
            kind=str(kind),
            level=level,
            object_type=object_type,
            object_id=object_id,
            condition_key=condition_key(kind, object_type, object_id),
            title_zh=title_zh,
            title_en=title_en,
            reasons=tuple(reasons),
            routing=None if routing is None else str(routing),
        )

    def reasons_json(self) -> list[dict[str, Any]]:
        """Return the reasons as the JSON list stored in Alert.reasons."""
        return [reason.as_dict() for reason in self.reasons]


def is_number(value: object) -> bool:
    """Tell whether a reading value is a finite number (booleans are flags, not numbers)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
