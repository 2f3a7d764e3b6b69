"""Look at the first page as a person would: live counts that change, both languages, a lost link."""

from __future__ import annotations

import re
import time

import pytest

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser
CJK = re.compile(r"[\u3400-\u9fff]")


def wait_for_text(page, selector: str, predicate, timeout: float = 60.0) -> str:
    """Poll an element's text until the predicate holds; return the text."""
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = page.inner_text(selector)
        if predicate(text):
            return text
        time.sleep(0.25)
    raise AssertionError(f"{selector} never satisfied the condition; last text {text!r}")


@pytest.mark.parametrize(("width", "height", "name"), [(1920, 1080, "wall"), (1024, 768, "tablet")])
def test_first_page_shows_live_changing_counts(cockpit, open_page, width, height, name):
    page = open_page(cockpit.url, width, height)
    assert wait_for_text(page, "#kpi-residents", lambda t: t == "70,000")
    assert page.inner_text("#kpi-communities") == "16"
    assert wait_for_text(page, "#kpi-devices_online", lambda t: t not in ("—", "0"))
    first = wait_for_text(page, "#kpi-readings_per_min", lambda t: t not in ("—", "0"))
    wait_for_text(page, "#kpi-readings_per_min", lambda t: t != first, timeout=30)
    wait_for_text(page, "#data-freshness", lambda t: "秒前" in t)
    assert page.is_hidden("#stale-banner")
    assert page.inner_text(".kpi-label >> nth=0") == "实有人口"
    screenshot(page, f"first-page-{name}")
    assert page.console_errors == []


def test_english_page_has_no_chinese_labels(cockpit, open_page):
    page = open_page(cockpit.url + "?lang=en", 1920, 1080)
    wait_for_text(page, "#data-freshness", lambda t: "s ago" in t)
    # The switch names the other language in that language (中文), as language switches do.
    labels = page.locator(".kpi-label, #data-freshness, .subtitle, .sources").all_inner_texts()
    assert labels and not [text for text in labels if CJK.search(text)]
    assert page.inner_text("#language-switch") == "中文"
    assert page.console_errors == []


def test_lost_server_shows_the_stale_banner_and_keeps_the_numbers(tmp_path, open_page):
    from tests.browser.conftest import CockpitServer

    server = CockpitServer(tmp_path, COCKPIT_SCALE="changbai", COCKPIT_REFRESH_MS="500")
    server.start()
    try:
        page = open_page(server.url, 1024, 768)
        wait_for_text(page, "#kpi-residents", lambda t: t == "70,000")
        wait_for_text(page, "#data-freshness", lambda t: "秒前" in t)
    finally:
        server.stop()
    banner = wait_for_text(page, "#stale-banner", lambda t: "数据已过期" in t, timeout=15)
    assert "实时数据" in banner
    assert page.inner_text("#kpi-residents") == "70,000"
