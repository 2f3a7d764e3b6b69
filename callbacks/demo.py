"""Wire the demo screen: controls call the demo controller; the caption bar fills clientside."""

from __future__ import annotations

import logging
import time
from datetime import date

from dash import ClientsideFunction, Dash, Input, Output, State, ctx, no_update

from cockpit.demo.controller import DemoController, DemoError

log = logging.getLogger(__name__)


def register(app: Dash, demo: DemoController) -> None:
    """Attach the demo's control callbacks (server) and caption drawing (clientside) to the app."""

    @app.callback(
        Output("demo-ack", "data"),
        Input("demo-play", "n_clicks"),
        Input("demo-restart", "n_clicks"),
        Input("demo-speed", "value"),
        prevent_initial_call=True,
    )
    def control(_play: int, _restart: int, speed: int | None):
        """Pause or play, restart, or change the speed of the demo playing in this process."""
        trigger = ctx.triggered_id
        try:
            if trigger == "demo-play":
                demo.toggle()
            elif trigger == "demo-restart":
                demo.restart()
            elif trigger == "demo-speed" and speed is not None:
                demo.set_speed(speed)
        except DemoError as exc:
            return {"error": str(exc), "at": time.time()}
        return {"done": trigger, "at": time.time()}

    @app.callback(
        Output("demo-reload", "data"),
        Input("demo-source", "value"),
        Input("demo-day", "value"),
        prevent_initial_call=True,
    )
    def switch(source: str | None, day: str | None):
        """Switch between the scripted day and a recorded one; the page reloads for its map."""
        try:
            if source == "replay" and day:
                demo.replay(date.fromisoformat(day))
            elif source == "scripted":
                if ctx.triggered_id != "demo-source":
                    return no_update  # a day chosen while the script plays waits for "replay"
                demo.scripted()
            else:
                return no_update
        except (DemoError, ValueError) as exc:
            log.warning("demo switch refused: %s", exc)
            return {"error": str(exc), "at": time.time()}
        return {"reload": True, "at": time.time()}

    def clientside(function: str, *args, **kwargs) -> None:
        """Register one function of assets/demo.js."""
        app.clientside_callback(
            ClientsideFunction(namespace="demo", function_name=function), *args, **kwargs
        )

    clientside(
        "fillBar",
        Output("demo-caption", "children"),
        Output("demo-caption", "className"),
        Output("demo-history", "children"),
        Output("demo-clock", "children"),
        Output("demo-state", "children"),
        Output("demo-progress", "style"),
        Output("demo-play", "children"),
        Input("view-demo", "data"),
        State("labels-store", "data"),
    )
    # Switching the source reloads the page: the map of a recorded street is not the demo's.
    clientside(
        "reload",
        Output("demo-ack", "data", allow_duplicate=True),
        Input("demo-reload", "data"),
        prevent_initial_call=True,
    )
    # The "preparing" page asks again every two seconds until the demo street is ready.
    clientside(
        "reload",
        Output("demo-wait", "disabled"),
        Input("demo-wait", "n_intervals"),
        prevent_initial_call=True,
    )
