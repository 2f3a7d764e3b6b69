"""Harden the web server: security headers, 404 for unknown paths, no traces, safe settings.

`harden(app, settings)` (called by create_app right after install_identity) adds:
- flask-talisman's headers on every response: a Content-Security-Policy whose script-src is
  'self' plus the hashes of Dash's own inline scripts (no 'unsafe-inline', no 'unsafe-eval'),
  frame-ancestors 'none' and X-Frame-Options DENY, nosniff, Referrer-Policy, a Permissions-Policy,
  and HSTS on HTTPS requests when cookies are Secure; it never redirects to HTTPS (the reverse
  proxy terminates TLS) and leaves the session cookie's flags to cockpit/web/identity.py;
- 404 for any path that is neither a registered Dash page nor a real Flask route (Dash's
  catch-all would answer every path with its index page);
- plain error answers (JSON on Dash's own routes) with no exception text; Flask logs the trace;
- 400 for a callback request that is not shaped like one, before Dash trips over it;
- werkzeug's ProxyFix when settings.proxy_hops > 0.
`check_secret_key(settings)` refuses the shipped or a short secret key in production.
"""

from __future__ import annotations

import html
import pkgutil
import sys
from urllib.parse import urlparse

import dash
import flask
from flask_talisman import Talisman
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.middleware.proxy_fix import ProxyFix

from cockpit.settings import DEFAULT_SECRET_KEY, Settings

MIN_SECRET_KEY_CHARS = 32
HOW_TO_SET_KEY = (
    'COCKPIT_SECRET_KEY=$(python -c "import secrets; print(secrets.token_urlsafe(48))") '
    "(the same value for every web worker)"
)
HSTS_SECONDS = 365 * 24 * 3600
# Nothing on the cockpit's screens uses these; a script slipped in cannot ask for them either.
PERMISSIONS_POLICY = {
    "browsing-topics": "()",
    "camera": "()",
    "microphone": "()",
    "geolocation": "()",
    "payment": "()",
    "usb": "()",
}
# gunicorn's "App failed to load" status: its master stops instead of respawning workers forever.
APP_LOAD_ERROR = 4
CALLBACK_LISTS = ("inputs", "state", "changedPropIds")


class InsecureSettingsError(RuntimeError):
    """Refuse to serve with settings that would make sessions forgeable."""


def check_secret_key(settings: Settings) -> None:
    """Raise InsecureSettingsError when production runs with the shipped or a short secret key."""
    if settings.environment != "production":
        return
    key = settings.secret_key
    if key == DEFAULT_SECRET_KEY:
        raise InsecureSettingsError(
            "COCKPIT_ENVIRONMENT=production refuses the shipped secret key: anyone could sign "
            f"a session cookie with it. Set a long random one, e.g. {HOW_TO_SET_KEY}."
        )
    if len(key) < MIN_SECRET_KEY_CHARS:
        raise InsecureSettingsError(
            f"COCKPIT_SECRET_KEY has {len(key)} characters; production needs at least "
            f"{MIN_SECRET_KEY_CHARS}. Set a long random one, e.g. {HOW_TO_SET_KEY}."
        )


def exit_if_insecure(settings: Settings, status: int = 1) -> None:
    """Print why the settings are refused and exit with the status, instead of a traceback."""
    try:
        check_secret_key(settings)
    except InsecureSettingsError as refused:
        print(f"cockpit: {refused}", file=sys.stderr, flush=True)
        raise SystemExit(status) from None


def harden(app: dash.Dash, settings: Settings) -> None:
    """Add the security headers, the 404 and error answers and the proxy fix to the app."""
    check_secret_key(settings)
    server = app.server
    if settings.proxy_hops > 0:
        hops = settings.proxy_hops
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    _install_headers(app, settings)
    _install_not_found(app)
    _install_error_answers(app)


def content_security_policy(script_hashes: list[str], tile_url: str | None) -> dict[str, str]:
    """Return the CSP for the cockpit: its own origin only, plus the tile host when one is set."""
    images = ["'self'", "data:"]
    tile_host = tile_source(tile_url)
    if tile_host:
        images.append(tile_host)
    return {
        "default-src": "'self'",
        "script-src": " ".join(["'self'", *script_hashes]),
        # dash-renderer, dcc and dash-leaflet add <style> elements at run time (32 refusals
        # on the wall without it): styles only, scripts stay hash-pinned.
        "style-src": "'self' 'unsafe-inline'",
        "img-src": " ".join(images),
        "connect-src": "'self'",
        "font-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }


def tile_source(tile_url: str | None) -> str | None:
    """Return the CSP source of a tile URL template's host ({s}. becomes *.), None if local."""
    if not tile_url:
        return None
    parsed = urlparse(tile_url.strip())
    host = parsed.netloc.rpartition("@")[2]
    if not host:
        return None  # a path on this server: 'self' covers it
    if "{" in host:
        # Leaflet fills {s} (a.tile…, b.tile…): CSP allows a wildcard only as the leftmost label.
        labels = host.split(".")
        last_template = max(i for i, part in enumerate(labels) if "{" in part)
        rest = labels[last_template + 1 :]
        if len(rest) < 2:
            return None  # too little left to name a host safely
        host = ".".join(["*", *rest])
    if any(c in host for c in " ;,'\"{}"):
        return None
    return f"{parsed.scheme}://{host}" if parsed.scheme in ("http", "https") else host


def _install_headers(app: dash.Dash, settings: Settings) -> None:
    """Set Talisman's headers and keep the CSP's script hashes in step with Dash's scripts."""
    server = app.server
    talisman = Talisman(
        server,
        # TLS ends at the reverse proxy; the web worker itself only ever speaks HTTP.
        force_https=False,
        frame_options="DENY",
        # Sent on HTTPS requests only (directly or as the proxy says, see proxy_hops); browsers
        # ignore it over HTTP. Not for subdomains: a street's sibling hosts are not ours to bind.
        strict_transport_security=settings.cookies_secure,
        strict_transport_security_max_age=HSTS_SECONDS,
        strict_transport_security_include_subdomains=False,
        content_security_policy=content_security_policy(app.csp_hashes(), settings.tile_url),
        # Cross-origin requests (only tiles) get the origin alone, never a path or query;
        # tile services that admit sites by their Referer domain keep working.
        referrer_policy="strict-origin-when-cross-origin",
        permissions_policy=PERMISSIONS_POLICY,
        # identity.py owns the session cookie's flags: Talisman would force Secure on plain
        # HTTP development servers (nobody could sign in) and reset SameSite.
        session_cookie_secure=False,
        session_cookie_http_only=server.config.get("SESSION_COOKIE_HTTPONLY", True),
        session_cookie_samesite=server.config.get("SESSION_COOKIE_SAMESITE", "Lax"),
        x_content_type_options=True,
    )
    held = {"hashes": tuple(app.csp_hashes())}

    # Registered after Talisman's, so it runs before Talisman writes the header (Flask runs
    # after_request functions last-registered first).
    @server.after_request
    def _current_script_hashes(response: flask.Response) -> flask.Response:
        """Put the hashes of Dash's inline scripts, as they are now, into the CSP."""
        # Dash adds inline scripts up to its first request (the pages router adds one then).
        hashes = tuple(app.csp_hashes())
        if hashes != held["hashes"]:
            held["hashes"] = hashes
            talisman.content_security_policy = content_security_policy(
                list(hashes), settings.tile_url
            )
        return response


def _install_not_found(app: dash.Dash) -> None:
    """Answer 404 for paths only Dash's catch-all would have served."""
    server = app.server
    catch_all = app.config.routes_pathname_prefix + "<path:path>"
    # Browsers ask every page's origin for /favicon.ico (the sign-in page names no icon); the
    # catch-all used to answer it, so it gets Dash's icon rather than a 404 in every console.
    icon = pkgutil.get_data("dash", "favicon.ico")
    server.add_url_rule(
        "/favicon.ico",
        "favicon",
        lambda: flask.Response(
            icon, mimetype="image/x-icon", headers={"Cache-Control": "public, max-age=86400"}
        ),
    )

    # A URL value preprocessor runs before every before_request function, the sign-in gate
    # included: an unknown path is 404 for everyone rather than "sign in first".
    @server.url_value_preprocessor
    def _unknown_paths(endpoint: str | None, _values: dict | None) -> None:
        """Raise 404 for a path no page and no real route serves."""
        if endpoint == catch_all and not _is_page(app, flask.request.path):
            raise NotFound()
        refused = flask.request.routing_exception
        if endpoint is None and refused is not None:
            # POST /admin.php: only the catch-all knows the path, and it is no page either.
            if isinstance(refused, MethodNotAllowed) and _only_catch_all(app, catch_all):
                raise NotFound()
            raise refused


def _only_catch_all(app: dash.Dash, catch_all: str) -> bool:
    """Tell whether the request's path is matched by nothing but Dash's catch-all for GET."""
    adapter = app.server.url_map.bind_to_environ(flask.request.environ)
    try:
        endpoint, _ = adapter.match(method="GET")
    except HTTPException:
        return False
    return endpoint == catch_all and not _is_page(app, flask.request.path)


def _is_page(app: dash.Dash, path: str) -> bool:
    """Tell whether the path is a registered Dash page (a trailing slash is the same page)."""
    wanted = app.strip_relative_path(path)
    for page in dash.page_registry.values():
        if app.strip_relative_path(page.get("path") or "") == wanted:
            return True
    return False


def _install_error_answers(app: dash.Dash) -> None:
    """Answer errors plainly: no exception text, JSON on Dash's routes; Flask logs the trace."""
    server = app.server
    dash_prefix = app.config.routes_pathname_prefix + "_dash-"
    update = app.config.routes_pathname_prefix + "_dash-update-component"

    def on_dash_route() -> bool:
        """Tell whether the request is for one of Dash's own /_dash- routes."""
        return flask.request.path.startswith(dash_prefix)

    # Flask logs an unhandled exception once (app.log_exception) and then hands this handler an
    # InternalServerError, so the trace stays in the server's log and the answer stays plain.
    @server.errorhandler(HTTPException)
    def _plain_error(exc: HTTPException):
        """Answer an HTTP error with its status and name only."""
        if exc.response is not None:
            return exc.response  # a response someone built on purpose (e.g. a rate limit's)
        code = exc.code or 500
        if on_dash_route():
            return _json_error(code, exc.name)
        if code in (404, 405) or code >= 500:
            response = _plain_page(code, exc.name)
            if code == 405 and getattr(exc, "valid_methods", None):
                response.headers["Allow"] = ", ".join(exc.valid_methods)
            return response
        return exc  # a deliberate 4xx keeps the description its route wrote

    @server.before_request
    def _callback_shape() -> flask.Response | None:
        """Refuse a callback request that is not shaped like one with 400."""
        # Dash indexes the body without looking; junk would be a 500 and a trace in the log.
        if flask.request.path != update or flask.request.method != "POST":
            return None
        if not _looks_like_callback(flask.request.get_json(silent=True), app.callback_map):
            return _json_error(400, "not a callback request")
        return None


def _looks_like_callback(body: object, callbacks: dict) -> bool:
    """Tell whether a body has the shape Dash's dispatcher indexes into."""
    if not isinstance(body, dict):
        return False
    output = body.get("output")
    if not isinstance(output, str) or output not in callbacks:
        return False
    # One output comes as an object, several as a list of them.
    if not isinstance(body.get("outputs", []), list | dict):
        return False
    return all(isinstance(body.get(name, []), list) for name in CALLBACK_LISTS)


def _json_error(code: int, name: str) -> flask.Response:
    """Return a small JSON error answer."""
    response = flask.jsonify({"error": name.lower()})
    response.status_code = code
    return response


def _plain_page(code: int, name: str) -> flask.Response:
    """Return a small HTML page naming the status, with no script and no detail."""
    title = html.escape(f"{code} {name}")
    body = (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{title}</title></head>\n<body><h1>{title}</h1>"
        '<p><a href="/">/</a></p></body></html>\n'
    )
    return flask.Response(body, status=code, mimetype="text/html")
