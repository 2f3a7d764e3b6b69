"""Build the KPI strip and the three direct panels' frames; assets/cockpit.js fills them."""

from __future__ import annotations

from dash import html

from cockpit.i18n import label

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


def kpi_strip(lang: str) -> html.Section:
    """Return the row of big numbers; each value starts as a dash until its view model arrives."""
    return html.Section(
        className="kpi-strip",
        children=[
            html.Div(
                id=f"kpi-box-{name}",
                className="kpi",
                children=[
                    html.Div(
                        className="kpi-value",
                        children=[
                            html.Span("—", id=f"kpi-{name}"),
                            html.Span(id=f"kpi-{name}-detail", className="kpi-detail"),
                        ],
                    ),
                    html.Div(label(name, lang), className="kpi-label"),
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
