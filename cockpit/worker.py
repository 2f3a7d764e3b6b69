"""Poll the adapters and publish view models: a thread when embedded, `cockpit worker` in production."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from cockpit.access.audit import AuditLog, DailyPrune
from cockpit.access.views import SCREEN_VIEWS, VIEW_BUDGETS
from cockpit.alert_groups import PlaceOf, group_alerts, groupable
from cockpit.alerts import ALERT_STREAM, AlertBook
from cockpit.cases.desk import CASE_STREAM, CaseDesk
from cockpit.cases.panel import (
    CASE_TARGETS,
    CASES,
    CASES_WALL,
    CaseViews,
    build_case_views,
    screen_view,
    tasks_view,
)
from cockpit.clock import Clock, local_day
from cockpit.domain.kinds import DeviceKind
from cockpit.heartbeat import HeartbeatWriter
from cockpit.live import LiveStore, LiveStoreError
from cockpit.logs import log_fault
from cockpit.map_views import MapViews, build_map_views
from cockpit.panels import (
    ENTERPRISE,
    GOVERNANCE,
    KPI_LISTS,
    LIVELIHOOD,
    MAP_COLOURS,
    SOURCE_HEALTH,
    DeviceStateJoin,
    enterprise_panel,
    governance_panel,
    kpi_lists,
    livelihood_panel,
    map_building_colours,
    source_health,
)
from cockpit.rules import fire
from cockpit.rules.config import GroupingConfig, RulesConfig, load_rules_config
from cockpit.rules.enterprise import visit_triggers
from cockpit.rules.housing import building_risk
from cockpit.rules.results import WORK_LIST_KINDS, RuleKind, level_rank
from cockpit.rules.sources import SourceSilence, source_silence
from cockpit.settings import Settings
from cockpit.store.outage import UNREACHABLE
from cockpit.ticker_restore import restore_ticker
from cockpit.viewmodels import OVERVIEW, TICKER, ViewModelPublisher, build_overview
from data_adapters.alert_cases import AlertCases
from data_adapters.base import Adapter, AdapterError
from data_adapters.case_facts import CaseFactsAdapter
from data_adapters.enterprise_facts import EnterpriseFactsAdapter
from data_adapters.live_state import LiveStateAdapter
from data_adapters.panel_facts import BuildingFactsAdapter, PanelFactsAdapter
from data_adapters.registry import DeviceRegistryAdapter, RegistryAdapter

log = logging.getLogger(__name__)
ENTERPRISE_POLL = timedelta(hours=1)
SILENCE_KINDS = (RuleKind.DEVICE_OFFLINE.value, RuleKind.PATROL_OVERDUE.value)


class ViewModelWorker:
    """Refresh each adapter when due and publish the view models built from their snapshots."""

    def __init__(
        self,
        registry: RegistryAdapter,
        devices: DeviceRegistryAdapter,
        live_state: LiveStateAdapter,
        live: LiveStore,
        clock: Clock,
        stale_after: timedelta,
        street_name: str | None = None,
        alerts: AlertBook | None = None,
        escalate_after: timedelta = timedelta(minutes=5),
        panels: PanelFactsAdapter | None = None,
        buildings: BuildingFactsAdapter | None = None,
        rules_cfg: RulesConfig | None = None,
        enterprises: EnterpriseFactsAdapter | None = None,
        map_views: MapViews | None = None,
        cases: CaseDesk | None = None,
        case_facts: CaseFactsAdapter | None = None,
        ingest_health: Sequence[Callable[[], dict[str, Any]]] = (),
        audit_prune: DailyPrune | None = None,
        alert_cases: AlertCases | None = None,
    ) -> None:
        self.registry = registry
        self.devices = devices
        self.live_state = live_state
        self.panels = panels
        self.buildings = buildings
        self.enterprises = enterprises
        # The MQTT bridge and the complaint feeds: ingest sources that report their own health.
        self.ingest_health = tuple(ingest_health)
        # The audit log's retention: pruned once a day, here because this runs in every setup.
        self.audit_prune = audit_prune
        self._visits_planned_from: object = None  # the enterprise snapshot visits were planned on
        self.rules_cfg = rules_cfg or load_rules_config()
        self.adapters: list[Adapter] = [
            a
            for a in (registry, devices, live_state, panels, buildings, enterprises)
            if a is not None
        ]
        self.map_views = map_views
        if map_views is not None:
            self.adapters += map_views.adapters
            map_views.grouped_kinds = tuple(self.rules_cfg.alerts.grouping.kinds)
        self.cases = cases
        self.case_facts = case_facts
        if case_facts is not None:
            self.adapters.append(case_facts)
        self._case_cursor = "0"
        self.cases_seconds: float | None = None
        self._risks: tuple[object, list] = (None, [])  # (building snapshot, its risk results)
        self.periodic_seconds: float | None = None
        self.publisher = ViewModelPublisher(live, patched=SCREEN_VIEWS, budgets=VIEW_BUDGETS)
        self.tasks = TaskViews(self.publisher)
        self.clock = clock
        self.stale_after = stale_after
        self.street_name = street_name
        self._rate_base: tuple[float, int] | None = None  # (epoch, readings) a minute window back
        self._publish_failing = False
        self._book_failing = False  # the alert book (SQL) was unreachable at the last try
        self._ticker_published = False  # the ticker view was written at least once
        self.live = live
        self.alerts = alerts
        self.escalate_after = escalate_after
        self.ticker = TickerFeed(self.rules_cfg.alerts.grouping, self._alert_place)
        self.ticker.where_of = self._alert_where
        # Each ticker alert's case: a cleared alert whose case is open shows the case's state.
        self.alert_cases = alert_cases
        self._link_down_since: datetime | None = None  # when the MQTT bridge was first seen cut off
        # A fresh worker first rebuilds the ticker from the alert book (cockpit.ticker_restore):
        # the live stream may have died with the last process, or hold far more than it shows.
        self._ticker_restored = alerts is None
        # Each completed tick says so in the live store: the web's readiness reads it.
        self.heartbeat = HeartbeatWriter(live)
        self.interval_s: float | None = None  # set by run(); reported in the heartbeat
        self._device_states = DeviceStateJoin()  # this worker's states, updated tick by tick

    def tick(self) -> None:
        """Refresh due adapters, then rebuild and publish the view models."""
        tick_started = time.perf_counter()
        if self.audit_prune is not None:
            self.audit_prune.run_if_due()
        for adapter in self.adapters:
            if adapter.due():
                adapter.refresh()
        now = self.clock.now()
        live = self.live_state.snapshot.data if self.live_state.snapshot else None
        states = self._device_states.join(
            self.devices.snapshot.data if self.devices.snapshot else None,
            live["last_seen"] if live else None,
        )
        offline_k = self.rules_cfg.devices.offline_after_intervals
        model = build_overview(
            self.registry.snapshot.data if self.registry.snapshot else None,
            states,
            live,
            self._readings_per_min(live, now.timestamp()),
            [
                dict(
                    a.health(self.stale_after),
                    fetched_at=a.fetched_at.isoformat() if a.fetched_at else None,
                )
                for a in self.adapters
            ]
            + [health() for health in self.ingest_health],
            now,
            self.street_name,
            offline_k,
        )
        try:
            if self.alerts is not None:
                self._on_alert_book(
                    "escalation", self.alerts.escalate_unacknowledged, now, self.escalate_after
                )
            if not self._ticker_restored:
                self._restore_ticker()
            if self._ticker_published and self.live.get_view(TICKER) is None:
                self._republish_lost()
            self.publish_ticker()
            self.publisher.publish(OVERVIEW, model, now)
            self._publish_panels(live, states, now)
            self._publish_cases(now)
            self.heartbeat.beat(time.perf_counter() - tick_started, self.interval_s)
            if self._publish_failing:
                log.info("view-model cache is reachable again")
            self._publish_failing = False
        except LiveStoreError as exc:
            if not self._publish_failing:
                log.warning("cannot publish view models: %s", exc)
            self._publish_failing = True

    def _on_alert_book(self, what: str, step: Callable[..., Any], *args: Any) -> None:
        """Run one alert-book step; while the SQL store is down, skip it (logged once) and go on.

        The view models built from live state and the adapters' last snapshots (marked stale)
        are still published, so the screens keep the last good picture instead of freezing.
        """
        try:
            step(*args)
        except UNREACHABLE as exc:
            if not self._book_failing:
                log_fault(log, exc, "alert book unreachable; %s skipped until it returns", what)
            self._book_failing = True
            return
        if self._book_failing:
            log.info("alert book reachable again")
        self._book_failing = False

    def _readings_per_min(self, live: dict | None, now_ts: float) -> float | None:
        """Return accepted readings per minute over the last minute or so."""
        if live is None:
            return None
        total = live["counters"].get("readings_accepted", 0)
        if self._rate_base is None or total < self._rate_base[1]:
            self._rate_base = (now_ts, total)
            return None
        elapsed = now_ts - self._rate_base[0]
        rate = (total - self._rate_base[1]) * 60 / elapsed if elapsed > 0 else None
        if elapsed >= 60:
            self._rate_base = (now_ts, total)
        return rate

    def _publish_panels(self, live: dict | None, states: dict, now: datetime) -> None:
        """Run the periodic rules on the latest snapshots and publish the three panels and health."""
        started = time.perf_counter()
        facts = self.panels.snapshot.data if self.panels and self.panels.snapshot else None
        cfg = self.rules_cfg
        risks = self._building_risks()
        offline_k = cfg.devices.offline_after_intervals
        self.publisher.publish(
            GOVERNANCE,
            governance_panel(facts, risks, states, now, offline_after_intervals=offline_k),
            now,
        )
        if facts is not None:
            self.publisher.publish(
                ENTERPRISE,
                enterprise_panel(facts, facts["smoke_alerts"], facts["visit_alerts"]),
                now,
            )
            # Records behind the numbers: read server-side for record viewers only.
            self.publisher.publish(KPI_LISTS, kpi_lists(facts), now)
            open_objects = facts["alerts"]["open_objects"]
            self.publisher.publish(
                LIVELIHOOD,
                livelihood_panel(
                    facts, states, open_objects, now, offline_after_intervals=offline_k
                ),
                now,
            )
        if self.alerts is not None:
            self._on_alert_book("silence alerts", self._silence_alerts, states, now)
            self._on_alert_book("visit alerts", self._visit_alerts, now)
        self.publisher.publish(MAP_COLOURS, {"colours": map_building_colours(risks)}, now)
        if self.map_views is not None:
            held = self.buildings.snapshot if self.buildings else None
            building_facts = held.data if held else None
            items = self.ticker.items()
            self.map_views.publish(
                self.publisher, states, risks, building_facts, items, now, offline_k
            )
        health = [a.health(self.stale_after) for a in self.adapters]
        health += [report() for report in self.ingest_health]
        self.publisher.publish(
            SOURCE_HEALTH, source_health(health, live["counters"] if live else None), now
        )
        self.periodic_seconds = time.perf_counter() - started

    def _silence_alerts(self, states: dict, now: datetime) -> None:
        """Raise offline and patrol-overdue alerts for silent devices; resolve them once heard again.

        A whole source gone silent is one source.silent alert (cockpit.rules.sources), and the
        devices it covers raise none of their own; their open ones are resolved as superseded.
        """
        if not self.live_state.ok:
            return  # last-seen times we could not re-read prove nothing: hold every alert
        cfg = self.rules_cfg
        silence = self._source_alerts(states, now)
        k = cfg.devices.offline_after_intervals
        open_now = self.alerts.open_levels(SILENCE_KINDS)
        silent: set[str] = set()
        new: list = []
        now_ts = now.timestamp()
        for device_id, state in states.items():
            if state.last_seen is None or state.maintenance:
                continue  # never heard, or out for service: a registry matter, not an alarm
            if device_id in silence.covered:
                continue  # its source is silent: the source's one alert says so
            back = silence.counted_from.get(device_id)
            patrol = state.kind == DeviceKind.PATROL_POINT
            if back is not None and now_ts - back <= (1 if patrol else k) * state.interval_s:
                continue  # its source came back lately: give it one window to report again
            if not patrol and state.online(now_ts, k):
                continue  # heard in time (device_offline's own test, without its datetimes)
            seen = datetime.fromtimestamp(state.last_seen, UTC)
            if patrol:
                candidate = fire.patrol_overdue(
                    device_id,
                    seen,
                    now,
                    timedelta(seconds=state.interval_s),
                    escalate_after_windows=cfg.fire.patrol.escalate_after_windows,
                )
            else:
                candidate = fire.device_offline(device_id, seen, state.interval_s, now, k)
            if candidate is None:
                continue
            key = candidate.condition_key
            silent.add(key)
            # A device still silent at the same level is already on the books: touch nothing.
            if key not in open_now or level_rank(candidate.level) > level_rank(open_now[key]):
                new.append(candidate)
        self.alerts.raise_many([c for c in new if c.condition_key not in open_now], now)
        for candidate in new:
            if candidate.condition_key in open_now:
                self.alerts.raise_candidate(candidate, now)  # graver now: fold lifts the level
        # Heard again, or covered by its silent source (superseded): one transaction for all.
        self.alerts.resolve_many(sorted(open_now.keys() - silent), now)

    def _source_alerts(self, states: dict, now: datetime) -> SourceSilence:
        """Raise one alert per silent source, resolve the ones back; return what they cover."""
        cfg = self.rules_cfg
        kinds = (RuleKind.SOURCE_SILENT.value,)
        # A device's own silence counts from its source's return for one offline window.
        longest = max((s.interval_s for s in states.values()), default=0)
        window = timedelta(seconds=longest * max(cfg.devices.offline_after_intervals, 1.0))
        returned = {
            key: at.timestamp()
            for key, at in self.alerts.resolved_since(kinds, now - window).items()
        }
        link = self._link_down_for(now)
        silence = source_silence(
            states,
            now.timestamp(),
            cfg,
            link_down_for_s=link[0] if link else None,
            link_name=link[1] if link else "",
            returned=returned,
        )
        open_now = self.alerts.open_levels(kinds)
        due = {c.condition_key: c for c in silence.candidates}
        for key, candidate in due.items():
            if key not in open_now or level_rank(candidate.level) > level_rank(open_now[key]):
                self.alerts.raise_candidate(candidate, now)
        self.alerts.resolve_many(sorted(open_now.keys() - due.keys()), now)
        return silence

    def _alert_place(self, item: dict) -> str | None:
        """Return where an alert is, by its building's address, for the ticker's groups."""
        return self.map_views.place_label(item) if self.map_views is not None else None

    def _alert_where(self, item: dict) -> dict | None:
        """Return where an alert is for its card: address, building, area, in both languages."""
        return self.map_views.where_of(item) if self.map_views is not None else None

    def _link_down_for(self, now: datetime) -> tuple[float, str] | None:
        """Return how long the MQTT bridge has been cut off from its broker and where, if it is."""
        down = [
            report
            for report in (health() for health in self.ingest_health)
            if report.get("name") == "mqtt" and report.get("state") == "down"
        ]
        if not down:
            self._link_down_since = None
            return None
        if self._link_down_since is None:
            self._link_down_since = now
        error = str(down[0].get("error") or "")
        return (now - self._link_down_since).total_seconds(), error.rpartition(" ")[2]

    def _publish_cases(self, now: datetime) -> None:
        """Open cases for new reports, then publish the case views; re-read at once after actions.

        Each role has its own view: `cases_wall` for walls, `cases` for record viewers, and
        `tasks:<id>` for each grid worker (see cockpit.cases.panel).
        """
        if self.cases is None or self.case_facts is None:
            return
        started = time.perf_counter()
        try:
            self.cases.sync(now)
        except SQLAlchemyError as exc:
            log.warning("case sync failed: %s", str(exc).splitlines()[0])
        # An action on any screen appended to the cases stream: show it now, not at the next poll.
        changed = False
        while events := self.live.read_events(CASE_STREAM, self._case_cursor, limit=1000):
            self._case_cursor = events[-1][0]
            changed = True
        if changed:
            self.case_facts.refresh()
            if self.alert_cases is not None and self._ticker_published:
                self._publish_ticker_views()  # the ticker shows each alert's case state
        snapshot = self.case_facts.snapshot
        facts = snapshot.data if snapshot else None
        views = build_case_views(facts, now)
        self.publisher.publish(CASES, screen_view(views.cases), now)
        self.publisher.publish(CASE_TARGETS, {"targets": views.cases.get("targets") or {}}, now)
        self.publisher.publish(CASES_WALL, views.wall, now)
        if facts is not None:
            self.tasks.publish(views, facts, now)
        self.cases_seconds = time.perf_counter() - started

    def _visit_alerts(self, now: datetime) -> None:
        """Raise a blue alert per due visit (八必访); resolve the ones visited or no longer due."""
        snapshot = self.enterprises.snapshot if self.enterprises else None
        if snapshot is None or snapshot is self._visits_planned_from:
            return
        today = local_day(now)
        due = {
            candidate.condition_key: candidate
            for facts, history in snapshot.data.values()
            for candidate in (
                t.to_alert() for t in visit_triggers(facts, history, self.rules_cfg, today)
            )
        }
        open_now = self.alerts.open_levels((RuleKind.ENTERPRISE_VISIT.value,))
        self.alerts.raise_many([c for key, c in due.items() if key not in open_now], now)
        for key in open_now.keys() - due.keys():
            self.alerts.resolve(key, now)
        self._visits_planned_from = snapshot

    def _building_risks(self) -> list:
        """Colour every building from its facts, again only when the facts were re-read."""
        if self.buildings is None or self.buildings.snapshot is None:
            return []
        snapshot, risks = self._risks
        if snapshot is not self.buildings.snapshot:
            risks = [
                building_risk(f, self.rules_cfg) for f in self.buildings.snapshot.data.values()
            ]
            self._risks = (self.buildings.snapshot, risks)
        return risks

    def _restore_ticker(self) -> None:
        """Rebuild the ticker and the map's alerts from the stored alerts, once per worker."""
        try:
            found = restore_ticker(self.ticker, self.alerts.engine, self.live)
        except SQLAlchemyError as exc:
            log.warning("cannot restore the ticker yet: %s", str(exc).splitlines()[0])
            return  # the stream goes on meanwhile; the next tick tries again
        self._ticker_restored = True
        if found:
            self._publish_ticker_views()

    def publish_ticker(self) -> None:
        """Fold new alert events into the ticker view model and publish it if it changed."""
        if self.ticker.absorb(self.live.read_events(ALERT_STREAM, self.ticker.cursor, limit=500)):
            self._publish_ticker_views()

    def _republish_lost(self) -> None:
        """Write again the views published only on change: the view cache lost them.

        Redis restarted without persistence comes back empty; every other view is written each
        tick anyway, but the ticker, the map's alerts and the grid workers' task lists would stay
        missing until the next alert or task change.
        """
        log.warning("view cache lost its views (restarted empty?); republishing them")
        self._publish_ticker_views()
        self.tasks.versions.clear()

    def _publish_ticker_views(self) -> None:
        """Publish the ticker view model and the map's alert layer from the ticker's items."""
        if self.alert_cases is not None:
            try:
                self.ticker.cases = self.alert_cases.of(self.ticker.single_ids())
            except AdapterError as exc:
                log.warning("cannot read the ticker alerts' cases: %s", exc)  # keep the last
        self.publisher.publish(TICKER, self.ticker.model(), self.clock.now())
        self._ticker_published = True
        if self.map_views is not None:
            items = self.ticker.items()
            self.map_views.publish_alerts(self.publisher, items, self.clock.now())

    def run(self, stop: threading.Event, every_s: float) -> None:
        """Tick on the interval and publish the ticker the moment an alert arrives, until stopped."""
        next_tick = 0.0
        self.interval_s = every_s
        while not stop.is_set():
            try:
                if time.monotonic() >= next_tick:
                    self.tick()
                    next_tick = time.monotonic() + every_s
                else:
                    self.publish_ticker()
                # The screens' push streams learn at once which views changed (if any did).
                self.publisher.announce()
                # An alert must not wait for the next tick: block on the alert stream instead.
                self.live.wait_events(
                    ALERT_STREAM, self.ticker.cursor, max(0.0, next_tick - time.monotonic())
                )
            except Exception as exc:
                # A database or Redis out of reach is one warning line; a bug keeps its trace.
                log_fault(log, exc, "view-model worker tick failed")
                stop.wait(every_s)


class TaskViews:
    """Publish each grid worker's own tasks view (`tasks:<id>`), only the ones that changed."""

    def __init__(self, publisher: ViewModelPublisher) -> None:
        self.publisher = publisher
        self.versions: dict[str, str] = {}  # by worker id: the version last written

    def publish(self, views: CaseViews, facts: dict[str, Any], now: datetime) -> int:
        """Write the changed workers' views, one write each; return how many were written."""
        workers = set(views.tasks) | self.versions.keys()
        if not self.versions:
            # After a start, every worker once: a list left from before would otherwise stay.
            targets = facts.get("targets") or {}
            workers |= {str(worker["id"]) for worker in targets.get("workers") or []}
        written = 0
        for worker in sorted(workers):
            model = views.worker_view(worker)
            version = self.publisher.version_of(model)
            if self.versions.get(worker) != version:
                self.publisher.publish(tasks_view(worker), model, now, version)
                self.versions[worker] = version
                written += 1
        return written


def resident_alert() -> dict[str, Any]:
    """Return what the ticker says of an alert about a person (an elder's water or door)."""
    # A visit is needed, no more: the usage figures stay in the rule's reasons, on the case.
    return {
        "object_id": None,
        "title_zh": "独居老人需上门探访",
        "title_en": "Elder living alone: visit needed",
        "reasons": [{"code": "visit_needed", "text_zh": "需上门探访", "text_en": "Visit needed"}],
    }


class TickerFeed:
    """Keep the alerts that matter most from the live alert stream for the ticker (滚动播报)."""

    SIZE = 20
    # Open alerts of grouped kinds are all kept, so a group's count is right; past this many
    # (a street's whole registry offline twice over) the oldest are let go.
    MEMBERS_MAX = 50_000

    def __init__(
        self, grouping: GroupingConfig | None = None, place_of: PlaceOf | None = None
    ) -> None:
        self.cursor = "0"
        self._items: dict[int, dict] = {}
        self.grouping = grouping or load_rules_config().alerts.grouping
        self.place_of = place_of  # an alert's building, by address, for a group's places
        # An alert's place for its card (cockpit.places.spelt); the worker sets it.
        self.where_of: Callable[[dict], dict | None] | None = None
        # Alert id → the case it opened or joined (data_adapters.alert_cases), as last read.
        self.cases: dict[int, dict[str, Any]] = {}

    def absorb(self, events: list[tuple[str, dict]]) -> bool:
        """Apply raised, escalated and resolved events; tell whether anything changed."""
        for event_id, event in events:
            self.cursor = event_id
            item = self._items.get(event.get("id"))
            if event.get("event") == "raised":
                if event.get("kind") in WORK_LIST_KINDS:
                    continue
                row = {k: v for k, v in event.items() if k != "event"} | {"status": "new"}
                if row.get("object_type") == "resident":
                    row |= resident_alert()  # the wall never learns who, nor their water or door
                self._items[event["id"]] = row
            elif item is not None and event.get("event") == "escalated":
                item.update(level=event.get("level", item["level"]), escalated=True)
            elif item is not None and event.get("event") == "regraded":
                item.update(level=event.get("level", item["level"]), reasons=event.get("reasons"))
                if item.get("object_type") == "resident":
                    item.update(resident_alert())
            elif item is not None and event.get("event") == "acknowledged":
                if item["status"] == "new":
                    item.update(status="acknowledged", acknowledged_at=event.get("ts"))
            elif item is not None and event.get("event") == "resolved":
                item["status"] = "resolved"
        # A burst of minor alerts must not push an open red one off the wall: keep open ones
        # first, gravest first, then the newest. Open alerts of grouped kinds are all kept:
        # the ticker shows them as one item per kind, counted (cockpit.alert_groups).
        members = [i for i in self._items.values() if groupable(i, self.grouping)]
        if len(members) > self.MEMBERS_MAX:
            members = sorted(members, key=lambda i: i["ts"], reverse=True)[: self.MEMBERS_MAX]
        kept = sorted(
            (i for i in self._items.values() if not groupable(i, self.grouping)),
            key=lambda i: (self.unsettled(i), level_rank(i["level"]), i["ts"]),
            reverse=True,
        )[: self.SIZE]
        self._items = {i["id"]: i for i in (*kept, *members)}
        return bool(events)

    def unsettled(self, item: dict) -> bool:
        """Tell whether an alert still needs someone: open, or cleared while its case is open."""
        case = self.cases.get(item.get("id"))
        return item.get("status") != "resolved" or bool(case and case.get("open"))

    def single_ids(self) -> list[int]:
        """Return the ids of the alerts the ticker shows one by one (groups hide their members)."""
        return [i for i, item in self._items.items() if not groupable(item, self.grouping)]

    def items(self) -> list[dict]:
        """Return every alert kept, one by one, newest first (the map places each of them)."""
        return sorted(self._items.values(), key=lambda i: i["ts"], reverse=True)

    def model(self) -> dict:
        """Return the ticker view model: the newest alerts first, crowded kinds as one item each."""
        items = group_alerts(self._items.values(), self.grouping, self.SIZE, self.place_of)
        for item in items:
            case = None if item.get("group") else self.cases.get(item["id"])
            if case is not None:
                # The case's state and deadline beside the alert's own (no place, no person).
                item["case"] = case
            if self.where_of is not None and not item.get("group"):
                item["where"] = self.where_of(item)
        return {"items": items}


def build_worker(
    engine: Engine,
    live: LiveStore,
    clock: Clock,
    alerts: AlertBook,
    rules_cfg: RulesConfig,
    settings: Settings,
    cases: CaseDesk | None = None,
    *,
    ingest_health: Sequence[Callable[[], dict[str, Any]]] = (),
    audit: AuditLog | None = None,
) -> ViewModelWorker:
    """Return the full worker: every adapter at the settings' intervals, alerts and rules."""
    store_poll = timedelta(seconds=settings.store_poll_seconds)
    # Device lists and building facts change slowly and cost the most: poll them six times rarer.
    slow_poll = store_poll * 6
    return ViewModelWorker(
        RegistryAdapter(engine, clock, store_poll),
        DeviceRegistryAdapter(engine, clock, slow_poll),
        LiveStateAdapter(live, clock, timedelta(seconds=settings.live_poll_seconds)),
        live,
        clock,
        timedelta(seconds=settings.stale_after_seconds),
        settings.street_name,
        alerts,
        timedelta(seconds=settings.alert_escalate_after_seconds),
        PanelFactsAdapter(engine, clock, store_poll),
        BuildingFactsAdapter(
            engine, clock, slow_poll, window_days=rules_cfg.housing.fire_alarm_window_days
        ),
        rules_cfg,
        # Visits are planned by the day; an hourly read (about a second at s-street) is plenty.
        EnterpriseFactsAdapter(engine, clock, max(slow_poll, ENTERPRISE_POLL)),
        map_views=build_map_views(
            engine,
            clock,
            store_poll,
            slow_poll * 5,
            settings.tile_url,
            settings.tile_coordinates,
            settings.tile_attribution,
        ),
        cases=cases,
        case_facts=(
            CaseFactsAdapter(engine, clock, store_poll, indicators_every=store_poll * 3)
            if cases is not None
            else None
        ),
        ingest_health=ingest_health,
        audit_prune=DailyPrune(audit, settings.audit_retention_days) if audit else None,
        alert_cases=AlertCases(engine) if cases is not None else None,
    )
