"""Load the rules' thresholds from the shipped defaults.toml merged with an optional user file."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cockpit.domain.kinds import AlertLevel, ComplaintSource, DeviceKind
from cockpit.rules.results import RuleKind

DEFAULTS_RESOURCE = "defaults.toml"

Positive = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]
Share = Annotated[float, Field(ge=0, le=1)]
Count = Annotated[int, Field(ge=1)]


class RulesConfigError(ValueError):
    """Report a rules file that cannot be read or does not validate, naming the bad keys."""


class _Model(BaseModel):
    """Refuse unknown keys and freeze every section, so a loaded config cannot drift."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _ordered(*pairs: tuple[str, float, str, float]) -> None:
    """Raise when a lower threshold is above the higher one it pairs with."""
    for low_name, low, high_name, high in pairs:
        if low > high:
            raise ValueError(f"{low_name} ({low}) must not exceed {high_name} ({high})")


class PlausibleRange(_Model):
    """Bound what a sensor can physically report; a value outside is a fault, not a fact."""

    min: float
    max: float

    @model_validator(mode="after")
    def _check(self) -> Self:
        """Refuse a range whose bounds are reversed."""
        _ordered(("min", self.min, "max", self.max))
        return self


class SourceSilenceConfig(_Model):
    """Decide when a whole source (the feed, the broker link, a device type) has gone silent."""

    quiet_after_intervals: Positive
    silent_share: Annotated[float, Field(gt=0, le=1)]
    min_devices: Count
    link_down_after_s: NonNegative
    enabled: bool
    level: AlertLevel
    minor_level: AlertLevel


class DevicesConfig(_Model):
    """Decide when a silent device counts as offline and which values a sensor can report."""

    offline_after_intervals: Positive
    plausible: dict[DeviceKind, dict[str, PlausibleRange]] = {}
    source_silence: SourceSilenceConfig


class FactorConfig(_Model):
    """Give each counted fact points, capped so one factor cannot paint a house alone."""

    points_each: NonNegative
    max_points: NonNegative


class FloatingConfig(_Model):
    """Score the floating-population share of a building's residents."""

    min_residents: Count
    mid_share: Share
    mid_points: NonNegative
    high_share: Share
    high_points: NonNegative

    @model_validator(mode="after")
    def _check(self) -> Self:
        """Refuse thresholds that contradict each other."""
        _ordered(
            ("mid_share", self.mid_share, "high_share", self.high_share),
            ("mid_points", self.mid_points, "high_points", self.high_points),
        )
        return self


class GroupRentingConfig(FactorConfig):
    """Score households with many registered adults (群租 signs)."""

    adults_per_household: Count


class HousingConfig(_Model):
    """Colour houses red, yellow or green from points per risk fact."""

    yellow_score: Positive
    red_score: Positive
    fire_alarm_window_days: Count
    floating: FloatingConfig
    group_renting: GroupRentingConfig
    elders_alone: FactorConfig
    open_cases: FactorConfig
    fire_alarms: FactorConfig
    incidents: FactorConfig

    @model_validator(mode="after")
    def _check(self) -> Self:
        """Refuse thresholds that contradict each other."""
        _ordered(("yellow_score", self.yellow_score, "red_score", self.red_score))
        return self


class SmokeConfig(_Model):
    """Set the smoke detector's pre-alarm and low-battery levels."""

    prealarm_obscuration_pct_m: Positive
    low_battery_pct: Annotated[float, Field(ge=0, le=100)]


class GasConfig(_Model):
    """Set the gas detector's % LEL levels."""

    prealarm_lel_pct: Annotated[float, Field(gt=0, le=100)]
    alarm_lel_pct: Annotated[float, Field(gt=0, le=100)]
    severe_lel_pct: Annotated[float, Field(gt=0, le=100)]

    @model_validator(mode="after")
    def _check(self) -> Self:
        """Refuse thresholds that contradict each other."""
        _ordered(
            ("prealarm_lel_pct", self.prealarm_lel_pct, "alarm_lel_pct", self.alarm_lel_pct),
            ("alarm_lel_pct", self.alarm_lel_pct, "severe_lel_pct", self.severe_lel_pct),
        )
        return self


class PressureTier(_Model):
    """Require a minimum static pressure from a building height up."""

    min_height_m: NonNegative
    min_static_kpa: Positive


class WaterPressureConfig(_Model):
    """Set the fire water pressure each building height needs."""

    kpa_per_metre: NonNegative
    severe_fraction: Annotated[float, Field(gt=0, lt=1)]
    tiers: Annotated[list[PressureTier], Field(min_length=1)]

    @model_validator(mode="after")
    def _check(self) -> Self:
        """Refuse thresholds that contradict each other."""
        if self.tiers[0].min_height_m != 0:
            raise ValueError("the first pressure tier must start at min_height_m = 0")
        for lower, upper in zip(self.tiers, self.tiers[1:], strict=False):
            if upper.min_height_m <= lower.min_height_m:
                raise ValueError("pressure tiers must be sorted by increasing min_height_m")
            if upper.min_static_kpa < lower.min_static_kpa:
                raise ValueError("a taller tier must not need less pressure than a lower one")
        return self

    def required_kpa(self, height_m: float) -> float:
        """Return the top hydrant's minimum static pressure for a building of this height."""
        required = self.tiers[0].min_static_kpa
        for tier in self.tiers:
            if height_m >= tier.min_height_m:
                required = tier.min_static_kpa
        return required


class ElectricityConfig(_Model):
    """Set the smart-electricity warning levels (智慧用电)."""

    leakage_warn_ma: Positive
    leakage_severe_ma: Positive
    cable_temp_warn_c: float
    cable_temp_severe_c: float
    rated_current_a: Positive
    overload_warn_ratio: Positive
    overload_severe_ratio: Positive

    @model_validator(mode="after")
    def _check(self) -> Self:
        """Refuse thresholds that contradict each other."""
        _ordered(
            ("leakage_warn_ma", self.leakage_warn_ma, "leakage_severe_ma", self.leakage_severe_ma),
            (
                "cable_temp_warn_c",
                self.cable_temp_warn_c,
                "cable_temp_severe_c",
                self.cable_temp_severe_c,
            ),
            (
                "overload_warn_ratio",
                self.overload_warn_ratio,
                "overload_severe_ratio",
                self.overload_severe_ratio,
            ),
        )
        return self


class PatrolConfig(_Model):
    """Decide when a missed patrol goes from blue to yellow."""

    escalate_after_windows: Annotated[float, Field(ge=1)]


class FireConfig(_Model):
    """Group the four fire sensing systems' thresholds."""

    smoke: SmokeConfig
    gas: GasConfig
    water_pressure: WaterPressureConfig
    electricity: ElectricityConfig
    patrol: PatrolConfig


class ElevatorConfig(_Model):
    """Set how long a stopped, occupied car may stay shut before someone counts as trapped."""

    trapped_after_s: Positive


class EldersConfig(_Model):
    """Set the water and door thresholds that watch elders living alone."""

    use_floor_l: NonNegative
    no_water_hours: Positive
    baseline_factor: Positive
    baseline_min_days: Count
    no_water_max_hours: Positive
    running_floor_l: NonNegative
    running_hours: Positive
    no_door_hours: Positive
    severe_factor: Annotated[float, Field(gt=1)]

    @model_validator(mode="after")
    def _check(self) -> Self:
        """Refuse thresholds that contradict each other."""
        _ordered(
            ("no_water_hours", self.no_water_hours, "no_water_max_hours", self.no_water_max_hours),
            ("use_floor_l", self.use_floor_l, "running_floor_l", self.running_floor_l),
        )
        return self


class EnterpriseSmokeConfig(_Model):
    """Grade enterprise smoke by weighted signals and distinct sources."""

    window_days: Count
    match_by_address: bool
    prepaid_weight: Annotated[float, Field(ge=1)]
    source_weights: dict[ComplaintSource, Positive]
    yellow_signals: Positive
    yellow_sources: Count
    orange_signals: Positive
    orange_sources: Count
    red_signals: Positive
    red_sources: Count

    @model_validator(mode="after")
    def _check(self) -> Self:
        """Refuse thresholds that contradict each other."""
        missing = set(ComplaintSource) - set(self.source_weights)
        if missing:
            raise ValueError(f"source_weights lacks {sorted(s.value for s in missing)}")
        _ordered(
            ("yellow_signals", self.yellow_signals, "orange_signals", self.orange_signals),
            ("orange_signals", self.orange_signals, "red_signals", self.red_signals),
            ("yellow_sources", self.yellow_sources, "orange_sources", self.orange_sources),
            ("orange_sources", self.orange_sources, "red_sources", self.red_sources),
        )
        return self


class LeaseEnding(_Model):
    """Trigger a visit when the lease ends within some days (租约到期)."""

    code: Literal["lease_ending"]
    within_days: Annotated[int, Field(ge=0)]


class InsuranceDrop(_Model):
    """Trigger a visit when staff with social insurance drop sharply (社保人数骤降)."""

    code: Literal["insurance_drop"]
    drop_pct: Annotated[float, Field(gt=0, le=100)]
    min_previous: Count


class Relocation(_Model):
    """Trigger a visit on signs of moving away (迁出意向)."""

    code: Literal["relocation"]
    min_signals: Count


class Lawsuits(_Model):
    """Trigger a visit on recent legal disputes (涉诉)."""

    code: Literal["lawsuits"]
    min_cases: Count
    lookback_days: Count


OptionalTrigger = Annotated[
    LeaseEnding | InsuranceDrop | Relocation | Lawsuits, Field(discriminator="code")
]


class VisitsConfig(_Model):
    """Configure the eight triggers (八必访): four fixed, four chosen from a list."""

    revisit_days: Annotated[int, Field(ge=0)]
    due_within_days: Annotated[int, Field(ge=0)]
    tax_drop_pct: Annotated[float, Field(gt=0, le=100)]
    tax_drop_min_base_wan: NonNegative
    abnormal_statuses: list[str]
    optional: Annotated[list[OptionalTrigger], Field(max_length=4)]

    @model_validator(mode="after")
    def _check(self) -> Self:
        """Refuse thresholds that contradict each other."""
        codes = [trigger.code for trigger in self.optional]
        if len(codes) != len(set(codes)):
            raise ValueError(f"optional triggers repeat a code: {codes}")
        return self

    def trigger(self, code: str) -> OptionalTrigger | None:
        """Return the configured optional trigger with this code, or None when it is off."""
        return next((t for t in self.optional if t.code == code), None)


class EnterpriseConfig(_Model):
    """Group the enterprise rules."""

    smoke: EnterpriseSmokeConfig
    visits: VisitsConfig


class GroupingConfig(_Model):
    """Say which alert kinds the ticker and the map fold into one item per kind, from how many."""

    kinds: list[str]
    min_count: Annotated[int, Field(ge=2)]
    places: Annotated[int, Field(ge=0, le=10)]

    @model_validator(mode="after")
    def _check(self) -> Self:
        """Refuse a kind no rule raises: a typo would silently group nothing."""
        unknown = sorted(set(self.kinds) - {kind.value for kind in RuleKind})
        if unknown:
            raise ValueError(f"unknown alert kinds {unknown}")
        return self


class AlertsConfig(_Model):
    """Group the settings of how alerts are shown."""

    grouping: GroupingConfig


class RulesConfig(_Model):
    """Hold every threshold of every rule; build it with load_rules_config()."""

    devices: DevicesConfig
    alerts: AlertsConfig
    housing: HousingConfig
    fire: FireConfig
    elevator: ElevatorConfig
    elders: EldersConfig
    enterprise: EnterpriseConfig


def load_rules_config(path: Path | None = None) -> RulesConfig:
    """Return the shipped defaults merged with the TOML file at path, validated."""
    merged = _read_defaults()
    if path is not None:
        merged = merge(merged, _read(Path(path)))
    try:
        return RulesConfig.model_validate(merged)
    except ValidationError as exc:
        where = f" in {path}" if path is not None else " in the shipped defaults"
        raise RulesConfigError(
            f"invalid rules configuration{where}: " + "; ".join(_describe(exc))
        ) from exc


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Return base with override laid over it: tables merge key by key, anything else replaces."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_defaults() -> dict[str, Any]:
    """Read the defaults.toml shipped inside the package."""
    text = resources.files(__package__).joinpath(DEFAULTS_RESOURCE).read_text(encoding="utf-8")
    return tomllib.loads(text)


def _read(path: Path) -> dict[str, Any]:
    """Read a user TOML file, turning I/O and syntax errors into RulesConfigError."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RulesConfigError(f"cannot read rules file {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise RulesConfigError(f"rules file {path} is not valid TOML: {exc}") from exc


def _describe(exc: ValidationError) -> list[str]:
    """Turn pydantic errors into messages that name the dotted key at fault."""
    messages = []
    for error in exc.errors():
        key = _dotted(error["loc"])
        if error["type"] == "extra_forbidden":
            messages.append(f"unknown key '{key}'")
        elif error["type"] == "missing":
            messages.append(f"missing key '{key}'")
        else:
            messages.append(f"'{key}': {error['msg']}" if key else error["msg"])
    return messages


def _dotted(loc: tuple[int | str, ...]) -> str:
    """Join a pydantic error location as a.b[0].c."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
