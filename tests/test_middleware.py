"""Token-authenticated API requests step over the console's middleware
(config.middleware); everyone else still runs it, and the answers are the
ones Django's own middleware gives."""

import pytest
from django.conf import settings

from lcm.models import ModeChange

from .conftest import WEBSERVICE, client_for, set_mode_body

CONSOLE_ONLY = (
    "config.middleware.AuthenticationMiddleware",
    "config.middleware.MessageMiddleware",
    "config.middleware.FloorTimeZoneMiddleware",
)


def test_the_settings_keep_djangos_order_with_the_console_only_subclasses():
    assert "django.middleware.csrf.CsrfViewMiddleware" in settings.MIDDLEWARE  # security.W003
    assert [name for name in settings.MIDDLEWARE if name in CONSOLE_ONLY] == list(CONSOLE_ONLY)
    assert settings.MIDDLEWARE.index("django.contrib.sessions.middleware.SessionMiddleware") < (
        settings.MIDDLEWARE.index("config.middleware.AuthenticationMiddleware")
    )


@pytest.mark.django_db
def test_a_token_request_never_gets_a_user_of_the_session_or_messages(demo):
    response = client_for("testagent").post(WEBSERVICE, set_mode_body(), format="json")

    assert response.status_code == 200, response.content
    request = response.wsgi_request
    assert not request.session.accessed  # made by Django's middleware, never read
    assert not hasattr(request, "_messages")
    assert "Set-Cookie" not in response and "Vary" not in response
    assert request.user.username == "testagent"  # DRF's, from the token
    assert ModeChange.objects.latest("seq").username == "testagent"


@pytest.mark.django_db
@pytest.mark.parametrize("header", ["Token", "Token nosuchkey", "token nosuchkey"])
def test_a_bad_token_is_refused_as_before(demo, header):
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION=header)

    response = client.post(WEBSERVICE, set_mode_body(), format="json")

    assert response.status_code == 401
    assert response.json()["message"]["error"]["code"] == "authentication_failed"
    assert not hasattr(response.wsgi_request, "_messages")


@pytest.mark.django_db
def test_a_session_on_the_api_still_runs_the_whole_stack(demo_admin):
    """A supervisor trying the API from the docs page, signed in: session
    authentication needs the session and the session's user."""
    response = demo_admin.post(WEBSERVICE, set_mode_body(), content_type="application/json")

    assert response.status_code == 200, response.content  # the superuser acts for any agent
    assert hasattr(response.wsgi_request, "_messages")
    assert ModeChange.objects.latest("seq").username == "admin"


@pytest.mark.django_db
@pytest.mark.parametrize("header", [None, "Basic YTpi"])
def test_other_api_requests_run_the_whole_stack(demo, header):
    client = client_for(None)
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)

    response = client.post(WEBSERVICE, set_mode_body(), format="json")

    assert response.status_code == 401
    assert hasattr(response.wsgi_request, "_messages")


@pytest.mark.django_db
def test_a_token_header_outside_the_api_runs_the_whole_stack(demo):
    response = client_for("testagent").get("/admin/login/")

    assert response.status_code == 200
    assert hasattr(response.wsgi_request, "_messages")
    assert "csrftoken" in response.cookies
