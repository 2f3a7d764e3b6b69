"""See a crowd of one kind of alert on the wall's ticker as one counted item, readable at 4 m."""

from __future__ import annotations

import random
import re
import time
from datetime import UTC, datetime

from tests.browser.conftest import (
    REDIS_URL,
    SCREENSHOTS,
    CockpitServer,
    font_sizes,
    screenshot,
)
from tests.browser.test_screens import wait_for_text

GROUPED = 12


def raise_low_batteries(server: CockpitServer, tag: str) -> None:
    """Raise a dozen blue low-battery alerts through the real alert book, as the rule would."""
    from sqlalchemy import select

    from cockpit.alerts import AlertBook
    from cockpit.domain.kinds import AlertLevel
    from cockpit.live import RedisLiveStore
    from cockpit.rules.results import AlertCandidate, Reason
    from cockpit.store import schema
    from cockpit.store.database import make_engine

    engine = make_engine(server.database_url)
    try:
        with engine.connect() as conn:
            street = conn.execute(select(schema.Street.code)).scalar_one()
        book = AlertBook(engine, RedisLiveStore.from_url(REDIS_URL, street))
        first = random.randrange(10**6, 10**7)  # devices no rule of the scenario can resolve
        book.raise_many(
            [
                AlertCandidate.build(
                    "fire.smoke_battery",
                    AlertLevel.BLUE,
                    "device",
                    first + n,
                    f"烟感电量低{tag}",
                    f"Battery low {tag}",
                    (Reason("low_battery", "电量 12%", "Battery 12%", 12, 20),),
                )
                for n in range(GROUPED)
            ],
            datetime.now(UTC),
        )
    finally:
        engine.dispose()


def battery_count(text: str) -> int:
    """Return the count on the ticker's low-battery item (0 when there is none, 1 unfolded)."""
    found = re.search(r"烟感电量低\s*×\s*([\d,]+)", text)
    if found:
        return int(found.group(1).replace(",", ""))
    return 1 if "烟感电量低" in text else 0


def test_a_dozen_low_batteries_are_one_counted_item_with_a_card(cockpit, open_page):
    page = open_page(f"{cockpit.url}?mode=wall", 1920, 1080)
    wait_for_text(page, "#data-freshness", lambda t: "秒前" in t)
    # The simulated fleet has low batteries of its own (2 % of the smoke detectors): a dozen more
    # join their item, whatever it counted before.
    before = battery_count(page.inner_text("#alert-ticker"))
    tag = f"{random.randrange(10**5):05d}"
    raise_low_batteries(cockpit, tag)
    # The group is named by its kind, not by one member's title (which names one device).
    text = wait_for_text(
        page, "#alert-ticker", lambda t: battery_count(t) >= before + GROUPED, timeout=10
    )
    assert f"电量低{tag}" not in text
    assert text.count("烟感电量低") == 1, "a dozen alerts of one kind are one ticker item"
    item = page.locator(".ticker-item", has_text="烟感电量低")
    counted = battery_count(item.inner_text())
    assert counted >= before + GROUPED
    # The count is read across the room like the title: at least the wall's 20 px.
    assert min(font_sizes(page, ".ticker-count")) >= 20
    # Stop the scroll (as a wall set to reduced motion does) to picture the item where it sits.
    page.emulate_media(reduced_motion="reduce")
    item.scroll_into_view_if_needed()
    screenshot(page, "ticker-group-wall")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator(".ticker-bar").screenshot(path=str(SCREENSHOTS / "ticker-group-bar.png"))
    time.sleep(0.2)
    item.dispatch_event("click")
    card = wait_for_text(page, "#card-overlay", lambda t: "烟感电量低" in t, timeout=10)
    shown = re.search(r"×\s*([\d,]+)", card)
    assert shown and int(shown.group(1).replace(",", "")) >= before + GROUPED
    assert "同类告警" in card
    assert page.console_errors == []
