"""Create the cockpit's Dash app; `python app.py` runs it on a simulated street with no server."""

from __future__ import annotations

import logging
import time
from functools import partial
from pathlib import Path

import dash
import flask
from dash import Dash

from callbacks import cases as case_callbacks
from callbacks import demo as demo_callbacks
from callbacks import grid_worker as worker_callbacks
from callbacks import map as map_callbacks
from callbacks import reveal as reveal_callbacks
from callbacks import shell as shell_callbacks
from cockpit.access.first_start import sign_in_notice
from cockpit.access.policy import Permission, Principal, Role, may, page_mode
from cockpit.access.views import AGGREGATE_STAND_INS, stores_by_view
from cockpit.cases.texts import CaseTexts
from cockpit.demo.shared import make_demo_rooms
from cockpit.health import DatabaseProbe, make_health_blueprint, sql_ping
from cockpit.heartbeat import worker_freshness as heartbeat_freshness
from cockpit.i18n import label, pick_language
from cockpit.logs import configure_logging, fault_summary, is_expected_fault
from cockpit.open311 import make_blueprint
from cockpit.runtime import Runtime
from cockpit.settings import Settings, load_settings_or_exit
from cockpit.viewmodels import read_view
from cockpit.web.audit_pages import make_audit_blueprint
from cockpit.web.compression import install_compression
from cockpit.web.demo_room import current_room_key, open_visitor_room
from cockpit.web.identity import (
    client_address,
    current_principal,
    install_identity,
    signed_in_again,
)
from cockpit.web.limits import make_limiter
from cockpit.web.page_language import LanguageDash
from cockpit.web.push import ViewPush, make_push_blueprint
from cockpit.web.security import APP_LOAD_ERROR, check_secret_key, exit_if_insecure, harden
from data_adapters.case_facts import CaseReader
from layouts.demo import demo_page, preparing_page, rooms_full_page
from layouts.shell import ScreenConfig, page, pick_mode

ASSETS = Path(__file__).with_name("assets")
log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Dash:
    """Return the Dash app wired to the stores; start the embedded worker and scenario if set."""
    settings = settings or Settings()
    check_secret_key(settings)  # before the runtime opens stores or starts threads
    runtime = runtime or Runtime.open(settings)
    if settings.embedded_worker:
        runtime.start_background()
    # One demo room per visitor (a key in their session cookie), each started by its visitor's
    # first ?mode=demo page and all stopped with the runtime. With Redis the rooms are shared by
    # every web worker (cockpit/demo/shared.py): whichever answers, a visitor's demo is one demo.
    demo_rooms = make_demo_rooms(
        settings, runtime.engine, runtime.live, runtime.stop_event, current_room_key
    )
    app = LanguageDash(
        __name__,
        default_language=settings.language,
        assets_folder=str(ASSETS),
        title=label("title", settings.language),
        update_title=None,
        serve_locally=True,
        use_pages=True,
        pages_folder="",
        suppress_callback_exceptions=True,
    )
    app.server.config["SECRET_KEY"] = settings.secret_key
    limiter = make_limiter(app.server, settings)
    install_identity(app.server, runtime.accounts, runtime.audit, settings, limiter)
    harden(app, settings)
    # Scripts, pages and callback JSON gzip/brotli-compressed when asked (cockpit/web/compression.py).
    install_compression(app.server)
    if not runtime.accounts.has_role(Role.ADMIN):
        log.warning("no admin account yet: add one with `cockpit users add NAME --role admin`")
    app.server.register_blueprint(
        make_blueprint(
            runtime.engine,
            runtime.ingest,
            runtime.clock,
            runtime.street_code,
            clients=settings.open311_clients,
            limiter=limiter,
            rate_limit=settings.open311_rate_limit,
            audit=runtime.audit,
        )
    )
    app.server.register_blueprint(
        make_health_blueprint(
            partial(read_view, runtime.live),
            ping_cache=runtime.live.ping,
            database=DatabaseProbe(sql_ping(runtime.engine)),
            mqtt_configured=bool(settings.mqtt_url),
            ready_after_intervals=settings.ready_after_intervals,
            default_interval_s=settings.live_poll_seconds,
        )
    )
    app.server.register_blueprint(make_audit_blueprint(runtime.audit, settings))
    # Screens are sent what changed the moment the worker publishes it (polling stays).
    watched = frozenset(shell_callbacks.REFRESHED_VIEWS) | frozenset(AGGREGATE_STAND_INS.values())
    beat = partial(
        shell_callbacks.stream_heartbeat,
        runtime.live.get_view,
        runtime.live.get_view_tails,
        settings.ready_after_intervals,
        settings.live_poll_seconds,
    )
    push = ViewPush(runtime.live, watched, runtime.stop_event, beat=beat)
    stores = partial(stores_by_view, stores=shell_callbacks.REFRESHED_VIEWS)
    app.server.register_blueprint(
        make_push_blueprint(push, current_principal, stores, again=signed_in_again)
    )

    screen = ScreenConfig(
        refresh_ms=settings.refresh_ms,
        stale_after_s=settings.stale_after_seconds,
        panel_cycle_s=settings.panel_cycle_seconds,
        ticker_s_per_item=settings.ticker_seconds_per_item,
        health_url=app.get_relative_path("/healthz/live"),
        # Until the first refresh brings the worker's own cycle: the limit by this web's settings.
        fresh_limit_s=settings.ready_after_intervals * settings.live_poll_seconds,
    )

    def serve_cockpit(lang: str | None = None, mode: str | None = None, **_query):
        """Build the page for the URL's ?lang= and ?mode= (Dash pages hand the query over)."""
        chosen = pick_language(lang, settings.language)
        principal = current_principal()
        # The role decides the screen: a kiosk asking for ?mode=tablet still gets the wall.
        shown = page_mode(principal, pick_mode(mode))
        if shown is None:
            return preparing_page(chosen, None)  # unreachable past the sign-in gate
        if shown == "demo":
            return serve_demo(chosen)
        # What the role may have, chosen as the refresh chooses it (cockpit.access.views).
        views = shell_callbacks.page_views(
            principal, partial(read_view, runtime.live), shell_callbacks.REFRESHED_VIEWS
        )
        geometry = read_view(runtime.live, "map_geometry")
        return page(
            views, geometry, chosen, shown, screen, time.time(), abilities=abilities(principal)
        )

    def serve_demo(lang: str):
        """Build the demo page from the visitor's own demo room: its street, never production's."""
        if not may(current_principal(), Permission.RUN_DEMO):
            return preparing_page(lang, text=label("demo_not_allowed", lang), retry_ms=0)
        demo = open_visitor_room(demo_rooms)
        if demo is None:
            return rooms_full_page(lang)
        if not demo.ensure_started():
            return preparing_page(lang, demo.failure)
        views = shell_callbacks.page_views(
            current_principal(), demo.read_view, shell_callbacks.REFRESHED_VIEWS
        )
        shell = page(views, demo.read_view("map_geometry"), lang, "demo", screen, time.time())
        return demo_page(shell, views["demo"], lang)

    dash.register_page(
        "cockpit", path="/", layout=serve_cockpit, title=label("title", settings.language)
    )
    reader = partial(read_view, runtime.live)
    # The phone's "data updated N s ago": the worker's heartbeat, judged on the server's clock.
    worker_freshness = partial(
        heartbeat_freshness,
        runtime.live.get_view,
        settings.ready_after_intervals,
        settings.live_poll_seconds,
    )
    dash.register_page(
        "worker",
        path="/worker",
        layout=worker_callbacks.make_layout(
            reader, settings.language, settings.refresh_ms, freshness=worker_freshness
        ),
        title=label("worker_title", settings.language),
    )
    app.layout = dash.page_container
    # The demo readers resolve the requester's own room on every call (None: no room here).
    shell_callbacks.register(
        app,
        runtime.live.get_view,
        read_demo=demo_rooms.read_raw_current,
        read_tails=runtime.live.get_view_tails,
        read_views=runtime.live.get_views,
        ready_after_intervals=settings.ready_after_intervals,
        default_interval_s=settings.live_poll_seconds,
    )
    demo_callbacks.register(
        app, demo_rooms, who=current_principal, audit=runtime.audit, source_ip=client_address
    )
    map_callbacks.register(
        app, partial(read_view, runtime.live), demo_rooms.read_view_current, who=current_principal
    )
    case_callbacks.register(
        app,
        reader,
        runtime.cases,
        settings.language,
        demo_rooms.read_view_current,
        who=current_principal,
        audit=runtime.audit,
        source_ip=client_address,
        read_case=CaseReader(runtime.engine).one,
    )
    # The case card's reported words: masked, unmasked for a while after a typed reason.
    reveal_callbacks.register(
        app,
        CaseTexts(runtime.engine),
        settings.language,
        reveal_seconds=settings.reveal_seconds,
        who=current_principal,
        audit=runtime.audit,
        source_ip=client_address,
    )
    worker_callbacks.register(
        app,
        runtime.live.get_view,
        reader,
        runtime.cases,
        who=current_principal,
        audit=runtime.audit,
        source_ip=client_address,
        freshness=worker_freshness,
    )
    return app


def abilities(principal: Principal | None) -> dict[str, bool]:
    """Return what the page may offer this principal; the server checks every tap again."""
    return {
        "act": may(principal, Permission.ACT_CASES),
        "records": may(principal, Permission.VIEW_RECORDS),
        "audit": may(principal, Permission.READ_AUDIT),
    }


def main() -> None:
    """Run the cockpit with the settings from the environment."""
    settings = load_settings_or_exit()
    configure_logging(settings)  # the one configuration of cockpit/logs.py
    exit_if_insecure(settings)
    runtime = Runtime.open(settings)
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    base_url = f"http://{host}:{settings.port}/"
    notice = sign_in_notice(runtime.accounts, base_url)
    app = create_app(settings, runtime)
    log.info("cockpit on %s", base_url)
    print("\n".join(notice), flush=True)
    app.run(host=settings.host, port=settings.port, debug=False)


def create_server() -> flask.Flask:
    """Return the WSGI server for gunicorn: `gunicorn 'app:create_server()'`."""
    settings = load_settings_or_exit(status=APP_LOAD_ERROR)
    # Without this gunicorn's workers would log nothing of the cockpit's own (the root logger has
    # no handler there); cockpit/web/gunicorn_conf.py applies the same configuration to gunicorn.
    configure_logging(settings)
    # A refused key stops gunicorn's master ("App failed to load"), not a loop of dying workers.
    exit_if_insecure(settings, status=APP_LOAD_ERROR)
    try:
        runtime = Runtime.open(settings)
    except Exception as exc:
        if not is_expected_fault(exc):
            raise
        # A store out of reach at boot: one line, and gunicorn's master stops (systemd or the
        # container's restart policy starts it again) instead of a trace per respawned worker.
        log.error("web worker cannot start: %s", fault_summary(exc))
        raise SystemExit(APP_LOAD_ERROR) from None
    server = create_app(settings, runtime).server
    log.info(
        "web worker ready: street %s, store %s, live store %s",
        runtime.street_code,
        runtime.engine.url.get_backend_name(),
        "redis" if settings.redis_url else "in-process",
    )
    return server


if __name__ == "__main__":
    main()
