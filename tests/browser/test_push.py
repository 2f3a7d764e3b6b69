"""See a change pushed to the wall: with the stream up it comes at once, blocked it comes by polling."""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from tests.browser.conftest import REDIS_URL, CockpitServer, clear_redis_street, wait_for_js
from tests.browser.test_screens import raise_alert, wait_for_text

pytestmark = pytest.mark.browser
# Polls so rare that within a test only push can bring a change (with push), or polls every
# second (without): the two cockpits differ in nothing else.
POLL_MS = {"push": "600000", "polling": "1000"}


@pytest.fixture(scope="module", params=["push", "polling"])
def street(request, tmp_path_factory) -> Iterator[SimpleNamespace]:
    """Run a cockpit on the real Redis, polling rarely (push) or every second (polling)."""
    from tests.conftest import require_server

    require_server("Redis", "127.0.0.1", 6379)
    clear_redis_street()
    server = CockpitServer(
        tmp_path_factory.mktemp(f"push-{request.param}"),
        COCKPIT_SCALE="changbai",
        COCKPIT_REFRESH_MS=POLL_MS[request.param],
        COCKPIT_LIVE_POLL_SECONDS="0.5",
        COCKPIT_REDIS_URL=REDIS_URL,
    )
    server.start()
    yield SimpleNamespace(server=server, how=request.param)
    server.stop()
    clear_redis_street()


def test_an_alert_reaches_the_ticker_pushed_or_by_polling_when_push_is_blocked(street, open_page):
    server, how = street.server, street.how
    page = open_page(f"{server.url}?mode=wall&lang=en", 1920, 1080, role="kiosk")
    if how == "polling":
        # A proxy that drops the stream: the page must not depend on it.
        page.route("**/live/stream", lambda route: route.abort())
        page.reload()
    wait_for_text(page, "#kpi-cases_today", lambda t: t not in ("", "—"))
    if how == "push":
        # The stream is up, and the screen says so.
        wait_for_js(page, "document.documentElement.getAttribute('data-push') === 'on'", 30)
        assert "push" in page.evaluate(
            "getComputedStyle(document.getElementById('data-freshness'), '::after').content"
        )
    tag = f"{time.time_ns() % 10**6:06d}"
    raised_wall = time.time()
    raised = raise_alert(server, f"烟感报警 · 推送{tag}", f"Smoke alarm · push {tag}")
    # Rare polls (push): only the stream can bring it before the next one, ten minutes away.
    wait_for_text(page, "#alert-ticker", lambda t: tag in t, timeout=30)
    heard = page.evaluate("window.cockpitPush.heard()") / 1000 - raised_wall
    print(
        f"{how}: alert to ticker {1000 * (time.monotonic() - raised):.0f} ms, heard {heard * 1000:.0f} ms"
    )
    if how == "polling":
        assert page.evaluate("document.documentElement.getAttribute('data-push')") != "on"
        # The browser says the blocked stream failed to load; nothing else may go wrong.
        assert all("ERR_FAILED" in e for e in page.console_errors), page.console_errors
    else:
        assert page.console_errors == []
