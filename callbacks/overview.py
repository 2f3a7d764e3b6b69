"""Refresh the first page: one server round trip per tick, clientside fan-out to the tiles."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from dash import ClientsideFunction, Dash, Input, Output, State, no_update

from layouts.overview import KPI_TILES, RATIO_TILES, SOURCES


def register(app: Dash, read_overview: Callable[[], dict[str, Any] | None]) -> None:
    """Attach the overview callbacks to the app, reading view models through the given function."""

    @app.callback(
        Output("overview-store", "data"),
        Output("heartbeat-store", "data"),
        Input("refresh-interval", "n_intervals"),
        State("overview-store", "data"),
        prevent_initial_call=True,
    )
    def refresh(_tick: int, held: dict[str, Any] | None):
        """Return the newest view model (or no_update when held) and a tiny heartbeat with its age."""
        view = read_overview()
        if view is None:
            return no_update, {"age_s": None}
        # The age is measured on the server's clock, so a browser's wrong clock cannot fake freshness.
        heartbeat = {"age_s": round(time.time() - view.get("published_wall", 0), 1)}
        if held and held.get("version") == view.get("version"):
            return no_update, heartbeat
        return view, heartbeat

    app.clientside_callback(
        ClientsideFunction(namespace="cockpit", function_name="fillKpis"),
        [Output(f"kpi-{name}", "children") for name in KPI_TILES]
        + [Output(f"kpi-{name}-detail", "children") for name in RATIO_TILES],
        Input("overview-store", "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction(namespace="cockpit", function_name="freshness"),
        Output("data-freshness", "children"),
        Output("stale-banner", "children"),
        Output("stale-banner", "hidden"),
        Output("clock", "children"),
        [Output(f"source-{name}", "className") for name in SOURCES],
        Input("clock-interval", "n_intervals"),
        State("heartbeat-store", "data"),
        State("overview-store", "data"),
        State("labels-store", "data"),
    )
