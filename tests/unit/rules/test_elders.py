"""Test the elders-living-alone rules on water-meter and door-sensor series."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from cockpit.domain.kinds import AlertLevel
from cockpit.rules.config import load_rules_config
from cockpit.rules.elders import (
    baseline_dry_gap_hours,
    evaluate_elder,
    no_door_opening,
    no_water,
    no_water_threshold_hours,
    water_running,
)
from cockpit.rules.results import level_rank

CFG = load_rules_config()
START = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def hourly(flows: list[float], start: datetime = START) -> list[tuple[datetime, float]]:
    """Return an hourly series of litres, one reading an hour from start."""
    return [(start + i * HOUR, flow) for i, flow in enumerate(flows)]


def habit(days: int, first_hour: int, last_hour: int) -> list[float]:
    """Return days of hourly flow: 10 L from first_hour to last_hour, nothing overnight."""
    return [10.0 if first_hour <= h % 24 <= last_hour else 0.0 for h in range(days * 24)]


# -- no water ---------------------------------------------------------------------------------


def test_baseline_is_the_usual_overnight_gap() -> None:
    """Using water 06:00-22:00 every day leaves an 8 h gap each night."""
    assert baseline_dry_gap_hours(hourly(habit(7, 6, 22)), CFG) == 8.0
    assert baseline_dry_gap_hours(hourly(habit(7, 7, 20)), CFG) == 11.0


def test_baseline_needs_enough_whole_days() -> None:
    """Fewer than baseline_min_days of history give no baseline."""
    assert baseline_dry_gap_hours(hourly(habit(2, 6, 22)), CFG) is None
    assert baseline_dry_gap_hours([], CFG) is None


def test_threshold_scales_with_a_long_habit_and_is_capped() -> None:
    """12 h by default; a person's 11 h nights make it 16.5 h; never over 24 h."""
    assert no_water_threshold_hours(CFG, None) == 12
    assert no_water_threshold_hours(CFG, 8.0) == 12
    assert no_water_threshold_hours(CFG, 11.0) == 16.5
    assert no_water_threshold_hours(CFG, 30.0) == 24


def test_no_water_for_12_hours_is_orange_24_red() -> None:
    """The scripted elder: last use, then zeros; 11 h quiet, 12 h orange, 24 h red."""
    assert no_water(8, hourly([5.0] + [0.0] * 11), CFG) is None
    alert = no_water(8, hourly([5.0] + [0.0] * 12), CFG)
    assert alert is not None and alert.level is AlertLevel.ORANGE
    assert (alert.kind, alert.object_type, alert.object_id) == ("elder.no_water", "resident", 8)
    assert alert.routing == "social_worker"
    assert (alert.reasons[0].value, alert.reasons[0].threshold) == (12.0, 12.0)
    assert alert.reasons[-1].code == "last_use"
    red = no_water(8, hourly([5.0] + [0.0] * 24), CFG)
    assert red is not None and red.level is AlertLevel.RED


def test_a_long_sleeper_waits_for_their_own_threshold() -> None:
    """With an 11 h baseline, 13 h dry is their normal; 17 h is not, and says why."""
    assert no_water(8, hourly([5.0] + [0.0] * 13), CFG, baseline_gap_h=11.0) is None
    alert = no_water(8, hourly([5.0] + [0.0] * 17), CFG, baseline_gap_h=11.0)
    assert alert is not None
    assert [r.code for r in alert.reasons] == ["no_water", "baseline_gap", "last_use"]


def test_a_meter_that_never_saw_use_reports_at_least() -> None:
    """Zeros throughout: the gap is at least the series' span, and the reason says so."""
    alert = no_water(8, hourly([0.0] * 13), CFG)
    assert alert is not None and alert.reasons[0].text_en.startswith("No water used for at least")


def test_meter_noise_is_not_use_and_order_does_not_matter() -> None:
    """0.3 L an hour is under the floor; a shuffled series gives the same answer."""
    series = hourly([5.0] + [0.3] * 12)
    alert = no_water(8, list(reversed(series)), CFG)
    assert alert is not None and alert.reasons[0].value == 12.0


# -- water running ----------------------------------------------------------------------------


def test_water_running_for_3_hours_is_yellow_6_orange() -> None:
    """Three hours above 30 L after a quiet hour is yellow; six is orange; two is nothing."""
    assert water_running(8, hourly([0.0, 40.0, 40.0]), CFG) is None
    alert = water_running(8, hourly([0.0, 40.0, 45.0, 50.0]), CFG)
    assert alert is not None and alert.level is AlertLevel.YELLOW
    assert [r.value for r in alert.reasons] == [3.0, 40.0]
    orange = water_running(8, hourly([0.0] + [40.0] * 6), CFG)
    assert orange is not None and orange.level is AlertLevel.ORANGE


def test_water_that_stopped_is_not_running() -> None:
    """A run that ended before the newest reading raises nothing."""
    assert water_running(8, hourly([0.0] + [40.0] * 5 + [2.0]), CFG) is None


def test_everyday_use_does_not_look_like_running_water() -> None:
    """A busy morning of 10-25 L an hour stays under the 30 L floor."""
    assert water_running(8, hourly([0.0, 12.0, 25.0, 18.0, 22.0, 10.0]), CFG) is None


# -- door -------------------------------------------------------------------------------------


def test_no_door_opening_for_24_hours_is_yellow_48_orange() -> None:
    """Half-hourly reports: the door opened, then stayed shut."""
    half = timedelta(minutes=30)

    def reports(shut_reports: int) -> list[tuple[datetime, bool]]:
        """Return one opening, then shut_reports reports of a shut door."""
        return [(START + i * half, i == 0) for i in range(shut_reports + 1)]

    assert no_door_opening(8, reports(47), CFG) is None
    alert = no_door_opening(8, reports(48), CFG)
    assert alert is not None and alert.level is AlertLevel.YELLOW
    assert alert.reasons[0].value == 24.0
    orange = no_door_opening(8, reports(96), CFG)
    assert orange is not None and orange.level is AlertLevel.ORANGE


def test_evaluate_elder_collects_every_rule() -> None:
    """The convenience runner returns each raised alert with distinct condition keys."""
    flows = hourly([5.0] + [0.0] * 12)
    doors = [(START + i * HOUR, False) for i in range(25)]
    alerts = evaluate_elder(8, flows, doors, CFG)
    assert {a.kind for a in alerts} == {"elder.no_water", "elder.no_door_opening"}
    assert len({a.condition_key for a in alerts}) == 2


# -- properties -------------------------------------------------------------------------------

junk_values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.none(), st.booleans(), st.text(max_size=3)
)
series = st.lists(
    st.tuples(
        st.datetimes(
            min_value=datetime(2026, 1, 1), max_value=datetime(2026, 3, 1), timezones=st.just(UTC)
        ),
        junk_values,
    ),
    max_size=60,
)


@given(series, series, st.one_of(st.none(), st.floats(-5, 100)))
def test_never_crashes_and_never_alerts_without_reasons(flows, doors, baseline) -> None:
    """Any series, junk included, gives alerts that all carry reasons."""
    for alert in evaluate_elder(1, flows, doors, CFG, baseline):
        assert alert.reasons
    baseline_dry_gap_hours(flows, CFG)


@given(st.lists(st.floats(0, 50), min_size=1, max_size=48), st.integers(1, 48))
def test_more_dry_hours_never_lower_the_no_water_grade(flows, more) -> None:
    """Appending zero readings never lowers the no-water level."""
    before = no_water(1, hourly(flows), CFG)
    after = no_water(1, hourly(flows + [0.0] * more), CFG)
    assert level_rank(after and after.level) >= level_rank(before and before.level)


@given(st.lists(st.floats(0, 200), min_size=1, max_size=48), st.integers(1, 24))
def test_more_running_hours_never_lower_the_running_grade(flows, more) -> None:
    """Appending readings above the floor never lowers the running-water level."""
    before = water_running(1, hourly(flows), CFG)
    after = water_running(1, hourly(flows + [100.0] * more), CFG)
    assert level_rank(after and after.level) >= level_rank(before and before.level)


@given(st.lists(st.booleans(), min_size=1, max_size=200), st.integers(1, 200))
def test_more_shut_reports_never_lower_the_door_grade(opened, more) -> None:
    """Appending reports of a shut door never lowers the door level."""
    half = timedelta(minutes=30)
    reports = [(START + i * half, value) for i, value in enumerate(opened + [False] * more)]
    before = no_door_opening(1, reports[: len(opened)], CFG)
    after = no_door_opening(1, reports, CFG)
    assert level_rank(after and after.level) >= level_rank(before and before.level)
