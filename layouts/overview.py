"""Build the first page: street name, clock, freshness, and live count tiles."""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from cockpit.i18n import label

RATIO_TILES = {"fire_online": "fire_total", "devices_online": "devices_total"}
KPI_TILES = (
    "residents",
    "households",
    "buildings",
    "enterprises",
    "communities",
    "grids",
    "grid_workers",
    "fire_online",
    "devices_online",
    "readings_per_min",
    "complaints_today",
    "requests_today",
    "cases_today",
    "open_cases",
)
SOURCES = ("registry", "devices", "live")


def format_kpi(name: str, kpis: dict[str, Any]) -> str:
    """Return a KPI as display text with thousands separators, or a dash when unknown."""
    value = kpis.get(name)
    return "—" if value is None else f"{value:,}"


def format_detail(name: str, kpis: dict[str, Any]) -> str:
    """Return the small line under a ratio tile: '/ total · share%'."""
    part, whole = kpis.get(name), kpis.get(RATIO_TILES[name])
    if part is None or not whole:
        return ""
    return f"/ {whole:,} · {part / whole:.1%}"


def _client_config(lang: str, refresh_ms: int, stale_after_s: float) -> dict[str, Any]:
    """Return what the browser's clientside callbacks need: labels and the staleness limits."""
    keys = ("fresh", "stale", "waiting")
    return {
        "lang": lang,
        **{k: label(k, lang) for k in keys},
        "sources": {name: label(f"source_{name}", lang) for name in SOURCES},
        "stale_after_s": stale_after_s,
        "lost_after_ms": refresh_ms * 3 + 2000,
    }


def page(view: dict[str, Any] | None, lang: str, refresh_ms: int, stale_after_s: float) -> html.Div:
    """Return the whole first page for a view model (None while the worker has not published)."""
    kpis = (view or {}).get("kpis", {})
    switch_to = "en" if lang == "zh" else "zh"
    return html.Div(
        className="cockpit",
        lang="zh-CN" if lang == "zh" else "en",
        children=[
            dcc.Store(id="overview-store", data=view),
            dcc.Store(id="heartbeat-store"),
            dcc.Store(id="labels-store", data=_client_config(lang, refresh_ms, stale_after_s)),
            dcc.Interval(id="refresh-interval", interval=refresh_ms),
            dcc.Interval(id="clock-interval", interval=1000),
            html.Header(
                className="shell-header",
                children=[
                    html.H1((view or {}).get("street") or label("title", lang), id="street-name"),
                    html.Div(label("title", lang), className="subtitle"),
                    html.Div(id="clock", className="clock"),
                    html.Div(
                        label("waiting", lang),
                        id="data-freshness",
                        className="freshness",
                        role="status",
                        **{"aria-live": "polite"},
                    ),
                    html.A(
                        label("language_switch", lang),
                        href=f"?lang={switch_to}",
                        id="language-switch",
                        className="language-switch",
                    ),
                ],
            ),
            html.Div(id="stale-banner", className="stale-banner", hidden=True, role="alert"),
            html.Main(
                className="kpi-grid",
                children=[
                    html.Section(
                        className="kpi",
                        children=[
                            html.Div(
                                [
                                    html.Span(format_kpi(name, kpis), id=f"kpi-{name}"),
                                    html.Span(
                                        format_detail(name, kpis),
                                        id=f"kpi-{name}-detail",
                                        className="kpi-detail",
                                    )
                                    if name in RATIO_TILES
                                    else None,
                                ],
                                className="kpi-value",
                            ),
                            html.Div(label(name, lang), className="kpi-label"),
                        ],
                    )
                    for name in KPI_TILES
                ],
            ),
            html.Footer(
                className="sources",
                children=[html.Span(label("sources", lang) + ":", className="sources-title")]
                + [
                    html.Span(
                        label(f"source_{name}", lang), id=f"source-{name}", className="source"
                    )
                    for name in SOURCES
                ],
            ),
        ],
    )
