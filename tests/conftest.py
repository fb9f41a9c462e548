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

    from lcm import audit_triggers
    from lcm.audit import GENESIS_HASH

    with transaction.atomic(), connection.cursor() as cursor:
        audit_triggers.uninstall(connection)
        cursor.execute("DELETE FROM lcm_modechange")
        cursor.execute(
            "UPDATE lcm_auditchainhead SET seq = 0, hash = %s WHERE id = 1", [GENESIS_HASH]
        )
        audit_triggers.install(connection)
