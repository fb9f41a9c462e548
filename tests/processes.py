"""Real processes for the fault tests: the product under gunicorn with
production settings, a PostgreSQL cluster of its own (bin/pg-cluster), an
HTTP client that reports a dropped connection instead of raising, and a
bounded wait for a condition."""

from __future__ import annotations

import contextlib
import errno
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
PG_CLUSTER = BASE_DIR / "bin" / "pg-cluster"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition: Callable[[], object], what: str, timeout: float = 20.0, every=0.05):
    """Poll `condition` until it returns something truthy (returned), or fail
    after `timeout` seconds naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL (django-environ) for a Django PostgreSQL settings dict."""
    user = settings_dict.get("USER") or "postgres"
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{password}" if password else user
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}@{host}:{port}/{settings_dict['NAME']}"


def production_env(database_url: str, **overrides: str) -> dict:
    """The environment of a production process on loopback, without TLS."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "DATABASE_URL",
            "DATABASE_REPLICA_URL",
            "DATABASE_PREPARED_STATEMENTS",
            "DJANGO_SETTINGS_MODULE",
            "DEBUG",
            "SECRET_KEY",
        }
    }
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        SECURE_COOKIES="false",
        LOG_LEVEL="WARNING",
        API_THROTTLE_RATE="1000000/s",
    )
    env.update(overrides)
    return env


def manage(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 (our interpreter and manage.py)
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@dataclass
class Reply:
    status: int | None  # None: the connection dropped without an answer
    body: dict | str | None
    headers: dict
    error: str = ""


def post(
    port: int, path: str, body: dict, token: str, timeout: float = 30, headers: dict | None = None
) -> Reply:
    """POST JSON to 127.0.0.1:`port`; a dropped connection is a Reply too."""
    return request(
        port,
        "POST",
        path,
        json.dumps(body),
        {"Content-Type": "application/json", "Authorization": f"Token {token}", **(headers or {})},
        timeout,
    )


def get(port: int, path: str, timeout: float = 30) -> Reply:
    return request(port, "GET", path, None, {}, timeout)


def request(port: int, method: str, path: str, body, headers: dict, timeout: float) -> Reply:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body, headers)
        response = conn.getresponse()
        raw = response.read().decode()
        headers = {k.lower(): v for k, v in response.getheaders()}
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = raw
        return Reply(response.status, parsed, headers)
    except (OSError, http.client.HTTPException) as exc:
        return Reply(None, None, {}, f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()


class Gunicorn:
    """The product under gunicorn (sync workers), as production runs it."""

    def __init__(self, env: dict, workers: int = 1):
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="lcm-gunicorn-", suffix=".log")  # noqa: SIM115
        self.proc = subprocess.Popen(  # noqa: S603 (our interpreter and gunicorn)
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi",
                "--workers",
                str(workers),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--graceful-timeout",
                "5",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.workers = workers
        try:
            wait_for(self._listening, "gunicorn to listen", timeout=30)
            wait_for(lambda: len(self.worker_pids()) == workers, "gunicorn's workers", 30)
        except BaseException:
            self.stop()
            raise

    def _listening(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"gunicorn exited with {self.proc.returncode}:\n{self.output()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 1):
            return True
        return False

    def worker_pids(self) -> list[int]:
        """The master's live children (its workers)."""
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[1]) == self.proc.pid and fields[0] != "Z":
                pids.append(int(entry))
        return pids

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


class PostgresCluster:
    """A PostgreSQL 15 cluster of its own (bin/pg-cluster), which a test may
    restart without touching the test suite's database. `data_tmpfs` (e.g.
    "96m", root only: `can_mount_tmpfs`) puts its data directory, `data_dir`,
    on a tmpfs of that size, for a test to fill."""

    def __init__(self, data_tmpfs: str | None = None):
        self.dir = tempfile.mkdtemp(prefix="lcm-pg-fault.")
        self.data_dir = Path(self.dir) / "data"
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"
        extra = {"PG_DATA_TMPFS": data_tmpfs} if data_tmpfs else {}
        try:
            self._run("start", self.dir, str(self.port), **extra)
        except BaseException:
            self.stop()
            raise

    def _run(self, *args: str, **env: str) -> None:
        done = subprocess.run(  # noqa: S603 (our own script)
            [str(PG_CLUSTER), *args],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **env},
        )
        if done.returncode != 0:
            raise AssertionError(f"bin/pg-cluster {args[0]} failed: {done.stderr}")

    def restart(self) -> None:
        self._run("restart", self.dir)

    def stop(self) -> None:
        self._run("stop", self.dir)


def can_mount_tmpfs() -> bool:
    """Whether this process may mount a tmpfs (root with CAP_SYS_ADMIN): a
    real full disk for tests/test_faults.py."""
    if os.geteuid() != 0:
        return False
    point = tempfile.mkdtemp(prefix="lcm-tmpfs-probe.")
    try:
        mounted = subprocess.run(  # noqa: S603 (fixed arguments)
            ["/usr/bin/mount", "-t", "tmpfs", "-o", "size=1m", "lcm-probe", point],
            capture_output=True,
            timeout=10,
        )
        if mounted.returncode != 0:
            return False
        subprocess.run(["/usr/bin/umount", point], check=True, timeout=10)  # noqa: S603
        return True
    finally:
        os.rmdir(point)


def pid_holding_local_port(pids: list[int], port: int) -> int | None:
    """Which of `pids` owns the TCP socket bound to local `port` (the
    client side of a database connection, as pg_stat_activity's
    `client_port` names it)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(fields[9])
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    link = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if link.startswith("socket:[") and link[8:-1] in inodes:
                        return pid
    return None


def fill_disk(path) -> int:
    """Fill the filesystem holding `path` with the file `path` until it
    refuses another byte (ENOSPC); the bytes written. Delete the file to
    free the disk."""
    written = 0
    with open(path, "wb", buffering=0) as filler:
        for size in (1 << 20, 1 << 12, 1):
            chunk = b"\0" * size
            while True:
                try:
                    written += filler.write(chunk)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
    return written
