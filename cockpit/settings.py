"""Hold every setting of the cockpit in one place, read from COCKPIT_* variables or a TOML file."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

Scale = Literal["changbai", "s-street", "district"]

CONFIG_FILE_VARIABLE = "COCKPIT_CONFIG"
# The shipped secret key: fine on a developer's machine, refused in production.
DEFAULT_SECRET_KEY = "dev-only-change-me"


class Settings(BaseSettings):
    """Configure the cockpit; every field has a default and help text listed in the README."""

    model_config = SettingsConfigDict(env_prefix="COCKPIT_", extra="forbid", frozen=True)

    data_dir: Path = Field(
        Path("data"),
        description="Folder for the embedded SQLite store and other local files.",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the registry and case store; default: a SQLite file "
        "cockpit.db in the data folder. Production: postgresql+psycopg://host/db.",
    )
    redis_url: str | None = Field(
        None,
        description="Redis URL for live state and the shared view-model cache; default: none, "
        "meaning the in-process live store (one process only).",
    )
    mqtt_url: str | None = Field(
        None,
        description="MQTT broker URL (mqtt://host:1883, or mqtts://host:8883 for TLS) for device "
        "messages: the worker subscribes to cockpit/{street}/{type}/{id}/{kind} and the "
        "simulator publishes there; "
        "default: none, meaning the simulator writes in-process.",
    )
    mqtt_username: str | None = Field(
        None,
        description="User name the bridge and the simulator log in to the MQTT broker with; "
        "overrides a user in COCKPIT_MQTT_URL. Default: none (anonymous, or the URL's user).",
    )
    mqtt_password: SecretStr | None = Field(
        None,
        description="Password for COCKPIT_MQTT_USERNAME; never logged. Overrides a password in "
        "COCKPIT_MQTT_URL.",
    )
    mqtt_tls: bool = Field(
        False,
        description="Connect to the MQTT broker over TLS (port 8883 unless the URL names one); "
        "an mqtts:// URL means the same.",
    )
    mqtt_ca_file: Path | None = Field(
        None,
        description="PEM file of the CA that signed the broker's certificate; default: the "
        "system's trusted CAs. Turns TLS on; a missing file stops the start with an error.",
    )
    mqtt_cert_file: Path | None = Field(
        None,
        description="PEM client certificate for brokers that require one (with "
        "COCKPIT_MQTT_KEY_FILE); default: none.",
    )
    mqtt_key_file: Path | None = Field(
        None, description="PEM private key of COCKPIT_MQTT_CERT_FILE; default: none."
    )
    mqtt_client_id: str = Field(
        "cockpit",
        pattern=r"^[A-Za-z0-9._-]{1,40}$",
        description="Prefix of the MQTT client ids; each process adds its role, the street code, "
        "host name, pid and a random part, so no two connections share an id.",
    )
    scale: Scale = Field(
        "changbai",
        description="Size of the simulated street seeded on first start: changbai (长白新村街道, "
        "Yangpu, Shanghai, around the default map centre), s-street or district.",
    )
    seed: int = Field(
        42, description="Random seed of the simulated street; same seed, same street."
    )
    street_name: str | None = Field(
        None,
        description="Name of the street: a street seeded on an empty store is stored under it "
        "and its addresses begin with it, and the screens show it. Default: the scale's own name "
        "(changbai: 长白新村街道).",
    )
    street_code: str | None = Field(
        None,
        pattern=r"^[0-9]{9}$",
        description="9-digit code of the street (6-digit district + 3-digit street, e.g. "
        "330104005), naming its MQTT topics and live keys; a street seeded on an empty store takes "
        "it. Default: the store's code. A store holding another code wins (logged as ignored).",
    )
    map_center_lat: float = Field(
        31.2790,
        ge=-90,
        le=90,
        description="Latitude (WGS84) of the street centre (default Yangpu, Shanghai).",
    )
    map_center_lon: float = Field(
        121.5370, ge=-180, le=180, description="Longitude (WGS84) of the street centre."
    )
    tile_url: str | None = Field(
        None,
        description="Tile URL template for an intranet basemap, http(s)://host/.../{z}/{x}/{y}.png "
        "or a path on this server (/tiles/{z}/{x}/{y}.png; {s}, {-y} and {r} allowed too): its "
        "tiles replace the offline ground (blocks, water, roads) under the street's outlines, "
        "buildings and labels. Default: none, meaning the offline vector basemap drawn from the "
        "street's own layers.",
    )
    tile_coordinates: Literal["wgs84", "gcj02"] = Field(
        "wgs84",
        description="Coordinate system of the tile source: gcj02 for AMap/Tencent tiles, "
        "so stored WGS84 geometry is shifted to match them.",
    )
    tile_attribution: str | None = Field(
        None,
        max_length=200,
        description="Credit line of the tile source, shown in the map's corner with the tiles "
        "(e.g. the surveying bureau's licence text). Default: none.",
    )
    language: Literal["zh", "en"] = Field("zh", description="Default display language: zh or en.")
    secret_key: str = Field(
        DEFAULT_SECRET_KEY,
        description="Flask secret key signing sessions; set a long random value in production "
        "(all web workers must share it).",
    )
    host: str = Field("127.0.0.1", description="Address the web server listens on.")
    port: int = Field(8050, ge=1, le=65535, description="Port the web server listens on.")
    auto_seed: bool = Field(
        True, description="Create and seed the simulated street on start when the store is empty."
    )
    simulate: bool = Field(
        True, description="Run the live scenario in a background thread of the web process."
    )
    embedded_worker: bool = Field(
        True,
        description="Run the view-model worker as a thread of the web process; set false in "
        "production, where `cockpit worker` runs it as its own process next to Redis.",
    )
    simulation_speed: float = Field(
        1.0, gt=0, le=3600, description="Simulated seconds per real second for the live scenario."
    )
    rules_file: Path | None = Field(
        None,
        description="TOML file overriding rule thresholds (see cockpit/rules/defaults.toml); "
        "default: the shipped defaults.",
    )
    alert_escalate_after_seconds: float = Field(
        300.0,
        gt=0,
        description="Raise an alert by one level when nobody acknowledges it within this time.",
    )
    complaint_folder: Path | None = Field(
        None,
        description="Folder watched for complaint files (CSV/JSON from 110, 12345, 96315, labour "
        "inspection); good files move to processed/, bad ones to rejected/ with the reason.",
    )
    complaint_poll_seconds: float = Field(
        5.0, gt=0, description="How often the complaint folder is checked for new files."
    )
    store_poll_seconds: float = Field(
        10.0, gt=0, description="How often the worker re-reads registry counts from SQL."
    )
    live_poll_seconds: float = Field(
        1.0, gt=0, description="How often the worker re-reads live state and rebuilds view models."
    )
    refresh_ms: int = Field(
        2000,
        ge=250,
        description="How often a browser asks for a newer view model, in milliseconds (the "
        "fallback: a screen whose push stream is up refreshes the moment a view changes).",
    )
    web_threads: int = Field(
        64,
        ge=4,
        le=1000,
        description="Threads of each gunicorn web worker (gthread): a screen's push stream "
        "(/live/stream) holds one while the screen is open, so give each worker more threads "
        "than the screens it serves, plus a few for the refreshes.",
    )
    stale_after_seconds: float = Field(
        30.0, gt=0, description="Age after which a source's data is shown as stale."
    )
    ready_after_intervals: float = Field(
        2.0,
        ge=1,
        le=100,
        description="How many worker cycles (COCKPIT_LIVE_POLL_SECONDS plus the worker's slowest "
        "recent tick) the view models may age before /healthz/ready answers 503 and the screens "
        "mark their data stale.",
    )
    complaint_sql_url: str | None = Field(
        None,
        description="SQLAlchemy URL of a database holding a complaint table (for example the "
        "12345 hotline's export); default: none, meaning no SQL complaint feed.",
    )
    complaint_sql_table: str = Field(
        "complaints_export",
        description="Name of the complaint table read from COCKPIT_COMPLAINT_SQL_URL; rows are "
        "read in id order and each row once.",
    )
    panel_cycle_seconds: float = Field(
        20.0,
        ge=3,
        description="On the wall, how long each panel shows one detail view before the next.",
    )
    ticker_seconds_per_item: float = Field(
        6.0, gt=0, description="How long the alert ticker takes to scroll past one alert."
    )
    demo_speed: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="Default speed of the demo mode's scripted day, in simulated seconds per "
        "real second (the demo screen has its own speed control).",
    )
    environment: Literal["development", "production"] = Field(
        "development",
        description="development (the embedded default) or production; production refuses to "
        "start with the default secret key and sends session cookies over TLS only.",
    )
    secure_cookies: bool | None = Field(
        None,
        description="Send the session cookie with Secure (HTTPS only); default: on in production, "
        "off in development. Behind a TLS-terminating proxy, set COCKPIT_PROXY_HOPS too.",
    )
    session_hours: float = Field(
        12.0,
        gt=0,
        description="How long a person stays signed in after their last request, in hours "
        "(kiosk walls stay signed in until their token is re-issued or revoked).",
    )
    login_rate_limit: str = Field(
        "5 per minute;20 per hour",
        description="Failed-login limit per client address and account name (Flask-Limiter "
        "syntax); kept in Redis when COCKPIT_REDIS_URL is set, so every web worker counts alike.",
    )
    open311_rate_limit: str = Field(
        "30 per minute;500 per day",
        description="Open311 POST limit per client app (its api_key) or, without a key, per "
        "client address (Flask-Limiter syntax).",
    )
    open311_api_keys: str | None = Field(
        None,
        description="Client apps allowed to POST Open311 requests, as name=key pairs separated "
        "by commas; default: none, meaning no api_key is needed (rate limits still apply).",
    )
    proxy_hops: int = Field(
        0,
        ge=0,
        le=5,
        description="How many reverse proxies stand in front of the web workers; their "
        "X-Forwarded-For/-Proto headers are trusted that many hops (rate limits and the audit "
        "log see the client's address). 0: trust none.",
    )
    reveal_roles: str = Field(
        "leader,admin",
        description="Roles that may unmask one record after typing a reason (comma-separated).",
    )
    reveal_seconds: float = Field(
        120.0,
        gt=0,
        le=3600,
        description="How long an unmasked record stays shown before it is masked again.",
    )
    audit_retention_days: int = Field(
        200,
        ge=183,
        description="Days the audit log keeps its entries (at least six months); older entries "
        "are pruned by the worker once a day.",
    )
    demo_rooms: int = Field(
        3,
        ge=1,
        le=20,
        description="Demo rooms at most: with Redis (`COCKPIT_REDIS_URL`) for all web workers "
        "together, whichever process plays each; without it, of the one process. Each visitor "
        "plays a demo of their own (about 230 MB and a fifth of a core each while it plays); a "
        "newcomer finding all busy is asked to come back in a few minutes.",
    )
    cases_file: Path | None = Field(
        None,
        description="TOML file overriding case deadlines per category, the fast response chain "
        "and the holiday list (see cockpit/cases/defaults.toml); default: the shipped defaults.",
    )
    log_level: str = Field(
        "INFO",
        description="Level of the log lines every process writes to stderr (one line per event): "
        "DEBUG, INFO, WARNING, ERROR or CRITICAL.",
    )
    log_levels: str | None = Field(
        None,
        description="Levels for single loggers, as logger=LEVEL pairs separated by commas (e.g. "
        "cockpit.ingest=DEBUG,werkzeug=WARNING); default: alembic and gunicorn.access at WARNING.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Read arguments first, then COCKPIT_* variables, then the TOML file named by COCKPIT_CONFIG."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get(CONFIG_FILE_VARIABLE)
        if config_file:
            path = Path(config_file)
            if not path.is_file():
                raise FileNotFoundError(f"{CONFIG_FILE_VARIABLE}={config_file}: no such file")
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @field_validator(
        "redis_url",
        "mqtt_url",
        "street_code",
        "mqtt_username",
        "mqtt_password",
        "mqtt_ca_file",
        "mqtt_cert_file",
        "mqtt_key_file",
        "database_url",
        "tile_url",
        "tile_attribution",
        "complaint_sql_url",
        "open311_api_keys",
        "log_levels",
        mode="before",
    )
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        """Treat an empty string as unset, so COCKPIT_REDIS_URL= turns Redis off."""
        return None if value == "" else value

    @field_validator("tile_url")
    @classmethod
    def _tile_template(cls, value: str | None) -> str | None:
        """Refuse a tile URL that Leaflet could not fill in or the page's CSP would block."""
        if value is not None:
            problem = tile_url_problem(value)
            if problem:
                raise ValueError(f"COCKPIT_TILE_URL={value!r}: {problem}")
        return value

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        """Accept a log level name in any case; refuse anything else, naming the choices."""
        from cockpit.logs import check_level

        return check_level(value, "COCKPIT_LOG_LEVEL")

    @field_validator("log_levels")
    @classmethod
    def _known_log_levels(cls, value: str | None) -> str | None:
        """Refuse a logger=LEVEL list with a malformed pair or an unknown level."""
        from cockpit.logs import parse_levels

        if value:
            try:
                parse_levels(value)
            except ValueError as exc:
                raise ValueError(f"COCKPIT_LOG_LEVELS: {exc}") from None
        return value

    @property
    def log_level_map(self) -> dict[str, str]:
        """Return the per-logger levels of COCKPIT_LOG_LEVELS as {logger: LEVEL}."""
        from cockpit.logs import parse_levels

        return parse_levels(self.log_levels)

    @property
    def cookies_secure(self) -> bool:
        """Tell whether the session cookie is sent over HTTPS only."""
        if self.secure_cookies is not None:
            return self.secure_cookies
        return self.environment == "production"

    @property
    def reveal_role_names(self) -> frozenset[str]:
        """Return the roles that may unmask a record."""
        return frozenset(r.strip() for r in self.reveal_roles.split(",") if r.strip())

    @property
    def open311_clients(self) -> dict[str, str]:
        """Return the Open311 client apps' keys by key: {key: app name}."""
        clients: dict[str, str] = {}
        for pair in (self.open311_api_keys or "").split(","):
            name, sep, key = pair.strip().partition("=")
            if sep and name.strip() and key.strip():
                clients[key.strip()] = name.strip()
        return clients

    @property
    def resolved_database_url(self) -> str:
        """Return the database URL, defaulting to the SQLite file in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'cockpit.db').resolve()}"


def setting_variables() -> dict[str, str]:
    """Return each setting's environment variable with its help text, for docs and checks."""
    return {
        f"COCKPIT_{name.upper()}": field.description or ""
        for name, field in Settings.model_fields.items()
    }


# What Leaflet's TileLayer fills in a URL template; any other {name} makes it throw per tile.
TILE_PLACEHOLDERS = frozenset({"s", "z", "x", "y", "-y", "r"})


def tile_url_problem(template: str) -> str | None:
    """Return what is wrong with a tile URL template, or None when Leaflet can use it."""
    if template != template.strip() or any(c in template for c in " \"'<>\\"):
        return "no spaces, quotes or backslashes allowed"
    names = re.findall(r"\{([^{}]*)\}", template)
    unknown = sorted(set(names) - TILE_PLACEHOLDERS)
    if unknown:
        return f"unknown placeholder {{{unknown[0]}}} (Leaflet fills {{s}} {{z}} {{x}} {{y}} {{-y}} {{r}})"
    if "z" not in names or "x" not in names or not {"y", "-y"} & set(names):
        return (
            "expected a template with {z}, {x} and {y}, e.g. https://tiles.example/{z}/{x}/{y}.png"
        )
    if template.startswith("/") and not template.startswith("//"):
        return None  # a path on the cockpit's own server (behind the same reverse proxy)
    parts = urlsplit(template)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "expected an http:// or https:// URL, or a path starting with /"
    host = parts.netloc.rpartition("@")[2]
    if "{" in host:
        labels = host.split(".")
        last = max(i for i, label in enumerate(labels) if "{" in label)
        if any("{" in label and label != "{s}" for label in labels) or len(labels) - last < 3:
            # The page's CSP admits a wildcard only as the leftmost label of a named domain.
            return "only {s} may stand in the host, followed by a domain (e.g. {s}.tiles.example)"
    return None


def describe_settings_error(error: Exception) -> str:
    """Return a pydantic ValidationError of Settings as one line per bad variable, no trace."""
    errors = getattr(error, "errors", None)
    if not callable(errors):
        return str(error)
    lines = []
    for item in errors():
        name = ".".join(str(part) for part in item.get("loc", ())) or "settings"
        message = str(item.get("msg", "")).removeprefix("Value error, ")
        variable = f"COCKPIT_{name.upper()}"
        lines.append(message if message.startswith(variable) else f"{variable}: {message}")
    return "; ".join(lines)


def load_settings_or_exit(status: int = 2, **overrides: object) -> Settings:
    """Return the settings, or print what is wrong with them and exit with the status."""
    import sys

    from pydantic import ValidationError

    try:
        return Settings(**overrides)
    except ValidationError as error:
        print(
            f"cockpit: bad settings: {describe_settings_error(error)}", file=sys.stderr, flush=True
        )
        raise SystemExit(status) from None
