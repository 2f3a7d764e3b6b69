"""Check that each scripted incident raises exactly one alert of the right level, once or twice delivered."""

from __future__ import annotations

import pytest

from cockpit.live import InProcessLiveStore
from tests.scripted_incidents import EXPECTED, incident_alerts, play_incidents


@pytest.mark.parametrize("twice", [False, True], ids=["once", "every-message-twice"])
def test_scripted_incidents_raise_one_alert_each(sqlite_engine, twice):
    scenario, rows = play_incidents(sqlite_engine, InProcessLiveStore(), twice=twice)
    assert incident_alerts(scenario, rows) == EXPECTED


def test_normal_days_raise_no_fire_or_elevator_alerts(sqlite_engine):
    scenario, rows = play_incidents(sqlite_engine, InProcessLiveStore(), twice=False, days=1)
    targets = {scenario._targets["smoke"], scenario._targets["elevator"]}
    stray = [r for r in rows if r[0].startswith(("fire.", "elevator.")) and r[3] not in targets]
    assert stray == []
