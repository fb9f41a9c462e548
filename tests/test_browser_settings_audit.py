"""A supervisor edits a campaign and a state's rule in the console; an
auditor, in another browser, finds both entries in the audit log and reads on
each entry's page what changed, before → after, in the page's own words."""

import io
import shutil

import pytest
from django.core.management import call_command
from django.test import Client

from lcm.models import ModeChange, StateLaw

from .conftest import DEMO_PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _login(browser, base: str, username: str):
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/admin/")
    return page


def _save(page) -> None:
    page.click("input[type=submit][name=_save]")
    page.wait_for_load_state()
    assert "was changed successfully" in page.locator(".messagelist").inner_text()


def test_the_auditor_reads_what_a_supervisor_changed_in_a_campaign_and_a_state_rule(
    live_server,
):
    from playwright.sync_api import sync_playwright

    call_command("seed_demo", password=DEMO_PASSWORD, stdout=io.StringIO())
    base = live_server.url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        supervisor = _login(browser, base, "supervisor")
        supervisor.goto(f"{base}/admin/lcm/campaign/")
        supervisor.click("text=Spring")
        supervisor.fill("#id_modes-0-max_length", "14")
        supervisor.fill("#id_outcomes-1-description", "Not interested now")
        supervisor.click("text=Add another outcome")  # the floor's words, lower case
        supervisor.fill("#id_outcomes-3-outcome_id", "104")
        supervisor.fill("#id_outcomes-3-description", "Wrong person")
        _save(supervisor)

        supervisor.goto(f"{base}/admin/lcm/statelaw/")
        supervisor.locator("#result_list tbody tr a", has_text="TX").click()
        assert supervisor.input_value("#id_sat_end") == "21:00"  # HH:MM, not 21:00:00
        supervisor.fill("#id_sat_end", "20:00")
        supervisor.click("text=Add another barred date")
        supervisor.fill("#id_barred_dates-0-date", "2027-07-04")
        supervisor.fill("#id_barred_dates-0-note", "Independence Day")
        _save(supervisor)

        auditor = _login(browser, base, "auditor")
        auditor.goto(f"{base}/admin/lcm/modechange/")
        rows = auditor.locator("#result_list tbody tr")
        assert rows.nth(0).locator("td").nth(1).inner_text() == "State calling rule"
        assert rows.nth(0).locator("td").nth(2).inner_text() == "state TX"
        assert rows.nth(1).locator("td").nth(1).inner_text() == "Campaign settings"
        assert rows.nth(1).locator("td").nth(2).inner_text() == "campaign Spring"

        rows.nth(1).locator("th a").click()
        auditor.wait_for_load_state()
        assert auditor.locator("h1").inner_text().endswith(": campaign Spring")
        changes = auditor.locator(".field-details_detail .readonly").inner_text()
        assert changes.splitlines() == [
            "mode 1 longest number: 20 → 14",
            "outcome 102 description: Not interested → Not interested now",
            "outcome 104: — → description Wrong person, implies telephony outcome —",
        ]
        shown = auditor.locator("#content").inner_text()
        # A settings entry shows no account, call or number rows of "—".
        for row in ("Old number", "Also deleted", "Every mode it touched", "Call ID"):
            assert row not in shown, row

        auditor.go_back()
        auditor.locator("#result_list tbody tr").nth(0).locator("th a").click()
        auditor.wait_for_load_state()
        assert auditor.locator(".field-details_detail .readonly").inner_text().splitlines() == [
            "Saturday until: 21:00 → 20:00",
            "barred date 2027-07-04: — → note Independence Day",
        ]
        browser.close()
    assert ModeChange.objects.filter(action__in=["campaign", "state_law"]).count() == 2


def test_a_removed_state_rule_reads_as_removed():
    call_command("seed_demo", password=DEMO_PASSWORD, stdout=io.StringIO())
    supervisor, auditor = Client(), Client()
    assert supervisor.login(username="supervisor", password=DEMO_PASSWORD)
    assert auditor.login(username="auditor", password=DEMO_PASSWORD)
    law = StateLaw.objects.get(state="OK")
    response = supervisor.post(f"/admin/lcm/statelaw/{law.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    entry = ModeChange.objects.get(action="state_law")
    page = auditor.get(f"/admin/lcm/modechange/{entry.pk}/change/").content.decode()
    assert f"Audit entry #{entry.seq}: state OK" in page
    assert "State: OK → —" in page
    assert "Saturday from: " in page and " → —" in page
