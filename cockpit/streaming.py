"""Evaluate the streaming rules as readings and complaints arrive, and keep the alert book current."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy import Engine, select

from cockpit.alerts import AlertBook
from cockpit.domain.kinds import FIRE_DEVICE_KINDS, AlertLevel, ComplaintSource, DeviceKind
from cockpit.live import LiveReading, LiveStoreError
from cockpit.rules import devices, elders, elevator, enterprise, fire
from cockpit.rules.config import RulesConfig
from cockpit.rules.elders import OBJECT_RESIDENT
from cockpit.rules.results import AlertCandidate, Reason, RuleKind, condition_key
from cockpit.store import schema
from cockpit.store.outage import UNREACHABLE

log = logging.getLogger(__name__)

# Names of what the rules remember in the live store, so a restart resumes them.
MEMORY_ELEVATOR = "elevator"
MEMORY_WATER = "elder_water"
MEMORY_DOOR = "elder_door"
# Alert changes that could not reach the alert book (SQL down), by sequence number: a restart
# during the outage still writes them when the store returns.
MEMORY_WAITING_ALERTS = "alerts_waiting"
# Enough hourly meter readings for the 24 h no-water ceiling and a day of baseline besides.
ELDER_HISTORY = 72
FIRE_KINDS = frozenset(k.value for k in FIRE_DEVICE_KINDS)
# Alert changes held in memory while the SQL store is down; beyond this they are counted as lost.
MAX_WAITING_ALERTS = 100_000


@dataclass(frozen=True)
class _DeviceInfo:
    """Hold what the streaming rules need to know about a device."""

    fire: fire.FireDevice | None
    kind: str
    resident_id: int | None


class StreamingRules:
    """Turn each arriving reading or complaint into alert raises and resolutions."""

    def __init__(self, engine: Engine, alerts: AlertBook, cfg: RulesConfig) -> None:
        self.engine = engine
        self.alerts = alerts
        self.cfg = cfg
        self._bounds = devices.plausible_bounds(cfg)
        self._lock = threading.Lock()
        self._devices: dict[int, _DeviceInfo] = {}
        self._cars: dict[int, elevator.EntrapmentState] = {}
        self._flows: dict[int, deque] = {}
        self._doors: dict[int, deque] = {}
        self._open: set[str] = set()
        self._memory_failing = False
        # Raises and resolutions not yet in the alert book (the SQL store was down), in order.
        self._book_lock = threading.Lock()
        self._waiting: deque[tuple[int, str, AlertCandidate | str, datetime]] = deque()
        self._kept: set[int] = set()  # sequence numbers of waiting changes kept in the live store
        self._last_seq = 0
        self._book_failing = False
        self.alerts_lost = 0  # alert changes beyond MAX_WAITING_ALERTS during an outage
        self.load()
        self._recall()

    def load(self) -> None:
        """Read the device registry and the open alerts, so keys can be resolved without a query."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    schema.Device.id,
                    schema.Device.kind,
                    schema.Device.floor,
                    schema.Device.resident_id,
                    schema.Building.floors,
                    schema.Building.height_m,
                ).outerjoin(schema.Building, schema.Building.id == schema.Device.building_id)
            ).all()
            open_keys = (
                conn.execute(
                    select(schema.Alert.open_key).where(schema.Alert.open_key.is_not(None))
                )
                .scalars()
                .all()
            )
        devices = {}
        for device_id, kind, floor, resident_id, floors, height in rows:
            fire_device = (
                fire.FireDevice(device_id, DeviceKind(kind), floors, height, floor)
                if kind in FIRE_KINDS
                else None
            )
            devices[device_id] = _DeviceInfo(fire_device, kind, resident_id)
        with self._lock:
            self._devices = devices
            self._open = set(open_keys)

    # -- memory across restarts -------------------------------------------------------------

    def _recall(self) -> None:
        """Take back what the rules remembered before a restart: confinements, meter series."""
        try:
            cars = self.alerts.live.load_rule_memory(MEMORY_ELEVATOR)
            series = {
                name: self.alerts.live.load_rule_memory(name)
                for name in (MEMORY_WATER, MEMORY_DOOR)
            }
        except LiveStoreError as exc:
            log.warning("cannot recall the streaming rules' memory, starting afresh: %s", exc)
            return
        self._cars = {
            car: elevator.EntrapmentState.from_dict(orjson.loads(raw)) for car, raw in cars.items()
        }
        for name, store in ((MEMORY_WATER, self._flows), (MEMORY_DOOR, self._doors)):
            for resident, raw in series[name].items():
                store[resident] = deque(
                    ((datetime.fromtimestamp(ts, UTC), value) for ts, value in orjson.loads(raw)),
                    maxlen=ELDER_HISTORY,
                )
        self._recall_waiting()

    def _recall_waiting(self) -> None:
        """Queue again the alert changes a previous process could not write to the book."""
        try:
            kept = self.alerts.live.load_rule_memory(MEMORY_WAITING_ALERTS)
        except LiveStoreError as exc:
            log.warning("cannot recall the alert changes waiting for the book: %s", exc)
            return
        for seq in sorted(kept):
            try:
                op, subject, at = _decode_change(kept[seq])
            except (ValueError, TypeError, KeyError) as exc:
                log.warning("dropping an unreadable waiting alert change %d: %s", seq, exc)
                continue
            self._waiting.append((seq, op, subject, at))
            self._last_seq = max(self._last_seq, seq)
        self._kept = set(kept)
        if self._waiting:
            log.info("%d alert changes from before the restart wait for the book", len(kept))

    def _remember(self, cars: set[int], flows: set[int], doors: set[int]) -> None:
        """Keep the changed confinements and meter series in the live store, in one call each."""
        try:
            self.alerts.live.save_rule_memory(
                MEMORY_ELEVATOR,
                {car: orjson.dumps(self._cars[car].as_dict()) for car in cars},
            )
            for name, store, changed in (
                (MEMORY_WATER, self._flows, flows),
                (MEMORY_DOOR, self._doors, doors),
            ):
                self.alerts.live.save_rule_memory(
                    name,
                    {
                        resident: orjson.dumps([(at.timestamp(), v) for at, v in store[resident]])
                        for resident in changed
                    },
                )
        except LiveStoreError as exc:
            # The rules still work from memory; only a restart during the outage forgets.
            if not self._memory_failing:
                log.warning("cannot keep the streaming rules' memory: %s", exc)
            self._memory_failing = True
            return
        if self._memory_failing:
            log.info("streaming rules' memory is kept again")
        self._memory_failing = False

    # -- readings ----------------------------------------------------------------------------

    def on_readings(self, readings: list[LiveReading]) -> int:
        """Evaluate applied readings; return how many alerts were raised or folded.

        Each reading is evaluated once; what it raises or resolves goes to the alert book, or
        waits in order for the book when the SQL store is down (see `flush_alerts`).
        """
        self.flush_alerts()
        raised = 0
        cars: set[int] = set()
        flows: set[int] = set()
        doors: set[int] = set()
        for reading in readings:
            info = self._devices.get(reading.device_id)
            if info is None:
                continue
            at = datetime.fromtimestamp(reading.ts, UTC)
            bounds = self._bounds.get(info.kind)
            if bounds is not None:
                # Inline, not a method: this runs on every reading of every fire terminal.
                faults, checked = devices.check(bounds, reading.values)
                if faults or (checked and self._open):
                    reading, faulted = self._plausible(faults, info, reading, at)
                    raised += faulted
            if info.fire is not None:
                raised += self._fire(info.fire, reading, at)
            elif info.kind == DeviceKind.ELEVATOR:
                raised += self._elevator(reading, at)
                if reading.device_id in self._cars:
                    cars.add(reading.device_id)
            elif info.resident_id is not None and info.kind in (
                DeviceKind.WATER_METER,
                DeviceKind.DOOR_SENSOR,
            ):
                raised += self._elder(info, reading, at)
                water = info.kind == DeviceKind.WATER_METER
                if info.resident_id in (self._flows if water else self._doors):
                    (flows if water else doors).add(info.resident_id)
        if cars or flows or doors:
            self._remember(cars, flows, doors)
        self.flush_alerts()
        return raised

    def _plausible(
        self, faults: dict[str, float], info: _DeviceInfo, reading: LiveReading, at: datetime
    ) -> tuple[LiveReading, int]:
        """Raise a sensor fault for impossible values and hand on the reading without them."""
        if not faults:
            key = devices.fault_condition_key(reading.device_id)
            if key in self._open:
                self._resolve(key, at)
            return reading, 0
        candidate = devices.sensor_fault(reading.device_id, info.kind, faults, self.cfg)
        if candidate is not None:
            self._raise(candidate, at)
        # An impossible value decides nothing else: 900 °C is a broken probe, not a fire.
        kept = {name: value for name, value in reading.values.items() if name not in faults}
        return replace(reading, values=kept), 1

    def on_late_readings(self, readings: list[LiveReading]) -> int:
        """Raise what late fire readings report, resolving nothing; return how many were raised.

        A reading older than the device's latest never moves live state, but an alarm it
        carries did happen: it is raised (or folds into the open alert). Its "all clear" is
        older news than the reading already held, so it settles nothing.
        """
        raised = 0
        for reading in readings:
            info = self._devices.get(reading.device_id)
            if info is None or info.fire is None:
                continue
            at = datetime.fromtimestamp(reading.ts, UTC)
            for candidate in fire.evaluate_fire_reading(info.fire, reading.values, self.cfg):
                self._raise(candidate, at)
                raised += 1
        if raised:
            self.flush_alerts()
        return raised

    def _fire(self, device: fire.FireDevice, reading: LiveReading, at: datetime) -> int:
        candidates = fire.evaluate_fire_reading(device, reading.values, self.cfg)
        if candidates or self._open:
            checked = fire.fire_conditions_checked(device, reading.values)
            self._settle(candidates, checked, at)
        return len(candidates)

    def _elevator(self, reading: LiveReading, at: datetime) -> int:
        car = elevator.ElevatorReading.from_values(reading.device_id, at, reading.values)
        if car is None:
            return 0
        before = self._cars.get(reading.device_id)
        state, candidate = elevator.step(before, car, self.cfg)
        self._cars[reading.device_id] = state
        if candidate is not None:
            self._raise(candidate, at)
            return 1
        if elevator.entrapment_cleared(before, state):
            self._resolve(elevator.trapped_condition_key(reading.device_id), at)
        return 0

    def _elder(self, info: _DeviceInfo, reading: LiveReading, at: datetime) -> int:
        resident = info.resident_id
        if info.kind == DeviceKind.WATER_METER:
            value = reading.values.get("flow_l")
            self._flows.setdefault(resident, deque(maxlen=ELDER_HISTORY)).append((at, value))
        else:
            opened = reading.values.get("opened")
            if opened is True:
                self._doors.setdefault(resident, deque(maxlen=ELDER_HISTORY)).append((at, 1))
        flows = list(self._flows.get(resident, ()))
        openings = list(self._doors.get(resident, ()))
        candidates = [
            c
            for c in (
                elders.no_water(resident, flows, self.cfg),
                elders.water_running(resident, flows, self.cfg),
            )
            if c
        ]
        checked = {
            _elder_key(k, resident) for k in (RuleKind.ELDER_NO_WATER, RuleKind.ELDER_WATER_RUNNING)
        }
        if openings:
            door = elders.no_door_opening(resident, openings, self.cfg)
            candidates += [door] if door else []
            checked.add(_elder_key(RuleKind.ELDER_NO_DOOR, resident))
        self._settle(candidates, frozenset(checked), at)
        return len(candidates)

    # -- complaints --------------------------------------------------------------------------

    def on_complaint(self, enterprise_id: int | None, address_id: int | None, at: datetime) -> int:
        """Re-grade the enterprise a complaint points at (by id, else the firms at its address)."""
        if enterprise_id is None and address_id is None:
            return 0
        window = timedelta(days=self.cfg.enterprise.smoke.window_days)
        with self.engine.connect() as conn:
            firm_query = select(
                schema.Enterprise.id, schema.Enterprise.address_id, schema.Enterprise.prepaid
            )
            firms = conn.execute(
                firm_query.where(schema.Enterprise.id == enterprise_id)
                if enterprise_id is not None
                else firm_query.where(schema.Enterprise.address_id == address_id)
            ).all()
            if enterprise_id is None and len(firms) != 1:
                # An address shared by many firms (an office tower) does not say which one is meant.
                return 0
            addresses = {firm.address_id for firm in firms} | (
                {address_id} if address_id else set()
            )
            rows = conn.execute(
                select(
                    schema.Complaint.source,
                    schema.Complaint.received_at,
                    schema.Complaint.enterprise_id,
                    schema.Complaint.address_id,
                )
                .where(
                    schema.Complaint.received_at >= at - window, schema.Complaint.received_at <= at
                )
                .where(
                    schema.Complaint.address_id.in_(addresses)
                    | schema.Complaint.enterprise_id.in_([firm.id for firm in firms])
                )
            ).all()
        complaints = [
            enterprise.ComplaintFact(
                ComplaintSource(r.source), r.received_at, r.enterprise_id, r.address_id
            )
            for r in rows
        ]
        raised = 0
        for firm in firms:
            facts = enterprise.EnterpriseFacts(firm.id, firm.address_id, firm.prepaid)
            candidate = enterprise.enterprise_smoke(facts, complaints, at, self.cfg)
            if candidate is not None:
                self._raise(candidate, at)
                raised += 1
        self.flush_alerts()
        return raised

    # -- the alert book ----------------------------------------------------------------------

    def _settle(
        self, candidates: list[AlertCandidate], checked: frozenset[str], at: datetime
    ) -> None:
        """Raise the candidates and resolve the checked conditions that no longer hold."""
        for candidate in candidates:
            self._raise(candidate, at)
        raised = {c.condition_key for c in candidates}
        for key in checked - raised:
            if key in self._open:
                self._resolve(key, at)

    def _raise(self, candidate: AlertCandidate, at: datetime) -> None:
        self._wait("raise", candidate, at)
        with self._lock:
            self._open.add(candidate.condition_key)

    def _resolve(self, key: str, at: datetime) -> None:
        self._wait("resolve", key, at)
        with self._lock:
            self._open.discard(key)

    def _wait(self, op: str, subject: AlertCandidate | str, at: datetime) -> None:
        """Queue one alert change for the book; flush_alerts writes it (at once, normally)."""
        with self._book_lock:
            if len(self._waiting) >= MAX_WAITING_ALERTS:
                self.alerts_lost += 1
                if self.alerts_lost == 1:
                    log.error("alert book down too long: alert changes are being lost (counted)")
                return
            self._last_seq = max(self._last_seq + 1, time.time_ns())
            self._waiting.append((self._last_seq, op, subject, at))

    @property
    def alerts_waiting(self) -> int:
        """Return how many alert changes wait for the SQL store to come back."""
        return len(self._waiting)

    def flush_alerts(self) -> int:
        """Write waiting alert changes to the book in order; return how many still wait.

        While the SQL store is unreachable the changes stay queued (logged once), are kept in
        the live store too (so a restart meanwhile loses none), and the rules keep evaluating: a
        fire alarm during an outage reaches the book when the store returns.
        """
        with self._book_lock:
            written: list[int] = []
            try:
                while self._waiting:
                    seq, op, subject, at = self._waiting[0]
                    try:
                        if op == "raise":
                            self.alerts.raise_candidate(subject, at)
                        else:
                            self.alerts.resolve(subject, at)
                    except UNREACHABLE as exc:
                        if not self._book_failing:
                            log.warning(
                                "alert book unreachable; alert changes wait: %s",
                                str(exc).splitlines()[0],
                            )
                        self._book_failing = True
                        self._keep_waiting()
                        return len(self._waiting)
                    except Exception:
                        self._waiting.popleft()  # a bad change must not block the ones behind it
                        written.append(seq)
                        raise
                    self._waiting.popleft()
                    written.append(seq)
            finally:
                self._forget_written(written)
            if self._book_failing:
                log.info("alert book reachable again; waiting alert changes written")
            self._book_failing = False
            return 0

    def _keep_waiting(self) -> None:
        """Keep the waiting changes not yet kept in the live store (holding the book lock)."""
        new = {
            seq: _encode_change(op, subject, at)
            for seq, op, subject, at in self._waiting
            if seq not in self._kept
        }
        if not new:
            return
        try:
            self.alerts.live.save_rule_memory(MEMORY_WAITING_ALERTS, new)
        except LiveStoreError as exc:
            log.warning("alert changes wait in memory only, live store down too: %s", exc)
            return
        self._kept |= new.keys()

    def _forget_written(self, written: list[int]) -> None:
        """Drop the kept copies of changes now in the book (holding the book lock)."""
        done = [seq for seq in written if seq in self._kept]
        if not done:
            return
        try:
            self.alerts.live.forget_rule_memory(MEMORY_WAITING_ALERTS, done)
        except LiveStoreError as exc:
            # Kept copies replay after a restart; raising an open alert again only folds it.
            log.warning("cannot drop written alert changes from the live store: %s", exc)
            return
        self._kept -= set(done)


def _encode_change(op: str, subject: AlertCandidate | str, at: datetime) -> bytes:
    """Return one waiting alert change as JSON: a raise with its candidate, or a resolve."""
    body: dict = {"op": op, "at": at.timestamp()}
    if isinstance(subject, AlertCandidate):
        candidate = {f.name: getattr(subject, f.name) for f in fields(subject)}
        body["candidate"] = candidate | {
            "level": subject.level.value,
            "reasons": subject.reasons_json(),
        }
    else:
        body["key"] = subject
    return orjson.dumps(body)


def _decode_change(raw: bytes) -> tuple[str, AlertCandidate | str, datetime]:
    """Read one waiting alert change written by _encode_change."""
    body = orjson.loads(raw)
    at = datetime.fromtimestamp(body["at"], UTC)
    if body["op"] == "raise":
        fields_ = body["candidate"]
        candidate = AlertCandidate(
            **fields_
            | {
                "level": AlertLevel(fields_["level"]),
                "reasons": tuple(Reason(**reason) for reason in fields_["reasons"]),
            }
        )
        return "raise", candidate, at
    if body["op"] == "resolve":
        return "resolve", str(body["key"]), at
    raise ValueError(f"unknown alert change {body['op']!r}")


def _elder_key(kind: str, resident_id: int) -> str:
    """Return the condition key the elder rules use for one person."""
    return condition_key(kind, OBJECT_RESIDENT, resident_id)
