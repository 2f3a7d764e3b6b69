"""Weigh every screen view of a played S street against its budget (cockpit.access.views)."""

from __future__ import annotations

import pytest

from cockpit.access.views import VIEW_BUDGETS
from cockpit.runtime import Runtime
from cockpit.settings import Settings

pytestmark = pytest.mark.integration


def test_every_screen_view_of_a_played_s_street_is_within_its_budget(tmp_path, caplog):
    settings = Settings(
        data_dir=tmp_path,
        scale="s-street",
        database_url=None,
        redis_url=None,
        mqtt_url=None,
        embedded_worker=False,
        simulate=False,
    )
    runtime = Runtime.open(settings)
    try:
        scenario, worker = runtime.make_scenario(), runtime.make_worker()
        for _ in range(20):
            scenario.step()
        worker.tick()
        worker.tick()
        weights = {name: len(runtime.live.get_view(name) or b"") for name in VIEW_BUDGETS}
    finally:
        runtime.stop()
    published = {name: size for name, size in weights.items() if size}
    # Every screen view is there (the demo's only in demo rooms), and none weighs over budget.
    assert set(VIEW_BUDGETS) - set(published) == {"demo"}
    over = {n: (size, VIEW_BUDGETS[n]) for n, size in published.items() if size > VIEW_BUDGETS[n]}
    assert over == {}, over
    assert "over its budget" not in caplog.text
    print("S street view bytes:", ", ".join(f"{n} {s:,}" for n, s in sorted(published.items())))


def test_a_view_over_its_budget_is_logged_once(caplog):
    from datetime import UTC, datetime

    from cockpit.live import InProcessLiveStore
    from cockpit.viewmodels import ViewModelPublisher

    publisher = ViewModelPublisher(InProcessLiveStore(), budgets={"ticker": 300})
    now = datetime(2026, 12, 4, tzinfo=UTC)
    publisher.publish("ticker", {"items": ["x" * 50]}, now)  # with its stamps, about 160 B
    assert "over its budget" not in caplog.text
    for n in range(3):
        publisher.publish("ticker", {"items": ["x" * (300 + n)]}, now)
    assert caplog.text.count("view ticker weighs") == 1
