"""gunicorn's own log lines, and a CSV export that fails, through real processes.

A streamed response that fails after its first bytes is past Django: only
gunicorn sees the exception, and it logged a plain multi-line traceback on
stderr, outside the JSON format and its masking. With the repo's
gunicorn.conf.py every line it writes is one JSON object, numbers masked.
A failure before the first byte is the view's own JSON error.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from lcm.models import Account, ModeChange

from .audit_log import DAVID
from .conftest import DEMO_ENTRIES, client_for
from .processes import BASE_DIR, free_port, manage, production_env, wait_for

CALLID = "99912345678"  # 11 digits: it must never appear unmasked
MASKED = "********678"


def _entry(seq: int, account_id: int, deleted_modes) -> tuple:
    return (
        seq,
        dt.datetime(2026, 11, 26, 12, 0, seq % 60, tzinfo=dt.UTC).isoformat(sep=" "),
        "set",
        account_id,
        DAVID,
        CALLID,
        "testagent",
        "testagent",
        "agentapp",
        1,
        "",
        "2025550143",
        "",
        json.dumps(deleted_modes),
        "r1",
        f"{seq:064x}",
        f"{seq + 1:064x}",
    )


def _fill(database: Path, entries: int) -> None:
    """`entries` audit entries on David's account, the oldest unreadable
    (its deleted modes a JSON string, not a list): the export reaches it
    last, after its first 64 KiB have gone out. Inserted as rows: the
    triggers forbid changing an entry, not adding one."""
    with sqlite3.connect(database) as db:
        (account_id,) = db.execute(
            "SELECT id FROM lcm_account WHERE account_number = ?", [DAVID]
        ).fetchone()
        first = DEMO_ENTRIES + 1  # after the demo's import
        rows = [_entry(first, account_id, "not a list")]
        rows += [_entry(seq, account_id, []) for seq in range(first + 1, first + entries)]
        db.executemany(
            "INSERT INTO lcm_modechange (seq, created_at, action, account_id, account_number,"
            " callid, agent_code, username, source, mode_id, old_number, new_number,"
            " new_number_e164, deleted_modes, request_id, prev_hash, hash) VALUES"
            " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


def test_a_failing_streamed_response_is_logged_by_gunicorn_as_masked_json(tmp_path):
    database = tmp_path / "db.sqlite3"
    env = production_env(f"sqlite:///{database}", LOG_LEVEL="INFO")
    for command in (["migrate", "--noinput"], ["seed_demo", "--password", "pw-123456789"]):
        done = manage(env, *command)
        assert done.returncode == 0, done.stderr
    token = manage(env, "drf_create_token", "auditor").stdout.split()[2]
    _fill(database, 600)  # ~200 KiB of CSV: the bad entry is past the first chunk

    port = free_port()
    stderr = tempfile.NamedTemporaryFile(prefix="lcm-gunicorn-", suffix=".log")  # noqa: SIM115
    stdout = tempfile.NamedTemporaryFile(prefix="lcm-gunicorn-", suffix=".out")  # noqa: SIM115
    server = subprocess.Popen(  # noqa: S603 (our interpreter and gunicorn)
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "gunicorn.conf.py",
            "config.wsgi",
            "--workers",
            "1",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "debug",  # gunicorn's most talkative
            "--access-logfile",
            "-",  # its access log too (on stdout): the request line, query included
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=stdout,
        stderr=stderr,
        start_new_session=True,
    )
    log = Path(stderr.name)
    try:
        wait_for(lambda: "Booting worker" in log.read_text(), "gunicorn's worker", 30)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        # A page of the same entries succeeds, and gunicorn's access log
        # writes its request line, query included.
        conn.request(
            "GET",
            f"/api/lcm/mode-changes/?callid={CALLID}",
            headers={"Authorization": f"Token {token}"},
        )
        page = conn.getresponse()
        assert page.status == 200, page.read()
        page.read()
        conn.request(
            "GET",
            f"/api/lcm/mode-changes/?format=csv&callid={CALLID}",
            headers={"Authorization": f"Token {token}"},
        )
        response = conn.getresponse()
        assert response.status == 200  # the failure comes after the first bytes
        with pytest.raises(http.client.IncompleteRead):
            response.read()  # the download is cut short, not completed
        conn.close()
        wait_for(lambda: "Error handling request" in log.read_text(), "the failure logged", 20)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(15)

    text = log.read_text() + Path(stdout.name).read_text()
    lines = []
    for line in text.splitlines():  # every line, stderr and stdout, not only ours
        try:
            lines.append(json.loads(line))
        except ValueError:
            pytest.fail(f"not a JSON line in gunicorn's output: {line!r}")
    assert all(isinstance(line, dict) for line in lines)
    failure = next(line for line in lines if line["message"].startswith("Error handling request"))
    assert failure["logger"] == "gunicorn.error"
    assert failure["level"] == "ERROR"
    assert "Traceback" in failure["exception"] and "TypeError" in failure["exception"]
    access = next(line for line in lines if line["logger"] == "gunicorn.access")
    assert f"callid={MASKED} HTTP/1.1" in access["message"]
    assert CALLID not in text
    # gunicorn's own numbers pass the same filter: in "Listening at:
    # http://127.0.0.1:PORT (PID)" the port and pid form one run of 6+
    # digits, masked but its last 3 as a phone number would be.
    listening = next(line for line in lines if line["message"].startswith("Listening at"))
    assert str(port) not in listening["message"]
    assert listening["message"].startswith("Listening at: http://***.0.0.1:*****")
    assert CALLID not in text
    stderr.close()
    stdout.close()


def test_an_export_that_fails_before_its_first_byte_is_a_json_500(demo):
    """The query runs in the view: the API's own error, never gunicorn's page."""
    account = Account.objects.get(account_number=DAVID)
    ModeChange.objects.create(
        seq=DEMO_ENTRIES + 1,  # the newest: the export reads it first
        created_at=dt.datetime(2026, 11, 26, tzinfo=dt.UTC),
        account=account,
        account_number=DAVID,
        mode_id=1,
        new_number="2025550143",
        deleted_modes="not a list",
        prev_hash="0" * 64,
        hash="1" * 64,
    )

    response = client_for("auditor").get("/api/lcm/mode-changes/", {"format": "csv"})

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "internal_error"
