"""Wire the cockpit's parts from settings once: engine, live store, ingest, scenario, worker."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from sqlalchemy import Engine, select

from cockpit.alerts import AlertBook
from cockpit.clock import Clock, ScaledClock, SystemClock
from cockpit.complaint_feeds import FolderFeed
from cockpit.ingest import Ingest
from cockpit.live import LiveStore, make_live_store
from cockpit.mqtt_bridge import MqttBridge, MqttPublisher
from cockpit.mqtt_bridge import from_url as bridge_from_url
from cockpit.rules.config import RulesConfig, load_rules_config
from cockpit.settings import Settings
from cockpit.simulator.generator import seed_street, store_is_empty
from cockpit.simulator.scenario import LiveScenario
from cockpit.simulator.tiers import get_tier
from cockpit.store import schema
from cockpit.store.database import make_engine, migrate
from cockpit.streaming import StreamingRules
from cockpit.worker import ViewModelWorker, build_worker

log = logging.getLogger(__name__)


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
    bridge: MqttBridge | None = None
    publisher: MqttPublisher | None = None
    threads: list[threading.Thread] = field(default_factory=list)
    stop_event: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def open(cls, settings: Settings, *, seed_if_empty: bool | None = None) -> Runtime:
        """Connect to the stores, migrate, and seed the simulated street when the store is empty."""
        engine = make_engine(settings.resolved_database_url)
        migrate(engine)
        if (settings.auto_seed if seed_if_empty is None else seed_if_empty) and store_is_empty(
            engine
        ):
            tier = get_tier(settings.scale)
            log.info("store is empty: seeding the %s street (seed %d)", tier.name, settings.seed)
            report = seed_street(
                engine, tier, settings.seed, (settings.map_center_lon, settings.map_center_lat)
            )
            log.info("seeded %s in %.1f s", tier.name, report.seconds)
        with engine.connect() as conn:
            street_code = conn.execute(select(schema.Street.code)).scalar() or "unseeded"
        live = make_live_store(settings.redis_url, street_code)
        clock: Clock = (
            ScaledClock(settings.simulation_speed) if settings.simulate else SystemClock()
        )
        alerts = AlertBook(engine, live)
        rules_cfg = load_rules_config(settings.rules_file)
        ingest = Ingest(engine, live, clock, StreamingRules(engine, alerts, rules_cfg))
        return cls(settings, engine, live, clock, street_code, ingest, alerts, rules_cfg)

    def make_worker(self) -> ViewModelWorker:
        """Return a view-model worker polling this runtime's stores."""
        return build_worker(
            self.engine, self.live, self.clock, self.alerts, self.rules_cfg, self.settings
        )

    def make_scenario(self) -> LiveScenario:
        """Return the live scenario; its devices publish to MQTT when a broker URL is set."""
        if self.settings.mqtt_url and self.publisher is None:
            self.publisher = MqttPublisher.from_url(self.settings.mqtt_url, self.street_code)
        sink = self.publisher.send if self.publisher else None
        return LiveScenario(self.engine, self.ingest, self.clock, self.settings.seed, sink=sink)

    def start_bridge(self) -> None:
        """Subscribe to the street's device topics; one bridge per street, never in web workers."""
        if self.settings.mqtt_url and self.bridge is None:
            self.bridge = bridge_from_url(self.ingest, self.street_code, self.settings.mqtt_url)
            self.bridge.start()

    def start_background(self, *, worker: bool = True, scenario: bool | None = None) -> None:
        """Start the worker and, when simulating, the live scenario as daemon threads."""
        live_scenario = None
        if self.settings.simulate if scenario is None else scenario:
            live_scenario = self.make_scenario()
            # Fill live state as a street already running would have it, before the worker's first
            # sample, so the warm start is not counted as a minute's traffic.
            live_scenario.step()
        if worker:
            self.start_bridge()
            if self.settings.complaint_folder:
                self._spawn("complaint-folder", self._poll_complaints)
            view_worker = self.make_worker()
            view_worker.tick()  # the first page has data as soon as the server answers
            self._spawn("view-model-worker", view_worker.run, self.settings.live_poll_seconds)
        if live_scenario is not None:
            self._spawn("live-scenario", live_scenario.run)

    def _poll_complaints(self, stop: threading.Event) -> None:
        """Ingest new complaint files until stopped; poll() never raises on bad input."""
        feed = FolderFeed(self.ingest, self.engine, self.settings.complaint_folder)
        while not stop.wait(self.settings.complaint_poll_seconds):
            feed.poll()

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
        self.engine.dispose()
