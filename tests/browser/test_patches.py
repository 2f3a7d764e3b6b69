"""See a pushed screen: a changed view comes as its difference, beats keep it fresh between polls."""

from __future__ import annotations

import time

import orjson
import pytest

from tests.browser.conftest import REDIS_URL, CockpitServer, wait_for_js
from tests.browser.test_screens import raise_alert, wait_for_text

pytestmark = pytest.mark.browser
STAMPS = ("version", "generated_at", "published_wall")
HELD = "id => (window.dash_component_api.getLayout(id) || {props: {}}).props.data || null"


def published(server: CockpitServer):
    """Return a reader of the cockpit's published views, as a screen's refresh reads them."""
    from sqlalchemy import select

    from cockpit.live import RedisLiveStore
    from cockpit.store import schema
    from cockpit.store.database import make_engine

    engine = make_engine(server.database_url)
    try:
        with engine.connect() as conn:
            code = conn.execute(select(schema.Street.code)).scalar_one()
    finally:
        engine.dispose()
    live = RedisLiveStore.from_url(REDIS_URL, code)
    return lambda name: orjson.loads(live.get_view(name) or b"null")


def content(view: dict | None) -> dict | None:
    """Return a view without the stamps each publication adds."""
    return None if view is None else {k: v for k, v in view.items() if k not in STAMPS}


@pytest.mark.parametrize("how", ["push", "polling"])
def test_a_new_alert_reaches_the_tablet_as_differences_and_its_stores_equal_the_views(
    cockpit, open_page, how
):
    """Pushed, the page applies the stream's differences itself; with the stream blocked, its
    refresh brings them as Dash Patches. Either way it ends up holding the views as published."""
    page = open_page(f"{cockpit.url}?mode=tablet&lang=en", 1024, 768, role="dispatcher")
    if how == "polling":
        page.route("**/live/stream", lambda route: route.abort())
        page.reload()
    answers = []
    page.on(
        "response",
        lambda r: answers.append(r) if "/_dash-update-component" in r.url else None,
    )
    wait_for_text(page, "#kpi-cases_today", lambda t: t not in ("", "—"), timeout=60)
    if how == "push":
        wait_for_js(page, "document.documentElement.getAttribute('data-push') === 'on'", 30)
        wait_for_js(page, "window.cockpitPush.taking()", 30)  # past the grace after opening
    tag = f"{time.time_ns() % 10**6:06d}"
    raise_alert(cockpit, f"烟感报警 · 差异{tag}", f"Smoke alarm · diff {tag}")
    wait_for_text(page, "#alert-ticker", lambda t: tag in t, timeout=30)

    refreshes = [orjson.loads(r.body()) for r in answers if r.status == 200]
    refreshes = [r["response"] for r in refreshes if "heartbeat-store" in r.get("response", {})]
    patched = {
        key[5:]
        for answer in refreshes
        for key, value in answer.items()
        if key.startswith("view-") and "__dash_patch_update" in (value.get("data") or {})
    }
    if how == "push":
        assert page.evaluate("window.cockpitPush.applied()") >= 1
        assert patched == set(), "a pushed page's refresh sends views whole"
    else:
        assert "ticker" in patched, f"the ticker came whole: {patched}"

    # Whatever came as differences and whatever came whole, each store now holds the view as
    # published (once the page holds the version the worker last published).
    read = published(cockpit)
    for store, view in (("ticker", "ticker"), ("cases", "cases"), ("map_alerts", "map_alerts")):
        for _ in range(100):
            held, current = page.evaluate(HELD, f"view-{store}"), read(view)
            if held and current and held["version"] == current["version"]:
                break
            time.sleep(0.2)
        assert held["version"] == current["version"], store
        assert content(held) == content(current), store
    if how == "push":
        assert page.console_errors == []
    else:
        assert all("ERR_FAILED" in e for e in page.console_errors), page.console_errors


def test_while_the_stream_beats_the_wall_polls_rarely_and_stays_fresh_then_polls_again(
    cockpit, open_page
):
    page = open_page(f"{cockpit.url}?mode=wall&lang=en", 1920, 1080, role="kiosk")
    wait_for_text(page, "#kpi-cases_today", lambda t: t not in ("", "—"), timeout=60)
    wait_for_js(page, "window.cockpitPush.pollMs() === 30000", 30)
    own = page.evaluate("window.cockpitPush.ownPollMs()")  # the page's own, COCKPIT_REFRESH_MS
    assert own < 30000
    # Polls now come every 30 s at most; the beats alone keep the freshness line fresh.
    time.sleep(8)
    line = page.locator("#data-freshness")
    assert line.inner_text().startswith("Data updated"), line.inner_text()
    assert "freshness-stale" not in (line.get_attribute("class") or "")
    # Without the stream (a hidden tab, a failed proxy), the page polls at its own pace again.
    page.evaluate("window.cockpitPush.close()")
    assert page.evaluate("window.cockpitPush.pollMs()") == own
    assert page.console_errors == []
