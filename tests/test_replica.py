"""The auditors' reads on a real PostgreSQL streaming replica (lcm.replica).

Needs a primary and its hot standby: `bin/with-postgres --replica` starts
both and exports DATABASE_URL and DATABASE_REPLICA_URL; `make test` runs
this file so (`make test-replica`, which sets LCM_REPLICA_REQUIRED=1: there
a missing replica fails). Without LCM_REPLICA_REQUIRED=1 it is deselected (and
config/settings_test.py keeps the auditors on default).

These tests use no test database of pytest-django: a test database on the
primary would reach the replica only through replication, which is what is
under test. They migrate and seed the throwaway cluster's own `postgres`
database once, and go through the real stack (DRF's and Django's test
clients, `manage.py verify_audit`) against the real primary and replica.
The proof that a read is the replica's: with the replica's replay paused
(`pg_wal_replay_pause()`), an entry just committed on the primary is on the
supervisor's page and in the agents' API, and absent from every auditor's
read, until replay resumes.

Faults (issue 28): the replica stopped for real (`bin/pg-cluster
replica-stop`) or lagging past `LCM_AUDIT_REPLICA_MAX_LAG` gives the
auditors a 503 (the console's page, the API's JSON) and `verify_audit` one
line; a standby named as the primary is not ready and refuses writes with a
503.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time

import pytest
from django.core.management import CommandError, call_command
from django.db import DEFAULT_DB_ALIAS, connections
from django.urls import reverse
from django.utils.html import escape
from rest_framework.authtoken.models import Token

from lcm import errors
from lcm.faults import PAGE_HEADINGS
from lcm.models import Account, ModeChange
from lcm.replica import auditor_db, auditor_reads, replica_lag_bytes, wait_for_replica

from .conftest import DEMO_PASSWORD, WEBSERVICE, client_for, set_mode_body
from .processes import BASE_DIR, PG_CLUSTER

# Deselected (tests/conftest.py) unless LCM_REPLICA_REQUIRED=1: `make test-replica`.
pytestmark = [pytest.mark.postgres, pytest.mark.replica]

DAVID = "5|3|1|0|0|44|1"
AUDIT_API = "/api/lcm/mode-changes/"


def _sql(alias: str, statement: str):
    with connections[alias].cursor() as cursor:
        cursor.execute(statement)
        return cursor.fetchone()[0] if cursor.description else None


@pytest.fixture(scope="module")
def cluster(django_db_blocker):
    """The throwaway primary, migrated and seeded once, its replica caught up."""
    if not os.environ.get("DATABASE_REPLICA_URL"):
        pytest.fail("DATABASE_REPLICA_URL is required here (bin/with-postgres --replica)")
    with django_db_blocker.unblock():
        assert auditor_db() == "replica"
        assert _sql(DEFAULT_DB_ALIAS, "SELECT pg_is_in_recovery()") is False
        assert _sql("replica", "SELECT pg_is_in_recovery()") is True
        call_command("migrate", interactive=False, verbosity=0)
        call_command("seed_demo", password=DEMO_PASSWORD, stdout=io.StringIO())
        assert wait_for_replica(30) == 0
        yield
        _sql("replica", "SELECT pg_wal_replay_resume()")
        connections.close_all()


@pytest.fixture
def real_db(cluster, django_db_blocker):
    with django_db_blocker.unblock():
        yield
        _sql("replica", "SELECT pg_wal_replay_resume()")


def _pause_replay() -> None:
    _sql("replica", "SELECT pg_wal_replay_pause()")
    deadline = time.monotonic() + 10
    while _sql("replica", "SELECT pg_get_wal_replay_pause_state()") != "paused":
        assert time.monotonic() < deadline, "the replica did not pause its replay"
        time.sleep(0.02)


def _auditor_seqs(api) -> list[int]:
    response = api.get(AUDIT_API)
    assert response.status_code == 200, response.content
    return [entry["seq"] for entry in response.json()["results"]]


def _csv_seqs(api) -> list[int]:
    response = api.get(AUDIT_API, {"format": "csv"})
    assert response.status_code == 200
    lines = b"".join(response.streaming_content).decode().splitlines()[1:]
    return [int(line.split(",")[0]) for line in lines]


def _verify(*args) -> str:
    out = io.StringIO()
    call_command("verify_audit", *args, stdout=out)
    return out.getvalue()


def test_the_auditors_reads_are_the_replicas_and_lag_behind_until_it_replays(real_db, client):
    auditor = client_for("auditor")
    agent = client_for("testagent")
    head = ModeChange.objects.order_by("-seq").values_list("seq", flat=True).first()
    assert _auditor_seqs(auditor)[0] == head  # caught up: the same log on both

    _pause_replay()
    changed = agent.post(WEBSERVICE, set_mode_body(ContactNumber="961000111"), format="json")
    assert changed.status_code == 200, changed.content
    new = head + 1
    assert ModeChange.objects.filter(seq=new).exists()  # committed on the primary
    assert replica_lag_bytes() > 0

    # The supervisor's read-after-write page and the agents' API: the primary.
    assert client.login(username="supervisor", password=DEMO_PASSWORD)
    account = Account.objects.get(account_number=DAVID)
    page = client.get(reverse("admin:lcm_account_change", args=[account.pk]))
    assert page.status_code == 200
    assert page.context["history"][0].seq == new
    assert "961000111" in page.content.decode()

    # Every auditor's read: the replica, which has not replayed it yet.
    assert _auditor_seqs(auditor)[0] == head
    assert _csv_seqs(auditor)[0] == head
    assert auditor.get(f"{AUDIT_API}{new}/proof/").status_code == 404
    assert client.login(username="auditor", password=DEMO_PASSWORD)
    listed = client.get(reverse("admin:lcm_modechange_changelist"))
    assert listed.status_code == 200
    assert listed.context["cl"].result_list[0].seq == head
    entry_pk = ModeChange.objects.get(seq=new).pk
    assert client.get(reverse("admin:lcm_modechange_change", args=[entry_pk])).status_code == 302
    exported = client.get(reverse("admin:lcm_modechange_export"))
    assert int(b"".join(exported.streaming_content).decode().splitlines()[1].split(",")[0]) == head
    assert f"Audit chain OK: {head} entries, head #{head} " in _verify("--replica-wait", "0")
    with pytest.raises(CommandError, match=r"bytes of WAL behind the primary after 0\.5 s"):
        _verify("--replica-wait", "0.5")
    with auditor_reads() as alias:
        assert _sql(alias, "SELECT pg_is_in_recovery()") is True

    _sql("replica", "SELECT pg_wal_replay_resume()")
    assert wait_for_replica(30) == 0
    assert _auditor_seqs(auditor)[0] == new
    assert _csv_seqs(auditor)[0] == new
    listed = client.get(reverse("admin:lcm_modechange_changelist"))
    assert listed.context["cl"].result_list[0].seq == new
    assert f"Audit chain OK: {new} entries, head #{new} " in _verify()


def test_writes_go_to_the_primary_even_inside_the_auditors_reads(real_db):
    with auditor_reads():
        entry = ModeChange.objects.filter(account__isnull=False).order_by("-seq").first()
        assert entry._state.db == "replica"
        account = Account.objects.get(pk=entry.account_id)
        assert account._state.db == "replica"
        account.save()  # a read-only replica would refuse it
    assert wait_for_replica(30) == 0
    assert replica_lag_bytes() == 0


# --- The replica down, or too far behind (issue 28) ----------------------------------------


def _replica(action: str) -> None:
    """Stop or start the real replica (bin/pg-cluster replica-stop / -start)."""
    done = subprocess.run(  # noqa: S603 (our own script)
        [str(PG_CLUSTER), f"replica-{action}", os.environ["PG_CLUSTER_DIR"]],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    connections["replica"].close()


@pytest.fixture
def replica_down(real_db):
    _replica("stop")
    try:
        yield
    finally:
        _replica("start")
        assert wait_for_replica(30) == 0


def _auditor_pages(client) -> dict[str, object]:
    entry = ModeChange.objects.order_by("-seq").first()  # read on the primary
    return {
        "list": client.get(reverse("admin:lcm_modechange_changelist")),
        "entry": client.get(reverse("admin:lcm_modechange_change", args=[entry.pk])),
        "export": client.get(reverse("admin:lcm_modechange_export")),
    }


def _assert_503_page(page, message: str) -> None:
    assert page.status_code == 503
    assert page["Content-Type"].startswith("text/html")
    assert page["Retry-After"] == str(errors.DATABASE_RETRY_AFTER_SECONDS)
    html = page.content.decode()
    assert PAGE_HEADINGS[errors.ReplicaUnavailable] in html
    assert escape(message) in html
    assert 'id="try-again"' in html
    assert 'href="/admin/" id="way-back"' in html  # the way back to the console


def test_with_the_replica_down_the_auditors_get_a_503_and_the_agents_go_on(replica_down, client):
    down = errors.REPLICA_DOWN.format(alias="replica")
    for username in ("auditor", "supervisor"):
        assert client.login(username=username, password=DEMO_PASSWORD)
        for page in _auditor_pages(client).values():
            _assert_503_page(page, down)
    api = client_for("auditor").get(AUDIT_API)
    assert api.status_code == 503
    assert api.json() == {"code": "database_unavailable", "message": down}
    assert api["Retry-After"] == str(errors.DATABASE_RETRY_AFTER_SECONDS)

    # verify_audit: one line naming the replica, exit status 1, no traceback.
    verify = subprocess.run(
        [sys.executable, "manage.py", "verify_audit"],
        cwd=BASE_DIR,
        env=os.environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    port = connections["replica"].settings_dict["PORT"]
    assert verify.returncode == 1
    [line] = verify.stderr.strip().splitlines()
    assert line.startswith(
        f"CommandError: The read replica replica (127.0.0.1:{port}) does not answer ("
    ), line
    assert line.endswith(
        "): nothing was verified. Start it, or unset DATABASE_REPLICA_URL to verify on the primary."
    ), line

    # The agents and the supervisor's read-after-write pages: the primary's.
    changed = client_for("testagent").post(
        WEBSERVICE, set_mode_body(ContactNumber="961000222"), format="json"
    )
    assert changed.status_code == 200, changed.content
    account = Account.objects.get(account_number=DAVID)
    assert client.get(reverse("admin:lcm_account_change", args=[account.pk])).status_code == 200


def test_a_replica_behind_past_the_bound_is_a_503_until_it_catches_up(real_db, client, settings):
    settings.LCM_AUDIT_REPLICA_MAX_LAG = 0.5
    auditor = client_for("auditor")
    assert client.login(username="auditor", password=DEMO_PASSWORD)
    assert _auditor_seqs(auditor)  # caught up: 200

    _pause_replay()
    changed = client_for("testagent").post(
        WEBSERVICE, set_mode_body(ContactNumber="961000333"), format="json"
    )
    assert changed.status_code == 200, changed.content
    # Behind, and its last replayed commit older than the bound.
    deadline = time.monotonic() + 10
    while _sql("replica", "SELECT extract(epoch FROM now() - pg_last_xact_replay_timestamp())") < 1:
        assert time.monotonic() < deadline
        time.sleep(0.1)

    bound = "(more than LCM_AUDIT_REPLICA_MAX_LAG, 0.5 s)"
    for name, page in _auditor_pages(client).items():
        assert page.status_code == 503, name
        assert bound in page.content.decode(), name
    api = auditor.get(AUDIT_API)
    assert api.status_code == 503
    assert api.json()["code"] == "database_unavailable"
    assert bound in api.json()["message"]
    newest = ModeChange.objects.latest("seq").seq
    assert auditor.get(f"{AUDIT_API}{newest}/proof/").status_code == 503

    _sql("replica", "SELECT pg_wal_replay_resume()")
    assert wait_for_replica(30) == 0
    assert _auditor_seqs(auditor)[0] == ModeChange.objects.latest("seq").seq
    assert client.get(reverse("admin:lcm_modechange_changelist")).status_code == 200


def test_a_standby_as_the_primary_is_not_ready_and_refuses_writes_with_a_503(real_db):
    """DATABASE_URL naming a standby (a failover moved the primary away): the
    process is live, not ready ("database read-only"), and a change answers
    503 `database_read_only`, not a 500."""
    client_for("testagent")  # makes its token
    token = Token.objects.get(user__username="testagent").key
    assert wait_for_replica(30) == 0  # the token is on the standby too
    script = (
        "import django, json, sys; django.setup()\n"
        "from django.test import Client\n"
        "c = Client(HTTP_HOST='localhost')\n"
        "ready, live = c.get('/healthz'), c.get('/healthz/live')\n"
        "change = c.post('/api/lcm/webservice/', sys.argv[1], content_type='application/json',\n"
        "                HTTP_AUTHORIZATION='Token ' + sys.argv[2])\n"
        "print(json.dumps([ready.status_code, ready.json(), live.status_code,\n"
        "                  change.status_code, change.json(), change.get('Retry-After')]))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "LCM_REPLICA_REQUIRED"}
    env["DATABASE_URL"] = env.pop("DATABASE_REPLICA_URL")
    body = json.dumps(set_mode_body(ContactNumber="961000444"))

    done = subprocess.run(  # noqa: S603 (our interpreter, our script)
        [sys.executable, "-c", script, body, token],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    ready, ready_body, live, status, change, retry_after = json.loads(done.stdout)
    assert (ready, ready_body) == (503, {"status": "error", "reason": "database read-only"})
    assert live == 200
    assert status == 503
    error = change["message"]["error"]
    assert error["code"] == "database_read_only"
    assert error["errorMessage"] == errors.DATABASE_READ_ONLY
    assert retry_after == str(errors.DATABASE_RETRY_AFTER_SECONDS)
    assert not ModeChange.objects.filter(new_number="961000444").exists()
