"""Configure the cockpit's one logging set-up: one line per event on stderr, levels from settings.

`python app.py`, every `cockpit` command (the worker too) and gunicorn (through
`cockpit/web/gunicorn_conf.py`, and again in `app.create_server()`) call `configure_logging`, so
all of them write the same lines::

    2026-12-02T16:22:19.123Z WARNING 4711 cockpit.mqtt_bridge: MQTT broker unreachable: ...

UTC timestamp with milliseconds, level, process id, logger, message. A message or a traceback
spanning several lines is folded into one line (a newline becomes the two characters ``\\n``), so
journald, `docker compose logs` and grep see one event per line; `sed 's/\\\\n/\\n/g'` unfolds it.
The configuration is plain `logging.config.dictConfig` (stdlib), so gunicorn takes it as its
`logconfig_dict` unchanged.
"""

from __future__ import annotations

import logging
import logging.config
import re
import sys
import time
from collections.abc import Mapping
from typing import Any

LEVEL_NAMES = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
HANDLER_NAME = "cockpit-stderr"
# Chatty libraries kept quiet unless COCKPIT_LOG_LEVELS asks for them: alembic prints a line per
# migration step on every start, and gunicorn.access would log every refresh of every screen (the
# reverse proxy keeps the access log).
QUIET_LOGGERS = {"alembic": "WARNING", "gunicorn.access": "WARNING"}
LINE_FORMAT = "%(asctime)s %(levelname)s %(process)d %(name)s: %(message)s"


def check_level(value: str, where: str = "log level") -> str:
    """Return the upper-case level name, or raise ValueError naming the accepted ones."""
    name = value.strip().upper() if isinstance(value, str) else ""
    if name not in LEVEL_NAMES:
        raise ValueError(
            f"{where}: {value!r} is not a log level; use one of {', '.join(LEVEL_NAMES)}"
        )
    return name


def parse_levels(text: str | None) -> dict[str, str]:
    """Parse "logger=LEVEL,logger=LEVEL" into {logger: LEVEL}; raise ValueError on a bad pair."""
    levels: dict[str, str] = {}
    for raw in (text or "").split(","):
        pair = raw.strip()
        if not pair:
            continue
        name, sep, level = pair.partition("=")
        name = name.strip()
        if not sep or not name or any(c.isspace() for c in name):
            raise ValueError(f"{pair!r} is not logger=LEVEL (e.g. cockpit.ingest=DEBUG)")
        levels[name] = check_level(level, f"level of {name}")
    return levels


ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")


class OneLineFormatter(logging.Formatter):
    """Format a record as one line: UTC time, level, process, logger, message (and trace)."""

    converter = time.gmtime

    def __init__(self) -> None:
        super().__init__(LINE_FORMAT)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        """Return the record's time as ISO 8601 UTC with milliseconds."""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", self.converter(record.created))
        return f"{stamp}.{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        """Return the record on one line; a multi-line message or traceback is folded."""
        # Terminal colours (werkzeug's) and a trailing newline (Dash's) are noise in a log file.
        text = ANSI_COLOUR.sub("", super().format(record)).rstrip()
        return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")


class StderrHandler(logging.StreamHandler):
    """Write to whatever sys.stderr is at the time of each record, not at configuration time."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):  # type: ignore[override]
        """Return the current standard error (a test's capture or a re-opened stream too)."""
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        """Ignore the stream StreamHandler stores: the current sys.stderr is always used."""


def logging_config(level: str = "INFO", levels: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Return the dictConfig for a root level and per-logger levels (gunicorn's loggers too)."""
    per_logger = {**QUIET_LOGGERS, **(levels or {})}
    loggers: dict[str, Any] = {
        name: {"level": check_level(value, f"level of {name}")}
        for name, value in per_logger.items()
    }
    # gunicorn turns propagation off for its two loggers, so they get the handler themselves.
    for name in ("gunicorn.error", "gunicorn.access"):
        loggers[name] = {
            **loggers.get(name, {}),
            "handlers": [HANDLER_NAME],
            "propagate": False,
        }
    return {
        "version": 1,
        # Loggers made at import time (every module's `log`) must keep working.
        "disable_existing_loggers": False,
        "formatters": {"one_line": {"()": OneLineFormatter}},
        "handlers": {HANDLER_NAME: {"()": StderrHandler, "formatter": "one_line"}},
        "root": {"level": check_level(level), "handlers": [HANDLER_NAME]},
        "loggers": loggers,
    }


def settings_logging_config(settings: Any, *, verbose: bool = False) -> dict[str, Any]:
    """Return the dictConfig for the settings' log_level and log_levels; verbose means DEBUG."""
    return logging_config("DEBUG" if verbose else settings.log_level, settings.log_level_map)


def configure_logging(settings: Any, *, verbose: bool = False) -> None:
    """Apply the cockpit's logging configuration; calling it again replaces, never stacks."""
    root = logging.getLogger()
    # Handlers someone else put on the root (pytest's capture, for one) are kept; ours are not.
    foreign = [h for h in root.handlers if h.get_name() != HANDLER_NAME]
    logging.config.dictConfig(settings_logging_config(settings, verbose=verbose))
    for handler in foreign:
        if handler not in root.handlers:
            root.addHandler(handler)


def _expected_fault_types() -> tuple[type[BaseException], ...]:
    """Return the exception types that mean a server is out of reach, not a bug."""
    from redis import exceptions as redis_errors
    from sqlalchemy import exc as sql_errors

    from cockpit.live import LiveStoreError

    return (
        sql_errors.OperationalError,  # refused, reset or shut-down database connection
        sql_errors.InterfaceError,
        sql_errors.DisconnectionError,
        sql_errors.TimeoutError,  # the pool could not hand out a connection in time
        redis_errors.ConnectionError,
        redis_errors.TimeoutError,
        redis_errors.BusyLoadingError,
        LiveStoreError,  # the live store's own wrapper of Redis trouble
        ConnectionError,  # OSError subclasses: refused, reset, aborted, broken pipe
        TimeoutError,
    )


def is_expected_fault(error: BaseException) -> bool:
    """Tell whether the error, or one it was raised from, is a server out of reach."""
    expected = _expected_fault_types()
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, expected) or type(current).__name__ == "StoreUnavailableError":
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def fault_summary(error: BaseException) -> str:
    """Return the error as one short line: its type and the first line of its text."""
    text = str(error).strip().splitlines()
    first = text[0][:300] if text else ""
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


def log_fault(logger: logging.Logger, error: BaseException, message: str, *args: object) -> None:
    """Log an expected fault (a server out of reach) as one warning, anything else with its trace."""
    if is_expected_fault(error):
        logger.warning(message + " (%s)", *args, fault_summary(error))
    else:
        logger.error(message, *args, exc_info=error)
