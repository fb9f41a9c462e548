"""Failed admin logins are locked out (django-axes), through the real
login page with Django's test client."""

import io

import pytest
from django.core.management import call_command

from .conftest import DEMO_PASSWORD

LOGIN = "/admin/login/?next=/admin/"


def attempt(client, password, username="admin", address="10.0.0.7"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def is_logged_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == "/admin/"


@pytest.fixture
def limit(settings):
    assert settings.AXES_FAILURE_LIMIT == 5  # the default (env AXES_FAILURE_LIMIT)
    return settings.AXES_FAILURE_LIMIT


def test_failures_below_the_limit_show_the_login_form_again(demo, client, limit):
    for _ in range(limit - 1):
        response = attempt(client, "wrong")
        assert response.status_code == 200
        assert b"Please enter the correct username and password" in response.content

    assert is_logged_in(attempt(client, DEMO_PASSWORD))


def test_the_limit_th_failure_locks_the_login_out_with_a_clear_page(demo, client, limit):
    for _ in range(limit - 1):
        attempt(client, "wrong")

    locked = attempt(client, "wrong")

    assert locked.status_code == 429
    assert b"Too many failed logins" in locked.content
    assert f"locked after {limit} failed attempts".encode() in locked.content
    assert b"0:15:00" in locked.content  # AXES_COOLOFF_MINUTES, default 15
    assert b"Django administration" not in locked.content  # issue 14: the product's name
    assert "lcm — List and Campaign Manager".encode() in locked.content
    assert "_auth_user_id" not in client.session


def test_a_locked_out_login_is_refused_even_with_the_right_password(demo, client, limit):
    for _ in range(limit):
        attempt(client, "wrong")

    response = attempt(client, DEMO_PASSWORD)

    assert response.status_code == 429
    assert b"Too many failed logins" in response.content
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302  # still the login redirect


def test_the_lock_is_per_username_and_address(demo, client, limit):
    for _ in range(limit):
        attempt(client, "wrong")

    assert is_logged_in(attempt(client, DEMO_PASSWORD, address="10.0.0.8"))


def test_a_success_resets_the_count(demo, client, limit):
    for _ in range(limit - 1):
        attempt(client, "wrong")
    assert is_logged_in(attempt(client, DEMO_PASSWORD))
    client.logout()

    for _ in range(limit - 1):
        assert attempt(client, "wrong").status_code == 200
    assert is_logged_in(attempt(client, DEMO_PASSWORD))


def test_an_operator_unlocks_with_axes_reset(demo, client, limit):
    for _ in range(limit):
        attempt(client, "wrong")

    call_command("axes_reset_username", "admin", stdout=io.StringIO())

    assert is_logged_in(attempt(client, DEMO_PASSWORD))


def test_the_test_client_login_still_works_without_a_request(demo, client):
    assert client.login(username="admin", password=DEMO_PASSWORD)
    assert not client.login(username="admin", password="wrong")
