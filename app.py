"""Create the cockpit's Dash app; `python app.py` runs it on a simulated street with no server."""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path

import dash
import flask
from dash import Dash

from callbacks import overview as overview_callbacks
from cockpit.health import make_health_blueprint
from cockpit.i18n import label, pick_language
from cockpit.open311 import make_blueprint
from cockpit.runtime import Runtime
from cockpit.settings import Settings
from cockpit.viewmodels import OVERVIEW, read_view
from layouts.overview import page

ASSETS = Path(__file__).with_name("assets")


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Dash:
    """Return the Dash app wired to the stores; start the embedded worker and scenario if set."""
    settings = settings or Settings()
    runtime = runtime or Runtime.open(settings)
    if settings.embedded_worker:
        runtime.start_background()
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

    def read_overview():
        return read_view(runtime.live, OVERVIEW)

    def serve_overview(lang: str | None = None, **_query):
        """Build the page for the URL's ?lang= (Dash pages hand the query string over)."""
        chosen = pick_language(lang, settings.language)
        return page(read_overview(), chosen, settings.refresh_ms, settings.stale_after_seconds)

    dash.register_page(
        "overview", path="/", layout=serve_overview, title=label("title", settings.language)
    )
    app.layout = dash.page_container
    overview_callbacks.register(app, read_overview)
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
