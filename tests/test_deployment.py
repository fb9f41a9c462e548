"""Production settings, proved on a real process: `check --deploy`, HTTPS,
security headers, the Content-Security-Policy, `/healthz`.

The production checks run `manage.py` (or a short script) in a subprocess
with the environment an operator would set, because settings are read once
per process.
"""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
HOST = "lcm.example.com"


def production_env(tmp_path, **overrides) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE", "DEBUG", "SECRET_KEY"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS=HOST,
        DATABASE_URL=f"sqlite:///{tmp_path / 'prod.sqlite3'}",
    )
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def run(args, env) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 (our own interpreter and manage.py)
        [sys.executable, *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_under_production_settings(tmp_path):
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env(tmp_path)
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_warns_when_an_operator_turns_https_off(tmp_path):
    env = production_env(tmp_path, SECURE_SSL_REDIRECT="false", SECURE_COOKIES="false")

    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)

    assert result.returncode != 0
    for warning in ("security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = run(["manage.py", "check"], production_env(tmp_path, SECRET_KEY=None))

    assert result.returncode != 0
    assert "Set the SECRET_KEY environment variable" in result.stderr


def test_production_refuses_a_malformed_throttle_rate(tmp_path):
    result = run(["manage.py", "check"], production_env(tmp_path, API_THROTTLE_RATE="lots"))

    assert result.returncode != 0
    assert "API_THROTTLE_RATE must look like 600/min" in result.stderr


PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client

# Production's manifest storage needs `collectstatic`, which is not this test.
settings.STORAGES = {**settings.STORAGES, "staticfiles": {
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}

client = Client()
def seen(response):
    return {
        "status": response.status_code,
        "headers": dict(response.headers),
        "cookies": {name: {"secure": bool(c["secure"]), "httponly": bool(c["httponly"])}
                    for name, c in response.cookies.items()},
        "body": response.content.decode()[:2000],
    }
print(json.dumps({
    "http_admin": seen(client.get("/admin/login/", HTTP_HOST="%(host)s")),
    "https_admin": seen(client.get("/admin/login/", HTTP_HOST="%(host)s", secure=True)),
    "proxied_admin": seen(client.get(
        "/admin/login/", HTTP_HOST="%(host)s", HTTP_X_FORWARDED_PROTO="https")),
    "http_healthz": seen(client.get("/healthz", HTTP_HOST="%(host)s")),
    "http_healthz_live": seen(client.get("/healthz/live", HTTP_HOST="%(host)s")),
    "other_host": seen(client.get("/healthz", HTTP_HOST="evil.example.net", secure=True)),
}))
""".replace("%(host)s", HOST)


def probe(env) -> dict:
    result = run(["-c", PROBE], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    return probe(production_env(tmp_path_factory.mktemp("prod")))


def test_plain_http_is_redirected_to_https(production):
    assert production["http_admin"]["status"] == 301
    assert production["http_admin"]["headers"]["Location"] == f"https://{HOST}/admin/login/"


def test_healthz_answers_over_plain_http_for_load_balancers(production):
    for name in ("http_healthz", "http_healthz_live"):
        assert production[name]["status"] == 200, name
        assert json.loads(production[name]["body"]) == {"status": "ok"}


def test_an_unknown_host_is_refused(production):
    assert production["other_host"]["status"] == 400


def test_https_pages_carry_the_security_headers(production):
    response = production["https_admin"]
    headers = response["headers"]

    assert response["status"] == 200
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    csp = dict(part.split(" ", 1) for part in headers["Content-Security-Policy"].split("; "))
    assert csp["default-src"] == "'self'"
    assert csp["script-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'"
    assert csp["object-src"] == "'none'"
    assert response["cookies"]["csrftoken"]["secure"] is True


def test_a_tls_proxy_header_is_ignored_unless_the_operator_trusts_it(production, tmp_path):
    assert production["proxied_admin"]["status"] == 301

    trusted = probe(production_env(tmp_path, BEHIND_TLS_PROXY="true"))

    assert trusted["proxied_admin"]["status"] == 200
    assert "Strict-Transport-Security" in trusted["proxied_admin"]["headers"]


# --- /healthz -----------------------------------------------------------------


@pytest.mark.django_db
def test_healthz_is_ready_without_authentication(client):
    """Ready: the database answers and takes writes. On PostgreSQL the write
    probe is two statements (lcm.health), in a transaction of its own; on
    SQLite one query and a look at the file's disk."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"].startswith("max-age=0")
    statements = [q["sql"] for q in queries if "SAVEPOINT" not in q["sql"]]  # the test's own
    if connection.vendor == "postgresql":
        assert statements[0] == "SELECT set_config('work_mem', '64kB', true)"
        assert "generate_series(1, 5000)" in statements[1]
        assert len(statements) == 2
    else:
        assert statements == ["SELECT 1"]


@pytest.mark.django_db
def test_healthz_live_asks_nothing_of_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz/live")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"].startswith("max-age=0")


def test_healthz_is_never_throttled(client, settings, demo):
    """Even for a signed-in user, whom the API's throttle would count."""
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username="admin"))
    settings.LCM_API_THROTTLE_RATE = "2/min"

    statuses = [client.get("/healthz").status_code for _ in range(5)]

    assert statuses == [200] * 5


@pytest.mark.django_db
def test_healthz_refuses_writes(client):
    assert client.post("/healthz").status_code == 405
    assert client.post("/healthz/live").status_code == 405


def test_healthz_is_503_with_a_reason_when_the_database_is_down(tmp_path):
    script = (
        "import django, json; django.setup()\n"
        "from django.test import Client\n"
        "r = Client().get('/healthz', HTTP_HOST='localhost')\n"
        "print(json.dumps([r.status_code, r.json()]))\n"
    )
    # Nothing listens on port 1: the connection is refused at once.
    env = production_env(
        tmp_path, DEBUG="true", DATABASE_URL="postgres://lcm:pw@127.0.0.1:1/lcm", ALLOWED_HOSTS=None
    )

    result = run(["-c", script], env)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [503, {"status": "error", "reason": "database unavailable"}]
    assert "healthz: the database did not answer" in result.stderr


@pytest.mark.tmpfs
def test_healthz_is_503_on_sqlite_when_the_database_disk_is_full(tmp_path):
    """Ready means writes can succeed: with the SQLite file's disk full (a
    real tmpfs, filled) every read still works, and /healthz says why
    writes will not; live stays 200."""

    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["/usr/bin/mount", "-t", "tmpfs", "-o", "size=2m", "lcm-full", disk], check=True)  # noqa: S603
    try:
        script = (
            "import django, json, sys; django.setup()\n"
            "from django.test import Client\n"
            "from tests.processes import fill_disk\n"
            "c = Client()\n"
            "before = c.get('/healthz', HTTP_HOST='localhost').status_code\n"
            "fill_disk(sys.argv[1])\n"
            "r = c.get('/healthz', HTTP_HOST='localhost')\n"
            "live = c.get('/healthz/live', HTTP_HOST='localhost')\n"
            "print(json.dumps([before, r.status_code, r.json(), live.status_code]))\n"
        )
        env = production_env(
            tmp_path, DEBUG="true", DATABASE_URL=f"sqlite:///{disk / 'db.sqlite3'}",
            ALLOWED_HOSTS=None,
        )  # fmt: skip

        result = run(["-c", script, str(disk / "filler")], env)
    finally:
        subprocess.run(["/usr/bin/umount", disk], check=True)  # noqa: S603

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        200,
        503,
        {"status": "error", "reason": "database disk full"},
        200,
    ]
    assert "healthz: database disk full" in result.stderr
