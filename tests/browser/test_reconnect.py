"""The wall says it lost the live link while the cockpit is down, and recovers by itself after."""

from __future__ import annotations

import pytest

from tests.browser.conftest import CockpitServer, low_contrast, screenshot

FRESH = "#data-freshness"
BANNER = "#stale-banner"


def contrast(page, selector: str) -> float:
    """Return the WCAG contrast ratio of an element's text against its own background."""
    fg, bg = page.eval_on_selector(
        selector,
        "e => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor]",
    )

    def luminance(css: str) -> float:
        r, g, b = (float(v) for v in css[css.index("(") + 1 : css.index(")")].split(",")[:3])

        def channel(v: float) -> float:
            v /= 255
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

        return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)

    hi, lo = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.fixture
def restartable(tmp_path):
    """Run an embedded cockpit (in-process live store) that a test may stop and start again."""
    server = CockpitServer(
        tmp_path,
        COCKPIT_SCALE="changbai",
        COCKPIT_REFRESH_MS="500",
        COCKPIT_LIVE_POLL_SECONDS="0.5",
    )
    server.start()
    yield server
    server.stop()


def test_the_wall_reconnects_by_itself_when_the_cockpit_comes_back(restartable, open_page):
    page = open_page(restartable.url + "?mode=wall&lang=en")
    page.wait_for_function(
        "s => document.querySelector(s)?.textContent.startsWith('Data updated')",
        arg=FRESH,
        timeout=30_000,
    )
    page.evaluate("window.__sameDocument = true")

    restartable.stop()
    # Away: the banner says the live link is lost, big and clear, and the numbers stay.
    page.wait_for_selector(f"{BANNER}:not([hidden])", timeout=15_000)
    assert "Live data" in page.inner_text(BANNER)
    # (A fixed banner has no offsetParent, so font_sizes would skip it: read it directly.)
    size = page.eval_on_selector(BANNER, "e => parseFloat(getComputedStyle(e).fontSize)")
    assert size >= 20 and page.is_visible(BANNER)
    assert low_contrast(page, FRESH) == []
    assert contrast(page, BANNER) >= 4.5
    assert page.locator(".kpi-value").count() > 0
    screenshot(page, "wall-link-lost")

    restartable.start()  # the same port and data folder, as an operator's restart would
    page.wait_for_selector(f"{BANNER}[hidden]", state="attached", timeout=60_000)
    page.wait_for_function(
        "s => document.querySelector(s)?.textContent.startsWith('Data updated')",
        arg=FRESH,
        timeout=10_000,
    )
    # Recovered in place: the page was not reloaded, and it is fresh again.
    assert page.evaluate("window.__sameDocument === true")
    assert "freshness-stale" not in (page.get_attribute(FRESH, "class") or "")
