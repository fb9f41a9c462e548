import io

import pytest
from django.core.management import call_command
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from lcm.models import Agent, AuditChainHead, ContactMode, ModeChange

DEMO_PASSWORD = "demo-pass-123"
WEBSERVICE = "/api/lcm/webservice/"


def pytest_collection_modifyitems(config, items):
    """PostgreSQL-only tests (row locks, real concurrency) are deselected,
    not skipped, on SQLite: `make test` runs them in its PostgreSQL pass."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    kept = [item for item in items if "postgres" not in item.keywords]
    deselected = [item for item in items if "postgres" in item.keywords]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


_FLUSHED = pytest.StashKey()


@pytest.fixture(autouse=True)
def _transactional_tests_leave_a_migrated_database(request):
    """A transactional test ends with Django's flush (TRUNCATE on PostgreSQL,
    DELETE on SQLite), which empties every table. Two things follow:

    - before it, the append-only triggers rightly refuse to empty a log that
      holds entries: empty it here, in one transaction that drops and
      re-creates the triggers, so they are never missing outside it;
    - after it, the rows that data migrations created (the audit chain head,
      the groups) are gone: `pytest_runtest_teardown` below re-runs lcm's
      data migrations, so the next test sees a migrated database.
    """
    marker = request.node.get_closest_marker("django_db")
    transactional = (marker is not None and marker.kwargs.get("transaction")) or (
        {"transactional_db", "live_server"} & set(request.fixturenames)
    )
    if not transactional:
        yield
        return
    request.getfixturevalue("transactional_db")  # so its flush runs after this teardown
    request.node.stash[_FLUSHED] = request.getfixturevalue("django_db_blocker")
    yield
    from django.db import transaction

    from lcm import audit_triggers
    from lcm.audit import GENESIS_HASH

    with transaction.atomic(), connection.cursor() as cursor:
        audit_triggers.uninstall(connection)
        cursor.execute("DELETE FROM lcm_modechange")
        cursor.execute(
            "UPDATE lcm_auditchainhead SET seq = 0, hash = %s WHERE id = 1", [GENESIS_HASH]
        )
        audit_triggers.install(connection)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    result = yield
    blocker = item.stash.get(_FLUSHED, None)
    if blocker is not None and nextitem is not None:  # after the last, the test DB is gone
        with blocker.unblock():
            _rerun_data_migrations()
    return result


def _rerun_data_migrations():
    """Run the RunPython steps of lcm's migrations again (each is idempotent)."""
    from django.apps import apps
    from django.db import migrations
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(connection)
    leaves = [key for key in loader.graph.leaf_nodes() if key[0] == "lcm"]
    with connection.schema_editor() as editor:
        for key in loader.graph.forwards_plan(leaves[0]):
            if key[0] != "lcm":
                continue
            for operation in loader.graph.nodes[key].operations:
                if isinstance(operation, migrations.RunPython):
                    operation.code(apps, editor)


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
