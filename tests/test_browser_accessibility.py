"""The console's pages pass axe-core (issue 14, "Done when"): no serious or
critical violation on any page a supervisor or an auditor opens, in
Chromium at 1366x768.

axe-core comes with the PyPI package axe-playwright-python (pinned in
requirements-dev.txt, which bundles axe-core's JavaScript). Every rule runs:
none is excluded.
"""

import io

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.management import call_command
from django.urls import reverse

from lcm.models import Account, Agent, Call, ModeChange

from .conftest import DEMO_PASSWORD
from .test_admin_browser import log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

DAVID = "5|3|1|0|0|44|1"
BLOCKING = {"serious", "critical"}


def console_pages(username):
    """(name, path, expected status) of every page to check."""
    account = Account.objects.get(account_number=DAVID)
    entry = ModeChange.objects.filter(account=account).order_by("seq").first()
    call = Call.objects.get(callid="12345")
    agent = Agent.objects.get(agent_id="testagent")
    pages = [
        ("dashboard", reverse("admin:index"), 200),
        ("accounts", reverse("admin:lcm_account_changelist"), 200),
        ("accounts searched", reverse("admin:lcm_account_changelist") + "?q=0143", 200),
        ("account", reverse("admin:lcm_account_change", args=[account.pk]), 200),
        ("audit log", reverse("admin:lcm_modechange_changelist"), 200),
        ("audit entry", reverse("admin:lcm_modechange_change", args=[entry.pk]), 200),
        ("do-not-call list", reverse("admin:lcm_donotcallnumber_changelist"), 200),
        ("calls", reverse("admin:lcm_call_changelist"), 200),
        ("call", reverse("admin:lcm_call_change", args=[call.pk]), 200),
        ("agents", reverse("admin:lcm_agent_changelist"), 200),
        ("agent", reverse("admin:lcm_agent_change", args=[agent.pk]), 200),
        ("contact modes", reverse("admin:lcm_contactmode_changelist"), 200),
        ("mode types", reverse("admin:lcm_modetype_changelist"), 200),
        ("not found", "/admin/nothing/here/", 404),
    ]
    if username == "supervisor":
        pages += [
            ("callbacks", reverse("admin:lcm_callback_changelist"), 200),
            ("change a number", reverse("admin:lcm_account_set_number", args=[account.pk]), 200),
            ("import accounts", reverse("admin:lcm_account_import"), 200),
            ("end a call", reverse("admin:lcm_call_end", args=[call.pk]), 200),
        ]
    else:
        pages += [
            ("forbidden", reverse("admin:lcm_account_set_number", args=[account.pk]), 403),
        ]
    return pages


def serious(page) -> list[str]:
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(", ".join(node["target"]) for node in v["nodes"][:5])
        for v in results.response["violations"]
        if v["impact"] in BLOCKING
    ]


def test_the_login_page_has_no_serious_violation(live_server, page):
    call_command("seed_demo", password=DEMO_PASSWORD, stdout=io.StringIO())
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(f"{live_server.url}/admin/login/")
    assert serious(page) == []
    # A failed login shows its error: still accessible.
    page.fill("#id_username", "supervisor")
    page.fill("#id_password", "wrong")
    page.click("input[type=submit]")
    page.locator(".errornote").wait_for()
    assert serious(page) == []


@pytest.mark.parametrize("username", ["supervisor", "auditor"])
def test_every_console_page_has_no_serious_violation(live_server, page, username):
    call_command("seed_demo", password=DEMO_PASSWORD, stdout=io.StringIO())
    page.set_viewport_size({"width": 1366, "height": 768})
    log_in(page, live_server, username)
    found = {}
    for name, path, status in console_pages(username):
        response = page.goto(live_server.url + path)
        assert response.status == status, (name, response.status)
        problems = serious(page)
        if problems:
            found[name] = problems
    assert found == {}, "\n".join(f"{name}: {p}" for name, ps in found.items() for p in ps)
