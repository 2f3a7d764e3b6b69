"""Do the small amount of plane geometry the street needs, in WGS84 lon/lat and local metres."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Point = tuple[float, float]
Ring = list[Point]

METRES_PER_DEGREE_LAT = 111_320.0


@dataclass(frozen=True)
class LocalFrame:
    """Convert between metres east/north of a centre and WGS84 lon/lat (fine at street scale)."""

    lon0: float
    lat0: float

    @property
    def _metres_per_degree_lon(self) -> float:
        return METRES_PER_DEGREE_LAT * math.cos(math.radians(self.lat0))

    def to_lonlat(self, x: float, y: float) -> Point:
        """Return the lon/lat of a point x metres east and y metres north of the centre."""
        return (
            round(self.lon0 + x / self._metres_per_degree_lon, 7),
            round(self.lat0 + y / METRES_PER_DEGREE_LAT, 7),
        )

    def to_metres(self, lon: float, lat: float) -> Point:
        """Return metres east and north of the centre for a lon/lat."""
        return (
            (lon - self.lon0) * self._metres_per_degree_lon,
            (lat - self.lat0) * METRES_PER_DEGREE_LAT,
        )

    def rect_polygon(self, x0: float, y0: float, x1: float, y1: float) -> dict:
        """Return a GeoJSON Polygon for a rectangle given in local metres (counter-clockwise)."""
        corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
        return {
            "type": "Polygon",
            "coordinates": [[list(self.to_lonlat(x, y)) for x, y in corners]],
        }

    def line(self, points: Sequence[Point]) -> dict:
        """Return a GeoJSON LineString for points given in local metres."""
        return {
            "type": "LineString",
            "coordinates": [list(self.to_lonlat(x, y)) for x, y in points],
        }


def ring_area(ring: Sequence[Sequence[float]]) -> float:
    """Return the signed shoelace area of a ring in its own units (positive when counter-clockwise)."""
    total = 0.0
    for (x1, y1), (x2, y2) in zip(ring, ring[1:], strict=False):
        total += x1 * y2 - x2 * y1
    return total / 2.0


def ring_centroid(ring: Sequence[Sequence[float]]) -> Point:
    """Return the area centroid of a ring, or the vertex mean when the ring has no area."""
    area = ring_area(ring)
    if abs(area) < 1e-18:
        xs = [p[0] for p in ring[:-1]] or [ring[0][0]]
        ys = [p[1] for p in ring[:-1]] or [ring[0][1]]
        return sum(xs) / len(xs), sum(ys) / len(ys)
    cx = cy = 0.0
    for (x1, y1), (x2, y2) in zip(ring, ring[1:], strict=False):
        cross = x1 * y2 - x2 * y1
        cx += (x1 + x2) * cross
        cy += (y1 + y2) * cross
    return cx / (6 * area), cy / (6 * area)


def outer_rings(geometry: dict) -> list[Sequence[Sequence[float]]]:
    """Return the outer rings of a Polygon or MultiPolygon."""
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"][0]]
    return [polygon[0] for polygon in geometry["coordinates"]]


def geometry_centroid(geometry: dict) -> Point:
    """Return the centroid of a Polygon or MultiPolygon's largest outer ring."""
    ring = max(outer_rings(geometry), key=lambda r: abs(ring_area(r)))
    return ring_centroid(ring)


def point_in_ring(point: Point, ring: Sequence[Sequence[float]]) -> bool:
    """Tell whether a point lies inside a ring (ray casting; edges count as inside or out)."""
    x, y = point
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:], strict=False):
        if (y1 > y) != (y2 > y):
            cross_x = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            if x < cross_x:
                inside = not inside
    return inside


def point_in_geometry(point: Point, geometry: dict) -> bool:
    """Tell whether a point lies inside a Polygon or MultiPolygon (holes honoured)."""
    polygons = (
        [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    )
    for rings in polygons:
        if point_in_ring(point, rings[0]) and not any(
            point_in_ring(point, hole) for hole in rings[1:]
        ):
            return True
    return False


def distance_m(a: Point, b: Point) -> float:
    """Return the approximate ground distance in metres between two lon/lat points."""
    frame = LocalFrame(a[0], a[1])
    x, y = frame.to_metres(*b)
    return math.hypot(x, y)


# GCJ-02 (the "Mars" datum of AMap and Tencent tiles): Krasovsky ellipsoid constants of the
# published algorithm; the offset is a fixed function of position, hundreds of metres in China.
GCJ_AXIS = 6_378_245.0
GCJ_EE = 0.006_693_421_622_965_943_23


def outside_china(lon: float, lat: float) -> bool:
    """Tell whether a WGS84 point lies outside China's box, where GCJ-02 equals WGS84."""
    return not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _gcj_offset(lon: float, lat: float) -> Point:
    """Return the GCJ-02 offset (dlon, dlat) in degrees at a WGS84 point."""
    x, y = lon - 105.0, lat - 35.0
    ripple = (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2 / 3
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    dlat += ripple
    dlat += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2 / 3
    dlat += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2 / 3
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    dlon += ripple
    dlon += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2 / 3
    dlon += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2 / 3
    rad_lat = math.radians(lat)
    magic = 1 - GCJ_EE * math.sin(rad_lat) ** 2
    sqrt_magic = math.sqrt(magic)
    dlat = dlat * 180.0 / ((GCJ_AXIS * (1 - GCJ_EE)) / (magic * sqrt_magic) * math.pi)
    dlon = dlon * 180.0 / (GCJ_AXIS / sqrt_magic * math.cos(rad_lat) * math.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: float, lat: float) -> Point:
    """Return the GCJ-02 lon/lat of a WGS84 point (unchanged outside China)."""
    if outside_china(lon, lat):
        return lon, lat
    dlon, dlat = _gcj_offset(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon: float, lat: float, tolerance_deg: float = 1e-9) -> Point:
    """Return the WGS84 lon/lat of a GCJ-02 point by fixed-point iteration (to ~0.1 mm)."""
    wlon, wlat = lon, lat
    for _ in range(30):
        glon, glat = wgs84_to_gcj02(wlon, wlat)
        err_lon, err_lat = glon - lon, glat - lat
        if abs(err_lon) < tolerance_deg and abs(err_lat) < tolerance_deg:
            break
        wlon, wlat = wlon - err_lon, wlat - err_lat
    return wlon, wlat
