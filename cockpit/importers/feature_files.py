"""Read the features of a GIS file: GeoJSON here, Shapefile, GeoPackage and OSM through pyogrio."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cockpit.importers.errors import ImportFileError, read_text

GEOJSON_SUFFIXES = (".geojson", ".json")
# WGS84 and China's CGCS2000 (their difference is centimetres, below a footprint's precision).
LONLAT_CRS = frozenset({"EPSG:4326", "OGC:CRS84", "EPSG:4490"})
# OSM files read by GDAL keep the tags without a column of their own in one hstore string.
_HSTORE_PAIR = re.compile(r'"((?:[^"\\]|\\.)*)"=>"((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class SourceFeature:
    """Hold one feature as read: where it is in the file, its properties and GeoJSON geometry."""

    index: int
    source_layer: str | None
    feature: Any  # the GeoJSON Feature object, still unchecked
    # Why GEOS could not read the geometry (a ring of two points): the feature is then invalid.
    geometry_error: str | None = None


def read_features(path_or_text: str | Path | bytes) -> list[SourceFeature]:
    """Return every feature of a GeoJSON text or file, or of any vector file GDAL reads."""
    if isinstance(path_or_text, str | Path) and _is_gdal_file(path_or_text):
        return _read_with_gdal(Path(path_or_text))
    return parse_feature_collection(read_text(path_or_text, GEOJSON_SUFFIXES))


def parse_feature_collection(text: str) -> list[SourceFeature]:
    """Return the features of a GeoJSON FeatureCollection's text, naming where it is broken."""
    return [SourceFeature(i, None, feature) for i, feature in enumerate(feature_list(text))]


def feature_list(text: str) -> list[Any]:
    """Return a GeoJSON FeatureCollection's features, still unchecked, or say where it is broken."""
    try:
        data = json.loads(text, parse_int=_parse_int)
    except json.JSONDecodeError as err:
        raise ImportFileError(
            f"line {err.lineno}, column {err.colno}", f"invalid JSON: {err.msg}"
        ) from None
    except RecursionError:
        raise ImportFileError("file", "JSON is nested too deeply") from None
    except ValueError as err:
        raise ImportFileError("file", f"invalid JSON: {err}") from None
    if not isinstance(data, dict):
        raise ImportFileError(
            "file", f"expected a GeoJSON FeatureCollection object, got {json_kind(data)}"
        )
    if data.get("type") != "FeatureCollection":
        raise ImportFileError(
            "file", f"expected type FeatureCollection, got {short(data.get('type'))}"
        )
    features = data.get("features")
    if not isinstance(features, list):
        raise ImportFileError("file", "a FeatureCollection needs a 'features' list")
    return features


def json_kind(value: Any) -> str:
    """Name a JSON value's kind for a message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"


def short(value: Any) -> str:
    """Quote a small value for a message, cut short so a message stays one line."""
    return repr(value)[:40] if isinstance(value, str) else json_kind(value)


def _parse_int(digits: str) -> int | float:
    """Read a JSON integer; one too long for Python's int parser becomes a float to reject later."""
    return int(digits) if len(digits) <= 4_000 else float(digits)


def _is_gdal_file(path: str | Path) -> bool:
    """Tell whether a path names a file (or folder) to read through GDAL rather than as GeoJSON."""
    text = str(path)
    if "\n" in text or len(text) > 4096:
        return False
    name = text.strip().lower()
    if name.endswith(GEOJSON_SUFFIXES):
        return False
    try:
        return Path(text).exists() and (Path(text).is_dir() or not _looks_like_json(Path(text)))
    except (OSError, ValueError):
        return False


def _looks_like_json(path: Path) -> bool:
    """Tell whether a file starts like JSON (a GeoJSON file saved without its suffix)."""
    with path.open("rb") as handle:
        head = handle.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"{")


def _read_with_gdal(path: Path) -> list[SourceFeature]:
    """Read every layer of a Shapefile, GeoPackage, OSM or other GDAL file as GeoJSON features."""
    import pyogrio

    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(path)]
    except Exception as err:  # pyogrio raises its own DataSourceError and GDAL's errors
        raise ImportFileError("file", f"cannot read {path.name} as a GIS file: {err}") from None
    out: list[SourceFeature] = []
    for layer in layers:
        try:
            meta, _, geometries, fields = pyogrio.raw.read(path, layer=layer, return_fids=True)
        except Exception as err:
            raise ImportFileError(f"layer {layer}", f"cannot be read: {err}") from None
        if geometries is None:
            continue  # a table without geometry, such as a GeoPackage's attribute table
        crs = meta.get("crs")
        if crs and crs.upper() not in LONLAT_CRS:
            raise ImportFileError(
                f"layer {layer}",
                f"is in {crs}; reproject it to WGS84 first (ogr2ogr -t_srs EPSG:4326)",
            )
        names = [str(n) for n in meta["fields"]]
        for i, wkb in enumerate(geometries):
            properties = {
                name: _plain(column[i]) for name, column in zip(names, fields, strict=True)
            }
            properties.update(_hstore(properties.pop("other_tags", None)))
            geometry, problem = _geometry(wkb, str(meta.get("geometry_type") or ""))
            feature = {"type": "Feature", "properties": properties, "geometry": geometry}
            osm_id = _osm_id(layer, properties)
            if osm_id is not None:
                feature["id"] = osm_id
            out.append(SourceFeature(i, layer, feature, problem))
    return out


def _geometry(wkb: Any, layer_type: str) -> tuple[dict[str, Any] | None, str | None]:
    """Return a WKB geometry as GeoJSON, or the layer's type and why it cannot be read."""
    import shapely

    if wkb is None:
        return None, None
    try:
        return json.loads(shapely.to_geojson(shapely.from_wkb(wkb))), None
    except shapely.errors.GEOSException as err:
        return {"type": layer_type.removeprefix("3D ") or "Unknown", "coordinates": None}, str(err)


def _osm_id(layer: str, properties: dict[str, Any]) -> str | None:
    """Return an OSM feature's id as OSM writes it (way/12, relation/3, node/7), if it has one."""
    if properties.get("osm_way_id"):
        return f"way/{properties['osm_way_id']}"
    if not properties.get("osm_id"):
        return None
    kind = {"points": "node", "lines": "way"}.get(layer, "relation")
    return f"{kind}/{properties['osm_id']}"


def _plain(value: Any) -> Any:
    """Return a numpy field value as a plain JSON value (None for empty and NaN)."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value if isinstance(value, str | int | float | bool) else str(value)


def _hstore(text: Any) -> dict[str, str]:
    """Return the tags of GDAL's OSM other_tags string ('"k"=>"v","k2"=>"v2"')."""
    if not isinstance(text, str):
        return {}
    return {k.replace('\\"', '"'): v.replace('\\"', '"') for k, v in _HSTORE_PAIR.findall(text)}
