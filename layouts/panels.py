"""Build the KPI strip and the three direct panels' frames; assets/cockpit.js fills them."""

from __future__ import annotations

from dash import html

from cockpit.i18n import label
from cockpit.panels import LISTED_KPIS
from layouts.kpi_lists import kpi_open_button

# The wall's big numbers, in reading order; cockpit.js knows where each comes from.
WALL_KPIS = (
    "cases_today",
    "closure_rate",
    "on_time_rate",
    "devices_online",
    "open_red_alerts",
    "enterprises_watch",
    "elders_due",
)
PANELS = ("governance", "enterprise", "livelihood")


def kpi_strip(lang: str, mode: str = "wall") -> html.Section:
    """Return the row of big numbers; each value starts as a dash until its view model arrives.

    Under each label, what it counts and over which window (kpi_window_*); its full definition
    is the box's help text (kpi_help_*). On the tablet a KPI with a list behind it carries a
    button over the box that opens it; the wall's numbers stay plain aggregates.
    """
    return html.Section(
        className="kpi-strip",
        children=[
            html.Div(
                id=f"kpi-box-{name}",
                className="kpi",
                title=label(f"kpi_help_{name}", lang),
                children=[
                    html.Div(
                        className="kpi-value",
                        children=[
                            html.Span("—", id=f"kpi-{name}"),
                            html.Span(id=f"kpi-{name}-detail", className="kpi-detail"),
                        ],
                    ),
                    html.Div(label(name, lang), className="kpi-label"),
                    html.Div(
                        label(f"kpi_window_{name}", lang),
                        id=f"kpi-{name}-window",
                        className="kpi-window",
                    ),
                    kpi_open_button(name, lang)
                    if mode == "tablet" and name in LISTED_KPIS
                    else None,
                ],
            )
            for name in WALL_KPIS
        ],
    )


def panel(name: str, lang: str) -> html.Section:
    """Return one direct panel: its title and an empty body the clientside callback fills."""
    return html.Section(
        id=f"panel-{name}",
        className=f"panel panel-{name}",
        **{"aria-labelledby": f"panel-{name}-title"},
        children=[
            html.H2(
                label(f"panel_{name}", lang), id=f"panel-{name}-title", className="panel-title"
            ),
            html.Div(id=f"panel-{name}-body", className="panel-body"),
        ],
    )
