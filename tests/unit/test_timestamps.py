"""Times read one way in both languages: 2026-12-02 05:31, Beijing time."""

from __future__ import annotations

from datetime import UTC, datetime

from cockpit.timestamps import stamp
from layouts.cases import when


def test_a_utc_time_reads_as_an_iso_date_and_24_hour_beijing_time():
    moment = datetime(2026, 12, 1, 21, 31, 7, tzinfo=UTC)
    assert stamp(moment) == "2026-12-02 05:31"
    assert stamp(moment, seconds=True) == "2026-12-02 05:31:07"
    assert stamp(moment.isoformat()) == stamp(moment.timestamp()) == "2026-12-02 05:31"


def test_cards_write_times_the_same_in_chinese_and_english():
    moment = "2026-12-01T21:31:00+00:00"
    assert when(moment, "zh") == when(moment, "en") == "2026-12-02 05:31"


def test_no_time_is_a_dash():
    assert stamp(None) == stamp("") == stamp("not a time") == "—"
