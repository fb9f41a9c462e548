"""Supervisors rotate and revoke API tokens in the admin (lcm.admin.tokens),
through the real admin pages; the API then refuses the old key."""

import logging

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from .conftest import WEBSERVICE, envelope
from .factories import UserFactory

BASE = "/admin/authtoken/tokenproxy/"
READ = envelope("GetContactModes", callid="12345", AccountNumber="5|3|1|0|0|44|1")


def staff_with(*codenames):
    user = UserFactory(username="sup-" + "-".join(codenames or ("none",)), is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="authtoken", codename__in=codenames)
    )
    return user


@pytest.fixture
def dialer_token(demo):
    return Token.objects.create(user=get_user_model().objects.get(username="dialer"))


def api_status(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.post(WEBSERVICE, READ, format="json").status_code


def test_the_list_shows_a_hint_never_a_key(client, dialer_token):
    client.force_login(staff_with("view_tokenproxy"))

    response = client.get(BASE)

    assert response.status_code == 200
    assert dialer_token.key not in response.content.decode()
    assert f"{dialer_token.key[:4]}…" in response.content.decode()


def test_the_token_page_offers_the_actions_without_showing_the_key(client, dialer_token):
    client.force_login(staff_with("view_tokenproxy", "change_tokenproxy", "delete_tokenproxy"))

    response = client.get(f"{BASE}{dialer_token.user_id}/change/")

    assert response.status_code == 200
    page = response.content.decode()
    assert dialer_token.key not in page
    assert "Rotate (new key)" in page and "Revoke (delete)" in page


def test_rotating_gives_a_new_key_shown_once_and_kills_the_old(client, dialer_token, caplog):
    caplog.set_level(logging.INFO)
    supervisor = staff_with("view_tokenproxy", "change_tokenproxy")
    client.force_login(supervisor)
    old = dialer_token.key
    assert api_status(old) == 200

    confirm = client.get(f"{BASE}{dialer_token.user_id}/rotate/")
    assert confirm.status_code == 200 and "Yes, rotate the key" in confirm.content.decode()
    assert Token.objects.get(user=dialer_token.user).key == old  # a GET changes nothing

    response = client.post(f"{BASE}{dialer_token.user_id}/rotate/", follow=True)

    new = Token.objects.get(user=dialer_token.user).key
    assert new != old
    assert f"<code>{new}</code>" in response.content.decode()
    assert "it is not shown again" in response.content.decode()
    assert api_status(old) == 401
    assert api_status(new) == 200
    [record] = [r for r in caplog.records if r.name == "lcm.tokens"]
    assert record.getMessage() == f"API token of dialer rotated by {supervisor.username}"


def test_revoking_deletes_the_token_and_the_api_refuses_it(client, dialer_token, caplog):
    caplog.set_level(logging.INFO)
    supervisor = staff_with("view_tokenproxy", "delete_tokenproxy")
    client.force_login(supervisor)
    key = dialer_token.key

    response = client.post(f"{BASE}{dialer_token.user_id}/revoke/", follow=True)

    assert response.status_code == 200
    assert "The API token of dialer is revoked." in response.content.decode()
    assert not Token.objects.filter(user=dialer_token.user).exists()
    assert api_status(key) == 401
    [record] = [r for r in caplog.records if r.name == "lcm.tokens"]
    assert record.getMessage() == f"API token of dialer revoked by {supervisor.username}"


def test_the_stock_delete_page_leads_to_revoke(client, dialer_token):
    client.force_login(staff_with("view_tokenproxy", "delete_tokenproxy"))

    response = client.get(f"{BASE}{dialer_token.user_id}/delete/")

    assert response.status_code == 302
    assert response["Location"] == f"{BASE}{dialer_token.user_id}/revoke/"


def test_the_stock_delete_page_refuses_who_may_not_revoke(client, dialer_token):
    client.force_login(staff_with("view_tokenproxy", "change_tokenproxy"))

    assert client.get(f"{BASE}{dialer_token.user_id}/delete/").status_code == 403


@pytest.mark.parametrize(
    ("codenames", "action"),
    [
        (("view_tokenproxy",), "rotate"),
        (("view_tokenproxy", "delete_tokenproxy"), "rotate"),
        (("view_tokenproxy",), "revoke"),
        (("view_tokenproxy", "change_tokenproxy"), "revoke"),
    ],
)
def test_without_the_permission_nothing_changes(client, dialer_token, codenames, action):
    client.force_login(staff_with(*codenames))

    response = client.post(f"{BASE}{dialer_token.user_id}/{action}/")

    assert response.status_code == 403
    assert Token.objects.get(user=dialer_token.user).key == dialer_token.key


def test_a_user_without_a_token_is_a_404(client, demo):
    client.force_login(staff_with("view_tokenproxy", "change_tokenproxy"))
    user = get_user_model().objects.get(username="offagent")

    assert client.post(f"{BASE}{user.pk}/rotate/").status_code == 404
    assert client.post(f"{BASE}999999/revoke/").status_code == 404


def test_anonymous_users_are_sent_to_the_login_page(client, dialer_token):
    response = client.post(f"{BASE}{dialer_token.user_id}/rotate/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert Token.objects.get(user=dialer_token.user).key == dialer_token.key


def test_adding_a_token_shows_its_key_once(client, demo):
    client.force_login(staff_with("view_tokenproxy", "add_tokenproxy"))
    user = get_user_model().objects.get(username="offagent")

    response = client.post(f"{BASE}add/", {"user": user.pk}, follow=True)

    key = Token.objects.get(user=user).key
    assert f"<code>{key}</code>" in response.content.decode()
    assert key not in client.get(BASE).content.decode()


def test_adding_a_token_keeps_its_key_out_of_the_admin_log_and_the_history(client, demo):
    """Django's admin logs an addition as `obj.pk` / `str(obj)`: for a token,
    its key, kept in django_admin_log and shown in "Recent actions"."""
    from django.contrib.admin.models import LogEntry

    client.force_login(get_user_model().objects.get(username="admin"))
    user = get_user_model().objects.get(username="offagent")
    client.post(f"{BASE}add/", {"user": user.pk}, follow=True)  # the key, shown once
    key = Token.objects.get(user=user).key

    entry = LogEntry.objects.get()
    assert (entry.object_id, entry.object_repr) == (str(user.pk), "API token of offagent")
    index = client.get("/admin/").content.decode()
    history = client.get(f"{BASE}{user.pk}/history/")
    assert history.status_code == 200
    # The dashboard has no "Recent actions" (issue 29); the token's history page names it.
    assert "Recent actions" not in index and "API token of offagent" in history.content.decode()
    assert key not in index and key not in history.content.decode()
    assert "Added." in history.content.decode()  # the entry is found by the user's id


def test_the_demo_supervisor_may_rotate_and_revoke_tokens(client, dialer_token):
    client.force_login(get_user_model().objects.get(username="supervisor"))
    old = dialer_token.key

    client.post(f"{BASE}{dialer_token.user_id}/rotate/")
    new = Token.objects.get(user=dialer_token.user).key
    client.post(f"{BASE}{dialer_token.user_id}/revoke/")

    assert new != old
    assert not Token.objects.filter(user=dialer_token.user).exists()


def test_the_demo_auditor_may_not_rotate_a_token(client, dialer_token):
    client.force_login(get_user_model().objects.get(username="auditor"))

    response = client.post(f"{BASE}{dialer_token.user_id}/rotate/")

    assert response.status_code == 403
    assert Token.objects.get(user=dialer_token.user).key == dialer_token.key
