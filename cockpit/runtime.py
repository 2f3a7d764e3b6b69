"""Wire the cockpit's parts from settings once: engine, live store, ingest, scenario, worker."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from sqlalchemy import Engine, select

from cockpit.access.accounts import AccountStore
from cockpit.access.audit import AuditLog
from cockpit.alerts import AlertBook
from cockpit.cases.deadlines import load_cases_config
from cockpit.cases.desk import CaseDesk
from cockpit.clock import Clock, SystemClock, local_day
from cockpit.complaint_feeds import FolderFeed, SqlTableFeed
from cockpit.ingest import Ingest
from cockpit.live import LiveStore, make_live_store
from cockpit.mqtt_bridge import BrokerAddress, MqttBridge, MqttPublisher, broker_from_settings
from cockpit.mqtt_bridge import from_broker as bridge_from_broker
from cockpit.rules.config import RulesConfig, load_rules_config
from cockpit.settings import Settings
from cockpit.simulator.generator import seed_street, store_is_empty
from cockpit.simulator.history import seed_history
from cockpit.simulator.resume import simulation_clock
from cockpit.simulator.scenario import LiveScenario
from cockpit.simulator.tiers import get_tier
from cockpit.store import schema
from cockpit.store.database import make_engine, migrate
from cockpit.store.stored_street import ignored_settings
from cockpit.streaming import StreamingRules
from cockpit.worker import ViewModelWorker, build_worker

log = logging.getLogger(__name__)
# A simulated street starts with a month behind it, so trends and indicators have a past.
HISTORY_DAYS = 30


@dataclass
class Runtime:
    """Hold the injected clients and the background threads of one cockpit process."""

    settings: Settings
    engine: Engine
    live: LiveStore
    clock: Clock
    street_code: str
    ingest: Ingest
    alerts: AlertBook
    rules_cfg: RulesConfig
    cases: CaseDesk | None = None
    accounts: AccountStore | None = None
    audit: AuditLog | None = None
    bridge: MqttBridge | None = None
    publisher: MqttPublisher | None = None
    broker: BrokerAddress | None = None  # checked once at open: a bad TLS file stops the start
    feeds: list[FolderFeed | SqlTableFeed] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)
    stop_event: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def open(cls, settings: Settings, *, seed_if_empty: bool | None = None) -> Runtime:
        """Connect to the stores, migrate, and seed the simulated street when the store is empty."""
        # A missing TLS file or a password without a user fails here, before anything runs.
        broker = broker_from_settings(settings) if settings.mqtt_url else None
        engine = make_engine(settings.resolved_database_url)
        migrate(engine)
        # Faster than real, a restarted street's clock goes on from its last run's time.
        clock: Clock = (
            simulation_clock(engine, settings.simulation_speed)
            if settings.simulate
            else SystemClock()
        )
        empty = store_is_empty(engine)
        if not empty:
            for sentence in ignored_settings(settings, engine):
                log.warning(sentence)
        if (settings.auto_seed if seed_if_empty is None else seed_if_empty) and empty:
            tier = get_tier(settings.scale, settings.street_code, settings.street_name)
            log.info("store is empty: seeding the %s street (seed %d)", tier.name, settings.seed)
            report = seed_street(
                engine,
                tier,
                settings.seed,
                (settings.map_center_lon, settings.map_center_lat),
                as_of=local_day(clock.now()),
            )
            past = seed_history(engine, clock.now(), HISTORY_DAYS, settings.seed)
            log.info(
                "seeded %s in %.1f s, with %d cases of the last %d days",
                tier.name,
                report.seconds,
                past,
                HISTORY_DAYS,
            )
        with engine.connect() as conn:
            stored_code = conn.execute(select(schema.Street.code)).scalar()
        # The store's code wins over COCKPIT_STREET_CODE (ignored_settings said so above).
        street_code = stored_code or settings.street_code or "unseeded"
        live = make_live_store(settings.redis_url, street_code)
        alerts = AlertBook(engine, live)
        rules_cfg = load_rules_config(settings.rules_file)
        # One case desk per process: the worker syncs through it, the screens act through it.
        cases = CaseDesk(engine, live, clock, load_cases_config(settings.cases_file), alerts)
        ingest = Ingest(engine, live, clock, StreamingRules(engine, alerts, rules_cfg), cases)
        return cls(
            settings,
            engine,
            live,
            clock,
            street_code,
            ingest,
            alerts,
            rules_cfg,
            cases,
            # Accounts and the audit log keep wall-clock time, even on a simulated street.
            accounts=AccountStore(engine, SystemClock()),
            audit=AuditLog(engine, SystemClock()),
            broker=broker,
        )

    def make_worker(self) -> ViewModelWorker:
        """Return a view-model worker polling this runtime's stores."""
        return build_worker(
            self.engine,
            self.live,
            self.clock,
            self.alerts,
            self.rules_cfg,
            self.settings,
            self.cases,
            ingest_health=[source.health for source in self._ingest_sources()],
            audit=self.audit,  # the worker prunes the audit log past its retention, daily
        )

    def _ingest_sources(self) -> list[MqttBridge | FolderFeed | SqlTableFeed]:
        """Return the bridge and complaint feeds this process runs; each reports its health."""
        return ([self.bridge] if self.bridge else []) + self.feeds

    def open_feeds(self) -> None:
        """Create the complaint feeds the settings name: a watched folder, a SQL table."""
        if self.feeds:
            return
        if self.settings.complaint_folder:
            self.feeds.append(FolderFeed(self.ingest, self.engine, self.settings.complaint_folder))
        if self.settings.complaint_sql_url:
            self.feeds.append(
                SqlTableFeed(
                    self.ingest,
                    self.engine,
                    self.settings.complaint_sql_url,
                    self.settings.complaint_sql_table,
                )
            )

    def make_scenario(self) -> LiveScenario:
        """Return the live scenario; its devices publish to MQTT when a broker URL is set."""
        if self.broker is not None and self.publisher is None:
            # Published and lost counts go to the live store, beside ingest's accepted count.
            self.publisher = MqttPublisher.from_broker(
                self.broker, self.street_code, counters=self.live.incr
            )
        sink = self.publisher.send if self.publisher else None
        return LiveScenario(self.engine, self.ingest, self.clock, self.settings.seed, sink=sink)

    def start_bridge(self) -> None:
        """Subscribe to the street's device topics; one bridge per street, never in web workers."""
        if self.broker is not None and self.bridge is None:
            self.bridge = bridge_from_broker(self.ingest, self.street_code, self.broker)
            self.bridge.start()

    def start_background(self, *, worker: bool = True, scenario: bool | None = None) -> None:
        """Start the worker and, when simulating, the live scenario as daemon threads."""
        live_scenario = None
        if self.settings.simulate if scenario is None else scenario:
            live_scenario = self.make_scenario()
            # Fill live state as a street already running would have it, before the worker's first
            # sample, so the warm start is not counted as a minute's traffic. In-process, not over
            # MQTT: the bridge is not subscribed yet, so the broker would discard the lot (and
            # tens of thousands at once overflow what it queues for a bridge).
            sink, live_scenario.sink = live_scenario.sink, self.ingest.device_messages
            try:
                live_scenario.step()
            finally:
                live_scenario.sink = sink
        if worker:
            self.start_bridge()
            self.open_feeds()
            if self.feeds:
                self._spawn("complaint-feeds", self._poll_complaints)
            view_worker = self.make_worker()
            view_worker.tick()  # the first page has data as soon as the server answers
            self._spawn("view-model-worker", view_worker.run, self.settings.live_poll_seconds)
        if live_scenario is not None:
            self._spawn("live-scenario", live_scenario.run)

    def _poll_complaints(self, stop: threading.Event) -> None:
        """Ingest new complaints from every feed until stopped; poll() never raises on bad input."""
        while True:
            for feed in self.feeds:
                feed.poll()
            if stop.wait(self.settings.complaint_poll_seconds):
                return

    def _spawn(self, name: str, target, *args) -> None:
        thread = threading.Thread(
            target=target, args=(self.stop_event, *args), name=name, daemon=True
        )
        thread.start()
        self.threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the background threads and release the engine."""
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout)
        if self.publisher is not None:
            self.publisher.close()
        if self.bridge is not None:
            self.bridge.stop()
        for feed in self.feeds:
            feed.close()
        self.engine.dispose()
