"""Define the enumerations of devices, residents, complaints, alerts and cases."""

from __future__ import annotations

from enum import StrEnum


class DeviceKind(StrEnum):
    """Name each kind of device the street monitors."""

    WATER_PRESSURE = "water_pressure"  # 高层水压
    ELECTRICITY = "electricity"  # 智慧用电
    SMOKE = "smoke"  # 烟感
    GAS = "gas"  # 气感
    PATROL_POINT = "patrol_point"  # 巡更点
    WATER_METER = "water_meter"  # 智能水表
    DOOR_SENSOR = "door_sensor"  # 门磁
    ELEVATOR = "elevator"  # 智慧电梯
    TAXI_KIOSK = "taxi_kiosk"  # 一键叫车
    CAMERA = "camera"  # 视频/AI 摄像头


FIRE_DEVICE_KINDS = frozenset(
    {
        DeviceKind.WATER_PRESSURE,
        DeviceKind.ELECTRICITY,
        DeviceKind.SMOKE,
        DeviceKind.GAS,
        DeviceKind.PATROL_POINT,
    }
)


class Registration(StrEnum):
    """Tell whether a resident is registered here (户籍) or floating (流动)."""

    REGISTERED = "registered"
    FLOATING = "floating"


class BuildingUse(StrEnum):
    """Name what a building is used for."""

    RESIDENTIAL = "residential"
    OFFICE = "office"
    COMMERCIAL = "commercial"
    PUBLIC = "public"
    INDUSTRIAL = "industrial"


# Key in Building.properties: an office building's lettable units (simulated or imported).
OFFICE_UNITS_PROPERTY = "office_units"
# Key in Device.params: true while the device is out for service (taken off the online count, no
# offline alert), with `maintenance_since` (ISO date) and `maintenance_work` beside it.
MAINTENANCE_PARAM = "maintenance"


def in_maintenance(params: object) -> bool:
    """Tell whether a device's registry params put it in maintenance."""
    return isinstance(params, dict) and bool(params.get(MAINTENANCE_PARAM))


class ComplaintSource(StrEnum):
    """Name the complaint channels joined on address (数据联席)."""

    POLICE_110 = "110"
    HOTLINE_12345 = "12345"
    MARKET_96315 = "96315"
    LABOUR = "labour"


class AlertLevel(StrEnum):
    """Grade alerts on China's four-colour warning scale."""

    RED = "red"  # 特别严重
    ORANGE = "orange"  # 严重
    YELLOW = "yellow"  # 较重
    BLUE = "blue"  # 一般


class AlertStatus(StrEnum):
    """Track an alert from raised to resolved."""

    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class CaseState(StrEnum):
    """Name the states of the digital city management case cycle (GB/T 30428)."""

    REPORTED = "reported"
    REGISTERED = "registered"
    DISPATCHED = "dispatched"
    HANDLING = "handling"
    HANDLED = "handled"
    VERIFIED = "verified"
    CLOSED = "closed"
    EVALUATED = "evaluated"
    PARKED = "parked"
    VOIDED = "voided"
    REWORK = "rework"
    SUPERVISED = "supervised"
    ESCALATED = "escalated"


class CaseSource(StrEnum):
    """Name where a case came from."""

    ALERT = "alert"
    RESIDENT = "resident"
    GRID_WORKER = "grid_worker"
    COMPLAINT = "complaint"
    HOTLINE = "hotline"
    CAMERA = "camera"


class RequestStatus(StrEnum):
    """Follow Open311's two request states."""

    OPEN = "open"
    CLOSED = "closed"
