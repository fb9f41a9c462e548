"""The admin and the Swagger UI work in a real browser under the
Content-Security-Policy: their scripts run, nothing is blocked."""

import io
import shutil

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from lcm.models import Account

from .conftest import DEMO_PASSWORD

# The live server needs committed data; serialized_rollback restores what
# migrations wrote (the audit chain head) for the tests that follow.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def browser_page(live_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = browser.new_page()
        problems = []

        def on_console(message):
            # The browser's own /favicon.ico probe is no page's doing.
            if message.type == "error" and not message.location["url"].endswith("/favicon.ico"):
                problems.append(f"{message.text} ({message.location['url']})")

        page.on("console", on_console)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on(
            "response",
            lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
        )
        yield page, problems
        browser.close()


@pytest.fixture
def seeded(transactional_db):
    call_command("seed_demo", password=DEMO_PASSWORD, stdout=io.StringIO())
    return Account.objects.get(account_number="5|3|1|0|0|44|1").pk


def test_the_admin_logs_in_and_its_scripts_run_under_the_csp(seeded, live_server, browser_page):
    page, problems = browser_page

    response = page.goto(f"{live_server.url}/admin/login/")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    page.fill("#id_username", "admin")
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")

    # admin/js/admin/DateTimeShortcuts.js adds "Now" and the clock to a moment's field
    # (the lists have no bulk actions, whose script this test used to watch).
    page.goto(f"{live_server.url}/admin/lcm/donotcallnumber/add/")
    expect(page.locator(".datetimeshortcuts").first).to_be_visible()
    page.locator(".datetimeshortcuts").get_by_role("link", name="Now").click()
    assert page.locator("#id_expires_at_1").input_value()

    page.goto(f"{live_server.url}/admin/lcm/account/{seeded}/change/")
    assert page.get_by_text("6491462346").first.is_visible()

    assert problems == []


def test_the_swagger_ui_renders_the_schema_under_the_csp(live_server, browser_page):
    page, problems = browser_page

    response = page.goto(f"{live_server.url}/api/docs/")
    assert "script-src 'self'" in response.headers["content-security-policy"]

    # Rendered by Swagger UI's scripts from the schema they fetched.
    page.wait_for_selector("#operations-webservice-webservice", timeout=20_000)
    assert "lcm — List and Campaign Manager web services" in page.inner_text(".info .title")
    assert problems == []
