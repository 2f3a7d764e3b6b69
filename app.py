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
from callbacks import shell as shell_callbacks
from cockpit.demo.controller import DemoController
from cockpit.health import make_health_blueprint
from cockpit.i18n import label, pick_language
from cockpit.open311 import make_blueprint
from cockpit.runtime import Runtime
from cockpit.settings import Settings
from cockpit.viewmodels import read_view
from layouts.demo import demo_page, preparing_page
from layouts.shell import ScreenConfig, page, pick_mode

ASSETS = Path(__file__).with_name("assets")


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Dash:
    """Return the Dash app wired to the stores; start the embedded worker and scenario if set."""
    settings = settings or Settings()
    runtime = runtime or Runtime.open(settings)
    if settings.embedded_worker:
        runtime.start_background()
    # One demo per web process, started by the first ?mode=demo page and stopped with the runtime;
    # under gunicorn each worker process plays its own (see cockpit/demo/controller.py).
    demo = DemoController(settings, runtime.engine, runtime.live, runtime.stop_event)
    app = Dash(
        __name__,
        assets_folder=str(ASSETS),
        title=label("title", settings.language),
        update_title=None,
        serve_locally=True,
        use_pages=True,
        pages_folder="",
        suppress_callback_exceptions=True,
    )
    app.server.config["SECRET_KEY"] = settings.secret_key
    app.server.register_blueprint(
        make_blueprint(runtime.engine, runtime.ingest, runtime.clock, runtime.street_code)
    )
    app.server.register_blueprint(make_health_blueprint(partial(read_view, runtime.live)))

    screen = ScreenConfig(
        refresh_ms=settings.refresh_ms,
        stale_after_s=settings.stale_after_seconds,
        panel_cycle_s=settings.panel_cycle_seconds,
        ticker_s_per_item=settings.ticker_seconds_per_item,
        health_url=app.get_relative_path("/healthz"),
    )

    def serve_cockpit(lang: str | None = None, mode: str | None = None, **_query):
        """Build the page for the URL's ?lang= and ?mode= (Dash pages hand the query over)."""
        chosen = pick_language(lang, settings.language)
        if pick_mode(mode) == "demo":
            return serve_demo(chosen)
        views = {name: read_view(runtime.live, name) for name in shell_callbacks.REFRESHED_VIEWS}
        geometry = read_view(runtime.live, "map_geometry")
        return page(views, geometry, chosen, pick_mode(mode), screen, time.time())

    def serve_demo(lang: str):
        """Build the demo page from the demo's own store: its street, never production's."""
        if not demo.ensure_started():
            return preparing_page(lang, demo.failure)
        views = {name: demo.read_view(name) for name in shell_callbacks.REFRESHED_VIEWS}
        shell = page(views, demo.read_view("map_geometry"), lang, "demo", screen, time.time())
        return demo_page(shell, views["demo"], lang)

    dash.register_page(
        "cockpit", path="/", layout=serve_cockpit, title=label("title", settings.language)
    )
    reader = partial(read_view, runtime.live)
    dash.register_page(
        "worker",
        path="/worker",
        layout=worker_callbacks.make_layout(reader, settings.language, settings.refresh_ms),
        title=label("worker_title", settings.language),
    )
    app.layout = dash.page_container
    shell_callbacks.register(app, runtime.live.get_view, read_demo=demo.read_raw)
    demo_callbacks.register(app, demo)
    map_callbacks.register(app, partial(read_view, runtime.live), demo.read_view)
    case_callbacks.register(app, reader, runtime.cases, settings.language, demo.read_view)
    worker_callbacks.register(app, runtime.live.get_view, reader, runtime.cases)
    return app


def main() -> None:
    """Run the cockpit with the settings from the environment."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    settings = Settings()
    app = create_app(settings)
    logging.getLogger(__name__).info("cockpit on http://%s:%d/", settings.host, settings.port)
    app.run(host=settings.host, port=settings.port, debug=False)


def create_server() -> flask.Flask:
    """Return the WSGI server for gunicorn: `gunicorn 'app:create_server()'`."""
    return create_app().server


if __name__ == "__main__":
    main()
