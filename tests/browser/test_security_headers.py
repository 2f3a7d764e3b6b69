"""Check in Chromium that the wall, the tablet and the sign-in page run under the cockpit's CSP."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from werkzeug.serving import make_server

from cockpit.domain.kinds import AlertLevel
from cockpit.rules.results import AlertCandidate, Reason, condition_key
from tests.browser.conftest import PASSWORD, free_port, screenshot, wait_for_js

pytestmark = pytest.mark.browser

# Recorded before any script of the page runs, so an early violation is not missed.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => window.__cspViolations.push(
  [e.violatedDirective, e.blockedURI, e.sourceFile, e.lineNumber, e.sample].join(" | ")));
"""
MARKER = "安全策略测试烟感报警"
MAP_DRAWN = """() => { const r = window.cockpitMap && window.cockpitMap.registry;
  return !!r && r.buildings.size > 0 && r.deviceGroups.size > 0 && Object.keys(r.colours).length > 0; }"""


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[SimpleNamespace]:
    """Serve the real app on the Changbai street in this process, so the test can raise alerts."""
    from app import create_app
    from cockpit.runtime import Runtime
    from cockpit.settings import Settings

    port = free_port()
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("csp-cockpit"),
        database_url=None,
        redis_url=None,
        mqtt_url=None,
        scale="changbai",
        refresh_ms=500,
        live_poll_seconds=0.5,
        port=port,
    )
    runtime = Runtime.open(settings)
    app = create_app(settings, runtime)
    server = make_server("127.0.0.1", port, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while runtime.live.get_view("map_geometry") is None and time.monotonic() < deadline:
        time.sleep(0.25)
    yield SimpleNamespace(url=url, runtime=runtime)
    server.shutdown()
    runtime.stop()


def watched_page(browser):
    """Return a page in a fresh context that records console errors and CSP violations."""
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    page.errors = []
    page.on("console", lambda msg: page.errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    return page


def assert_clean(page) -> None:
    """Fail with what the page reported if it logged an error or met the CSP."""
    violations = page.evaluate("() => window.__cspViolations")
    assert violations == [], f"CSP violations: {violations}"
    assert page.errors == [], f"console errors: {page.errors}"


def raise_red_alert(runtime, marker: str) -> None:
    """Raise a red smoke alert on the street's first smoke detector, as a rule would."""
    from sqlalchemy import select

    from cockpit.store import schema

    with runtime.engine.connect() as conn:
        device = conn.execute(
            select(schema.Device.id).where(schema.Device.kind == "smoke").limit(1)
        ).scalar_one()
    candidate = AlertCandidate(
        kind="fire.smoke",
        level=AlertLevel.RED,
        object_type="device",
        object_id=device,
        condition_key=condition_key("fire.smoke", "device", device, "csp-test"),
        title_zh=marker,
        title_en="CSP test smoke alarm",
        reasons=(Reason("smoke", "烟雾浓度超限", "Smoke above the limit", 0.2, 0.1),),
    )
    runtime.alerts.raise_candidate(candidate, runtime.clock.now())


def test_wall_tablet_and_sign_in_run_under_the_csp(live, browser):
    login = watched_page(browser)
    answer = login.goto(live.url + "login?lang=en")
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self' 'sha256-" in policy and "unsafe-eval" not in policy
    assert login.evaluate("() => document.styleSheets[0].cssRules.length") > 0, "login.css applies"
    assert_clean(login)

    wall = watched_page(browser)
    token = live.runtime.accounts.add("csp-wall", "kiosk")
    answer = wall.goto(f"{live.url}kiosk?token={token}")
    assert wall.url.endswith("/?mode=wall&lang=zh"), wall.url
    headers = answer.headers
    assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "strict-transport-security" not in headers, "plain HTTP in development: no HSTS"
    wait_for_js(wall, MAP_DRAWN)
    wait_for_js(
        wall, "() => document.querySelector('#panel-governance-body').innerText.length > 10"
    )
    raise_red_alert(live.runtime, MARKER)
    wait_for_js(
        wall, f"() => document.querySelector('#alert-ticker').innerText.includes('{MARKER}')"
    )
    wait_for_js(wall, "() => document.querySelector('.cm-alert-red') !== null")
    screenshot(wall, "csp-wall")
    assert_clean(wall)

    tablet = watched_page(browser)
    live.runtime.accounts.add("csp-dispatcher", "dispatcher", password=PASSWORD)
    signed_in = tablet.request.post(
        live.url + "login",
        form={"username": "csp-dispatcher", "password": PASSWORD},
        max_redirects=0,
    )
    assert signed_in.status == 302
    tablet.goto(live.url + "?mode=tablet")
    wait_for_js(tablet, MAP_DRAWN)
    wait_for_js(
        tablet, "() => document.querySelector('#panel-governance-body').innerText.length > 10"
    )
    wait_for_js(
        tablet, f"() => document.querySelector('#alert-ticker').innerText.includes('{MARKER}')"
    )
    # A tap asks the server for the alert's card: a one-output callback round trip.
    tablet.locator(".ticker-item", has_text=MARKER).first.dispatch_event("click")
    wait_for_js(
        tablet, f"() => document.querySelector('#card-overlay').innerText.includes('{MARKER}')"
    )
    screenshot(tablet, "csp-tablet")
    assert_clean(tablet)

    # The recorder is live: a script slipped into the page is refused and reported.
    tablet.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.__injected = 1'; document.body.appendChild(s); }"
    )
    wait_for_js(tablet, "() => window.__cspViolations.length > 0", 5)
    assert tablet.evaluate("() => window.__injected") is None

    missing = tablet.goto(live.url + "no-such-page")
    assert missing.status == 404
    for page in (login, wall, tablet):
        page.context.close()
