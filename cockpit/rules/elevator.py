"""Detect a passenger trapped in a stopped elevator car for over 90 s, on the device's clock."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cockpit.domain.kinds import AlertLevel
from cockpit.rules.config import RulesConfig
from cockpit.rules.results import (
    AlertCandidate,
    Reason,
    Routing,
    RuleKind,
    condition_key,
    is_number,
)

OBJECT_DEVICE = "device"


@dataclass(frozen=True)
class ElevatorReading:
    """Hold one elevator status report; ts is the device's own time stamp."""

    device_id: int
    ts: datetime
    state: str  # "running" moves the car; anything else ("stopped", "fault") does not
    occupied: bool
    door: str | None = None  # "open" or "closed"; None when the car does not report it
    between_floors: bool | None = None
    floor: int | None = None

    @classmethod
    def from_values(
        cls, device_id: int, ts: datetime, values: Mapping[str, Any]
    ) -> ElevatorReading | None:
        """Build a reading from a message's values; None when state or occupancy is missing."""
        state, occupied = values.get("state"), values.get("occupied")
        if not isinstance(state, str) or not isinstance(occupied, bool):
            return None
        door = values.get("door")
        between = values.get("between_floors")
        floor = values.get("floor")
        return cls(
            device_id,
            ts,
            state,
            occupied,
            door if isinstance(door, str) else None,
            between if isinstance(between, bool) else None,
            int(floor) if is_number(floor) else None,
        )

    @property
    def confined(self) -> bool:
        """Tell whether someone is shut in a car that is not moving."""
        return self.occupied and self.state != "running" and self.door != "open"


@dataclass(frozen=True)
class EntrapmentState:
    """Remember, per car, since when someone has been shut in and whether that was alerted."""

    device_id: int
    last_ts: datetime
    since: datetime | None = None  # first reading of the current confinement, device time
    alerted: bool = False
    between_floors: bool = False

    def as_dict(self) -> dict[str, Any]:
        """Return the state as JSON-ready values (epoch seconds), for a live-store hash."""
        return {
            "device_id": self.device_id,
            "last_ts": self.last_ts.timestamp(),
            "since": None if self.since is None else self.since.timestamp(),
            "alerted": self.alerted,
            "between_floors": self.between_floors,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EntrapmentState:
        """Rebuild a state saved with as_dict(), so a restart resumes a running confinement."""
        since = data.get("since")
        return cls(
            int(data["device_id"]),
            datetime.fromtimestamp(float(data["last_ts"]), UTC),
            None if since is None else datetime.fromtimestamp(float(since), UTC),
            bool(data.get("alerted", False)),
            bool(data.get("between_floors", False)),
        )


def trapped_condition_key(device_id: int) -> str:
    """Return the condition key of the trapped-passenger alert of one car."""
    return condition_key(RuleKind.ELEVATOR_TRAPPED, OBJECT_DEVICE, device_id)


def step(
    state: EntrapmentState | None, reading: ElevatorReading, cfg: RulesConfig
) -> tuple[EntrapmentState, AlertCandidate | None]:
    """Advance one car's state by a reading; raise one red alert per entrapment over the limit."""
    if state is not None and state.device_id != reading.device_id:
        raise ValueError(f"state of car {state.device_id} given a reading of {reading.device_id}")
    if state is not None and reading.ts <= state.last_ts:
        # Late or repeated readings cannot move device time backwards.
        return state, None
    if not reading.confined:
        return EntrapmentState(reading.device_id, reading.ts), None
    since = state.since if state is not None and state.since is not None else reading.ts
    between = bool(reading.between_floors) or (state is not None and state.between_floors)
    alerted = state is not None and state.since is not None and state.alerted
    elapsed = (reading.ts - since).total_seconds()
    candidate = None
    if not alerted and elapsed > cfg.elevator.trapped_after_s:
        candidate = _trapped(reading, elapsed, between, cfg)
        alerted = True
    return EntrapmentState(reading.device_id, reading.ts, since, alerted, between), candidate


def entrapment_cleared(before: EntrapmentState | None, after: EntrapmentState) -> bool:
    """Tell whether a step ended an alerted entrapment, so its open alert can be resolved."""
    return before is not None and before.alerted and not after.alerted


def _trapped(
    reading: ElevatorReading, elapsed: float, between: bool, cfg: RulesConfig
) -> AlertCandidate:
    """Build the red trapped-passenger candidate with the facts of the entrapment."""
    limit = cfg.elevator.trapped_after_s
    seconds = round(elapsed, 1)
    reasons = [
        Reason(
            "confined",
            f"轿厢停止、门关闭、有人，已持续 {seconds:g} 秒（超过 {limit:g} 秒）",
            f"Car stopped with the door shut and someone inside for {seconds:g} s "
            f"(over {limit:g} s)",
            seconds,
            limit,
        )
    ]
    if between:
        reasons.append(Reason("between_floors", "轿厢停在两层之间", "The car is between floors", 1))
    if reading.floor is not None:
        reasons.append(
            Reason("floor", f"所在楼层 {reading.floor}", f"At floor {reading.floor}", reading.floor)
        )
    return AlertCandidate.build(
        RuleKind.ELEVATOR_TRAPPED,
        AlertLevel.RED,
        OBJECT_DEVICE,
        reading.device_id,
        "电梯困人",
        "Passenger trapped in elevator",
        tuple(reasons),
        Routing.PROPERTY_MAINTENANCE,
    )
