"""Offer the `cockpit` command: seed, stats, simulate, worker, import, migrate, users."""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import click

from cockpit.settings import Settings
from cockpit.simulator.tiers import TIERS


def _settings(**overrides: Any) -> Settings:
    """Return the settings with the command line's non-empty overrides applied."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def _engine(database_url: str | None):
    from cockpit.store.database import make_engine, migrate

    engine = make_engine(_settings(database_url=database_url).resolved_database_url)
    migrate(engine)
    return engine


database_option = click.option(
    "--database-url", help="SQLAlchemy URL; overrides COCKPIT_DATABASE_URL."
)


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
def main(verbose: bool) -> None:
    """Run the street digital cockpit's tools."""
    from pydantic import ValidationError

    from cockpit.logs import configure_logging
    from cockpit.settings import describe_settings_error

    try:
        settings = Settings()
    except ValidationError as error:
        raise click.ClickException(f"bad settings: {describe_settings_error(error)}") from None
    # The one logging configuration (cockpit/logs.py); --verbose means DEBUG everywhere.
    configure_logging(settings, verbose=verbose)


@main.command()
@database_option
def migrate(database_url: str | None) -> None:
    """Create or upgrade the store's schema, and say what it created."""
    from cockpit.store.database import make_engine, store_location
    from cockpit.store.database import migrate as migrate_store

    url = _settings(database_url=database_url).resolved_database_url
    engine = make_engine(url)
    try:
        report = migrate_store(engine)
    finally:
        engine.dispose()
    click.echo(f"store: {store_location(url)}")
    click.echo(report.describe())


@main.command()
@click.option("--scale", type=click.Choice(list(TIERS)), help="Street size (tier).")
@click.option(
    "--seed", "seed_value", type=int, help="Random seed; the same seed gives the same street."
)
@click.option("--center-lon", type=float, help="Longitude of the street centre (WGS84).")
@click.option("--center-lat", type=float, help="Latitude of the street centre (WGS84).")
@click.option("--reset", is_flag=True, help="Delete everything in the store first.")
@click.option(
    "--history-days",
    type=click.IntRange(min=0),
    default=30,
    show_default=True,
    help=(
        "Days of past cases, resident requests and complaints to seed before today, so trends, "
        "hot topics and indicators have a past."
    ),
)
@database_option
def seed(scale, seed_value, center_lon, center_lat, reset, history_days, database_url) -> None:
    """Generate a simulated street at a tier's exact scale into the store."""
    from cockpit.clock import SystemClock, local_day
    from cockpit.simulator.generator import StoreNotEmptyError, seed_street
    from cockpit.simulator.history import seed_history
    from cockpit.simulator.tiers import get_tier
    from cockpit.store.counts import registry_counts
    from cockpit.store.database import clear_store

    settings = _settings(
        scale=scale,
        seed=seed_value,
        map_center_lon=center_lon,
        map_center_lat=center_lat,
        database_url=database_url,
    )
    engine = _engine(database_url)
    if reset:
        clear_store(engine)
    tier = get_tier(settings.scale, settings.street_code, settings.street_name)
    try:
        report = seed_street(
            engine,
            tier,
            settings.seed,
            (settings.map_center_lon, settings.map_center_lat),
            as_of=local_day(SystemClock().now()),
            show_progress=True,
        )
    except StoreNotEmptyError as exc:
        raise click.ClickException(str(exc)) from exc
    for name, value in registry_counts(engine).items():
        click.echo(f"{name}: {value}")
    click.echo(f"seeded {tier.name} (seed {settings.seed}) in {report.seconds:.1f} s")
    if history_days:
        started = time.perf_counter()
        past = seed_history(engine, SystemClock().now(), history_days, settings.seed)
        click.echo(
            f"seeded {past} cases (grid reports, resident requests, complaints) "
            f"of the last {history_days} days "
            f"in {time.perf_counter() - started:.1f} s"
        )


@main.command()
@database_option
def stats(database_url: str | None) -> None:
    """Print the store's registry counts as `name: value` lines; never create a store."""
    from cockpit.store.counts import registry_counts
    from cockpit.store.database import missing_store

    why = missing_store(_settings(database_url=database_url).resolved_database_url)
    if why:
        raise click.ClickException(
            f"{why}: nothing to count. Create it with `cockpit migrate` (empty) or "
            "`cockpit seed` (a simulated street), or point --database-url at the store."
        )
    for name, value in registry_counts(_engine(database_url)).items():
        click.echo(f"{name}: {value}")


@main.command()
@click.option(
    "--speed",
    type=float,
    default=60.0,
    show_default=True,
    help="Simulated seconds per real second.",
)
@click.option(
    "--duration", type=float, help="Stop after this many real seconds (default: run until Ctrl-C)."
)
@database_option
@click.option("--redis-url", help="Redis URL for live state; overrides COCKPIT_REDIS_URL.")
def simulate(
    speed: float, duration: float | None, database_url: str | None, redis_url: str | None
) -> None:
    """Play the live scenario: devices report, people report, scripted incidents happen."""
    from cockpit.runtime import Runtime

    settings = _settings(
        simulation_speed=speed, database_url=database_url, redis_url=redis_url, simulate=True
    )
    if not settings.redis_url:
        click.echo(
            "note: no Redis URL is set, so device readings stay in this process; "
            "complaints, requests and grid reports still reach the SQL store",
            err=True,
        )
    runtime = Runtime.open(settings)
    scenario = runtime.make_scenario()
    stop = _stop_on_signal()
    started = time.monotonic()
    sent = 0
    next_report = started + 5
    while not stop.is_set() and (duration is None or time.monotonic() - started < duration):
        sent += scenario.step()
        if time.monotonic() >= next_report:
            click.echo(
                f"{runtime.clock.now():%Y-%m-%d %H:%M:%S} UTC  messages: {sent}  "
                f"incidents: {', '.join(i.name for _, i in scenario.played) or '-'}"
            )
            next_report += 5
        stop.wait(0.2)
    click.echo(f"sent {sent} device messages in {time.monotonic() - started:.1f} s")
    runtime.stop()
    if runtime.publisher is not None:
        # Closing counted whatever the broker never acknowledged as lost; say so, not "sent".
        stats = runtime.publisher.stats
        click.echo(f"MQTT: {stats.acked} acknowledged by the broker, {stats.lost} lost")


@main.command()
@database_option
@click.option("--redis-url", help="Redis URL the web workers read view models from.")
def worker(database_url: str | None, redis_url: str | None) -> None:
    """Poll the stores and publish view models to Redis (the production worker process)."""
    from cockpit.runtime import Runtime

    settings = _settings(database_url=database_url, redis_url=redis_url, simulate=False)
    if not settings.redis_url:
        raise click.ClickException(
            "the worker publishes to Redis: set COCKPIT_REDIS_URL or --redis-url"
        )
    runtime = _open_or_fail(Runtime, settings, seed_if_empty=False)
    stop = _stop_on_signal()
    click.echo(f"worker publishing view models for street {runtime.street_code}")
    runtime.start_bridge()
    runtime.make_worker().run(stop, settings.live_poll_seconds)
    runtime.stop()


def _open_or_fail(runtime_class, settings: Settings, **options: Any):
    """Open the runtime; a store out of reach is one clear error, not a traceback."""
    from cockpit.logs import fault_summary, is_expected_fault

    try:
        return runtime_class.open(settings, **options)
    except Exception as exc:
        if not is_expected_fault(exc):
            raise
        raise click.ClickException(
            f"cannot reach the stores ({fault_summary(exc)}); check COCKPIT_DATABASE_URL and "
            "COCKPIT_REDIS_URL"
        ) from None


def bench_scale(help_text: str):
    """Return the --scale option of a bench command: the street it seeds, S street by default."""
    return click.option(
        "--scale",
        type=click.Choice(list(TIERS)),
        default="s-street",
        show_default=True,
        help=help_text,
    )


@main.group()
def bench() -> None:
    """Measure the cockpit on this machine; the last lines are the figures."""


@bench.command(name="ingest")
@click.option(
    "--redis-url",
    default="redis://127.0.0.1:6379/0",
    show_default=True,
    help="Redis to ingest into; pass an empty string for the in-process live store.",
)
@bench_scale("Street the devices come from.")
@click.option(
    "--seconds", type=float, default=10.0, show_default=True, help="How long to push readings."
)
def bench_ingest_command(redis_url: str, scale: str, seconds: float) -> None:
    """Push readings through validation, de-duplication and rules into live state; time incidents."""
    from cockpit.bench.ingest import bench_ingest

    bench_ingest(redis_url or None, scale, seconds, say=click.echo)


@bench.command(name="outage")
@bench_scale("Street that goes silent.")
def bench_outage_command(scale: str) -> None:
    """Time the worker when every device of the street falls silent at once, and after."""
    from cockpit.bench.ingest import bench_outage

    bench_outage(scale, say=click.echo)


@bench.command(name="panels")
@click.option(
    "--database-url", help="URL of an EMPTY store to fill; default: a scratch SQLite file."
)
@bench_scale("Street to seed, with a year of cases, requests and alarms.")
def bench_panels_command(database_url: str | None, scale: str) -> None:
    """Time the panel and building-facts queries and the housing-risk rule on a busy street."""
    from cockpit.bench.panels import bench_panel_facts

    bench_panel_facts(database_url, scale, say=click.echo)


@bench.command(name="map")
@bench_scale("Street to seed, with a year of activity.")
def bench_map_command(scale: str) -> None:
    """Time the map's layers, its refresh reads, its cards and what it adds to a worker tick."""
    from cockpit.bench.map import bench_map

    bench_map(scale=scale, say=click.echo)


@bench.command(name="refresh")
@bench_scale("Street to seed.")
@click.option("--redis-url", default=None, help="Redis for the view models; default: in-process.")
def bench_refresh_command(scale: str, redis_url: str | None) -> None:
    """Time the screens' one refresh callback: nothing new, one view changed, every view changed."""
    from cockpit.bench.refresh import bench_refresh

    bench_refresh(scale, redis_url, say=click.echo)


@bench.command(name="changes")
@bench_scale("Street to seed and play.")
@click.option("--redis-url", default=None, help="Redis for the view models; default: in-process.")
@click.option("--seconds", type=float, default=60.0, show_default=True, help="How long to play.")
@click.option(
    "--speed", type=float, default=10.0, show_default=True, help="Simulated seconds per second."
)
def bench_changes_command(scale: str, redis_url: str | None, seconds: float, speed: float) -> None:
    """Print the bytes a wall and a tablet receive per change, as differences and whole."""
    from cockpit.bench.refresh import bench_changes

    bench_changes(scale, redis_url, seconds, speed, say=click.echo)


@bench.command(name="screens")
@bench_scale("Street to seed.")
@click.option(
    "--redis-url",
    default="redis://127.0.0.1:6379/0",
    show_default=True,
    help="Redis for the worker and the web (a street code of its own keeps its keys apart).",
)
@click.option(
    "--screens",
    "counts",
    default="50,200,500",
    show_default=True,
    help="Numbers of screens to connect, one window each.",
)
@click.option("--changes", type=int, default=10, show_default=True, help="Alerts raised a window.")
@click.option("--every", type=float, default=2.0, show_default=True, help="Seconds between them.")
@click.option(
    "--modes",
    default="push,poll",
    show_default=True,
    help="push (streams) and/or poll (refresh every second), side by side.",
)
def bench_screens_command(
    scale: str, redis_url: str, counts: str, changes: int, every: float, modes: str
) -> None:
    """Run worker and gunicorn, connect many walls, time each change to every screen, and CPU."""
    from cockpit.bench.screens import bench_screens

    try:
        numbers = tuple(int(n) for n in counts.split(","))
    except ValueError as exc:
        raise click.BadParameter(
            "a comma-separated list of numbers", param_hint="--screens"
        ) from exc
    chosen = tuple(m.strip() for m in modes.split(","))
    if not set(chosen) <= {"push", "poll"}:
        raise click.BadParameter("push and/or poll", param_hint="--modes")
    bench_screens(numbers, redis_url, scale, changes, every, modes=chosen, say=click.echo)


@bench.command(name="events")
@bench_scale("Street to seed.")
@click.option(
    "--redis-url", default="redis://127.0.0.1:6379/0", show_default=True, help="Redis to use."
)
@click.option(
    "--mqtt-url", default="mqtt://127.0.0.1:1883", show_default=True, help="Mosquitto to use."
)
@click.option("--events", type=int, default=20, show_default=True, help="Smoke alarms to send.")
def bench_events_command(scale: str, redis_url: str, mqtt_url: str, events: int) -> None:
    """Run worker (MQTT bridge) and gunicorn; time smoke alarms to a Chromium wall's ticker."""
    from cockpit.bench.events import bench_events

    try:
        bench_events(scale, redis_url, mqtt_url, events, say=click.echo)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc


@bench.command(name="soak")
@bench_scale("Street to seed and play.")
@click.option("--minutes", type=float, default=30.0, show_default=True, help="How long to run.")
@click.option("--screens", type=int, default=50, show_default=True, help="Pushed walls to hold.")
@click.option(
    "--redis-url", default="redis://127.0.0.1:6379/0", show_default=True, help="Redis to use."
)
@click.option(
    "--mqtt-url", default="mqtt://127.0.0.1:1883", show_default=True, help="Mosquitto to use."
)
def bench_soak_command(
    scale: str, minutes: float, screens: int, redis_url: str, mqtt_url: str
) -> None:
    """Run simulator, worker and gunicorn with pushed walls; print their memory over time."""
    from cockpit.bench.soak import bench_soak

    try:
        bench_soak(minutes, scale, redis_url, mqtt_url, screens, say=click.echo)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc


@bench.command(name="compress")
@bench_scale("Street to seed.")
def bench_compress_command(scale: str) -> None:
    """Print the wall's scripts, a full refresh and map layers on the wire, plain and compressed."""
    from cockpit.bench.compress import bench_compress

    bench_compress(scale, say=click.echo)


@bench.command(name="all")
@bench_scale("Street to seed for every bench.")
@click.option(
    "--redis-url",
    default=None,
    help="Redis for the refresh bench, and for the screens and MQTT events benches (run only with it).",
)
@click.option("--runs", type=int, default=100, show_default=True, help="Timed runs of a refresh.")
@click.option("--no-browser", is_flag=True, help="Leave out the wall's first render in Chromium.")
@click.option(
    "--changes-seconds",
    type=float,
    default=60.0,
    show_default=True,
    help="How long the bytes-per-change bench plays the street.",
)
def bench_all_command(
    scale: str, redis_url: str | None, runs: int, no_browser: bool, changes_seconds: float
) -> None:
    """Run the refresh, changes, compression, map and wall benches; print one table of figures."""
    from cockpit.bench.all import bench_all

    try:
        bench_all(
            scale,
            redis_url,
            runs,
            browser=not no_browser,
            say=click.echo,
            changes_s=changes_seconds,
        )
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc


@bench.command(name="browser")
@click.option(
    "--url",
    default="http://127.0.0.1:8050/?mode=tablet",
    show_default=True,
    help="A running cockpit page (start `python app.py` first).",
)
@click.option("--size", default="1024x768", show_default=True, help="Viewport, WIDTHxHEIGHT.")
@click.option("--seconds", type=float, default=30.0, show_default=True, help="How long to measure.")
@click.option(
    "--settle",
    type=float,
    default=15.0,
    show_default=True,
    help="Seconds to load before measuring.",
)
@click.option(
    "--throttle",
    type=float,
    default=4.0,
    show_default=True,
    help="Slow Chromium's CPU this many times, as a tablet is slower than a desktop.",
)
@click.option("--token", default=None, help="Sign in as a wall with this kiosk token.")
@click.option("--user", default=None, help="Sign in as this account (with --password).")
@click.option("--password", default=None, help="The account's password.")
def bench_browser_command(
    url: str,
    size: str,
    seconds: float,
    settle: float,
    throttle: float,
    token: str | None,
    user: str | None,
    password: str | None,
) -> None:
    """Measure a live page in headless Chromium: busy ms per second, long tasks, layout shifts."""
    from cockpit.bench.browser import bench_browser

    try:
        width, height = (int(part) for part in size.lower().split("x"))
    except ValueError as exc:
        raise click.BadParameter(f"{size!r} is not WIDTHxHEIGHT", param_hint="--size") from exc
    try:
        bench_browser(
            url,
            width=width,
            height=height,
            seconds=seconds,
            settle_s=settle,
            throttle=throttle,
            token=token,
            user=user,
            password=password,
            say=click.echo,
        )
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc


@main.group(name="import")
def import_group() -> None:
    """Import real registers into the store."""


file_argument = click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))


skip_invalid_option = click.option(
    "--skip-invalid",
    is_flag=True,
    help="Import the valid features or lines and list each invalid one left out, with its reason.",
)
allow_outside_option = click.option(
    "--allow-outside",
    is_flag=True,
    help="Import even when buildings (and people) would lie outside the street's boundary.",
)


@import_group.command(name="buildings")
@file_argument
@skip_invalid_option
@allow_outside_option
@click.option(
    "--allow-missing-uses",
    is_flag=True,
    help="Import even when no building is left for the street's households or enterprises.",
)
@database_option
def import_buildings_command(
    file: Path,
    skip_invalid: bool,
    allow_outside: bool,
    allow_missing_uses: bool,
    database_url: str | None,
) -> None:
    """Replace the street's buildings with a GeoJSON FeatureCollection (e.g. an OSM export)."""
    from functools import partial

    from cockpit.importers.buildings import import_buildings

    importer = partial(
        import_buildings,
        skip_invalid=skip_invalid,
        allow_outside=allow_outside,
        allow_missing_uses=allow_missing_uses,
    )
    _import(importer, "buildings", file, database_url)


@import_group.command(name="geography")
@click.argument("file", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--layer",
    "layers",
    multiple=True,
    metavar="[SOURCE=]KIND",
    help=(
        "What the features are: KIND for every feature of the file, SOURCE=KIND for one layer of "
        "a GeoPackage or OSM file. KIND: boundary, community, grid, road, road_main, road_minor, "
        "water, green, block. Without it a `layer`/`kind` property, the layer's name or OSM "
        "tags decide."
    ),
)
@skip_invalid_option
@allow_outside_option
@database_option
def import_geography_command(
    file: Path,
    layers: tuple[str, ...],
    skip_invalid: bool,
    allow_outside: bool,
    database_url: str | None,
) -> None:
    """Replace the simulated boundary, communities, grids, roads or water with a GIS file's.

    GeoJSON, Shapefile, GeoPackage or an OSM extract (.osm.pbf), in WGS84.
    """
    from functools import partial

    from cockpit.importers.geography import import_geography, layer_map

    try:
        mapping = layer_map(layers)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--layer") from exc
    importer = partial(
        import_geography, layers=mapping, skip_invalid=skip_invalid, allow_outside=allow_outside
    )
    _import(importer, "geography features", file, database_url)


@import_group.command(name="devices")
@file_argument
@skip_invalid_option
@click.option(
    "--replace",
    is_flag=True,
    help="Remove every device the register does not list (the simulated fleet, say).",
)
@database_option
def import_devices_command(
    file: Path, skip_invalid: bool, replace: bool, database_url: str | None
) -> None:
    """Add or update devices from a device register CSV (id, kind, building or lon/lat, installed)."""
    from functools import partial

    from cockpit.importers.devices import import_devices

    importer = partial(import_devices, skip_invalid=skip_invalid, replace=replace)
    _import(importer, "devices", file, database_url)


@import_group.command(name="residents")
@file_argument
@database_option
def import_residents_command(file: Path, database_url: str | None) -> None:
    """Import a three-actuals (三实) residents register from CSV."""
    from cockpit.importers.residents import import_residents

    _import(import_residents, "residents", file, database_url)


def _import(importer, what: str, file: Path, database_url: str | None) -> None:
    """Run an importer; a bad file or store becomes one clear error saying nothing was imported."""
    from cockpit.importers.errors import ImportFileError, ImportStoreError

    try:
        report = importer(_engine(database_url), file)
    except (ImportFileError, ImportStoreError) as exc:
        raise click.ClickException(f"{file}: {exc} (nothing was imported)") from exc
    for line in report.skipped:
        click.echo(f"skipped {line}", err=True)
    for line in report.warnings:
        click.echo(f"WARNING: {line}", err=True)
    click.echo(f"imported {report.imported} {what} from {file} {report.details}")


@main.group(name="users")
def users_group() -> None:
    """Manage accounts: people (argon2 passwords) and walls (kiosk tokens)."""


def _accounts(database_url: str | None):
    """Return the account store and the audit log of the configured store."""
    from cockpit.access.accounts import AccountStore
    from cockpit.access.audit import AuditLog

    engine = _engine(database_url)
    return AccountStore(engine), AuditLog(engine)


def _cli_actor() -> str:
    """Return who ran the command, as the audit log names them."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"[:64]
    except (KeyError, OSError):
        return "cli"


def _account_change(database_url: str | None, action: str, name: str, change, **detail) -> Any:
    """Run one account change; a refusal is one clear error; the change is audited."""
    from cockpit.access.accounts import AccountError

    accounts, audit = _accounts(database_url)
    try:
        result = change(accounts)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    audit.record(_cli_actor(), action, record=("account", name), detail=detail or None)
    return result


def _role_names() -> list[str]:
    """Return the roles an account can have, from the one policy module."""
    from cockpit.access.policy import Role

    return [role.value for role in Role]


role_choice = click.Choice(_role_names())
worker_option = click.option(
    "--worker", "worker_id", type=int, help="Grid worker record id (grid_worker accounts only)."
)
password_option = click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from standard input instead of generating one.",
)


def _read_password(from_stdin: bool) -> str | None:
    """Return the password given on standard input, or None to generate one."""
    return sys.stdin.readline().rstrip("\n") if from_stdin else None


@users_group.command(name="add")
@click.argument("name")
@click.option("--role", type=role_choice, required=True, help="What the account may do.")
@worker_option
@password_option
@click.option("--url", default="http://127.0.0.1:8050/", show_default=True, help="Cockpit URL.")
@database_option
def users_add(name, role, worker_id, password_stdin, url, database_url) -> None:
    """Add an account; print its password (people) or its wall link (kiosk) once."""
    password = _read_password(password_stdin)
    secret = _account_change(
        database_url,
        "account_add",
        name,
        lambda a: a.add(name, role, password=password, worker_id=worker_id),
        role=role,
        worker=worker_id,
    )
    if role == "kiosk":
        click.echo(f"wall link (open it once on the wall): {url.rstrip('/')}/kiosk?token={secret}")
    elif password is None:
        click.echo(f"password for {name} (shown only now): {secret}")
    else:
        click.echo(f"account {name} added")


@users_group.command(name="remove")
@click.argument("name")
@database_option
def users_remove(name, database_url) -> None:
    """Remove an account; its sessions end at once."""
    _account_change(database_url, "account_remove", name, lambda a: a.remove(name))
    click.echo(f"account {name} removed")


@users_group.command(name="role")
@click.argument("name")
@click.argument("role", type=role_choice)
@worker_option
@database_option
def users_role(name, role, worker_id, database_url) -> None:
    """Change an account's role; its sessions end at once."""
    _account_change(
        database_url,
        "account_role",
        name,
        lambda a: a.set_role(name, role, worker_id=worker_id),
        role=role,
        worker=worker_id,
    )
    click.echo(f"account {name} is now {role}")


@users_group.command(name="password")
@click.argument("name")
@password_option
@database_option
def users_password(name, password_stdin, database_url) -> None:
    """Set a person's password (generated unless given on stdin); their sessions end."""
    password = _read_password(password_stdin)
    secret = _account_change(
        database_url, "account_password", name, lambda a: a.set_password(name, password)
    )
    click.echo(
        f"new password for {name} (shown only now): {secret}" if password is None else "done"
    )


@users_group.command(name="token")
@click.argument("name")
@click.option("--revoke", is_flag=True, help="Stop the wall's link without issuing a new one.")
@click.option("--url", default="http://127.0.0.1:8050/", show_default=True, help="Cockpit URL.")
@database_option
def users_token(name, revoke, url, database_url) -> None:
    """Issue a wall (kiosk) a new link, or revoke it; the old link stops working at once."""
    if revoke:
        _account_change(database_url, "kiosk_revoke", name, lambda a: a.revoke_token(name))
        click.echo(f"wall {name}: link revoked")
        return
    token = _account_change(database_url, "kiosk_token", name, lambda a: a.issue_token(name))
    click.echo(f"wall link for {name}: {url.rstrip('/')}/kiosk?token={token}")


@users_group.command(name="list")
@database_option
def users_list(database_url) -> None:
    """List the accounts: name, role, grid worker, active."""
    accounts, _ = _accounts(database_url)
    for account in accounts.list():
        worker = f" worker={account.worker_id}" if account.worker_id is not None else ""
        state = "" if account.active else " (inactive)"
        click.echo(f"{account.username}: {account.role.value}{worker}{state}")


def _stop_on_signal() -> threading.Event:
    """Return an event set by Ctrl-C or SIGTERM."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


if __name__ == "__main__":
    sys.exit(main())
