import io
import os

import pytest
from django.core.management import call_command
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from lcm.models import Agent, AuditChainHead, ContactMode, ModeChange

DEMO_PASSWORD = "demo-pass-123"
# `seed_demo` brings its accounts in through the audited import, and puts
# its do-not-call number on the list, audited too: its log holds these
# entries (seq 1..4) before a test writes any.
DEMO_ENTRIES = 4
WEBSERVICE = "/api/lcm/webservice/"


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# How deep the property tests and the schema fuzzing go: `quick` by default
# (what `make test` runs on a laptop or this 2-core machine in under ten
# minutes), `deep` under CI=true (what .ci/run runs, within CI's time), or
# as LCM_TEST_DEPTH says. Both run the same tests with the same fixed
# seeds; deep draws more examples from each.
DEPTH = os.environ.get("LCM_TEST_DEPTH") or ("deep" if os.environ.get("CI") == "true" else "quick")
if DEPTH not in ("quick", "deep"):
    raise RuntimeError(f"LCM_TEST_DEPTH must be quick or deep, not {DEPTH!r}")


def examples(*, quick: int, deep: int) -> int:
    """The number of examples a property test draws at this run's depth."""
    return deep if DEPTH == "deep" else quick


_deselected_notes: list[str] = []
_clock = None


def pytest_configure(config):
    """LCM_TEST_CLOCK=<ISO 8601 instant> runs the session with the clock moved
    there, ticking (time-machine): how tests/test_clock_ahead.py proves that
    no test and no example depends on the day it runs."""
    global _clock
    instant = os.environ.get("LCM_TEST_CLOCK")
    if instant:
        import time_machine

        _clock = time_machine.travel(instant, tick=True)
        _clock.start()


def pytest_unconfigure(config):
    if _clock is not None:
        _clock.stop()


def _deselect(config, items, keyword: str) -> int:
    deselected = [item for item in items if keyword in item.keywords]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if keyword not in item.keywords]
    return len(deselected)


def pytest_collection_modifyitems(config, items):
    """PostgreSQL-only tests (row locks, real concurrency) are deselected,
    not skipped, on SQLite: `make test` runs them in its PostgreSQL pass.
    Tests marked `sqlite_pass` (a run of its own, database-independent) run
    in the SQLite pass only; those marked `deep_every_pass` too, at quick
    depth (at deep depth, in CI, they run in every pass). Replica tests are
    deselected too, except in `make test-replica` (LCM_REPLICA_REQUIRED=1).

    Browser tests need Debian's Chromium, full-disk tests a tmpfs they can
    mount (root): without, they are deselected with a warning, except under
    CI=true, where they stay and fail.
    """
    from django.conf import settings

    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        _deselect(config, items, "postgres")
    else:
        _deselect(config, items, "sqlite_pass")  # once per `make test` is enough
        if DEPTH == "quick":
            _deselect(config, items, "deep_every_pass")  # CI runs it on both databases
    if os.environ.get("LCM_REPLICA_REQUIRED") != "1":
        _deselect(config, items, "replica")  # `make test-replica` runs them, on a replica
    if not os.path.exists(CHROMIUM) and os.environ.get("CI") != "true":
        count = _deselect(config, items, "browser")
        if count:
            _deselected_notes.append(
                f"WARNING: {count} browser test(s) deselected: {CHROMIUM} not found "
                "(apt-get install chromium). Under CI=true they fail instead."
            )
    if any("tmpfs" in item.keywords for item in items) and os.environ.get("CI") != "true":
        from .processes import can_mount_tmpfs

        if not can_mount_tmpfs():
            count = _deselect(config, items, "tmpfs")
            _deselected_notes.append(
                f"WARNING: {count} full-disk test(s) deselected: this process cannot mount a "
                "tmpfs (it needs root). Under CI=true they fail instead."
            )


def pytest_terminal_summary(terminalreporter):
    for note in _deselected_notes:
        terminalreporter.write_line(note, yellow=True, bold=True)


@pytest.fixture
def page(monkeypatch):
    """A Chromium page driven by Playwright's sync API in the test thread.

    Playwright's sync API runs an event loop in this thread, which makes
    Django's async-safety check refuse ORM calls here; the test process (only
    it, and only for this test) allows them, as the live server's thread
    never shares a connection with it.
    """
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is required for browser tests (CI=true): apt-get install chromium")
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.set_default_timeout(15_000)
            yield page
        finally:
            browser.close()
            # With Playwright's loop in this thread, Django's connection
            # lookup (context-local) opened a second connection for the
            # test's queries: close it, or it outlives the test database.
            from django.db import connections

            connections.close_all()


@pytest.fixture(autouse=True)
def _empty_cache():
    """Throttle counters live in the cache: each test starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def demo(db):
    """The demo data set of `manage.py seed_demo`."""
    call_command("seed_demo", password=DEMO_PASSWORD, stdout=io.StringIO())


@pytest.fixture
def demo_admin(demo, client):
    """A browser session of the demo superuser."""
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username="admin"))
    return client


def client_for(username: str | None) -> APIClient:
    client = APIClient()
    if username:
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.get(username=username)
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def agent_client(demo):
    return client_for("testagent")


def envelope(subtopic="SetNewModeNumber", **data):
    return {"channel": "LCM", "topic": "WebService", "subtopic": subtopic, "data": data}


def set_mode_body(**overrides):
    data = {
        "callid": "12345",
        "AccountNumber": "5|3|1|0|0|44|1",
        "ModeID": 1,
        "ContactNumber": "961084836",
        "DeleteOtherModes": False,
        "AgentID": "testagent",
    }
    data.update(overrides)
    return envelope(**data)


def live_modes(account_number: str) -> dict[int, str]:
    return dict(
        ContactMode.objects.filter(
            account__account_number=account_number, deleted_at=None
        ).values_list("mode_type_id", "number")
    )


def snapshot():
    """Everything a refused request must leave as it was."""
    return (
        list(ContactMode.objects.order_by("pk").values()),
        ModeChange.objects.count(),
        list(Agent.objects.order_by("pk").values()),
        list(AuditChainHead.objects.values()),
    )


@pytest.fixture
def is_postgres():
    return connection.vendor == "postgresql"


@pytest.fixture(autouse=True)
def _empty_audit_log_before_flush(request):
    """A transactional test ends with Django's flush (TRUNCATE on PostgreSQL,
    DELETE on SQLite), which the append-only triggers rightly refuse while
    the log holds entries. Empty it first, in one transaction that drops and
    re-creates the triggers, so they are never missing outside it.

    (What the flush takes with it — the chain head row, the groups — comes
    back with `serialized_rollback=True` on the transactional tests.)
    """
    marker = request.node.get_closest_marker("django_db")
    transactional = (marker is not None and marker.kwargs.get("transaction")) or (
        {"transactional_db", "live_server"} & set(request.fixturenames)
    )
    if not transactional:
        yield
        return
    request.getfixturevalue("transactional_db")  # so its flush runs after this teardown
    yield
    from django.db import transaction

    from lcm.audit import GENESIS_HASH
    from lcm.audit import triggers as audit_triggers

    with transaction.atomic(), connection.cursor() as cursor:
        audit_triggers.uninstall(connection)
        cursor.execute("DELETE FROM lcm_modechange")
        cursor.execute(
            "UPDATE lcm_auditchainhead SET seq = 0, hash = %s WHERE id = 1", [GENESIS_HASH]
        )
        audit_triggers.install(connection)
