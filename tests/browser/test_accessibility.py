"""Run axe-core on every screen in both languages: no serious or critical violation anywhere."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.browser.conftest import wait_for_js
from tests.browser.test_cases_worker import dispatch_to_a_worker
from tests.browser.test_map import map_ready
from tests.browser.test_screens import wait_for_text

pytestmark = pytest.mark.browser
# Pinned by tests/browser/axe/package-lock.json; tests/system_packages.sh runs `npm ci` there.
AXE_DIR = Path(__file__).with_name("axe")
AXE = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
LANGS = ("zh", "en")
BLOCKING = ("serious", "critical")
# Every rule runs on the whole page: none is disabled, for no element (Leaflet's markup included).
RUN_AXE = """
async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({ target: n.target.join(" "),
                                 summary: (n.failureSummary || "").replace(/\\s+/g, " ") })),
  }));
}
"""


def axe_violations(page) -> list[dict]:
    """Inject the pinned axe-core into the page and return its violations of every impact."""
    if not AXE.exists():
        pytest.fail(
            f"{AXE} is missing: run `sh tests/system_packages.sh` (npm ci --prefix {AXE_DIR})",
            pytrace=False,
        )
    page.add_script_tag(path=str(AXE))
    return page.evaluate(RUN_AXE)


def assert_no_blocking_violation(page, where: str, prepare) -> None:
    """Bring the page to its state with `prepare(page)`, run axe, fail naming every blocking one.

    A page that reloads itself meanwhile (the shell does after a long silence, which a busy
    machine can cause while axe holds the main thread) is prepared and checked again.
    """
    for attempt in range(3):
        prepare(page)
        try:
            found = axe_violations(page)
            break
        except PlaywrightError as error:
            if "Execution context was destroyed" not in str(error) or attempt == 2:
                raise
            print(f"{where}: the page reloaded while axe ran; checking again")
    blocking = [v for v in found if v["impact"] in BLOCKING]
    lines = [
        f"{v['id']} ({v['impact']}): {v['help']}\n    {n['target']}\n      {n['summary']}"
        for v in blocking
        for n in v["nodes"]
    ]
    if lines:
        pytest.fail(f"axe-core on {where}: {len(lines)} serious or critical\n" + "\n".join(lines))


def open_screen(open_page, url: str, width: int, height: int, **kwargs):
    """Open a page whose CSP lets the test inject axe-core (the page itself is unchanged)."""
    return open_page(url, width, height, bypass_csp=True, **kwargs)


def live_shell(lang: str):
    """Return a preparation that waits until KPIs, panels, freshness and the map show live data."""

    def prepare(page) -> None:
        """Wait for the wall's or tablet's live data."""
        wait_for_text(page, "#kpi-devices_online", lambda t: t not in ("—", "0", ""))
        word = "秒前" if lang == "zh" else "s ago"
        wait_for_text(page, "#data-freshness", lambda t: word in t)
        for name in ("governance", "enterprise", "livelihood"):
            wait_for_text(page, f"#panel-{name}-body", lambda t: len(t) > 10)
        map_ready(page)

    return prepare


def with_case_card(lang: str):
    """Return a preparation that opens the first open case's card on the tablet."""

    def prepare(page) -> None:
        """Tap the first row of the open cases and wait for its card."""
        live_shell(lang)(page)
        if not page.locator("#card-overlay .card-case").count():
            wait_for_text(page, "#panel-cases-body", lambda t: len(t) > 10)
            page.locator(".case-row").first.click()
        page.locator("#card-overlay .card-case").wait_for()
        wait_for_text(page, "#card-overlay .card-case", lambda t: len(t) > 20)

    return prepare


def with_building_card(lang: str):
    """Return a preparation that opens a building's card as a tap on its footprint does."""

    def prepare(page) -> None:
        """Fire Leaflet's own click on the first drawn building and wait for its card."""
        live_shell(lang)(page)
        if page.locator("#card-overlay .card-building").count():
            return
        building = wait_for_js(
            page,
            """() => { const r = window.cockpitMap.registry;
              for (const [id, layer] of r.buildings) {
                if (!r.map.hasLayer(layer)) continue;
                layer.fire('click', {latlng: layer.getBounds().getCenter()}, true);
                return String(id); }
              return null; }""",
        )
        card = page.locator(f"#card-overlay .card-building[data-building='{building}']")
        card.wait_for(timeout=10_000)

    return prepare


@pytest.mark.parametrize("lang", LANGS)
def test_the_wall_has_no_serious_violation(cockpit, open_page, lang):
    page = open_screen(open_page, f"{cockpit.url}?mode=wall&lang={lang}", 1920, 1080)
    assert_no_blocking_violation(page, f"the wall ({lang})", live_shell(lang))


@pytest.mark.parametrize("lang", LANGS)
def test_the_tablet_has_no_serious_violation_with_or_without_a_card(cockpit, open_page, lang):
    page = open_screen(open_page, f"{cockpit.url}?mode=tablet&lang={lang}", 1024, 768)
    assert_no_blocking_violation(page, f"the tablet ({lang})", live_shell(lang))
    assert_no_blocking_violation(page, f"the tablet's case card ({lang})", with_case_card(lang))
    page.click("#card-close")
    page.locator("#card-overlay .card-case").wait_for(state="detached")
    assert_no_blocking_violation(
        page, f"the tablet's building card ({lang})", with_building_card(lang)
    )


@pytest.mark.parametrize("lang", LANGS)
def test_the_phone_page_with_a_task_has_no_serious_violation(cockpit, open_page, lang):
    case_id, worker = dispatch_to_a_worker(cockpit)
    page = open_screen(open_page, f"{cockpit.url}worker?worker={worker}&lang={lang}", 390, 844)
    word = "数据更新于" if lang == "zh" else "Data updated"

    def with_the_task(page) -> None:
        """Wait until the dispatched task and the list's freshness show."""
        page.locator(f".worker-task[data-case='{case_id}']").wait_for(timeout=15_000)
        wait_for_text(page, "#worker-freshness", lambda t: word in t, timeout=15)

    assert_no_blocking_violation(page, f"the phone page ({lang})", with_the_task)


@pytest.mark.parametrize("lang", LANGS)
def test_the_sign_in_page_has_no_serious_violation(cockpit, open_page, lang):
    page = open_screen(open_page, f"{cockpit.url}login?lang={lang}", 390, 844, role="anonymous")
    assert_no_blocking_violation(
        page,
        f"the sign-in page ({lang})",
        lambda page: page.locator("form button[type='submit']").wait_for(),
    )
