"""Concurrent SetNewModeNumber on PostgreSQL, over real HTTP (live server)."""

import io
import itertools
import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from rest_framework.authtoken.models import Token

from lcm.audit import GENESIS_HASH, compute_hash
from lcm.models import ContactMode, ModeChange

from .conftest import DEMO_ENTRIES, DEMO_PASSWORD, live_modes, set_mode_body
from .test_api_set_new_mode_number import DAVID

# serialized_rollback: start from what migrations wrote (the audit chain head),
# even after another transactional test flushed the database.
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _post(url, token, body):
    assert url.startswith("http://127.0.0.1") or url.startswith("http://localhost")
    request = urllib.request.Request(  # noqa: S310 (loopback only, asserted above)
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def replay(account_number, initial):
    """The live modes that the audit log says the account should have."""
    modes = dict(initial)
    for entry in ModeChange.objects.filter(account_number=account_number).order_by("seq"):
        assert modes.get(entry.mode_id, "") == entry.old_number, f"lost update before #{entry.seq}"
        for deleted in entry.deleted_modes:
            assert modes.pop(deleted["mode_id"]) == deleted["number"]
        modes[entry.mode_id] = entry.new_number
    return modes


def test_concurrent_changes_to_one_account_lose_no_update(live_server):
    from django.core.management import call_command

    call_command("seed_demo", password=DEMO_PASSWORD, stdout=io.StringIO())
    token = Token.objects.create(user_id=_user_id("testagent")).key
    initial = live_modes(DAVID)
    bodies = [
        set_mode_body(
            ModeID=1 + i % 3, ContactNumber=f"30055500{i:02d}", DeleteOtherModes=i % 5 == 0
        )
        for i in range(40)
    ]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(lambda b: _post(f"{live_server.url}/api/lcm/webservice/", token, b), bodies)
        )

    assert [status for status, _ in results] == [200] * 40, results
    entries = list(ModeChange.objects.order_by("seq"))
    assert [e.seq for e in entries] == list(range(1, DEMO_ENTRIES + 41))  # the demo's, then ours
    assert entries[0].prev_hash == GENESIS_HASH
    for prev, entry in itertools.pairwise(entries):
        assert entry.prev_hash == prev.hash
    for entry in entries:
        entry.refresh_from_db()
        assert compute_hash(entry) == entry.hash
    assert initial == {1: "6491462346", 2: "2025550143"}
    assert replay(DAVID, {}) == live_modes(DAVID)  # from the demo's import on
    assert ContactMode.objects.filter(account__account_number=DAVID, deleted_at=None).count() <= 3


def _user_id(username):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=username).pk
