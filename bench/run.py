"""The SetNewModeNumber benchmark: product against floor, SQLite, scale.

    make bench                                  # everything, default sizes
    bin/with-postgres .venv/bin/python bench/run.py --help

Needs DATABASE_URL pointing at a PostgreSQL server where it may create
databases (``bin/with-postgres`` provides a throwaway one; ``make bench``
starts it with fsync on) and ``wrk`` (installed with apt-get when missing).
Everything binds 127.0.0.1. Phases (``--phases``):

``main``    one database of ``--accounts`` accounts (bench/fill.py); the
            product under gunicorn with production settings and the floor
            (bench/floor.py) under the same gunicorn settings (with --layers,
            the default, also bench/layers.py's plain-Django and minimal-DRF
            views: the floor's statements under the product's settings), all driven by
            wrk (bench/webservice.lua) at each of ``--connections``,
            alternately, after a warm-up; every response's status is checked.
            CPU per request is the CPU time of the gunicorn process tree plus
            the PostgreSQL process tree during the run (/proc), divided by
            the requests served. Afterwards the audit chain is checked for
            gaps and broken links.
``sqlite``  the embedded default as ``make run`` serves it (runserver, DEBUG
            on, SQLite in WAL mode) at 8 connections: errors and any
            "database is locked" in its log.
``scale``   the product at ``--scale-small`` and ``--scale-large`` accounts
            (with 5 audit entries per account): p50 latency of
            SetNewModeNumber and GetContactModes at 1 connection, and the
            ratio large/small.
``profile`` bench/profile_request.py against the main database.
``pgbouncer`` the product through PgBouncer in transaction mode (PGBOUNCER_URL,
            ``bin/with-postgres --pgbouncer``; skipped without it) against
            the product direct, both with DATABASE_PREPARED_STATEMENTS=false,
            durable commits, at each of ``--connections``, on the main
            database. CPU per request adds pgbouncer's own.
``append``  the audit chain's ceiling: bench/audit_append.py, processes
            that only append audit entries (one per transaction), at each
            of ``--append-processes``, per commit mode; then the chain check.
``replica`` a streaming replica of the benchmark's cluster, started for this
            phase only (``bin/pg-cluster replica``; it needs PG_CLUSTER_DIR
            from ``bin/with-postgres``), then 4 processes appending (durable)
            while the primary's ``pg_stat_replication.replay_lag`` and the
            bytes not yet replayed are sampled every 100 ms: how far behind
            the auditors' reads are under a write burst.

Prints the tables; ``--record`` also writes them into docs/benchmarks.md
(between the markers of the SetNewModeNumber section only).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PY = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
DOC = ROOT / "docs" / "benchmarks.md"

# The production environment and free ports come from the fault tests'
# helpers, so the benchmark measures the process those tests prove.
sys.path.insert(0, str(ROOT))
from tests import processes as tests_processes  # noqa: E402
from tests.processes import free_port  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
MARK = "<!-- set-new-mode-number bench {phase} {edge}: written by bench/run.py --record -->"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- processes and their CPU ---------------------------------------------------


def _stat(pid: int) -> tuple[int, int] | None:
    """(ppid, utime+stime+cutime+cstime in ticks) of a process, or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), sum(int(x) for x in fields[11:15])


def tree_cpu_seconds(roots: list[int]) -> float:
    """CPU seconds used so far by the processes `roots` and all their
    descendants (children that exited count through their parent's cutime)."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (st := _stat(int(entry))):
            table[int(entry)] = st
    wanted, total = set(roots), 0
    changed = True
    while changed:
        changed = False
        for pid, (ppid, _) in table.items():
            if ppid in wanted and pid not in wanted:
                wanted.add(pid)
                changed = True
    for pid in wanted:
        if pid in table:
            total += table[pid][1]
    return total / CLK_TCK


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"bench: server on port {port} exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.2)
    raise SystemExit(f"bench: nothing listens on 127.0.0.1:{port}")


@dataclass
class Server:
    name: str
    proc: subprocess.Popen
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_server(name: str, argv: list[str], env: dict, workdir: Path) -> Server:
    port = free_port()
    log_path = workdir / f"{name}.log"
    argv = [a.replace("{port}", str(port)) for a in argv]
    proc = subprocess.Popen(
        argv,
        cwd=ROOT,
        env=env,
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = Server(name, proc, port, log_path)
    wait_for_port(port, proc)
    return server


def gunicorn_argv(app: str, workers: int, *extra: str) -> list[str]:
    return [
        GUNICORN,
        app,
        *extra,
        "--workers",
        str(workers),
        "--bind",
        "127.0.0.1:{port}",
        "--log-level",
        "warning",
        "--backlog",
        "2048",
    ]


def production_env(database_url: str) -> dict:
    """The fault tests' production process environment, with persistent
    connections as a deployment would run (the throttle still runs, so its
    cost is measured, but never trips)."""
    return tests_processes.production_env(database_url, CONN_MAX_AGE="600")


# --- load ------------------------------------------------------------------------


@dataclass
class Result:
    label: str
    connections: int
    requests: int = 0
    rps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    errors: int = 0
    app_cpu_ms: float = 0.0
    db_cpu_ms: float = 0.0
    first_error: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def cpu_ms(self) -> float:
        return self.app_cpu_ms + self.db_cpu_ms


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    log("wrk is missing: apt-get install -y wrk")
    apt = ["apt-get", "install", "-y", "-qq", "wrk"]
    if os.geteuid() != 0:
        apt.insert(0, "sudo")
    subprocess.run(apt, check=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    return shutil.which("wrk") or sys.exit("bench: wrk could not be installed")


def run_wrk(
    url: str,
    *,
    connections: int,
    duration: float,
    data_file: Path,
    subtopic: str = "SetNewModeNumber",
    delete_ratio: float = 0.25,
    auth: str = "agent",
    max_requests: int = 0,
    path: str = "/api/lcm/webservice/",
) -> dict:
    threads = min(2, connections)
    argv = [
        ensure_wrk(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "-s",
        str(BENCH / "webservice.lua"),
        url,
        "--",
        str(data_file),
        subtopic,
        str(delete_ratio),
        auth,
        str(max_requests // threads if max_requests else 0),
        path,
    ]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"bench: wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return json.loads(line.removeprefix("BENCH_JSON "))


def warm_up(server: Server, args, data_file: Path, **kw) -> None:
    """Load until the server answers steadily: each gunicorn worker imports
    the URLconf, views and DRF on its first request, and each connection
    prepares its statements after five uses. Rounds of --warmup seconds at 8
    connections, until two in a row have no timeout and a p99 under a second."""
    steady = 0
    for _ in range(8):
        raw = run_wrk(server.url, connections=8, duration=args.warmup, data_file=data_file, **kw)
        ok = raw["timeout"] == 0 and raw["p99_us"] < 1_000_000 and raw["requests"] >= 8
        steady = steady + 1 if ok else 0
        if steady == 2:
            return
    log(f"{server.name}: still unsteady after the warm-up")


def measure(
    label: str, server: Server, pg_roots: list[int], connections: int, args, data_file: Path, **kw
) -> Result:
    app_before = tree_cpu_seconds([server.proc.pid])
    db_before = tree_cpu_seconds(pg_roots) if pg_roots else 0.0
    raw = run_wrk(
        server.url,
        connections=connections,
        duration=args.duration,
        data_file=data_file,
        delete_ratio=args.delete_ratio,
        max_requests=args.max_requests,
        **kw,
    )
    app = tree_cpu_seconds([server.proc.pid]) - app_before
    db = (tree_cpu_seconds(pg_roots) - db_before) if pg_roots else 0.0
    n = max(raw["requests"], 1)
    errors = raw["non200"] + raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]
    if raw["requests"] == 0:
        errors += 1
        raw["first_error"] = raw["first_error"] or "no request completed"
    result = Result(
        label=label,
        connections=connections,
        requests=raw["requests"],
        rps=raw["requests"] / (raw["duration_us"] / 1e6),
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        errors=errors,
        app_cpu_ms=app / n * 1000,
        db_cpu_ms=db / n * 1000,
        first_error=raw["first_error"],
        extra=raw,
    )
    log(
        f"{label:<8} c={connections:<3} {result.rps:8.1f} req/s  p50 {result.p50_ms:7.2f} ms  "
        f"p99 {result.p99_ms:7.2f} ms  errors {errors}  cpu {result.cpu_ms:.2f} ms/req"
        + (f"  first error: {result.first_error}" if result.first_error else "")
    )
    return result


# --- databases -------------------------------------------------------------------


def pg_admin(database_url: str):
    import psycopg

    return psycopg.connect(database_url, autocommit=True)


def url_for_db(database_url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(database_url)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


def postmaster_pid(database_url: str) -> int:
    with pg_admin(database_url) as conn:
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    stat = _stat(backend)
    if stat is None:
        raise SystemExit("bench: PostgreSQL runs elsewhere: its CPU cannot be read from /proc")
    return stat[0]


def migrate(env: dict) -> None:
    subprocess.run(
        [PY, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
    )


def create_database(admin_url: str, name: str, template: str | None) -> str:
    with pg_admin(admin_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return url_for_db(admin_url, name)


def fill(env: dict, workdir: Path, name: str, accounts: int, args) -> Path:
    data_file = workdir / f"{name}-calls.csv"
    t = time.monotonic()
    subprocess.run(
        [
            PY,
            str(BENCH / "fill.py"),
            "--accounts",
            str(accounts),
            "--agents",
            str(args.agents),
            "--calls",
            str(min(args.calls, accounts)),
            "--audit-entries",
            str(accounts * args.audit_per_account),
            "--out",
            str(data_file),
            "--dialer-token-out",
            str(workdir / f"{name}-dialer-token"),
        ],
        cwd=ROOT,
        env=env,
        check=True,
        stderr=subprocess.DEVNULL if not args.verbose else None,
    )
    log(f"filled {name}: {accounts:,} accounts in {time.monotonic() - t:.0f}s")
    return data_file


def check_chain(database_url: str) -> str:
    """Gaps or broken links in the part of the chain the benchmark wrote."""
    with pg_admin(database_url) as conn:
        first = conn.execute(
            "SELECT min(seq), max(seq), count(*) FROM lcm_modechange WHERE username <> 'fill'"
        ).fetchone()
        broken = conn.execute(
            "SELECT count(*) FROM lcm_modechange a JOIN lcm_modechange b ON b.seq = a.seq + 1 "
            "WHERE b.username <> 'fill' AND b.prev_hash <> a.hash"
        ).fetchone()[0]
    low, high, count = first
    if count == 0:
        return "no entries written"
    gaps = (high - low + 1) - count
    return f"{count} entries, seq {low}..{high}, {gaps} gaps, {broken} broken links"


# --- phases ----------------------------------------------------------------------


COMMIT_MODES = {
    # Each commit waits for its WAL flush: what production runs.
    "durable": "on",
    # Commits return before the flush (fsync stays on; a crash may lose the
    # last few hundred milliseconds of commits, never corrupt): what the
    # CPU allows when the disk is not the limit.
    "async": "off",
}


DEFAULT_PATH = "/api/lcm/webservice/"
# bench/layers.py's views, served with its settings (--layers).
LAYER_PATHS = {"minimal DRF": "/api/bench/drf/", "plain Django": "/api/bench/django/"}


def phase_main(args, admin_url: str, template: str, workdir: Path, pg_roots) -> dict:
    url = create_database(admin_url, "lcm_bench_main", template)
    env = production_env(url)
    data_file = fill(env, workdir, "main", args.accounts, args)
    results: dict[str, dict[str, list[Result]]] = {}
    integration: dict[str, Result] = {}
    for mode in args.commit:
        with pg_admin(admin_url) as conn:
            conn.execute(
                f"ALTER DATABASE lcm_bench_main SET synchronous_commit = {COMMIT_MODES[mode]}"
            )
        product = start_server("product", gunicorn_argv("config.wsgi", args.workers), env, workdir)
        floor = start_server(
            "floor",
            gunicorn_argv("floor:application", args.workers, "--chdir", str(BENCH)),
            env,
            workdir,
        )
        servers = [product, floor]
        if args.layers:  # bench/layers.py: the floor's statements in plain Django and minimal DRF
            layers_env = {**env, "DJANGO_SETTINGS_MODULE": "bench.layers_settings"}
            for name in LAYER_PATHS:
                servers.append(
                    start_server(
                        name, gunicorn_argv("config.wsgi", args.workers), layers_env, workdir
                    )
                )
        results[mode] = {server.name: [] for server in servers}
        try:
            for server in servers:
                warm_up(server, args, data_file, path=LAYER_PATHS.get(server.name, DEFAULT_PATH))
            for connections in args.connections:
                for server in servers:
                    results[mode][server.name].append(
                        measure(
                            f"{server.name}",
                            server,
                            pg_roots,
                            connections,
                            args,
                            data_file,
                            path=LAYER_PATHS.get(server.name, DEFAULT_PATH),
                        )
                    )
            # The integration account's path: one token acting for every
            # agent, so the permission check (cached) runs on each request.
            token = (workdir / "main-dialer-token").read_text().strip()
            integration[mode] = measure(
                "product, integration token", product, pg_roots, 8, args, data_file,
                auth=f"dialer:{token}",
            )  # fmt: skip
        finally:
            for server in servers:
                server.stop()
    chain = check_chain(url)
    log(f"audit chain after the load: {chain}")
    return {
        "results": results,
        "integration": integration,
        "chain": chain,
        "data_file": data_file,
        "url": url,
    }


def phase_pgbouncer(args, admin_url: str, template: str, workdir: Path, pg_roots, main):
    """The product through PgBouncer (transaction mode) against the product
    direct, both without prepared statements (which transaction pooling
    cannot keep), durable commits, on the main phase's database."""
    bouncer = os.environ.get("PGBOUNCER_URL", "")
    if not bouncer:
        log("no PGBOUNCER_URL (bin/with-postgres --pgbouncer): the pgbouncer phase is skipped")
        return None
    if main:
        url, data_file = main["url"], main["data_file"]
    else:
        url = create_database(admin_url, "lcm_bench_main", template)
        data_file = fill(production_env(url), workdir, "main", args.accounts, args)
    with pg_admin(admin_url) as conn:
        conn.execute("ALTER DATABASE lcm_bench_main SET synchronous_commit = on")
    roots = list(pg_roots)
    pidfile = os.environ.get("PGBOUNCER_PIDFILE", "")
    if pidfile and Path(pidfile).exists():
        roots.append(int(Path(pidfile).read_text().split()[0]))
    unprepared = {"CONN_MAX_AGE": "600", "DATABASE_PREPARED_STATEMENTS": "false"}
    servers = [
        start_server(
            name,
            gunicorn_argv("config.wsgi", args.workers),
            tests_processes.production_env(database, **unprepared),
            workdir,
        )
        for name, database in (
            ("direct", url),
            ("pgbouncer", url_for_db(bouncer, "lcm_bench_main")),
        )
    ]
    results: dict[str, list[Result]] = {server.name: [] for server in servers}
    try:
        for server in servers:
            warm_up(server, args, data_file)
        for connections in args.connections:
            for server in servers:
                results[server.name].append(
                    measure(server.name, server, roots, connections, args, data_file)
                )
    finally:
        for server in servers:
            server.stop()
    return {"results": results, "chain": check_chain(url)}


def phase_append(args, admin_url: str, template: str) -> dict:
    """bench/audit_append.py under each commit mode, on a database of its own."""
    url = create_database(admin_url, "lcm_bench_append", template)
    env = production_env(url)
    rows: dict[str, list[dict]] = {}
    for mode in args.commit:
        with pg_admin(admin_url) as conn:
            conn.execute(
                f"ALTER DATABASE lcm_bench_append SET synchronous_commit = {COMMIT_MODES[mode]}"
            )
        done = subprocess.run(
            [
                PY,
                str(BENCH / "audit_append.py"),
                "--processes",
                args.append_processes,
                "--duration",
                str(args.duration),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode:
            raise SystemExit(f"bench: audit_append.py failed:\n{done.stdout}\n{done.stderr}")
        rows[mode] = [
            json.loads(line.removeprefix("APPEND_JSON "))
            for line in done.stdout.splitlines()
            if line.startswith("APPEND_JSON ")
        ]
        for row in rows[mode]:
            log(
                f"append {mode:<7} processes={row['processes']:<3} "
                f"{row['commits_per_s']:8.1f} commits/s  p50 {row['p50_ms']:7.2f} ms  "
                f"p99 {row['p99_ms']:7.2f} ms"
            )
    chain = check_chain(url)
    log(f"audit chain after the appends: {chain}")
    return {"rows": rows, "chain": chain}


def phase_replica(args, admin_url: str, template: str) -> dict | None:
    """Replica lag while appends run flat out on the primary."""
    cluster = os.environ.get("PG_CLUSTER_DIR", "")
    if not cluster:
        log("no PG_CLUSTER_DIR (bin/with-postgres): the replica phase is skipped")
        return None
    url = create_database(admin_url, "lcm_bench_replica", template)
    port = free_port()
    subprocess.run([str(ROOT / "bin" / "pg-cluster"), "replica", cluster, str(port)], check=True)
    parts = urllib.parse.urlsplit(admin_url)
    replica_url = urllib.parse.urlunsplit(
        parts._replace(netloc=f"{parts.username}@127.0.0.1:{port}", path="/lcm_bench_replica")
    )
    env = production_env(url)
    appender = subprocess.Popen(
        [PY, str(BENCH / "audit_append.py"), "--processes", "4", "--duration", str(args.duration)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lags, behind = [], []
    with pg_admin(admin_url) as primary:
        while appender.poll() is None:
            row = primary.execute(
                "SELECT coalesce(extract(epoch FROM replay_lag), 0) * 1000, "
                "pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) FROM pg_stat_replication"
            ).fetchone()
            if row is not None:
                lags.append(float(row[0]))
                behind.append(int(row[1] or 0))
            time.sleep(0.1)
    out, err = appender.communicate()
    if appender.returncode:
        raise SystemExit(f"bench: audit_append.py failed:\n{out}\n{err}")
    rows = [
        json.loads(line.removeprefix("APPEND_JSON "))
        for line in out.splitlines()
        if line.startswith("APPEND_JSON ")
    ]
    # Caught up: the replica holds the primary's whole log.
    import psycopg

    with pg_admin(url) as primary:
        head = primary.execute("SELECT max(seq) FROM lcm_modechange").fetchone()[0]
    t = time.monotonic()
    while True:
        with psycopg.connect(replica_url, autocommit=True) as replica:
            seen = replica.execute("SELECT max(seq) FROM lcm_modechange").fetchone()[0]
        if seen == head or time.monotonic() - t > 60:
            break
        time.sleep(0.1)
    lags.sort()
    behind.sort()

    def pct(values, p):
        return values[min(len(values) - 1, int(p * len(values)))] if values else 0

    result = {
        "commits_per_s": rows[0]["commits_per_s"] if rows else 0,
        "samples": len(lags),
        "lag_p50_ms": pct(lags, 0.5),
        "lag_p99_ms": pct(lags, 0.99),
        "lag_max_ms": lags[-1] if lags else 0,
        "behind_max_bytes": behind[-1] if behind else 0,
        "caught_up": seen == head,
        "head": head,
    }
    log(f"replica: {result}")
    return result


def phase_sqlite(args, workdir: Path) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="sqlite-", dir=workdir))
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    env.update(
        DATABASE_URL=f"sqlite:///{folder / 'db.sqlite3'}",
        DEBUG="true",  # as `make run` serves it (.env.example)
        DJANGO_SETTINGS_MODULE="config.settings",
        API_THROTTLE_RATE="1000000/s",  # measured, never tripped (see production_env)
    )
    migrate(env)
    data_file = fill(env, workdir, "sqlite", args.sqlite_accounts, args)
    server = start_server(
        "sqlite", [PY, "manage.py", "runserver", "127.0.0.1:{port}", "--noreload"], env, workdir
    )
    try:
        warm_up(server, args, data_file)
        result = measure("sqlite", server, [], 8, args, data_file)
    finally:
        server.stop()
    locked = server.log_path.read_text().count("database is locked")
    log(f"sqlite: 'database is locked' in the log: {locked}")
    return {"result": result, "locked": locked}


def phase_scale(args, admin_url: str, template: str, workdir: Path) -> dict:
    rows = {}
    for accounts in (args.scale_small, args.scale_large):
        name = f"lcm_bench_scale_{accounts}"
        url = create_database(admin_url, name, template)
        env = production_env(url)
        data_file = fill(env, workdir, name, accounts, args)
        server = start_server("scale", gunicorn_argv("config.wsgi", args.workers), env, workdir)
        try:
            warm_up(server, args, data_file)
            warm_up(server, args, data_file, subtopic="GetContactModes")
            rows[accounts] = {
                subtopic: measure(
                    f"{accounts // 1000}k {subtopic[:3]}",
                    server,
                    [],
                    1,
                    args,
                    data_file,
                    subtopic=subtopic,
                )
                for subtopic in ("SetNewModeNumber", "GetContactModes")
            }
            if accounts == args.scale_large:
                plans = subprocess.run(
                    [PY, str(BENCH / "explain.py"), "--calls", str(data_file)],
                    cwd=ROOT, env=env, capture_output=True, text=True, check=False,
                )  # fmt: skip
                rows["plans"] = plans.stdout.strip()
                rows["plans_ok"] = plans.returncode == 0
                log(rows["plans"].splitlines()[-1] if rows["plans"] else plans.stderr)
        finally:
            server.stop()
        with pg_admin(admin_url) as conn:  # give the disk back before the next size
            conn.execute(f'DROP DATABASE "{name}"')
    return rows


def phase_profile(main: dict) -> str:
    env = production_env(main["url"])
    done = subprocess.run(
        [PY, str(BENCH / "profile_request.py"), "--calls", str(main["data_file"])],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


# --- report ----------------------------------------------------------------------


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError):
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB"
    return f"{os.cpu_count()} x {cpu}{mem}, {platform.system()} {platform.release()}"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


# Issue 16's targets for the product against the floor, at every connection
# count and in both commit modes: (what, bound, at least or at most).
TARGETS = {"throughput": (0.8, "min"), "p99": (1.5, "max"), "cpu": (1.3, "max")}


def against(name: str, a: float, b: float) -> str:
    """`a / b` and whether it meets the target `name`: "0.62x (missed, target ≥ 0.8x)"."""
    if not b:
        return "-"
    bound, kind = TARGETS[name]
    value = a / b
    met = value >= bound if kind == "min" else value <= bound
    sign = "≥" if kind == "min" else "≤"
    return f"{value:.2f}x ({'met' if met else 'missed'}, target {sign} {bound}x)"


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def report(
    args,
    started: str,
    loads: dict,
    main,
    sqlite,
    scale,
    profile,
    bouncer=None,
    append=None,
    replica=None,
) -> dict[str, str]:
    """The figures as Markdown, one text per phase, each saying how it was run."""
    texts = {}

    def header(phase: str) -> list[str]:
        return [
            f"Run of {started} UTC on {machine()}; load average (1, 5, 15 min) "
            f"{loads[phase]} when the phase began (2 cores: above 2 means busy).",
            f"Command: `{args.command}`. PostgreSQL {args.pg_version}, fsync "
            f"{os.environ.get('PG_FSYNC', 'off')}; gunicorn {args.workers} sync workers; "
            f"wrk {args.duration:g} s per row (at most {args.max_requests:,} requests) after "
            f"a {args.warmup:g} s warm-up; {args.delete_ratio:.0%} of SetNewModeNumber with "
            "DeleteOtherModes=true.",
            "",
        ]

    out = header("main") if main else []
    if main:
        for mode, results in main["results"].items():
            out.append(
                f"#### Product against floor, {mode} commits (synchronous_commit "
                f"{COMMIT_MODES[mode]}; {args.accounts:,} accounts, {args.agents:,} agents, "
                f"{args.calls:,} active calls)"
            )
            out.append("")
            out.append(
                "| connections | server | req/s | p50 ms | p99 ms | max ms | errors | "
                "CPU ms/req (app + PG) |"
            )
            out.append("|---:|---|---:|---:|---:|---:|---:|---:|")
            layers = [results[name] for name in LAYER_PATHS if name in results]
            for p, f, *more in zip(results["product"], results["floor"], *layers, strict=True):
                for r in (p, f, *more):
                    out.append(
                        f"| {r.connections} | {r.label} | {r.rps:.0f} | {r.p50_ms:.2f} | "
                        f"{r.p99_ms:.2f} | {r.max_ms:.1f} | {r.errors} | "
                        f"{r.cpu_ms:.2f} ({r.app_cpu_ms:.2f} + {r.db_cpu_ms:.2f}) |"
                    )
                out.append(
                    f"| {p.connections} | **product/floor** | "
                    f"**{against('throughput', p.rps, f.rps)}** | "
                    f"{ratio(p.p50_ms, f.p50_ms)} | **{against('p99', p.p99_ms, f.p99_ms)}** | | | "
                    f"{against('cpu', p.cpu_ms, f.cpu_ms)} |"
                )
            r = main["integration"][mode]
            out.append(
                f"| {r.connections} | product, integration token | {r.rps:.0f} | "
                f"{r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.max_ms:.1f} | {r.errors} | "
                f"{r.cpu_ms:.2f} ({r.app_cpu_ms:.2f} + {r.db_cpu_ms:.2f}) |"
            )
            out.append("")
        out.append(f"Audit chain after the load: {main['chain']}.")
        texts["main"] = "\n".join(out)
    if sqlite:
        out = header("sqlite")
        r = sqlite["result"]
        out.append(f"#### SQLite, as `make run` serves it ({args.sqlite_accounts:,} accounts)")
        out.append("")
        out.append(
            '| connections | req/s | p50 ms | p99 ms | max ms | errors | "database is locked" |'
        )
        out.append("|---:|---:|---:|---:|---:|---:|---:|")
        out.append(
            f"| 8 | {r.rps:.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.max_ms:.1f} | "
            f"{r.errors} | {sqlite['locked']} |"
        )
        texts["sqlite"] = "\n".join(out)
    if scale:
        out = header("scale")
        small, large = args.scale_small, args.scale_large
        out.append(
            f"#### Cost as data grows (1 connection; {args.audit_per_account} audit "
            "entries per account)"
        )
        out.append("")
        out.append(f"| message | p50 ms at {small:,} | p50 ms at {large:,} | ratio | errors |")
        out.append("|---|---:|---:|---:|---:|")
        for subtopic in ("SetNewModeNumber", "GetContactModes"):
            a, b = scale[small][subtopic], scale[large][subtopic]
            out.append(
                f"| {subtopic} | {a.p50_ms:.2f} | {b.p50_ms:.2f} | "
                f"**{ratio(b.p50_ms, a.p50_ms)}** | {a.errors + b.errors} |"
            )
        out += [
            "",
            f"Plans at {large:,} accounts (bench/explain.py: EXPLAIN of every statement "
            "the two messages ran):",
            "",
            "```",
            scale["plans"],
            "```",
        ]
        texts[f"scale {small}-{large}"] = "\n".join(out)
    if profile:
        out = header("profile")
        out += ["```", profile.strip(), "```"]
        texts["profile"] = "\n".join(out)
    if bouncer:
        out = header("pgbouncer")
        out.append(
            f"#### Through PgBouncer, transaction mode ({args.accounts:,} accounts, durable "
            "commits, DATABASE_PREPARED_STATEMENTS=false on both)"
        )
        out.append("")
        out.append(
            "| connections | server | req/s | p50 ms | p99 ms | max ms | errors | "
            "CPU ms/req (app + PG and pgbouncer) |"
        )
        out.append("|---:|---|---:|---:|---:|---:|---:|---:|")
        for d, b in zip(bouncer["results"]["direct"], bouncer["results"]["pgbouncer"], strict=True):
            for r in (d, b):
                out.append(
                    f"| {r.connections} | product, {r.label} | {r.rps:.0f} | {r.p50_ms:.2f} | "
                    f"{r.p99_ms:.2f} | {r.max_ms:.1f} | {r.errors} | "
                    f"{r.cpu_ms:.2f} ({r.app_cpu_ms:.2f} + {r.db_cpu_ms:.2f}) |"
                )
            out.append(
                f"| {d.connections} | **pgbouncer/direct** | **{ratio(b.rps, d.rps)}** | "
                f"{ratio(b.p50_ms, d.p50_ms)} | {ratio(b.p99_ms, d.p99_ms)} | | | "
                f"{ratio(b.cpu_ms, d.cpu_ms)} |"
            )
        out.append("")
        out.append(f"Audit chain after the load: {bouncer['chain']}.")
        texts["pgbouncer"] = "\n".join(out)
    if append:
        out = header("append")
        out.append(
            "#### The audit chain's append ceiling (bench/audit_append.py: one "
            "`append_entry` per transaction, nothing else, one connection per process)"
        )
        out.append("")
        out.append("| commits | processes | commits/s | p50 ms | p99 ms | max ms |")
        out.append("|---|---:|---:|---:|---:|---:|")
        for mode, rows in append["rows"].items():
            for row in rows:
                out.append(
                    f"| {mode} (synchronous_commit {COMMIT_MODES[mode]}) | {row['processes']} | "
                    f"**{row['commits_per_s']:.0f}** | {row['p50_ms']:.2f} | "
                    f"{row['p99_ms']:.2f} | {row['max_ms']:.1f} |"
                )
        out.append("")
        out.append(f"Audit chain after the appends: {append['chain']}.")
        texts["append"] = "\n".join(out)
    if replica:
        out = header("replica")
        out.append(
            "#### Replica lag under appends (a streaming replica, hot standby, same "
            "machine; 4 processes appending, durable commits)"
        )
        out.append("")
        out.append(
            "| commits/s on the primary | samples (every 100 ms) | replay_lag p50 ms | "
            "p99 ms | max ms | max WAL not yet replayed | replica caught up after |"
        )
        out.append("|---:|---:|---:|---:|---:|---:|---|")
        r = replica
        out.append(
            f"| {r['commits_per_s']:.0f} | {r['samples']} | {r['lag_p50_ms']:.1f} | "
            f"{r['lag_p99_ms']:.1f} | {r['lag_max_ms']:.1f} | {r['behind_max_bytes']:,} bytes | "
            + ("yes: same head #{:,}".format(r["head"]) if r["caught_up"] else "**no** (60 s)")
            + " |"
        )
        texts["replica"] = "\n".join(out)
    return texts


def record(texts: dict[str, str]) -> None:
    """Replace each phase's figures in docs/benchmarks.md between its markers
    (appended at the end the first time); nothing else in the file changes."""
    doc = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    for phase, text in texts.items():
        begin, end = MARK.format(phase=phase, edge="begin"), MARK.format(phase=phase, edge="end")
        block = f"{begin}\n{text}\n{end}"
        if begin in doc and end in doc:
            head, rest = doc.split(begin, 1)
            doc = head + block + rest.split(end, 1)[1]
        else:
            doc = doc.rstrip() + "\n\n" + block + "\n"
    DOC.write_text(doc)
    log(f"recorded in {DOC.relative_to(ROOT)}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description="Benchmark SetNewModeNumber against the floor.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--phases", default="main,sqlite,scale,profile,pgbouncer,append,replica")
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--agents", type=int, default=2_000)
    parser.add_argument("--calls", type=int, default=2_000)
    parser.add_argument("--audit-per-account", type=int, default=5)
    parser.add_argument("--connections", default="1,8,32")
    parser.add_argument("--duration", type=float, default=20, help="seconds per measured row")
    parser.add_argument("--warmup", type=float, default=5, help="seconds before measuring")
    parser.add_argument(
        "--max-requests",
        type=int,
        default=200_000,
        help="at most this many requests per row (0: no limit)",
    )
    parser.add_argument("--delete-ratio", type=float, default=0.25)
    parser.add_argument(
        "--commit", default="durable,async", help="commit modes of the main phase: durable, async"
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument(
        "--layers",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also serve bench/layers.py's plain-Django and minimal-DRF views in the main phase",
    )
    parser.add_argument("--sqlite-accounts", type=int, default=10_000)
    parser.add_argument("--scale-small", type=int, default=10_000)
    parser.add_argument("--scale-large", type=int, default=100_000)
    parser.add_argument(
        "--append-processes", default="1,4,16", help="process counts of the append phase"
    )
    parser.add_argument("--record", action="store_true", help="write docs/benchmarks.md")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    args.connections = [int(c) for c in args.connections.split(",")]
    args.commit = [m for m in args.commit.split(",") if m]
    if set(args.commit) - set(COMMIT_MODES):
        parser.error(f"--commit: choose among {', '.join(COMMIT_MODES)}")
    args.command = os.environ.get("BENCH_COMMAND", "").strip() or " ".join(
        ["bench/run.py", *(argv or sys.argv[1:])]
    )
    phases = set(args.phases.split(","))

    admin_url = os.environ.get("DATABASE_URL", "")
    if not admin_url.startswith(("postgres://", "postgresql://")) and phases - {"sqlite"}:
        raise SystemExit("bench: DATABASE_URL must name a PostgreSQL server (bin/with-postgres)")
    ensure_wrk()
    started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")
    loads: dict[str, str] = {}
    main_result = sqlite = scale = profile = bouncer = append = replica = None
    with tempfile.TemporaryDirectory(prefix="lcm-bench-") as tmp:
        workdir = Path(tmp)
        pg_roots = []
        template = "lcm_bench_template"
        if phases - {"sqlite"}:
            with pg_admin(admin_url) as conn:
                args.pg_version = conn.execute("SHOW server_version").fetchone()[0]
            pg_roots = [postmaster_pid(admin_url)]
            log("migrating the template database")
            migrate(production_env(create_database(admin_url, template, None)))
        else:
            args.pg_version = "-"
        if "main" in phases:
            loads["main"] = load_average()
            main_result = phase_main(args, admin_url, template, workdir, pg_roots)
        if "sqlite" in phases:
            loads["sqlite"] = load_average()
            sqlite = phase_sqlite(args, workdir)
        if "scale" in phases:
            loads["scale"] = load_average()
            scale = phase_scale(args, admin_url, template, workdir)
        if "profile" in phases and main_result:
            loads["profile"] = load_average()
            profile = phase_profile(main_result)
        if "pgbouncer" in phases:
            loads["pgbouncer"] = load_average()
            bouncer = phase_pgbouncer(args, admin_url, template, workdir, pg_roots, main_result)
        if "append" in phases:
            loads["append"] = load_average()
            append = phase_append(args, admin_url, template)
        if "replica" in phases:  # last: the replica replays everything after it starts
            loads["replica"] = load_average()
            replica = phase_replica(args, admin_url, template)
    texts = report(
        args, started, loads, main_result, sqlite, scale, profile, bouncer, append, replica
    )
    print("\n\n".join(texts.values()))
    if args.record:
        record(texts)
    failures = []
    if main_result:
        failures += [
            f"{mode} {r.label}" for mode, r in main_result["integration"].items() if r.errors
        ]
        failures += [
            f"{mode} {r.label} c={r.connections}"
            for mode, by_server in main_result["results"].items()
            for rs in by_server.values()
            for r in rs
            if r.errors
        ]
        if re.search(r"[1-9]\d* (gaps|broken)", main_result["chain"]):
            failures.append(f"audit chain: {main_result['chain']}")
    if sqlite and (sqlite["result"].errors or sqlite["locked"]):
        failures.append("sqlite")
    if scale:
        failures += [
            r.label
            for size, row in scale.items()
            if isinstance(size, int)
            for r in row.values()
            if r.errors
        ]
        if not scale["plans_ok"]:
            failures.append("a sequential scan of a big table (bench/explain.py)")
    if bouncer:
        failures += [
            f"pgbouncer {r.label} c={r.connections}"
            for rs in bouncer["results"].values()
            for r in rs
            if r.errors
        ]
        if re.search(r"[1-9]\d* (gaps|broken)", bouncer["chain"]):
            failures.append(f"audit chain (pgbouncer): {bouncer['chain']}")
    if append and re.search(r"[1-9]\d* (gaps|broken)", append["chain"]):
        failures.append(f"audit chain (append): {append['chain']}")
    if replica and not replica["caught_up"]:
        failures.append("the replica did not catch up within 60 s")
    if failures:
        raise SystemExit("bench: errors in " + ", ".join(failures))


if __name__ == "__main__":
    main()
