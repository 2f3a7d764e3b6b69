"""Watch elders living alone through their water meter and door sensor series."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from cockpit.domain.kinds import AlertLevel
from cockpit.rules.config import RulesConfig
from cockpit.rules.results import AlertCandidate, Reason, Routing, RuleKind, is_number

OBJECT_RESIDENT = "resident"
DAY = timedelta(days=1)

Series = Sequence[tuple[datetime, object]]


def baseline_dry_gap_hours(history: Series, cfg: RulesConfig) -> float | None:
    """Return the person's usual longest daily gap between water uses (median over whole days)."""
    flows = _numbers(history)
    if len(flows) < 2:
        return None
    floor = cfg.elders.use_floor_l
    uses = [ts for ts, flow in flows if flow > floor]
    start, end = flows[0][0], flows[-1][0]
    days = int((end - start) / DAY)
    if days < cfg.elders.baseline_min_days or len(uses) < 2:
        return None
    # Whole days counted back from the newest reading; a gap belongs to the day it ends in, so the
    # overnight gap of each night is in the day of the morning that ends it.
    longest = [0.0] * days
    for before, after in zip(uses, uses[1:], strict=False):
        day = int((end - after) / DAY)
        if day < days:
            longest[day] = max(longest[day], (after - before).total_seconds() / 3600)
    return round(statistics.median(longest), 2)


def no_water_threshold_hours(cfg: RulesConfig, baseline_gap_h: float | None) -> float:
    """Return how long without water is abnormal for this person: the default, scaled by habit."""
    elders = cfg.elders
    if baseline_gap_h is None or baseline_gap_h <= 0:
        return elders.no_water_hours
    return min(
        max(elders.no_water_hours, baseline_gap_h * elders.baseline_factor),
        elders.no_water_max_hours,
    )


def no_water(
    resident_id: int, flows: Series, cfg: RulesConfig, baseline_gap_h: float | None = None
) -> AlertCandidate | None:
    """Raise orange after the threshold without water up to the newest reading, red at twice."""
    readings = _numbers(flows)
    if not readings:
        return None
    floor = cfg.elders.use_floor_l
    newest = readings[-1][0]
    last_use = next((ts for ts, flow in reversed(readings) if flow > floor), None)
    # With no use in the whole series the gap is at least the series' length.
    dry_since = last_use if last_use is not None else readings[0][0]
    dry_h = round((newest - dry_since).total_seconds() / 3600, 2)
    threshold = round(no_water_threshold_hours(cfg, baseline_gap_h), 2)
    if dry_h < threshold:
        return None
    at_least = "至少" if last_use is None else ""
    reasons = [
        Reason(
            "no_water",
            f"{at_least}{dry_h:g} 小时无用水（阈值 {threshold:g} 小时）",
            f"No water used for {'at least ' if last_use is None else ''}{dry_h:g} h "
            f"(threshold {threshold:g} h)",
            dry_h,
            threshold,
        )
    ]
    if baseline_gap_h is not None and threshold > cfg.elders.no_water_hours:
        reasons.append(
            Reason(
                "baseline_gap",
                f"本人平日最长无用水间隔约 {baseline_gap_h:g} 小时",
                f"Their usual longest gap without water is about {baseline_gap_h:g} h",
                baseline_gap_h,
            )
        )
    if last_use is not None:
        reasons.append(
            Reason(
                "last_use",
                "最后一次用水时间",
                "Last water use",
                last_use.isoformat(),
            )
        )
    severe = dry_h >= threshold * cfg.elders.severe_factor
    return _elder_alert(
        RuleKind.ELDER_NO_WATER,
        AlertLevel.RED if severe else AlertLevel.ORANGE,
        resident_id,
        "独居老人长时间无用水",
        "Elder living alone: no water use",
        reasons,
    )


def water_running(resident_id: int, flows: Series, cfg: RulesConfig) -> AlertCandidate | None:
    """Raise yellow when water ran above the floor non-stop for the threshold, orange at twice."""
    readings = _numbers(flows)
    elders = cfg.elders
    run_start = len(readings)
    while run_start > 0 and readings[run_start - 1][1] > elders.running_floor_l:
        run_start -= 1
    if run_start == len(readings):
        return None
    # Each reading measures the flow since the one before it, so the run began at that one.
    began = readings[run_start - 1][0] if run_start > 0 else readings[run_start][0]
    hours = round((readings[-1][0] - began).total_seconds() / 3600, 2)
    if hours < elders.running_hours:
        return None
    run = [flow for _, flow in readings[run_start:]]
    lowest = round(min(run), 1)
    reasons = [
        Reason(
            "water_running",
            f"连续 {hours:g} 小时持续用水（阈值 {elders.running_hours:g} 小时）",
            f"Water running non-stop for {hours:g} h (threshold {elders.running_hours:g} h)",
            hours,
            elders.running_hours,
        ),
        Reason(
            "flow_floor",
            f"每次读数均高于 {elders.running_floor_l:g} 升（最低 {lowest:g} 升）",
            f"Every reading above {elders.running_floor_l:g} L (lowest {lowest:g} L)",
            lowest,
            elders.running_floor_l,
        ),
    ]
    severe = hours >= elders.running_hours * elders.severe_factor
    return _elder_alert(
        RuleKind.ELDER_WATER_RUNNING,
        AlertLevel.ORANGE if severe else AlertLevel.YELLOW,
        resident_id,
        "独居老人家中持续用水",
        "Elder living alone: water running non-stop",
        reasons,
    )


def no_door_opening(resident_id: int, openings: Series, cfg: RulesConfig) -> AlertCandidate | None:
    """Raise yellow when the door stayed shut for the threshold, orange at twice."""
    reports = sorted(
        ((ts, value) for ts, value in openings if isinstance(value, bool)), key=lambda p: p[0]
    )
    if not reports:
        return None
    newest = reports[-1][0]
    last_open = next((ts for ts, opened in reversed(reports) if opened), None)
    shut_since = last_open if last_open is not None else reports[0][0]
    hours = round((newest - shut_since).total_seconds() / 3600, 2)
    threshold = cfg.elders.no_door_hours
    if hours < threshold:
        return None
    at_least = last_open is None
    reasons = [
        Reason(
            "no_door_opening",
            f"{'至少' if at_least else ''}{hours:g} 小时未开门（阈值 {threshold:g} 小时）",
            f"Door not opened for {'at least ' if at_least else ''}{hours:g} h "
            f"(threshold {threshold:g} h)",
            hours,
            threshold,
        )
    ]
    severe = hours >= threshold * cfg.elders.severe_factor
    return _elder_alert(
        RuleKind.ELDER_NO_DOOR,
        AlertLevel.ORANGE if severe else AlertLevel.YELLOW,
        resident_id,
        "独居老人长时间未开门",
        "Elder living alone: door not opened",
        reasons,
    )


def evaluate_elder(
    resident_id: int,
    flows: Series,
    openings: Series,
    cfg: RulesConfig,
    baseline_gap_h: float | None = None,
) -> list[AlertCandidate]:
    """Run every elder rule on one person's series and return the alerts raised."""
    found = (
        no_water(resident_id, flows, cfg, baseline_gap_h),
        water_running(resident_id, flows, cfg),
        no_door_opening(resident_id, openings, cfg),
    )
    return [candidate for candidate in found if candidate is not None]


def _numbers(series: Iterable[tuple[datetime, object]]) -> list[tuple[datetime, float]]:
    """Return the series' numeric points in time order; gaps and junk values are dropped."""
    points = [(ts, float(value)) for ts, value in series if is_number(value)]
    points.sort(key=lambda point: point[0])
    return points


def _elder_alert(
    kind: RuleKind,
    level: AlertLevel,
    resident_id: int,
    title_zh: str,
    title_en: str,
    reasons: list[Reason],
) -> AlertCandidate:
    """Build a candidate about one elder, routed to the social worker."""
    return AlertCandidate.build(
        kind,
        level,
        OBJECT_RESIDENT,
        resident_id,
        title_zh,
        title_en,
        tuple(reasons),
        Routing.SOCIAL_WORKER,
    )
