"""Check sign-in over HTTP: the gate, the login form, its rate limit, kiosk links and revocation."""

from __future__ import annotations

import flask
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cockpit.access.accounts import AccountStore
from cockpit.access.audit import AuditLog, AuditQuery
from cockpit.access.policy import Role
from cockpit.settings import Settings
from cockpit.web.identity import current_principal, install_identity, safe_next
from cockpit.web.limits import make_limiter

PASSWORD = "correct-horse-1"


@pytest.fixture
def site(sqlite_engine, tmp_path):
    """Return (test client factory, accounts, audit) of a tiny app behind the cockpit's gate."""
    settings = Settings(data_dir=tmp_path, login_rate_limit="3 per minute")
    server = flask.Flask("gate-test")
    server.config["SECRET_KEY"] = "test-secret-" + "x" * 32
    accounts, audit = AccountStore(sqlite_engine), AuditLog(sqlite_engine)
    install_identity(server, accounts, audit, settings, make_limiter(server, settings))

    @server.route("/")
    def home():
        who = current_principal()
        return f"{who.actor}" if who else "nobody"

    @server.route("/_dash-update-component", methods=["POST"])
    def dash_update():
        return f"{current_principal().actor}"

    accounts.add("li", Role.DISPATCHER, password=PASSWORD)
    return server.test_client, accounts, audit


def sign_in(client, name="li", password=PASSWORD, **query):
    return client.post("/login", data={"username": name, "password": password}, query_string=query)


def test_without_a_session_pages_ask_to_sign_in_and_callbacks_get_401(site):
    client = site[0]()
    page = client.get("/?mode=tablet")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login?next=")
    assert client.post("/_dash-update-component", json={}).status_code == 401
    assert client.get("/login").status_code == 200


def test_signing_in_starts_a_session_cookie_that_is_httponly_and_samesite(site):
    client = site[0]()
    answer = sign_in(client, next="/?mode=tablet&lang=en")
    assert answer.status_code == 302 and answer.headers["Location"] == "/?mode=tablet&lang=en"
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/").text == "dispatcher:li"
    assert client.post("/_dash-update-component").text == "dispatcher:li"


def test_a_wrong_password_says_so_and_is_audited(site):
    factory, _, audit = site
    answer = sign_in(factory(), password="wrong-password", lang="en")
    assert answer.status_code == 401 and "not right" in answer.text
    assert "wrong-password" not in answer.text
    failed = audit.search(AuditQuery(action="login", outcome="failed"))
    assert [row["actor"] for row in failed] == ["li"]


def test_failed_sign_ins_are_rate_limited_with_a_clear_message(site):
    factory, _, audit = site
    client = factory()
    for _ in range(3):
        assert sign_in(client, password="nope-nope-nope").status_code == 401
    limited = sign_in(client, lang="en")  # even the right password waits now
    assert limited.status_code == 429 and "Too many tries" in limited.text
    assert audit.search(AuditQuery(action="login", outcome="refused"))
    # Another account name from the same address is counted on its own.
    assert sign_in(client, name="other", password="nope-nope-nope").status_code == 401


def test_a_kiosk_link_signs_a_wall_in_and_a_new_token_ends_it(site):
    factory, accounts, _ = site
    token = accounts.add("wall-1", Role.KIOSK)
    wall = factory()
    answer = wall.get("/kiosk", query_string={"token": token})
    assert answer.status_code == 302 and "token" not in answer.headers["Location"]
    assert wall.get("/").text == "kiosk:wall-1"
    accounts.issue_token("wall-1")
    assert wall.get("/").status_code == 302  # the old session no longer holds
    assert factory().get("/kiosk", query_string={"token": token}).status_code == 401


def test_a_role_change_or_removal_ends_the_session(site):
    factory, accounts, _ = site
    client = factory()
    sign_in(client)
    accounts.set_role("li", Role.VIEWER)
    assert client.post("/_dash-update-component").status_code == 401
    sign_in(client)
    assert client.post("/_dash-update-component").text == "viewer:li"
    accounts.remove("li")
    assert client.post("/_dash-update-component").status_code == 401


def test_a_forged_session_cookie_signs_nobody_in(site):
    client = site[0]()
    client.set_cookie("cockpit_session", "eyJfdXNlcl9pZCI6IjE6MCJ9.forged.sig")
    assert client.post("/_dash-update-component").status_code == 401


@given(
    st.one_of(
        st.sampled_from(
            [
                "//evil.example/",
                "https://evil.example/",
                "/\\evil.example",
                "javascript:alert(1)",
                "/login",
                "/admin/../worker",
            ]
        ),
        st.text(max_size=30),
    )
)
def test_after_sign_in_only_a_local_page_is_a_destination(target):
    landed = safe_next(target, Role.DISPATCHER, "en")
    assert landed.startswith("/") and not landed.startswith("//")
    assert landed.split("?")[0] in ("/", "/worker", "/worker/", "/admin/audit")
