"""Faults in the middle of a request leave no partial state, and the product
recovers from them. Every fault is real:

- a database error raised by the database itself (a trigger this test
  creates) after SetNewModeNumber has written the mode, at the audit insert;
- the database connection cut under a request (pg_terminate_backend);
- a gunicorn worker killed with SIGKILL while its request waits, mid-
  transaction, for the audit chain head;
- PostgreSQL restarted (pg_ctl restart -m fast) under load, in a cluster of
  the test's own;
- a gunicorn worker frozen (SIGSTOP) while it holds the audit chain's head
  and an account's lock: the others answer a 503 within the lock bound
  (`LCM_DATABASE_LOCK_TIMEOUT`), and their retries succeed;
- the same lock held while `manage.py import_accounts` runs: one line, no
  row rejected for it;
- the data disk full (a real tmpfs under a cluster of the test's own,
  filled): `/healthz` says so, the API answers `database_full`.

After each: no mode without its audit entry, the chain verifies, no gap in
the sequence, and the next request succeeds.
"""

import itertools
import json
import logging
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from rest_framework.authtoken.models import Token

from lcm import errors
from lcm.audit import verify_chain
from lcm.faults import PAGE_HEADINGS
from lcm.models import Call, ModeChange

from .audit_log import DEMO_LOG, seq
from .conftest import (
    DEMO_ENTRIES,
    WEBSERVICE,
    client_for,
    envelope,
    live_modes,
    set_mode_body,
    snapshot,
)
from .processes import (
    Gunicorn,
    PostgresCluster,
    database_url,
    fill_disk,
    get,
    manage,
    pid_holding_local_port,
    post,
    production_env,
    wait_for,
)
from .test_request_logs import as_shipped

DAVID = "5|3|1|0|0|44|1"
FAULTY_NUMBER = "3005550666"  # the number the injected trigger refuses
CALLS = "/api/lcm/calls/"
MODE_CHANGES = "/api/lcm/mode-changes/"


def fail_inserts(table: str, condition: str, message: str) -> None:
    """Make the database refuse an INSERT into `table` when `condition` (SQL
    on NEW) holds: a real database error, raised by a trigger created in the
    test's transaction (rolled back with it)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION lcm_test_fault() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN IF {condition} THEN RAISE EXCEPTION '{message}'; END IF; "
                "RETURN NEW; END $$"
            )
            cursor.execute(
                f"CREATE TRIGGER lcm_test_fault BEFORE INSERT ON {table} FOR EACH ROW "
                "EXECUTE FUNCTION lcm_test_fault()"
            )
        else:
            cursor.execute(
                f"CREATE TRIGGER lcm_test_fault BEFORE INSERT ON {table} FOR EACH ROW "
                f"WHEN {condition} BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )


def fail_audit_insert_after_the_mode_is_written(live_after: int) -> None:
    """The audit insert of a change to FAULTY_NUMBER fails, and only once the
    same transaction has already stored that number in a live mode and left
    `live_after` live modes on the account: the fault strikes after the
    writes, so a request that gets past it would prove nothing."""
    fail_inserts(
        "lcm_modechange",
        f"NEW.new_number = '{FAULTY_NUMBER}' AND EXISTS (SELECT 1 FROM lcm_contactmode m "
        "WHERE m.account_id = NEW.account_id AND m.mode_type_id = NEW.mode_id "
        f"AND m.number = '{FAULTY_NUMBER}' AND m.deleted_at IS NULL) AND (SELECT COUNT(*) "
        "FROM lcm_contactmode m WHERE m.account_id = NEW.account_id AND m.deleted_at IS NULL) "
        f"= {live_after}",
        f"injected fault: audit insert of {FAULTY_NUMBER} refused",
    )


def internal_error_envelope(request_id: str, callid="12345") -> dict:
    message = errors.INTERNAL_ERROR.format(request_id=request_id)
    return {
        "channel": "LCM",
        "topic": "WebService",
        "subtopic": "SetNewModeNumberResult",
        "message": {
            "callid": callid,
            "response": {"success": False},
            "error": {
                "errorType": "WS_Error",
                "errorMessage": message,
                "msg": message,
                "code": "internal_error",
            },
        },
    }


def seqs() -> list[int]:
    return list(ModeChange.objects.order_by("seq").values_list("seq", flat=True))


DEMO_SEQS = list(range(1, DEMO_ENTRIES + 1))  # the demo's import, before any test's entry


# --- A database error mid-request ---------------------------------------------


@pytest.mark.parametrize(("delete_others", "live_after"), [(False, 3), (True, 1)])
def test_a_database_error_at_the_audit_insert_changes_nothing(
    agent_client, delete_others, live_after
):
    first = agent_client.post(
        WEBSERVICE, set_mode_body(ModeID=3, ContactNumber="3005550100"), format="json"
    )
    assert first.status_code == 200
    before = snapshot()
    modes_before = live_modes(DAVID)
    assert len(modes_before) == 3
    fail_audit_insert_after_the_mode_is_written(live_after)

    response = agent_client.post(
        WEBSERVICE,
        set_mode_body(ContactNumber=FAULTY_NUMBER, DeleteOtherModes=delete_others),
        format="json",
        HTTP_X_REQUEST_ID="fault-1",
    )

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response["X-Request-ID"] == "fault-1"
    assert response.json() == internal_error_envelope("fault-1")
    assert snapshot() == before
    assert live_modes(DAVID) == modes_before
    report = verify_chain()
    assert report.ok, report.problem
    assert (report.count, report.head_seq) == (seq(1), seq(1))

    retry = agent_client.post(
        WEBSERVICE,
        set_mode_body(ContactNumber="3005550101", DeleteOtherModes=delete_others),
        format="json",
    )

    assert retry.status_code == 200, retry.json()
    assert seqs() == [*DEMO_SEQS, seq(1), seq(2)]
    assert ModeChange.objects.get(seq=seq(2)).new_number == "3005550101"
    assert len(live_modes(DAVID)) == live_after
    assert verify_chain().ok


def test_an_internal_error_is_logged_with_its_traceback_and_numbers_masked(agent_client, caplog):
    caplog.set_level(logging.INFO)
    fail_audit_insert_after_the_mode_is_written(live_after=2)

    response = agent_client.post(
        WEBSERVICE,
        set_mode_body(ContactNumber=FAULTY_NUMBER),
        format="json",
        HTTP_X_REQUEST_ID="fault-2",
    )

    assert response.status_code == 500
    [failure, request_line] = [as_shipped(r) for r in caplog.records if r.name == "lcm.request"]
    assert failure["level"] == "ERROR"
    assert failure["message"] == "unhandled exception"
    assert (failure["request_id"], failure["method"], failure["path"]) == (
        "fault-2",
        "POST",
        WEBSERVICE,
    )
    assert "Traceback (most recent call last)" in failure["exception"]
    assert "injected fault: audit insert of *******666 refused" in failure["exception"]
    assert FAULTY_NUMBER not in json.dumps(failure)
    assert (request_line["status"], request_line["code"]) == (500, "internal_error")
    assert request_line["request_id"] == "fault-2"


def test_a_database_error_in_the_dialer_intake_is_a_json_500(demo):
    fail_inserts("lcm_call", "NEW.callid = '20666'", "injected fault: call insert refused")
    calls_before = list(Call.objects.order_by("pk").values())

    response = client_for("dialer").post(
        CALLS,
        {
            "callid": "20666",
            "AccountNumber": DAVID,
            "AgentID": "testagent",
            "StartTime": "2026-11-26T15:00:00Z",
        },
        format="json",
    )

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    request_id = response["X-Request-ID"]
    assert response.json() == {
        "code": "internal_error",
        "message": errors.INTERNAL_ERROR.format(request_id=request_id),
    }
    assert list(Call.objects.order_by("pk").values()) == calls_before


# --- The connection cut under a request (PostgreSQL) ----------------------------


def _terminate_django_connection() -> None:
    """Cut the test's own database connection from the server's side, as a
    database restart or a network failure does."""
    backend = connection.connection.info.backend_pid
    with psycopg.connect(database_url(connection.settings_dict), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [backend])
        wait_for(
            lambda: (
                not admin.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE pid = %s", [backend]
                ).fetchone()
            ),
            "the terminated backend to exit",
        )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_every_api_answers_a_lost_database_with_a_json_503(demo):
    clients = {name: client_for(name) for name in ("testagent", "dialer", "auditor")}
    browser = Client()  # a session: its user is loaded from the database on use
    browser.force_login(get_user_model().objects.get(username="supervisor"))
    before = snapshot()
    connection.ensure_connection()
    _terminate_django_connection()
    try:
        replies = {
            "webservice": clients["testagent"].post(WEBSERVICE, set_mode_body(), format="json"),
            "intake": clients["dialer"].post(
                CALLS,
                {
                    "callid": "20001",
                    "AccountNumber": DAVID,
                    "AgentID": "testagent",
                    "StartTime": "2026-11-26T15:00:00Z",
                },
                format="json",
            ),
            "audit": clients["auditor"].get(MODE_CHANGES),
            "audit, session": browser.get(MODE_CHANGES),
        }
        console = browser.get("/admin/lcm/account/")
    finally:
        connection.close()  # the next query opens a new connection

    for name, reply in replies.items():
        assert reply.status_code == 503, (name, reply.content)
        assert reply["Content-Type"] == "application/json", name
        assert reply["Retry-After"] == str(errors.DATABASE_RETRY_AFTER_SECONDS), name
    error = replies["webservice"].json()["message"]["error"]
    assert (error["code"], error["errorMessage"]) == (
        "database_unavailable",
        errors.DATABASE_UNAVAILABLE,
    )
    assert replies["intake"].json() == {
        "code": "database_unavailable",
        "message": errors.DATABASE_UNAVAILABLE,
    }
    for name in ("audit", "audit, session"):
        assert replies[name].json() == {
            "code": "database_unavailable",
            "message": errors.DATABASE_UNAVAILABLE,
        }
    # The console: the styled 503 page with a way back, not the 500 page.
    assert console.status_code == 503
    assert console["Content-Type"].startswith("text/html")
    assert console["Retry-After"] == str(errors.DATABASE_RETRY_AFTER_SECONDS)
    page = console.content.decode()
    assert PAGE_HEADINGS[errors.DatabaseUnavailable] in page
    assert 'id="try-again"' in page
    assert 'href="/admin/" id="way-back"' in page

    assert snapshot() == before
    retry = clients["testagent"].post(WEBSERVICE, set_mode_body(), format="json")
    assert retry.status_code == 200
    assert seqs() == [*DEMO_SEQS, seq(1)]


# --- A worker killed mid-request (PostgreSQL, gunicorn) -------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_killed_mid_request_leaves_no_partial_state(demo):
    token = Token.objects.create(user=get_user_model().objects.get(username="testagent")).key
    url = database_url(connection.settings_dict)
    # The request must still be waiting when it is killed, however busy the
    # machine: the lock bound is not what this test is about.
    server = Gunicorn(production_env(url, DATABASE_LOCK_TIMEOUT="60"), workers=1)
    locker = psycopg.connect(url)  # holds the audit chain head
    try:
        first = post(server.port, WEBSERVICE, set_mode_body(ContactNumber="3005550100"), token)
        assert first.status == 200, first
        before = snapshot()
        [worker] = server.worker_pids()

        locker.execute("SELECT seq FROM lcm_auditchainhead WHERE id = 1 FOR UPDATE")
        with (
            ThreadPoolExecutor(1) as pool,
            psycopg.connect(url, autocommit=True) as watcher,
        ):
            pending = pool.submit(
                post,
                server.port,
                WEBSERVICE,
                set_mode_body(ContactNumber="3005550200", DeleteOtherModes=True),
                token,
            )
            # The request's transaction has written the mode and waits for the
            # chain head's lock (lcm.audit.append_entry).
            [backend] = wait_for(
                lambda: watcher.execute(
                    "SELECT pid FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
                    [locker.info.backend_pid],
                ).fetchone(),
                "the request to wait for the audit chain head",
            )
            held = watcher.execute(
                "SELECT l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                "WHERE l.pid = %s AND c.relname = 'lcm_contactmode' AND l.granted",
                [backend],
            ).fetchall()
            assert ("RowExclusiveLock",) in held  # the mode upsert ran

            os.kill(worker, signal.SIGKILL)
            reply = pending.result(timeout=30)
            locker.rollback()  # let the orphaned transaction run on, and end
            wait_for(
                lambda: (
                    not watcher.execute(
                        "SELECT 1 FROM pg_stat_activity WHERE pid = %s", [backend]
                    ).fetchone()
                ),
                "the killed worker's database session to end",
            )

        assert reply.status is None, reply  # no answer: the connection dropped
        assert snapshot() == before
        assert live_modes(DAVID)[1] == "3005550100"
        assert verify_chain().ok

        wait_for(
            lambda: (pids := server.worker_pids()) and worker not in pids,
            "gunicorn to replace the killed worker",
        )
        retry = post(
            server.port,
            WEBSERVICE,
            set_mode_body(ContactNumber="3005550200", DeleteOtherModes=True),
            token,
        )
        assert retry.status == 200, retry
        assert seqs() == [*DEMO_SEQS, seq(1), seq(2)]
        assert live_modes(DAVID) == {1: "3005550200"}
        assert verify_chain().ok
    finally:
        locker.close()
        server.stop()


# --- PostgreSQL restarted under load ------------------------------------------------


class Load:
    """Client threads sending SetNewModeNumber continuously, each with a new
    number; every reply is recorded with its number and when it was sent."""

    def __init__(self, port: int, token: str, threads: int = 3):
        self.port, self.token = port, token
        self.replies: list[tuple[float, str, object]] = []
        self.stopping = threading.Event()
        self.numbers = (f"30055{n:05d}" for n in itertools.count(1))
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]
        for thread in self.threads:
            thread.start()

    def _run(self) -> None:
        while not self.stopping.is_set():
            with self.lock:
                number = next(self.numbers)
            sent = time.monotonic()
            reply = post(self.port, WEBSERVICE, set_mode_body(ContactNumber=number), self.token, 10)
            with self.lock:
                self.replies.append((sent, number, reply))
            if reply.status != 200:
                time.sleep(0.05)  # a real client honours Retry-After; here, briefly

    def successes_since(self, since: float) -> int:
        with self.lock:
            return sum(1 for sent, _, r in self.replies if sent >= since and r.status == 200)

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(20)


RECOVERY_SECONDS = 5  # every request sent this long after the restart must succeed


@pytest.mark.postgres
def test_the_product_recovers_when_postgresql_restarts_under_load():
    cluster = PostgresCluster()
    server = load = None
    try:
        env = production_env(cluster.url, CONN_MAX_AGE="600")
        for command in (("migrate", "--noinput", "-v", "0"), ("seed_demo", "--password", "x")):
            done = manage(env, *command)
            assert done.returncode == 0, done.stderr
        token_line = manage(env, "drf_create_token", "testagent").stdout
        token = token_line.split()[2]
        server = Gunicorn(env, workers=2)

        load = Load(server.port, token)
        start = time.monotonic()
        wait_for(lambda: load.successes_since(start) >= 20, "load before the restart", 30)
        restart_began = time.monotonic()
        cluster.restart()
        restarted = time.monotonic()
        wait_for(
            lambda: load.successes_since(restarted + RECOVERY_SECONDS) >= 20,
            "requests to succeed after the restart",
            timeout=RECOVERY_SECONDS + 20,
        )
        load.stop()

        replies = load.replies
        statuses = {r.status for _, _, r in replies}
        assert statuses <= {200, 503, None}, statuses  # never a 500, never HTML
        outage = [r for _, _, r in replies if r.status == 503]
        assert outage, "the restart hit no request: nothing was proved"
        for reply in outage:
            assert reply.body["message"]["error"]["code"] == "database_unavailable", reply
            assert reply.headers["retry-after"] == str(errors.DATABASE_RETRY_AFTER_SECONDS)
        late_failures = [
            (round(sent - restarted, 2), r)
            for sent, _, r in replies
            if sent >= restarted + RECOVERY_SECONDS and r.status != 200
        ]
        assert late_failures == []
        assert any(sent < restart_began and r.status == 200 for sent, _, r in replies)

        succeeded = {number for _, number, r in replies if r.status == 200}
        sent_numbers = {number for _, number, _ in replies}
        with psycopg.connect(cluster.url) as db:
            entries = db.execute(
                "SELECT seq, new_number FROM lcm_modechange ORDER BY seq"
            ).fetchall()
            live = db.execute(
                "SELECT m.number FROM lcm_contactmode m JOIN lcm_account a ON a.id = m.account_id "
                "WHERE a.account_number = %s AND m.mode_type_id = 1 AND m.deleted_at IS NULL",
                [DAVID],
            ).fetchall()
        assert [n for n, _ in entries] == list(range(1, len(entries) + 1))  # no gap
        assert entries[:DEMO_ENTRIES] == [(n, number) for n, *_, number in DEMO_LOG]
        audited = [number for _, number in entries[DEMO_ENTRIES:]]  # after the demo's
        assert len(audited) == len(set(audited))  # one entry per change, never two
        assert succeeded <= set(audited)  # every success has its entry
        # An entry without a success is only possible for a reply lost on
        # COMMIT itself (503 or dropped): the client retries that one.
        assert set(audited) <= sent_numbers
        assert len(audited) - len(succeeded) <= len(outage) + sum(
            1 for _, _, r in replies if r.status is None
        )
        assert live == [(audited[-1],)]  # the live mode is the last audited change

        verify = manage(env, "verify_audit")
        assert verify.returncode == 0, verify.stderr
        assert f"Audit chain OK: {len(entries)} entries" in verify.stdout
    finally:
        if load is not None:
            load.stop()
        if server is not None:
            server.stop()
        cluster.stop()


# --- A worker frozen while it holds the locks (PostgreSQL, gunicorn) -------------------

MARIA = "596|485|587|0|0|44|59"
LOCK_TIMEOUT = 2  # LCM_DATABASE_LOCK_TIMEOUT's default, which production_env leaves as is


def maria_body(**overrides):
    """otheragent's call 12346 on Maria (seed_demo): another account, another agent."""
    return set_mode_body(callid="12346", AccountNumber=MARIA, AgentID="otheragent", **overrides)


def timed_post(port, body, token, key=None):
    started = time.monotonic()
    reply = post(port, WEBSERVICE, body, token, headers={"Idempotency-Key": key} if key else None)
    return reply, time.monotonic() - started


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_frozen_worker_holding_the_locks_stalls_no_writer_past_the_bound(demo):
    """Worker 1 is frozen (SIGSTOP) in the middle of a change: it holds
    David's account row and the audit chain's head. Worker 2 goes on: a
    change to David (waiting on the account) and one to Maria (waiting on
    the head) each answer a 503 `database_unavailable` once the lock bound
    has passed, a read answers at once; once worker 1 runs again its change
    commits, and the two retries (same Idempotency-Key) succeed. Each change
    is in the log once, in order, the chain intact."""
    users = get_user_model().objects
    tokens = {name: Token.objects.create(user=users.get(username=name)).key
              for name in ("testagent", "otheragent")}  # fmt: skip
    url = database_url(connection.settings_dict)
    server = Gunicorn(production_env(url), workers=2)
    locker = psycopg.connect(url)
    frozen = None
    try:
        locker.execute("SELECT seq FROM lcm_auditchainhead WHERE id = 1 FOR UPDATE")
        with (
            ThreadPoolExecutor(1) as pool,
            psycopg.connect(url, autocommit=True) as watcher,
        ):
            a_body = set_mode_body(ContactNumber="3005550301")
            first = pool.submit(timed_post, server.port, a_body, tokens["testagent"], "freeze-a")
            # It has locked David and written his mode; it waits for the head.
            [backend, client_port] = wait_for(
                lambda: watcher.execute(
                    "SELECT pid, client_port FROM pg_stat_activity "
                    "WHERE %s = ANY(pg_blocking_pids(pid))",
                    [locker.info.backend_pid],
                ).fetchone(),
                "the first change to wait for the audit chain head",
            )
            frozen = pid_holding_local_port(server.worker_pids(), client_port)
            assert frozen is not None
            os.kill(frozen, signal.SIGSTOP)
            locker.rollback()  # the frozen worker's transaction now holds the head
            wait_for(
                lambda: (
                    watcher.execute(
                        "SELECT state FROM pg_stat_activity WHERE pid = %s", [backend]
                    ).fetchone()
                    == ("idle in transaction",)
                ),
                "the frozen worker's transaction to hold the head, idle",
            )
            before = snapshot()

            david, david_s = timed_post(
                server.port, set_mode_body(ContactNumber="3005550302"), tokens["testagent"],
                "freeze-b",
            )  # fmt: skip
            maria, maria_s = timed_post(
                server.port, maria_body(ContactNumber="3005550303"), tokens["otheragent"],
                "freeze-c",
            )  # fmt: skip
            read, read_s = timed_post(
                server.port, envelope("GetContactModes", callid="12346", AccountNumber=MARIA),
                tokens["otheragent"],
            )  # fmt: skip
            assert snapshot() == before  # the refused changes wrote nothing

            os.kill(frozen, signal.SIGCONT)
            frozen = None
            a_reply, _ = first.result(timeout=30)

        for reply, seconds in ((david, david_s), (maria, maria_s)):
            assert reply.status == 503, reply
            error = reply.body["message"]["error"]
            assert (error["code"], error["errorMessage"]) == (
                "database_unavailable",
                errors.DATABASE_UNAVAILABLE,
            )
            assert reply.headers["retry-after"] == str(errors.DATABASE_RETRY_AFTER_SECONDS)
            # It waited for the bound, and not much longer (generous margin).
            assert LOCK_TIMEOUT - 0.2 <= seconds < LOCK_TIMEOUT + 3, seconds
        assert read.status == 200, read
        assert read_s < LOCK_TIMEOUT, read_s  # a read takes no lock: it never waited
        assert a_reply.status == 200, a_reply

        for body, token, key in (
            (set_mode_body(ContactNumber="3005550302"), tokens["testagent"], "freeze-b"),
            (maria_body(ContactNumber="3005550303"), tokens["otheragent"], "freeze-c"),
        ):
            retry, _ = timed_post(server.port, body, token, key)
            assert retry.status == 200, retry
            assert "idempotent-replayed" not in retry.headers  # the first try did nothing

        assert seqs() == [*DEMO_SEQS, seq(1), seq(2), seq(3)]
        assert [
            e.new_number for e in ModeChange.objects.filter(seq__gt=DEMO_ENTRIES).order_by("seq")
        ] == [
            "3005550301",
            "3005550302",
            "3005550303",
        ]
        assert live_modes(DAVID)[1] == "3005550302"
        assert live_modes(MARIA)[1] == "3005550303"
        assert verify_chain().ok
    finally:
        if frozen is not None:
            os.kill(frozen, signal.SIGCONT)
        locker.close()
        server.stop()


# --- An import meets a held lock (PostgreSQL) --------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_import_stopped_by_a_held_lock_says_so_in_one_line_and_rejects_no_row(demo, tmp_path):
    """The chain head is held past the bound while `manage.py import_accounts`
    runs: the import stops at its first batch with one line naming the
    fault (exit 2), imports nothing and rejects no row for it — it does not
    retry the batch row by row, each waiting for the bound again. Run again
    once the lock is gone, it imports the file."""
    rows = [f"70|{i}|1|0|0|44|1,Ana,Import{i},Spring,3125550{i:03d}" for i in range(250)]
    path = tmp_path / "accounts.csv"
    path.write_text("AccountNumber,FirstName,LastName,Campaign,Mode1\n" + "\n".join(rows) + "\n")
    url = database_url(connection.settings_dict)
    env = production_env(url, DATABASE_LOCK_TIMEOUT="1")
    before = snapshot()
    with psycopg.connect(url) as locker:
        locker.execute("SELECT seq FROM lcm_auditchainhead WHERE id = 1 FOR UPDATE")
        started = time.monotonic()
        stopped = manage(env, "import_accounts", str(path), "--progress-every", "0")
        seconds = time.monotonic() - started
        locker.rollback()

    assert stopped.returncode == 2, stopped.stdout + stopped.stderr
    [line] = stopped.stderr.strip().splitlines()
    assert line == (
        f"CommandError: {path}: the database stopped the import (database_unavailable: "
        "canceling statement due to lock timeout). The first 0 rows were imported, the batch "
        "at fault was not: run the same command again to finish (rows already imported stay "
        "as they are)."
    )
    assert seconds < 30  # one wait for the bound, not one per row (250 s)
    assert snapshot() == before

    again = manage(env, "import_accounts", str(path), "--progress-every", "0")

    assert again.returncode == 0, again.stderr
    assert ModeChange.objects.count() == DEMO_ENTRIES + 250
    assert verify_chain().ok


def test_an_import_with_the_database_down_is_one_line_not_a_traceback(tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_text(
        "AccountNumber,FirstName,LastName,Campaign,Mode1\n70|1|1|0|0|44|1,A,B,C,3125550001\n"
    )
    # Nothing listens on port 1: the connection is refused at once.
    env = production_env("postgres://lcm@127.0.0.1:1/lcm")

    done = manage(env, "import_accounts", str(path))

    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("CommandError: The database failed (database_unavailable: "), line
    assert line.endswith("); nothing was imported."), line


# --- The data disk full (PostgreSQL on a tmpfs of its own) ---------------------------------


@pytest.mark.postgres
@pytest.mark.tmpfs
def test_a_full_data_disk_is_named_to_the_load_balancer_and_to_the_client():
    """PostgreSQL's data directory on a real tmpfs, filled to the last byte
    (WAL segments it already has keep it running): `/healthz` answers 503
    "database disk full" while `/healthz/live` stays 200; a change answers
    503 `database_full` (Retry-After 60) and writes nothing; once the disk
    has room, /healthz is 200 and the same request, retried with its
    Idempotency-Key, succeeds, once."""
    cluster = PostgresCluster(data_tmpfs="160m")
    server = None
    filler = cluster.data_dir / "lcm-test-filler"
    try:
        env = production_env(cluster.url)
        for command in (("migrate", "--noinput", "-v", "0"), ("seed_demo", "--password", "x")):
            done = manage(env, *command)
            assert done.returncode == 0, done.stderr
        token = manage(env, "drf_create_token", "testagent").stdout.split()[2]
        with psycopg.connect(cluster.url, autocommit=True) as db:
            # A fresh WAL segment, made while there is room: the writes below
            # fit in it, so PostgreSQL never needs a new one (which on a full
            # disk is a PANIC, docs/operations.md).
            db.execute("SELECT pg_switch_wal()")
            db.execute("SELECT txid_current()")
            db.execute("CHECKPOINT")
        server = Gunicorn(env, workers=1)
        assert get(server.port, "/healthz").status == 200

        fill_disk(filler)
        ready, live = get(server.port, "/healthz"), get(server.port, "/healthz/live")
        body = set_mode_body(ContactNumber="3005550400")
        with psycopg.connect(cluster.url) as db:
            entries = db.execute("SELECT count(*) FROM lcm_modechange").fetchone()
            change = post(server.port, WEBSERVICE, body, token, headers={"Idempotency-Key": "k1"})
            assert db.execute("SELECT count(*) FROM lcm_modechange").fetchone() == entries

        assert (ready.status, ready.body) == (
            503,
            {"status": "error", "reason": "database disk full"},
        )
        assert (live.status, live.body) == (200, {"status": "ok"})
        assert change.status == 503, change
        error = change.body["message"]["error"]
        assert (error["code"], error["errorMessage"]) == ("database_full", errors.DATABASE_FULL)
        assert change.headers["retry-after"] == str(errors.DATABASE_FULL_RETRY_AFTER_SECONDS)

        filler.unlink()
        assert get(server.port, "/healthz").status == 200
        retry = post(server.port, WEBSERVICE, body, token, headers={"Idempotency-Key": "k1"})
        assert retry.status == 200, retry
        with psycopg.connect(cluster.url) as db:
            assert db.execute(
                "SELECT count(*) FROM lcm_modechange WHERE new_number = '3005550400'"
            ).fetchone() == (1,)
        verify = manage(env, "verify_audit")
        assert verify.returncode == 0, verify.stderr
    finally:
        if server is not None:
            server.stop()
        filler.unlink(missing_ok=True)
        cluster.stop()
