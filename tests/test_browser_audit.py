"""The auditors' list in a real browser: the filter forms keep each other's
values, a bad date says so, and Export CSV downloads what the list shows."""

import csv
import io
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command

from .audit_log import DEMO, make_log, seq
from .conftest import DEMO_PASSWORD

# The live server needs committed data; serialized_rollback restores what
# migrations wrote (the chain head, the Auditors group) for the next tests.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def auditor_page(live_server):
    """A browser logged in as the demo auditor (the database is set up first:
    no ORM call may run while Playwright's event loop does)."""
    from playwright.sync_api import sync_playwright

    call_command("seed_demo", password=DEMO_PASSWORD, stdout=io.StringIO())
    make_log()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = browser.new_page(accept_downloads=True)
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("#id_username", "auditor")
        page.fill("#id_password", DEMO_PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(f"{live_server.url}/admin/")
        yield page
        browser.close()


def filter_by(page, field: str, value: str) -> None:
    page.fill(f"#lcm-filter-{field}", value)
    page.click(f"form:has(#lcm-filter-{field}) input[type=submit]")
    page.wait_for_load_state()


def shown_seqs(page) -> list[str]:
    return page.locator("#result_list tbody th a").all_inner_texts()


def test_filter_export_and_a_bad_date_in_the_browser(live_server, auditor_page, tmp_path):
    page = auditor_page
    page.goto(f"{live_server.url}/admin/lcm/modechange/")
    # The test's three entries, then the demo's import.
    assert shown_seqs(page) == [str(n) for n in (seq(3), seq(2), seq(1), *DEMO)]

    filter_by(page, "agent", "testagent")
    assert shown_seqs(page) == [str(seq(3)), str(seq(1))]

    filter_by(page, "since", "2026-13-01")  # the agent filter rides along
    assert "agent=testagent" in page.url and "since=2026-13-01" in page.url
    assert "'2026-13-01' is not a date" in page.locator(".messagelist .error").inner_text()
    assert shown_seqs(page) == []

    filter_by(page, "since", "2000-01-01")
    assert page.locator("#lcm-filter-agent").input_value() == "testagent"
    assert shown_seqs(page) == [str(seq(3)), str(seq(1))]

    with page.expect_download() as download:
        page.click("text=Export CSV")
    saved = tmp_path / "export.csv"
    download.value.save_as(saved)
    rows = list(csv.DictReader(io.StringIO(Path(saved).read_text())))
    assert [(row["seq"], row["agent"]) for row in rows] == [
        (str(seq(3)), "testagent"),
        (str(seq(1)), "testagent"),
    ]
