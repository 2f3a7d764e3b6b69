"""Poll the SQL store for what the live map draws once: outlines, footprints, device points."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, Engine, case, func, select

from cockpit.clock import Clock
from cockpit.store import schema as s
from data_adapters.base import Adapter, read_store, rows_as_dicts


@dataclass(frozen=True)
class MapRows:
    """Hold the store rows the map's geometry and building cards are built from."""

    street: dict[str, Any] | None
    communities: list[dict[str, Any]] = field(default_factory=list)
    grids: list[dict[str, Any]] = field(default_factory=list)
    features: list[dict[str, Any]] = field(default_factory=list)
    buildings: list[dict[str, Any]] = field(default_factory=list)
    devices: list[dict[str, Any]] = field(default_factory=list)
    # building id → (enterprises, prepaid-card enterprises); enterprise id → building id
    enterprises: dict[int, tuple[int, int]] = field(default_factory=dict)
    enterprise_building: dict[int, int] = field(default_factory=dict)
    households: dict[int, int] = field(default_factory=dict)  # building id → households
    compounds: dict[int, str] = field(default_factory=dict)  # compound id → name
    # building id → its first standard address, road and number (安图路1号): where alerts are
    places: dict[int, str] = field(default_factory=dict)


class MapGeometryAdapter(Adapter[MapRows]):
    """Read the street's outlines, building footprints and device points in eight queries."""

    name = "map_geometry"

    def __init__(self, engine: Engine, clock: Clock, interval: timedelta) -> None:
        super().__init__(clock, interval)
        self.engine = engine

    def _fetch(self) -> MapRows:
        """Return the rows, or raise AdapterError when the store cannot be read."""
        return read_store(self.engine, read_map_rows)


def read_map_rows(conn: Connection) -> MapRows:
    """Read every row the map needs on one connection."""
    street = conn.execute(
        select(s.Street.name, s.Street.center_lon, s.Street.center_lat, s.Street.boundary)
    ).first()
    enterprises: dict[int, tuple[int, int]] = {}
    for building_id, n, prepaid in conn.execute(
        select(
            s.Enterprise.building_id,
            func.count(),
            func.sum(case((s.Enterprise.prepaid, 1), else_=0)),
        ).group_by(s.Enterprise.building_id)
    ):
        enterprises[building_id] = (int(n), int(prepaid or 0))
    return MapRows(
        street=dict(street._mapping) if street else None,
        communities=rows_as_dicts(
            conn,
            select(s.Community.id, s.Community.name, s.Community.boundary).order_by(s.Community.id),
        ),
        grids=rows_as_dicts(
            conn,
            select(
                s.Grid.id, s.Grid.code, s.Grid.name, s.Grid.community_id, s.Grid.boundary
            ).order_by(s.Grid.id),
        ),
        features=rows_as_dicts(
            conn,
            select(s.MapFeature.kind, s.MapFeature.name, s.MapFeature.geometry).order_by(
                s.MapFeature.id
            ),
        ),
        buildings=rows_as_dicts(
            conn,
            select(
                s.Building.id,
                s.Building.code,
                s.Building.name,
                s.Building.use,
                s.Building.floors,
                s.Building.grid_id,
                s.Building.compound_id,
                s.Building.footprint,
                s.Building.lon,
                s.Building.lat,
            ).order_by(s.Building.id),
        ),
        devices=rows_as_dicts(
            conn,
            select(
                s.Device.id,
                s.Device.code,
                s.Device.kind,
                s.Device.building_id,
                s.Device.floor,
                s.Device.lon,
                s.Device.lat,
            ).order_by(s.Device.id),
        ),
        enterprises=enterprises,
        enterprise_building=dict(
            conn.execute(select(s.Enterprise.id, s.Enterprise.building_id)).all()
        ),
        households=dict(
            conn.execute(
                select(s.Household.building_id, func.count()).group_by(s.Household.building_id)
            ).all()
        ),
        compounds=dict(conn.execute(select(s.Compound.id, s.Compound.name)).all()),
        places=_first_addresses(conn),
    )


def _first_addresses(conn: Connection) -> dict[int, str]:
    """Return each building's first standard address as road and number."""
    places: dict[int, str] = {}
    rows = conn.execute(
        select(s.Address.building_id, s.Address.road, s.Address.number)
        .where(s.Address.building_id.is_not(None))
        .order_by(s.Address.id)
    )
    for building_id, road, number in rows:
        if building_id not in places and road and number:
            places[building_id] = f"{road.strip()}{number.strip()}"
    return places
