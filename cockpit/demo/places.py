"""Read, from the demo's own store, where the scripted incidents happen and who answers them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Engine, select

from cockpit.i18n import LABELS, address_name, label, place_name
from cockpit.store import schema as s

_GRID_NO = re.compile(r"第(\d+)网格")
USE_EN = {
    "residential": "residential building",
    "office": "office tower",
    "commercial": "shop building",
    "public": "public building",
    "industrial": "works",
}


@dataclass(frozen=True, slots=True)
class Place:
    """Say where something is, in both languages, with its grid and coordinates."""

    zh: str
    en: str
    lon: float
    lat: float
    grid_id: int | None
    community_zh: str
    community_en: str


@dataclass(frozen=True, slots=True)
class Responder:
    """Name a dispatch target ("team:3", "worker:12") in both languages."""

    target: str
    zh: str
    en: str


class DemoPlaces:
    """Look up places and responders in the demo store; bound parameters only."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _street_prefix(self, conn) -> str:
        return conn.execute(select(s.Street.name)).scalar() or ""

    def device(self, device_id: int) -> Place | None:
        """Return where a device is: its building's address, floors and community."""
        b, a = s.Building, s.Address
        with self.engine.connect() as conn:
            row = conn.execute(
                select(b.id, b.floors, b.use, b.lon, b.lat, b.grid_id, s.Community.name)
                .join(s.Device, s.Device.building_id == b.id)
                .join(s.Grid, s.Grid.id == b.grid_id)
                .join(s.Community, s.Community.id == s.Grid.community_id)
                .where(s.Device.id == device_id)
            ).first()
            if row is None:
                return None
            address = conn.execute(
                select(a.full_text).where(a.building_id == row.id).order_by(a.id).limit(1)
            ).scalar()
            prefix = self._street_prefix(conn)
        return self._place(address, prefix, row.floors, row.use, row)

    def enterprise(self, enterprise_id: int) -> Place | None:
        """Return where an enterprise is: its name in Chinese, its community in English."""
        e, a = s.Enterprise, s.Address
        with self.engine.connect() as conn:
            row = conn.execute(
                select(
                    e.name,
                    a.full_text,
                    s.Building.lon,
                    s.Building.lat,
                    s.Building.grid_id,
                    s.Community.name.label("community"),
                )
                .join(a, a.id == e.address_id)
                .join(s.Building, s.Building.id == e.building_id)
                .join(s.Grid, s.Grid.id == s.Building.grid_id)
                .join(s.Community, s.Community.id == s.Grid.community_id)
                .where(e.id == enterprise_id)
            ).first()
        if row is None:
            return None
        community_en = place_name(row.community, "en", "the street")
        return Place(
            row.name,
            f"a business in {community_en}",
            row.lon,
            row.lat,
            row.grid_id,
            row.community,
            community_en,
        )

    @staticmethod
    def _place(address: str | None, prefix: str, floors: int, use: str, row) -> Place:
        community_zh = row.name
        community_en = place_name(community_zh, "en", "the street")
        short = (address or "").removeprefix(prefix) or community_zh
        zh = f"{short}（{floors}层{label('map_use_' + use, 'zh') if use in USE_EN else ''}）"
        house = address_name(short, "en")
        if house:
            en = f"{house} ({community_en})"
        else:
            en = f"a {floors}-floor {USE_EN.get(use, 'building')} in {community_en}"
        return Place(zh, en, row.lon, row.lat, row.grid_id, community_zh, community_en)

    def nearest_team(self, kind: str, place: Place) -> Responder | None:
        """Return the response team of the kind based nearest to the place."""
        t = s.ResponseTeam
        with self.engine.connect() as conn:
            teams = conn.execute(
                select(t.id, t.name, t.base_lon, t.base_lat).where(t.kind == kind).order_by(t.id)
            ).all()
        if not teams:
            return None
        team = min(
            teams, key=lambda r: (r.base_lon - place.lon) ** 2 + (r.base_lat - place.lat) ** 2
        )
        key = f"case_department_{kind}"
        department = (label(key, "en") if key in LABELS else kind.replace("_", " ")).lower()
        # Community teams are named after their community: 长白社区微型消防站 → the Changbai ...
        community = team.name.split("社区")[0] + "社区" if "社区" in team.name else ""
        community_en = place_name(community, "en", "")
        en = f"the {community_en} {department}" if community_en else f"the {department} team"
        return Responder(f"team:{team.id}", team.name, en)

    def grid_worker(self, place: Place) -> Responder | None:
        """Return the grid worker of the place's grid, named by the grid (never by the person)."""
        w = s.GridWorker
        with self.engine.connect() as conn:
            row = conn.execute(
                select(w.id, s.Grid.name)
                .join(s.Grid, s.Grid.id == w.grid_id)
                .where(w.grid_id == place.grid_id)
                .order_by(w.id)
                .limit(1)
            ).first()
        if row is None:
            return None
        number = _GRID_NO.search(row.name)
        grid_en = f"grid {number[1]} of {place.community_en}" if number else place.community_en
        return Responder(f"worker:{row.id}", f"{row.name}网格员", f"the grid worker of {grid_en}")
