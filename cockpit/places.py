"""Say where a case, an alert, a task or a device is: address to the building, building, area.

    place = where(road="安图路", number="3号", building_id=7, use="residential", floors=6,
                  community="安图社区", grid="安图社区第2网格", lon=121.53, lat=31.28, floor=5)
    words(place, "en")   # {"address": "No. 3, Antu Road", "building": "Residential · 6 floors",
                         #  "community": "Antu Community", "grid": "Antu Community Grid 2", ...}
    geo_uri(place)       # "geo:31.280000,121.530000?q=31.280000,121.530000(安图路3号)"

A place is a small dict of stored (Chinese) values, built once where the adapters' rows are
turned into view models; `words` spells it in the reader's language when a card is drawn, so a
view model carries no English copy of two thousand addresses. Pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from cockpit.i18n import LABELS, address_name, label, place_name
from cockpit.privacy import building_address

SEPARATOR = " · "
COORD_DIGITS = 6  # ~0.1 m: a phone's map needs no finer


def where(
    *,
    address: str | None = None,
    road: str | None = None,
    number: str | None = None,
    building_id: int | None = None,
    building: str | None = None,
    use: str | None = None,
    floors: int | None = None,
    community: str | None = None,
    grid: str | None = None,
    lon: float | None = None,
    lat: float | None = None,
    floor: int | None = None,
) -> dict[str, Any] | None:
    """Return a place from stored values (None when nothing is known): never a room or a name.

    `address` is a building-level address already built (the map's road and number); else
    `road` and `number` from the register make it, cut to the building.
    """
    place = {
        "address": address or building_address(road, number),
        "building_id": building_id,
        "building": (building or "").strip() or None,
        "use": use,
        "floors": floors,
        "floor": floor,
        "community": community,
        "grid": grid,
        "lon": None if lon is None else round(float(lon), COORD_DIGITS),
        "lat": None if lat is None else round(float(lat), COORD_DIGITS),
    }
    kept = {k: v for k, v in place.items() if v not in (None, "")}
    return kept or None


def where_of_row(row: Mapping[str, Any], prefix: str = "where_") -> dict[str, Any] | None:
    """Return the place from a row whose place columns carry the prefix (where_road, ...)."""
    fields = (
        "road",
        "number",
        "building_id",
        "building",
        "use",
        "floors",
        "community",
        "grid",
        "lon",
        "lat",
        "floor",
    )
    return where(**{name: row.get(prefix + name) for name in fields})


def building_words(place: Mapping[str, Any], lang: str) -> str | None:
    """Return the building: its name, else its use and floors (住宅 · 18层, Residential · 18 floors)."""
    name = place.get("building")
    if name:
        shown = place_name(name, lang)
        if shown:
            return shown
    use = place.get("use")
    parts = []
    if use:
        key = f"map_use_{use}"
        parts.append(label(key, lang) if key in LABELS else str(use))
    if place.get("floors"):
        parts.append(label("where_floors", lang).format(n=place["floors"]))
    return SEPARATOR.join(parts) or None


def words(place: Mapping[str, Any] | None, lang: str) -> dict[str, str | None]:
    """Return a place's parts in the language: address, building, floor, community, grid."""
    place = place or {}
    address = place.get("address")
    floor = place.get("floor")
    return {
        "address": address_name(address, lang, address if lang != "en" else "") or None,
        "building": building_words(place, lang),
        "floor": label("where_floor", lang).format(n=floor) if floor is not None else None,
        "community": place_name(place.get("community"), lang) or None,
        "grid": place_name(place.get("grid"), lang) or None,
    }


def headline(place: Mapping[str, Any] | None, lang: str) -> str:
    """Return where to go in one line: the address and floor, else the building, else the area."""
    said = words(place, lang)
    first = said["address"] or said["building"] or said["grid"] or said["community"]
    if not first:
        return label("where_unknown", lang)
    return SEPARATOR.join(p for p in (first, said["floor"]) if p)


def area(place: Mapping[str, Any] | None, lang: str) -> str | None:
    """Return the community and grid in one line (长白社区 · 长白社区第3网格)."""
    said = words(place, lang)
    parts = [said["community"], said["grid"]]
    return SEPARATOR.join(p for p in parts if p) or None


def coordinates(place: Mapping[str, Any] | None) -> tuple[float, float] | None:
    """Return (lat, lon) of a place, or None when it has none."""
    place = place or {}
    lat, lon = place.get("lat"), place.get("lon")
    if not isinstance(lat, int | float) or not isinstance(lon, int | float):
        return None
    return float(lat), float(lon)


def geo_uri(place: Mapping[str, Any] | None) -> str | None:
    """Return a geo: URI (RFC 5870) a phone's map app opens at the place, labelled by its address."""
    at = coordinates(place)
    if at is None:
        return None
    lat, lon = (f"{v:.{COORD_DIGITS}f}" for v in at)
    address = (place or {}).get("address")
    query = f"{lat},{lon}" + (f"({quote(address)})" if address else "")
    return f"geo:{lat},{lon}?q={query}"


# -- places of the map's rows, for building cards and alert cards ------------------------------

# Devices bound to one resident (an elder's water meter and door sensor): their building is a
# person's home, so an aggregate screen is told their area only (cockpit.privacy.where_for).
PERSONAL_DEVICE_KINDS = frozenset({"water_meter", "door_sensor"})
SPELT_KEYS = ("address", "building", "floor", "community", "grid")


def building_places(rows: Any) -> dict[int, dict[str, Any]]:
    """Return building id → its place, from the map's rows (data_adapters.map_geometry.MapRows)."""
    grids = {g["id"]: g for g in rows.grids}
    communities = {c["id"]: c["name"] for c in rows.communities}
    found: dict[int, dict[str, Any]] = {}
    for b in rows.buildings:
        grid = grids.get(b["grid_id"]) or {}
        place = where(
            address=rows.places.get(b["id"]),
            building_id=b["id"],
            building=b.get("name"),
            use=b.get("use"),
            floors=b.get("floors"),
            community=communities.get(grid.get("community_id")),
            grid=grid.get("name"),
            lon=b.get("lon"),
            lat=b.get("lat"),
        )
        if place is not None:
            found[b["id"]] = place
    return found


def spelt(place: Mapping[str, Any] | None, device_kind: str | None = None) -> dict[str, Any] | None:
    """Return a place spelt in both languages for a screen drawn in the browser (the alert card).

    {"zh": {headline, device, address, building, floor, community, grid}, "en": {...},
    "building_id", "lat", "lon"}; `device` names the device by its kind and place
    (烟感 · 安图路3号 · 5楼), never by its number.
    """
    if not place:
        return None
    out: dict[str, Any] = {k: place[k] for k in ("building_id", "lat", "lon") if k in place}
    for lang in ("zh", "en"):
        said = words(place, lang)
        entry = {k: said[k] for k in SPELT_KEYS if said[k]}
        entry["headline"] = headline(place, lang)
        if device_kind:
            key = f"map_kind_{device_kind}"
            kind = label(key, lang) if key in LABELS else label("where_device", lang)
            entry["device"] = SEPARATOR.join((kind, entry["headline"]))
        out[lang] = entry
    return out
