"""Play a live day in the street: devices report at their natural rates, people report, incidents happen."""

from __future__ import annotations

import heapq
import logging
import math
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from cockpit.clock import Clock
from cockpit.domain.kinds import ComplaintSource, DeviceKind, in_maintenance
from cockpit.ingest import DeviceMessage, Ingest
from cockpit.logs import log_fault
from cockpit.store import schema

log = logging.getLogger(__name__)

# Events per simulated day, from the studies (T street: 19.46 grid events a day).
GRID_REPORTS_PER_DAY = 20.0
RESIDENT_REQUESTS_PER_DAY = 36.0
COMPLAINTS_PER_DAY = 24.0
ELEVATOR_TRIP_MEAN_S = 240.0

# The fleet's faults, as a street's maintenance log shows them: a few devices dead for days (a
# flat battery, a broken modem), a few flapping on a weak link, some smoke detectors' batteries
# running low. Devices the registry marks in maintenance (Device.params, set by the seed) send
# nothing. Patrol points are guards' check-ins, not a fleet's, and have no faults.
DEAD_SHARE = 0.008
DEAD_FOR_DAYS = (1.0, 6.0)
FLAPPING_SHARE = 0.008
FLAP_UP_MEAN_S = 5_400.0  # a flapping device reports this long on average...
FLAP_DOWN_REPORTS = (4, 10)  # ...then misses this many reports (past the offline rule's three)
LOW_BATTERY_SHARE = 0.02
LOW_BATTERY_PCT = (6, 18)
NO_FAULT_KINDS = frozenset({DeviceKind.PATROL_POINT})

# How residents send requests: the app, the WeChat mini-program, the street's hotline.
REQUEST_CHANNELS = ("app", "wechat", "hotline")
REQUEST_SERVICES = (
    ("repair", "楼道灯不亮，请尽快维修"),
    ("sanitation", "垃圾箱满溢，气味很大"),
    ("parking", "非机动车乱停放堵住消防通道"),
    ("noise", "夜间施工噪音扰民"),
    ("greenery", "小区绿化带树枝折断"),
    ("water", "楼顶水箱漏水"),
)
GRID_CATEGORIES = (
    ("exposed_rubbish", "暴露垃圾"),
    ("street_cleanliness", "道路不洁"),
    ("illegal_building", "违法搭建"),
    ("occupied_passage", "占道经营"),
    ("fire_passage", "消防通道堵塞"),
    ("facility_damage", "公共设施损坏"),
)
EVERYDAY_COMPLAINTS = {
    ComplaintSource.POLICE_110: ("neighbour_dispute", "楼上楼下因漏水发生纠纷"),
    ComplaintSource.HOTLINE_12345: ("noise", "夜间广场舞音响声音过大"),
    ComplaintSource.MARKET_96315: ("product_quality", "小区门口摊贩售卖过期食品"),
    ComplaintSource.LABOUR: ("unpaid_wages", "装修工人反映工钱被拖欠"),
}
COMPLAINT_TEXTS = {
    ComplaintSource.POLICE_110: ("dispute", "商家拒绝退还预付卡余额，双方发生纠纷"),
    ComplaintSource.HOTLINE_12345: ("prepaid_refund", "办卡后门店停业，无法退费"),
    ComplaintSource.MARKET_96315: ("consumer_rights", "预付式消费合同纠纷，商家失联"),
    ComplaintSource.LABOUR: ("unpaid_wages", "员工反映两个月未发工资"),
}


@dataclass(frozen=True)
class ScriptedIncident:
    """Describe one incident the scenario plays at a fixed time after it starts."""

    name: str
    at: timedelta
    caption: str


SCRIPT = (
    ScriptedIncident("smoke_alarm", timedelta(minutes=2), "高层住宅烟感报警"),
    ScriptedIncident("trapped_elevator", timedelta(minutes=5), "电梯困人超过 90 秒"),
    ScriptedIncident("enterprise_110", timedelta(minutes=10), "预付费企业：110 报警"),
    ScriptedIncident("enterprise_12345", timedelta(hours=6), "预付费企业：12345 投诉"),
    ScriptedIncident("enterprise_96315", timedelta(days=2), "预付费企业：96315 投诉"),
    ScriptedIncident("elder_no_water", timedelta(hours=12), "独居老人 12 小时无用水"),
)


@dataclass(frozen=True)
class FleetFaults:
    """Name the devices the scenario keeps from being healthy, by how."""

    dead: frozenset[int] = frozenset()
    flapping: frozenset[int] = frozenset()
    low_battery: frozenset[int] = frozenset()
    maintenance: frozenset[int] = frozenset()

    def healthy(self, device_id: int) -> bool:
        """Tell whether the device reports at its natural rate, every time."""
        return not (
            device_id in self.dead or device_id in self.flapping or device_id in self.maintenance
        )


@dataclass
class _Device:
    """Hold what the scenario needs to make one device's messages."""

    id: int
    kind: DeviceKind
    interval: int
    seq: int = 0
    flapping: bool = False
    up_until: float = 0.0  # a flapping device's next drop-out (epoch)
    battery_pct: int | None = None  # a low battery that stays low; None: a healthy one


class LiveScenario:
    """Emit device messages and feed records through ingest, on an injectable clock."""

    def __init__(
        self,
        engine: Engine,
        ingest: Ingest,
        clock: Clock,
        seed: int = 1,
        sink: Callable[[list[DeviceMessage]], object] | None = None,
        script: Sequence[ScriptedIncident] = SCRIPT,
    ) -> None:
        self.engine = engine
        self.ingest = ingest
        # Device messages go to the sink (ingest, or an MQTT publisher); feeds always to ingest.
        self.sink = sink or ingest.device_messages
        self.clock = clock
        self.seed = seed
        self.rng = random.Random(f"scenario:{seed}")
        self._faults = random.Random(f"scenario faults:{seed}")
        self.faults = FleetFaults()
        self.started_at = clock.now()
        self.devices: dict[int, _Device] = {}
        self._due: list[tuple[float, int, bool]] = []  # (due, device id, reschedule)
        self._script_plan = tuple(script)
        self._script: list[tuple[float, ScriptedIncident]] = []  # (due epoch, incident) to play
        self.played: list[tuple[datetime, ScriptedIncident]] = []
        self._targets: dict[str, Any] = {}
        self._next_feed: dict[str, float] = {}
        self._stuck: dict[int, float] = {}  # elevator id -> entrapment end (epoch)
        self._dry_meter: int | None = None
        self._load()

    def _load(self) -> None:
        """Read the device registry and pick the scripted incidents' targets."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    schema.Device.id,
                    schema.Device.kind,
                    schema.Device.report_interval_s,
                    schema.Device.params,
                )
            ).all()
            serviced = {row.id for row in rows if in_maintenance(row.params)}
            self._targets = _pick_targets(conn, self.rng, serviced)
            start = self.started_at.timestamp()
            for device_id, kind, interval, _params in rows:
                self.devices[device_id] = _Device(device_id, DeviceKind(kind), interval)
            dead = self._plan_faults(serviced)
            for device_id, _kind, interval, _params in rows:
                if device_id in serviced:
                    continue  # switched off for its service: silent, and known to be
                if device_id in dead:
                    # Its last word came days ago; nothing since.
                    heapq.heappush(self._due, (start - dead[device_id], device_id, False))
                    continue
                # Each device last reported somewhen within its interval before the start, so the
                # first step fills live state the way a street that was already running would have it.
                heapq.heappush(self._due, (start - self.rng.uniform(0, interval), device_id, True))
            self.addresses = conn.execute(
                select(
                    schema.Address.id,
                    schema.Address.grid_id,
                    schema.Address.building_id,
                    schema.Address.full_text,
                    schema.Address.lon,
                    schema.Address.lat,
                    schema.Building.use,
                ).join(schema.Building, schema.Building.id == schema.Address.building_id)
            ).all()
            # Everyday complaints are about homes; the scripted enterprise's are its own.
            self.homes = [a for a in self.addresses if a.use == "residential"] or self.addresses
            self.workers = conn.execute(
                select(schema.GridWorker.id, schema.GridWorker.grid_id)
            ).all()
        self._dry_meter = self._targets.get("water_meter")
        self._script = self._schedule_script()
        for feed, per_day in (
            ("grid", GRID_REPORTS_PER_DAY),
            ("request", RESIDENT_REQUESTS_PER_DAY),
            ("complaint", COMPLAINTS_PER_DAY),
        ):
            self._next_feed[feed] = self.started_at.timestamp() + self.rng.expovariate(
                per_day / 86_400
            )

    def _plan_faults(self, serviced: set[int]) -> dict[int, float]:
        """Pick the flapping and low-battery devices; return the dead ones and how long ago they died."""
        # A stream of its own: the healthy devices' readings stay as they were.
        faults = self._faults = random.Random(f"scenario faults:{self.seed}")
        spared = serviced | {t for t in self._targets.values() if isinstance(t, int)}
        fleet = sorted(
            d.id
            for d in self.devices.values()
            if d.kind not in NO_FAULT_KINDS and d.id not in spared
        )
        dead_ids = faults.sample(fleet, round(len(fleet) * DEAD_SHARE))
        dead = {d: faults.uniform(*DEAD_FOR_DAYS) * 86_400 for d in sorted(dead_ids)}
        rest = [d for d in fleet if d not in dead]
        start = self.started_at.timestamp()
        for device_id in sorted(faults.sample(rest, round(len(fleet) * FLAPPING_SHARE))):
            device = self.devices[device_id]
            device.flapping = True
            device.up_until = start + faults.expovariate(1 / FLAP_UP_MEAN_S)
        smoke = [d for d in rest if self.devices[d].kind is DeviceKind.SMOKE]
        for device_id in sorted(faults.sample(smoke, round(len(smoke) * LOW_BATTERY_SHARE))):
            self.devices[device_id].battery_pct = faults.randint(*LOW_BATTERY_PCT)
        self.faults = FleetFaults(
            frozenset(dead),
            frozenset(d.id for d in self.devices.values() if d.flapping),
            frozenset(d.id for d in self.devices.values() if d.battery_pct is not None),
            frozenset(serviced),
        )
        return dead

    # -- running -----------------------------------------------------------------------------

    def step(self, until: datetime | None = None, batch: int = 2_000) -> int:
        """Emit everything due up to `until` (default: now) and return how many messages went out."""
        horizon = (until or self.clock.now()).timestamp()
        sent = 0
        messages: list[DeviceMessage] = []
        self._play_script(horizon)
        while self._due and self._due[0][0] <= horizon:
            due, device_id, reschedule = heapq.heappop(self._due)
            device = self.devices[device_id]
            messages.append(self._message(device, due))
            if reschedule:
                heapq.heappush(self._due, (due + self._next_interval(device, due), device_id, True))
            if len(messages) >= batch:
                sent += self._send(messages)
                messages = []
        sent += self._send(messages)
        self._feeds(horizon)
        return sent

    def run(self, stop: threading.Event, tick_s: float = 0.25) -> None:
        """Step on every tick until stopped; a failing step is logged and retried, never fatal."""
        failing = False
        while not stop.is_set():
            try:
                self.step()
                if failing:
                    log.info("live scenario recovered")
                failing = False
            except Exception as exc:
                if not failing:
                    log_fault(log, exc, "live scenario step failed; retrying")
                failing = True
            stop.wait(tick_s)

    def _send(self, messages: list[DeviceMessage]) -> int:
        if messages:
            self.sink(messages)
        return len(messages)

    def _next_interval(self, device: _Device, due: float | None = None) -> float:
        if device.flapping and due is not None and due >= device.up_until:
            # The weak link drops: several reports missed, then it holds again for a while.
            gap = device.interval * self._faults.randint(*FLAP_DOWN_REPORTS)
            device.up_until = due + gap + self._faults.expovariate(1 / FLAP_UP_MEAN_S)
            return gap
        if device.kind is DeviceKind.ELEVATOR:
            # A car reports on each trip and at least once per heartbeat interval when idle.
            return min(self.rng.expovariate(1 / ELEVATOR_TRIP_MEAN_S) + 5, device.interval)
        if device.kind is DeviceKind.PATROL_POINT:
            # Guards walk their round a little early rather than late: the window is the interval.
            return device.interval * self.rng.uniform(0.8, 1.0)
        return device.interval * self.rng.uniform(0.9, 1.1)

    # -- device values -----------------------------------------------------------------------

    def _message(self, device: _Device, due: float, **override: Any) -> DeviceMessage:
        device.seq += 1
        values, kind = self._values(device, due)
        values.update(override)
        return DeviceMessage(
            device_id=device.id,
            device_type=device.kind,
            kind=kind,
            ts=datetime.fromtimestamp(due, tz=self.started_at.tzinfo),
            seq=device.seq,
            values=values,
        )

    def _values(self, device: _Device, due: float) -> tuple[dict[str, Any], str]:
        rng, kind = self.rng, device.kind
        hour = datetime.fromtimestamp(due, tz=self.started_at.tzinfo).hour
        if kind is DeviceKind.SMOKE:
            return {
                "obscuration_pct_m": round(rng.uniform(0, 0.4), 2),
                "alarm": False,
                "battery_pct": (
                    rng.randint(70, 100) if device.battery_pct is None else device.battery_pct
                ),
            }, "reading"
        if kind is DeviceKind.GAS:
            return {"lel_pct": round(rng.uniform(0, 3), 1), "alarm": False}, "reading"
        if kind is DeviceKind.ELECTRICITY:
            return {
                "current_a": round(rng.uniform(5, 60), 1),
                "leakage_ma": round(rng.uniform(3, 90), 1),
                "cable_temp_c": round(rng.uniform(24, 48), 1),
            }, "reading"
        if kind is DeviceKind.WATER_PRESSURE:
            return {"pressure_kpa": round(rng.uniform(240, 420), 1)}, "reading"
        if kind is DeviceKind.PATROL_POINT:
            return {"checked_in": True}, "event"
        if kind is DeviceKind.WATER_METER:
            dry = device.id == self._dry_meter
            usage = 0.0 if dry else max(0.0, rng.gauss(_water_profile(hour), 4))
            return {"flow_l": round(usage, 1)}, "reading"
        if kind is DeviceKind.DOOR_SENSOR:
            return {"opened": 7 <= hour <= 21 and rng.random() < 0.5}, "status"
        if kind is DeviceKind.ELEVATOR:
            if device.id in self._stuck and due < self._stuck[device.id]:
                return {
                    "state": "stopped",
                    "occupied": True,
                    "door": "closed",
                    "between_floors": True,
                }, "status"
            return {
                "state": "running",
                "occupied": rng.random() < 0.6,
                "door": "closed",
                "floor": rng.randint(1, 30),
            }, "status"
        if kind is DeviceKind.TAXI_KIOSK:
            return {"status": "ok", "calls": int(7 <= hour <= 19 and rng.random() < 0.3)}, "status"
        return {"status": "online"}, "status"

    # -- scripted incidents and feeds --------------------------------------------------------

    def _schedule_script(self) -> list[tuple[float, ScriptedIncident]]:
        """Return the incidents still to play and when, from the store's timetable.

        The first start writes each incident's due time to `scenario_incidents`; a restarted
        scenario reads them back, so an incident already played is not played again and the
        ones to come keep their times (one played while the cockpit was down comes at once).
        """
        if not self._script_plan:
            return []
        table = schema.ScenarioIncident
        for attempt in range(2):
            try:
                with self.engine.begin() as conn:
                    held = {
                        row.name: row
                        for row in conn.execute(select(table.name, table.due_at, table.played_at))
                    }
                    fresh = [
                        {"name": i.name, "due_at": self.started_at + i.at, "played_at": None}
                        for i in self._script_plan
                        if i.name not in held
                    ]
                    if fresh:
                        conn.execute(insert(table), fresh)
                break
            except IntegrityError:
                if attempt:
                    raise  # another scenario wrote the timetable meanwhile: read it again, once
        due = {row["name"]: row["due_at"] for row in fresh} | {
            name: row.due_at for name, row in held.items()
        }
        return sorted(
            (
                (due[incident.name].timestamp(), incident)
                for incident in self._script_plan
                if held.get(incident.name) is None or held[incident.name].played_at is None
            ),
            key=lambda planned: planned[0],
        )

    def _claim(self, incident: ScriptedIncident, at: float) -> bool:
        """Mark the incident played in the store; tell whether this scenario got it first."""
        table = schema.ScenarioIncident
        with self.engine.begin() as conn:
            claimed = conn.execute(
                update(table)
                .where(table.name == incident.name, table.played_at.is_(None))
                .values(played_at=_utc(at, self.started_at))
            ).rowcount
        return claimed == 1

    def _play_script(self, horizon: float) -> None:
        while self._script and self._script[0][0] <= horizon:
            at, incident = self._script.pop(0)
            # Marked before it plays: a crash in between loses the incident, never repeats it.
            if not self._claim(incident, at):
                continue
            self._play(incident, at)
            self.played.append((datetime.fromtimestamp(at, tz=self.started_at.tzinfo), incident))
            self.ingest.live.append_event(
                "scenario", {"name": incident.name, "caption": incident.caption, "ts": at}
            )
            log.info("scripted incident: %s", incident.caption)

    def _play(self, incident: ScriptedIncident, at: float) -> None:
        targets = self._targets
        if incident.name == "smoke_alarm" and (device := self.devices.get(targets.get("smoke"))):
            message = self._message(device, at, alarm=True, obscuration_pct_m=4.2)
            self._send([message.model_copy(update={"kind": "event"})])
        elif incident.name == "trapped_elevator" and (
            device := self.devices.get(targets.get("elevator"))
        ):
            self._stuck[device.id] = at + 180
            # Report every 15 s while the car is stuck, so the 90 s rule sees it on device time.
            for offset in range(0, 181, 15):
                heapq.heappush(self._due, (at + offset, device.id, False))
        elif incident.name.startswith("enterprise_") and (enterprise := targets.get("enterprise")):
            source = ComplaintSource(
                {"enterprise_110": "110", "enterprise_12345": "12345", "enterprise_96315": "96315"}[
                    incident.name
                ]
            )
            category, text = COMPLAINT_TEXTS[source]
            self.ingest.complaint(
                source,
                f"SIM-{incident.name}-{int(at)}",
                _utc(at, self.started_at),
                category,
                text,
                enterprise["address_text"],
                enterprise["address_id"],
                enterprise["id"],
            )
        # elder_no_water: the chosen meter has reported zero flow since the start; the marker is enough.

    def _feeds(self, horizon: float) -> None:
        """Let residents, grid workers and complaint channels report at their daily rates."""
        rates = {
            "grid": GRID_REPORTS_PER_DAY,
            "request": RESIDENT_REQUESTS_PER_DAY,
            "complaint": COMPLAINTS_PER_DAY,
        }
        emit: dict[str, Callable[[float], None]] = {
            "grid": self._grid_report,
            "request": self._resident_request,
            "complaint": self._complaint,
        }
        for feed, rate in rates.items():
            while self._next_feed[feed] <= horizon:
                emit[feed](self._next_feed[feed])
                self._next_feed[feed] += self.rng.expovariate(rate / 86_400)

    def _grid_report(self, at: float) -> None:
        if not self.workers:
            return
        worker_id, grid_id = self.rng.choice(self.workers)
        in_grid = [a for a in self.addresses if a.grid_id == grid_id] or self.addresses
        address = self.rng.choice(in_grid)
        code, title = self.rng.choice(GRID_CATEGORIES)
        self.ingest.grid_report(
            worker_id,
            grid_id,
            code,
            title,
            f"{address.full_text}附近发现{title}",
            _utc(at, self.started_at),
            address.lon,
            address.lat,
            address.building_id,
            address.id,
        )

    def _resident_request(self, at: float) -> None:
        address = self.rng.choice(self.addresses)
        code, text = self.rng.choice(REQUEST_SERVICES)
        self.ingest.resident_request(
            code,
            text,
            _utc(at, self.started_at),
            self.rng.choice(REQUEST_CHANNELS),
            address.lon,
            address.lat,
            address.full_text,
            address.id,
        )

    def _complaint(self, at: float) -> None:
        address = self.rng.choice(self.homes)
        source = self.rng.choice(list(ComplaintSource))
        category, text = EVERYDAY_COMPLAINTS[source]
        self.ingest.complaint(
            source,
            f"SIM-{int(at * 1000)}-{self.rng.randrange(10**6)}",
            _utc(at, self.started_at),
            category,
            text,
            address.full_text,
            address.id,
        )


def _water_profile(hour: int) -> float:
    """Return typical litres an hour for one elder: peaks in the morning and evening."""
    return 2 + 14 * math.exp(-((hour - 7) ** 2) / 4) + 12 * math.exp(-((hour - 19) ** 2) / 5)


def _utc(epoch: float, like: datetime) -> datetime:
    return datetime.fromtimestamp(epoch, tz=like.tzinfo)


def _pick_targets(conn, rng: random.Random, spared: set[int] = frozenset()) -> dict[str, Any]:
    """Choose the devices (none in maintenance) and the enterprise the scripted incidents happen to."""

    def first(kind: DeviceKind) -> int | None:
        ids = (
            conn.execute(
                select(schema.Device.id)
                .where(schema.Device.kind == kind.value)
                .order_by(schema.Device.id)
                .limit(50 + len(spared))
            )
            .scalars()
            .all()
        )
        ids = [i for i in ids if i not in spared][:50]
        return rng.choice(ids) if ids else None

    targets: dict[str, Any] = {
        k.value: first(k) for k in (DeviceKind.SMOKE, DeviceKind.ELEVATOR, DeviceKind.WATER_METER)
    }
    row = conn.execute(
        select(schema.Enterprise.id, schema.Enterprise.address_id, schema.Address.full_text)
        .join(schema.Address, schema.Address.id == schema.Enterprise.address_id)
        .where(schema.Enterprise.prepaid.is_(True))
        .order_by(schema.Enterprise.id)
        .limit(1)
    ).first()
    if row:
        targets["enterprise"] = {
            "id": row.id,
            "address_id": row.address_id,
            "address_text": row.full_text,
        }
    return targets
