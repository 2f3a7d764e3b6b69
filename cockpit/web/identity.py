"""Sign people and walls in (Flask-Login), keep their session, and gate every non-public path.

`install_identity(server, accounts, audit, settings, limiter)` adds:
- `GET/POST /login` (zh/en, large type; failed tries rate-limited per address and name),
  `POST /logout`, and `GET /kiosk?token=...` which signs a wall in for good (until its token is
  re-issued or revoked) and sends it to the wall;
- a gate in front of every other path: a page asks an anonymous browser to sign in, anything else
  (Dash's callbacks, map layers) answers 401. Public: the login page, static assets, /healthz,
  /open311/v2/ and /public/.
`current_principal()` tells any callback or endpoint who is signed in (None: nobody).
"""

from __future__ import annotations

import html
import logging
from datetime import timedelta
from urllib.parse import urlencode, urlparse

import flask
import flask_login
from flask_limiter import Limiter

from cockpit.access.accounts import Account, AccountStore
from cockpit.access.audit import FAILED, REFUSED, AuditLog
from cockpit.access.policy import Principal, Role
from cockpit.i18n import label, pick_language
from cockpit.settings import Settings

log = logging.getLogger(__name__)
PUBLIC_PREFIXES = (
    "/login",
    "/logout",
    "/kiosk",
    "/healthz",
    "/open311/",
    "/public/",
    "/assets/",
    "/_dash-component-suites/",
    "/_favicon.ico",
    "/favicon.ico",
)
PAGES = ("/", "/worker", "/worker/", "/admin/audit")
KIOSK_DAYS = 3650


# Where the server keeps its session loader, for signed_in_again().
RELOAD_USER = "cockpit_reload_user"


class SessionUser(flask_login.UserMixin):
    """Carry a signed-in account through Flask-Login; its id names the account and epoch."""

    def __init__(self, account: Account, principal: Principal) -> None:
        self.account = account
        self.principal = principal

    def get_id(self) -> str:
        """Return "<account id>:<epoch>": a re-issued secret or a role change ends old sessions."""
        return f"{self.account.id}:{self.account.session_epoch}"


def current_principal() -> Principal | None:
    """Return who is signed in on this request, or None (no session, or outside a request)."""
    if not flask.has_request_context():
        return None
    user = flask_login.current_user
    if not getattr(user, "is_authenticated", False):
        return None
    return user.principal


def signed_in_again() -> Principal | None:
    """Load the request's account afresh, as a new request would: None once its session ended.

    For a long response (a screen's push stream): the signed-in user is read once per request,
    so a stream would otherwise go on for an account deactivated or signed out meanwhile.
    """
    if not flask.has_request_context():
        return None
    user = flask_login.current_user
    load = flask.current_app.extensions.get(RELOAD_USER)
    if not getattr(user, "is_authenticated", False) or load is None:
        return None
    again = load(user.get_id())
    return again.principal if again is not None else None


def client_address() -> str | None:
    """Return the client's address as the server sees it (after the trusted proxies)."""
    return flask.request.remote_addr if flask.has_request_context() else None


def principal_of(account: Account, settings: Settings) -> Principal:
    """Return the principal an account signs in as."""
    return Principal(
        account_id=account.id,
        username=account.username,
        role=account.role,
        worker_id=account.worker_id,
        reveal_roles=settings.reveal_role_names,
    )


def install_identity(
    server: flask.Flask,
    accounts: AccountStore,
    audit: AuditLog,
    settings: Settings,
    limiter: Limiter,
) -> None:
    """Add sign-in, sessions and the gate to the Flask server."""
    server.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.cookies_secure,
        SESSION_COOKIE_NAME="cockpit_session",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_hours),
        REMEMBER_COOKIE_NAME="cockpit_wall",
        REMEMBER_COOKIE_DURATION=timedelta(days=KIOSK_DAYS),
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=settings.cookies_secure,
    )
    manager = flask_login.LoginManager()
    manager.session_protection = "basic"
    manager.init_app(server)

    @manager.user_loader
    def load_user(user_id: str) -> SessionUser | None:
        """Return the session's account if it still exists, is active and its epoch holds."""
        ident, _, epoch = (user_id or "").partition(":")
        if not ident.isdigit() or not epoch.isdigit():
            return None
        account = accounts.by_id(int(ident))
        if account is None or not account.active or account.session_epoch != int(epoch):
            return None
        return SessionUser(account, principal_of(account, settings))

    server.extensions[RELOAD_USER] = load_user

    @server.before_request
    def gate():
        """Let public paths through; send anonymous pages to sign in, refuse the rest with 401."""
        path = flask.request.path
        if path.startswith(PUBLIC_PREFIXES):
            return None
        principal = current_principal()
        if principal is not None:
            return _own_page(principal, path, settings)
        if flask.request.method == "GET" and path in PAGES:
            query = flask.request.query_string.decode()
            target = path + (f"?{query}" if query else "")
            lang = pick_language(flask.request.args.get("lang"), settings.language)
            return flask.redirect(flask.url_for("login", next=target, lang=lang))
        return flask.Response('{"error": "sign in first"}', status=401, mimetype="application/json")

    def login_page(lang: str, message: str | None, status: int = 200, name: str = ""):
        """Return the sign-in page with an optional message."""
        return flask.Response(
            render_login(lang, message, name, flask.request.args.get("next")),
            status=status,
            mimetype="text/html",
        )

    def too_many(_limit) -> flask.Response:
        """Answer a rate-limited sign-in with the page and a plain message."""
        lang = pick_language(flask.request.args.get("lang"), settings.language)
        audit.record(
            _typed_name(),
            "login",
            outcome=REFUSED,
            reason="rate limited",
            source_ip=client_address(),
        )
        return login_page(lang, label("login_limited", lang), 429, _typed_name())

    @limiter.limit(
        settings.login_rate_limit,
        key_func=lambda: f"{client_address()}|{_typed_name()}",
        methods=["POST"],
        deduct_when=lambda response: response.status_code == 401,
        on_breach=too_many,
    )
    def login():
        """Show the sign-in form, or check what was typed and start a session."""
        lang = pick_language(flask.request.args.get("lang"), settings.language)
        if flask.request.method == "GET":
            return login_page(lang, None)
        name = _typed_name()
        account = accounts.authenticate(name, flask.request.form.get("password", ""))
        if account is None:
            audit.record(name or "anonymous", "login", outcome=FAILED, source_ip=client_address())
            return login_page(lang, label("login_failed", lang), 401, name)
        flask.session.clear()
        flask.session.permanent = True
        flask_login.login_user(SessionUser(account, principal_of(account, settings)))
        audit.record(
            principal_of(account, settings).actor,
            "login",
            role=account.role.value,
            source_ip=client_address(),
        )
        return flask.redirect(safe_next(flask.request.args.get("next"), account.role, lang))

    server.add_url_rule("/login", "login", login, methods=["GET", "POST"])

    def logout():
        """End the session and show the sign-in page."""
        principal = current_principal()
        if principal is not None:
            audit.record(
                principal.actor, "logout", role=principal.role.value, source_ip=client_address()
            )
        flask_login.logout_user()
        flask.session.clear()
        lang = pick_language(flask.request.args.get("lang"), settings.language)
        return login_page(lang, label("login_signed_out", lang))

    server.add_url_rule("/logout", "logout", logout, methods=["POST"])

    def kiosk():
        """Sign a wall in with its token (remembered for years) and show the wall."""
        lang = pick_language(flask.request.args.get("lang"), settings.language)
        account = accounts.by_token(flask.request.args.get("token", ""))
        if account is None:
            audit.record("kiosk", "kiosk_login", outcome=FAILED, source_ip=client_address())
            return login_page(lang, label("login_kiosk_refused", lang), 401)
        flask.session.clear()
        flask_login.login_user(SessionUser(account, principal_of(account, settings)), remember=True)
        audit.record(
            principal_of(account, settings).actor,
            "kiosk_login",
            role=Role.KIOSK.value,
            source_ip=client_address(),
        )
        # The token leaves the address bar at once: a wall's URL is seen by everyone in the room.
        return flask.redirect(f"/?mode=wall&lang={lang}")

    # Rate-limited like a sign-in: a token guesser gets no more tries than a password guesser.
    server.add_url_rule(
        "/kiosk",
        "kiosk",
        limiter.limit(
            settings.login_rate_limit,
            deduct_when=lambda response: response.status_code == 401,
        )(kiosk),
    )


def _own_page(principal: Principal, path: str, settings: Settings):
    """Send a grid worker to their task page and a wall to the wall; None lets the request on."""
    if flask.request.method != "GET":
        return None
    lang = pick_language(flask.request.args.get("lang"), settings.language)
    mode = flask.request.args.get("mode")
    if principal.role is Role.GRID_WORKER and path == "/" and mode != "demo":
        return flask.redirect(landing(principal.role, lang))
    if principal.role is Role.KIOSK and path.rstrip("/") == "/worker":
        return flask.redirect(landing(principal.role, lang))
    return None


def _typed_name() -> str:
    """Return the account name typed in the form (lower case, at most 64 characters)."""
    return (flask.request.form.get("username") or "").strip().lower()[:64]


def landing(role: Role, lang: str) -> str:
    """Return the screen a role lands on after signing in."""
    if role is Role.GRID_WORKER:
        return f"/worker?lang={lang}"
    if role is Role.KIOSK:
        return f"/?mode=wall&lang={lang}"
    return f"/?mode=tablet&lang={lang}"


def safe_next(target: str | None, role: Role, lang: str) -> str:
    """Return the page to go to after signing in: a local path only, never another site."""
    if target:
        parsed = urlparse(target)
        local = not parsed.scheme and not parsed.netloc and "\\" not in target
        if local and target.startswith("/") and not target.startswith("//"):
            return target if parsed.path in PAGES else landing(role, lang)
    return landing(role, lang)


def render_login(lang: str, message: str | None, name: str, next_target: str | None) -> str:
    """Return the sign-in page's HTML (escaped; no script)."""
    other = "en" if lang == "zh" else "zh"
    fields = {"lang": lang, **({"next": next_target} if next_target else {})}
    query = html.escape("?" + urlencode(fields), quote=True)
    notice = f'<p class="login-message" role="alert">{html.escape(message)}</p>' if message else ""
    return f"""<!DOCTYPE html>
<html lang="{"zh-CN" if lang == "zh" else "en"}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{label("login_title", lang)}</title><link rel="stylesheet" href="/assets/login.css"></head>
<body class="login-page">
<main class="login-box">
<h1>{label("login_head", lang)}</h1>
{notice}
<form method="post" action="/login{query}">
<label for="username">{label("login_username", lang)}</label>
<input id="username" name="username" autocomplete="username" autocapitalize="none"
 value="{html.escape(name, quote=True)}" required autofocus>
<label for="password">{label("login_password", lang)}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">{label("login_submit", lang)}</button>
</form>
<p class="login-hint">{label("login_hint", lang)}</p>
<a class="login-switch" href="/login?lang={other}" lang="{"en" if other == "en" else "zh-CN"}">{label("language_switch", lang)}</a>
</main>
</body></html>"""
