"""Build the cockpit page: header, ticker, KPI strip, the panels around the map, the card overlay."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from dash import dcc, html

from cockpit.i18n import label, labels_for, place_name
from layouts.cases import CASES_PANEL, cases_panel
from layouts.map import street_map
from layouts.panels import PANELS, kpi_strip, panel

MODES = ("wall", "tablet", "demo")
SOURCES = ("registry", "devices", "live")


@dataclass(frozen=True, slots=True)
class ScreenConfig:
    """Hold the timings and addresses the page hands to its clientside callbacks."""

    refresh_ms: int
    stale_after_s: float
    panel_cycle_s: float
    ticker_s_per_item: float
    health_url: str = "/healthz"
    # The age past which the view models are stale, until a refresh brings the worker's own.
    fresh_limit_s: float | None = None


def pick_mode(requested: str | None) -> str:
    """Return a known page profile: the requested one, else the wall."""
    return requested if requested in MODES else "wall"


def page_query(lang: str, mode: str) -> str:
    """Return the query string that keeps both the language and the profile."""
    return "?" + urlencode({"mode": mode, "lang": lang})


def client_config(
    lang: str, mode: str, config: ScreenConfig, abilities: Mapping[str, bool] | None = None
) -> dict[str, Any]:
    """Return what the browser's callbacks need: every label, the mode and the time limits.

    `abilities` (act, records, audit) only decide which buttons are drawn: the server checks
    every request against the session's role, whatever the page says.
    """
    return {
        "lang": lang,
        "mode": mode,
        "can": dict(abilities or {}),
        "t": labels_for(lang),
        "sources": list(SOURCES),
        "stale_after_s": config.stale_after_s,
        # Three missed refreshes (plus slack) mean the server or the network is gone.
        "lost_after_ms": config.refresh_ms * 3 + 2000,
        "ticker_s_per_item": config.ticker_s_per_item,
        "health_url": config.health_url,
        "fresh_limit_s": config.fresh_limit_s,
    }


def page(
    views: dict[str, dict[str, Any] | None],
    geometry: dict[str, Any] | None,
    lang: str,
    mode: str,
    config: ScreenConfig,
    now_wall: float | None = None,
    *,
    abilities: Mapping[str, bool] | None = None,
) -> html.Div:
    """Return the whole cockpit page for the published view models (None where not yet there)."""
    # now_wall (epoch seconds) dates the first heartbeat, so a fresh page says so at once.
    overview = views.get("overview") or {}
    street = place_name(overview.get("street"), lang, label("street_fallback", lang))
    return html.Div(
        className=f"cockpit mode-{mode}",
        lang="zh-CN" if lang == "zh" else "en",
        children=[
            *_stores(
                views,
                lang,
                mode,
                config,
                _heartbeat(overview, now_wall, config.fresh_limit_s),
                abilities,
            ),
            _header(street, lang, mode, abilities or {}),
            html.Div(id="stale-banner", className="stale-banner", hidden=True, role="alert"),
            _ticker(lang),
            kpi_strip(lang, mode),
            _tablet_body(geometry, lang, mode) if mode == "tablet" else _wall_body(geometry, lang),
            _card_layer(lang),
        ],
    )


def _heartbeat(
    overview: dict[str, Any], now_wall: float | None, limit_s: float | None = None
) -> dict[str, Any] | None:
    """Return the heartbeat of the page's first read, as the refresh callback would send it."""
    published = overview.get("published_wall")
    if now_wall is None or not isinstance(published, int | float):
        return None
    age_s = round(now_wall - published, 1)
    if limit_s is None:
        return {"age_s": age_s}
    return {"age_s": age_s, "limit_s": limit_s, "stale": age_s > limit_s}


def _stores(
    views: dict[str, dict[str, Any] | None],
    lang: str,
    mode: str,
    config: ScreenConfig,
    heartbeat: dict[str, Any] | None,
    abilities: Mapping[str, bool] | None = None,
) -> list[Any]:
    """Return the view stores (filled from the first read), the clocks and the client config."""
    versions = {name: view.get("version") for name, view in views.items() if view}
    return [
        *(dcc.Store(id=f"view-{name}", data=view) for name, view in views.items()),
        dcc.Store(id="view-versions", data=versions),
        dcc.Store(id="heartbeat-store", data=heartbeat),
        dcc.Store(id="labels-store", data=client_config(lang, mode, config, abilities)),
        dcc.Store(id="page-profile", data={"mode": mode}),
        dcc.Interval(id="refresh-interval", interval=config.refresh_ms),
        dcc.Interval(id="clock-interval", interval=1000),
        # The tablet shows every detail view at once; only the wall and demo cycle them.
        dcc.Interval(
            id="cycle-interval",
            interval=int(config.panel_cycle_s * 1000),
            disabled=mode == "tablet",
        ),
    ]


def _header(street: str, lang: str, mode: str, abilities: Mapping[str, bool]) -> html.Header:
    """Return the header: street name, title, clock, freshness, language switch and sign-out."""
    other = "en" if lang == "zh" else "zh"
    return html.Header(
        className="shell-header",
        children=[
            # A long (English) name ellipsizes to keep the header one row; its title says it all.
            html.H1(street, id="street-name", title=street),
            html.Div(label("title", lang), className="subtitle", title=label("title", lang)),
            html.Div(
                className="freshness-box",
                children=[
                    html.Div(
                        label("waiting", lang),
                        id="data-freshness",
                        className="freshness",
                        role="status",
                        **{"aria-live": "polite"},
                    ),
                    html.Div(
                        className="sources",
                        children=[
                            html.Span(
                                label(f"source_{name}", lang),
                                id=f"source-{name}",
                                className="source",
                            )
                            for name in SOURCES
                        ],
                    ),
                ],
            ),
            html.Div(id="clock", className="clock"),
            html.A(
                label("language_switch", lang),
                href=page_query(other, mode),
                id="language-switch",
                className="language-switch",
                lang="en" if other == "en" else "zh-CN",
            ),
            _account_links(lang, mode, abilities),
        ],
    )


def _account_links(lang: str, mode: str, abilities: Mapping[str, bool]) -> html.Div | None:
    """Return the audit link (admins) and the sign-out button; a wall signs out never."""
    if mode == "wall" and not abilities.get("records"):
        return None  # a kiosk wall stays signed in until its token is revoked
    audit = (
        html.A(label("audit_link", lang), href=f"/admin/audit?lang={lang}", className="audit-link")
        if abilities.get("audit")
        else None
    )
    return html.Div(
        className="account-links",
        children=[
            audit,
            html.Form(
                action=f"/logout?lang={lang}",
                method="post",
                className="logout-form",
                children=html.Button(label("sign_out", lang), type="submit", id="sign-out"),
            ),
        ],
    )


def _ticker(lang: str) -> html.Div:
    """Return the alert ticker bar; the clientside callback fills the scrolling track."""
    return html.Div(
        className="ticker-bar",
        children=[
            html.Div(label("ticker", lang), className="ticker-label"),
            html.Div(
                id="alert-ticker",
                className="alert-ticker",
                role="region",
                **{"aria-label": label("ticker", lang)},
            ),
        ],
    )


def _wall_body(geometry: dict[str, Any] | None, lang: str) -> html.Main:
    """Return the wall's body: governance left, the map in the centre, the other two right."""
    governance, enterprise, livelihood = (panel(name, lang) for name in PANELS)
    return html.Main(
        className="wall-body",
        children=[
            governance,
            html.Div(street_map(geometry, lang, "wall"), className="map-slot"),
            html.Div([enterprise, livelihood], className="panel-stack"),
        ],
    )


def _tablet_body(geometry: dict[str, Any] | None, lang: str, mode: str) -> html.Main:
    """Return the tablet's body: a sticky jump bar over the map and the panels in one scroll."""
    targets = [("map-section", "map")] + [(f"panel-{name}", f"panel_{name}") for name in PANELS]
    targets.append((CASES_PANEL, "panel_cases"))
    return html.Main(
        className="tablet-body",
        children=[
            html.Nav(
                className="tablet-nav",
                **{"aria-label": label("menu", lang)},
                children=[html.A(label(key, lang), href=f"#{target}") for target, key in targets],
            ),
            html.Section(street_map(geometry, lang, mode), id="map-section", className="map-slot"),
            *(panel(name, lang) for name in PANELS),
            cases_panel(lang),
        ],
    )


def _card_layer(lang: str) -> html.Div:
    """Return the shared drill-down overlay: hidden while `card-overlay` has no children."""
    # Every card callback writes Output("card-overlay", "children", allow_duplicate=True).
    return html.Div(
        className="card-layer",
        children=[
            html.Div(
                id="card-overlay",
                className="card-overlay",
                role="dialog",
                # A long card scrolls: focusable, so a keyboard can scroll it too.
                tabIndex="0",
                **{"aria-label": label("card_dialog", lang)},
            ),
            html.Button(
                "✕ " + label("close", lang),
                id="card-close",
                className="card-close",
                n_clicks=0,
            ),
        ],
    )
