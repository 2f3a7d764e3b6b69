"""Hold every screen label in Chinese (default) and English; no label is written anywhere else."""

from __future__ import annotations

LANGUAGES = ("zh", "en")

LABELS: dict[str, dict[str, str]] = {
    "title": {"zh": "街道数字驾驶舱", "en": "Street Digital Cockpit"},
    "residents": {"zh": "实有人口", "en": "Residents"},
    "households": {"zh": "实有房屋", "en": "Households"},
    "buildings": {"zh": "建筑", "en": "Buildings"},
    "office_buildings": {"zh": "商务楼宇", "en": "Office buildings"},
    "enterprises": {"zh": "企业", "en": "Enterprises"},
    "communities": {"zh": "社区", "en": "Communities"},
    "compounds": {"zh": "小区", "en": "Compounds"},
    "grids": {"zh": "网格", "en": "Grids"},
    "grid_workers": {"zh": "网格员", "en": "Grid workers"},
    "fire_online": {"zh": "消防终端在线", "en": "Fire terminals online"},
    "devices_online": {"zh": "物联设备在线", "en": "Devices online"},
    "readings_per_min": {"zh": "每分钟数据", "en": "Readings per minute"},
    "readings_total": {"zh": "累计接收数据", "en": "Readings received"},
    "complaints_today": {"zh": "今日投诉", "en": "Complaints today"},
    "requests_today": {"zh": "今日居民诉求", "en": "Resident requests today"},
    "cases_today": {"zh": "今日上报事件", "en": "Events reported today"},
    "open_cases": {"zh": "在办案件", "en": "Open cases"},
    "sources": {"zh": "数据源", "en": "Sources"},
    "fresh": {"zh": "数据更新于 {age} 秒前", "en": "Data updated {age} s ago"},
    "stale": {"zh": "数据已过期：{names}", "en": "Data is stale: {names}"},
    "waiting": {"zh": "正在等待数据…", "en": "Waiting for data…"},
    "state_ok": {"zh": "正常", "en": "OK"},
    "state_stale": {"zh": "过期", "en": "Stale"},
    "state_down": {"zh": "中断", "en": "Down"},
    "source_registry": {"zh": "基础库", "en": "Registry"},
    "source_devices": {"zh": "设备台账", "en": "Device list"},
    "source_live": {"zh": "实时数据", "en": "Live data"},
    "language_switch": {"zh": "English", "en": "中文"},
}


def label(key: str, lang: str) -> str:
    """Return the label in the language, falling back to Chinese."""
    entry = LABELS[key]
    return entry.get(lang) or entry["zh"]


def pick_language(requested: str | None, default: str) -> str:
    """Return a supported language: the requested one if known, else the default."""
    return requested if requested in LANGUAGES else default
