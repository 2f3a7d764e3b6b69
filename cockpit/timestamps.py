"""Write a time one way on every screen and in both languages: 2026-12-02 05:31, Beijing time.

An ISO date with a 24-hour clock reads the same to a Chinese and an English reader (02/12 and
12/02 do not). assets/dates.js is its twin in the browser; the two agree, digit for digit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cockpit.clock import DISPLAY_ZONE

NO_TIME = "—"


def stamp(value: Any, *, seconds: bool = False) -> str:
    """Return a datetime, ISO text or epoch seconds as "YYYY-MM-DD HH:MM" (":SS" if asked).

    A time without a zone is taken as already local; anything unreadable is a dash.
    """
    moment = _moment(value)
    if moment is None:
        return NO_TIME
    if moment.tzinfo is not None:
        moment = moment.astimezone(DISPLAY_ZONE)
    return moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def _moment(value: Any) -> datetime | None:
    """Return the value as a datetime, or None when it is not a time."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, bool) or value is None or value == "":
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, DISPLAY_ZONE)
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None
