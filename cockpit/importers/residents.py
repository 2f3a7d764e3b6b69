"""Import a "three actuals" (三实) resident register CSV onto the street's standard addresses."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, select

from cockpit.domain.kinds import Registration
from cockpit.importers.csv_records import csv_records
from cockpit.importers.errors import ImportFileError, ImportReport, ImportStoreError, read_text
from cockpit.simulator.people import id_check_digit, is_valid_id_number
from cockpit.store import schema
from cockpit.store.bulk import bulk_insert
from cockpit.store.database import max_id, reset_sequences

REQUIRED = ("address", "room", "name", "id_number", "gender", "birth_date", "registration")
OPTIONAL = ("phone", "lives_alone")
CHINESE_NAMES = MappingProxyType(
    {
        "标准地址": "address",
        "房号": "room",
        "姓名": "name",
        "身份证号": "id_number",
        "手机号": "phone",
        "性别": "gender",
        "出生日期": "birth_date",
        "户籍类型": "registration",
        "独居": "lives_alone",
    }
)
GENDERS = MappingProxyType({"m": "M", "f": "F", "男": "M", "女": "F"})
REGISTRATIONS = MappingProxyType(
    {
        "registered": Registration.REGISTERED.value,
        "户籍": Registration.REGISTERED.value,
        "floating": Registration.FLOATING.value,
        "流动": Registration.FLOATING.value,
    }
)
TRUTH = MappingProxyType(
    {
        "true": True,
        "是": True,
        "1": True,
        "yes": True,
        "false": False,
        "否": False,
        "0": False,
        "no": False,
        "": False,
    }
)
LENGTHS = MappingProxyType({"address": 200, "room": 16, "name": 32})
# Store look-ups go in slices, well under SQLite's and PostgreSQL's bound-parameter limits.
LOOKUP_CHUNK = 500

_ID_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")
_PHONE = re.compile(r"^1[0-9]{10}$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


@dataclass(frozen=True)
class RegisterRow:
    """Hold one validated line of the register."""

    line: int
    address: str
    room: str
    name: str
    id_number: str
    phone: str | None
    gender: str
    birth_date: date
    registration: str
    lives_alone: bool


@dataclass(frozen=True)
class ParsedRegister:
    """Hold the validated lines of a register and the header columns it ignored."""

    rows: list[RegisterRow]
    ignored_columns: tuple[str, ...]


def parse_register(text: str) -> ParsedRegister:
    """Validate a register CSV's text line by line and return its rows (header is line 1)."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), strict=True)
    records = csv_records(reader)
    try:
        header_line, header = next(records)
    except StopIteration:
        raise ImportFileError("line 1", "the file is empty; expected a header line") from None
    columns, ignored = _columns(header_line, header)
    rows: list[RegisterRow] = []
    first_line_of: dict[str, int] = {}
    for line, fields in records:
        if len(fields) != len(header):
            raise ImportFileError(
                f"line {line}", f"has {len(fields)} fields, the header has {len(header)}"
            )
        row = _row(line, {name: fields[i] for name, i in columns.items()})
        if row.id_number in first_line_of:
            raise ImportFileError(
                f"line {line}, id_number", f"same ID number as line {first_line_of[row.id_number]}"
            )
        first_line_of[row.id_number] = line
        rows.append(row)
    if not rows:
        raise ImportFileError("line 2", "the register has a header but no residents")
    return ParsedRegister(rows, ignored)


def _columns(line: int, header: list[str]) -> tuple[dict[str, int], tuple[str, ...]]:
    """Map each known column (English or Chinese name) to its position; name any missing one."""
    columns: dict[str, int] = {}
    ignored = []
    for i, raw in enumerate(header):
        label = raw.strip()
        name = CHINESE_NAMES.get(label, label.lower())
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
    return columns, tuple(ignored)


def _row(line: int, raw: dict[str, str]) -> RegisterRow:
    """Validate one line's fields, naming the first column that is wrong."""
    values = {name: value.strip() for name, value in raw.items()}

    def fail(column: str, reason: str) -> ImportFileError:
        return ImportFileError(f"line {line}, {column}", reason)

    for column, value in values.items():
        if "\x00" in value:
            raise fail(column, "holds a NUL character")
        if column in REQUIRED and not value:
            raise fail(column, "is empty")
        if column in LENGTHS and len(value) > LENGTHS[column]:
            raise fail(column, f"is longer than {LENGTHS[column]} characters")
    id_number = values["id_number"].upper()
    problem = id_number_problem(id_number)
    if problem:
        raise fail("id_number", problem)
    phone = values.get("phone") or None
    if phone is not None and not _PHONE.match(phone):
        raise fail("phone", "must be 11 digits starting with 1")
    gender = GENDERS.get(values["gender"].lower())
    if gender is None:
        raise fail("gender", "must be M, F, 男 or 女")
    if gender != ("M" if int(id_number[16]) % 2 else "F"):
        raise fail(
            "gender", "does not match the ID number (its 17th digit is odd for men, even for women)"
        )
    birth = _date(values["birth_date"])
    if birth is None:
        raise fail("birth_date", "must be a date written YYYY-MM-DD")
    if birth != date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14])):
        raise fail("birth_date", "does not match the birth date in the ID number")
    registration = REGISTRATIONS.get(values["registration"].lower())
    if registration is None:
        raise fail("registration", "must be registered, floating, 户籍 or 流动")
    lives_alone = TRUTH.get(values.get("lives_alone", "").lower())
    if lives_alone is None:
        raise fail("lives_alone", "must be true, false, 是, 否, 1 or 0")
    return RegisterRow(
        line=line,
        address=values["address"],
        room=values["room"],
        name=values["name"],
        id_number=id_number,
        phone=phone,
        gender=gender,
        birth_date=birth,
        registration=registration,
        lives_alone=lives_alone,
    )


def id_number_problem(value: str) -> str | None:
    """Say what is wrong with an 18-character resident ID number, or None when it is valid."""
    if len(value) != 18:
        return "must be 18 characters"
    if not _ID_SHAPE.match(value):
        return "must be 17 digits followed by a digit or X"
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return "holds no valid birth date"
    if id_check_digit(value[:17]) != value[17] or not is_valid_id_number(value):
        return "check digit is wrong"
    return None


def _date(text: str) -> date | None:
    """Return a YYYY-MM-DD date, or None for any other spelling."""
    if not _DATE.match(text):
        return None
    try:
        return date(int(text[:4]), int(text[5:7]), int(text[8:10]))
    except ValueError:
        return None


# -- writing ---------------------------------------------------------------------------------


def import_residents(engine: Engine, path_or_text: str | Path | bytes) -> ImportReport:
    """Add a register's residents, creating the households their address and room name."""
    register = parse_register(read_text(path_or_text, (".csv", ".txt")))
    rows = register.rows
    with engine.begin() as conn:
        addresses = _resolve_addresses(conn, rows)
        _refuse_known_ids(conn, rows)
        household = schema.Household.__table__
        members: dict[tuple[int, str], list[RegisterRow]] = {}
        for row in rows:
            members.setdefault((addresses[row.line][0], row.room), []).append(row)
        existing = _existing_households(conn, {address_id for address_id, _ in members})
        next_household = max_id(conn, household) + 1
        new_households = []
        household_of: dict[tuple[int, str], int] = dict(existing)
        building_of = {address_id: building_id for address_id, building_id in addresses.values()}
        for key, people in members.items():
            if key in household_of:
                continue
            floating = any(p.registration == Registration.FLOATING.value for p in people)
            new_households.append(
                {
                    "id": next_household,
                    "address_id": key[0],
                    "building_id": building_of[key[0]],
                    "room": key[1],
                    "tenure": "tenant" if floating else "owner",
                    "area_m2": None,
                }
            )
            household_of[key] = next_household
            next_household += 1
        resident = schema.Resident.__table__
        first_resident = max_id(conn, resident) + 1
        resident_rows = [
            {
                "id": first_resident + i,
                "household_id": household_of[(addresses[row.line][0], row.room)],
                "name": row.name,
                "id_number": row.id_number,
                "phone": row.phone,
                "gender": row.gender,
                "birth_date": row.birth_date,
                "registration": row.registration,
                "lives_alone": row.lives_alone,
                "source": "imported",
            }
            for i, row in enumerate(rows)
        ]
        bulk_insert(conn, household, new_households)
        bulk_insert(conn, resident, resident_rows)
    reset_sequences(engine)
    details: dict[str, int | str] = {
        "households_created": len(new_households),
        "households_existing": len(members) - len(new_households),
        "addresses": len({address_id for address_id, _ in members}),
    }
    if register.ignored_columns:
        details["ignored_columns"] = ", ".join(register.ignored_columns)
    return ImportReport("residents", len(resident_rows), details)


def _chunks(values: list[Any]) -> Iterable[list[Any]]:
    """Yield slices of a list small enough for one IN (...) look-up."""
    for start in range(0, len(values), LOOKUP_CHUNK):
        yield values[start : start + LOOKUP_CHUNK]


def _resolve_addresses(conn: Connection, rows: list[RegisterRow]) -> dict[int, tuple[int, int]]:
    """Return (address id, building id) per line, matching the address code first, then full text."""
    if not conn.execute(select(func.count()).select_from(schema.Street)).scalar_one():
        raise ImportStoreError("the store holds no street; seed one before importing residents")
    address = schema.Address.__table__
    wanted = sorted({row.address for row in rows})
    by_code: dict[str, tuple[int, int]] = {}
    by_text: dict[str, list[tuple[int, int]]] = {}
    for chunk in _chunks(wanted):
        found = conn.execute(
            select(address.c.id, address.c.building_id, address.c.code).where(
                address.c.code.in_(bindparam("values", expanding=True))
            ),
            {"values": chunk},
        )
        for address_id, building_id, code in found:
            by_code[code] = (address_id, building_id)
        found = conn.execute(
            select(address.c.id, address.c.building_id, address.c.full_text).where(
                address.c.full_text.in_(bindparam("values", expanding=True))
            ),
            {"values": chunk},
        )
        for address_id, building_id, text in found:
            by_text.setdefault(text, []).append((address_id, building_id))
    resolved = {}
    for row in rows:
        if row.address in by_code:
            resolved[row.line] = by_code[row.address]
            continue
        matches = by_text.get(row.address, [])
        if not matches:
            raise ImportFileError(
                f"line {row.line}, address", f"unknown standard address {row.address!r}"
            )
        if len(matches) > 1:
            raise ImportFileError(
                f"line {row.line}, address",
                f"{len(matches)} standard addresses read like this; use the address code",
            )
        resolved[row.line] = matches[0]
    return resolved


def _refuse_known_ids(conn: Connection, rows: list[RegisterRow]) -> None:
    """Refuse ID numbers the store already holds, naming the first line that repeats one."""
    resident = schema.Resident.__table__
    known: set[str] = set()
    for chunk in _chunks([row.id_number for row in rows]):
        known.update(
            conn.execute(
                select(resident.c.id_number).where(
                    resident.c.id_number.in_(bindparam("values", expanding=True))
                ),
                {"values": chunk},
            ).scalars()
        )
    for row in rows:
        if row.id_number in known:
            raise ImportFileError(
                f"line {row.line}, id_number",
                "a resident with this ID number is already registered",
            )


def _existing_households(conn: Connection, address_ids: set[int]) -> dict[tuple[int, str], int]:
    """Return the households already at these addresses, keyed by (address id, room)."""
    household = schema.Household.__table__
    found: dict[tuple[int, str], int] = {}
    for chunk in _chunks(sorted(address_ids)):
        for household_id, address_id, room in conn.execute(
            select(household.c.id, household.c.address_id, household.c.room).where(
                household.c.address_id.in_(bindparam("values", expanding=True))
            ),
            {"values": chunk},
        ):
            found[(address_id, room)] = household_id
    return found
