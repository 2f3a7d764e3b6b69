"""Build the three panels', the ticker's, the map's and source health's view models (pure, no SQL)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

from cockpit.domain.kinds import AlertLevel, CaseState, DeviceKind
from cockpit.domain.services import find_service
from cockpit.i18n import LABELS, address_name, place_name
from cockpit.rules.housing import COLOUR_RANK, RiskResult
from cockpit.rules.results import DEVICE_HEALTH_KINDS, RuleKind

# The shipped default of [devices] offline_after_intervals; the worker passes the configured one.
OFFLINE_AFTER_INTERVALS = 3.0

GOVERNANCE = "governance"
ENTERPRISE = "enterprise"
LIVELIHOOD = "livelihood"
MAP_COLOURS = "map_colours"
SOURCE_HEALTH = "source_health"
KPI_LISTS = "kpi_lists"
# The tablet lists at most this many cases or alerts behind a KPI, the most telling first.
LIST_ROWS = 50
# The KPIs a tablet opens into the list behind them (the others count devices or people).
LISTED_KPIS = (
    "cases_today",
    "closure_rate",
    "on_time_rate",
    "open_red_alerts",
    "enterprises_watch",
)

COLOURS = ("red", "yellow", "green")
# Gravest first; LEVEL_ORDER ranks them for sorting (red 4 ... blue 1).
LEVELS_ALL = tuple(
    level.value for level in (AlertLevel.RED, AlertLevel.ORANGE, AlertLevel.YELLOW, AlertLevel.BLUE)
)
LEVEL_ORDER = MappingProxyType(
    {level: rank for rank, level in enumerate(reversed(LEVELS_ALL), start=1)}
)
LEVEL_VALUES = frozenset(LEVELS_ALL)
# The four sensing systems of fire safety (消防安全) and the device kinds that make each.
FIRE_SYSTEMS: tuple[tuple[str, frozenset[str]], ...] = (
    ("water_pressure", frozenset({DeviceKind.WATER_PRESSURE.value})),
    ("electricity", frozenset({DeviceKind.ELECTRICITY.value})),
    ("smoke_gas", frozenset({DeviceKind.SMOKE.value, DeviceKind.GAS.value})),
    ("patrol", frozenset({DeviceKind.PATROL_POINT.value})),
)
# The case cycle of GB/T 30428 first, then the side states, as the funnel lists them.
FUNNEL_STATES = tuple(state.value for state in CaseState)
# "136": 10 % of cases end at district level, 30 % at street, 60 % at community or grid.
RESOLUTION_TARGET_PCT = MappingProxyType({"district": 10, "street": 30, "community": 60})
ELDER_KINDS = frozenset(
    {
        RuleKind.ELDER_NO_WATER.value,
        RuleKind.ELDER_WATER_RUNNING.value,
        RuleKind.ELDER_NO_DOOR.value,
    }
)
SMOKE_SOURCE_PREFIX = "source_"
VISIT_TITLE_PREFIXES = ("必访：", "Visit due: ")
TOP_ROWS = 20
VISIT_ROWS = 12
ERROR_CHARS = 200
# Hot topics (热点话题): the most-raised categories of the week; the wall shows the first few.
TOPIC_ROWS = 8
TOPIC_DAYS = 7
# A topic is pinned to a community holding at least this share of its week, with this many.
CONCENTRATION_SHARE = 0.5
CONCENTRATION_MIN = 3
SATISFACTION_DAYS = 30


@dataclass(frozen=True, slots=True)
class DeviceState:
    """Hold what the worker knows of one device: kind, allowed silence, last report, last values."""

    kind: str
    interval_s: int
    last_seen: float | None = None  # device time of the latest report, epoch seconds
    values: Mapping[str, Any] | None = None  # the latest reading's values, when known
    maintenance: bool = False  # out for service: neither online nor offline

    def online(self, now_ts: float, offline_after_intervals: float) -> bool:
        """Tell whether the device reported within its allowed silence, by the fire rule's test.

        The test of cockpit.rules.fire.device_state on epoch seconds: a district asks it of
        96,000 devices several times a tick, and two datetimes each cost a quarter second.
        """
        if self.maintenance:
            return False
        if self.interval_s <= 0 or offline_after_intervals <= 0:
            raise ValueError("interval_s and k must be positive")
        if self.last_seen is None:
            return False
        return now_ts - self.last_seen <= offline_after_intervals * self.interval_s


def join_device_states(
    devices: Mapping[int, tuple[str, int] | tuple[str, int, bool]] | None,
    last_seen: Mapping[int, float] | None,
    latest: Mapping[int, Mapping[str, Any]] | None = None,
) -> dict[int, DeviceState]:
    """Join the device registry, last-seen times and latest readings into device states."""
    last_seen = last_seen or {}
    latest = latest or {}
    states = {}
    for device_id, (kind, interval, *maintenance) in (devices or {}).items():
        reading = latest.get(device_id)
        states[device_id] = DeviceState(
            kind,
            interval,
            last_seen.get(device_id),
            reading.get("values") if reading else None,
            bool(maintenance and maintenance[0]),
        )
    return states


class DeviceStateJoin:
    """Join the device states tick after tick, rebuilding only the devices heard since the last.

    A district's ~96,000 states take a tenth of a second or more to build afresh, and between two
    ticks a few thousand devices report. A new registry snapshot (compared by identity) or a
    device gained or lost in the last-seen times rebuilds them all.
    """

    def __init__(self) -> None:
        self._devices: object = None
        self._seen: dict[int, float] = {}
        self._states: dict[int, DeviceState] = {}

    def join(
        self,
        devices: Mapping[int, tuple[str, int] | tuple[str, int, bool]] | None,
        last_seen: Mapping[int, float] | None,
    ) -> dict[int, DeviceState]:
        """Return what join_device_states(devices, last_seen) returns: a new dict each time."""
        last_seen = last_seen or {}
        if devices is None or devices is not self._devices or last_seen.keys() != self._seen.keys():
            states = join_device_states(devices, last_seen)
        else:
            states = dict(self._states)  # last tick's dict may still be read by whoever holds it
            held = self._seen
            for device_id, seen in last_seen.items():
                if held[device_id] != seen and device_id in states:
                    old = states[device_id]
                    states[device_id] = DeviceState(
                        old.kind, old.interval_s, seen, old.values, old.maintenance
                    )
        self._devices, self._seen, self._states = devices, dict(last_seen), states
        return states


# -- governance (治理直达) --------------------------------------------------------------------


def governance_panel(
    facts: Mapping[str, Any] | None,
    risk_results: Iterable[RiskResult],
    device_states: Mapping[int, DeviceState] | None,
    now: datetime,
    *,
    offline_after_intervals: float = OFFLINE_AFTER_INTERVALS,
) -> dict[str, Any]:
    """Return housing colours, fire safety by system, the case funnel, the 136 mix and trends."""
    facts = facts or {}
    cases = facts.get("cases") or {}
    return {
        "housing": _housing(risk_results, facts),
        "fire": _fire_systems(
            device_states or {}, _alarmed_devices(facts), now, offline_after_intervals
        ),
        "cases": {
            "funnel": _funnel(cases.get("by_state") or {}),
            "open": cases.get("open", 0),
            "overdue": cases.get("overdue", 0),
        },
        "resolution": resolution_mix(cases.get("closed_by_level") or {}),
        "trends": _trends(cases.get("daily") or []),
        "alerts": _open_alerts_by_level(facts.get("alerts") or {}),
    }


def _open_alerts_by_level(alerts: Mapping[str, Any]) -> dict[str, Any]:
    """Count every open alert by level, and the red ones not settled (the wall's 未处置红色预警).

    red_unsettled: red alerts still open, or resolved while the case they opened or joined is
    not closed (data_adapters.panel_facts.red_alerts_unsettled); never fewer than the open ones.
    """
    by_level = dict.fromkeys(LEVELS_ALL, 0)
    for levels in (alerts.get("open_by_kind") or {}).values():
        for level, n in levels.items():
            if level in by_level:
                by_level[level] += n
    unsettled = max(alerts.get("red_unsettled") or 0, by_level[AlertLevel.RED.value])
    return {"open_by_level": by_level, "open": sum(by_level.values()), "red_unsettled": unsettled}


def _housing(risk_results: Iterable[RiskResult], facts: Mapping[str, Any]) -> dict[str, Any]:
    """Count buildings per colour overall and per community, and what most often made them red."""
    building_community = facts.get("building_community") or {}
    overall = dict.fromkeys(COLOURS, 0)
    per_community: dict[Any, dict[str, int]] = {}
    red_reasons: Counter[str] = Counter()
    for result in risk_results:
        overall[result.colour] += 1
        community = building_community.get(result.building_id)
        if community is not None:
            per_community.setdefault(community, dict.fromkeys(COLOURS, 0))[result.colour] += 1
        if result.colour == "red" and result.reasons:
            red_reasons[result.reasons[0].code] += 1
    names = {c["id"]: c["name"] for c in facts.get("communities") or ()}
    order = list(names) + sorted(set(per_community) - set(names))
    return {
        "overall": overall,
        "communities": [
            {
                "id": c,
                "community": names.get(c),
                # The English screen needs the name too; the registry holds only the Chinese one.
                "community_en": place_name(names.get(c), "en", f"Community {c}"),
                **per_community[c],
            }
            for c in order
            if c in per_community
        ],
        "red_reasons": dict(red_reasons.most_common(6)),
    }


def _alarmed_devices(facts: Mapping[str, Any]) -> frozenset[int]:
    """Return the devices with an open alert, leaving out offline and faulty (neither is an alarm)."""
    return frozenset(
        alert["object_id"]
        for alert in (facts.get("alerts") or {}).get("open_objects") or ()
        if alert.get("object_type") == "device" and alert.get("kind") not in DEVICE_HEALTH_KINDS
    )


def _fire_systems(
    device_states: Mapping[int, DeviceState],
    alarmed: frozenset[int],
    now: datetime,
    offline_after_intervals: float,
) -> list[dict[str, Any]]:
    """Split each fire system's terminals into alarm, online, offline and maintenance (= total)."""
    now_ts = now.timestamp()
    system_of = {kind: system for system, kinds in FIRE_SYSTEMS for kind in kinds}
    counts = {
        system: {"alarm": 0, "online": 0, "offline": 0, "maintenance": 0}
        for system, _ in FIRE_SYSTEMS
    }
    for device_id, state in device_states.items():
        system = system_of.get(state.kind)
        if system is None:
            continue
        values = state.values or {}
        if device_id in alarmed or values.get("alarm") is True:
            counts[system]["alarm"] += 1
        elif state.maintenance:
            counts[system]["maintenance"] += 1
        elif state.online(now_ts, offline_after_intervals):
            counts[system]["online"] += 1
        else:
            counts[system]["offline"] += 1
    return [
        {"system": system, **counts[system], "total": sum(counts[system].values())}
        for system, _ in FIRE_SYSTEMS
    ]


def _funnel(by_state: Mapping[str, int]) -> list[dict[str, Any]]:
    """List case counts in the cycle's order; unknown states go last, so none is lost."""
    known = [{"state": state, "count": by_state.get(state, 0)} for state in FUNNEL_STATES]
    extra = [
        {"state": state, "count": n}
        for state, n in sorted(by_state.items())
        if state not in FUNNEL_STATES
    ]
    return known + extra


def resolution_mix(closed_by_level: Mapping[str, int]) -> dict[str, Any]:
    """Return where closed cases ended as counts and whole percentages that add up to 100."""
    counts = {
        "district": closed_by_level.get("district", 0),
        "street": closed_by_level.get("street", 0),
        "community": closed_by_level.get("community", 0) + closed_by_level.get("grid", 0),
    }
    return {
        "counts": counts,
        "pct": shares_pct(counts),
        "target_pct": dict(RESOLUTION_TARGET_PCT),
        "unrecorded": closed_by_level.get("unrecorded", 0),
    }


def shares_pct(counts: Mapping[str, int]) -> dict[str, int]:
    """Return whole percentages adding up to exactly 100 (largest remainder), or all 0 if empty."""
    total = sum(counts.values())
    if total <= 0:
        return dict.fromkeys(counts, 0)
    exact = {key: n * 100 / total for key, n in counts.items()}
    pct = {key: int(value) for key, value in exact.items()}
    by_remainder = sorted(exact, key=lambda key: (pct[key] - exact[key], key))
    for key in by_remainder[: 100 - sum(pct.values())]:
        pct[key] += 1
    return pct


def _trends(daily: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Return the daily series (oldest first) and 7- and 30-day totals."""
    days = [row["day"] for row in daily]
    reported = [row.get("reported", 0) for row in daily]
    closed = [row.get("closed", 0) for row in daily]
    return {
        "days": days,
        "reported": reported,
        "closed": closed,
        "d7": {"reported": sum(reported[-7:]), "closed": sum(closed[-7:])},
        "d30": {"reported": sum(reported[-30:]), "closed": sum(closed[-30:])},
    }


# -- enterprise (惠企直达) --------------------------------------------------------------------


def enterprise_panel(
    facts: Mapping[str, Any] | None,
    smoke_alerts: Iterable[Mapping[str, Any]] | None,
    visit_alerts: Iterable[Mapping[str, Any]] | None,
) -> dict[str, Any]:
    """Return the smoke watch list by grade, the visits due and the building economy top 20."""
    facts = facts or {}
    return {
        "smoke": _smoke_watch(smoke_alerts or ()),
        "visits": _visits_due(visit_alerts or ()),
        "buildings": _building_economy(facts.get("office_buildings") or ()),
    }


def _smoke_watch(alerts: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Rank smoke alerts by grade, then weighted signals; name sources, never complainants."""
    rows = []
    for alert in alerts:
        reasons = alert.get("reasons") or ()
        # Source → signals, in the rule's order (most signals first).
        sources = {
            r["code"][len(SMOKE_SOURCE_PREFIX) :]: r.get("value")
            for r in reasons
            if str(r.get("code", "")).startswith(SMOKE_SOURCE_PREFIX)
        }
        signals = next((r.get("value") for r in reasons if r.get("code") == "weighted_signals"), 0)
        rows.append(
            {
                "enterprise_id": alert.get("object_id"),
                # Its trade, not its name: the wall shows no company by name.
                "industry": alert.get("industry"),
                "last_visit": alert.get("last_visit"),
                "level": alert.get("level"),
                "sources": sources,
                "signals": signals or 0,
                "since": alert.get("raised_at"),
            }
        )
    rows.sort(
        key=lambda r: (-LEVEL_ORDER.get(r["level"], 0), -r["signals"], -len(r["sources"])),
    )
    by_grade = Counter(r["level"] for r in rows)
    return {
        "total": len(rows),
        "by_grade": {level: by_grade.get(level, 0) for level in LEVELS_ALL},
        "watch": rows[:TOP_ROWS],
    }


def _visits_due(alerts: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Count the open mandatory visits (八必访) by trigger and the enterprises they concern."""
    by_trigger: Counter[tuple[str, str]] = Counter()
    enterprises = set()
    due = []
    total = 0
    for alert in alerts:
        total += 1
        enterprises.add(alert.get("object_id"))
        trigger = (
            _strip(alert.get("title_zh") or alert.get("title") or ""),
            _strip(alert.get("title_en") or ""),
        )
        by_trigger[trigger] += 1
        due.append(
            (
                alert.get("raised_at") or "",
                trigger,
                alert.get("object_id"),
                alert.get("industry"),
                alert.get("last_visit"),
            )
        )
    triggers = sorted(by_trigger.items(), key=lambda kv: (-kv[1], kv[0]))
    index = {trigger: i for i, (trigger, _) in enumerate(triggers)}
    # The longest-waiting visits lead the tablet's list; a trigger is named by its by_trigger row.
    due.sort(key=lambda row: (row[0], index[row[1]], str(row[2])))
    return {
        "total": total,
        "enterprises": len(enterprises),
        "by_trigger": [{"zh": zh, "en": en, "count": n} for (zh, en), n in triggers],
        "due": [
            {
                "enterprise_id": enterprise,
                "industry": industry,
                "trigger": index[trigger],
                "since": since or None,
                "last_visit": last_visit,
            }
            for since, trigger, enterprise, industry, last_visit in due[:VISIT_ROWS]
        ],
    }


def _strip(title: str) -> str:
    """Drop the 'visit due' prefix the visit alerts' titles carry."""
    for prefix in VISIT_TITLE_PREFIXES:
        if title.startswith(prefix):
            return title[len(prefix) :]
    return title


def _building_economy(buildings: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Return street totals with vacancy and tax trend, and the top office buildings."""
    rows = sorted(buildings, key=lambda b: (-b.get("enterprises", 0), -b.get("tax_wan", 0.0)))
    with_units = [b for b in rows if _units(b)]
    units = sum(_units(b) for b in with_units)
    occupied = sum(min(b.get("occupied_units") or 0, _units(b)) for b in with_units)
    compared = [b for b in rows if b.get("tax_last_wan") is not None]
    return {
        "buildings": len(rows),
        "enterprises": sum(b.get("enterprises", 0) for b in rows),
        "tax_wan": round(sum(b.get("tax_wan", 0.0) for b in rows), 1),
        # Over the buildings whose lettable units are known; units_known says how many.
        "vacancy_pct": vacancy_pct(occupied, units),
        "units_known": len(with_units),
        # Like for like: this year against last year for the enterprises with both figures.
        "tax_change_pct": change_pct(
            sum(b.get("tax_compared_wan") or 0.0 for b in compared),
            sum(b["tax_last_wan"] for b in compared) if compared else None,
        ),
        "top": [_economy_row(b) for b in rows[:TOP_ROWS]],
    }


def _economy_row(b: Mapping[str, Any]) -> dict[str, Any]:
    """Return one office building's row; vacancy and tax trend only where they are known."""
    row = {
        "building_id": b.get("building_id"),
        "label": b.get("label") or b.get("address") or b.get("code"),
        "label_en": _english_label(b),
        "enterprises": b.get("enterprises", 0),
        "tax_wan": round(b.get("tax_wan", 0.0), 1),
        "prepaid": b.get("prepaid", 0),
    }
    # Left out rather than null: the browser shows "—" for a missing figure, and the model
    # stays small when a street has no unit counts or no snapshot of last year.
    vacancy = vacancy_pct(b.get("occupied_units") or 0, _units(b))
    if vacancy is not None:
        row["vacancy_pct"] = vacancy
    change = change_pct(b.get("tax_compared_wan"), b.get("tax_last_wan"))
    if change is not None:
        row["tax_change_pct"] = change
    return row


def _english_label(building: Mapping[str, Any]) -> str | None:
    """Return a building's name English can spell, else its address in English, else its code."""
    return (
        place_name(building.get("label"), "en")
        or address_name(building.get("address"), "en")
        or building.get("code")
    )


def _units(building: Mapping[str, Any]) -> int:
    """Return a building's known lettable units, or 0 when nobody counted them."""
    units = building.get("office_units")
    return units if isinstance(units, int) and not isinstance(units, bool) and units > 0 else 0


def vacancy_pct(occupied: int, units: int | None) -> int | None:
    """Return the whole percentage of units not let, or None when the units are unknown."""
    if not units or units <= 0:
        return None
    return round(100 * (1 - min(max(occupied, 0), units) / units))


def change_pct(now: float | None, before: float | None) -> float | None:
    """Return the change from `before` to `now` in percent (one decimal), None if undefined."""
    if now is None or before is None or before <= 0:
        return None
    return round(100 * (now - before) / before, 1)


# -- livelihood (民生直达) --------------------------------------------------------------------


def livelihood_panel(
    facts: Mapping[str, Any] | None,
    device_states: Mapping[int, DeviceState] | None,
    open_alerts: Iterable[Mapping[str, Any]] | None,
    now: datetime | None = None,
    *,
    offline_after_intervals: float = OFFLINE_AFTER_INTERVALS,
) -> dict[str, Any]:
    """Return elders due a visit (a count), elevators, kiosks, requests and the week's hot topics."""
    # open_alerts must hold every open alert (kind, object_type, object_id), such as the facts'
    # alerts.open_objects: a capped list would undercount. `now` defaults to the facts' time.
    facts = facts or {}
    device_states = device_states or {}
    if now is None:
        now = datetime.fromisoformat(facts["now"]) if facts.get("now") else None
    now_ts = now.timestamp() if now is not None else None
    elders_due: set[Any] = set()
    elder_signals: Counter[str] = Counter()
    trapped: set[Any] = set()
    for alert in open_alerts or ():
        kind = alert.get("kind")
        if kind in ELDER_KINDS:
            elders_due.add(alert.get("object_id"))
            elder_signals[kind.removeprefix("elder.")] += 1
        elif kind == RuleKind.ELEVATOR_TRAPPED and alert.get("object_type") == "device":
            trapped.add(alert.get("object_id"))

    def online(state: DeviceState) -> bool:
        """Tell whether a device reported lately; without a time, none is known to be online."""
        return now_ts is not None and state.online(now_ts, offline_after_intervals)

    elevators = {"running": 0, "trapped": 0, "offline": 0, "maintenance": 0, "unknown": 0}
    kiosks = {"online": 0, "fault": 0, "offline": 0, "maintenance": 0, "unknown": 0}
    recent_calls = 0
    for device_id, state in device_states.items():
        values = state.values or {}
        if state.kind == DeviceKind.ELEVATOR:
            if device_id in trapped:
                elevators["trapped"] += 1
            elif state.maintenance:
                elevators["maintenance"] += 1
            elif online(state):
                elevators["running"] += 1
            else:
                elevators["offline"] += 1
        elif state.kind == DeviceKind.TAXI_KIOSK:
            if state.maintenance:
                kiosks["maintenance"] += 1
            elif not online(state):
                kiosks["offline"] += 1
            elif values.get("status", "ok") != "ok":
                kiosks["fault"] += 1
            else:
                kiosks["online"] += 1
            # Each kiosk report counts the calls since its previous one.
            calls = values.get("calls")
            if isinstance(calls, int) and not isinstance(calls, bool) and calls > 0:
                recent_calls += calls
    # Registered but not yet in the device states (say, before the device list first loads).
    devices = facts.get("devices") or {}
    elevators["unknown"] = max(0, devices.get("elevators", 0) - sum(elevators.values()))
    kiosks["unknown"] = max(0, devices.get("taxi_kiosks", 0) - sum(kiosks.values()))
    elevators["total"] = sum(elevators.values())
    kiosks["total"] = sum(kiosks.values())
    kiosks["recent_calls"] = recent_calls
    return {
        "elders": {
            "living_alone": (facts.get("elders") or {}).get("living_alone", 0),
            "due_visit": len(elders_due),
            # What the meters and door sensors noticed (one elder may show more than one).
            "by_signal": {
                kind.removeprefix("elder."): elder_signals.get(kind.removeprefix("elder."), 0)
                for kind in sorted(ELDER_KINDS)
            },
        },
        "elevators": elevators,
        "taxi": kiosks,
        "requests": _requests(
            facts.get("requests_today") or {}, facts.get("request_satisfaction") or {}
        ),
        "topics": hot_topics(facts.get("topics") or (), facts.get("communities") or ()),
    }


def _requests(
    by_code: Mapping[str, Mapping[str, int]],
    satisfaction: Mapping[str, Mapping[str, int]] | None = None,
) -> dict[str, Any]:
    """Return today's requests per service with the closed share and 30-day satisfaction."""
    satisfaction = satisfaction or {}
    rows = []
    # A category with revisits but no request today still shows its satisfaction (at 0 today).
    for code in list(by_code) + [c for c in satisfaction if c not in by_code]:
        counts = by_code.get(code) or {}
        total = sum(counts.values())
        closed = counts.get("closed", 0)
        scores = satisfaction.get(code) or {}
        service = find_service(code)
        rows.append(
            {
                "code": code,
                "zh": service.name.zh if service else code,
                "en": service.name.en if service else code,
                "total": total,
                "closed": closed,
                "closed_pct": round(closed * 100 / total) if total else 0,
                "satisfaction": _mean_score(scores.get("score_sum", 0), scores.get("answered", 0)),
                "answered": scores.get("answered", 0),
            }
        )
    rows.sort(key=lambda r: (-r["total"], -r["answered"], r["code"]))
    total = sum(r["total"] for r in rows)
    closed = sum(r["closed"] for r in rows)
    answered = sum(s.get("answered", 0) for s in satisfaction.values())
    satisfied = sum(s.get("satisfied", 0) for s in satisfaction.values())
    return {
        "total": total,
        "closed": closed,
        "closed_pct": round(closed * 100 / total) if total else 0,
        # Revisits (回访) of the cases the last 30 days' requests opened or joined.
        "satisfaction": _mean_score(
            sum(s.get("score_sum", 0) for s in satisfaction.values()), answered
        ),
        "answered": answered,
        "satisfied_pct": round(satisfied * 100 / answered) if answered else None,
        "satisfaction_days": SATISFACTION_DAYS,
        "by_category": rows,
    }


def _mean_score(score_sum: float, answered: int) -> float | None:
    """Return the mean 1-5 score to one decimal, or None before anyone answered."""
    return round(score_sum / answered, 1) if answered > 0 else None


def category_names(code: str) -> tuple[str, str]:
    """Return a request or complaint category's (Chinese, English) name; the code if unknown."""
    service = find_service(code)
    if service:
        return service.name.zh, service.name.en
    known = LABELS.get(f"case_category_{code}")
    if known:
        return known["zh"], known["en"]
    # A feed's own category may be Chinese text: English gets a neutral name, never the text.
    return code, code if code.isascii() else LABELS["topic_unlisted"]["en"]


def hot_topics(
    rows: Iterable[Mapping[str, Any]], communities: Iterable[Mapping[str, Any]]
) -> dict[str, Any]:
    """Return the week's most-raised categories (热点话题), rising ones first, with where they gather.

    `rows` hold one category in one community (None: not matched to an address) with its
    count this week (`recent`) and the week before (`previous`), from requests and complaints.
    """
    names = {c["id"]: c["name"] for c in communities}
    recent: Counter[str] = Counter()
    previous: Counter[str] = Counter()
    by_place: dict[str, Counter[Any]] = {}
    for row in rows:
        topic = row.get("topic")
        if not topic:
            continue
        recent[topic] += row.get("recent", 0)
        previous[topic] += row.get("previous", 0)
        if row.get("community_id") is not None and row.get("recent", 0) > 0:
            by_place.setdefault(topic, Counter())[row["community_id"]] += row["recent"]
    # The most-raised this week (a bigger rise breaks a tie); of those, rising ones lead by
    # their rise, the others follow by how often they were raised.
    busiest = sorted(
        (t for t in recent if recent[t] > 0),
        key=lambda t: (-recent[t], -(recent[t] - previous[t]), t),
    )[:TOPIC_ROWS]
    busiest.sort(key=_rising_first(recent, previous))
    topics = []
    for topic in busiest:
        zh, en = category_names(topic)
        count, before = recent[topic], previous[topic]
        place = _concentration(by_place.get(topic), count, names)
        topics.append(
            {
                "code": topic,
                "zh": zh,
                "en": en,
                "count": count,
                "previous": before,
                "change": count - before,
                "change_pct": change_pct(count, before),
                "trend": "new" if before == 0 else _trend(count - before),
                **place,
            }
        )
    return {
        "days": TOPIC_DAYS,
        "total": sum(recent.values()),
        "previous": sum(previous.values()),
        "topics": topics,
    }


def _rising_first(recent: Counter[str], previous: Counter[str]):
    """Return the sort key putting rising topics first (biggest rise), then the rest by count."""

    def key(topic: str) -> tuple:
        change = recent[topic] - previous[topic]
        if change > 0:
            return (0, -change, -recent[topic], topic)
        return (1, -recent[topic], -change, topic)

    return key


def _trend(change: int) -> str:
    """Name a change's direction for the screen's arrow."""
    return "up" if change > 0 else "down" if change < 0 else "same"


def _concentration(
    places: Counter[Any] | None, count: int, names: Mapping[Any, str]
) -> dict[str, Any]:
    """Return the community holding most of a topic's week, when it holds enough of it."""
    if not places or count <= 0:
        return {"community": None, "community_en": None, "community_pct": None}
    community, n = min(places.items(), key=lambda kv: (-kv[1], str(kv[0])))
    if n < CONCENTRATION_MIN or n < CONCENTRATION_SHARE * count:
        return {"community": None, "community_en": None, "community_pct": None}
    name = names.get(community)
    return {
        "community": name or f"#{community}",
        "community_en": place_name(name, "en", f"Community {community}"),
        "community_pct": round(n * 100 / count),
    }


# -- the lists behind the KPIs (tablet) ---------------------------------------------------


def kpi_lists(facts: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return the cases, alerts and enterprises behind the tablet's KPIs, by KPI name.

    Records, not aggregates: published as KPI_LISTS, never sent to a browser as a view; the
    server renders a list only for a role that may view records (callbacks/shell.py). Each
    row says what, where (its building's address) and its state; at most LIST_ROWS each.
    """
    facts = facts or {}
    lists = {name: list(rows) for name, rows in (facts.get("kpi_lists") or {}).items()}
    lists["enterprises_watch"] = [
        {
            "type": "enterprise",
            "id": row["enterprise_id"],
            "industry": row.get("industry"),
            "level": row.get("level"),
            "at": row.get("since"),
            "signals": row.get("signals"),
        }
        for row in _smoke_watch(facts.get("smoke_alerts") or ())["watch"]
    ]
    return {"lists": {name: lists.get(name, []) for name in LISTED_KPIS}}


# -- map, source health --------------------------------------------------------------


def map_building_colours(risk_results: Iterable[RiskResult]) -> dict[str, str]:
    """Return building id (as a JSON key) → colour for the map's clientside setStyle."""
    return {str(r.building_id): r.colour for r in risk_results if r.colour in COLOUR_RANK}


def source_health(
    adapters_health: Iterable[Mapping[str, Any]], counters: Mapping[str, int] | None
) -> dict[str, Any]:
    """Return every source's state and age, rejected messages by reason, lost ones by where."""
    sources = [
        {
            "name": h.get("name"),
            "state": h.get("state", "down"),
            "age_s": h.get("age_s"),
            # The first words of the error are enough to act on; the rest may be a driver's essay.
            "error": str(h["error"])[:ERROR_CHARS] if h.get("error") else None,
        }
        for h in adapters_health
    ]
    rejected = {
        key.removeprefix("rejected:"): n
        for key, n in sorted((counters or {}).items())
        if key.startswith("rejected:")
    }
    # Device messages lost on the way (e.g. lost:mqtt:publisher), so nothing vanishes unseen.
    lost = {
        key.removeprefix("lost:"): n
        for key, n in sorted((counters or {}).items())
        if key.startswith("lost:")
    }
    states = {s["state"] for s in sources}
    if not sources or states == {"down"}:
        status = "down"
    elif states == {"ok"}:
        status = "ok"
    else:
        status = "degraded"
    return {
        "status": status,
        "sources": sources,
        "rejected": {"total": sum(rejected.values()), "by_reason": rejected},
        "lost": {"total": sum(lost.values()), "by_where": lost},
    }
