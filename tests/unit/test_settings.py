"""Test the settings: defaults, COCKPIT_* variables, the TOML file and validation."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from cockpit.settings import CONFIG_FILE_VARIABLE, Settings, setting_variables


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path) -> Path:
    """Remove every COCKPIT_* variable and work in an empty folder, so only the test's input counts."""
    for name in list(os.environ):
        if name.startswith("COCKPIT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_config(folder: Path, text: str) -> Path:
    """Write a TOML settings file and return its path."""
    path = folder / "cockpit.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults() -> None:
    """With nothing set, every setting takes its documented default."""
    s = Settings()
    assert s.data_dir == Path("data")
    assert s.database_url is None
    assert s.redis_url is None
    assert s.mqtt_url is None
    assert s.tile_url is None
    assert s.scale == "changbai"
    assert s.seed == 42
    assert s.host == "127.0.0.1"
    assert s.port == 8050
    assert s.language == "zh"
    assert s.tile_coordinates == "wgs84"
    assert (s.map_center_lon, s.map_center_lat) == (121.5370, 31.2790)
    assert s.auto_seed is True and s.simulate is True
    assert s.simulation_speed == 1.0
    assert s.refresh_ms == 2000


def test_resolved_database_url_defaults_to_sqlite_in_data_dir(clean_environment) -> None:
    """Without a database URL, the store is cockpit.db in the (absolute) data folder."""
    s = Settings()
    expected = (clean_environment / "data" / "cockpit.db").resolve()
    assert s.resolved_database_url == f"sqlite:///{expected}"
    other = Settings(data_dir=clean_environment / "elsewhere")
    assert (
        other.resolved_database_url
        == f"sqlite:///{(clean_environment / 'elsewhere' / 'cockpit.db').resolve()}"
    )


def test_resolved_database_url_uses_the_given_url() -> None:
    """A database URL, when given, is used as it is."""
    url = "postgresql+psycopg://cockpit@db.example/cockpit"
    assert Settings(database_url=url).resolved_database_url == url


def test_environment_overrides_defaults(monkeypatch, clean_environment) -> None:
    """COCKPIT_* variables set the matching settings, converted to their types."""
    monkeypatch.setenv("COCKPIT_PORT", "9001")
    monkeypatch.setenv("COCKPIT_SCALE", "changbai")
    monkeypatch.setenv("COCKPIT_SEED", "7")
    monkeypatch.setenv("COCKPIT_REDIS_URL", "redis://127.0.0.1:6379/2")
    monkeypatch.setenv("COCKPIT_SIMULATE", "false")
    monkeypatch.setenv("COCKPIT_SIMULATION_SPEED", "60")
    monkeypatch.setenv("COCKPIT_DATA_DIR", str(clean_environment / "store"))
    monkeypatch.setenv("COCKPIT_LANGUAGE", "en")
    s = Settings()
    assert s.port == 9001
    assert s.scale == "changbai"
    assert s.seed == 7
    assert s.redis_url == "redis://127.0.0.1:6379/2"
    assert s.simulate is False
    assert s.simulation_speed == 60.0
    assert s.data_dir == clean_environment / "store"
    assert s.language == "en"


def test_arguments_win_over_environment(monkeypatch) -> None:
    """Arguments given to Settings() come before COCKPIT_* variables."""
    monkeypatch.setenv("COCKPIT_PORT", "9001")
    assert Settings(port=9002).port == 9002


def test_empty_string_turns_redis_off(monkeypatch) -> None:
    """COCKPIT_REDIS_URL= (empty) means no Redis, like the other optional URLs."""
    monkeypatch.setenv("COCKPIT_REDIS_URL", "")
    monkeypatch.setenv("COCKPIT_MQTT_URL", "")
    monkeypatch.setenv("COCKPIT_DATABASE_URL", "")
    s = Settings()
    assert s.redis_url is None
    assert s.mqtt_url is None
    assert s.database_url is None
    assert s.resolved_database_url.startswith("sqlite:///")
    assert Settings(redis_url="").redis_url is None


def test_config_file_is_read(monkeypatch, clean_environment) -> None:
    """The TOML file named by COCKPIT_CONFIG sets the settings it lists."""
    path = write_config(
        clean_environment,
        'scale = "district"\nport = 9100\nredis_url = "redis://cache:6379/0"\nstreet_name = "长白新村街道"\n',
    )
    monkeypatch.setenv(CONFIG_FILE_VARIABLE, str(path))
    s = Settings()
    assert s.scale == "district"
    assert s.port == 9100
    assert s.redis_url == "redis://cache:6379/0"
    assert s.street_name == "长白新村街道"
    assert s.seed == 42  # not in the file: still the default


def test_environment_wins_over_config_file(monkeypatch, clean_environment) -> None:
    """A COCKPIT_* variable overrides the same setting in the file."""
    path = write_config(clean_environment, 'port = 9100\nredis_url = "redis://cache:6379/0"\n')
    monkeypatch.setenv(CONFIG_FILE_VARIABLE, str(path))
    monkeypatch.setenv("COCKPIT_PORT", "9200")
    monkeypatch.setenv("COCKPIT_REDIS_URL", "")
    s = Settings()
    assert s.port == 9200
    assert s.redis_url is None


def test_missing_config_file_is_an_error(monkeypatch, clean_environment) -> None:
    """Naming a config file that does not exist fails loudly, naming it."""
    missing = clean_environment / "nowhere.toml"
    monkeypatch.setenv(CONFIG_FILE_VARIABLE, str(missing))
    with pytest.raises(FileNotFoundError, match="nowhere.toml"):
        Settings()


def test_unknown_key_in_config_file_is_refused(monkeypatch, clean_environment) -> None:
    """A misspelt setting in the file is an error, not silently ignored."""
    path = write_config(clean_environment, "prot = 9100\n")
    monkeypatch.setenv(CONFIG_FILE_VARIABLE, str(path))
    with pytest.raises(ValidationError, match="prot"):
        Settings()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("COCKPIT_PORT", "0"),
        ("COCKPIT_PORT", "65536"),
        ("COCKPIT_PORT", "http"),
        ("COCKPIT_SCALE", "x"),
        ("COCKPIT_LANGUAGE", "fr"),
        ("COCKPIT_TILE_COORDINATES", "bd09"),
        ("COCKPIT_SIMULATION_SPEED", "0"),
        ("COCKPIT_REFRESH_MS", "100"),
        ("COCKPIT_MAP_CENTER_LAT", "91"),
        ("COCKPIT_SEED", "forty-two"),
    ],
)
def test_invalid_environment_values_raise(monkeypatch, variable, value) -> None:
    """Out-of-range or unknown values from the environment raise ValidationError."""
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError):
        Settings()


@pytest.mark.parametrize(
    ("field", "value"), [("port", 0), ("scale", "x"), ("stale_after_seconds", -1)]
)
def test_invalid_arguments_raise(field, value) -> None:
    """Invalid values given as arguments raise ValidationError too."""
    with pytest.raises(ValidationError):
        Settings(**{field: value})


def test_settings_are_frozen() -> None:
    """Settings cannot be changed after they are read."""
    s = Settings()
    with pytest.raises(ValidationError):
        s.port = 1234


def test_every_setting_has_a_variable_and_help() -> None:
    """Each field maps to a COCKPIT_* variable with help text."""
    variables = setting_variables()
    assert set(variables) == {f"COCKPIT_{name.upper()}" for name in Settings.model_fields}
    assert all(text.strip() for text in variables.values())
