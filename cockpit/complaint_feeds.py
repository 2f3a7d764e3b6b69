"""Feed complaints (110, 12345, 96315, labour inspection) from a watched folder and SQL tables."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import re
import time
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from sqlalchemy import (
    Engine,
    Integer,
    MetaData,
    RowMapping,
    Table,
    create_engine,
    select,
    type_coerce,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.types import NullType

from cockpit.domain.kinds import ComplaintSource
from cockpit.importers.csv_records import csv_records
from cockpit.importers.errors import ImportFileError, read_text
from cockpit.ingest import Ingest
from cockpit.live import LiveStore, LiveStoreError
from cockpit.store import schema
from cockpit.store.requests import NEAREST_ADDRESS_M, list_addresses, nearest_address

log = logging.getLogger(__name__)

ERROR_CHARS = 200
FIELDS = (
    "source",
    "external_id",
    "received_at",
    "category",
    "text",
    "address",
    "enterprise_name",
    "uscc",
    "lon",
    "lat",
)
REQUIRED = FIELDS[:6]
# Header (CSV) and key (JSON) names as the channels' exports spell them.
CHINESE_NAMES = MappingProxyType(
    {
        "来源": "source",
        "编号": "external_id",
        "时间": "received_at",
        "类别": "category",
        "内容": "text",
        "地址": "address",
        "企业名称": "enterprise_name",
        "统一社会信用代码": "uscc",
        "经度": "lon",
        "纬度": "lat",
    }
)
LABELS = MappingProxyType({name: label for label, name in CHINESE_NAMES.items()})
SOURCE_ALIASES = MappingProxyType(
    {
        "110": ComplaintSource.POLICE_110,
        "police": ComplaintSource.POLICE_110,
        "公安": ComplaintSource.POLICE_110,
        "110报警": ComplaintSource.POLICE_110,
        "12345": ComplaintSource.HOTLINE_12345,
        "hotline": ComplaintSource.HOTLINE_12345,
        "12345热线": ComplaintSource.HOTLINE_12345,
        "市民热线": ComplaintSource.HOTLINE_12345,
        "96315": ComplaintSource.MARKET_96315,
        "market": ComplaintSource.MARKET_96315,
        "市场监管": ComplaintSource.MARKET_96315,
        "96315热线": ComplaintSource.MARKET_96315,
        "labour": ComplaintSource.LABOUR,
        "labor": ComplaintSource.LABOUR,
        "劳动监察": ComplaintSource.LABOUR,
        "劳动保障监察": ComplaintSource.LABOUR,
        "劳动": ComplaintSource.LABOUR,
    }
)
TEXT_MAX = 4000
# Complaints are recent; anything outside this span is a typo, and far-out years overflow UTC.
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
TIME_EXAMPLE = "2026-03-01T09:30:00+08:00"
# Store look-ups go in slices, well under SQLite's and PostgreSQL's bound-parameter limits.
LOOKUP_CHUNK = 500
# A file this old (seconds) is complete even if this process has not seen it before.
SETTLE_S = 2.0
# Matchers reload addresses and enterprises this often, so a building import is picked up.
REFRESH_S = 300.0
IDENTIFIER_MAX = 63  # PostgreSQL's limit, the tighter of the two

_USCC = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$")
_SPACE = re.compile(r"\s+")
_BRACKETS = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|【[^【】]*】")
# Province, city, district, street or town names in front of the road: 上海市杨浦区长白新村街道.
_ADMIN = re.compile(r"^[\u4e00-\u9fff]{2,12}?(?:省|自治区|特别行政区|市|区|县|街道|镇|乡)")
_BUILDING = re.compile(r"(\d+)(?:号楼|号幢|号栋|号座|幢|栋|座)")
# What follows a building: a room (1203室, 号-1203), a floor (3楼, 3层) or a unit (2单元).
_TAIL = re.compile(
    r"(?:(?<=号)-?[A-Za-z]?\d+[A-Za-z]?|[A-Za-z]?\d+[A-Za-z]?(?:室|房|户)|\d+(?:层|楼|F)|\d+单元)$"
)
_HOUSE = re.compile(r"(\d+弄)?(\d+)号?")


# -- records ---------------------------------------------------------------------------------


def _fail(kind: str, message: str) -> PydanticCustomError:
    """Return a validation error whose type names the problem, for counters and messages."""
    return PydanticCustomError(kind, message)


class ComplaintRecord(BaseModel):
    """Describe one complaint as a channel delivers it, before it is matched to the street."""

    model_config = ConfigDict(
        extra="ignore", frozen=True, coerce_numbers_to_str=True, str_strip_whitespace=True
    )

    source: ComplaintSource
    external_id: str = Field(min_length=1, max_length=64)
    received_at: AwareDatetime
    category: str = Field(min_length=1, max_length=32)
    text: str = Field(min_length=1, max_length=TEXT_MAX)
    address: str = Field(min_length=1, max_length=200)
    enterprise_name: str | None = Field(default=None, max_length=128)
    uscc: str | None = None
    lon: float | None = Field(default=None, ge=-180, le=180, allow_inf_nan=False)
    lat: float | None = Field(default=None, ge=-90, le=90, allow_inf_nan=False)

    @field_validator("external_id", "category", "text", "address", mode="before")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        """Refuse text the stores cannot hold: NUL characters and unpaired surrogates."""
        return _storable(value)

    @field_validator("enterprise_name", "uscc", "lon", "lat", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        """Read an empty optional cell as absent."""
        if isinstance(value, str) and not value.strip():
            return None
        return _storable(value)

    @field_validator("source", mode="before")
    @classmethod
    def _source(cls, value: Any) -> ComplaintSource:
        """Accept the channel's number, English name or Chinese name (劳动监察 for labour)."""
        if isinstance(value, ComplaintSource):
            return value
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise _fail("unknown_source", "must be 110, 12345, 96315 or labour (劳动监察)")
        key = unicodedata.normalize("NFKC", str(value)).strip().lower()
        if not key:
            raise _fail("empty", "is empty")
        found = SOURCE_ALIASES.get(key)
        if found is None:
            raise _fail("unknown_source", "must be 110, 12345, 96315 or labour (劳动监察)")
        return found

    @field_validator("received_at", mode="before")
    @classmethod
    def _received_at(cls, value: Any) -> datetime:
        """Read an ISO 8601 time that carries its zone; a naive time is refused, not guessed."""
        return _aware_time(value)

    @field_validator("uscc")
    @classmethod
    def _uscc(cls, value: str | None) -> str | None:
        """Check a unified social credit code's shape: 18 characters of its alphabet."""
        if value is None:
            return None
        code = unicodedata.normalize("NFKC", value).upper()
        if not _USCC.match(code):
            raise _fail("uscc_shape", "must be an 18-character unified social credit code")
        return code

    @model_validator(mode="after")
    def _point(self) -> ComplaintRecord:
        """Require lon and lat together."""
        if (self.lon is None) != (self.lat is None):
            raise _fail("lon_lat_pair", "lon and lat go together: give both or neither")
        return self


def _storable(value: Any) -> Any:
    """Refuse a string holding NUL or text that is not valid Unicode; pass anything else on."""
    if isinstance(value, str):
        if "\x00" in value:
            raise _fail("nul_character", "holds a NUL character")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise _fail("invalid_unicode", "is not valid Unicode") from None
    return value


def _aware_time(value: Any) -> datetime:
    """Return an aware datetime from an ISO 8601 string or a datetime, or raise a custom error."""
    if isinstance(value, str):
        text = unicodedata.normalize("NFKC", value).strip()
        if not text:
            raise _fail("empty", "is empty")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise _fail("not_iso_time", f"must be an ISO 8601 time, e.g. {TIME_EXAMPLE}") from None
    elif isinstance(value, datetime):
        moment = value
    else:
        raise _fail("not_iso_time", f"must be an ISO 8601 time, e.g. {TIME_EXAMPLE}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise _fail("naive_time", f"has no time zone; write it like {TIME_EXAMPLE}")
    try:
        utc = moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise _fail("time_out_of_range", "is out of range") from None
    if not EARLIEST <= utc < LATEST:
        raise _fail("time_out_of_range", "must lie between 1990 and 2100")
    return moment


def _problem(exc: ValidationError) -> tuple[str, str, str]:
    """Return the field, error type and plain message of a validation failure's first error."""
    first = exc.errors(include_url=False, include_input=False)[0]
    loc = first.get("loc") or ()
    name = str(loc[0]) if loc else "lon/lat"
    kind = str(first.get("type", "invalid"))
    if kind == "missing":
        message = "is missing"
    elif kind == "string_too_short":
        message = "is empty"
    else:
        message = str(first.get("msg", "is invalid")).removeprefix("Value error, ")
    return name, kind, message


def _label(name: str, written: Mapping[str, str] | None = None) -> str:
    """Name a field, and how the file wrote it when that differs, e.g. 'received_at (时间)'."""
    shown = (written or {}).get(name)
    return f"{name} ({shown})" if shown and shown != name else name


def validate_record(
    raw: Mapping[str, Any], where: str, written: Mapping[str, str] | None = None
) -> ComplaintRecord:
    """Validate one record, raising ImportFileError that names where it is and which field."""
    try:
        return ComplaintRecord.model_validate(dict(raw))
    except ValidationError as exc:
        name, _, message = _problem(exc)
        raise ImportFileError(f"{where}, {_label(name, written)}", message) from None


# -- parsing files ---------------------------------------------------------------------------


def parse_feed_file(path: str | Path) -> list[ComplaintRecord]:
    """Validate a complaint file (.csv or .json) completely and return its records."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise ImportFileError("file", "must end in .csv or .json")
    text = read_text(path)
    return parse_csv(text) if suffix == ".csv" else parse_json(text)


def parse_csv(text: str) -> list[ComplaintRecord]:
    """Validate a complaint CSV's text line by line (header is line 1) and return its records."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), strict=True)
    rows = csv_records(reader)
    try:
        header_line, header = next(rows)
    except StopIteration:
        raise ImportFileError("line 1", "the file is empty; expected a header line") from None
    columns, written = _columns(header_line, header)
    records = []
    for line, cells in rows:
        if len(cells) != len(header):
            raise ImportFileError(
                f"line {line}", f"has {len(cells)} fields, the header has {len(header)}"
            )
        raw = {name: cells[i] for name, i in columns.items()}
        records.append(validate_record(raw, f"line {line}", written))
    return records


def _canonical(label: str) -> str:
    """Return the field a header label or JSON key names (English or Chinese)."""
    label = unicodedata.normalize("NFKC", label).strip()
    return CHINESE_NAMES.get(label, label.lower())


def _columns(line: int, header: list[str]) -> tuple[dict[str, int], dict[str, str]]:
    """Map each known column to its position and to its label as written; name missing ones."""
    columns: dict[str, int] = {}
    written: dict[str, str] = {}
    for i, raw in enumerate(header):
        name = _canonical(raw)
        if name not in FIELDS:
            continue  # channels add columns of their own; they are not ours to refuse
        if name in columns:
            raise ImportFileError(f"line {line}", f"column {_label(name)} appears twice")
        columns[name] = i
        written[name] = raw.strip()
    missing = [_label(name, LABELS) for name in REQUIRED if name not in columns]
    if missing:
        raise ImportFileError(f"line {line}", f"missing required column {', '.join(missing)}")
    return columns, written


def parse_json(text: str) -> list[ComplaintRecord]:
    """Validate a complaint JSON text (a list of objects or {"records": [...]}) record by record."""
    try:
        data = json.loads(text.removeprefix("\ufeff"), parse_constant=_refuse_constant)
    except json.JSONDecodeError as err:
        raise ImportFileError(
            f"line {err.lineno}, column {err.colno}", f"is not valid JSON: {err.msg}"
        ) from None
    except (ValueError, RecursionError) as err:
        # Over-long integers and absurd nesting are refused by the decoder itself.
        raise ImportFileError("file", f"is not valid JSON: {type(err).__name__}") from None
    if isinstance(data, dict) and isinstance(data.get("records"), list):
        items = data["records"]
    elif isinstance(data, list):
        items = data
    else:
        raise ImportFileError("file", 'must be a list of records or {"records": [...]}')
    records = []
    for index, item in enumerate(items):
        where = f"records[{index}]"
        if not isinstance(item, dict):
            raise ImportFileError(where, "must be an object")
        raw: dict[str, Any] = {}
        written: dict[str, str] = {}
        for key, value in item.items():
            name = _canonical(key)
            if name not in FIELDS:
                continue
            if name in raw:
                raise ImportFileError(
                    f"{where}, {_label(name, {name: key.strip()})}", "is given twice"
                )
            raw[name] = value
            written[name] = key.strip()
        records.append(validate_record(raw, where, written))
    return records


def _refuse_constant(name: str) -> float:
    """Refuse NaN and Infinity, which Python's decoder accepts but JSON does not define."""
    raise ValueError(f"{name} is not JSON")


# -- matching --------------------------------------------------------------------------------


def normalise_address(text: str, prefixes: Sequence[str] = ()) -> str:
    """Return the comparable core of an address: road and house, no region, building or room."""
    core = _BRACKETS.sub("", fold_text(text))  # full-width digits and brackets become ASCII
    changed = True
    while changed:
        changed = False
        for prefix in prefixes:
            if prefix and core.startswith(prefix) and len(core) > len(prefix):
                core, changed = core[len(prefix) :], True
        admin = _ADMIN.match(core)
        # Only a prefix followed by a house number is a region; otherwise it may be the road.
        if admin and any(ch.isdigit() for ch in core[admin.end() :]):
            core, changed = core[admin.end() :], True
    core = _BUILDING.sub(r"\1号", core)
    while (tail := _TAIL.search(core)) and tail.start() > 0:
        core = core[: tail.start()]
    return core


def fold_text(text: str) -> str:
    """Return text without whitespace and with full-width characters folded (NFKC)."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", text))


@dataclass(frozen=True)
class AddressMatch:
    """Tell which standard address a text matched and how: exact, normalised, road_number, nearest."""

    address_id: int
    how: str


class AddressMatcher:
    """Match free-text complaint addresses to standard addresses held in memory."""

    def __init__(self, engine: Engine, within_m: float = NEAREST_ADDRESS_M) -> None:
        self.engine = engine
        self.within_m = within_m
        self.refresh()

    def refresh(self) -> None:
        """Reload the standard addresses and the street names written in front of them."""
        with self.engine.connect() as conn:
            streets = list(conn.execute(select(schema.Street.name)).scalars())
        prefixes = sorted(
            {fold_text(name) for name in streets if name.strip()}, key=len, reverse=True
        )
        by_full: dict[str, set[int]] = {}
        by_core: dict[str, set[int]] = {}
        by_house: dict[tuple[str, str], set[int]] = {}
        for address in list_addresses(self.engine):
            by_full.setdefault(address.full_text.strip(), set()).add(address.id)
            by_core.setdefault(normalise_address(address.full_text, prefixes), set()).add(
                address.id
            )
            house = (fold_text(address.road), normalise_address(address.number))
            by_house.setdefault(house, set()).add(address.id)
        self._prefixes = tuple(prefixes)
        self._by_full = by_full
        self._by_core = by_core
        self._by_house = by_house
        self._roads = tuple(sorted({road for road, _ in by_house if road}, key=len, reverse=True))

    @property
    def size(self) -> int:
        """Return how many standard addresses are loaded."""
        return sum(len(ids) for ids in self._by_full.values())

    def match(
        self, text: str | None, lon: float | None = None, lat: float | None = None
    ) -> int | None:
        """Return the id of the standard address the text (else the point) names, or None."""
        found = self.resolve(text, lon, lat)
        return found.address_id if found else None

    def resolve(
        self, text: str | None, lon: float | None = None, lat: float | None = None
    ) -> AddressMatch | None:
        """Match exact text, then normalised text, then road and number, then the nearest point."""
        if text and text.strip():
            if (found := _only(self._by_full.get(text.strip()))) is not None:
                return AddressMatch(found, "exact")
            core = normalise_address(text, self._prefixes)
            if core and (found := _only(self._by_core.get(core))) is not None:
                return AddressMatch(found, "normalised")
            # The road is searched in the whole text: a prefix rule must not hide it.
            flat = _BUILDING.sub(r"\1号", fold_text(text))
            if (found := self._road_number(flat)) is not None:
                return AddressMatch(found, "road_number")
        if lon is not None and lat is not None:
            near = nearest_address(self.engine, lon, lat, self.within_m)
            if near is not None:
                return AddressMatch(near.id, "nearest")
        return None

    def _road_number(self, text: str) -> int | None:
        """Find a known road in the text and the house number written right after it."""
        for road in self._roads:
            at = text.find(road)
            if at < 0:
                continue
            house = _HOUSE.match(text, at + len(road))
            if house is None:
                continue
            number = f"{house.group(1) or ''}{house.group(2)}号"
            if (found := _only(self._by_house.get((road, number)))) is not None:
                return found
        return None


def _only(ids: set[int] | None) -> int | None:
    """Return the single id of a match, or None when there is none or it is ambiguous."""
    if ids and len(ids) == 1:
        return next(iter(ids))
    return None


@dataclass(frozen=True)
class EnterpriseRecord:
    """Hold the parts of an enterprise a complaint is matched on."""

    id: int
    uscc: str
    name: str
    address_id: int


class EnterpriseMatcher:
    """Match a complaint to an enterprise by USCC, exact name, or a unique name at its address."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.refresh()

    def refresh(self) -> None:
        """Reload the enterprises."""
        e = schema.Enterprise
        with self.engine.connect() as conn:
            rows = [
                EnterpriseRecord(*row)
                for row in conn.execute(select(e.id, e.uscc, e.name, e.address_id).order_by(e.id))
            ]
        by_uscc: dict[str, EnterpriseRecord] = {}
        by_name: dict[str, list[EnterpriseRecord]] = {}
        at_address: dict[int, list[tuple[str, EnterpriseRecord]]] = {}
        for firm in rows:
            folded = fold_text(firm.name)
            by_uscc[fold_text(firm.uscc).upper()] = firm
            by_name.setdefault(folded, []).append(firm)
            at_address.setdefault(firm.address_id, []).append((folded, firm))
        self._by_uscc = by_uscc
        self._by_name = by_name
        self._at_address = at_address

    def match(
        self, uscc: str | None = None, name: str | None = None, address_id: int | None = None
    ) -> int | None:
        """Return the id of the enterprise meant, or None when unknown or ambiguous."""
        found = self.find(uscc, name, address_id)
        return found.id if found else None

    def find(
        self, uscc: str | None = None, name: str | None = None, address_id: int | None = None
    ) -> EnterpriseRecord | None:
        """Return the enterprise meant: by USCC, else exact name, else the one name at the address."""
        if uscc and (firm := self._by_uscc.get(fold_text(uscc).upper())):
            return firm
        wanted = fold_text(name or "")
        if not wanted:
            return None
        same_name = self._by_name.get(wanted, [])
        if len(same_name) == 1:
            return same_name[0]
        # Two characters or more: one character is contained in far too many names.
        if address_id is None or len(wanted) < 2:
            return None
        here = [firm for folded, firm in self._at_address.get(address_id, []) if wanted in folded]
        return here[0] if len(here) == 1 else None


# -- writing ---------------------------------------------------------------------------------


@dataclass
class FeedReport:
    """Tell what one poll of a feed did."""

    files: int = 0  # files stored and moved to processed/
    rejected_files: int = 0  # files moved to rejected/
    waiting_files: int = 0  # files left alone because they may still be being written
    rows: int = 0  # rows read from a SQL table
    rejected_rows: int = 0  # rows refused by validation
    ingested: int = 0  # complaints stored
    duplicates: int = 0  # records already stored (same source and external id)
    enterprises: int = 0  # stored complaints attached to an enterprise
    addresses: dict[str, int] = field(default_factory=dict)  # how each address was matched
    reasons: dict[str, int] = field(default_factory=dict)  # rejected rows by field:type
    errors: list[str] = field(default_factory=list)

    def publish(self, live: LiveStore, prefix: str) -> None:
        """Add this poll's outcome to the live counters under prefix (e.g. 'feed:folder')."""
        amounts = {
            "files": self.files,
            "rejected": self.rejected_files + self.rejected_rows,
            "rows": self.rows,
            "records": self.ingested,
            "duplicates": self.duplicates,
            "enterprise_matched": self.enterprises,
            "errors": len(self.errors),
        }
        amounts |= {f"address:{how}": n for how, n in self.addresses.items()}
        amounts |= {f"rejected:{reason}": n for reason, n in self.reasons.items()}
        for name, amount in amounts.items():
            if amount:
                live.incr(f"{prefix}:{name}", amount)


class ComplaintWriter:
    """Match records to an address and an enterprise and store the new ones through Ingest."""

    def __init__(self, ingest: Ingest, engine: Engine, refresh_s: float = REFRESH_S) -> None:
        self.ingest = ingest
        self.engine = engine
        self.refresh_s = refresh_s
        self._matchers: tuple[AddressMatcher, EnterpriseMatcher] | None = None
        self._loaded_at = ingest.clock.now()

    def matchers(self) -> tuple[AddressMatcher, EnterpriseMatcher]:
        """Return the matchers, loading them on first use and again once they are old."""
        age = (self.ingest.clock.now() - self._loaded_at).total_seconds()
        if (
            self._matchers is None
            or age >= self.refresh_s
            or not self._matchers[0].size  # a street seeded after start is picked up at once
        ):
            return self.refresh()
        return self._matchers

    def refresh(self) -> tuple[AddressMatcher, EnterpriseMatcher]:
        """Reload the standard addresses and enterprises now and return the new matchers."""
        self._matchers = (AddressMatcher(self.engine), EnterpriseMatcher(self.engine))
        self._loaded_at = self.ingest.clock.now()
        return self._matchers

    def known(self, records: Sequence[ComplaintRecord]) -> set[tuple[str, str]]:
        """Return the (source, external id) of the records the store already holds."""
        c = schema.Complaint.__table__.c
        wanted: dict[str, set[str]] = {}
        for record in records:
            wanted.setdefault(record.source.value, set()).add(record.external_id)
        found: set[tuple[str, str]] = set()
        with self.engine.connect() as conn:
            for source, ids in wanted.items():
                ordered = sorted(ids)
                for start in range(0, len(ordered), LOOKUP_CHUNK):
                    chunk = ordered[start : start + LOOKUP_CHUNK]
                    query = select(c.external_id).where(
                        c.source == source, c.external_id.in_(chunk)
                    )
                    found.update((source, external_id) for external_id in conn.scalars(query))
        return found

    def write(self, records: Sequence[ComplaintRecord], report: FeedReport) -> None:
        """Store every record not stored yet, counting duplicates and matches in the report."""
        known = self.known(records)
        for record in records:
            self.put(record, known, report)

    def put(self, record: ComplaintRecord, known: set[tuple[str, str]], report: FeedReport) -> None:
        """Store one record unless its key is in known (which it then joins)."""
        key = (record.source.value, record.external_id)
        if key in known:
            report.duplicates += 1
            return
        for attempt in (1, 2):
            addresses, enterprises = self.matchers()
            address = addresses.resolve(record.address, record.lon, record.lat)
            firm = enterprises.find(
                record.uscc, record.enterprise_name, address.address_id if address else None
            )
            if address is not None:
                address_id, how = address.address_id, address.how
            elif firm is not None:
                address_id, how = firm.address_id, "enterprise"  # the firm says where it is
            else:
                address_id, how = None, "unmatched"
            try:
                self.ingest.complaint(
                    record.source,
                    record.external_id,
                    record.received_at,
                    record.category,
                    record.text,
                    record.address,
                    address_id=address_id,
                    enterprise_id=firm.id if firm else None,
                )
                break
            except IntegrityError:
                if self.known([record]):
                    # Another process stored it between our look-up and the insert.
                    known.add(key)
                    report.duplicates += 1
                    return
                if attempt == 2:
                    raise
                # The address or firm vanished (a building import replaced them): match afresh.
                self.refresh()
        known.add(key)
        report.ingested += 1
        report.addresses[how] = report.addresses.get(how, 0) + 1
        if firm is not None:
            report.enterprises += 1


# -- the folder feed -------------------------------------------------------------------------


class _FeedLog:
    """Note a feed's failures, log each kind once, and keep its health and live counters."""

    label = "complaint feed"

    def __init__(self) -> None:
        self._logged: set[str] = set()
        self._read_at: float | None = None  # wall time of the last poll that could read the source
        self._source_error: str | None = None

    def close(self) -> None:
        """Release what the feed holds open; a folder holds nothing."""

    def health(self) -> dict[str, Any]:
        """Describe the feed for the source-health view: down until read once, stale on failure."""
        age = None if self._read_at is None else round(time.time() - self._read_at, 1)
        state = "down" if self._read_at is None else "stale" if self._source_error else "ok"
        return {"name": self.prefix, "state": state, "age_s": age, "error": self._source_error}

    def _publish(self, report: FeedReport) -> None:
        """Note how the poll went and add it to the live counters, tolerating a live store down."""
        # Rejected records are counted, not failures: only errors make the feed stale.
        self._source_error = report.errors[0][:ERROR_CHARS] if report.errors else None
        if not report.errors:
            self._read_at = time.time()
        try:
            report.publish(self.ingest.live, self.prefix)
        except LiveStoreError as err:
            self._log_once("live", f"cannot count feed {self.prefix}: {err}")

    def _error(self, report: FeedReport, kind: str, message: str) -> None:
        """Note a failure in the report and log its kind the first time."""
        report.errors.append(message)
        self._log_once(kind, message)

    def _log_once(self, kind: str, message: str) -> None:
        """Log a kind of failure the first time it happens."""
        if kind not in self._logged:
            self._logged.add(kind)
            log.warning("%s: %s", self.label, message)


class FolderFeed(_FeedLog):
    """Ingest complaint files dropped into a folder, moving each to processed/ or rejected/."""

    label = "complaint folder feed"

    def __init__(
        self,
        ingest: Ingest,
        engine: Engine,
        folder: str | Path,
        *,
        name: str = "folder",
        settle_s: float = SETTLE_S,
        refresh_s: float = REFRESH_S,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.ingest = ingest
        self.folder = Path(folder)
        self.processed = self.folder / "processed"
        self.rejected = self.folder / "rejected"
        self.prefix = f"feed:{name}"
        self.settle_s = settle_s
        self.writer = ComplaintWriter(ingest, engine, refresh_s)
        # File modification times are wall-clock times, whatever clock the street runs on.
        self._wall = wall
        self._sightings: dict[str, tuple[int, int]] = {}
        self._stuck: dict[str, tuple[int, int]] = {}
        _FeedLog.__init__(self)

    def poll(self) -> FeedReport:
        """Ingest every complete new *.csv and *.json file in the folder; never raise on bad input."""
        report = FeedReport()
        try:
            ready = self._ready_files(report)
        except OSError as err:
            self._error(report, "folder", f"cannot list {self.folder}: {err}")
            ready = []
        for path in ready:
            if not self._process(path, report):
                break  # the store is down: the remaining files wait for the next poll
        self._publish(report)
        return report

    def _ready_files(self, report: FeedReport) -> list[Path]:
        """Return the files to read now, oldest first, and remember the size and time of the rest."""
        for folder in (self.folder, self.processed, self.rejected):
            folder.mkdir(parents=True, exist_ok=True)
        sightings: dict[str, tuple[int, int]] = {}
        ready: list[tuple[int, str, Path]] = []
        now = self._wall()
        with os.scandir(self.folder) as entries:
            for entry in entries:
                if entry.name.startswith(".") or not entry.name.lower().endswith((".csv", ".json")):
                    continue
                try:
                    if not entry.is_file():
                        continue
                    stat = entry.stat()
                except OSError:
                    continue  # gone between listing and looking: nothing to do
                signature = (stat.st_size, stat.st_mtime_ns)
                sightings[entry.name] = signature
                if self._stuck.get(entry.name) == signature:
                    continue  # handled already but could not be moved; wait for a change
                settled = now - stat.st_mtime >= self.settle_s
                if settled or self._sightings.get(entry.name) == signature:
                    ready.append((stat.st_mtime_ns, entry.name, Path(entry.path)))
                else:
                    report.waiting_files += 1
        self._sightings = sightings
        self._stuck = {k: v for k, v in self._stuck.items() if sightings.get(k) == v}
        return [path for _, _, path in sorted(ready)]

    def _process(self, path: Path, report: FeedReport) -> bool:
        """Ingest or reject one file; return False when the store failed and polling should stop."""
        try:
            records = parse_feed_file(path)
        except ImportFileError as err:
            self._reject(path, str(err), report)
            return True
        try:
            self.writer.write(records, report)
        except (SQLAlchemyError, LiveStoreError) as err:
            # Records stored so far are skipped as duplicates when the file is read again.
            self._error(report, "store", f"{path.name}: store unavailable: {err}")
            return False
        except Exception as err:  # a fault downstream (rules) must not stop the feed
            report.errors.append(f"{path.name}: {type(err).__name__}: {err}")
            if "unexpected" not in self._logged:
                self._logged.add("unexpected")
                log.exception("complaint folder feed: %s left in place", path.name)
            return True
        if self._move(path, self.processed, report) is not None:
            report.files += 1
        return True

    def _reject(self, path: Path, reason: str, report: FeedReport) -> None:
        """Move a bad file to rejected/ with a <name>.error.txt that says where it is wrong."""
        target = self._move(path, self.rejected, report)
        if target is None:
            return
        report.rejected_files += 1
        log.warning("rejected complaint file %s: %s", path.name, reason)
        try:
            target.with_name(f"{target.name}.error.txt").write_text(f"{reason}\n", encoding="utf-8")
        except OSError as err:
            self._error(
                report, "error_file", f"cannot write the error file of {target.name}: {err}"
            )

    def _move(self, path: Path, folder: Path, report: FeedReport) -> Path | None:
        """Move a file into folder without overwriting an earlier delivery of the same name."""
        target = folder / path.name
        if target.exists():
            stamp = self.ingest.clock.now().strftime("%Y%m%dT%H%M%S%f")
            target = folder / f"{path.stem}.{stamp}{path.suffix}"
            serial = 1
            while target.exists():
                target = folder / f"{path.stem}.{stamp}-{serial}{path.suffix}"
                serial += 1
        try:
            os.replace(path, target)
        except OSError as err:
            try:
                stat = path.stat()
                self._stuck[path.name] = (stat.st_size, stat.st_mtime_ns)
            except OSError:
                pass
            self._error(report, "move", f"cannot move {path.name} to {folder}: {err}")
            return None
        return target


# -- the SQL table feed ----------------------------------------------------------------------


# What reading one row can raise besides a dead source: driver decoding and type processors.
READ_ERRORS = (SQLAlchemyError, ValueError, TypeError, OverflowError)


class FeedConfigError(ValueError):
    """Refuse a feed configuration: a bad identifier, an unknown field or a missing column."""


def check_identifier(name: str, what: str) -> str:
    """Return a table or column name if it is a plain identifier, else raise FeedConfigError."""
    if not isinstance(name, str) or not name.isidentifier() or len(name) > IDENTIFIER_MAX:
        raise FeedConfigError(f"{what} {name!r} is not a plain SQL identifier")
    return name


class SqlTableFeed(_FeedLog):
    """Ingest new rows of an external SQL table past a watermark kept in the live store."""

    def __init__(
        self,
        ingest: Ingest,
        engine: Engine,
        source_url: str | Engine,
        table: str,
        columns: Mapping[str, str] | None = None,
        *,
        id_column: str = "id",
        defaults: Mapping[str, Any] | None = None,
        name: str | None = None,
        batch_size: int = 500,
        max_rows_per_poll: int = 5000,
        refresh_s: float = REFRESH_S,
    ) -> None:
        parts = table.split(".")
        if len(parts) > 2:
            raise FeedConfigError(f"table {table!r} must be 'table' or 'schema.table'")
        for part in parts:
            check_identifier(part, "table")
        self.schema_name, self.table_name = (None, parts[0]) if len(parts) == 1 else parts
        self.id_column = check_identifier(id_column, "id column")
        # No mapping: the table names its columns as the fields; optional ones may be absent.
        self._match_names = columns is None
        if columns is None:
            columns = {name: name for name in REQUIRED if name != "external_id"}
        unknown = sorted(set(columns) - set(FIELDS)) + sorted(set(defaults or {}) - set(FIELDS))
        if unknown:
            raise FeedConfigError(f"unknown complaint field {', '.join(unknown)}")
        for column in columns.values():
            check_identifier(column, "column")
        # A table without an external id column is keyed by its own row id.
        covered = set(columns) | set(defaults or {}) | {"external_id"}
        missing = [f for f in REQUIRED if f not in covered]
        if missing:
            raise FeedConfigError(f"no column or default for {', '.join(missing)}")
        if batch_size < 1 or max_rows_per_poll < 1:
            raise FeedConfigError("batch_size and max_rows_per_poll must be positive")
        self.ingest = ingest
        self.table = table
        self.columns = MappingProxyType(dict(columns))
        self.defaults = MappingProxyType(dict(defaults or {}))
        self.name = name or f"sql:{table}"
        self.prefix = f"feed:{self.name}"
        self.label = f"complaint table feed {self.name}"
        self.watermark_key = f"feed_watermark:{self.name}"
        self.batch_size = batch_size
        self.max_rows_per_poll = max_rows_per_poll
        self.writer = ComplaintWriter(ingest, engine, refresh_s)
        self._owns_source = isinstance(source_url, str)
        # Not make_engine: its SQLite pragmas (WAL) would change someone else's database file.
        self._source = (
            create_engine(source_url, pool_pre_ping=True)
            if isinstance(source_url, str)
            else source_url
        )
        self._table: Table | None = None
        _FeedLog.__init__(self)

    def close(self) -> None:
        """Release the connections to the external database if this feed opened them."""
        if self._owns_source:
            self._source.dispose()

    @property
    def watermark(self) -> int:
        """Return the highest row id handled so far (0 before the first row)."""
        raw = self.ingest.live.get_view(self.watermark_key)
        try:
            return int(raw) if raw is not None else 0
        except ValueError:
            self._log_once("watermark", f"unreadable watermark {raw!r}; reading from the start")
            return 0

    def _set_watermark(self, value: int, previous: int) -> None:
        """Keep the watermark in the live store, so a restarted feed resumes past it."""
        if value > previous:
            self.ingest.live.set_view(self.watermark_key, str(value).encode())

    def poll(self) -> FeedReport:
        """Ingest the rows past the watermark; bad rows are counted and skipped, never fatal."""
        report = FeedReport()
        try:
            table = self._reflect()
            watermark = self.watermark
        except (SQLAlchemyError, LiveStoreError, FeedConfigError) as err:
            self._error(report, "source", f"cannot read {self.table}: {err}")
            self._publish(report)
            return report
        while report.rows < self.max_rows_per_poll:
            limit = min(self.batch_size, self.max_rows_per_poll - report.rows)
            try:
                batch = self._fetch(table, watermark, limit)
            except SQLAlchemyError as err:
                self._error(report, "source", f"cannot read {self.table}: {err}")
                break
            if not batch:
                break
            done = self._ingest_rows(batch, watermark, report)
            try:
                self._set_watermark(done, watermark)
            except LiveStoreError as err:
                self._error(report, "live", f"cannot keep the watermark of {self.table}: {err}")
                break
            if done < batch[-1][0] or len(batch) < limit:
                break  # stopped early on a store failure, or read everything there is
            watermark = done
        self._publish(report)
        return report

    def _fetch(
        self, table: Table, watermark: int, limit: int
    ) -> list[tuple[int, RowMapping | None]]:
        """Return up to limit (row id, row) past the watermark; None for a row that cannot be read."""
        id_col = table.c[self.id_column]
        # Raw driver values (NullType): a type's result processor must not reinterpret or choke
        # on what the source holds, e.g. a zoned time in a SQLite DATETIME column.
        values = [
            type_coerce(table.c[column], NullType()).label(column)
            for column in sorted(set(self.columns.values()) - {self.id_column})
        ]
        after = id_col > watermark
        try:
            with self._source.connect() as conn:
                query = select(id_col, *values).where(after).order_by(id_col).limit(limit)
                return [(int(row[self.id_column]), row) for row in conn.execute(query).mappings()]
        except READ_ERRORS:
            pass
        # Something in the batch cannot be read: read row by row, so only that row is skipped.
        # A source that is down fails the id query too, and the error goes to the caller.
        with self._source.connect() as conn:
            ids = [
                int(i)
                for i in conn.scalars(select(id_col).where(after).order_by(id_col).limit(limit))
            ]
        batch: list[tuple[int, RowMapping | None]] = []
        for row_id in ids:
            try:
                with self._source.connect() as conn:
                    row = (
                        conn.execute(select(id_col, *values).where(id_col == row_id))
                        .mappings()
                        .one()
                    )
            except READ_ERRORS:
                with self._source.connect() as conn:
                    conn.execute(select(id_col).where(id_col == row_id)).one()
                row = None
            batch.append((row_id, row))
        return batch

    def _ingest_rows(
        self, batch: Sequence[tuple[int, RowMapping | None]], watermark: int, report: FeedReport
    ) -> int:
        """Validate and store rows in id order; return the id of the last row fully handled."""
        parsed: list[tuple[int, ComplaintRecord | None]] = []
        for row_id, row in batch:
            report.rows += 1
            if row is None:
                field_name, kind, message = "row", "unreadable", "cannot be read from the source"
            else:
                try:
                    parsed.append((row_id, ComplaintRecord.model_validate(self._raw(row))))
                    continue
                except ValidationError as exc:
                    field_name, kind, message = _problem(exc)
            reason = f"{field_name}:{kind}"
            report.rejected_rows += 1
            report.reasons[reason] = report.reasons.get(reason, 0) + 1
            self._log_once(
                f"reason:{reason}", f"row {row_id} of {self.table} refused: {field_name} {message}"
            )
            parsed.append((row_id, None))
        done = watermark
        try:
            known = self.writer.known([record for _, record in parsed if record is not None])
            for row_id, record in parsed:
                if record is not None:
                    self.writer.put(record, known, report)
                done = row_id
        except (SQLAlchemyError, LiveStoreError) as err:
            # The watermark stops before the failed row, so the next poll tries it again.
            self._error(report, "store", f"store unavailable: {err}")
        except Exception as err:  # a fault downstream (rules) must not stop the feed
            report.errors.append(f"row after {done}: {type(err).__name__}: {err}")
            if "unexpected" not in self._logged:
                self._logged.add("unexpected")
                log.exception("complaint table feed %s: stopped after row %s", self.name, done)
        return done

    def _raw(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """Map a row's columns to record fields, with configured defaults for absent fields."""
        raw = {name: row[column] for name, column in self.columns.items()}
        for name, value in self.defaults.items():
            if raw.get(name) is None:
                raw[name] = value
        if "external_id" not in raw:
            raw["external_id"] = row[self.id_column]
        return raw

    def _reflect(self) -> Table:
        """Reflect the external table once and check that the configured columns exist."""
        if self._table is None:
            table = Table(
                self.table_name, MetaData(), schema=self.schema_name, autoload_with=self._source
            )
            needed = {self.id_column, *self.columns.values()}
            missing = sorted(needed - set(table.c.keys()))
            if self._match_names and not missing:
                present = set(table.c.keys())
                self.columns = MappingProxyType(
                    {name: name for name in FIELDS if name in present or name in self.columns}
                )
            if missing:
                raise FeedConfigError(f"table {self.table} has no column {', '.join(missing)}")
            if not isinstance(table.c[self.id_column].type, Integer):
                raise FeedConfigError(
                    f"column {self.id_column} of {self.table} must be an integer to serve as watermark"
                )
            self._table = table
        return self._table
