"""Publish the live map's view models for the worker: geometry when it changes, overlays each tick."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from cockpit.clock import Clock
from cockpit.map_layers import (
    BUILDING_CARDS,
    CARD_SHARDS,
    CELL_DEGREES,
    MAP_ALERTS,
    MAP_CASES,
    MAP_DEVICES,
    MAP_GEOMETRY,
    Positions,
    alarmed_devices,
    alert_markers,
    build_layers,
    building_cards,
    case_markers,
    cell_view,
    device_cells,
    device_dots,
    device_states,
    geometry_index,
    layer_view,
    merge_open_alerts,
    projection,
    shard_cards,
)
from cockpit.panels import DeviceState
from cockpit.places import PERSONAL_DEVICE_KINDS, building_places, spelt
from cockpit.privacy import where_for
from cockpit.rules.housing import BuildingFacts, RiskResult
from cockpit.viewmodels import ViewModelPublisher
from data_adapters.base import Adapter
from data_adapters.map_geometry import MapGeometryAdapter, MapRows
from data_adapters.map_overlays import MapAlertsAdapter, MapCasesAdapter


class MapViews:
    """Turn the map adapters' snapshots and the worker's live state into the map's view models."""

    def __init__(
        self,
        geometry: MapGeometryAdapter,
        alerts: MapAlertsAdapter,
        cases: MapCasesAdapter,
        tile_url: str | None = None,
        tile_coordinates: str = "wgs84",
        tile_attribution: str | None = None,
    ) -> None:
        self.geometry = geometry
        self.alerts = alerts
        self.cases = cases
        self.tile_url = tile_url
        self.tile_coordinates = tile_coordinates
        self.tile_attribution = tile_attribution
        self.project = projection(tile_coordinates)
        self.positions: Positions | None = None
        # What the published geometry and cards were built from: rebuilt only when it changes.
        self._rows: MapRows | None = None
        # Built with the geometry: building id → place, device id → (kind, floor).
        self._places: dict[int, dict[str, Any]] = {}
        self._devices: dict[int, tuple[str, int | None]] = {}
        self._card_inputs: tuple[object, object] | None = None
        self._states: Mapping[int, DeviceState] = {}
        self._offline_k = 3.0
        # [alerts.grouping] kinds: one marker per kind and building (the worker sets them).
        self.grouped_kinds: tuple[str, ...] = ()

    @property
    def adapters(self) -> list[Adapter]:
        """Return the adapters the worker polls and reports in source health."""
        return [self.geometry, self.alerts, self.cases]

    def publish(
        self,
        publisher: ViewModelPublisher,
        states: Mapping[int, DeviceState],
        risks: list[RiskResult],
        facts: Mapping[int, BuildingFacts] | None,
        ticker_items: Iterable[Mapping[str, Any]],
        now: datetime,
        offline_after_intervals: float,
    ) -> None:
        """Publish what changed: geometry and cards when their inputs changed, overlays always."""
        self._states, self._offline_k = states, offline_after_intervals
        snapshot = self.geometry.snapshot
        if snapshot is not None:
            rows = snapshot.data
            # A restarted cache has lost the views though nothing changed: publish them again.
            if _changed(rows, self._rows) or publisher.live.get_view(MAP_GEOMETRY) is None:
                self._publish_geometry(publisher, rows, now)
                self._rows, self._card_inputs = rows, None
            inputs = (risks, facts)
            if (
                self._card_inputs is None
                or any(_changed(a, b) for a, b in zip(inputs, self._card_inputs, strict=True))
                or publisher.live.get_view(BUILDING_CARDS) is None
            ):
                self._publish_cards(publisher, building_cards(rows, risks, facts), now)
                self._card_inputs = inputs
        cases = self.cases.snapshot.data if self.cases.snapshot else None
        publisher.publish(MAP_CASES, case_markers(cases, now.timestamp(), self.project), now)
        self.publish_alerts(publisher, ticker_items, now)

    def publish_alerts(
        self,
        publisher: ViewModelPublisher,
        ticker_items: Iterable[Mapping[str, Any]],
        now: datetime,
    ) -> None:
        """Publish open alerts and device states; the worker calls this the moment an alert arrives."""
        snapshot = self.alerts.snapshot
        open_alerts = merge_open_alerts(
            snapshot.data if snapshot else None,
            snapshot.fetched_at.timestamp() if snapshot else None,
            ticker_items,
        )
        publisher.publish(
            MAP_ALERTS, alert_markers(open_alerts, self.positions, self.grouped_kinds), now
        )
        publisher.publish(
            MAP_DEVICES,
            device_states(
                self._states, alarmed_devices(open_alerts), now.timestamp(), self._offline_k
            ),
            now,
        )

    def place_label(self, alert: Mapping[str, Any]) -> str | None:
        """Return an alert's building by address (安图路1号), or None when the map cannot place it."""
        if self.positions is None or self._rows is None:
            return None
        where = self.positions.place(alert)
        return self._rows.places.get(where[2]) if where and where[2] is not None else None

    def where_of(self, alert: Mapping[str, Any]) -> dict[str, Any] | None:
        """Return where an alert is, spelt in both languages, as every screen may see it.

        The ticker goes to the wall too: a device's or building's place is named to the
        building, a resident's matter (an elder's meter or door) only by community and grid.
        """
        if self.positions is None:
            return None
        found = self.positions.place(alert)
        if not found or found[2] is None:
            return None
        device = None
        if alert.get("object_type") == "device":
            device = self._devices.get(alert.get("object_id"))
        personal = alert.get("object_type") == "resident" or (
            device is not None and device[0] in PERSONAL_DEVICE_KINDS
        )
        place = dict(self._places.get(found[2]) or {})
        if device is not None and device[1] is not None:
            place["floor"] = device[1]
        shown = where_for(place, personal=personal, may_read_records=False)
        return spelt(shown, device[0] if device else None)

    def _publish_cards(self, publisher: ViewModelPublisher, cards: dict, now: datetime) -> None:
        """Publish the card shards, then the index that says they are there."""
        for name, shard in shard_cards(cards).items():
            publisher.publish(name, shard, now)
        index = {"shards": CARD_SHARDS, "count": len(cards["cards"])}
        publisher.publish(BUILDING_CARDS, index, now)

    def _publish_geometry(self, publisher: ViewModelPublisher, rows, now: datetime) -> None:
        """Publish every static layer and device cell, then the index naming their versions.

        The index goes last, so it never names a version that is not there yet.
        """
        dots = device_dots(rows, self.project)
        layers = build_layers(rows, self.project, dots)
        versions = {
            name: publisher.publish(layer_view(name), layer, now) for name, layer in layers.items()
        }
        counts = {name: len(layer["features"]) for name, layer in layers.items()}
        cells = {
            key: {"type": "FeatureCollection", "features": features}
            for key, features in sorted(device_cells(dots).items())
        }
        # One version for the whole set: a cell's URL names it, and a cell of an older set (a
        # street imported since) is read as empty, never drawn.
        digest = ViewModelPublisher.version_of
        cells_version = digest({"cells": [[*key, digest(cell)] for key, cell in cells.items()]})
        for (column, row), cell in cells.items():
            publisher.publish(cell_view(column, row), {**cell, "set": cells_version}, now)
        index = geometry_index(
            rows,
            self.project,
            versions,
            counts,
            self.tile_url,
            self.tile_coordinates,
            self.tile_attribution,
        )
        index["device_cells"] = {"version": cells_version, "size": CELL_DEGREES, "count": len(dots)}
        publisher.publish(MAP_GEOMETRY, index, now)
        self.positions = Positions.from_rows(rows, self.project)
        self._places = building_places(rows)
        self._devices = {d["id"]: (d["kind"], d.get("floor")) for d in rows.devices}


def _changed(new: object, old: object) -> bool:
    """Tell whether an input differs from the one last published (same object: no)."""
    return new is not old and new != old


def build_map_views(
    engine: Engine,
    clock: Clock,
    store_poll: timedelta,
    geometry_poll: timedelta,
    tile_url: str | None,
    tile_coordinates: str,
    tile_attribution: str | None = None,
) -> MapViews:
    """Return the map's publisher with its three adapters at the given intervals."""
    return MapViews(
        MapGeometryAdapter(engine, clock, geometry_poll),
        MapAlertsAdapter(engine, clock, store_poll),
        MapCasesAdapter(engine, clock, store_poll),
        tile_url,
        tile_coordinates,
        tile_attribution,
    )
