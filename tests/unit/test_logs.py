"""Check the one logging configuration: one line per event, levels as settings, faults sorted."""

from __future__ import annotations

import importlib
import io
import logging
import re
import sys

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from cockpit.cli import main as cli
from cockpit.live import LiveStoreError
from cockpit.logs import (
    HANDLER_NAME,
    LEVEL_NAMES,
    OneLineFormatter,
    StderrHandler,
    check_level,
    configure_logging,
    is_expected_fault,
    log_fault,
    logging_config,
    parse_levels,
)
from cockpit.settings import Settings, describe_settings_error

LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR|CRITICAL) \d+ [\w.]+: "
)


def record(message: str, *, exc_info=None, level: int = logging.INFO) -> logging.LogRecord:
    """Return a log record of the test logger."""
    return logging.LogRecord("cockpit.test", level, __file__, 1, message, (), exc_info)


@pytest.fixture
def saved_logging():
    """Put the root logger and the touched loggers back as they were after the test."""
    root = logging.getLogger()
    names = ("alembic", "gunicorn.access", "gunicorn.error", "cockpit.ingest", "werkzeug")
    before = (root.level, list(root.handlers), {n: logging.getLogger(n).level for n in names})
    yield
    root.setLevel(before[0])
    for handler in list(root.handlers):
        if handler not in before[1]:
            root.removeHandler(handler)
    for handler in before[1]:
        if handler not in root.handlers:
            root.addHandler(handler)
    for name, level in before[2].items():
        logging.getLogger(name).setLevel(level)


def test_a_line_names_time_level_process_logger_and_message():
    line = OneLineFormatter().format(record("broker back"))
    assert LINE.match(line), line
    assert line.endswith("cockpit.test: broker back")
    assert f" {record('x').process} " in line


def test_a_multi_line_message_stays_on_one_line():
    line = OneLineFormatter().format(record("first\nsecond\r\nthird\rfourth"))
    assert "\n" not in line and "\r" not in line
    assert line.endswith("first\\nsecond\\nthird\\nfourth")


def test_an_unexpected_error_keeps_its_trace_on_the_same_line():
    try:
        raise ValueError("bug here")
    except ValueError:
        exc_info = sys.exc_info()
    line = OneLineFormatter().format(record("tick failed", exc_info=exc_info, level=logging.ERROR))
    assert "\n" not in line
    assert "Traceback (most recent call last):" in line
    assert "ValueError: bug here" in line


@given(
    st.dictionaries(
        st.from_regex(r"[a-z][a-z0-9_]{0,8}(\.[a-z][a-z0-9_]{0,8}){0,2}", fullmatch=True),
        st.sampled_from(LEVEL_NAMES),
        max_size=5,
    ),
    st.booleans(),
)
def test_levels_parse_whatever_the_case_and_spacing(levels, lower):
    text = " , ".join(
        f" {name} = {level.lower() if lower else level}" for name, level in levels.items()
    )
    assert parse_levels(text) == levels


@pytest.mark.parametrize(
    "text", ["cockpit.ingest", "cockpit.ingest=LOUD", "=DEBUG", "a b=INFO", "cockpit=DEBUG=1"]
)
def test_a_bad_pair_is_refused(text):
    with pytest.raises(ValueError, match="not"):
        parse_levels(text)


def test_a_bad_level_is_a_clear_settings_error(monkeypatch):
    monkeypatch.setenv("COCKPIT_LOG_LEVEL", "loud")
    with pytest.raises(ValidationError) as caught:
        Settings()
    text = describe_settings_error(caught.value)
    assert text.startswith("COCKPIT_LOG_LEVEL: 'loud' is not a log level")
    assert "DEBUG, INFO, WARNING, ERROR, CRITICAL" in text


def test_a_bad_pair_in_log_levels_is_a_clear_settings_error(monkeypatch):
    monkeypatch.setenv("COCKPIT_LOG_LEVELS", "cockpit.ingest=DEBUG,werkzeug")
    with pytest.raises(ValidationError) as caught:
        Settings()
    assert describe_settings_error(caught.value).startswith(
        "COCKPIT_LOG_LEVELS: 'werkzeug' is not logger=LEVEL"
    )


def test_levels_are_read_in_any_case(monkeypatch):
    monkeypatch.setenv("COCKPIT_LOG_LEVEL", "warning")
    monkeypatch.setenv("COCKPIT_LOG_LEVELS", "cockpit.ingest=debug")
    settings = Settings()
    assert settings.log_level == "WARNING"
    assert settings.log_level_map == {"cockpit.ingest": "DEBUG"}


def test_a_command_with_a_bad_level_says_so_without_a_trace(monkeypatch):
    monkeypatch.setenv("COCKPIT_LOG_LEVEL", "chatty")
    result = CliRunner().invoke(cli, ["users", "list"])
    assert result.exit_code == 1
    assert "bad settings: COCKPIT_LOG_LEVEL: 'chatty' is not a log level" in result.output
    assert "Traceback" not in result.output


def test_configuring_sets_levels_and_never_stacks_handlers(saved_logging, monkeypatch):
    foreign = logging.NullHandler()
    logging.getLogger().addHandler(foreign)
    monkeypatch.setenv("COCKPIT_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("COCKPIT_LOG_LEVELS", "cockpit.ingest=DEBUG,alembic=INFO")
    settings = Settings()
    configure_logging(settings)
    configure_logging(settings)
    root = logging.getLogger()
    assert root.level == logging.WARNING
    assert [h.get_name() for h in root.handlers].count(HANDLER_NAME) == 1
    assert foreign in root.handlers  # pytest's own capture handlers survive the same way
    assert logging.getLogger("cockpit.ingest").level == logging.DEBUG
    assert logging.getLogger("alembic").level == logging.INFO  # the setting beats the default
    assert logging.getLogger("gunicorn.access").level == logging.WARNING


def test_the_handler_writes_to_the_current_stderr(saved_logging, monkeypatch):
    configure_logging(Settings(log_level="INFO"))
    captured = io.StringIO()
    monkeypatch.setattr(sys, "stderr", captured)
    logging.getLogger("cockpit.test").info("two\nlines")
    [line] = captured.getvalue().splitlines()
    assert LINE.match(line) and line.endswith("cockpit.test: two\\nlines")


def test_gunicorn_gets_the_same_handler_for_its_own_loggers():
    config = logging_config("INFO", {"gunicorn.access": "INFO"})
    for name in ("gunicorn.error", "gunicorn.access"):
        assert config["loggers"][name]["handlers"] == [HANDLER_NAME]
        assert config["loggers"][name]["propagate"] is False
    assert config["loggers"]["gunicorn.access"]["level"] == "INFO"
    assert config["handlers"][HANDLER_NAME]["()"] is StderrHandler
    assert config["disable_existing_loggers"] is False
    with pytest.raises(ValueError):
        logging_config("NOISY")


def test_the_gunicorn_config_module_reads_the_settings(monkeypatch):
    monkeypatch.setenv("COCKPIT_HOST", "0.0.0.0")
    monkeypatch.setenv("COCKPIT_PORT", "8123")
    monkeypatch.setenv("COCKPIT_LOG_LEVEL", "DEBUG")
    conf = importlib.reload(importlib.import_module("cockpit.web.gunicorn_conf"))
    assert conf.bind == ["0.0.0.0:8123"]
    assert conf.logconfig_dict["root"]["level"] == "DEBUG"
    assert conf.preload_app is False


def test_the_gunicorn_config_module_stops_the_master_on_a_bad_level(monkeypatch, capsys):
    monkeypatch.setenv("COCKPIT_LOG_LEVEL", "everything")
    with pytest.raises(SystemExit) as stopped:
        importlib.reload(importlib.import_module("cockpit.web.gunicorn_conf"))
    assert stopped.value.code == 4  # gunicorn's "App failed to load": the master stops
    assert "COCKPIT_LOG_LEVEL: 'everything' is not a log level" in capsys.readouterr().err
    monkeypatch.delenv("COCKPIT_LOG_LEVEL")
    importlib.reload(importlib.import_module("cockpit.web.gunicorn_conf"))


def database_down() -> OperationalError:
    """Return what SQLAlchemy raises when PostgreSQL refuses the connection."""
    return OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused\nline 2"))


@pytest.mark.parametrize(
    "error",
    [database_down(), LiveStoreError("Redis: connection refused"), ConnectionResetError("reset")],
)
def test_a_server_out_of_reach_is_one_warning_without_a_trace(error, caplog):
    log = logging.getLogger("cockpit.test")
    with caplog.at_level(logging.WARNING, logger="cockpit.test"):
        log_fault(log, error, "worker tick failed for %s", "S street")
    [entry] = caplog.records
    assert entry.levelno == logging.WARNING and entry.exc_info is None
    assert entry.getMessage().startswith("worker tick failed for S street (")
    assert "\n" not in entry.getMessage()


def test_a_fault_raised_from_an_outage_counts_as_expected():
    try:
        try:
            raise ConnectionRefusedError("refused")
        except ConnectionRefusedError as inner:
            raise RuntimeError("publishing failed") from inner
    except RuntimeError as outer:
        assert is_expected_fault(outer)


def test_a_bug_keeps_its_trace(caplog):
    log = logging.getLogger("cockpit.test")
    try:
        {}["missing"]
    except KeyError as exc:
        with caplog.at_level(logging.WARNING, logger="cockpit.test"):
            log_fault(log, exc, "worker tick failed")
    [entry] = caplog.records
    assert entry.levelno == logging.ERROR and entry.exc_info is not None
    assert not is_expected_fault(ValueError("bad input"))
    assert check_level(" info ") == "INFO"


def test_terminal_colours_and_a_trailing_newline_are_dropped():
    record = logging.LogRecord(
        "werkzeug", logging.INFO, __file__, 1, "\x1b[33mPress CTRL+C to quit\x1b[0m\n", None, None
    )
    line = OneLineFormatter().format(record)
    assert line.endswith("werkzeug: Press CTRL+C to quit")
