"""Import a device register CSV: each device's id, kind, building or position, and install date."""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import MappingProxyType

from sqlalchemy import (
    Connection,
    Engine,
    String,
    bindparam,
    delete,
    literal,
    or_,
    select,
    update,
)

from cockpit.domain.kinds import DeviceKind
from cockpit.geo import LocalFrame
from cockpit.importers.csv_records import csv_records
from cockpit.importers.errors import ImportFileError, ImportReport, ImportStoreError, read_text
from cockpit.importers.street_checks import OUTSIDE_MARGIN_M, outside_boundary
from cockpit.store import schema
from cockpit.store.bulk import bulk_insert
from cockpit.store.database import reset_sequences

REQUIRED = ("id", "kind", "installed_on")
OPTIONAL = ("code", "building", "lon", "lat", "floor", "report_interval_s")
COLUMN_NAMES = MappingProxyType(
    {
        "编号": "id",
        "设备编号": "id",
        "device_id": "id",
        "类型": "kind",
        "设备类型": "kind",
        "install_date": "installed_on",
        "installed": "installed_on",
        "安装日期": "installed_on",
        "设备编码": "code",
        "建筑": "building",
        "building_code": "building",
        "经度": "lon",
        "纬度": "lat",
        "longitude": "lon",
        "latitude": "lat",
        "楼层": "floor",
        "interval": "report_interval_s",
        "report_interval": "report_interval_s",
        "上报间隔": "report_interval_s",
    }
)
KIND_NAMES = MappingProxyType(
    {
        **{kind.value: kind.value for kind in DeviceKind},
        "高层水压": DeviceKind.WATER_PRESSURE.value,
        "智慧用电": DeviceKind.ELECTRICITY.value,
        "烟感": DeviceKind.SMOKE.value,
        "气感": DeviceKind.GAS.value,
        "巡更点": DeviceKind.PATROL_POINT.value,
        "智能水表": DeviceKind.WATER_METER.value,
        "门磁": DeviceKind.DOOR_SENSOR.value,
        "智慧电梯": DeviceKind.ELEVATOR.value,
        "一键叫车": DeviceKind.TAXI_KIOSK.value,
        "摄像头": DeviceKind.CAMERA.value,
    }
)
# How often a device reports when the register does not say (the simulated fleet's habits).
DEFAULT_INTERVAL_S = MappingProxyType(
    {
        DeviceKind.PATROL_POINT.value: 3_600,
        DeviceKind.WATER_METER.value: 3_600,
        DeviceKind.DOOR_SENSOR.value: 1_800,
    }
)
FALLBACK_INTERVAL_S = 60
MAX_INTERVAL_S = 86_400
MAX_DEVICE_ID = 2**31 - 1
CODE_LENGTH = 32
_DEVICE_ID = re.compile(r"^[1-9][0-9]{0,9}$")  # the MQTT topic's canonical decimal
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
LOOKUP_CHUNK = 500


@dataclass(frozen=True)
class DeviceRow:
    """Hold one validated line of the register."""

    line: int
    id: int
    kind: str
    code: str | None
    building: str | None
    lon: float | None
    lat: float | None
    floor: int | None
    report_interval_s: int
    installed_on: date


@dataclass(frozen=True)
class ParsedDevices:
    """Hold the register's valid lines, the columns it ignored and the lines skipped."""

    rows: list[DeviceRow]
    ignored_columns: tuple[str, ...]
    skipped: tuple[str, ...] = ()
    # The ids that skipped lines name, so --replace does not remove a device for a typo.
    skipped_ids: frozenset[int] = frozenset()


def parse_devices(text: str, skip_invalid: bool = False) -> ParsedDevices:
    """Validate a device register's text line by line (the header is line 1)."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), strict=True)
    records = csv_records(reader)
    try:
        header_line, header = next(records)
    except StopIteration:
        raise ImportFileError("line 1", "the file is empty; expected a header line") from None
    columns, ignored = _columns(header_line, header)
    rows: list[DeviceRow] = []
    skipped: list[str] = []
    skipped_ids: set[int] = set()
    first_line_of: dict[int, int] = {}
    for line, fields in records:
        try:
            if len(fields) != len(header):
                raise ImportFileError(
                    f"line {line}", f"has {len(fields)} fields, the header has {len(header)}"
                )
            row = _row(line, {name: fields[i].strip() for name, i in columns.items()})
            if row.id in first_line_of:
                raise ImportFileError(
                    f"line {line}, id", f"same device id as line {first_line_of[row.id]}"
                )
        except ImportFileError as err:
            if not skip_invalid:
                raise
            skipped.append(str(err))
            named = fields[columns["id"]].strip() if columns["id"] < len(fields) else ""
            if _DEVICE_ID.match(named):
                skipped_ids.add(int(named))
            continue
        first_line_of[row.id] = line
        rows.append(row)
    if not rows:
        raise ImportFileError(
            "line 2",
            "the register has a header but no devices"
            + (f" ({len(skipped)} invalid lines skipped)" if skipped else ""),
        )
    return ParsedDevices(rows, ignored, tuple(skipped), frozenset(skipped_ids))


def _columns(line: int, header: list[str]) -> tuple[dict[str, int], tuple[str, ...]]:
    """Map each known column (English or Chinese name) to its position; name any missing one."""
    columns: dict[str, int] = {}
    ignored = []
    for i, raw in enumerate(header):
        label = raw.strip()
        name = COLUMN_NAMES.get(label, COLUMN_NAMES.get(label.lower(), label.lower()))
        if name not in REQUIRED and name not in OPTIONAL:
            if label:
                ignored.append(label)
            continue
        if name in columns:
            raise ImportFileError(f"line {line}", f"column {name} appears twice in the header")
        columns[name] = i
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        raise ImportFileError(f"line {line}", f"missing required column {', '.join(missing)}")
    if "building" not in columns and not {"lon", "lat"} <= columns.keys():
        raise ImportFileError(f"line {line}", "needs a building column or both lon and lat columns")
    return columns, tuple(ignored)


def _row(line: int, values: dict[str, str]) -> DeviceRow:
    """Validate one line's fields, naming the first column that is wrong."""

    def fail(column: str, reason: str) -> ImportFileError:
        return ImportFileError(f"line {line}, {column}", reason)

    for column, value in values.items():
        if "\x00" in value:
            raise fail(column, "holds a NUL character")
        if column in REQUIRED and not value:
            raise fail(column, "is empty")
    if not _DEVICE_ID.match(values["id"]) or int(values["id"]) > MAX_DEVICE_ID:
        raise fail("id", f"must be a whole number from 1 to {MAX_DEVICE_ID} (the MQTT topic's id)")
    kind = KIND_NAMES.get(values["kind"].lower(), KIND_NAMES.get(values["kind"]))
    if kind is None:
        raise fail(
            "kind",
            f"unknown device kind {values['kind'][:40]!r}; "
            f"expected one of {', '.join(k.value for k in DeviceKind)}",
        )
    code = values.get("code") or None
    if code is not None and len(code) > CODE_LENGTH:
        raise fail("code", f"is longer than {CODE_LENGTH} characters")
    lon, lat = _number(values.get("lon"), -180, 180), _number(values.get("lat"), -90, 90)
    if values.get("lon") and lon is None:
        raise fail("lon", "must be a longitude from -180 to 180")
    if values.get("lat") and lat is None:
        raise fail("lat", "must be a latitude from -90 to 90")
    if (lon is None) != (lat is None):
        raise fail("lat" if lat is None else "lon", "is missing: give both lon and lat, or neither")
    building = values.get("building") or None
    if building is None and lon is None:
        raise fail("building", "is empty and there are no coordinates: say where the device is")
    floor = _whole(values.get("floor"), -10, 300)
    if values.get("floor") and floor is None:
        raise fail("floor", "must be a whole number from -10 to 300")
    interval = _whole(values.get("report_interval_s"), 1, MAX_INTERVAL_S)
    if values.get("report_interval_s") and interval is None:
        raise fail("report_interval_s", f"must be whole seconds from 1 to {MAX_INTERVAL_S}")
    installed = _date(values["installed_on"])
    if installed is None:
        raise fail("installed_on", "must be a date written YYYY-MM-DD")
    return DeviceRow(
        line=line,
        id=int(values["id"]),
        kind=kind,
        code=code,
        building=building,
        lon=lon,
        lat=lat,
        floor=floor,
        report_interval_s=interval or DEFAULT_INTERVAL_S.get(kind, FALLBACK_INTERVAL_S),
        installed_on=installed,
    )


def _number(text: str | None, low: float, high: float) -> float | None:
    """Return a decimal within bounds, or None when empty or not one."""
    try:
        value = float(text) if text else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) and low <= value <= high else None


def _whole(text: str | None, low: int, high: int) -> int | None:
    """Return a whole number within bounds, or None when empty or not one."""
    if not text or not re.fullmatch(r"-?[0-9]{1,9}", text):
        return None
    value = int(text)
    return value if low <= value <= high else None


def _date(text: str) -> date | None:
    """Return a YYYY-MM-DD date, or None."""
    if not _DATE.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def import_devices(
    engine: Engine,
    path_or_text: str | Path | bytes,
    *,
    skip_invalid: bool = False,
    replace: bool = False,
) -> ImportReport:
    """Add or update the register's devices by id, all or nothing; with replace, drop the rest.

    A device's building is named by its code or external (OSM) id; without coordinates it
    stands at the building's centre. A device beyond the street's boundary is refused.
    """
    parsed = parse_devices(read_text(path_or_text, (".csv",)), skip_invalid)
    skipped = list(parsed.skipped)
    with engine.begin() as conn:
        street = conn.execute(select(schema.Street.__table__)).first()
        if street is None:
            raise ImportStoreError("the store holds no street; seed one before importing devices")
        places, line_errors = _place(conn, street, parsed.rows)
        if line_errors and not skip_invalid:
            raise line_errors[0]
        # In the file's order, whichever check (the line's own or the store's) refused it.
        skipped = sorted(skipped + [str(err) for err in line_errors], key=_line_number)
        bad = {int(err.location.split(",")[0].removeprefix("line ")) for err in line_errors}
        rows = [r for r in parsed.rows if r.line not in bad]
        if not rows:
            raise ImportFileError("file", f"no valid device to import ({len(skipped)} skipped)")
        keep = parsed.skipped_ids | {r.id for r in parsed.rows if r.line in bad}
        details = _write(conn, rows, places, replace, keep)
    reset_sequences(engine)
    details["skipped_invalid"] = len(skipped)
    if parsed.ignored_columns:
        details["ignored_columns"] = ", ".join(parsed.ignored_columns)
    return ImportReport("devices", len(rows), details, skipped)


def _line_number(message: str) -> int:
    """Return the line a skipped line's message names ("line 7, kind: ...")."""
    match = re.match(r"line ([0-9]+)", message)
    return int(match.group(1)) if match else 0


@dataclass(frozen=True)
class _Place:
    """Hold where a device goes: its building and compound (or none) and its position."""

    building_id: int | None
    compound_id: int | None
    lon: float
    lat: float


def _place(
    conn: Connection, street, rows: list[DeviceRow]
) -> tuple[dict[int, _Place], list[ImportFileError]]:
    """Resolve each row's building and position; return the places and the lines that fail."""
    building = schema.Building.__table__
    refs = sorted({r.building for r in rows if r.building})
    found: dict[str, tuple[int, int | None, float, float]] = {}
    for start in range(0, len(refs), LOOKUP_CHUNK):
        chunk = refs[start : start + LOOKUP_CHUNK]
        for b in conn.execute(
            select(
                building.c.id,
                building.c.code,
                building.c.external_id,
                building.c.compound_id,
                building.c.lon,
                building.c.lat,
            ).where(or_(building.c.code.in_(chunk), building.c.external_id.in_(chunk)))
        ):
            for key in (b.code, b.external_id):
                if key is not None:
                    found.setdefault(key, (b.id, b.compound_id, b.lon, b.lat))
    places: dict[int, _Place] = {}
    errors: list[ImportFileError] = []
    for r in rows:
        if r.building and r.building not in found:
            errors.append(
                ImportFileError(
                    f"line {r.line}, building",
                    f"no building has code or external id {r.building[:40]!r}",
                )
            )
            continue
        b_id, compound, b_lon, b_lat = found.get(r.building or "", (None, None, None, None))
        lon, lat = (r.lon, r.lat) if r.lon is not None else (b_lon, b_lat)
        places[r.line] = _Place(b_id, compound, lon, lat)
    frame = LocalFrame(street.center_lon, street.center_lat)
    lines = [line for line in places]
    far = outside_boundary(street.boundary, [(places[n].lon, places[n].lat) for n in lines], frame)
    for line, out in zip(lines, far, strict=True):
        if out:
            errors.append(
                ImportFileError(
                    f"line {line}, lon",
                    f"lies more than {OUTSIDE_MARGIN_M:.0f} m outside the street's boundary",
                )
            )
    errors.sort(key=lambda e: int(e.location.split(",")[0].removeprefix("line ")))
    return places, errors


def _write(
    conn: Connection,
    rows: list[DeviceRow],
    places: dict[int, _Place],
    replace: bool,
    also_keep: frozenset[int] | set[int] = frozenset(),
) -> dict[str, int | str]:
    """Insert new devices, update known ones, and with replace remove those not listed."""
    device = schema.Device.__table__
    listed = [r.id for r in rows]
    removed = 0
    if replace:
        keep = set(listed) | set(also_keep)
        gone = [i for i in conn.execute(select(device.c.id)).scalars() if i not in keep]
        for start in range(0, len(gone), LOOKUP_CHUNK):
            removed += conn.execute(
                delete(device).where(device.c.id.in_(gone[start : start + LOOKUP_CHUNK]))
            ).rowcount
    known: dict[int, str] = {}
    for start in range(0, len(listed), LOOKUP_CHUNK):
        chunk = listed[start : start + LOOKUP_CHUNK]
        known.update(
            conn.execute(select(device.c.id, device.c.code).where(device.c.id.in_(chunk))).all()
        )
    values = []
    for r in rows:
        where = places[r.line]
        values.append(
            {
                "d_id": r.id,
                "code": r.code or known.get(r.id) or f"{r.kind[:2].upper()}R{r.id:09d}",
                "kind": r.kind,
                "building_id": where.building_id,
                "compound_id": where.compound_id,
                "floor": r.floor,
                "lon": round(where.lon, 7),
                "lat": round(where.lat, 7),
                "report_interval_s": r.report_interval_s,
                "installed_on": r.installed_on,
            }
        )
    _refuse_taken_codes(conn, rows, values)
    updates = [v for v in values if v["d_id"] in known]
    inserts = [v for v in values if v["d_id"] not in known]
    if updates:
        # Codes step aside first, so two listed devices may swap codes.
        conn.execute(
            update(device)
            .where(device.c.id == bindparam("d_id"))
            .values(code=literal("~", String) + device.c.code),
            [{"d_id": v["d_id"]} for v in updates],
        )
        conn.execute(
            update(device)
            .where(device.c.id == bindparam("d_id"))
            .values({k: bindparam(k) for k in updates[0] if k != "d_id"}),
            updates,
        )
    bulk_insert(
        conn,
        device,
        [{"id": v["d_id"], **{k: x for k, x in v.items() if k != "d_id"}} for v in inserts],
    )
    return {
        "added": len(inserts),
        "updated": len(updates),
        "removed": int(removed or 0),
        "in_buildings": sum(1 for v in values if v["building_id"] is not None),
    }


def _refuse_taken_codes(conn: Connection, rows: list[DeviceRow], values: list[dict]) -> None:
    """Refuse a code used twice in the register or by a device the register does not list."""
    device = schema.Device.__table__
    first: dict[str, int] = {}
    for r, v in zip(rows, values, strict=True):
        if v["code"] in first:
            raise ImportFileError(
                f"line {r.line}, code", f"same code {v['code']!r} as line {first[v['code']]}"
            )
        first[v["code"]] = r.line
    listed = {r.id for r in rows}
    codes = list(first)
    for start in range(0, len(codes), LOOKUP_CHUNK):
        chunk = codes[start : start + LOOKUP_CHUNK]
        for other_id, code in conn.execute(
            select(device.c.id, device.c.code).where(device.c.code.in_(chunk))
        ):
            if other_id not in listed:
                raise ImportFileError(
                    f"line {first[code]}, code",
                    f"code {code!r} belongs to device {other_id}, which the register does not list",
                )
