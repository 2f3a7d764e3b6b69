"""Colour a building red, yellow or green by safety risk, listing the facts that coloured it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cockpit.rules.config import FactorConfig, RulesConfig
from cockpit.rules.results import Reason

Colour = Literal["red", "yellow", "green"]
COLOUR_RANK: dict[Colour, int] = {"green": 0, "yellow": 1, "red": 2}


@dataclass(frozen=True)
class BuildingFacts:
    """Hold the counts, joined on the standard address, that a building's colour is made from."""

    building_id: int
    residents: int = 0
    floating_residents: int = 0
    # Registered adult residents of each household; relatedness is unknown, so size stands in.
    adults_per_household: tuple[int, ...] = ()
    elders_living_alone: int = 0
    open_cases: int = 0
    # Fire-device alarms in the last cfg.housing.fire_alarm_window_days; the caller counts them.
    fire_alarms: int = 0
    past_incidents: int = 0

    def __post_init__(self) -> None:
        """Refuse negative counts, which only a bug upstream can produce."""
        counts = (
            self.residents,
            self.floating_residents,
            self.elders_living_alone,
            self.open_cases,
            self.fire_alarms,
            self.past_incidents,
            *self.adults_per_household,
        )
        if any(count < 0 for count in counts):
            raise ValueError(f"building {self.building_id}: counts must not be negative")


@dataclass(frozen=True)
class RiskResult:
    """Give a building's colour, its score and the reasons that raised it."""

    building_id: int
    colour: Colour
    score: float
    reasons: tuple[Reason, ...]


def building_risk(facts: BuildingFacts, cfg: RulesConfig) -> RiskResult:
    """Score a building's risk facts and colour it; only facts that add points become reasons."""
    housing = cfg.housing
    scored: list[tuple[float, Reason]] = []

    floating = housing.floating
    if facts.residents >= floating.min_residents and facts.floating_residents:
        share = min(1.0, facts.floating_residents / facts.residents)
        threshold, points = (
            (floating.high_share, floating.high_points)
            if share >= floating.high_share
            else (floating.mid_share, floating.mid_points)
        )
        if share >= threshold and points > 0:
            scored.append(
                (
                    points,
                    Reason(
                        "floating_share",
                        f"流动人口占比 {share:.0%}（≥{threshold:.0%}）",
                        f"Floating population {share:.0%} of residents (≥ {threshold:.0%})",
                        round(share, 3),
                        threshold,
                    ),
                )
            )

    renting = housing.group_renting
    crowded = sum(1 for n in facts.adults_per_household if n >= renting.adults_per_household)
    largest = max(facts.adults_per_household, default=0)
    _add_factor(
        scored,
        renting,
        crowded,
        Reason(
            "group_renting",
            f"{crowded} 户有 {renting.adults_per_household} 名以上成年登记住户（最多 {largest} 人），疑似群租",
            f"{crowded} household(s) with ≥ {renting.adults_per_household} registered adults "
            f"(largest {largest}): possible group renting",
            crowded,
            renting.adults_per_household,
        ),
    )
    _add_factor(
        scored,
        housing.elders_alone,
        facts.elders_living_alone,
        Reason(
            "elders_alone",
            f"独居老人 {facts.elders_living_alone} 人",
            f"{facts.elders_living_alone} elder(s) living alone",
            facts.elders_living_alone,
        ),
    )
    _add_factor(
        scored,
        housing.open_cases,
        facts.open_cases,
        Reason(
            "open_cases",
            f"该地址未结案件 {facts.open_cases} 件",
            f"{facts.open_cases} open case(s) at this address",
            facts.open_cases,
        ),
    )
    days = housing.fire_alarm_window_days
    _add_factor(
        scored,
        housing.fire_alarms,
        facts.fire_alarms,
        Reason(
            "fire_alarms",
            f"近 {days} 天消防设备报警 {facts.fire_alarms} 次",
            f"{facts.fire_alarms} fire-device alarm(s) in the last {days} days",
            facts.fire_alarms,
            days,
        ),
    )
    _add_factor(
        scored,
        housing.incidents,
        facts.past_incidents,
        Reason(
            "past_incidents",
            f"历史安全事件 {facts.past_incidents} 起",
            f"{facts.past_incidents} past safety incident(s)",
            facts.past_incidents,
        ),
    )

    score = round(sum(points for points, _ in scored), 3)
    colour: Colour = (
        "red"
        if score >= housing.red_score
        else "yellow"
        if score >= housing.yellow_score
        else "green"
    )
    # Biggest contributions first, so the first reason on screen is the one that matters most.
    reasons = tuple(reason for _, reason in sorted(scored, key=lambda pair: -pair[0]))
    return RiskResult(facts.building_id, colour, score, reasons)


def _add_factor(
    scored: list[tuple[float, Reason]], factor: FactorConfig, count: int, reason: Reason
) -> None:
    """Append a counted fact's capped points and its reason, when it adds any."""
    points = min(factor.points_each * count, factor.max_points)
    if points > 0:
        scored.append((points, reason))
