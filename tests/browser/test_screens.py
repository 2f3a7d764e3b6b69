"""Look at the wall and the tablet as people would: live panels, a new alert, English, a lost link."""

from __future__ import annotations

import random
import re
import time
from datetime import UTC, datetime

import pytest

from tests.browser.conftest import (
    READABLE,
    REDIS_URL,
    CockpitServer,
    font_sizes,
    low_contrast,
    screenshot,
)

pytestmark = pytest.mark.browser
CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")
PANELS = ("governance", "enterprise", "livelihood")
KPIS = (
    "cases_today",
    "closure_rate",
    "on_time_rate",
    "devices_online",
    "open_red_alerts",
    "enterprises_watch",
    "elders_due",
)


def wait_for_text(page, selector: str, predicate, timeout: float = 60.0) -> str:
    """Poll an element's text until the predicate holds; return the text."""
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = page.inner_text(selector) if page.locator(selector).count() else ""
        if predicate(text):
            return text
        time.sleep(0.1)
    raise AssertionError(f"{selector} never satisfied the condition; last text {text!r}")


def raise_alert(server: CockpitServer, title_zh: str, title_en: str) -> float:
    """Raise a red smoke alert through the real alert book, as a rule would; return when."""
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
        candidate = AlertCandidate.build(
            "fire.smoke",
            AlertLevel.RED,
            "device",
            random.randrange(10**6, 10**7),  # a device no rule of the scenario can have opened
            title_zh,
            title_en,
            (Reason("smoke", "烟雾浓度 0.31（≥0.10）", "Smoke density 0.31 (≥ 0.10)", 0.31, 0.1),),
        )
        raised_at = time.monotonic()
        assert book.raise_candidate(candidate, datetime.now(UTC)).created
        return raised_at
    finally:
        engine.dispose()


@pytest.mark.parametrize(("mode", "width", "height"), [("wall", 1920, 1080), ("tablet", 1024, 768)])
def test_wall_and_tablet_show_every_panel_with_live_data(cockpit, open_page, mode, width, height):
    page = open_page(f"{cockpit.url}?mode={mode}", width, height)
    wait_for_text(page, "#kpi-devices_online", lambda t: t not in ("—", "0"))
    wait_for_text(page, "#data-freshness", lambda t: "秒前" in t)
    for name in PANELS:
        body = wait_for_text(page, f"#panel-{name}-body", lambda t: len(t) > 10)
        assert "正在等待数据" not in body
    assert page.inner_text("#kpi-elders_due") not in ("", "—")
    assert page.inner_text("#kpi-enterprises_watch") not in ("", "—")
    assert page.inner_text("#kpi-open_red_alerts") not in ("", "—")
    assert page.locator("#street-map").is_visible()
    # A busy machine can make a source late for a moment; the banner must go once it catches up.
    wait_for_text(page, "#stale-banner", lambda t: t == "", timeout=30)
    assert page.is_hidden("#card-close"), "the card overlay stays hidden while empty"
    if mode == "wall":
        # Readable at 4 m: numerals of 48 px and more, no text under 20 px.
        assert min(font_sizes(page, ".kpi-value > span:first-child")) >= 48
        # The map's legend and layer names count; only the drawing (markers, labels) does not.
        assert min(font_sizes(page, READABLE)) >= 20
        assert page.evaluate("document.documentElement.scrollHeight") <= height
    # Contrast of at least 4.5:1 for every text, in both profiles.
    assert low_contrast(page) == []
    screenshot(page, f"{mode}-{width}x{height}", docs=True)
    if mode == "tablet":
        page.click(".tablet-nav a[href='#panel-livelihood']")
        assert page.locator("#panel-livelihood").is_visible()
    assert page.console_errors == []


def test_an_alert_reaches_the_ticker_and_opens_its_card(cockpit, open_page):
    page = open_page(cockpit.url, 1920, 1080)
    wait_for_text(page, "#data-freshness", lambda t: "秒前" in t)
    # No burst to wait out: visit alerts (八必访) are a work list, never on the ticker, and the
    # ticker keeps open reds first, so nothing raised meanwhile can push ours out.
    tag = f"{random.randrange(10**5):05d}"
    raised_at = raise_alert(cockpit, f"烟感报警 测试{tag}", f"Smoke alarm test {tag}")
    # How fast is the benches' business (cockpit bench all); a busy CI machine must not fail it.
    wait_for_text(page, "#alert-ticker", lambda t: f"测试{tag}" in t, timeout=20)
    print(f"alert on the ticker {time.monotonic() - raised_at:.2f} s after it was raised")
    item = page.locator(".ticker-item", has_text=f"测试{tag}")
    assert "红色" in item.inner_text(), "the level is written, not only coloured"
    item.dispatch_event("click")  # the item scrolls; a click event needs no stable position
    card = wait_for_text(page, "#card-overlay", lambda t: f"测试{tag}" in t, timeout=10)
    assert "烟雾浓度 0.31" in card or "详见处置平台" in card
    for words in ("红色", "设备", "发生时间", "尚未确认"):
        assert words in card
    assert page.locator("#card-close").is_visible()
    page.click("#card-close")
    wait_for_text(page, "#card-overlay", lambda t: t == "", timeout=5)
    assert page.is_hidden("#card-close")
    assert page.console_errors == []


def test_the_language_switch_leaves_no_chinese_on_the_english_screens(cockpit, open_page):
    page = open_page(f"{cockpit.url}?mode=wall", 1920, 1080)
    wait_for_text(page, "#data-freshness", lambda t: "秒前" in t)
    chinese_labels = page.locator(".kpi-label").all_inner_texts()
    page.click("#language-switch")
    page.wait_for_url(re.compile(r"mode=wall.*lang=en|lang=en.*mode=wall"))
    wait_for_text(page, "#data-freshness", lambda t: "s ago" in t)
    wait_for_text(page, "#panel-governance-body", lambda t: len(t) > 10)
    english_labels = page.locator(".kpi-label").all_inner_texts()
    assert len(english_labels) == len(chinese_labels) == len(KPIS)
    assert not set(english_labels) & set(chinese_labels)
    assert page.inner_text("#street-name") == "Changbai Xincun Subdistrict"
    screenshot(page, "wall-english", docs=True)
    tablet = open_page(f"{cockpit.url}?mode=tablet&lang=en", 1024, 768)
    wait_for_text(tablet, "#panel-governance-body", lambda t: "Community" in t or "Changbai" in t)
    wait_for_text(tablet, "#data-freshness", lambda t: "s ago" in t)
    for shown in (page, tablet):
        # The switch names the other language in that language (中文), as switches do.
        texts = shown.evaluate(
            """() => { const out = []; let node;
              const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
              while ((node = walk.nextNode())) {
                if (!node.parentElement.closest('#language-switch, script, style')) {
                  out.push(node.textContent);
                }
              }
              return out; }"""
        )
        chinese = [text for text in texts if CJK.search(text)]
        assert chinese == [], chinese[:5]
        assert shown.inner_text("#language-switch") == "中文"
    assert page.console_errors == [] and tablet.console_errors == []


def test_the_4k_wall_scales_everything_up(cockpit, open_page):
    page = open_page(cockpit.url, 3840, 2160)
    wait_for_text(page, "#kpi-devices_online", lambda t: t not in ("—", "0"))
    wait_for_text(page, "#panel-livelihood-body", lambda t: len(t) > 10)
    wait_for_text(page, "#data-freshness", lambda t: "秒前" in t)
    assert min(font_sizes(page, ".kpi-value > span:first-child")) >= 96
    assert min(font_sizes(page, READABLE)) >= 40
    screenshot(page, "wall-3840x2160", docs=True)
    assert page.console_errors == []


def test_a_lost_server_shows_the_stale_banner_and_the_page_recovers_by_itself(tmp_path, open_page):
    server = CockpitServer(tmp_path, COCKPIT_SCALE="changbai", COCKPIT_REFRESH_MS="500")
    server.start()
    try:
        page = open_page(f"{server.url}?mode=tablet", 1024, 768)
        wait_for_text(page, "#kpi-devices_online", lambda t: t not in ("—", "0"))
        wait_for_text(page, "#data-freshness", lambda t: "秒前" in t)
        server.stop()
        banner = wait_for_text(page, "#stale-banner", lambda t: "数据已过期" in t, timeout=15)
        assert "实时数据" in banner
        assert page.inner_text("#kpi-devices_online") not in ("—", "")
        server.start()
        # Refreshes resume by themselves: the banner goes and the age counts from a new heartbeat.
        wait_for_text(page, "#stale-banner", lambda t: t == "", timeout=60)
        wait_for_text(page, "#data-freshness", lambda t: re.search(r"更新于 [0-5] 秒前", t), 30)
        assert page.is_hidden("#stale-banner")
    finally:
        server.stop()
