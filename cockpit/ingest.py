"""Validate and store everything that arrives: device messages into live state, feeds into SQL."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Engine, insert, select

from cockpit.cases.deadlines import load_cases_config
from cockpit.cases.desk import CaseDesk, Report
from cockpit.clock import Clock
from cockpit.domain.kinds import CaseSource, ComplaintSource, DeviceKind, RequestStatus
from cockpit.live import LiveReading, LiveStore
from cockpit.store import schema
from cockpit.store.outage import UNREACHABLE, StoreUnavailableError

if TYPE_CHECKING:
    from cockpit.streaming import StreamingRules

log = logging.getLogger(__name__)

# A device clock this far ahead of ours is wrong: the reading is refused, or it would hold the
# device's latest state (and every real reading after it would be "stale") until that date.
FUTURE_TOLERANCE = timedelta(minutes=5)
# A device numbers its messages; a jump past the next number means messages that never arrived
# (a broker crash loses what it acknowledged and had not saved). A bigger jump is a device that
# restarted its numbering, not a loss.
MAX_SEQ_GAP = 10_000
SEQ_GAP_COUNTER = "lost:device:seq_gap"
# An unknown device id re-reads the registry at most this often, so a flood of bad ids cannot
# turn into a flood of queries, yet a newly registered device is known within this time.
REGISTRY_REFRESH_S = 30.0
Scalar = float | int | bool | str | None


class DeviceMessage(BaseModel):
    """Describe one device message as published on cockpit/{street}/{type}/{id}/{kind}."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device_id: int = Field(gt=0)
    device_type: DeviceKind
    kind: Literal["reading", "event", "status"]
    ts: AwareDatetime
    seq: int = Field(ge=0)
    values: dict[str, Scalar] = Field(default_factory=dict)


class DeviceRegistry:
    """Know each registered device's kind from one SQL read, re-read when an unknown id arrives."""

    def __init__(
        self,
        engine: Engine,
        refresh_after_s: float = REGISTRY_REFRESH_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.refresh_after_s = refresh_after_s
        self._monotonic = monotonic
        self._kinds: dict[int, str] | None = None
        self._loaded_at = 0.0

    def kinds(self, device_ids: Iterable[int]) -> dict[int, str]:
        """Return the id -> kind map, re-read (at most once a while) when one of the ids is missing."""
        known = self._kinds if self._kinds is not None else self._load_or_refuse()
        if any(device_id not in known for device_id in device_ids) and (
            self._monotonic() - self._loaded_at >= self.refresh_after_s
        ):
            try:
                known = self.load()
            except UNREACHABLE as exc:
                # The map we hold still knows every device it knew; try again after a while.
                self._loaded_at = self._monotonic()
                log.warning("device registry not re-read, store unreachable: %s", _first(exc))
        return known

    def _load_or_refuse(self) -> dict[int, str]:
        """Read the registry for the first time; without it no reading can be checked."""
        try:
            return self.load()
        except UNREACHABLE as exc:
            raise StoreUnavailableError(
                f"device registry unreadable, store unreachable: {_first(exc)}"
            ) from exc

    def load(self) -> dict[int, str]:
        """Read the id and kind of every registered device and return them."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(schema.Device.id, schema.Device.kind)).all()
        kinds = {device_id: kind for device_id, kind in rows}
        # One assignment swaps the map, so a reader on another thread sees the old or the new one.
        self._kinds = kinds
        self._loaded_at = self._monotonic()
        return kinds


@dataclass
class IngestResult:
    """Count what one batch of device messages did."""

    accepted: int = 0
    duplicates: int = 0
    stale: int = 0
    future: int = 0  # also counted under rejected["ts:future"]
    missing: int = 0  # numbers skipped by devices' sequences: messages lost on the way
    rejected: dict[str, int] = field(default_factory=dict)


class Ingest:
    """Be the only writer of live state and the single entry point for feeds into the store."""

    def __init__(
        self,
        engine: Engine,
        live: LiveStore,
        clock: Clock,
        rules: StreamingRules | None = None,
        cases: CaseDesk | None = None,
        devices: DeviceRegistry | None = None,
    ) -> None:
        self.engine = engine
        self.live = live
        self.clock = clock
        self.rules = rules
        self.devices = devices or DeviceRegistry(engine)
        self.cases = cases or CaseDesk(engine, live, clock, load_cases_config())
        self._logged_reasons: set[str] = set()

    # -- devices -----------------------------------------------------------------------------

    def device_messages(
        self, messages: Iterable[Mapping[str, Any] | DeviceMessage]
    ) -> IngestResult:
        """Validate a batch of device messages and apply the valid ones to live state."""
        result = IngestResult()
        valid: list[DeviceMessage] = []
        for raw in messages:
            try:
                valid.append(
                    raw if isinstance(raw, DeviceMessage) else DeviceMessage.model_validate(raw)
                )
            except ValidationError as exc:
                self._reject(result, _reason(exc), exc)
        if not valid:
            self._count(result)
            return result
        horizon = self.clock.now() + FUTURE_TOLERANCE
        kinds = self.devices.kinds({message.device_id for message in valid})
        checked: list[DeviceMessage] = []
        for message in valid:
            kind = kinds.get(message.device_id)
            if kind is None:
                self._reject(result, "device:unknown", f"device {message.device_id} unknown")
            elif kind != message.device_type.value:
                self._reject(
                    result,
                    "device:type_mismatch",
                    f"device {message.device_id} is {kind}, not {message.device_type.value}",
                )
            elif message.ts > horizon:
                result.future += 1
                self._reject(result, "ts:future", f"device {message.device_id} at {message.ts}")
            else:
                checked.append(message)
        valid = checked
        if not valid:
            self._count(result)
            return result
        readings = [
            LiveReading(
                message.device_id,
                message.device_type.value,
                message.ts.timestamp(),
                message.seq,
                dict(message.values),
            )
            for message in valid
        ]
        previous = self.live.latest({r.device_id for r in readings})
        # What each device last holds, followed through the batch, so a redelivery inside the
        # same batch as its original counts as a duplicate, not as stale.
        held = {device: (p["ts"], p["seq"]) for device, p in previous.items()}
        applied = self.live.put_readings(readings)
        fresh, late = [], []
        for message, reading, ok in zip(valid, readings, applied, strict=True):
            if ok:
                result.accepted += 1
                fresh.append(reading)
                before = held.get(reading.device_id)
                if before is not None and 1 < reading.seq - before[1] <= MAX_SEQ_GAP:
                    result.missing += reading.seq - before[1] - 1
                held[reading.device_id] = (reading.ts, reading.seq)
                if message.kind == "event":
                    self.live.append_event("device_events", reading.as_dict())
            elif held.get(reading.device_id) == (reading.ts, reading.seq):
                result.duplicates += 1  # MQTT QoS 1 delivers at least once
            else:
                result.stale += 1
                late.append(reading)
        self._count(result)
        if self.rules is not None and fresh:
            # Rules see only readings that moved live state: a duplicate cannot re-alert.
            self.rules.on_readings(fresh)
        if self.rules is not None and late:
            # A late alarm still happened: raised, never resolving what a newer reading holds.
            self.rules.on_late_readings(late)
        return result

    def reject(self, reason: str, detail: str) -> None:
        """Count a message refused before validation (bad topic, bad JSON) and log its reason once."""
        result = IngestResult()
        self._reject(result, reason, detail)
        self._count(result)

    def _reject(self, result: IngestResult, reason: str, detail: Exception | str) -> None:
        """Count a rejected message by reason and log each reason once."""
        result.rejected[reason] = result.rejected.get(reason, 0) + 1
        if reason not in self._logged_reasons:
            self._logged_reasons.add(reason)
            log.warning("rejected device message (%s): %s", reason, str(detail).splitlines()[0])

    def _count(self, result: IngestResult) -> None:
        """Add a batch's outcome to the live counters."""
        for name, amount in (
            ("readings_accepted", result.accepted),
            ("readings_duplicate", result.duplicates),
            ("readings_stale", result.stale),
            (SEQ_GAP_COUNTER, result.missing),
        ):
            if amount:
                self.live.incr(name, amount)
        for reason, amount in result.rejected.items():
            self.live.incr(f"rejected:{reason}", amount)

    # -- feeds -------------------------------------------------------------------------------

    def complaint(
        self,
        source: ComplaintSource,
        external_id: str,
        received_at: datetime,
        category: str,
        text: str,
        address_text: str,
        address_id: int | None = None,
        enterprise_id: int | None = None,
    ) -> int:
        """Store a complaint from 110, 12345, 96315 or labour inspection and return its id."""
        with self.engine.begin() as conn:
            new_id = conn.execute(
                insert(schema.Complaint).returning(schema.Complaint.id),
                {
                    "source": source.value,
                    "external_id": external_id,
                    "received_at": received_at,
                    "category": category,
                    "text": text,
                    "address_text": address_text,
                    "address_id": address_id,
                    "enterprise_id": enterprise_id,
                },
            ).scalar_one()
        self.live.incr("complaints_received")
        if self.rules is not None:
            self.rules.on_complaint(enterprise_id, address_id, received_at)
        self.live.append_event(
            "complaints",
            {
                "id": new_id,
                "source": source.value,
                "address_id": address_id,
                "enterprise_id": enterprise_id,
                "ts": received_at.timestamp(),
            },
        )
        return new_id

    def resident_request(
        self,
        service_code: str,
        description: str,
        requested_at: datetime,
        channel: str,
        lon: float | None = None,
        lat: float | None = None,
        address_text: str | None = None,
        address_id: int | None = None,
        media_url: str | None = None,
    ) -> int:
        """Store a resident request (随手拍, repair, feedback) and return its id."""
        with self.engine.begin() as conn:
            new_id = conn.execute(
                insert(schema.ResidentRequest).returning(schema.ResidentRequest.id),
                {
                    "service_code": service_code,
                    "description": description,
                    "status": RequestStatus.OPEN.value,
                    "channel": channel,
                    "requested_at": requested_at,
                    "updated_at": requested_at,
                    "lon": lon,
                    "lat": lat,
                    "address_text": address_text,
                    "address_id": address_id,
                    "media_url": media_url,
                },
            ).scalar_one()
        self.live.incr("requests_received")
        return new_id

    def grid_report(
        self,
        worker_id: int,
        grid_id: int,
        category: str,
        title: str,
        description: str,
        reported_at: datetime,
        lon: float | None = None,
        lat: float | None = None,
        building_id: int | None = None,
        address_id: int | None = None,
    ) -> int:
        """Open a grid worker's event report as a case (or join the open one); return its id."""
        case_id = self.cases.report(
            Report(
                source=CaseSource.GRID_WORKER,
                category=category,
                title=title,
                description=description,
                reported_at=reported_at,
                grid_id=grid_id,
                address_id=address_id,
                building_id=building_id,
                reporter_worker_id=worker_id,
                lon=lon,
                lat=lat,
            )
        )
        self.live.incr("grid_reports_received")
        return case_id


def _first(exc: Exception) -> str:
    """Return the first line of an error, for one-line log entries."""
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _reason(exc: ValidationError) -> str:
    """Name a validation failure by its first field and error type, e.g. 'ts:missing'."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "message"
    return f"{where}:{first.get('type', 'invalid')}"
