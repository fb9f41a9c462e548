"""Issue 32 in Debian's Chromium (Playwright) against the live server, at
1366 x 768: an auditor opens an account "As of…" two instants (consent
granted; then the number on the do-not-call list) and a call's "what we
knew when this was dialled" panel; the pages fit the window.

Real time (a live server and a browser session cannot share a frozen
clock): each step is followed by a whole second, the instant shown, so
the console's second-precision input names a moment between two entries.
`serialized_rollback`: these tests commit (the live server is another thread).
"""

from __future__ import annotations

import datetime as dt
import io
import time
import zoneinfo

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from lcm.actions import do_not_call, supervisor
from lcm.models import Account, Call

from .conftest import DEMO_PASSWORD, client_for
from .test_browser_console import MEASURE, log_in, user

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
DAVID = "5|3|1|0|0|44|1"
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def a_whole_second_later() -> dt.datetime:
    """The next whole second (after every entry written so far), once it has passed."""
    now = timezone.now()
    instant = now.replace(microsecond=0) + dt.timedelta(seconds=1)
    time.sleep((instant - now).total_seconds() + 0.05)
    return instant


def test_an_auditor_reads_an_account_as_of_two_instants_and_a_call_as_dialled(live_server, page):
    call_command("seed_demo", password=DEMO_PASSWORD, stdout=io.StringIO())
    david = Account.objects.get(account_number=DAVID)
    supervisor.change_mode_settings(
        account_id=david.pk, mode_id=2, consent=True, time_zone="", window=None,
        actor=user("supervisor"), expected_seq=None,
    )  # fmt: skip
    granted = a_whole_second_later()
    time.sleep(0.2)
    do_not_call.add_number(number="2025550143", actor=user("admin"))
    blocked = a_whole_second_later()
    dialled = client_for("dialer").post(
        "/api/lcm/calls/",
        {"callid": "seen-1", "AccountNumber": DAVID, "AgentID": "otheragent",
         "StartTime": blocked.isoformat()},
        format="json",
    )  # fmt: skip
    assert dialled.status_code == 201, dialled.content

    page.set_viewport_size({"width": 1366, "height": 768})
    log_in(page, live_server, "auditor")
    page.goto(live_server.url + reverse("admin:lcm_account_change", args=[david.pk]))
    form = page.locator("#as-of-form")
    expect(form).to_be_visible()
    expect(form).to_contain_text("As of…")

    def show(instant: dt.datetime):
        page.fill("#as-of-at", instant.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"))
        page.click("#as-of-form input[type=submit]")
        expect(page.locator("#as-of-facts")).to_contain_text(
            instant.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")  # the floor's zone
        )
        return page.locator('#as-of-modes tr[data-mode-id="2"]')

    row = show(granted)
    expect(row.locator(".consent")).to_contain_text("yes")
    expect(row.locator(".consent")).to_contain_text("supervisor")
    expect(row.locator(".dnc-state")).to_have_text("no")
    callee = granted.astimezone(NEW_YORK).strftime("%Y-%m-%d %H:%M %Z")
    expect(row.locator(".callee-time")).to_have_text(callee)  # the callee's zone
    expect(row.locator(".set-by")).to_contain_text("consent")
    assert page.evaluate(MEASURE) == []

    row = show(blocked)  # the same page's own form, for the next instant
    expect(row.locator(".dnc-state")).to_have_text("yes, this number")
    expect(row.locator(".callable")).to_have_text("no — on the do-not-call list")
    expect(row.locator(".set-by")).to_contain_text("do-not-call (number)")
    expect(page.locator('#as-of-modes tr[data-mode-id="1"] .dnc-state')).to_have_text("no")
    assert page.evaluate(MEASURE) == []
    assert page.locator("#as-of form, #as-of input[type=submit]").count() == 0  # read-only

    call = Call.objects.get(callid="seen-1")
    page.goto(live_server.url + reverse("admin:lcm_call_change", args=[call.pk]))
    panel = page.locator("#as-dialled")
    expect(panel.locator("h2")).to_have_text("What we knew when this was dialled")
    expect(panel.locator('tr[data-mode-id="2"] .dnc-state')).to_have_text("yes, this number")
    expect(panel.locator('tr[data-mode-id="2"] .consent')).to_contain_text("yes")
    assert page.evaluate(MEASURE) == []
