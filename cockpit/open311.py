"""Serve resident requests as an Open311 GeoReport v2 endpoint (JSON only) under /open311/v2/.

POST may need a client app's `api_key` (COCKPIT_OPEN311_API_KEYS; none configured: open to all),
is rate-limited per app, or per client address without a key (COCKPIT_OPEN311_RATE_LIMIT), and
each request it stores is written to the audit log. GET answers carry no personal fields, the
address is cut to its building and the description has its phone, ID, card and plate numbers and
e-mails masked (cockpit.privacy.mask_text). Every error, malformed bodies too, is the standard's
error list with a 4xx status.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

from flask import Blueprint, Response, g, request
from flask_limiter import Limiter, RequestLimit
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from cockpit.access.audit import AuditLog
from cockpit.clock import Clock, to_display
from cockpit.domain.kinds import RequestStatus
from cockpit.domain.services import SERVICES, find_service
from cockpit.i18n import pick_language
from cockpit.ingest import Ingest
from cockpit.logs import log_fault
from cockpit.privacy import mask_text
from cockpit.store import requests as request_store
from cockpit.web.identity import client_address

log = logging.getLogger(__name__)

PREFIX = "/open311/v2"
CHANNEL = "open311"
DEFAULT_LANGUAGE = "zh"
# The standard's default and widest window for GET requests.json.
WINDOW = timedelta(days=90)
MAX_DESCRIPTION = 4000
# Column widths of resident_requests; longer values would fail on PostgreSQL.
MAX_ADDRESS = 200
MAX_MEDIA_URL = 400
MAX_IDS = 200
MAX_ID = 2**31 - 1  # the id columns are 32-bit integers on PostgreSQL
MAX_BODY_BYTES = 64 * 1024
TOO_LARGE = f"the request body is larger than {MAX_BODY_BYTES // 1024} KB"
MAX_ECHO = 40
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
# Accepted so standard clients work, but never read: the street keeps no complainant details.
PERSONAL_FIELDS = frozenset(
    {"email", "first_name", "last_name", "phone", "device_id", "account_id"}
)
API_KEY = "api_key"
# Fields whose values are read; any other field (attribute[...], ...) is ignored.
READ_FIELDS = frozenset(
    {
        API_KEY,
        "jurisdiction_id",
        "service_code",
        "description",
        "lat",
        "long",
        "address_string",
        "address_id",
        "media_url",
        "lang",
    }
)
_NUMERAL = r"[\d一二三四五六七八九十百千零〇两]+"
# Everything after the building's number names a unit, floor or room.
_BUILDING = re.compile(rf"^.*?{_NUMERAL}\s*(?:号楼|号|幢|栋|座)")
_UNIT = re.compile(
    rf"{_NUMERAL}\s*(?:单元|室|层|楼|户|房)|(?<![a-z])(?:room|rm|flat|apt|unit|floor)(?![a-z])|#",
    re.IGNORECASE,
)
_ID = re.compile(r"[0-9]{1,10}")
_PLUS_AS_SPACE = re.compile(r" (\d{2}(?::?\d{2})?)$")


class Open311Error(Exception):
    """Carry an HTTP status and a description out to the standard's error list."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def make_blueprint(
    engine: Engine,
    ingest: Ingest,
    clock: Clock,
    jurisdiction_id: str,
    *,
    clients: Mapping[str, str] | None = None,
    limiter: Limiter | None = None,
    rate_limit: str | None = None,
    audit: AuditLog | None = None,
) -> Blueprint:
    """Return the Open311 blueprint reading requests from the engine and writing through ingest.

    `clients` maps each client app's api_key to its name; when empty, POST needs no key. With a
    limiter and a rate limit, POSTs are counted per app (known key) or per client address.
    """
    bp = Blueprint("open311", __name__, url_prefix=PREFIX)
    apps = dict(clients or {})

    @bp.before_request
    def _limit_body() -> None:
        # Set before any body is read: larger bodies are refused with 413.
        request.max_content_length = MAX_BODY_BYTES + 1

    @bp.errorhandler(Open311Error)
    def _open311_error(exc: Open311Error) -> Response:
        return error_response(exc.status, exc.description)

    @bp.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        # Oversized or unreadable bodies surface here; answer in the standard's shape too.
        if isinstance(exc.response, Response):
            return exc.response  # already in the standard's shape (the rate limit's on_breach)
        if exc.code == 413:
            return error_response(413, TOO_LARGE)
        return error_response(exc.code or 400, exc.description or exc.name)

    @bp.errorhandler(SQLAlchemyError)
    def _store_error(exc: SQLAlchemyError) -> Response:
        log_fault(log, exc, "open311: the request store failed")
        return error_response(503, "the request store is not available; try again later")

    def check_jurisdiction(params: Mapping[str, str]) -> None:
        """Refuse a jurisdiction_id other than ours; a missing one is fine (one jurisdiction)."""
        given = _text(params, "jurisdiction_id")
        if given is not None and given != jurisdiction_id:
            raise Open311Error(
                404,
                f"jurisdiction_id {_echo(given)} was not found; "
                f"this endpoint serves {jurisdiction_id}",
            )

    @bp.route("/services.<fmt>", methods=METHODS)
    def services(fmt: str) -> Response:
        """List the service catalogue."""
        _allow("GET")
        _check_format(fmt)
        check_jurisdiction(request.args)
        lang = _language(request.args)
        return json_response(
            [
                {
                    "service_code": s.code,
                    "service_name": s.name.pick(lang),
                    "description": s.description.pick(lang),
                    "metadata": False,
                    "type": "realtime",
                    "keywords": s.keywords.pick(lang),
                    "group": s.group.pick(lang),
                }
                for s in SERVICES
            ]
        )

    @bp.route("/services/<code>.<fmt>", methods=METHODS)
    def service_definition(code: str, fmt: str) -> Response:
        """Answer 404: no service has metadata, so none has a definition."""
        _allow("GET")
        _check_format(fmt)
        check_jurisdiction(request.args)
        if find_service(code) is None:
            raise Open311Error(404, f"service_code {_echo(code)} was not found")
        raise Open311Error(
            404, f"service_code {_echo(code)} has no service definition (metadata is false)"
        )

    def app_of(params: Mapping[str, str]) -> str | None:
        """Return the client app a request's api_key names, or None for no or an unknown key."""
        key = _text(params, API_KEY) or _text(request.args, API_KEY)
        return apps.get(key) if key else None

    def client_key() -> str:
        """Return whom a POST counts against: its app (a known api_key), else its address."""
        try:
            app = app_of(_body())
        except (Open311Error, HTTPException):
            app = None  # the view refuses the body itself; the address still pays for it
        return f"app:{app}" if app else f"ip:{client_address()}"

    def too_many(limit: RequestLimit) -> Response:
        """Answer a POST over the rate limit with the standard's error list."""
        return error_response(
            429, f"too many requests from this client (at most {limit.limit}); try again later"
        )

    def requests_(fmt: str) -> Response:
        """Create a request (POST) or list requests matching the filters (GET)."""
        _allow("GET", "POST")
        _check_format(fmt)
        if request.method == "POST":
            params = _body()
            app = app_of(params)
            if apps and app is None:
                raise Open311Error(
                    403, "api_key is missing or not known: ask the street for your app's key"
                )
            return create(params, app)
        check_jurisdiction(request.args)
        return json_response([_render(r, _language(request.args)) for r in find(request.args)])

    if limiter is not None and rate_limit:
        requests_ = limiter.limit(
            rate_limit, key_func=client_key, methods=["POST"], on_breach=too_many
        )(requests_)
    bp.add_url_rule("/requests.<fmt>", view_func=requests_, methods=METHODS)

    @bp.route("/requests/<request_id>.<fmt>", methods=METHODS)
    def one_request(request_id: str, fmt: str) -> Response:
        """Return one request as a one-element list."""
        _allow("GET")
        _check_format(fmt)
        check_jurisdiction(request.args)
        number = _parse_id(request_id)
        record = request_store.get(engine, number) if number is not None else None
        if record is None:
            raise Open311Error(404, f"service_request_id {_echo(request_id)} was not found")
        return json_response([_render(record, _language(request.args))])

    @bp.route("/", methods=METHODS)
    @bp.route("/<path:rest>", methods=METHODS)
    def unknown(rest: str = "") -> Response:
        """Answer 404 for anything else under the prefix, in the standard's shape."""
        raise Open311Error(
            404,
            f"{_echo(PREFIX + '/' + rest)} is not a resource; use services.json or requests.json",
        )

    def create(params: Mapping[str, str], app: str | None) -> Response:
        """Validate a new request, attach its standard address and store it through ingest."""
        check_jurisdiction(params)
        lang = _language(params)
        code = _text(params, "service_code")
        if code is None:
            raise Open311Error(400, "service_code is required")
        service = find_service(code)
        if service is None:
            raise Open311Error(404, f"service_code {_echo(code)} was not found")
        description = params.get("description") or ""
        if len(description) > MAX_DESCRIPTION:
            raise Open311Error(400, f"description is longer than {MAX_DESCRIPTION} characters")
        _check_storable("description", description)
        media_url = _media_url(_text(params, "media_url"))
        lon, lat = _point(params)
        address_text = _text(params, "address_string")
        if address_text is not None:
            if len(address_text) > MAX_ADDRESS:
                raise Open311Error(400, f"address_string is longer than {MAX_ADDRESS} characters")
            _check_storable("address_string", address_text)
        address_id_text = _text(params, "address_id")
        if lat is None and address_text is None and address_id_text is None:
            raise Open311Error(
                400, "a location is required: lat and long, address_string or address_id"
            )
        if address_id_text is not None:
            number = _parse_id(address_id_text)
            address = request_store.get_address(engine, number) if number is not None else None
            if address is None:
                raise Open311Error(
                    400, f"address_id {_echo(address_id_text)} is not a known standard address"
                )
        else:
            address = request_store.resolve_address(engine, address_text, lon, lat)
        if address is not None and lat is None:
            # Without a point of its own the request sits on its address, so maps can show it.
            lon, lat = address.lon, address.lat
        new_id = ingest.resident_request(
            service.code,
            description,
            clock.now(),
            CHANNEL,
            lon,
            lat,
            address_text,
            address.id if address else None,
            media_url,
        )
        if audit is not None:
            audit.record(
                f"open311:{app or 'anonymous'}",
                "open311_post",
                record=("request", new_id),
                source_ip=client_address(),
                detail={"service_code": service.code},
            )
        return json_response(
            [
                {
                    "service_request_id": str(new_id),
                    "service_notice": service.notice.pick(lang),
                    "account_id": None,
                }
            ],
            201,
        )

    def find(args: Mapping[str, str]) -> list[request_store.RequestRecord]:
        """Return the requests the query asks for, applying the standard's defaults."""
        ids_text = _text(args, "service_request_id")
        if ids_text is not None:
            # The standard: with service_request_id every other filter is ignored.
            return request_store.search(engine, ids=_id_list(ids_text))
        codes = _comma_list(_text(args, "service_code"))
        statuses = _comma_list(_text(args, "status"))
        allowed = {s.value for s in RequestStatus}
        for status in statuses or ():
            if status not in allowed:
                raise Open311Error(400, f"status {_echo(status)} is not one of open, closed")
        start = _parse_time(_text(args, "start_date"), "start_date")
        end = _parse_time(_text(args, "end_date"), "end_date")
        try:
            if start is None and end is None:
                end = clock.now()
            if start is None:
                start = end - WINDOW
            elif end is None:
                end = start + WINDOW
        except OverflowError as exc:
            raise Open311Error(400, "start_date or end_date is out of range") from exc
        if end < start:
            raise Open311Error(400, "end_date is before start_date")
        if end - start > WINDOW:
            raise Open311Error(400, "start_date to end_date may not span more than 90 days")
        return request_store.search(
            engine, service_code=codes, status=statuses, start=start, end=end
        )

    return bp


def json_response(payload: Any, status: int = 200) -> Response:
    """Return UTF-8 JSON that no browser will sniff or render as HTML."""
    body = json.dumps(payload, ensure_ascii=False, allow_nan=False)
    # Escaped markup characters read back as the same text but stay inert if pasted into a page.
    body = body.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    response = Response(body, status=status, content_type="application/json; charset=utf-8")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


def error_response(status: int, description: str) -> Response:
    """Return the standard's error list with the HTTP status."""
    return json_response([{"code": status, "description": description}], status)


def building_level(record: request_store.RequestRecord) -> str | None:
    """Return a request's address cut to its building: road and number, never a room."""
    if record.road is not None and record.number is not None:
        return f"{record.road}{record.number}"
    if not record.address_text:
        return None
    text = record.address_text.strip()
    match = _BUILDING.match(text)
    if match:
        return match.group(0)
    cut = _UNIT.split(text, maxsplit=1)[0].rstrip(" ,，、-—()（")
    return cut or None


def _render(record: request_store.RequestRecord, lang: str) -> dict[str, Any]:
    """Return a request in the standard's fields, times in the display zone (+08:00)."""
    service = find_service(record.service_code)
    return {
        "service_request_id": str(record.id),
        "status": record.status,
        "status_notes": None,
        "service_name": service.name.pick(lang) if service else record.service_code,
        "service_code": record.service_code,
        # As received in the store; masked on the way out (GB/T 35273).
        "description": mask_text(record.description),
        "agency_responsible": service.agency.pick(lang) if service else None,
        "service_notice": service.notice.pick(lang) if service else None,
        "requested_datetime": _iso(record.requested_at),
        "updated_datetime": _iso(record.updated_at),
        "expected_datetime": None,
        "address": mask_text(building_level(record)) or None,
        "address_id": str(record.address_id) if record.address_id is not None else None,
        "zipcode": None,
        "lat": record.lat,
        "long": record.lon,
        "media_url": record.media_url,
    }


def _iso(moment: datetime) -> str:
    """Return an ISO 8601 time with the display zone's offset."""
    return to_display(moment).isoformat(timespec="seconds")


def _allow(*methods: str) -> None:
    """Refuse any method but these (HEAD goes with GET)."""
    allowed = set(methods) | ({"HEAD"} if "GET" in methods else set())
    if request.method not in allowed:
        raise Open311Error(405, f"{request.method} is not allowed here; use {', '.join(methods)}")


def _check_format(fmt: str) -> None:
    """Refuse every format but JSON."""
    if fmt != "json":
        raise Open311Error(
            400, f"format {_echo(fmt)} is not supported: this endpoint serves JSON only, use .json"
        )


def _language(params: Mapping[str, str]) -> str:
    """Return the language the caller asked for with ?lang=, Chinese by default."""
    return pick_language(_text(params, "lang") or request.args.get("lang"), DEFAULT_LANGUAGE)


def _body() -> dict[str, str]:
    """Return the POST parameters from a form or a JSON object, as text (read once a request)."""
    if "open311_body" not in g:
        try:
            g.open311_body = _read_body()
        except (Open311Error, HTTPException) as exc:
            g.open311_body = exc
    if isinstance(g.open311_body, Exception):
        raise g.open311_body
    return g.open311_body


def _read_body() -> dict[str, str]:
    """Parse the POST body: a form or a JSON object of strings and numbers."""
    # A chunked body has no length to refuse up front: it is cut one byte past the limit, and
    # a cut body is refused here rather than read short.
    request.max_content_length = MAX_BODY_BYTES + 1
    raw = request.get_data(cache=True)
    if len(raw) > MAX_BODY_BYTES:
        raise Open311Error(413, TOO_LARGE)
    if not request.is_json:
        if request.mimetype == "application/x-www-form-urlencoded":
            # Werkzeug would drop a form with bytes that are not UTF-8 without a word.
            try:
                unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
            except UnicodeDecodeError as exc:
                raise Open311Error(400, "the form body is not valid UTF-8") from exc
        return {key: request.form.get(key, "") for key in request.form if key in READ_FIELDS}
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        # Not JSON, not UTF-8, or nested deeper than any request needs.
        raise Open311Error(
            400, "the JSON body must be an object of parameters, in UTF-8 and not nested"
        ) from exc
    if not isinstance(data, dict):
        raise Open311Error(400, "the JSON body must be an object of parameters")
    params: dict[str, str] = {}
    for key in READ_FIELDS & data.keys():
        value = data[key]
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise Open311Error(400, f"{key} must be a string or a number")
        params[key] = value if isinstance(value, str) else str(value)
    return params


def _text(params: Mapping[str, str], name: str) -> str | None:
    """Return a parameter trimmed, or None when it is missing or blank."""
    value = params.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _point(params: Mapping[str, str]) -> tuple[float | None, float | None]:
    """Return (lon, lat) from lat and long, which come together or not at all."""
    lat_text, lon_text = _text(params, "lat"), _text(params, "long")
    if lat_text is None and lon_text is None:
        return None, None
    if lat_text is None or lon_text is None:
        missing, given = ("long", "lat") if lon_text is None else ("lat", "long")
        raise Open311Error(400, f"{missing} is required together with {given}")
    lat = _coordinate(lat_text, "lat", 90.0)
    lon = _coordinate(lon_text, "long", 180.0)
    return lon, lat


def _coordinate(text: str, name: str, bound: float) -> float:
    """Return a WGS84 coordinate in degrees within ±bound."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or abs(value) > bound:
        raise Open311Error(400, f"{name} must be a number of degrees from -{bound:g} to {bound:g}")
    return value


def _media_url(text: str | None) -> str | None:
    """Return an http(s) URL that fits the column, or None."""
    if text is None:
        return None
    problem = "media_url must be an http or https URL"
    if len(text) > MAX_MEDIA_URL:
        raise Open311Error(400, f"media_url is longer than {MAX_MEDIA_URL} characters")
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        raise Open311Error(400, problem)
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError as exc:
        raise Open311Error(400, problem) from exc
    if parts.scheme.lower() not in {"http", "https"} or not host:
        raise Open311Error(400, problem)
    _check_storable("media_url", text)
    return text


def _check_storable(name: str, text: str) -> None:
    """Refuse text no database can hold: NUL characters and unpaired surrogates."""
    if "\x00" in text:
        raise Open311Error(400, f"{name} contains a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise Open311Error(400, f"{name} is not valid UTF-8 text") from exc


def _parse_id(text: str) -> int | None:
    """Return a positive 32-bit id written in ASCII digits, or None."""
    if not _ID.fullmatch(text):
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def _id_list(text: str) -> list[int]:
    """Return the ids of a comma-separated service_request_id."""
    items = _comma_list(text) or []
    if not items:
        raise Open311Error(400, "service_request_id must list one or more request ids")
    if len(items) > MAX_IDS:
        raise Open311Error(400, f"service_request_id may list at most {MAX_IDS} ids")
    ids = []
    for item in items:
        number = _parse_id(item)
        if number is None:
            raise Open311Error(400, f"service_request_id {_echo(item)} is not a request id")
        ids.append(number)
    return ids


def _comma_list(text: str | None) -> list[str] | None:
    """Return the non-blank items of a comma-separated value, or None when it is missing."""
    if text is None:
        return None
    return [item.strip() for item in text.split(",") if item.strip()]


def _parse_time(text: str | None, name: str) -> datetime | None:
    """Return an ISO 8601 time with a zone as UTC, or None when missing."""
    if text is None:
        return None
    # An unencoded '+' in a query string arrives as a space: "2026-11-21T08:00:00 08:00".
    text = _PLUS_AS_SPACE.sub(r"+\1", text)
    problem = f"{name} must be an ISO 8601 time with a zone, e.g. 2026-11-21T08:00:00+08:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise Open311Error(400, problem) from exc
    if moment.tzinfo is None:
        raise Open311Error(400, problem)
    try:
        return moment.astimezone(UTC)
    except OverflowError as exc:
        raise Open311Error(400, f"{name} is out of range") from exc


def _echo(value: str) -> str:
    """Return a caller's value quoted and shortened for an error description."""
    short = value if len(value) <= MAX_ECHO else value[:MAX_ECHO] + "…"
    # Unpaired surrogates (possible through JSON escapes) could not be sent as UTF-8.
    short = short.encode("utf-8", "replace").decode("utf-8")
    return json.dumps(short, ensure_ascii=False)
