"""Refresh the cockpit: one server round trip per tick, clientside callbacks fill everything else."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import orjson
from dash import ALL, ClientsideFunction, Dash, Input, Output, Patch, State, ctx, no_update
from dash.exceptions import PreventUpdate

from cockpit.access.policy import Permission, Principal, may
from cockpit.access.views import views_for
from cockpit.heartbeat import WORKER_HEARTBEAT, parse_heartbeat, stale_limit_s
from cockpit.live import LiveStoreError
from cockpit.panels import KPI_LISTS, LISTED_KPIS
from cockpit.viewmodels import TAIL_BYTES, patch_view, peek
from cockpit.web.identity import current_principal
from layouts.kpi_lists import KPI_OPEN, kpi_list_card
from layouts.map import PICK_ID
from layouts.panels import PANELS, WALL_KPIS
from layouts.shell import SOURCES

# Every view model a page holds in a `view-<name>` store; map and cases helpers add theirs here.
REFRESHED_VIEWS: tuple[str, ...] = (
    "overview",
    "ticker",
    "governance",
    "enterprise",
    "livelihood",
    "cases",
    *("map_colours", "map_devices", "map_alerts", "map_cases"),
    "demo",  # demo mode's captions and clock (callbacks/demo.py); absent elsewhere
)
# The view whose publication time says how fresh the page is (the worker publishes it each tick).
PULSE_VIEW = "overview"

ReadRaw = Callable[[str], bytes | None]
# The last n bytes of each named view, in one round trip (LiveStore.get_view_tails).
ReadTails = Callable[[Sequence[str], int], list[bytes | None]]
# Several views whole, in one round trip (LiveStore.get_views): the chains of differences.
ReadViews = Callable[[Sequence[str]], list[bytes | None]]


def patch_from(raw: bytes, held: str | None, stamps: tuple[str, float]) -> Patch | None:
    """Return the Dash Patch taking a screen from its `held` version to the view's, or None.

    `raw` is the view's chain (cockpit.viewmodels.patch_view); None when it does not lead to
    the version the view's tail shows (the worker is between the two writes) or does not start
    from the version held (the screen missed more changes than the chain keeps): send it whole.
    """
    chain = orjson.loads(raw)
    if held is None or chain.get("to") != stamps[0]:
        return None
    steps = chain.get("steps") or []
    start = next((i for i, step in enumerate(steps) if step["from"] == held), None)
    if start is None:
        return None
    patch = Patch()
    for step in steps[start:]:
        for op in step["ops"]:
            *within, last = op[1]
            target = patch
            for key in within:
                target = target[key]
            if op[0] == "set":
                target[last] = op[2]
            elif op[0] == "del":
                del target[last]
            else:  # "ins": the path names the list itself
                target[last].insert(op[2], op[3])
    patch["version"] = stamps[0]
    patch["generated_at"] = chain.get("at")
    patch["published_wall"] = stamps[1]
    return patch


def behind(tails: Mapping[str, bytes | None], held: Mapping[str, str]) -> list[str]:
    """Return the stores whose view moved on from a version the screen holds."""
    stores = []
    for store, tail in tails.items():
        stamps = peek(tail) if tail and held.get(store) else None
        if stamps is not None and stamps[0] != held[store]:
            stores.append(store)
    return stores


def reader_for(
    mode: str | None, read: Callable[[str], Any], read_demo: Callable[[str], Any] | None
):
    """Return the view reader of a page's profile: a demo page reads the demo's store, or nothing."""
    # Never production's views on a demo page, not even when no demo store is wired.
    if mode == "demo":
        return read_demo if read_demo is not None else (lambda _name: None)
    return read


def role_reader(read: Callable[[str], Any], chosen: dict[str, str | None]) -> Callable[[str], Any]:
    """Return a reader by store name that reads the view chosen for the role, or nothing."""

    def read_store(store: str) -> Any:
        name = chosen.get(store)
        return read(name) if name else None

    return read_store


def page_views(
    principal: Principal | None, read: Callable[[str], Any], stores: Iterable[str]
) -> dict[str, Any]:
    """Return each store's view for a page's first render: the role's choice, as the refresh's."""
    reader = role_reader(read, views_for(principal, tuple(stores)))
    return {store: reader(store) for store in stores}


def refresh_views(
    read_raw: ReadRaw,
    names: Iterable[str],
    held: dict[str, str] | None,
    now_wall: float,
    limit_s: float | None = None,
    tails: Mapping[str, bytes | None] | None = None,
    chains: Mapping[str, bytes | None] | None = None,
) -> tuple[list[Any], Any, dict[str, Any]]:
    """Return each view (no_update when the client holds its version), the versions, a heartbeat.

    The heartbeat says how old the pulse view is and, given the limit, whether that is stale:
    both measured here, on the server's clock, so a browser's wrong clock cannot fake freshness.
    `tails` (by store name: each view's last TAIL_BYTES, read at once) lets an unchanged view be
    recognised without reading it whole; a view whose tail says nothing is read whole.
    `chains` (by store name: the view's chain of differences) lets a view the client holds an
    earlier version of be sent as a Patch, when the chain reaches from there.
    """
    held = held or {}
    versions = dict(held)
    out: list[Any] = []
    age_s = None
    for name in names:
        if tails is not None and name in tails:
            tail = tails[name]
            if not tail:
                out.append(no_update)
                continue
            stamps = peek(tail)
            if stamps is not None:
                if name == PULSE_VIEW:
                    age_s = round(now_wall - stamps[1], 1)
                if held.get(name) == stamps[0]:
                    out.append(no_update)
                    continue
                chain = (chains or {}).get(name)
                patch = patch_from(chain, held.get(name), stamps) if chain else None
                if patch is not None:
                    versions[name] = stamps[0]
                    out.append(patch)
                    continue
        raw = read_raw(name)
        if not raw:
            out.append(no_update)
            continue
        stamps = peek(raw)
        view = None if stamps else orjson.loads(raw)
        version, wall = stamps or (view.get("version"), view.get("published_wall", 0))
        if name == PULSE_VIEW:
            # Measured on the server's clock, so a browser's wrong clock cannot fake freshness.
            age_s = round(now_wall - wall, 1)
        if version is not None and held.get(name) == version:
            out.append(no_update)
            continue
        versions[name] = version
        out.append(view if view is not None else orjson.loads(raw))
    heartbeat: dict[str, Any] = {"age_s": age_s}
    if limit_s is not None:
        heartbeat |= {"limit_s": limit_s, "stale": age_s is not None and age_s > limit_s}
    return out, (versions if versions != held else no_update), heartbeat


def stream_heartbeat(
    read_raw: ReadRaw, read_tails: ReadTails, after_intervals: float, default_interval_s: float
) -> dict[str, Any]:
    """Return the heartbeat a refresh would return now: what the push stream beats to screens."""
    tail = read_tails([PULSE_VIEW], TAIL_BYTES)[0]
    stamps = peek(tail) if tail else None
    beat = parse_heartbeat(read_raw(WORKER_HEARTBEAT))
    limit = stale_limit_s(beat, after_intervals, default_interval_s)
    age_s = None if stamps is None else round(time.time() - stamps[1], 1)
    return {"age_s": age_s, "limit_s": limit, "stale": age_s is not None and age_s > limit}


def kpi_list_for(principal: Principal | None, name: str, read_raw: ReadRaw, lang: str) -> Any:
    """Return the card listing what a KPI counts, or no_update for a wall, a stranger or a typo.

    The wall (kiosk) and any role without VIEW_RECORDS get nothing: its KPIs are aggregates.
    """
    if not may(principal, Permission.VIEW_RECORDS) or name not in LISTED_KPIS:
        return no_update
    try:
        raw = read_raw(KPI_LISTS)
    except LiveStoreError:
        raise PreventUpdate from None
    return kpi_list_card(name, orjson.loads(raw) if raw else None, lang)


def register(
    app: Dash,
    read_raw: ReadRaw,
    views: tuple[str, ...] = REFRESHED_VIEWS,
    read_demo: ReadRaw | None = None,
    who: Callable[[], Principal | None] = current_principal,
    *,
    read_tails: ReadTails | None = None,
    read_views: ReadViews | None = None,
    ready_after_intervals: float = 2.0,
    default_interval_s: float = 1.0,
) -> None:
    """Attach the refresh callback and the clientside fan-out for the given views to the app.

    A page in demo mode reads its views with `read_demo` (the demo's own store), and only it.
    Each store gets the view the signed-in role may have (cockpit.access.views); `who()` says who
    that is, from the server's session. The views are stale when older than
    `ready_after_intervals` cycles of the worker that publishes them (its heartbeat says how
    long a cycle is; `default_interval_s` when it has none), as /healthz/ready judges them.
    With `read_tails`, an unchanged view costs its tail; with `read_views` too, a changed view
    the page holds an earlier version of is sent as its difference (a Dash Patch).
    """

    @app.callback(
        [Output(f"view-{name}", "data") for name in views]
        + [Output("view-versions", "data"), Output("heartbeat-store", "data")],
        Input("refresh-interval", "n_intervals"),
        State("view-versions", "data"),
        # The page's profile alone, not the labels (16 KB uploaded with every poll otherwise).
        State("page-profile", "data"),
        prevent_initial_call=True,
    )
    def refresh(_tick: int, held: dict[str, str] | None, profile: dict[str, Any] | None):
        """Return the views newer than the client's, their versions and a heartbeat."""
        principal = who()
        if principal is None:
            raise PreventUpdate  # no session, nothing: whatever the gate in front did
        mode = (profile or {}).get("mode")
        reader = reader_for(mode, read_raw, read_demo)
        names = views_for(principal, views)
        chosen = role_reader(reader, names)
        try:
            tails = chains = None
            if read_tails is not None and mode != "demo":
                stores = [store for store in views if names.get(store)]
                read = read_tails([names[store] for store in stores], TAIL_BYTES)
                tails = dict(zip(stores, read, strict=True))
                # A pushed page applies the stream's differences itself: a Patch computed from
                # the versions it posted could land on data the stream has moved on since.
                pushed = bool((profile or {}).get("pushed"))
                moved = behind(tails, held or {}) if read_views is not None and not pushed else []
                if moved:
                    read = read_views([patch_view(names[store]) for store in moved])
                    chains = dict(zip(moved, read, strict=True))
            beat = parse_heartbeat(reader(WORKER_HEARTBEAT))
            limit = stale_limit_s(beat, ready_after_intervals, default_interval_s)
            out, versions, heartbeat = refresh_views(
                chosen, views, held, time.time(), limit, tails, chains
            )
        except LiveStoreError:
            # The view cache is unreachable: send nothing. The page keeps its last numbers and,
            # with no heartbeat for a few refreshes, says the live link is lost (assets/cockpit.js);
            # /healthz reports the outage, so no log line per poll here.
            raise PreventUpdate from None
        return [*out, versions, heartbeat]

    def clientside(function: str, *args, **kwargs) -> None:
        """Register one function of assets/cockpit.js."""
        app.clientside_callback(
            ClientsideFunction(namespace="cockpit", function_name=function), *args, **kwargs
        )

    clientside(
        "fillKpis",
        [Output(f"kpi-{name}", "children") for name in WALL_KPIS]
        + [Output(f"kpi-{name}-detail", "children") for name in WALL_KPIS]
        + [Output(f"kpi-box-{name}", "className") for name in WALL_KPIS],
        Input("view-overview", "data"),
        Input("view-governance", "data"),
        Input("view-enterprise", "data"),
        Input("view-livelihood", "data"),
        Input("view-cases", "data"),
        State("labels-store", "data"),
    )
    # Panels and ticker are drawn into the page by assets/draw.js, outside Dash's component tree
    # (thousands of Dash components made every store update slow); `data-drawn` says what happened.
    for name in PANELS:
        # The governance panel shows the case loop: it redraws the moment any screen acts.
        cases = [Input("view-cases", "data")] if name == "governance" else []
        clientside(
            f"fill_{name}",
            Output(f"panel-{name}-body", "data-drawn"),
            Input(f"view-{name}", "data"),
            Input("cycle-interval", "n_intervals"),
            *cases,
            State("labels-store", "data"),
        )
    clientside(
        "fillTicker",
        Output("alert-ticker", "data-drawn"),
        Input("view-ticker", "data"),
        State("labels-store", "data"),
    )
    clientside(
        "freshness",
        Output("data-freshness", "children"),
        Output("stale-banner", "children"),
        Output("stale-banner", "hidden"),
        Output("clock", "children"),
        [Output(f"source-{name}", "className") for name in SOURCES],
        Output("data-freshness", "className"),
        Input("clock-interval", "n_intervals"),
        State("heartbeat-store", "data"),
        State("view-overview", "data"),
        State("labels-store", "data"),
    )
    clientside(
        "alertCard",
        Output("card-overlay", "children", allow_duplicate=True),
        Input(PICK_ID, "data"),
        State("view-ticker", "data"),
        State("labels-store", "data"),
        prevent_initial_call=True,
    )
    clientside(
        "enterpriseCard",
        Output("card-overlay", "children", allow_duplicate=True),
        Input(PICK_ID, "data"),
        State("view-enterprise", "data"),
        State("labels-store", "data"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output("card-overlay", "children", allow_duplicate=True),
        Input({"type": KPI_OPEN, "name": ALL}, "n_clicks"),
        State("labels-store", "data"),
        prevent_initial_call=True,
    )
    def open_kpi_list(_clicks: list[int | None], config: dict[str, Any] | None):
        """Return the list behind the tapped KPI, built here, for a role that may view records."""
        tapped = ctx.triggered_id
        if not isinstance(tapped, dict) or not any(_clicks or ()):
            raise PreventUpdate
        config = config or {}
        return kpi_list_for(
            who(),
            str(tapped.get("name")),
            reader_for(config.get("mode"), read_raw, read_demo),
            str(config.get("lang") or "zh"),
        )

    clientside(
        "closeCard",
        Output("card-overlay", "children", allow_duplicate=True),
        Input("card-close", "n_clicks"),
        prevent_initial_call=True,
    )
