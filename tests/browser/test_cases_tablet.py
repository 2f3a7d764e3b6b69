"""Close the loop from the tablet: dispatch a case and watch the wall follow, acknowledge an alert."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterator

import pytest

from tests.browser.conftest import REDIS_URL, CockpitServer, clear_redis_street, screenshot
from tests.browser.test_screens import raise_alert, wait_for_text

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def cockpit(tmp_path_factory) -> Iterator[CockpitServer]:
    """Run a cockpit whose wall turns its panel pages every 3 s, so the case loop shows soon."""
    from tests.conftest import require_server

    require_server("Redis", "127.0.0.1", 6379)
    clear_redis_street()
    server = CockpitServer(
        tmp_path_factory.mktemp("cases-cockpit"),
        COCKPIT_SCALE="changbai",
        COCKPIT_REFRESH_MS="500",
        COCKPIT_LIVE_POLL_SECONDS="0.5",
        COCKPIT_PANEL_CYCLE_SECONDS="3",
        COCKPIT_REDIS_URL=REDIS_URL,
    )
    server.start()
    yield server
    server.stop()
    clear_redis_street()


def case_state(server: CockpitServer, case_id: int) -> tuple[str, list[tuple[str, str, str]]]:
    """Return a case's state and its history (action, actor, key) from the server's store."""
    from sqlalchemy import select

    from cockpit.store import schema
    from cockpit.store.database import make_engine

    engine = make_engine(server.database_url)
    try:
        with engine.connect() as conn:
            state = conn.execute(
                select(schema.Case.state).where(schema.Case.id == case_id)
            ).scalar_one()
            h = schema.CaseHistory
            history = conn.execute(
                select(h.action, h.actor, h.action_key).where(h.case_id == case_id).order_by(h.id)
            ).all()
    finally:
        engine.dispose()
    return state, [tuple(row) for row in history]


def funnel_count(page, state_word: str) -> int | None:
    """Return the wall's funnel count for a state while the case loop page shows, else None."""
    # Read in one go: the wall turns its panel pages, and a row counted may be gone when read.
    rows = page.eval_on_selector_all(
        "#panel-governance-body .bar-row",
        """rows => rows.map(r => [
            (r.querySelector('.bar-name') || {}).innerText || '',
            (r.querySelector('.bar-value') || {}).innerText || ''])""",
    )
    for name, value in rows:
        if name.strip() == state_word and value.strip():
            return int(value.replace(",", "").split()[0])
    return None


def wait_for_funnel(page, state_word: str, predicate, timeout: float = 60.0) -> int:
    """Wait until the wall shows its case loop page with a count that satisfies the predicate."""
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        seen = funnel_count(page, state_word)
        if seen is not None and predicate(seen):
            return seen
        time.sleep(0.1)
    raise AssertionError(f"the wall's {state_word} count never fit; last seen {seen}")


def test_a_case_dispatched_on_the_tablet_shows_on_the_wall(cockpit, open_page):
    wall = open_page(f"{cockpit.url}?mode=wall&lang=en", 1920, 1080)
    tablet = open_page(f"{cockpit.url}?mode=tablet&lang=en", 1024, 768)
    before = wait_for_funnel(wall, "Dispatched", lambda n: True)
    wait_for_text(tablet, "#data-freshness", lambda t: "s ago" in t)
    wait_for_text(tablet, "#panel-cases-body", lambda t: "Open cases" in t)
    # A case waiting for dispatch: registered, else reported (registered first, on the card).
    row = tablet.locator(".case-row:has(.case-chip-registered)").first
    if not row.count():
        row = tablet.locator(".case-row:has(.case-chip-reported)").first
    row.click()
    card = tablet.locator(".card-case")
    card.wait_for()
    case_id = int(card.get_attribute("data-case"))
    if card.get_attribute("data-state") == "reported":
        tablet.click(".case-button-register")
        tablet.wait_for_selector(".card-case[data-state='registered'] .case-button-dispatch")
    assert tablet.locator(".card-case .case-history").is_visible()
    assert tablet.locator(".card-case .case-input", has_text="Dispatch to").is_visible()

    tablet.locator(".case-button-dispatch").dblclick()  # a double tap acts once
    message = wait_for_text(tablet, ".case-message", lambda t: "Dispatched" in t, timeout=10)
    assert "Done: Dispatch" in message or "Already done" in message
    screenshot(tablet, "tablet-case-card", docs=True)
    state, history = case_state(cockpit, case_id)
    assert state == "dispatched"
    dispatches = [row for row in history if row[0] == "dispatch"]
    # The actor is the signed-in account, never the page's mode.
    assert len(dispatches) == 1 and dispatches[0][1] == "dispatcher:test-dispatcher"
    # The wall follows within a few refreshes (the cycle shows the case loop page every ~12 s).
    after = wait_for_funnel(wall, "Dispatched", lambda n: n >= before + 1, timeout=60)
    print(f"wall dispatched count {before} -> {after}")
    # The tablet's open card follows the published case too: its history shows the dispatch.
    wait_for_text(tablet, ".card-case .case-history", lambda t: "test-dispatcher" in t, timeout=10)
    assert tablet.console_errors == [] and wall.console_errors == []


def test_a_refused_action_says_why_on_the_card(cockpit, open_page):
    tablet = open_page(f"{cockpit.url}?mode=tablet&lang=en", 1024, 768)
    wait_for_text(tablet, "#data-freshness", lambda t: "s ago" in t)
    wait_for_text(tablet, "#panel-cases-body", lambda t: "Open cases" in t)
    voidable = ", ".join(
        f".case-row:has(.case-chip-{state})"
        for state in ("reported", "registered", "dispatched", "handling")
    )
    tablet.locator(voidable).first.click()
    tablet.locator(".card-case").wait_for()
    button = tablet.locator(".card-case .case-button-void")
    button.click()  # no note: the desk refuses and the card says why
    message = wait_for_text(tablet, ".case-message", lambda t: "Refused" in t, timeout=10)
    assert "needs a reason or note" in message
    assert "Traceback" not in tablet.inner_text("#card-overlay")
    assert tablet.console_errors == []


def test_acknowledging_an_alert_registers_its_case(cockpit, open_page):
    tablet = open_page(f"{cockpit.url}?mode=tablet&lang=en", 1024, 768)
    wait_for_text(tablet, "#data-freshness", lambda t: "s ago" in t)
    tag = f"{random.randrange(10**5):05d}"
    raise_alert(cockpit, f"烟感报警 确认{tag}", f"Smoke alarm ack {tag}")
    wait_for_text(tablet, "#alert-ticker", lambda t: f"ack {tag}" in t, timeout=10)
    tablet.locator(".ticker-item", has_text=f"ack {tag}").dispatch_event("click")
    tablet.locator(".case-button-acknowledge").click()
    card = tablet.locator(".card-case")
    card.wait_for(timeout=10000)
    message = wait_for_text(tablet, ".case-message", lambda t: "Registered" in t, timeout=10)
    assert re.search(r"Done: Acknowledge", message)
    state, history = case_state(cockpit, int(card.get_attribute("data-case")))
    assert state == "registered"
    registered = [row[:2] for row in history if row[0] == "register"]
    assert registered == [("register", "dispatcher:test-dispatcher")]
    assert tablet.console_errors == []
