"""Measure what a person would see cut off: every panel, tile and header, per profile and language.

An offender is an element whose text or box does not fit: content clipped by overflow hidden or
clip, text ellipsized with no title to read it whole, a box outside its panel's (or tile's) box,
anything outside the viewport on the wall, a header whose items wrap onto a second row. Each is
listed by selector and text, so a failure says what to fix.
"""

from __future__ import annotations

import time

import pytest

from tests.browser.conftest import CockpitServer, clear_redis_street, screenshot
from tests.browser.test_screens import wait_for_text

pytestmark = pytest.mark.browser

CYCLE_S = 3.0
LANGS = ("zh", "en")

# Run in the page: every visible element that does not fit, as [selector, problem, text].
OFFENDERS = """
(args) => {
  const [wall, boxes, scope] = args;
  const out = [];
  const seen = new Set();
  const name = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += "#" + el.id;
    const cls = typeof el.className === "string" ? el.className.trim().split(/\\s+/).filter(Boolean) : [];
    if (cls.length) s += "." + cls.slice(0, 2).join(".");
    const owner = el.parentElement && el.parentElement.closest("[id]");
    return owner && !el.id ? owner.tagName.toLowerCase() + "#" + owner.id + " " + s : s;
  };
  const say = (el, problem) => {
    const key = name(el) + "|" + problem;
    if (seen.has(key)) return;
    seen.add(key);
    out.push([name(el), problem, (el.innerText || el.textContent || "").trim().slice(0, 40)]);
  };
  const shown = (el) => {
    if (!el.getClientRects().length) return false;
    const st = getComputedStyle(el);
    return st.visibility !== "hidden" && st.display !== "none";
  };
  // Moving or drawn parts: the ticker scrolls its track through its window by design, the map's
  // drawing is Leaflet's, and a card overlay scrolls its own content.
  const exempt = (el) =>
    el.closest(".leaflet-container, .alert-ticker, .card-layer, script, style");
  const titled = (el) => el.closest("[title]") !== null;
  const root = document.querySelector(scope);
  const all = [root, ...root.querySelectorAll("*")].filter((el) => !exempt(el) && shown(el));
  for (const el of all) {
    const st = getComputedStyle(el);
    const clips = (v) => v === "hidden" || v === "clip";
    const wide = el.scrollWidth > el.clientWidth + 1;
    const tall = el.scrollHeight > el.clientHeight + 1;
    // An ellipsis (or a line clamp) cuts words on purpose: fine while a title holds them whole.
    const clamped = st.webkitLineClamp && st.webkitLineClamp !== "none";
    if ((st.textOverflow === "ellipsis" && wide) || (clamped && tall)) {
      if (!titled(el)) say(el, `ellipsized without a title (${el.scrollWidth}x${el.scrollHeight} in ${el.clientWidth}x${el.clientHeight})`);
      continue;
    }
    if ((clips(st.overflowX) && wide) || (clips(st.overflowY) && tall)) {
      say(el, `clipped (${el.scrollWidth}x${el.scrollHeight} in ${el.clientWidth}x${el.clientHeight})`);
    }
  }
  // Boxes outside the panel or tile they belong to (drawn past its edge, or cut by it).
  for (const box of document.querySelectorAll(boxes)) {
    if (exempt(box) || !shown(box)) continue;
    const b = box.getBoundingClientRect();
    for (const el of box.querySelectorAll("*")) {
      if (exempt(el) || !shown(el)) continue;
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      if (r.left < b.left - 1 || r.right > b.right + 1 || r.top < b.top - 1 || r.bottom > b.bottom + 1) {
        say(el, "outside its " + name(box));
      }
    }
  }
  if (wall) {
    for (const el of all) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      if (r.right > innerWidth + 1 || r.bottom > innerHeight + 1 || r.left < -1 || r.top < -1) {
        say(el, "outside the screen");
      }
    }
  }
  if (document.documentElement.scrollWidth > innerWidth + 1) {
    say(document.documentElement, "scrolls sideways (" + document.documentElement.scrollWidth + " px)");
  }
  return out;
}
"""

# Run in the page: the header's items that sit below its first row, as [selector, text].
WRAPPED = """
(selector) => {
  const header = document.querySelector(selector);
  if (!header) return [["(no header)", selector]];
  const items = [...header.children].filter((el) => el.getClientRects().length);
  const top = Math.min(...items.map((el) => el.getBoundingClientRect().top));
  const firstRowBottom = Math.min(...items.map((el) => el.getBoundingClientRect().bottom));
  return items.filter((el) => el.getBoundingClientRect().top >= firstRowBottom - 1 && el.getBoundingClientRect().top > top)
    .map((el) => [el.tagName.toLowerCase() + "." + String(el.className).split(" ")[0],
                  (el.innerText || "").trim().slice(0, 40)]);
}
"""

PANEL_BOXES = ".panel, .kpi, .big, .trend-box, .ticker-bar, .shell-header, .demo-bar"
# (profile, mode, width, height): the wall at 1080p and 4K, the tablet, and the demo wall.
PROFILES = [
    ("wall", "wall", 1920, 1080),
    ("wall-4k", "wall", 3840, 2160),
    ("tablet", "tablet", 1024, 768),
    ("demo", "demo", 1920, 1080),
]


@pytest.fixture(scope="module")
def fit_cockpit(tmp_path_factory):
    """Run a cockpit whose wall panels turn a page every 3 s, so a test sees every page."""
    from tests.browser.conftest import REDIS_URL
    from tests.conftest import require_server

    require_server("Redis", "127.0.0.1", 6379)
    clear_redis_street()
    server = CockpitServer(
        tmp_path_factory.mktemp("fit"),
        COCKPIT_SCALE="changbai",
        COCKPIT_REFRESH_MS="500",
        COCKPIT_LIVE_POLL_SECONDS="0.5",
        COCKPIT_PANEL_CYCLE_SECONDS=str(CYCLE_S),
        COCKPIT_REDIS_URL=REDIS_URL,
    )
    server.start()
    yield server
    server.stop()
    clear_redis_street()


def fresh(text: str, lang: str) -> bool:
    """Say whether the freshness line reads fresh (a slow tick can show the longer stale one)."""
    return text.startswith("数据更新于" if lang == "zh" else "Data updated")


def settle(page, lang: str, timeout: float = 120) -> None:
    """Wait until the KPIs, the panels and the freshness line show data."""
    wait_for_text(page, "#kpi-devices_online", lambda t: t not in ("—", "", "0"), timeout)
    wait_for_text(page, "#data-freshness", lambda t: fresh(t, lang), timeout)
    for name in ("governance", "enterprise", "livelihood"):
        wait_for_text(page, f"#panel-{name}-body", lambda t: len(t) > 10)


def pages_in_cycle(page) -> int:
    """Return how many detail views the longest panel cycle has (its dots), at least one."""
    counts = page.eval_on_selector_all(
        ".page-dots", "els => els.map(e => [...e.innerText].filter(c => c.trim()).length)"
    )
    return max([1, *counts])


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(("profile", "mode", "width", "height"), PROFILES)
def test_nothing_is_cut_off_or_overflows(
    fit_cockpit, open_page, profile, mode, width, height, lang
):
    page = open_page(f"{fit_cockpit.url}?mode={mode}&lang={lang}", width, height)
    if mode == "demo":
        wait_for_text(page, "#demo-clock", lambda t: ":" in t, timeout=180)
    settle(page, lang)
    found: dict[tuple[str, str], str] = {}
    # On the wall each panel turns its pages: measure each page once (the tablet shows them all).
    for turn in range(pages_in_cycle(page) if mode != "tablet" else 1):
        if turn:
            time.sleep(CYCLE_S + 0.5)
        for selector, problem, text in page.evaluate(
            OFFENDERS, [mode in ("wall", "demo"), PANEL_BOXES, "body"]
        ):
            found.setdefault((selector, problem), text)
    screenshot(page, f"fit-{profile}-{lang}")
    listed = [f"{selector}: {problem} [{text}]" for (selector, problem), text in found.items()]
    assert listed == [], "\n".join(listed)


# (role, path, width, height, header): every role's header at the tablet's size, and the phone.
HEADERS = [
    ("kiosk", "?mode=wall", 1024, 768, ".shell-header"),
    ("viewer", "?mode=tablet", 1024, 768, ".shell-header"),
    ("dispatcher", "?mode=tablet", 1024, 768, ".shell-header"),
    ("leader", "?mode=tablet", 1024, 768, ".shell-header"),
    ("admin", "?mode=tablet", 1024, 768, ".shell-header"),
    ("grid_worker", "worker?worker=1", 390, 844, ".worker-header"),
]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(("role", "path", "width", "height", "header"), HEADERS)
def test_no_header_wraps_at_the_tablet_size(
    fit_cockpit, open_page, role, path, width, height, header, lang
):
    sep = "&" if "?" in path else "?"
    page = open_page(f"{fit_cockpit.url}{path}{sep}lang={lang}", width, height, role=role)
    page.wait_for_selector(header)
    if header == ".shell-header":
        # The clock and the freshness line are the header's widest words once they are drawn.
        wait_for_text(page, "#clock", lambda t: len(t) >= 16)
        wait_for_text(page, "#data-freshness", lambda t: fresh(t, lang), 60)
    wrapped = page.evaluate(WRAPPED, header)
    cut = [
        f"{selector}: {problem} [{text}]"
        for selector, problem, text in page.evaluate(OFFENDERS, [False, header, header])
    ]
    screenshot(page, f"header-{role}-{lang}")
    assert wrapped == [], f"{header} wraps: {wrapped}"
    assert cut == [], "\n".join(cut)


@pytest.fixture(scope="module")
def phone_worker(fit_cockpit) -> int:
    """Return a grid worker with a dispatched case and a revisit, so the phone page has tasks."""
    from tests.browser.test_cases_worker import dispatch_to_a_worker

    return dispatch_to_a_worker(fit_cockpit)[1]


# Each task card and the header: what the phone shows must sit inside them and the screen's width.
PHONE_BOXES = ".worker-header, .worker-task, .worker-where"


@pytest.mark.parametrize("lang", LANGS)
def test_nothing_is_cut_off_on_the_phone(fit_cockpit, open_page, phone_worker, lang):
    page = open_page(f"{fit_cockpit.url}worker?worker={phone_worker}&lang={lang}", 390, 844)
    page.locator(".worker-task").first.wait_for(timeout=30_000)
    # The phone page scrolls down by design: only the wall's "outside the screen" rule is off.
    listed = [
        f"{selector}: {problem} [{text}]"
        for selector, problem, text in page.evaluate(OFFENDERS, [False, PHONE_BOXES, "body"])
    ]
    screenshot(page, f"fit-phone-{lang}")
    assert page.locator(".worker-task").count() >= 2
    assert listed == [], "\n".join(listed)
