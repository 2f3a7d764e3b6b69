"""Open demo mode as a visiting official would: a caption appears, the day pauses and restarts."""

from __future__ import annotations

import re
import time

import pytest

from tests.browser.conftest import READABLE, font_sizes, low_contrast, screenshot, wait_for_js

pytestmark = pytest.mark.browser
CLOCK = re.compile(r"^\d\d:\d\d:\d\d$")


def text_of(page, selector: str) -> str:
    """Return an element's visible text."""
    return page.inner_text(selector).strip()


def test_demo_plays_captions_pauses_and_restarts(cockpit, open_page) -> None:
    """?mode=demo shows the wall with a caption bar; an alarm caption comes, pause holds the
    clock, restart plays the day again from its start; English is complete."""
    page = open_page(cockpit.url + "?mode=demo")
    # The first demo page waits while the demo street is seeded, then reloads itself.
    page.wait_for_selector("#demo-bar", timeout=240_000)
    page.wait_for_selector("#street-map", timeout=30_000)
    wait_for_js(page, "document.querySelector('#demo-caption .demo-caption-time') !== null", 30)
    # At 60x the smoke alarm of 08:12 comes about twelve seconds after 08:00.
    wait_for_js(
        page,
        "document.querySelector('#demo-caption.kind-alarm, .demo-history-item.kind-alarm')"
        " !== null",
        90,
    )
    assert "告警" in text_of(page, "#demo-bar")
    # Shown on the wall to visitors: as readable as the wall, caption bar and controls included.
    sizes = font_sizes(page, f"{READABLE}, #demo-bar *")
    assert sizes and min(sizes) >= 20, sorted(sizes)[:5]
    assert low_contrast(page, f"{READABLE}, #demo-bar *") == []
    screenshot(page, "demo-wall-zh", docs=True)

    page.click("#demo-play")
    wait_for_js(page, "document.querySelector('#demo-state').innerText.includes('已暂停')", 15)
    time.sleep(2.5)  # one refresh after the pause has landed
    held = text_of(page, "#demo-clock")
    time.sleep(2.5)
    assert CLOCK.match(held) and text_of(page, "#demo-clock") == held

    page.click("#demo-restart")
    wait_for_js(
        page,
        f"(() => {{ const t = document.querySelector('#demo-clock').innerText;"
        f" return /^\\d\\d:\\d\\d:\\d\\d$/.test(t) && t < '{held}'; }})()",
        120,
    )
    wait_for_js(page, "document.querySelector('#demo-state').innerText.includes('播放中')", 30)
    assert page.console_errors == []

    english = open_page(cockpit.url + "?mode=demo&lang=en")
    english.wait_for_selector("#demo-bar", timeout=60_000)
    wait_for_js(english, "document.querySelector('#demo-caption .demo-caption-text') !== null", 30)
    bar = text_of(english, "#demo-bar")
    assert "Speed" in bar and "Restart" in bar
    assert not re.search(r"[\u4e00-\u9fff]", text_of(english, "#demo-caption .demo-caption-text"))
    screenshot(english, "demo-wall-en", docs=True)
    assert english.console_errors == []
