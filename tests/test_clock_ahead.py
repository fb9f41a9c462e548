"""No test and no example depends on the day it runs: the date-sensitive
parts of the suite (callbacks, do-not-call periods, every example the schema
shows sent to a live server) pass again with the clock moved years ahead.

The run is a pytest session of its own, on SQLite, with LCM_TEST_CLOCK
(tests/conftest.py: time-machine, ticking). By hand, with Debian's faketime:
`faketime '2031-01-01 12:00:00' .venv/bin/python -m pytest tests/test_callbacks.py
tests/test_schema_conformance.py`.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATE_SENSITIVE = [
    "tests/test_callbacks.py",
    "tests/test_schema_conformance.py",
    "tests/test_api_set_dnc.py",
    "tests/test_api_outcomes.py",  # DNC end dates, state hours: a frozen clock
    "tests/test_api_compliance.py",
    "tests/test_audit_api.py::test_the_api_and_the_csv_give_the_whole_entry",
]

pytestmark = pytest.mark.sqlite_pass


def run_at(instant: dt.datetime) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "PYTEST_ADDOPTS"}}
    env["LCM_TEST_CLOCK"] = instant.isoformat()
    return subprocess.run(  # noqa: S603 - our own interpreter and test files
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *DATE_SENSITIVE],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_the_date_sensitive_tests_pass_years_ahead():
    ahead = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=5 * 365 + 123)
    result = run_at(ahead)
    summary = result.stdout.strip().splitlines()[-1:] or [result.stderr[-2000:]]
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert " passed" in summary[0] and "skipped" not in summary[0], summary
