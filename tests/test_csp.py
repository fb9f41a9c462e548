"""The Content-Security-Policy headers (config.csp): the site's policy on
every response, exactly as django-csp builds it, built once per process."""

import pytest
from csp.utils import build_policy

from .conftest import WEBSERVICE, client_for, set_mode_body

SITE_POLICY = {
    "DIRECTIVES": {"default-src": ["'self'"], "object-src": ["'none'"]},
}


@pytest.mark.django_db
def test_every_kind_of_response_carries_the_policy_django_csp_builds(demo, client):
    expected = build_policy()
    assert "default-src 'self'" in expected

    api = client_for("testagent").post(WEBSERVICE, set_mode_body(), format="json")
    refused = client_for("testagent").post(WEBSERVICE, {"channel": 1}, format="json")
    login = client.get("/admin/login/")
    missing = client.get("/no-such-page/")

    for response in (api, refused, login, missing):
        assert response["Content-Security-Policy"] == expected
        assert "Content-Security-Policy-Report-Only" not in response
    assert (api.status_code, refused.status_code, login.status_code) == (200, 400, 200)


@pytest.mark.django_db
def test_a_changed_setting_changes_the_headers(demo, client, settings):
    settings.CONTENT_SECURITY_POLICY = SITE_POLICY
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {
        "EXCLUDE_URL_PREFIXES": ["/api/"],
        "DIRECTIVES": {"default-src": ["'none'"]},
    }

    page = client.get("/admin/login/")
    api = client_for("testagent").post(WEBSERVICE, set_mode_body(), format="json")

    # django-csp's own header for the new settings (its directive order is
    # its own business: it may differ between processes).
    policy = build_policy()
    assert set(policy.split("; ")) == {"default-src 'self'", "object-src 'none'"}
    assert page["Content-Security-Policy"] == policy
    assert page["Content-Security-Policy-Report-Only"] == "default-src 'none'"
    assert api["Content-Security-Policy"] == policy
    assert "Content-Security-Policy-Report-Only" not in api  # its prefix is excluded
