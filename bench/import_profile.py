"""Where a first import's time goes: cProfile of `manage.py import_accounts`
and, on PostgreSQL, the statements' own time (`pg_stat_statements`).

Sets the database up as bench/import_accounts.py does (migrate, seed_demo,
a fourth mode type), generates N rows of its file, then runs the real
command in a child under cProfile and prints the top functions by own time
and by cumulative time, each in µs per row, then the statements by total
time (µs per row, calls). The server needs the extension preloaded:

    PG_FSYNC=on PG_EXTRA_OPTS="-c shared_preload_libraries=pg_stat_statements" \\
      bin/with-postgres .venv/bin/python bench/import_profile.py --rows 20000

Without it the statements' part is skipped (a note says so).
"""

from __future__ import annotations

import argparse
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from import_accounts import ROOT, generate, manage


def psql(env: dict, sql: str) -> str:
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c",
         "from django.db import connection\n"
         "with connection.cursor() as c:\n"
         f"    c.execute({sql!r})\n"
         "    rows = c.fetchall() if c.description else []\n"
         "for r in rows: print('\\t'.join(str(x) for x in r))"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    if out.returncode:
        raise RuntimeError(out.stderr.strip().splitlines()[-1])
    return out.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument("--out", default="", help="keep the profile in this file")
    args = parser.parse_args()
    env = {**os.environ, "DEBUG": "false", "SECRET_KEY": "bench-only-not-secret",
           "LOG_LEVEL": "WARNING"}  # fmt: skip
    setup = {k: v for k, v in env.items() if k != "LCM_DEFAULT_REGION"}
    manage("migrate", "--noinput", env=setup)
    manage("seed_demo", "--password", "bench-pass-123", env=setup)
    manage("shell", "-c", "from lcm.models import ModeType; ModeType.objects.get_or_create("
           "id=4, defaults={'name': 'Other'})", env=env)  # fmt: skip
    statements = env.get("DATABASE_URL", "").startswith("postgres")
    if statements:
        try:
            psql(env, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            psql(env, "SELECT pg_stat_statements_reset()")
        except RuntimeError as exc:
            print(f"note: no pg_stat_statements ({exc})")
            statements = False
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "accounts.csv"
        modes = generate(path, args.rows)
        prof = args.out or str(Path(folder) / "import.prof")
        command = [sys.executable, "-m", "cProfile", "-o", prof, "manage.py", "import_accounts",
                   str(path), "--progress-every", "0", "--verbosity", "2"]  # fmt: skip
        if args.batch_size:
            command += ["--batch-size", str(args.batch_size)]
        started = time.perf_counter()
        subprocess.run(command, cwd=ROOT, env=env, check=True)
        seconds = time.perf_counter() - started
        per = 1e6 / args.rows
        print(f"\n{args.rows:,} rows, {modes:,} modes: {seconds:,.1f} s under cProfile "
              f"({seconds * per:,.0f} µs/row)")  # fmt: skip
        uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
        print(f"uptime: {uptime}")
        stats = pstats.Stats(prof)
        rows = []
        for (file, line, name), (_cc, calls, tt, ct, _callers) in stats.stats.items():
            rows.append((tt, ct, calls, f"{Path(file).name}:{line}({name})"))
        for title, key in (("own time", 0), ("cumulative", 1)):
            print(f"\ntop by {title} (µs/row own, µs/row cumulative, calls/row, function)")
            for tt, ct, calls, where in sorted(rows, key=lambda r: -r[key])[: args.top]:
                print(f"{tt * per:9.1f} {ct * per:9.1f} {calls / args.rows:8.2f}  {where}")
    if statements:
        print("\nstatements by total time (µs/row, calls, mean ms, query)")
        out = psql(
            env,
            f"SELECT round(total_exec_time::numeric * 1000 / {args.rows}, 1), calls, "
            "round(mean_exec_time::numeric, 3), left(regexp_replace(query, '\\s+', ' ', 'g'), 140) "
            "FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 25",
        )
        print(out, end="")


if __name__ == "__main__":
    main()
