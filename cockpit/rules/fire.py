"""Evaluate fire-safety readings: smoke, gas, water pressure, electricity, patrols, silence."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from cockpit.domain.kinds import AlertLevel, DeviceKind
from cockpit.rules.config import RulesConfig
from cockpit.rules.results import (
    AlertCandidate,
    Reason,
    Routing,
    RuleKind,
    condition_key,
    is_number,
    level_rank,
)

OBJECT_DEVICE = "device"
# A storey height to assume when a building's height is unknown.
STOREY_M = 3.0
MIN_RATED_A = 1.0

# Which alert kinds each device kind's readings decide, and which value each one reads.
_CONDITIONS: dict[DeviceKind, tuple[tuple[RuleKind, tuple[str, ...]], ...]] = {
    DeviceKind.SMOKE: (
        (RuleKind.SMOKE, ("alarm", "obscuration_pct_m")),
        (RuleKind.SMOKE_BATTERY, ("battery_pct",)),
    ),
    DeviceKind.GAS: ((RuleKind.GAS, ("alarm", "lel_pct")),),
    DeviceKind.WATER_PRESSURE: ((RuleKind.WATER_PRESSURE, ("pressure_kpa",)),),
    DeviceKind.ELECTRICITY: (
        (RuleKind.LEAKAGE, ("leakage_ma",)),
        (RuleKind.CABLE_TEMPERATURE, ("cable_temp_c",)),
        (RuleKind.OVERLOAD, ("current_a",)),
    ),
}


@dataclass(frozen=True)
class FireDevice:
    """Describe a fire terminal and the building facts its thresholds depend on."""

    id: int
    kind: DeviceKind
    building_floors: int | None = None
    building_height_m: float | None = None
    floor: int | None = None  # where the device is mounted; None means the top floor
    rated_current_a: float | None = None  # the circuit's rating; None means the configured one

    def height_m(self) -> float:
        """Return the building height, estimated from floors when it was not surveyed."""
        if self.building_height_m is not None and self.building_height_m > 0:
            return self.building_height_m
        return STOREY_M * max(self.building_floors or 0, 0)

    def metres_below_top(self) -> float:
        """Return how far below the top floor the device sits (0 when unknown)."""
        floors = self.building_floors or 0
        if self.floor is None or floors <= 1:
            return 0.0
        floor = min(max(self.floor, 1), floors)
        return (floors - floor) * self.height_m() / floors


def evaluate_fire_reading(
    device: FireDevice, values: Mapping[str, Any], cfg: RulesConfig
) -> list[AlertCandidate]:
    """Return the alerts one reading of a fire device raises; missing or bad values raise none."""
    match device.kind:
        case DeviceKind.SMOKE:
            return _smoke(device, values, cfg)
        case DeviceKind.GAS:
            return _gas(device, values, cfg)
        case DeviceKind.WATER_PRESSURE:
            return _water_pressure(device, values, cfg)
        case DeviceKind.ELECTRICITY:
            return _electricity(device, values, cfg)
    return []


def fire_conditions_checked(device: FireDevice, values: Mapping[str, Any]) -> frozenset[str]:
    """Return the condition keys a reading decided, so alerts it no longer raises can close."""
    return frozenset(
        condition_key(kind, OBJECT_DEVICE, device.id)
        for kind, keys in _CONDITIONS.get(device.kind, ())
        if any(_usable(values.get(key)) for key in keys)
    )


def required_pressure_kpa(device: FireDevice, cfg: RulesConfig) -> float:
    """Return the static pressure the sensor must see: the height tier plus the water above it."""
    pressure = cfg.fire.water_pressure
    return pressure.required_kpa(device.height_m()) + (
        pressure.kpa_per_metre * device.metres_below_top()
    )


def patrol_overdue(
    point_id: int,
    last_check_in: datetime | None,
    now: datetime,
    window: timedelta,
    *,
    escalate_after_windows: float = 2.0,
) -> AlertCandidate | None:
    """Raise blue when a patrol point went unchecked for a window, yellow after several windows."""
    if window <= timedelta(0):
        raise ValueError("a patrol window must be positive")
    hours = window.total_seconds() / 3600
    if last_check_in is None:
        reason = Reason(
            "patrol_never",
            "没有巡更打卡记录",
            "No patrol check-in on record",
            None,
            round(hours, 2),
        )
        return _patrol(point_id, AlertLevel.BLUE, reason)
    late = now - last_check_in
    if late <= window:
        return None
    level = AlertLevel.YELLOW if late >= window * escalate_after_windows else AlertLevel.BLUE
    late_h = round(late.total_seconds() / 3600, 2)
    reason = Reason(
        "patrol_overdue",
        f"已 {late_h} 小时未巡更打卡（要求每 {hours:g} 小时）",
        f"No patrol check-in for {late_h} h (required every {hours:g} h)",
        late_h,
        round(hours, 2),
    )
    return _patrol(point_id, level, reason)


def device_state(
    last_seen: datetime | None, interval_s: float, now: datetime, k: float
) -> Literal["online", "offline"]:
    """Call a device offline once silent for over k report intervals; silence is never normal."""
    if interval_s <= 0 or k <= 0:
        raise ValueError("interval_s and k must be positive")
    if last_seen is None:
        return "offline"
    silent = (now - last_seen).total_seconds()
    return "offline" if silent > k * interval_s else "online"


def device_offline(
    device_id: int, last_seen: datetime | None, interval_s: float, now: datetime, k: float
) -> AlertCandidate | None:
    """Raise a blue maintenance alert for a device that device_state() calls offline."""
    if device_state(last_seen, interval_s, now, k) == "online":
        return None
    limit_s = round(k * interval_s, 1)
    if last_seen is None:
        reason = Reason(
            "never_reported", "设备从未上报数据", "The device has never reported", None, limit_s
        )
    else:
        silent_s = round((now - last_seen).total_seconds(), 1)
        reason = Reason(
            "silent",
            f"设备已 {silent_s:g} 秒无数据（上限 {limit_s:g} 秒）",
            f"No data for {silent_s:g} s (limit {limit_s:g} s)",
            silent_s,
            limit_s,
        )
    return AlertCandidate.build(
        RuleKind.DEVICE_OFFLINE,
        AlertLevel.BLUE,
        OBJECT_DEVICE,
        device_id,
        "设备离线",
        "Device offline",
        (reason,),
    )


# -- per kind ---------------------------------------------------------------------------------


def _smoke(device: FireDevice, values: Mapping[str, Any], cfg: RulesConfig) -> list[AlertCandidate]:
    """Raise red on the detector's alarm, yellow on rising smoke, blue on a low battery."""
    smoke = cfg.fire.smoke
    found: list[AlertCandidate] = []
    obscuration = values.get("obscuration_pct_m")
    obscuration = obscuration if is_number(obscuration) else None
    alarmed = values.get("alarm") is True
    rising = obscuration is not None and obscuration >= smoke.prealarm_obscuration_pct_m
    # Built only when it is reported: most readings of a quiet street raise nothing.
    density = (
        Reason(
            "obscuration",
            f"烟雾浓度 {obscuration:g} %/m（预警 {smoke.prealarm_obscuration_pct_m:g}）",
            f"Smoke obscuration {obscuration:g} %/m "
            f"(pre-alarm {smoke.prealarm_obscuration_pct_m:g})",
            obscuration,
            smoke.prealarm_obscuration_pct_m,
        )
        if obscuration is not None and (alarmed or rising)
        else None
    )
    if alarmed:
        alarm = Reason("smoke_alarm", "烟感探测器报警", "The smoke detector is in alarm", "alarm")
        found.append(
            _device_alert(
                device,
                RuleKind.SMOKE,
                AlertLevel.RED,
                "烟感报警",
                "Smoke alarm",
                (alarm, density) if density else (alarm,),
                Routing.BROADCAST,
            )
        )
    elif rising:
        found.append(
            _device_alert(
                device,
                RuleKind.SMOKE,
                AlertLevel.YELLOW,
                "烟雾浓度升高",
                "Smoke rising",
                (density,),
            )
        )
    battery = values.get("battery_pct")
    if is_number(battery) and battery < smoke.low_battery_pct:
        reason = Reason(
            "low_battery",
            f"电量 {battery:g}%（低于 {smoke.low_battery_pct:g}%）",
            f"Battery {battery:g}% (below {smoke.low_battery_pct:g}%)",
            battery,
            smoke.low_battery_pct,
        )
        found.append(
            _device_alert(
                device,
                RuleKind.SMOKE_BATTERY,
                AlertLevel.BLUE,
                "烟感电量低",
                "Smoke detector battery low",
                (reason,),
            )
        )
    return found


def _gas(device: FireDevice, values: Mapping[str, Any], cfg: RulesConfig) -> list[AlertCandidate]:
    """Grade gas by the alarm flag and % LEL, taking the higher of the two."""
    gas = cfg.fire.gas
    lel = values.get("lel_pct")
    reasons: list[Reason] = []
    level: AlertLevel | None = None
    if values.get("alarm") is True:
        reasons.append(
            Reason("gas_alarm", "可燃气体探测器报警", "The gas detector is in alarm", "alarm")
        )
        level = AlertLevel.ORANGE
    if is_number(lel):
        for threshold, tier in (
            (gas.severe_lel_pct, AlertLevel.RED),
            (gas.alarm_lel_pct, AlertLevel.ORANGE),
            (gas.prealarm_lel_pct, AlertLevel.YELLOW),
        ):
            if lel >= threshold:
                reasons.append(
                    Reason(
                        "lel",
                        f"可燃气体浓度 {lel:g}% LEL（≥{threshold:g}%）",
                        f"Gas at {lel:g}% LEL (≥ {threshold:g}%)",
                        lel,
                        threshold,
                    )
                )
                level = tier if level_rank(tier) > level_rank(level) else level
                break
    if level is None:
        return []
    title = {
        AlertLevel.RED: ("燃气浓度严重超标", "Gas concentration critical"),
        AlertLevel.ORANGE: ("燃气报警", "Gas alarm"),
        AlertLevel.YELLOW: ("燃气浓度升高", "Gas rising"),
    }[level]
    routing = Routing.BROADCAST if level is AlertLevel.RED else None
    return [_device_alert(device, RuleKind.GAS, level, *title, tuple(reasons), routing)]


def _water_pressure(
    device: FireDevice, values: Mapping[str, Any], cfg: RulesConfig
) -> list[AlertCandidate]:
    """Raise yellow below the required pressure, orange below its severe fraction."""
    pressure = values.get("pressure_kpa")
    if not is_number(pressure):
        return []
    required = round(required_pressure_kpa(device, cfg), 1)
    if pressure >= required:
        return []
    severe = pressure < required * cfg.fire.water_pressure.severe_fraction
    height = round(device.height_m(), 1)
    reasons = (
        Reason(
            "pressure_low",
            f"消防水压 {pressure:g} kPa，低于要求 {required:g} kPa",
            f"Fire water pressure {pressure:g} kPa, below the required {required:g} kPa",
            pressure,
            required,
        ),
        Reason(
            "building_height",
            f"建筑高度 {height:g} 米",
            f"Building height {height:g} m",
            height,
        ),
    )
    return [
        _device_alert(
            device,
            RuleKind.WATER_PRESSURE,
            AlertLevel.ORANGE if severe else AlertLevel.YELLOW,
            "消防水压严重不足" if severe else "消防水压不足",
            "Fire water pressure critically low" if severe else "Fire water pressure low",
            reasons,
        )
    ]


def _electricity(
    device: FireDevice, values: Mapping[str, Any], cfg: RulesConfig
) -> list[AlertCandidate]:
    """Check leakage, cable temperature and overload as three separate conditions."""
    power = cfg.fire.electricity
    found: list[AlertCandidate] = []
    leakage = values.get("leakage_ma")
    if is_number(leakage) and leakage >= power.leakage_warn_ma:
        severe = leakage >= power.leakage_severe_ma
        threshold = power.leakage_severe_ma if severe else power.leakage_warn_ma
        reason = Reason(
            "leakage",
            f"剩余电流 {leakage:g} mA（≥{threshold:g} mA）",
            f"Leakage current {leakage:g} mA (≥ {threshold:g} mA)",
            leakage,
            threshold,
        )
        found.append(
            _device_alert(
                device,
                RuleKind.LEAKAGE,
                AlertLevel.ORANGE if severe else AlertLevel.YELLOW,
                "漏电流超标",
                "Leakage current high",
                (reason,),
            )
        )
    temperature = values.get("cable_temp_c")
    if is_number(temperature) and temperature >= power.cable_temp_warn_c:
        severe = temperature >= power.cable_temp_severe_c
        threshold = power.cable_temp_severe_c if severe else power.cable_temp_warn_c
        reason = Reason(
            "cable_temperature",
            f"线缆温度 {temperature:g} ℃（≥{threshold:g} ℃）",
            f"Cable temperature {temperature:g} °C (≥ {threshold:g} °C)",
            temperature,
            threshold,
        )
        found.append(
            _device_alert(
                device,
                RuleKind.CABLE_TEMPERATURE,
                AlertLevel.ORANGE if severe else AlertLevel.YELLOW,
                "线缆温度过高",
                "Cable overheating",
                (reason,),
            )
        )
    current = values.get("current_a")
    # A rating under 1 A is a registry typo, not a circuit: fall back to the configured one.
    own = device.rated_current_a
    rated = own if is_number(own) and own >= MIN_RATED_A else power.rated_current_a
    if is_number(current) and current / rated >= power.overload_warn_ratio:
        ratio = current / rated
        severe = ratio >= power.overload_severe_ratio
        threshold = power.overload_severe_ratio if severe else power.overload_warn_ratio
        reason = Reason(
            "overload",
            f"电流 {current:g} A，为额定 {rated:g} A 的 {ratio:.0%}（≥{threshold:.0%}）",
            f"Current {current:g} A is {ratio:.0%} of the rated {rated:g} A (≥ {threshold:.0%})",
            round(ratio, 3),
            threshold,
        )
        found.append(
            _device_alert(
                device,
                RuleKind.OVERLOAD,
                AlertLevel.ORANGE if severe else AlertLevel.YELLOW,
                "线路过载",
                "Circuit overloaded",
                (reason,),
            )
        )
    return found


# -- helpers ----------------------------------------------------------------------------------


def _device_alert(
    device: FireDevice,
    kind: RuleKind,
    level: AlertLevel,
    title_zh: str,
    title_en: str,
    reasons: tuple[Reason, ...],
    routing: Routing | None = None,
) -> AlertCandidate:
    """Build a candidate about one fire device."""
    return AlertCandidate.build(
        kind, level, OBJECT_DEVICE, device.id, title_zh, title_en, reasons, routing
    )


def _patrol(point_id: int, level: AlertLevel, reason: Reason) -> AlertCandidate:
    """Build the patrol-overdue candidate of one patrol point."""
    return AlertCandidate.build(
        RuleKind.PATROL_OVERDUE,
        level,
        OBJECT_DEVICE,
        point_id,
        "巡更超时未打卡",
        "Patrol check-in overdue",
        (reason,),
    )


def _usable(value: object) -> bool:
    """Tell whether a reading value can decide a condition (a flag or a finite number)."""
    return isinstance(value, bool) or is_number(value)
