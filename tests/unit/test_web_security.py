"""Check the web hardening: headers and CSP, 404 for unknown paths, plain errors, safe settings."""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import dash
import pytest
from dash import Input, Output, dcc, html
from hypothesis import given
from hypothesis import strategies as st

from cockpit.settings import DEFAULT_SECRET_KEY, Settings
from cockpit.web.security import (
    APP_LOAD_ERROR,
    InsecureSettingsError,
    check_secret_key,
    harden,
    tile_source,
)

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "security-test-pass"
GOOD_KEY = "k" * 48
UNKNOWN = (
    "/nonexistent",
    "/worker/../x",
    "/worker/x",
    "/admin.php",
    "/.env",
    "/wp-login.php",
    "/_dash-nothing",
    "/cockpit",
)
# Dash's index keeps an IE warning inside <!--[if IE]> ... <![endif]-->: a comment, never run.
HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
INLINE_SCRIPT = re.compile(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", re.S)


def directives(policy: str) -> dict[str, list[str]]:
    """Return a CSP header's directives as {name: [sources]}."""
    parts = (part.split() for part in policy.split(";") if part.strip())
    return {words[0]: words[1:] for words in parts}


def sha256_source(script: str) -> str:
    """Return the CSP hash source of an inline script's text."""
    digest = hashlib.sha256(script.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


@pytest.fixture(scope="session")
def cockpit(tmp_path_factory) -> Iterator[SimpleNamespace]:
    """Build the real app once (seeding a Changbai street) with a dispatcher signed in."""
    from app import create_app
    from cockpit.runtime import Runtime

    settings = Settings(
        simulate=False,
        embedded_worker=False,
        scale="changbai",
        data_dir=tmp_path_factory.mktemp("security"),
    )
    runtime = Runtime.open(settings)
    app = create_app(settings, runtime)
    runtime.accounts.add("sec-dispatcher", "dispatcher", password=PASSWORD)
    signed_in = app.server.test_client()
    answer = signed_in.post("/login", data={"username": "sec-dispatcher", "password": PASSWORD})
    assert answer.status_code == 302
    yield SimpleNamespace(app=app, runtime=runtime, signed_in=signed_in, login=answer)
    runtime.stop()


def small_app(settings: Settings, **dash_options) -> dash.Dash:
    """Return a two-component Dash app (no pages) with a callback that fails, hardened."""
    app = dash.Dash(__name__, **dash_options)
    app.layout = html.Div([dcc.Input(id="inp"), html.Div(id="out")])

    @app.callback(Output("out", "children"), Input("inp", "value"))
    def echo(value):
        if value == "boom":
            raise RuntimeError("secret detail 0xDEADBEEF in the exception")
        return f"got {value}"

    harden(app, settings)
    return app


def callback_body(value: str) -> dict:
    """Return the body Dash's renderer posts when #inp's value changes."""
    return {
        "output": "out.children",
        "outputs": {"id": "out", "property": "children"},
        "inputs": [{"id": "inp", "property": "value", "value": value}],
        "changedPropIds": ["inp.value"],
    }


@pytest.fixture
def dev(tmp_path) -> Settings:
    """Return development settings."""
    return Settings(simulate=False, embedded_worker=False, data_dir=tmp_path)


# --- headers ---------------------------------------------------------------------------------


def test_every_answer_carries_the_security_headers(cockpit):
    anonymous = cockpit.app.server.test_client()
    for response in (
        anonymous.get("/login"),
        anonymous.get("/"),  # the redirect to sign in
        anonymous.get("/nonexistent"),
        cockpit.signed_in.get("/?mode=tablet"),
        cockpit.signed_in.get("/healthz"),
    ):
        headers = response.headers
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert "camera=()" in headers["Permissions-Policy"]
        assert "Strict-Transport-Security" not in headers, "no HSTS without Secure cookies"
        policy = directives(headers["Content-Security-Policy"])
        assert policy["default-src"] == ["'self'"]
        assert policy["connect-src"] == ["'self'"]
        assert policy["img-src"] == ["'self'", "data:"]
        assert policy["frame-ancestors"] == ["'none'"]
        assert policy["object-src"] == ["'none'"]
        assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
        assert policy["script-src"][0] == "'self'"
        assert all(s.startswith("'sha256-") for s in policy["script-src"][1:])
        assert "unsafe-eval" not in headers["Content-Security-Policy"]


def test_the_csp_admits_every_inline_script_dash_serves_and_nothing_else(cockpit):
    page = cockpit.signed_in.get("/?mode=tablet")
    assert page.status_code == 200
    allowed = directives(page.headers["Content-Security-Policy"])["script-src"]
    assert set(cockpit.app.csp_hashes()) <= set(allowed)
    inline = [
        m["body"]
        for m in INLINE_SCRIPT.finditer(HTML_COMMENT.sub("", page.text))
        if "src=" not in m["attrs"] and "application/json" not in m["attrs"]
    ]
    assert inline, "Dash's index has its renderer inline"
    for script in inline:
        assert sha256_source(script) in allowed, script[:80]
    assert "'unsafe-inline'" not in allowed


def test_talisman_leaves_the_session_cookie_as_identity_set_it(cockpit):
    config = cockpit.app.server.config
    assert config["SESSION_COOKIE_SECURE"] is False, "plain HTTP in development"
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax" and config["SESSION_COOKIE_HTTPONLY"]
    cookie = cockpit.login.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    # Talisman's hook would force Secure on the first request; one more request to be sure.
    cockpit.signed_in.get("/healthz")
    assert config["SESSION_COOKIE_SECURE"] is False


def test_hsts_only_on_https_and_only_with_secure_cookies(tmp_path):
    production = Settings(data_dir=tmp_path, environment="production", secret_key=GOOD_KEY)
    client = small_app(production).server.test_client()
    secure = client.get("/", base_url="https://cockpit.example")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    plain = client.get("/")
    assert plain.status_code == 200, "no redirect to HTTPS: the proxy terminates TLS"
    assert "Strict-Transport-Security" not in plain.headers


def test_a_tile_server_is_admitted_for_images_only(tmp_path):
    settings = Settings(
        data_dir=tmp_path, tile_url="https://{s}.tiles.street.example/{z}/{x}/{y}.png"
    )
    response = small_app(settings).server.test_client().get("/")
    policy = directives(response.headers["Content-Security-Policy"])
    assert policy["img-src"] == ["'self'", "data:", "https://*.tiles.street.example"]
    assert policy["connect-src"] == ["'self'"] and policy["default-src"] == ["'self'"]


@pytest.mark.parametrize(
    ("url", "source"),
    [
        (None, None),
        ("", None),
        ("/tiles/{z}/{x}/{y}.png", None),
        ("http://10.1.2.3:8080/tiles/{z}/{x}/{y}.png", "http://10.1.2.3:8080"),
        ("https://t{s}.tianditu.gov.cn/vec_w/wmts?x={x}", "https://*.tianditu.gov.cn"),
        ("https://{s}.tile.osm.org/{z}/{x}/{y}.png", "https://*.tile.osm.org"),
        ("https://user:pw@tiles.example/{z}", "https://tiles.example"),
        ("https://{s}.example/{z}", None),  # a wildcard over a whole top-level domain: no
    ],
)
def test_tile_source_names_the_tile_host(url, source):
    assert tile_source(url) == source


@given(st.text(max_size=80))
def test_tile_source_never_breaks_out_of_its_directive(url):
    source = tile_source(url)
    if source is not None:
        assert not any(c in source for c in " \t\r\n;,'\"{}")
        assert source.count("*") <= 1 and "'" not in source


# --- unknown paths ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", UNKNOWN)
def test_unknown_paths_are_404_signed_in_or_not(cockpit, path):
    for client in (cockpit.signed_in, cockpit.app.server.test_client()):
        response = client.get(path)
        assert response.status_code == 404, path
        # A small page; JSON under Dash's own /_dash- prefix, where the renderer reads answers.
        expected = "application/json" if path.startswith("/_dash-") else "text/html"
        assert response.mimetype == expected and len(response.data) < 400
        assert b"<script" not in response.data and b"_dash-config" not in response.data
    assert cockpit.signed_in.post(path).status_code == 404


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.~%", min_size=1, max_size=30))
def test_any_path_under_no_route_is_404(cockpit, segment):
    assert cockpit.signed_in.get(f"/zz{segment}").status_code == 404


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/", 200),
        ("/?mode=tablet&lang=en", 200),
        ("/worker", 200),
        ("/worker/", 200),
        ("/login", 200),
        ("/healthz", 200),
        ("/_dash-layout", 200),
        ("/_dash-dependencies", 200),
        ("/_favicon.ico", 200),
        ("/favicon.ico", 200),
        ("/assets/login.css", 200),
        ("/open311/v2/services.json", 200),
        ("/kiosk", 401),  # known, without a token
    ],
)
def test_known_paths_still_serve(cockpit, path, status):
    assert cockpit.signed_in.get(path).status_code == status


def test_dash_component_suites_still_serve(cockpit):
    page = cockpit.signed_in.get("/?mode=tablet").text
    suites = re.findall(r'src="(/_dash-component-suites/[^"]+)"', page)
    assert suites
    for src in suites:
        assert cockpit.signed_in.get(src).status_code == 200, src


def test_a_route_added_after_hardening_is_known(dev):
    app = small_app(dev)
    app.server.add_url_rule("/public/probe", "probe", lambda: "here")
    client = app.server.test_client()
    assert client.get("/public/probe").text == "here"
    assert client.get("/public/other").status_code == 404
    assert client.get("/").status_code == 200, "the index stays"


# --- errors ----------------------------------------------------------------------------------


def test_a_failing_callback_answers_plain_json_and_logs_the_trace_once(dev, caplog):
    client = small_app(dev).server.test_client()
    assert client.post("/_dash-update-component", json=callback_body("hi")).status_code == 200
    with caplog.at_level(logging.ERROR):
        failed = client.post("/_dash-update-component", json=callback_body("boom"))
    assert failed.status_code == 500 and failed.is_json
    assert failed.get_json() == {"error": "internal server error"}
    assert b"DEADBEEF" not in failed.data and b"Traceback" not in failed.data
    traced = [r for r in caplog.records if r.exc_info]
    assert len(traced) == 1 and "DEADBEEF" in str(traced[0].exc_info[1])


def test_a_failing_route_answers_a_plain_page(dev, caplog):
    app = small_app(dev)

    def broken():
        raise ValueError("connection string postgres://secret@db")

    app.server.add_url_rule("/public/broken", "broken", broken)
    with caplog.at_level(logging.ERROR):
        failed = app.server.test_client().get("/public/broken")
    assert failed.status_code == 500 and failed.mimetype == "text/html"
    assert b"secret" not in failed.data and b"Traceback" not in failed.data
    assert len([r for r in caplog.records if r.exc_info]) == 1


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        "{}",
        '{"output": "nope.children"}',
        '{"output": "out.children", "inputs": "x"}',
        '{"output": ["out.children"]}',
        '{"output": "out.children", "outputs": "out"}',
        "null",
    ],
)
def test_a_malformed_callback_body_is_400_without_a_trace(dev, caplog, body):
    client = small_app(dev).server.test_client()
    with caplog.at_level(logging.ERROR):
        answer = client.post("/_dash-update-component", data=body, content_type="application/json")
    assert answer.status_code == 400 and answer.is_json
    assert b"Traceback" not in answer.data and b"Error" not in answer.data
    assert not [r for r in caplog.records if r.exc_info], "junk is no incident"


def test_a_malformed_callback_body_on_the_cockpit_is_400(cockpit):
    for body in ("not json", "{}", '{"output": "x"}', "[1]"):
        answer = cockpit.signed_in.post(
            "/_dash-update-component", data=body, content_type="application/json"
        )
        assert answer.status_code == 400 and b"Traceback" not in answer.data
    anonymous = cockpit.app.server.test_client().post("/_dash-update-component", data="{}")
    assert anonymous.status_code == 401, "the sign-in gate still answers first"


def test_a_deliberate_4xx_keeps_its_own_answer(cockpit):
    # The Open311 blueprint answers its errors in the standard's shape; hardening keeps that.
    answer = cockpit.signed_in.get("/open311/v2/requests/999999999.json")
    assert answer.status_code == 404 and answer.is_json


def test_the_sign_in_rate_limit_still_answers_with_its_page(cockpit):
    client = cockpit.app.server.test_client()
    form = {"username": "sec-guesser", "password": "wrong-guess-1"}
    answers = [client.post("/login?lang=en", data=form).status_code for _ in range(6)]
    assert answers == [401] * 5 + [429]
    limited = client.post("/login?lang=en", data=form)
    assert limited.status_code == 429 and "Too many tries" in limited.text
    assert limited.headers["X-Frame-Options"] == "DENY"


# --- settings --------------------------------------------------------------------------------


def test_production_refuses_the_default_or_a_short_secret_key(tmp_path):
    from app import create_app

    with pytest.raises(InsecureSettingsError, match=r"secrets\.token_urlsafe"):
        create_app(Settings(data_dir=tmp_path, environment="production"))
    assert not (tmp_path / "cockpit.db").exists(), "refused before any store was opened"
    with pytest.raises(InsecureSettingsError, match="31 characters"):
        check_secret_key(Settings(data_dir=tmp_path, environment="production", secret_key="s" * 31))
    check_secret_key(Settings(data_dir=tmp_path, environment="production", secret_key="s" * 32))
    check_secret_key(Settings(data_dir=tmp_path, secret_key=DEFAULT_SECRET_KEY))  # development


def test_python_app_py_exits_with_the_message_not_a_traceback(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("COCKPIT_")}
    env.update(COCKPIT_ENVIRONMENT="production", COCKPIT_DATA_DIR=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert "COCKPIT_SECRET_KEY=$(python -c" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert not (tmp_path / "cockpit.db").exists()


def test_gunicorns_factory_stops_the_master_with_the_message(tmp_path, monkeypatch, capsys):
    from app import create_server

    for name in [k for k in os.environ if k.startswith("COCKPIT_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("COCKPIT_ENVIRONMENT", "production")
    monkeypatch.setenv("COCKPIT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COCKPIT_SECRET_KEY", "too-short")
    with pytest.raises(SystemExit) as exited:
        create_server()
    assert exited.value.code == APP_LOAD_ERROR
    assert "at least 32" in capsys.readouterr().err


# --- proxy -----------------------------------------------------------------------------------


def client_view(app: dash.Dash):
    """Return a test client of the app with a route telling the address and scheme it sees."""
    import flask

    app.server.add_url_rule(
        "/public/whoami",
        "whoami",
        lambda: f"{flask.request.remote_addr} {flask.request.scheme} {flask.request.host}",
    )
    return app.server.test_client()


FORWARDED = {
    "X-Forwarded-For": "203.0.113.9",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "cockpit.street.example",
}


def test_behind_one_proxy_the_client_address_and_scheme_are_the_clients(tmp_path):
    client = client_view(small_app(Settings(data_dir=tmp_path, proxy_hops=1)))
    seen = client.get("/public/whoami", headers=FORWARDED).text
    assert seen == "203.0.113.9 https cockpit.street.example"


def test_without_proxy_hops_forwarded_headers_are_not_trusted(dev):
    seen = client_view(small_app(dev)).get("/public/whoami", headers=FORWARDED).text
    assert seen == "127.0.0.1 http localhost"
