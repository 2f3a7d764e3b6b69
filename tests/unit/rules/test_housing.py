"""Test the housing risk colours: explainable, monotonic, never crashing."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cockpit.rules.config import load_rules_config
from cockpit.rules.housing import COLOUR_RANK, BuildingFacts, building_risk

CFG = load_rules_config()

counts = st.integers(min_value=0, max_value=500)
facts_strategy = st.builds(
    BuildingFacts,
    building_id=st.integers(min_value=1, max_value=10**6),
    residents=counts,
    floating_residents=counts,
    adults_per_household=st.lists(st.integers(0, 20), max_size=40).map(tuple),
    elders_living_alone=counts,
    open_cases=counts,
    fire_alarms=counts,
    past_incidents=counts,
)
COUNT_FIELDS = (
    "residents_and_floating",
    "elders_living_alone",
    "open_cases",
    "fire_alarms",
    "past_incidents",
    "household",
)


def test_a_quiet_building_is_green_without_reasons() -> None:
    """No risk facts, green, score 0."""
    result = building_risk(BuildingFacts(1, residents=40, adults_per_household=(2, 3, 1)), CFG)
    assert (result.colour, result.score, result.reasons) == ("green", 0, ())


def test_group_renting_and_fire_alarms_make_red_and_say_why() -> None:
    """A crowded flat plus a fire alarm last month is red, the biggest reason first."""
    facts = BuildingFacts(
        2,
        residents=30,
        floating_residents=20,
        adults_per_household=(2, 8, 3),
        fire_alarms=1,
    )
    result = building_risk(facts, CFG)
    assert result.colour == "red"
    assert result.score == 3 + 3 + 2  # floating ≥ 60 %, one group-rented flat, one alarm
    codes = [r.code for r in result.reasons]
    assert set(codes) == {"floating_share", "group_renting", "fire_alarms"}
    assert codes[-1] == "fire_alarms"
    renting = next(r for r in result.reasons if r.code == "group_renting")
    assert renting.value == 1 and renting.threshold == 6
    assert "群租" in renting.text_zh


def test_yellow_band_and_caps() -> None:
    """Elders and open cases are capped, so they alone make at most yellow."""
    result = building_risk(BuildingFacts(3, elders_living_alone=50, open_cases=1), CFG)
    assert result.colour == "yellow"
    assert result.score == CFG.housing.elders_alone.max_points + 1
    alone = building_risk(BuildingFacts(3, elders_living_alone=50), CFG)
    assert alone.colour == "green" and alone.reasons  # a care signal, not a housing risk


def test_floating_share_needs_enough_residents() -> None:
    """A building of two floating tenants is not scored by share: too few people to tell."""
    small = building_risk(BuildingFacts(4, residents=2, floating_residents=2), CFG)
    assert small.reasons == ()
    mid = building_risk(BuildingFacts(4, residents=10, floating_residents=4), CFG)
    assert [r.code for r in mid.reasons] == ["floating_share"] and mid.score == 1


def test_negative_counts_are_refused() -> None:
    """Negative counts only come from a bug upstream and are refused."""
    with pytest.raises(ValueError):
        BuildingFacts(5, open_cases=-1)


@given(facts_strategy)
def test_never_crashes_and_never_colours_without_reasons(facts: BuildingFacts) -> None:
    """Any counts give a colour; every non-green colour has reasons and the score is their sum."""
    result = building_risk(facts, CFG)
    assert result.colour in COLOUR_RANK
    if result.colour != "green":
        assert result.reasons
    assert (result.score > 0) == bool(result.reasons)


@given(facts_strategy, st.sampled_from(COUNT_FIELDS), st.integers(1, 50))
def test_more_signals_never_lower_the_colour(facts: BuildingFacts, field: str, more: int) -> None:
    """Adding floating residents, elders, cases, alarms, incidents or flatmates never lowers it."""
    if field == "residents_and_floating":
        worse = dataclasses.replace(
            facts,
            residents=facts.residents + more,
            floating_residents=max(facts.floating_residents, facts.residents) + more,
        )
    elif field == "household":
        worse = dataclasses.replace(facts, adults_per_household=(*facts.adults_per_household, more))
    else:
        worse = dataclasses.replace(facts, **{field: getattr(facts, field) + more})
    before, after = building_risk(facts, CFG), building_risk(worse, CFG)
    assert COLOUR_RANK[after.colour] >= COLOUR_RANK[before.colour]
    assert after.score >= before.score
