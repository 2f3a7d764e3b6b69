"""Read resident requests and resolve their standard address; writes go through Ingest."""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, Select, select

from cockpit.geo import METRES_PER_DEGREE_LAT, LocalFrame
from cockpit.store import schema

# A point further than this from every standard address is not attached to any of them.
NEAREST_ADDRESS_M = 150.0
SEARCH_LIMIT = 1000


@dataclass(frozen=True)
class AddressRecord:
    """Hold the parts of a standard address a request needs."""

    id: int
    road: str
    number: str
    full_text: str
    lon: float
    lat: float


@dataclass(frozen=True)
class RequestRecord:
    """Hold one resident request with the road and number of its standard address, if any."""

    id: int
    service_code: str
    description: str
    status: str
    channel: str
    requested_at: datetime
    updated_at: datetime
    lon: float | None
    lat: float | None
    address_text: str | None
    address_id: int | None
    media_url: str | None
    road: str | None
    number: str | None


def _requests() -> Select:
    """Return the select of requests joined to their standard address."""
    r, a = schema.ResidentRequest, schema.Address
    return select(
        r.id,
        r.service_code,
        r.description,
        r.status,
        r.channel,
        r.requested_at,
        r.updated_at,
        r.lon,
        r.lat,
        r.address_text,
        r.address_id,
        r.media_url,
        a.road,
        a.number,
    ).outerjoin(a, a.id == r.address_id)


def _addresses() -> Select:
    """Return the select of standard addresses as AddressRecord columns."""
    a = schema.Address
    return select(a.id, a.road, a.number, a.full_text, a.lon, a.lat)


def get(engine: Engine, request_id: int) -> RequestRecord | None:
    """Return the request with this id, or None."""
    with engine.connect() as conn:
        row = conn.execute(_requests().where(schema.ResidentRequest.id == request_id)).first()
    return RequestRecord(*row) if row else None


def search(
    engine: Engine,
    *,
    ids: Collection[int] | None = None,
    service_code: str | Collection[str] | None = None,
    status: str | Collection[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = SEARCH_LIMIT,
) -> list[RequestRecord]:
    """Return the requests matching every given filter, newest first; times are inclusive."""
    r = schema.ResidentRequest
    query = _requests()
    if ids is not None:
        query = query.where(r.id.in_(list(ids)))
    if service_code is not None:
        query = query.where(r.service_code.in_(_as_list(service_code)))
    if status is not None:
        query = query.where(r.status.in_(_as_list(status)))
    if start is not None:
        query = query.where(r.requested_at >= start)
    if end is not None:
        query = query.where(r.requested_at <= end)
    query = query.order_by(r.requested_at.desc(), r.id.desc()).limit(limit)
    with engine.connect() as conn:
        return [RequestRecord(*row) for row in conn.execute(query)]


def get_address(engine: Engine, address_id: int) -> AddressRecord | None:
    """Return the standard address with this id, or None."""
    with engine.connect() as conn:
        row = conn.execute(_addresses().where(schema.Address.id == address_id)).first()
    return AddressRecord(*row) if row else None


def list_addresses(engine: Engine) -> list[AddressRecord]:
    """Return every standard address, in id order, for matchers that index them in memory."""
    with engine.connect() as conn:
        return [
            AddressRecord(*row) for row in conn.execute(_addresses().order_by(schema.Address.id))
        ]


def match_address(engine: Engine, text: str) -> AddressRecord | None:
    """Return the standard address whose full text is exactly this text (trimmed), or None."""
    wanted = text.strip()
    if not wanted:
        return None
    a = schema.Address
    with engine.connect() as conn:
        row = conn.execute(
            _addresses().where(a.full_text == wanted).order_by(a.id).limit(1)
        ).first()
    return AddressRecord(*row) if row else None


def nearest_address(
    engine: Engine, lon: float, lat: float, within_m: float = NEAREST_ADDRESS_M
) -> AddressRecord | None:
    """Return the standard address nearest the point if it lies within `within_m` metres."""
    a = schema.Address
    # A bounding box keeps the scan to the indexable neighbourhood; the squared distance in
    # local metres (longitude shrunk by cos(lat)) orders what is inside it.
    cos_lat = max(math.cos(math.radians(lat)), 1e-6)
    dlat = within_m / METRES_PER_DEGREE_LAT
    dlon = dlat / cos_lat
    dx = (a.lon - lon) * cos_lat
    dy = a.lat - lat
    query = (
        _addresses()
        .where(a.lon.between(lon - dlon, lon + dlon), a.lat.between(lat - dlat, lat + dlat))
        .order_by(dx * dx + dy * dy, a.id)
        .limit(1)
    )
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        return None
    found = AddressRecord(*row)
    x, y = LocalFrame(lon, lat).to_metres(found.lon, found.lat)
    return found if math.hypot(x, y) <= within_m else None


def resolve_address(
    engine: Engine, text: str | None, lon: float | None, lat: float | None
) -> AddressRecord | None:
    """Return the address a request belongs to: exact text match, else nearest within 150 m."""
    if text and (found := match_address(engine, text)):
        return found
    if lon is not None and lat is not None:
        return nearest_address(engine, lon, lat)
    return None


def _as_list(value: str | Collection[str]) -> list[str]:
    """Return a single value or a collection of values as a list."""
    return [value] if isinstance(value, str) else list(value)
