"""Look at the KPIs as people would: each says its window; on the tablet one opens its list."""

from __future__ import annotations

import pytest

from tests.browser.test_screens import raise_alert, wait_for_text

pytestmark = pytest.mark.browser
WINDOWS = {
    "zh": {"cases_today": "今日 00:00 起", "on_time_rate": "近30天", "open_red_alerts": "当前"},
    "en": {
        "cases_today": "since 00:00 today",
        "on_time_rate": "last 30 days",
        "open_red_alerts": "now",
    },
}
LABELS = {
    "zh": ("按期办结率", "未处置红色预警"),
    "en": ("On-time closure", "Red alerts not settled"),
}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_wall_says_what_each_kpi_counts_and_opens_nothing(cockpit, open_page, lang) -> None:
    """Every wall KPI shows its window under its label, and none of them is a button."""
    page = open_page(f"{cockpit.url}?mode=wall&lang={lang}", role="kiosk")
    wait_for_text(page, "#kpi-cases_today", lambda t: t not in ("", "—"))
    for name, window in WINDOWS[lang].items():
        assert window in page.inner_text(f"#kpi-{name}-window")
        assert page.get_attribute(f"#kpi-box-{name}", "title")  # the definition, as help text
    on_time, red = LABELS[lang]
    assert page.inner_text("#kpi-box-on_time_rate .kpi-label") == on_time
    assert page.inner_text("#kpi-box-open_red_alerts .kpi-label") == red
    assert page.locator(".kpi-open").count() == 0


def test_a_tablet_kpi_opens_the_alerts_behind_it_and_a_row_opens_its_case(
    cockpit, open_page
) -> None:
    """A red smoke alarm: tap the red-alert KPI, see it listed with place and state, open its case."""
    page = open_page(f"{cockpit.url}?mode=tablet&lang=en", 1024, 768, role="dispatcher")
    wait_for_text(page, "#kpi-open_red_alerts", lambda t: t not in ("", "—"))
    before = int(page.inner_text("#kpi-open_red_alerts").replace(",", ""))
    raise_alert(cockpit, "烟感报警 · 列表测试", "Smoke alarm · list test")
    wait_for_text(
        page, "#kpi-open_red_alerts", lambda t: t.replace(",", "").isdigit() and int(t) > before
    )
    page.click("#kpi-box-open_red_alerts .kpi-open")
    row = page.locator("#kpi-list-open_red_alerts .kpi-list-row", has_text="list test").first
    row.wait_for(timeout=30_000)
    assert row.locator(".kpi-list-place").inner_text().strip()
    state = row.locator(".kpi-list-state").inner_text()
    assert "New" in state and "Reported" in state  # the alert's status and its case's state
    code = state.split(" · ")[-1].split(" ")[0]
    row.click()
    wait_for_text(page, "#card-overlay", lambda t: code in t and "Red alerts not settled" not in t)
