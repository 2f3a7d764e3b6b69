"""Count working time: working periods of working days in the street's zone, without holidays.

Pure arithmetic, no I/O. A working day is a Monday-Friday that is not a listed holiday, or any day
listed as a make-up working day (调休). `add` moves forward by working seconds; `between` counts the
working seconds from one instant to another. All instants are aware datetimes; results are UTC.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# A deadline further than this many days away means the calendar has no working days at all.
SEARCH_DAYS = 3660


class CalendarError(ValueError):
    """Report a working calendar that cannot count time."""


@dataclass(frozen=True)
class WorkingCalendar:
    """Hold the working periods of a day, the holidays and the make-up working days."""

    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    periods: tuple[tuple[time, time], ...] = ((time(9), time(12)), (time(13), time(18)))
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        """Refuse empty, reversed or overlapping periods."""
        if not self.periods:
            raise CalendarError("a working calendar needs at least one working period")
        previous_end = None
        for start, end in self.periods:
            if start >= end:
                raise CalendarError(f"working period {start}-{end} ends before it starts")
            if previous_end is not None and start < previous_end:
                raise CalendarError("working periods must be sorted and must not overlap")
            previous_end = end
        overlap = self.holidays & self.workdays
        if overlap:
            raise CalendarError(f"days both holiday and working day: {sorted(overlap)}")

    @classmethod
    def build(
        cls,
        zone: str,
        periods: Iterable[tuple[str, str]],
        holidays: Iterable[date] = (),
        workdays: Iterable[date] = (),
    ) -> WorkingCalendar:
        """Return a calendar from a zone name, "HH:MM" period pairs and day lists."""
        return cls(
            ZoneInfo(zone),
            tuple((time.fromisoformat(a), time.fromisoformat(b)) for a, b in periods),
            frozenset(holidays),
            frozenset(workdays),
        )

    @property
    def day_seconds(self) -> float:
        """Return the working seconds of one working day."""
        return sum(_seconds(end) - _seconds(start) for start, end in self.periods)

    def is_working_day(self, day: date) -> bool:
        """Tell whether work happens on this local day."""
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def _windows(self, day: date) -> list[tuple[datetime, datetime]]:
        """Return the day's working periods as UTC instants (none on a day off)."""
        if not self.is_working_day(day):
            return []
        return [
            (
                datetime.combine(day, start, self.zone).astimezone(UTC),
                datetime.combine(day, end, self.zone).astimezone(UTC),
            )
            for start, end in self.periods
        ]

    def add(self, start: datetime, seconds: float) -> datetime:
        """Return the instant `seconds` of working time after start (start itself for 0)."""
        if start.tzinfo is None:
            raise CalendarError("working time needs an aware start time")
        if seconds < 0:
            raise CalendarError(f"cannot add negative working time ({seconds} s)")
        cursor = start.astimezone(UTC)
        if seconds == 0:
            return cursor
        remaining = timedelta(seconds=seconds)
        day = cursor.astimezone(self.zone).date()
        for _ in range(SEARCH_DAYS):
            for begin, end in self._windows(day):
                if cursor >= end:
                    continue
                begin = max(begin, cursor)
                available = end - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
                cursor = end
            day += timedelta(days=1)
        raise CalendarError(f"no working time within {SEARCH_DAYS} days of {start.isoformat()}")

    def between(self, start: datetime, end: datetime) -> float:
        """Return the working seconds from start to end, negative when end comes first."""
        if start.tzinfo is None or end.tzinfo is None:
            raise CalendarError("working time needs aware times")
        if end < start:
            return -self.between(end, start)
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        total = timedelta(0)
        day = start.astimezone(self.zone).date()
        last = end.astimezone(self.zone).date()
        while day <= last:
            for begin, finish in self._windows(day):
                overlap = min(finish, end) - max(begin, start)
                if overlap > timedelta(0):
                    total += overlap
            day += timedelta(days=1)
        return total.total_seconds()

    def is_working_time(self, moment: datetime) -> bool:
        """Tell whether the instant falls inside a working period."""
        local = moment.astimezone(self.zone)
        return any(begin <= moment < end for begin, end in self._windows(local.date()))


def _seconds(moment: time) -> float:
    """Return the seconds since midnight of a time of day."""
    return moment.hour * 3600 + moment.minute * 60 + moment.second + moment.microsecond / 1e6
