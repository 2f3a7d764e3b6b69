"""Start private Redis, Mosquitto and PostgreSQL servers that a fault test may kill and restart.

Each server listens on a free loopback port, keeps its files in a temporary folder of its own and
runs in a process group of its own, so ``kill()`` (SIGKILL to the whole group) is exactly a crash
and ``start()`` brings it back on the same port with the same files. Use them as context managers:
whatever happens in the test, the process is killed and the folder removed afterwards.

    with PrivateRedis(appendonly=True) as redis_server:
        redis_server.kill()
        redis_server.start()
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

STARTUP_TIMEOUT = 15.0


def free_port() -> int:
    """Return a loopback TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_answers(port: int) -> bool:
    """Tell whether something accepts TCP connections on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class PrivateServer:
    """One server process on a fixed loopback port: start, stop, kill, restart."""

    name = "server"

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix=f"cockpit-{self.name}-"))
        self.process: subprocess.Popen | None = None
        self._log = self.dir / "server.log"

    # Subclasses say how to run the server and when it is ready.
    def command(self) -> list[str]:
        """Return the command line that runs the server in the foreground."""
        raise NotImplementedError

    def ready(self) -> bool:
        """Tell whether the server answers requests."""
        return port_answers(self.port)

    def run_as(self) -> str | None:
        """Return the OS user the server must run as, or None for the current one."""
        return None

    @property
    def url(self) -> str:
        """Return the URL a client connects with."""
        raise NotImplementedError

    @property
    def running(self) -> bool:
        """Tell whether the server process is alive."""
        return self.process is not None and self.process.poll() is None

    def start(self) -> PrivateServer:
        """Start the server (again) on its port and wait until it answers."""
        if self.running:
            return self
        log = self._log.open("ab")
        self.process = subprocess.Popen(
            self.command(),
            cwd=self.dir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so kill() takes its children too
            user=self.run_as(),
        )
        log.close()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not self.ready():
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited on start:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"{self.name} did not answer in time:\n{self.log_tail()}")
            time.sleep(0.05)
        return self

    def kill(self) -> None:
        """Crash the server: SIGKILL its whole process group and wait until it is gone."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        """Shut the server down cleanly (SIGTERM), waiting until it is gone."""
        self._signal(signal.SIGTERM)

    def _signal(self, signum: int) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signum)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        # Children of a crashed server (PostgreSQL backends) may outlive the leader for a moment.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while port_answers(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)

    def log_tail(self, lines: int = 30) -> str:
        """Return the end of the server's own log, for failure messages."""
        if not self._log.exists():
            return ""
        return "\n".join(self._log.read_text(errors="replace").splitlines()[-lines:])

    def close(self) -> None:
        """Kill the server and remove its folder."""
        try:
            self.kill()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class PrivateRedis(PrivateServer):
    """A redis-server of its own; ``appendonly=True`` keeps every write across a kill."""

    name = "redis"

    def __init__(self, appendonly: bool = False, save: str = "") -> None:
        super().__init__()
        self.appendonly = appendonly
        self.save = save  # RDB snapshot rule, e.g. "1 1"; empty: no snapshots

    def command(self) -> list[str]:
        return [
            "redis-server",
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.dir),
            "--save", self.save,
            "--appendonly", "yes" if self.appendonly else "no",
            "--appendfsync", "always",
            "--protected-mode", "no",
        ]  # fmt: skip

    def ready(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


class PrivateMosquitto(PrivateServer):
    """A mosquitto broker of its own with persistence; optional users and an ACL."""

    name = "mosquitto"

    def __init__(
        self,
        users: dict[str, str] | None = None,
        acl: str | None = None,
        autosave_interval: int = 1,
    ) -> None:
        super().__init__()
        self.users = users
        self.acl = acl  # mosquitto acl_file text, e.g. "user cockpit\ntopic readwrite #\n"
        self.autosave_interval = autosave_interval
        self.conf = self.dir / "mosquitto.conf"
        self._write_conf()

    def _write_conf(self) -> None:
        lines = [
            f"listener {self.port} 127.0.0.1",
            "persistence true",
            f"persistence_location {self.dir}/",
            f"autosave_interval {self.autosave_interval}",
            # Save after every change, so a SIGKILL loses as little as a real crash can.
            "autosave_on_changes true",
            "log_dest stdout",
            # We run as root; keep it root so it can write its own folder.
            "user root",
        ]
        if self.users:
            passwords = self.dir / "passwords"
            passwords.write_text("")
            for username, password in self.users.items():
                subprocess.run(
                    ["mosquitto_passwd", "-b", str(passwords), username, password],
                    check=True,
                    capture_output=True,
                )
            lines += ["allow_anonymous false", f"password_file {passwords}"]
        else:
            lines.append("allow_anonymous true")
        if self.acl is not None:
            acl_file = self.dir / "acl"
            acl_file.write_text(self.acl)
            lines.append(f"acl_file {acl_file}")
        self.conf.write_text("\n".join(lines) + "\n")
        os.chmod(self.dir, 0o755)
        for path in self.dir.iterdir():
            os.chmod(path, 0o644 if path.is_file() else 0o755)

    def command(self) -> list[str]:
        return ["mosquitto", "-c", str(self.conf)]

    @property
    def host(self) -> str:
        """Return the broker's host."""
        return "127.0.0.1"

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"


def _postgres_user() -> str | None:
    """Return the OS user PostgreSQL runs as: "postgres" when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None
    pwd.getpwnam("postgres")  # fails clearly when the account is missing
    return "postgres"


@functools.cache
def _postgres_template() -> Path:
    """Run initdb once per test session (it costs seconds) with a database "test" in it."""
    user = _postgres_user()
    root = Path(tempfile.mkdtemp(prefix="cockpit-pg-template-"))
    atexit.register(shutil.rmtree, root, True)
    data = root / "data"
    if user:
        shutil.chown(root, user)
    subprocess.run(
        ["initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
        check=True,
        capture_output=True,
        user=user,
    )
    # Single-user mode creates the database without a server, listener or port.
    subprocess.run(
        ["postgres", "--single", "-D", str(data), "template1"],
        input=b"CREATE DATABASE test;\n",
        check=True,
        capture_output=True,
        user=user,
    )
    return data


class PrivatePostgres(PrivateServer):
    """A PostgreSQL cluster of its own (trust auth, database ``test``), copied from a template."""

    name = "postgres"

    def __init__(self) -> None:
        super().__init__()
        self.data = self.dir / "data"
        user = self.run_as()
        shutil.copytree(_postgres_template(), self.data, symlinks=True)
        if user:
            for path in [self.dir, *self.dir.rglob("*")]:
                shutil.chown(path, user, user)
        os.chmod(self.data, 0o700)

    def run_as(self) -> str | None:
        return _postgres_user()

    def command(self) -> list[str]:
        return [
            "postgres",
            "-D", str(self.data),
            "-p", str(self.port),
            "-c", "listen_addresses=127.0.0.1",
            "-c", f"unix_socket_directories={self.dir}",
            # No fsync: a SIGKILL keeps the OS page cache, so committed rows survive it anyway.
            "-c", "fsync=off",
            "-c", "full_page_writes=off",
        ]  # fmt: skip

    def ready(self) -> bool:
        done = subprocess.run(
            ["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port), "-d", "test"],
            capture_output=True,
        )
        return done.returncode == 0

    def stop(self) -> None:
        """Shut down cleanly (fast mode: SIGINT), waiting until it is gone."""
        self._signal(signal.SIGINT)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/test"
