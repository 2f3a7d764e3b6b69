"""Fold many open alerts of one kind into one ticker item ("巡更超时未打卡 ×40"); pure, no I/O.

The ticker and the map show what needs eyes. Forty patrol points overdue are one fact for the
wall, told once with how many, the gravest level, the newest time and the first few places. A
red alert is never folded into a group; the alerts themselves stay in the alert book and on
the case desk, one by one. `[alerts.grouping]` in the rules file names the kinds and the count
from which they fold.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from cockpit.i18n import LABELS, address_name
from cockpit.rules.config import GroupingConfig

GROUP_PREFIX = "group:"
LEVEL_ORDER = {"red": 4, "orange": 3, "yellow": 2, "blue": 1}
NEVER_GROUPED = "red"

PlaceOf = Callable[[Mapping[str, Any]], str | None]


def groupable(item: Mapping[str, Any], cfg: GroupingConfig) -> bool:
    """Tell whether an alert may be folded into its kind's group: open, listed and not red."""
    return (
        item.get("status") != "resolved"
        and item.get("kind") in cfg.kinds
        and item.get("level") != NEVER_GROUPED
    )


def keep_key(item: Mapping[str, Any]) -> tuple[bool, int, float]:
    """Order items for keeping: open before resolved, gravest first, then the newest."""
    return (
        item.get("status") != "resolved",
        LEVEL_ORDER.get(item.get("level"), 0),
        item.get("ts") or 0.0,
    )


def group_alerts(
    items: Iterable[Mapping[str, Any]],
    cfg: GroupingConfig,
    size: int,
    place_of: PlaceOf | None = None,
) -> list[dict[str, Any]]:
    """Return at most `size` ticker items, newest first, with each crowded kind folded into one."""
    singles: list[dict[str, Any]] = []
    members: dict[str, list[Mapping[str, Any]]] = {}
    for item in items:
        if groupable(item, cfg):
            members.setdefault(item["kind"], []).append(item)
        else:
            singles.append(dict(item))
    for kind, group in members.items():
        if len(group) < cfg.min_count:
            singles.extend(dict(item) for item in group)
        else:
            singles.append(group_item(kind, group, cfg.places, place_of))
    kept = sorted(singles, key=keep_key, reverse=True)[:size]
    return sorted(kept, key=lambda i: i.get("ts") or 0.0, reverse=True)


def group_item(
    kind: str,
    group: list[Mapping[str, Any]],
    places: int,
    place_of: PlaceOf | None = None,
) -> dict[str, Any]:
    """Return the one item that stands for a kind's open alerts."""
    newest = max(group, key=lambda i: (i.get("ts") or 0.0, str(i.get("id"))))
    gravest = max((i.get("level") for i in group), key=lambda level: LEVEL_ORDER.get(level, 0))
    levels = Counter(i.get("level") for i in group)
    where = Counter(p for p in (place_of(i) if place_of else None for i in group) if p)
    n = len(group)
    return {
        "id": GROUP_PREFIX + kind,
        "group": True,
        "kind": kind,
        "level": gravest,
        "count": n,
        "levels": {level: levels[level] for level in LEVEL_ORDER if levels[level]},
        "status": "new" if any(i.get("status") == "new" for i in group) else "acknowledged",
        "escalated": any(i.get("escalated") for i in group),
        "ts": newest.get("ts"),
        "since": min(i.get("ts") or 0.0 for i in group),
        # The kind's name, never one member's title: that names one device among n.
        "title_zh": kind_title(kind, "zh", newest.get("title_zh")),
        "title_en": kind_title(kind, "en", newest.get("title_en")),
        "object_type": None,
        "object_id": None,
        "places": [
            {"zh": place, "en": address_name(place, "en"), "count": count}
            for place, count in where.most_common(places)
        ],
        "places_more": max(0, len(where) - places),
        "reasons": [
            {
                "code": "grouped",
                "text_zh": f"{n} 条同类告警未处理完毕，逐条见告警与案件列表",
                "text_en": f"{n} open alerts of this kind; each is on the alert and case lists",
            }
        ],
    }


def kind_title(kind: str, lang: str, fallback: str | None) -> str:
    """Return the plain name of an alert kind (as the case desk names its category)."""
    key = f"case_category_{kind}"
    return LABELS[key][lang] if key in LABELS else (fallback or kind)
