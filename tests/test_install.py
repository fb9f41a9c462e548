"""lcm installed into someone else's Django project, as docs/install.md says.

For each host — a fresh `django-admin startproject`, once with Django's
default user model and once with a custom one — the test builds the wheel
with `python -m build`, installs it into a fresh virtualenv, adds the app and
`path("lcm/", include("lcm.urls"))`, runs `check`, `migrate` and `seed_demo`
on the database this suite runs on (SQLite, then PostgreSQL in `make test`'s
second pass), serves the host with `runserver`, and sends the spec's sample
request, GetContactModes, an auditor's list and a supervisor's admin login
and the dialer's calls and agent sessions over real HTTP, asserting the
exact replies.

The fresh virtualenv gets the wheel with its declared dependencies only, as
`pip install` resolves them from the package index (at the versions
requirements.txt pins, as constraints; the `postgres` extra on PostgreSQL):
a module lcm imports and pyproject.toml does not declare fails the first
import. No `lcm` is importable in it but the wheel's (the host runs outside
this repository, with a clean environment). tests/test_dependencies.py
checks the same statically, in a second.

The wheel is built from a copy of the sources, so that the SQLite and
PostgreSQL passes of `make test`, which run side by side, never share
setuptools' build folders.
"""

from __future__ import annotations

import http.client
import http.cookiejar
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import urllib.parse
import urllib.request
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from lcm import __version__
from lcm.api.views import SAMPLE_REQUEST, SAMPLE_RESPONSE

from .processes import BASE_DIR, free_port, wait_for

PASSWORD = "host-demo-pass-1"
DAVID = "5|3|1|0|0|44|1"
ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def run(args: list, *, cwd: Path, env: dict | None = None, timeout: float = 240):
    result = subprocess.run(  # noqa: S603 (our interpreters, our arguments)
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result


# What the sdist is made of (pyproject.toml's packages, package data, readme).
SOURCES = ["pyproject.toml", "lcm", "docs"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """`python -m build` of this checkout: an sdist, then the wheel built from it."""
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        origin = BASE_DIR / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(origin, source / name)
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--no-isolation", "--outdir", out, source], cwd=source)
    [built] = out.glob("*.whl")
    assert built.name == f"django_lcm-{__version__}-py3-none-any.whl"
    return built


@pytest.fixture(scope="module")
def venv(tmp_path_factory, wheel) -> Path:
    """A fresh virtualenv holding the wheel and what it declares, nothing else."""
    root = tmp_path_factory.mktemp("venv")
    run([sys.executable, "-m", "venv", "--without-pip", root], cwd=root)
    python = root / "bin" / "python"
    purelib = run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=root
    ).stdout.strip()
    # Our pins as constraints (a constraint may not name an extra).
    pins = (BASE_DIR / "requirements.txt").read_text()
    constraints = root / "constraints.txt"
    constraints.write_text(re.sub(r"\[[^\]]*\]", "", pins))
    target = f"{wheel}[postgres]" if ON_POSTGRES else str(wheel)
    pip = [sys.executable, "-m", "pip", "--python", python]
    run([*pip, "install", "--quiet", "-c", constraints, target], cwd=root, timeout=480)
    run([*pip, "check"], cwd=root)
    installed = run([*pip, "list", "--format", "json"], cwd=root).stdout
    names = {canonical(item["name"]) for item in json.loads(installed)}
    assert "django-environ" not in names and "pytest" not in names, names  # not ours to bring
    where = run([python, "-c", "import lcm; print(lcm.__file__)"], cwd=root).stdout
    assert where.startswith(purelib), where  # the wheel's lcm, not this checkout's
    return root


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


CUSTOM_USER_APP = {
    "accounts/__init__.py": "",
    "accounts/apps.py": """
        from django.apps import AppConfig

        class AccountsConfig(AppConfig):
            name = "accounts"
            default_auto_field = "django.db.models.BigAutoField"
        """,
    # Logs in by e-mail: no `username` field at all, its own primary key
    # name and table. (The demo users' "e-mail addresses" are their names.)
    "accounts/models.py": """
        from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
        from django.db import models

        class StaffManager(BaseUserManager):
            def create_user(self, email, password=None, **fields):
                user = self.model(email=email, **fields)
                user.set_password(password)
                user.save()
                return user

        class User(AbstractBaseUser, PermissionsMixin):
            staff_number = models.BigAutoField(primary_key=True)
            email = models.EmailField(unique=True)
            extension = models.CharField(max_length=10, blank=True)
            is_staff = models.BooleanField(default=False)
            is_active = models.BooleanField(default=True)

            USERNAME_FIELD = "email"
            objects = StaffManager()

            class Meta:
                db_table = "crm_staff"
        """,
    "accounts/admin.py": """
        from django.contrib import admin

        from .models import User

        admin.site.register(User, search_fields=["email"])
        """,
}


HOST_FACTS = """
from django.contrib.auth import get_user_model
from django.db import connection
User = get_user_model()
names = User.objects.order_by(User.USERNAME_FIELD).values_list(User.USERNAME_FIELD, flat=True)
print(connection.vendor, User._meta.db_table, ",".join(names))
from lcm.actions import compliance  # its US prefix table is package data of the wheel
print(compliance._state_of_number("+12025550143"))
"""


def database_settings(name: str) -> str:
    if not ON_POSTGRES:
        return ""  # startproject's own: db.sqlite3 in the host's folder
    db = settings.DATABASES["default"]
    return textwrap.dedent(f"""
        DATABASES = {{
            "default": {{
                "ENGINE": "django.db.backends.postgresql",
                "NAME": {name!r},
                "USER": {db["USER"]!r},
                "PASSWORD": {db["PASSWORD"]!r},
                "HOST": {db["HOST"]!r},
                "PORT": {str(db["PORT"])!r},
            }}
        }}
        """)


@pytest.fixture
def postgres_database():
    """A database of its own for the host on the suite's PostgreSQL, dropped after."""
    if not ON_POSTGRES:
        yield None
        return
    import psycopg

    db = settings.DATABASES["default"]
    name = f"host_{uuid.uuid4().hex[:12]}"
    params = {
        "host": db["HOST"],
        "port": db["PORT"],
        "user": db["USER"],
        "password": db["PASSWORD"],
        "dbname": "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**params) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield name
    with psycopg.connect(**params) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def make_host(root: Path, python: Path, *, custom_user: bool, database: str | None) -> Path:
    """`django-admin startproject crm`, then the few lines of docs/install.md."""
    run([python, "-m", "django", "startproject", "crm", root], cwd=root)
    apps = '"rest_framework", "rest_framework.authtoken", "django_tasks", "django_tasks_db", "lcm"'
    extra = (
        'TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", '
        '"QUEUES": ["default"]}}\n'
    )
    if custom_user:
        for path, text in CUSTOM_USER_APP.items():
            (root / path).parent.mkdir(exist_ok=True)
            (root / path).write_text(textwrap.dedent(text).lstrip())
        apps = '"accounts", ' + apps
        extra += 'AUTH_USER_MODEL = "accounts.User"\n'
    with (root / "crm" / "settings.py").open("a") as f:
        f.write(f"\nINSTALLED_APPS += [{apps}]\n{extra}{database_settings(database or '')}")
    urls = root / "crm" / "urls.py"
    text = urls.read_text()
    text = text.replace("from django.urls import path", "from django.urls import include, path")
    text = text.replace(
        "path('admin/', admin.site.urls),",
        "path('admin/', admin.site.urls),\n    path('lcm/', include('lcm.urls')),",
    )
    assert "include('lcm.urls')" in text
    urls.write_text(text)
    if custom_user:
        run([python, "manage.py", "makemigrations", "accounts"], cwd=root, env=clean_env())
    return root


def clean_env() -> dict:
    """No trace of this repository's settings: the host's manage.py decides."""
    keep = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR"}
    return {k: v for k, v in os.environ.items() if k in keep}


class Host:
    """The host served by `manage.py runserver` on a free port."""

    def __init__(self, root: Path, python: Path):
        self.root, self.python = root, python
        self.port = free_port()
        self.process = subprocess.Popen(  # noqa: S603
            [python, "manage.py", "runserver", "--noreload", f"127.0.0.1:{self.port}"],
            cwd=root,
            env=clean_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        wait_for(self._answers, f"the host's runserver on port {self.port}", timeout=60)

    def _answers(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"runserver exited: {self.process.stderr.read()}")
        try:
            self.request("GET", "/admin/login/")
        except OSError:
            return False
        return True

    def request(self, method: str, path: str, *, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(
                method, path, json.dumps(body) if body is not None else None, headers or {}
            )
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read().decode()
        finally:
            conn.close()

    def api(self, method: str, path: str, token: str, body=None, **headers):
        headers = {"Authorization": f"Token {token}", **headers}
        if body is not None:
            headers["Content-Type"] = "application/json"
        status, _, text = self.request(method, path, body=body, headers=headers)
        return status, json.loads(text)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=20)


def manage(host: Path, python: Path, *args: str) -> str:
    return run([python, "manage.py", *args], cwd=host, env=clean_env()).stdout


@pytest.mark.parametrize("custom_user", [False, True], ids=["default_user", "custom_user"])
def test_a_fresh_django_project_installs_the_wheel_and_serves_the_spec(
    tmp_path, venv, custom_user, postgres_database
):
    python = venv / "bin" / "python"
    host = make_host(tmp_path, python, custom_user=custom_user, database=postgres_database)

    assert "System check identified no issues" in manage(host, python, "check")
    manage(host, python, "migrate", "--noinput")
    seeded = manage(host, python, "seed_demo", "--password", PASSWORD)
    assert "Demo data ready." in seeded
    token = manage(host, python, "drf_create_token", "testagent").split()[2]
    auditor_token = manage(host, python, "drf_create_token", "auditor").split()[2]
    dialer_token = manage(host, python, "drf_create_token", "dialer").split()[2]
    # On the suite's database, with lcm's users in the host's own user table.
    facts = manage(host, python, "shell", "--no-imports", "-c", HOST_FACTS).split()
    assert facts == [
        "postgresql" if ON_POSTGRES else "sqlite",
        "crm_staff" if custom_user else "auth_user",
        "admin,auditor,dialer,offagent,otheragent,supervisor,testagent",
        "DC",
    ]

    server = Host(host, python)
    try:
        assert server.api("POST", "/lcm/webservice/", token, SAMPLE_REQUEST) == (
            200,
            SAMPLE_RESPONSE,
        )

        # The demo's David is in New York (08:00-21:00): callable by the clock.
        new_york = datetime.now(ZoneInfo("America/New_York"))
        element = {
            "ModeDesc": "Home",
            "CampaignID": "Spring",
            "ModeDialingStartTime": "08:00",
            "ModeDialingEndTime": "21:00",
            "TimeZone": "America/New_York",
            "TimeZone1": "",
            "TimeZone2": "",
            "TimeZone3": "",
            "PEWC": False,
            "ZipCode": "20500",
            "DNC": False,
            "Callable": 8 <= new_york.hour < 21,
            "ChannelType": "voice",
        }
        get_modes = {
            "channel": "LCM",
            "topic": "WebService",
            "subtopic": "GetContactModes",
            "data": {"callid": "12345", "AccountNumber": DAVID},
        }
        assert server.api("POST", "/lcm/webservice/", token, get_modes) == (
            200,
            {
                "channel": "LCM",
                "topic": "WebService",
                "subtopic": "SetContactModes",
                "message": {
                    "callid": "12345",
                    "response": {
                        "success": True,
                        "Contactmodes": [
                            {
                                **element,
                                "ModeID": 1,
                                "CValue": "961084836",
                                "AreaCode": "",
                                "E164": "",
                            },
                            {
                                **element,
                                "ModeID": 2,
                                "ModeDesc": "Office",
                                "CValue": "2025550143",
                                "AreaCode": "202",
                                "E164": "+12025550143",
                            },
                        ],
                    },
                },
            },
        )

        status, log = server.api("GET", "/lcm/mode-changes/", auditor_token)
        assert status == 200
        entry, *seeded = log["results"]  # and, before it, the demo's import and number
        assert [(e["seq"], e["action"], e["source"]) for e in seeded] == [
            (4, "dnc", "seed_demo"),
            (3, "import", "seed_demo"),
            (2, "import", "seed_demo"),
            (1, "import", "seed_demo"),
        ]
        assert datetime.fromisoformat(entry["created_at"])
        assert re.fullmatch(r"[0-9a-f]{64}", entry["hash"])
        assert re.fullmatch(r"[0-9a-f]{32}", entry["request_id"])
        ((touched,),) = [entry["modes"]]  # mode 1, its number before and after
        assert (touched["mode_id"], touched["before"]["number"], touched["after"]["number"]) == (
            1,
            "6491462346",
            "961084836",
        )
        assert log == {
            "next": None,
            "previous": None,
            "next_cursor": None,
            "previous_cursor": None,
            "results": [
                {
                    "seq": 5,
                    "created_at": entry["created_at"],
                    "action": "set",
                    "account": DAVID,
                    "callid": "12345",
                    "agent": "testagent",
                    "username": "testagent",
                    "source": "",  # the envelope named none
                    "mode": 1,
                    "old_number": "6491462346",
                    "new_number": "961084836",
                    "new_number_e164": "",
                    "deleted_modes": [],
                    "reverts_seq": None,
                    "client_ip": "127.0.0.1",
                    "request_id": entry["request_id"],
                    "erased": None,  # docs/audit.md, "Erasure"
                    "prev_hash": seeded[0]["hash"],
                    "hash": entry["hash"],
                    "modes": entry["modes"],  # the whole entry (below)
                    "do_not_call": None,
                    "callback": None,
                    "details": None,  # a number's change has no settings details
                    "business_fields": None,
                },
                *seeded,
            ],
        }
        # The dialer's door: a call delivered to an agent, and the agent's login.
        call = {
            "callid": "20001",
            "AccountNumber": DAVID,
            "AgentID": "offagent",
            "StartTime": "2026-11-26T15:00:00Z",
        }
        assert server.api("POST", "/lcm/calls/", dialer_token, call) == (
            201,
            {**call, "State": "active", "EndTime": None},
        )
        status, session = server.api("POST", "/lcm/agents/offagent/login/", dialer_token)
        assert (status, session["AgentID"], session["LoggedIn"]) == (200, "offagent", True)

        # The agent is no auditor; anything else under the prefix is lcm's JSON 404.
        assert server.api("GET", "/lcm/mode-changes/", token)[0] == 403
        status, missing = server.api("GET", "/lcm/nothing-here/", token)
        assert (status, missing) == (
            404,
            {"code": "unknown_endpoint", "message": "No API endpoint at /lcm/nothing-here/."},
        )

        admin_page = supervisor_session(server.port)
        # lcm's pages, in the host's admin and under the host's own branding.
        for expected in (
            "<title>Accounts | Django site admin</title>",  # issue 14: no "Select … to change"
            '<div id="site-name"><a href="/admin/">Django administration</a></div>',
            f">{DAVID}</a>",
        ):
            assert expected in admin_page, f"{expected!r} not on the page"
        assert "lcm — List and Campaign Manager" not in admin_page  # our branding stays home
    finally:
        server.stop()

    # The chain the host's database holds is the one the auditor was shown.
    verified = manage(host, python, "verify_audit")
    assert verified.strip() == f"Audit chain OK: 5 entries, head #5 {entry['hash']}"


def supervisor_session(port: int) -> str:
    """Log in to the host's admin as the demo supervisor and open lcm's accounts."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    base = f"http://127.0.0.1:{port}"
    login = f"{base}/admin/login/?next=/admin/lcm/account/"
    opener.open(login).read()
    csrf = next(c.value for c in jar if c.name == "csrftoken")
    form = urllib.parse.urlencode(
        {
            "username": "supervisor",
            "password": PASSWORD,
            "csrfmiddlewaretoken": csrf,
            "next": "/admin/lcm/account/",
        }
    ).encode()
    request = urllib.request.Request(login, data=form, headers={"Referer": login})  # noqa: S310
    with opener.open(request) as response:  # follows the redirect to the changelist
        assert response.url == f"{base}/admin/lcm/account/", response.url
        return response.read().decode()
