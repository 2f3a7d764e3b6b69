"""Evaluate the streaming rules as readings and complaints arrive, and keep the alert book current."""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy import Engine, select

from cockpit.alerts import AlertBook
from cockpit.domain.kinds import FIRE_DEVICE_KINDS, ComplaintSource, DeviceKind
from cockpit.live import LiveReading, LiveStoreError
from cockpit.rules import devices, elders, elevator, enterprise, fire
from cockpit.rules.config import RulesConfig
from cockpit.rules.elders import OBJECT_RESIDENT
from cockpit.rules.results import AlertCandidate, RuleKind, condition_key
from cockpit.store import schema

log = logging.getLogger(__name__)

# Names of what the rules remember in the live store, so a restart resumes them.
MEMORY_ELEVATOR = "elevator"
MEMORY_WATER = "elder_water"
MEMORY_DOOR = "elder_door"
# Enough hourly meter readings for the 24 h no-water ceiling and a day of baseline besides.
ELDER_HISTORY = 72
FIRE_KINDS = frozenset(k.value for k in FIRE_DEVICE_KINDS)


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
        """Evaluate applied readings; return how many alerts were raised or folded."""
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
        self.alerts.raise_candidate(candidate, at)
        with self._lock:
            self._open.add(candidate.condition_key)

    def _resolve(self, key: str, at: datetime) -> None:
        self.alerts.resolve(key, at)
        with self._lock:
            self._open.discard(key)


def _elder_key(kind: str, resident_id: int) -> str:
    """Return the condition key the elder rules use for one person."""
    return condition_key(kind, OBJECT_RESIDENT, resident_id)
