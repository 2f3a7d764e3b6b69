"""Check docs/deploy/: a valid compose file, real settings, real commands, a valid nginx site."""

from __future__ import annotations

import copy
import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import click
import jsonschema
import pytest
import yaml

from cockpit.cli import main as cli
from cockpit.settings import setting_variables

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "docs" / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
GUIDE = ROOT / "docs" / "deploy.md"
# The Compose Specification's own JSON Schema, vendored: see compose-spec.SOURCE.md.
SCHEMA = json.loads((ROOT / "tests" / "fixtures" / "compose-spec.json").read_text("utf-8"))
DEPLOY_TEXT_FILES = sorted(
    p for p in DEPLOY.rglob("*") if p.is_file() and p.suffix not in (".crt", ".key")
)
VARIABLE = re.compile(r"\bCOCKPIT_[A-Z0-9_]+\b")
# Variables the cockpit reads that are not settings fields.
NOT_FIELDS = {"COCKPIT_CONFIG"}


def compose_errors(document: dict) -> list[str]:
    """Return the Compose schema's complaints about a loaded compose document."""
    validator = jsonschema.Draft7Validator(SCHEMA)
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message[:200]}"
        for error in validator.iter_errors(document)
    ]


def load_compose(text: str | None = None) -> dict:
    """Return the compose file as YAML data (anchors and merge keys resolved)."""
    return yaml.safe_load(text if text is not None else COMPOSE.read_text("utf-8"))


def test_the_compose_file_follows_the_compose_specification():
    assert compose_errors(load_compose()) == []


@pytest.mark.parametrize(
    "break_it",
    [
        lambda d: d["services"]["web"]["depends_on"]["redis"].update(condition="service_heathy"),
        lambda d: d["services"]["worker"].update(helthcheck={"test": ["CMD", "true"]}),
        lambda d: d["services"]["nginx"].update(ports="443:443"),
        lambda d: d.update(servics=d.pop("services")),
    ],
    ids=["unknown condition", "misspelt key", "ports not a list", "no services"],
)
def test_a_broken_compose_file_fails_the_check(break_it):
    document = copy.deepcopy(load_compose())
    break_it(document)
    assert compose_errors(document)


def test_the_compose_file_has_the_production_shape():
    services = load_compose()["services"]
    assert {"postgres", "redis", "mosquitto", "worker", "web", "nginx"} <= services.keys()
    web = services["web"]["command"]
    assert web[web.index("--workers") + 1] != "1"  # several web workers
    assert services["worker"]["command"] == ["cockpit", "worker"]
    assert services["nginx"]["depends_on"]["web"]["condition"] == "service_healthy"
    for name in ("postgres", "redis", "mosquitto", "worker", "web", "nginx"):
        assert "test" in services[name]["healthcheck"], name
    assert "/healthz/live" in " ".join(services["web"]["healthcheck"]["test"])
    env = services["web"]["environment"]
    assert env["COCKPIT_ENVIRONMENT"] == "production"
    assert env["COCKPIT_EMBEDDED_WORKER"] == "false"
    assert env["COCKPIT_SECRET_KEY"].startswith("${COCKPIT_SECRET_KEY:?")  # from .env, never here
    # Every file the services mount is in docs/deploy/.
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (DEPLOY / source).exists(), source


def test_mosquitto_needs_passwords_and_an_acl():
    for conf in (
        DEPLOY / "mosquitto" / "mosquitto.conf",
        DEPLOY / "systemd" / "mosquitto-cockpit.conf",
    ):
        lines = {line.split(" ", 1)[0]: line for line in conf.read_text("utf-8").splitlines()}
        assert lines["allow_anonymous"] == "allow_anonymous false", conf
        assert "password_file" in lines and "acl_file" in lines, conf
    acl = (DEPLOY / "mosquitto" / "acl").read_text("utf-8")
    assert "user cockpit\ntopic readwrite cockpit/#" in acl
    assert "user devices\ntopic write cockpit/#" in acl


def compose_environment() -> dict[str, str]:
    """Return compose.env.example's variables with every empty secret filled in."""
    env = {}
    for line in (DEPLOY / "compose.env.example").read_text("utf-8").splitlines():
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            env[name] = value or f"test-{name.lower()}-0123456789abcdefghijklmnopqrstuvwxyz"
    return env


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed")
def test_docker_compose_config_accepts_the_file_and_refuses_a_missing_secret():
    env = {"PATH": "/usr/bin:/bin", **compose_environment()}
    good = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "config", "-q"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert good.returncode == 0, good.stderr
    missing = {k: v for k, v in env.items() if k != "COCKPIT_SECRET_KEY"}
    unset = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "config", "-q"],
        env=missing,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert unset.returncode != 0 and "COCKPIT_SECRET_KEY" in unset.stderr


def test_every_cockpit_variable_in_the_deploy_files_is_a_setting():
    known = set(setting_variables()) | NOT_FIELDS
    for path in [*DEPLOY_TEXT_FILES, GUIDE]:
        unknown = set(VARIABLE.findall(path.read_text("utf-8"))) - known
        assert not unknown, f"{path.relative_to(ROOT)} names no such setting: {sorted(unknown)}"


def test_the_env_examples_set_the_production_essentials():
    systemd_env = (DEPLOY / "systemd" / "cockpit.env.example").read_text("utf-8")
    for line in (
        "COCKPIT_ENVIRONMENT=production",
        "COCKPIT_EMBEDDED_WORKER=false",
        "COCKPIT_AUTO_SEED=false",
        "COCKPIT_PROXY_HOPS=1",
    ):
        assert line in systemd_env.splitlines()
    compose = load_compose()["x-cockpit-env"]
    assert compose["COCKPIT_PROXY_HOPS"] == "1" and compose["COCKPIT_AUTO_SEED"] == "false"


def check_cockpit_command(words: list[str], where: str) -> None:
    """Fail unless `cockpit WORDS` names a real command and only options it has."""
    command: click.Command = cli
    rest = list(words)
    while isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
        name = rest.pop(0)
        assert name in command.commands, f"{where}: `cockpit {' '.join(words)}`: no {name!r}"
        command = command.commands[name]
    assert not isinstance(command, click.Group), f"{where}: `cockpit {' '.join(words)}` is a group"
    options = {opt for param in command.params for opt in param.opts if opt.startswith("-")}
    for word in rest:
        if word.startswith("-"):
            option = word.split("=", 1)[0]
            assert option in options, f"{where}: `cockpit {' '.join(words)}`: no option {option}"


def cockpit_commands(text: str) -> list[list[str]]:
    """Return each `cockpit ...` command line in a text (code, units, compose, shell lines)."""
    found = []
    pattern = (
        r"(?:^|[\s`(\"'])(?:/opt/cockpit/venv/bin/)?(?:cockpit_cli|cockpit)\s+([a-z][^`\n\"';)]*)"
    )
    for match in re.finditer(pattern, text, flags=re.M):
        words = shlex.split(match.group(1).replace("...", "").replace("\\", ""))
        words = [w for w in words if w not in ("&&", "|")]
        if words and words[0] in cli.commands:
            found.append(words)
    return found


def test_every_cockpit_command_in_the_guide_and_units_exists():
    sources = {
        GUIDE: GUIDE.read_text("utf-8"),
        **{p: p.read_text("utf-8") for p in (DEPLOY / "systemd").glob("*.service")},
    }
    checked = 0
    for path, text in sources.items():
        for words in cockpit_commands(text):
            check_cockpit_command(words, str(path.relative_to(ROOT)))
            checked += 1
    for name, service in load_compose()["services"].items():
        command = service.get("command")
        if isinstance(command, list) and command[0] == "cockpit":
            check_cockpit_command(command[1:], f"compose service {name}")
            checked += 1
    assert checked >= 12  # migrate, worker, seed, users add, users token, simulate, imports...


def test_a_command_that_does_not_exist_is_caught():
    with pytest.raises(AssertionError, match="no 'wrker'"):
        check_cockpit_command(["wrker"], "here")
    with pytest.raises(AssertionError, match="no option --rol"):
        check_cockpit_command(["users", "add", "x", "--rol", "admin"], "here")
    assert cockpit_commands("run `cockpit_cli users add wall-1 --role kiosk --url https://x/`") == [
        ["users", "add", "wall-1", "--role", "kiosk", "--url", "https://x/"]
    ]


def gunicorn_targets() -> list[tuple[str, list[str]]]:
    """Return every gunicorn command line of the units, the compose file and the Dockerfile."""
    lines = []
    for unit in (DEPLOY / "systemd").glob("*.service"):
        for line in unit.read_text("utf-8").splitlines():
            if line.startswith("ExecStart=") and "gunicorn" in line:
                lines.append((unit.name, shlex.split(line.removeprefix("ExecStart="))))
    for name, service in load_compose()["services"].items():
        if service.get("command", [""])[0] == "gunicorn":
            lines.append((f"compose {name}", service["command"]))
    cmd = re.search(r"^CMD (\[.*\])$", (DEPLOY / "Dockerfile").read_text("utf-8"), flags=re.M)
    lines.append(("Dockerfile", json.loads(cmd.group(1))))
    return lines


def test_gunicorn_runs_the_config_module_and_the_app_factory():
    import importlib

    targets = gunicorn_targets()
    assert len(targets) == 3
    for where, words in targets:
        assert words[words.index("-c") + 1] == "python:cockpit.web.gunicorn_conf", where
        module, _, call = words[-1].partition(":")
        assert call.endswith("()"), where
        assert callable(getattr(importlib.import_module(module), call[:-2])), where


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx not installed")
@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_nginx_accepts_the_systemd_site(tmp_path):
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=test", "-keyout", str(tmp_path / "cockpit.key"),
            "-out", str(tmp_path / "cockpit.crt"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    site = (DEPLOY / "systemd" / "nginx-cockpit.conf").read_text("utf-8")
    assert "gzip on;" in site and "proxy_set_header X-Forwarded-Proto $scheme;" in site
    site = site.replace("/etc/cockpit/tls/", f"{tmp_path}/")
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{ access_log off; include {tmp_path}/site.conf; }}\n"
    )
    checked = subprocess.run(
        [
            "nginx",
            "-t",
            "-p",
            str(tmp_path),
            "-e",
            str(tmp_path / "error.log"),
            "-c",
            str(tmp_path / "nginx.conf"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr
    (tmp_path / "site.conf").write_text(site.replace("gzip on;", "gzip on", 1))
    broken = subprocess.run(
        [
            "nginx",
            "-t",
            "-p",
            str(tmp_path),
            "-e",
            str(tmp_path / "error.log"),
            "-c",
            str(tmp_path / "nginx.conf"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert broken.returncode != 0
