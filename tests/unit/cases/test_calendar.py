"""Test working-time arithmetic across weekends, lunch breaks and holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cockpit.cases.calendar import CalendarError, WorkingCalendar
from cockpit.cases.deadlines import load_cases_config

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOLIDAYS = frozenset({date(2026, 10, d) for d in range(1, 8)})
MAKEUP = frozenset({date(2026, 10, 10)})  # a Saturday worked instead (调休)
CAL = WorkingCalendar(holidays=HOLIDAYS, workdays=MAKEUP)
HOUR = 3600.0


def local(*args) -> datetime:
    """Return a Shanghai wall-clock time."""
    return datetime(*args, tzinfo=SHANGHAI)


def test_five_working_hours_skip_lunch() -> None:
    """From 10:00, five working hours end at 16:00 (12:00-13:00 is lunch)."""
    assert CAL.add(local(2026, 11, 23, 10), 5 * HOUR) == local(2026, 11, 23, 16)


def test_a_working_day_from_friday_afternoon_ends_monday_afternoon() -> None:
    """Eight working hours from Friday 15:00 end on Monday at 15:00."""
    assert CAL.add(local(2026, 11, 27, 15), 8 * HOUR) == local(2026, 11, 30, 15)


def test_a_report_at_night_starts_counting_next_morning() -> None:
    """One working hour after Saturday 23:00 is Monday 10:00."""
    assert CAL.add(local(2026, 11, 28, 23), HOUR) == local(2026, 11, 30, 10)


def test_national_day_holidays_are_skipped_and_the_makeup_saturday_counts() -> None:
    """From 30 September 17:00, two working hours: 1 h that day, then 9:00-10:00 on 8 October."""
    assert CAL.add(local(2026, 9, 30, 17), 2 * HOUR) == local(2026, 10, 8, 10)
    # 9 October (Friday) to the make-up Saturday 10 October.
    assert CAL.add(local(2026, 10, 9, 17), 2 * HOUR) == local(2026, 10, 10, 10)


def test_between_counts_only_working_periods() -> None:
    """Friday 17:00 to Monday 10:00 holds two working hours."""
    assert CAL.between(local(2026, 11, 27, 17), local(2026, 11, 30, 10)) == 2 * HOUR
    assert CAL.between(local(2026, 11, 30, 10), local(2026, 11, 27, 17)) == -2 * HOUR


def test_the_shipped_defaults_know_the_2026_national_day() -> None:
    """The shipped calendar skips 1-7 October 2026 and works on Saturday 10 October."""
    cal = load_cases_config().working_calendar()
    assert not cal.is_working_day(date(2026, 10, 5))
    assert cal.is_working_day(date(2026, 10, 10))
    assert cal.day_seconds == 8 * HOUR


def test_bad_calendars_are_refused() -> None:
    """Reversed periods, negative time and naive times get clear errors."""
    with pytest.raises(CalendarError, match="ends before it starts"):
        WorkingCalendar.build("Asia/Shanghai", [("18:00", "09:00")])
    with pytest.raises(CalendarError, match="negative"):
        CAL.add(local(2026, 11, 23, 10), -1)
    with pytest.raises(CalendarError, match="aware"):
        CAL.add(datetime(2026, 11, 23, 10), 1)


instants = st.datetimes(
    min_value=datetime(2026, 9, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
)
amounts = st.integers(min_value=1, max_value=40 * 8 * 3600)


@settings(max_examples=300)
@given(start=instants, seconds=amounts)
def test_adding_then_counting_gives_back_the_working_time(start, seconds) -> None:
    """between(start, add(start, s)) == s, and the deadline lies in working time or at a period end."""
    due = CAL.add(start, seconds)
    assert CAL.between(start, due) == pytest.approx(seconds, abs=1e-6)
    assert CAL.is_working_time(due) or CAL.is_working_time(due - timedelta(microseconds=1))
    assert CAL.is_working_day(due.astimezone(SHANGHAI).date())


@settings(max_examples=300)
@given(start=instants, first=amounts, second=amounts)
def test_working_time_adds_up(start, first, second) -> None:
    """Adding a then b lands where adding a + b does: pausing and resuming loses nothing."""
    assert CAL.add(CAL.add(start, first), second) == CAL.add(start, first + second)


@settings(max_examples=200)
@given(start=instants, seconds=amounts)
def test_no_working_time_passes_on_days_off(start, seconds) -> None:
    """Every working second found between start and the deadline lies on a working day."""
    due = CAL.add(start, seconds)
    day = start.astimezone(SHANGHAI).date()
    counted = 0.0
    while day <= due.astimezone(SHANGHAI).date():
        begin = max(start, datetime.combine(day, datetime.min.time(), SHANGHAI))
        end = min(due, datetime.combine(day + timedelta(days=1), datetime.min.time(), SHANGHAI))
        if end > begin:
            part = CAL.between(begin, end)
            if not CAL.is_working_day(day):
                assert part == 0
            counted += part
        day += timedelta(days=1)
    assert counted == pytest.approx(seconds, abs=1e-6)


def _days(first: str, last: str) -> set[date]:
    """Return the days from first to last, both included."""
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return {start + timedelta(days=n) for n in range((end - start).days + 1)}


# The notices' ranges as published (国办发明电〔2024〕12号 for 2025, 国办发明电〔2025〕7号 for 2026).
NOTICE_HOLIDAYS = {
    2025: [
        ("2025-01-01", "2025-01-01"),
        ("2025-01-28", "2025-02-04"),
        ("2025-04-04", "2025-04-06"),
        ("2025-05-01", "2025-05-05"),
        ("2025-05-31", "2025-06-02"),
        ("2025-10-01", "2025-10-08"),
    ],
    2026: [
        ("2026-01-01", "2026-01-03"),
        ("2026-02-15", "2026-02-23"),
        ("2026-04-04", "2026-04-06"),
        ("2026-05-01", "2026-05-05"),
        ("2026-06-19", "2026-06-21"),
        ("2026-09-25", "2026-09-27"),
        ("2026-10-01", "2026-10-07"),
    ],
}
NOTICE_WORKDAYS = {
    2025: ["2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11"],
    2026: ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"],
}


@pytest.mark.parametrize("year", sorted(NOTICE_HOLIDAYS))
def test_the_shipped_holidays_are_the_state_council_notice_of_the_year(year: int) -> None:
    """Every holiday and make-up workday of the year is the notice's, and make-up days are weekends."""
    calendar = load_cases_config().calendar
    holidays = {d for d in calendar.holidays if d.year == year}
    workdays = {d for d in calendar.workdays if d.year == year}
    assert holidays == set().union(*(_days(*span) for span in NOTICE_HOLIDAYS[year]))
    assert workdays == {date.fromisoformat(d) for d in NOTICE_WORKDAYS[year]}
    assert all(d.weekday() >= 5 for d in workdays)
