"""The 30-day case indicators are computed again on their own cadence, not at every refresh."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cockpit.clock import ManualClock
from cockpit.simulator.generator import seed_street
from data_adapters import case_facts
from data_adapters.case_facts import CaseFactsAdapter
from tests.streets import tiny_tier

pytestmark = pytest.mark.integration

MONDAY_10 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def test_indicators_wait_for_their_cadence_and_a_new_day(any_engine, monkeypatch):
    seed_street(any_engine, tiny_tier(), 5, (121.5, 31.3))
    computed: list[datetime] = []
    compute = case_facts.indicators.compute

    def counted(conn, since, now):
        """Compute as the adapter would, noting when."""
        computed.append(now)
        return compute(conn, since, now)

    monkeypatch.setattr(case_facts.indicators, "compute", counted)
    clock = ManualClock(MONDAY_10)
    adapter = CaseFactsAdapter(
        any_engine, clock, timedelta(seconds=10), indicators_every=timedelta(seconds=30)
    )
    reads = []
    for step in (0, 10, 10, 10, 10):  # seconds on from the last read
        clock.advance(step)
        adapter.refresh()
        reads.append(adapter.snapshot.data["indicators"])
    # Read at 0, 10, 20, 30, 40 s: computed at 0 and again at 30 s, the rest reuse it.
    assert computed == [MONDAY_10, MONDAY_10 + timedelta(seconds=30)]
    assert reads[1] is reads[0] and reads[4] is reads[3]
    assert reads[0]["street"] == reads[3]["street"]  # nothing changed: the same numbers
    # A new day moves the 30-day window: computed at once, however long the cadence.
    clock = ManualClock(datetime(2026, 11, 23, 15, 59, 50, tzinfo=UTC))  # 23:59:50 in Shanghai
    adapter = CaseFactsAdapter(
        any_engine, clock, timedelta(seconds=10), indicators_every=timedelta(hours=1)
    )
    computed.clear()
    for _ in range(3):
        adapter.refresh()
        clock.advance(15)
    assert len(computed) == 2  # 23:59:50, then 00:00:05 (the new day); not 00:00:20
