"""Test that a case's first deadline leaves its floor of time from the moment the case is opened."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from cockpit.cases.deadlines import DUE_COLUMNS, NORMAL, URGENT, Planner, load_cases_config

PLANNER = Planner(load_cases_config())
CONFIG = PLANNER.config
MOMENTS = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
)
LATENESS = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3))


def floor_s(priority: str) -> float:
    """Return the configured least time of the first step, in the priority's clock seconds."""
    return CONFIG.first_step.floor(priority).seconds(PLANNER.calendar)


@given(st.sampled_from([URGENT, NORMAL]), MOMENTS, LATENESS)
def test_a_case_opened_now_is_not_overdue_now(priority, reported_at, late) -> None:
    """For any priority and open time, the first deadline is its floor or more after the opening."""
    opened_at = reported_at + late
    due = PLANNER.on_open(priority, "fire.smoke", reported_at, opened_at)
    first = due["register_due_at"]
    assert first > opened_at
    assert PLANNER.between(priority, opened_at, first) >= floor_s(priority) - 1e-6
    # Never sooner than the stage's own limit from the report either.
    if priority == URGENT:
        assert first >= reported_at + timedelta(seconds=CONFIG.fast_chain.acknowledge_s)


@given(MOMENTS, LATENESS)
def test_the_fast_chain_moves_whole_when_it_reaches_the_desk_late(reported_at, late) -> None:
    """A late urgent case keeps acknowledge, dispatch, arrive, handle and close in order."""
    due = PLANNER.on_open(URGENT, "fire.smoke", reported_at, reported_at + late)
    steps = [due[c] for c in DUE_COLUMNS if c in due]
    assert steps == sorted(steps)
    chain = CONFIG.fast_chain
    assert due["arrive_due_at"] - due["register_due_at"] == timedelta(
        seconds=chain.arrive_s - chain.acknowledge_s
    )


def test_a_case_opened_at_its_report_keeps_the_30125_target() -> None:
    """Opened the moment it is reported, an urgent case is due 30 s after, not its floor."""
    at = datetime(2026, 11, 27, 19, 0, tzinfo=UTC)
    due = PLANNER.on_open(URGENT, "fire.smoke", at, at)
    assert due["register_due_at"] - at == timedelta(seconds=CONFIG.fast_chain.acknowledge_s)


def test_the_floor_is_what_a_person_can_meet() -> None:
    """The shipped floors: 30 s for urgent cases, half an hour of working time for others."""
    assert floor_s(URGENT) == 30
    assert floor_s(NORMAL) == 30 * 60
