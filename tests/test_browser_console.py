"""Issue 29 in Debian's Chromium (Playwright) against the live server: the
console as a supervisor and an auditor meet it at 1366 x 768 and 1024 x 768.

One walk per role measures every list and the record pages a role opens
(nothing wider than the window: `document.scrollingElement.scrollWidth`,
each column header's and each row action's right edge, also inside the
scrolling `.results` box) on a floor that has lived a little: blocks sent
by agents with their comments, a callback scheduled and one cancelled, a
change that deleted numbers and its revert, a long LCM key. The same walk
reads the words (no Django leftover) and the callee's local time. A second
walk is the supervisor's revert into a do-not-call number, warned before
the confirmation, lifted from the warning, and done.

Page content in detail is tests/test_console_pages.py (test client).
`serialized_rollback`: these tests commit (the live server is another thread).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zoneinfo

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from lcm.actions import callbacks, export_jobs
from lcm.actions import do_not_call as dnc_actions
from lcm.actions import supervisor as console_actions
from lcm.models import Account, Agent, Call, Callback, DoNotCallNumber, ExportJob, ModeChange

from .conftest import DEMO_PASSWORD, WEBSERVICE, client_for, envelope, live_modes
from .test_import_jobs import work_off_the_queue

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

DAVID = "5|3|1|0|0|44|1"
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
WIDTHS = (1366, 1024)
LONG_KEY = "9001|73|4412|0|0|44|" + "7" * 40  # a long LCM key, no space to break at

# Everything wider than the window, or cut off by a scrolling box: the page
# itself, every column header, every row's action (link or button).
MEASURE = """() => {
  const width = window.innerWidth, wide = [];
  const page = document.scrollingElement.scrollWidth;
  if (page > width) wide.push(`page scrollWidth ${page} > ${width}`);
  const visibleRight = (el) => {
    let right = width;
    for (let box = el.parentElement; box; box = box.parentElement) {
      if (getComputedStyle(box).overflowX !== 'visible')
        right = Math.min(right, box.getBoundingClientRect().right);
    }
    return right;
  };
  const shown = 'th, .lcm-row-action, td input[type=submit], td button';
  for (const el of document.querySelectorAll(shown)) {
    const box = el.getBoundingClientRect();
    if (!box.width || getComputedStyle(el).visibility === 'hidden') continue;
    if (el.closest('.visually-hidden')) continue;
    const right = visibleRight(el);
    if (box.right > right + 0.5)
      wide.push(`${el.tagName} "${el.innerText.trim().slice(0, 30)}" ends at ` +
                `${Math.round(box.right)} > ${Math.round(right)}`);
  }
  return wide;
}"""

LEFTOVERS = [
    "View site",
    "Recent actions",
    "Show counts",
    "Start typing to filter",
    "Save and add another",
    "MODEID",
    "Soft-delete",
    "List and Campaign Manager \u203a",  # the app in the breadcrumbs
]


def log_in(page, live_server, username):
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_contain_text(username)


def user(name):
    return get_user_model().objects.get(username=name)


def ny_day(days_ahead: int) -> str:
    return (timezone.now().astimezone(NEW_YORK) + dt.timedelta(days=days_ahead)).strftime(
        "%d/%m/%Y"
    )


def fill_the_floor() -> dict[str, str]:
    """The demo, and a day's work on it. Returns the record pages to open."""
    call_command("seed_demo", password=DEMO_PASSWORD, stdout=io.StringIO())
    agent = client_for("testagent")
    comments = "Asked twice, on the office line and then again at home; wants letters only."
    for body in (
        envelope("SetDNC", callid="12345", AccountNumber=DAVID, AgentID="testagent",
                 isPhoneNoDNC=True, ModeID=1, DNCBlockEndDate=ny_day(20),
                 AgentComments=comments),
        envelope("SetCallbackWithComments", callid="12345", AccountNumber=DAVID,
                 StartDate=ny_day(1), EndDate=ny_day(1), StartTime="10:00", EndTime="12:00",
                 CallbackModeId=2, UserID="testagent",
                 AgentComments="Call back about the renewal, after the meeting"),
        envelope("SetPersonalCallbackWithComments", callid="12345", AccountNumber=DAVID,
                 StartDate=ny_day(2), EndDate=ny_day(2), StartTime="14:00", EndTime="16:00",
                 CallbackModeId=2, UserID="testagent"),
    ):  # fmt: skip
        reply = agent.post(WEBSERVICE, body, format="json")
        assert reply.status_code == 200, reply.content
    boss = user("supervisor")
    cancelled = Callback.objects.order_by("pk").last()
    callbacks.cancel_as_supervisor(
        callback_id=cancelled.pk, reason="Customer moved abroad", actor=boss
    )
    dnc_actions.add_number(
        number="+1 202-555-0188",
        reason="Complained to the regulator about repeated calls in the evening",
        expires_at=timezone.now() + dt.timedelta(days=90),
        actor=boss,
    )
    change = console_actions.set_mode_number_as_supervisor(
        account_id=Account.objects.get(account_number=DAVID).pk,
        mode_id=3,
        contact_number="202.555.0177",
        delete_other_modes=True,
        actor=boss,
        expected_seq=None,
    )
    console_actions.revert_mode_change(change_id=change.pk, actor=boss, expected_seq=None,
                                       leave_blocked=True)  # fmt: skip
    Account.objects.create(
        account_number=LONG_KEY,
        first_name="Alexandrina-Margarethe",
        last_name="Featherstonehaugh-Cholmondeley",
        campaign_id="Spring",
    )
    david = Account.objects.get(account_number=DAVID)
    return {
        "account": reverse("admin:lcm_account_change", args=[david.pk]),
        "entry": reverse("admin:lcm_modechange_change", args=[change.pk]),
        "call": reverse("admin:lcm_call_change", args=[Call.objects.get(callid="12345").pk]),
        "agent": reverse(
            "admin:lcm_agent_change", args=[Agent.objects.get(agent_id="testagent").pk]
        ),
        "block": reverse(
            "admin:lcm_donotcallnumber_change",
            args=[DoNotCallNumber.objects.filter(account=david).get().pk],
        ),
        "callback": reverse("admin:lcm_callback_change", args=[cancelled.pk]),
    }


LISTS = [
    "lcm_account_changelist",
    "lcm_contactmode_changelist",
    "lcm_call_changelist",
    "lcm_agent_changelist",
    "lcm_donotcallnumber_changelist",
    "lcm_modetype_changelist",
    "lcm_modechange_changelist",
    "lcm_exportjob_changelist",
]
SUPERVISOR_ONLY = ["lcm_callback_changelist", "authtoken_tokenproxy_changelist"]


@pytest.mark.parametrize("username", ["supervisor", "auditor"])
def test_every_list_and_record_page_fits_1366_and_1024_in_the_floors_words(
    live_server, page, username, settings, tmp_path
):
    records = fill_the_floor()
    # Two exports written by the real worker: the supervisor's filtered
    # accounts (a long description) and the dialer's whole do-not-call list.
    settings.LCM_IMPORT_DIR = str(tmp_path / "imports")
    export_jobs.start("accounts", user("supervisor"), query="q=Featherstonehaugh-Cholmondeley")
    export_jobs.start("do_not_call", user("dialer"))
    work_off_the_queue()
    assert set(ExportJob.objects.values_list("state", flat=True)) == {"done"}
    records["export"] = reverse("admin:lcm_exportjob_change", args=[ExportJob.objects.first().pk])
    log_in(page, live_server, username)
    lists = [reverse(f"admin:{name}") for name in LISTS]
    if username == "supervisor":
        lists += [reverse(f"admin:{name}") for name in SUPERVISOR_ONLY]
        lists.append(reverse("admin:lcm_call_changelist") + "?state=all")
        records["import"] = reverse("admin:lcm_account_import")
        records["add a block"] = reverse("admin:lcm_donotcallnumber_add")
    else:
        records.pop("callback")  # the auditors read callbacks through the log
    pages = ["/admin/", *lists, reverse("admin:lcm_account_changelist") + "?q=2025550143",
             *records.values()]  # fmt: skip

    wide, words = [], []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 768})
        for url in pages:
            response = page.goto(live_server.url + url)
            assert response.status == 200, url
            wide += [f"{width} {url}: {problem}" for problem in page.evaluate(MEASURE)]
            shown = page.locator("body").inner_text()
            words += [f"{url}: {w}" for w in LEFTOVERS if w in shown]
    assert not wide, "\n".join(wide)
    assert not words, words

    # Finding 1: the callee's local time, in the callee's zone, on screen at once.
    page.goto(live_server.url + records["account"])
    office = page.locator("#live-modes tr[data-mode-id='2'] .local-time")
    shown = office.inner_text().strip()
    now = timezone.now().astimezone(NEW_YORK)
    assert shown in {f"{now:%H:%M}", f"{now - dt.timedelta(minutes=1):%H:%M}"}, shown
    # Finding 8: the page opens on the live modes, not on the name and address.
    assert page.locator("#live-modes").bounding_box()["y"] < 768
    assert page.locator("#account_form").bounding_box()["y"] > 768


def test_the_audit_log_filters_in_one_form_and_says_when_nothing_matches(live_server, page):
    fill_the_floor()
    log_in(page, live_server, "auditor")
    page.set_viewport_size({"width": 1024, "height": 768})
    page.goto(live_server.url + reverse("admin:lcm_modechange_changelist"))

    form = page.locator("#audit-filters")
    expect(form.locator("input[type=submit]")).to_have_count(1)
    form.get_by_label("AgentID").fill("testagent")
    form.get_by_label("Action").select_option("dnc")
    form.get_by_role("button", name="Filter").click()

    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Do-not-call")
    page.fill("#searchbar", "600000001")
    page.press("#searchbar", "Enter")
    expect(page.locator("#nothing-matches")).to_contain_text(
        "No audit entries match “600000001” with these filters."
    )


def test_a_supervisor_is_warned_before_reverting_into_a_listed_number_and_goes_on(
    live_server, page
):
    """Finding 3, with 7 and 8 on the way: the change deletes David's mode
    2; its number is then blocked. The revert page says so before any
    confirmation, lifts the block from there and comes back; the revert is
    then whole, and the account page shows the changed mode, marked, on
    screen, its number in the national format."""
    call_command("seed_demo", password=DEMO_PASSWORD, stdout=io.StringIO())
    log_in(page, live_server, "supervisor")
    page.set_viewport_size({"width": 1024, "height": 768})
    david = Account.objects.get(account_number=DAVID)
    page.goto(live_server.url + reverse("admin:lcm_account_change", args=[david.pk]))

    form = page.locator("#set-number-form")
    form.locator("#id_mode_type").select_option("3")
    form.locator("#id_number").fill("202.555.0177")
    form.get_by_label("Delete the other numbers").check()
    form.get_by_role("button", name="Change the number").click()
    page.get_by_role("button", name="Yes, change mode 3 and delete 2 numbers").click()
    changed = page.locator("#live-modes tr#mode-3")
    expect(changed).to_have_class("lcm-changed")
    expect(changed).to_contain_text("(202) 555-0177")
    expect(changed).to_be_in_viewport()
    change = ModeChange.objects.get(action="set", username="supervisor")
    dnc_actions.add_number(number="2025550143", reason="asked", actor=user("supervisor"))

    page.locator(f"#history tr[data-seq='{change.seq}']").get_by_role(
        "link", name="Revert…"
    ).click()
    warning = page.locator("#revert-blocked")
    expect(warning).to_contain_text("Mode 2: Number (202) 555-0143 is on the do-not-call list.")
    expect(page.get_by_role("button", name=re.compile("^Yes, revert"))).to_have_count(0)
    expect(
        page.get_by_role("button", name="Revert the rest: leave mode 2 as it is")
    ).to_be_visible()
    assert page.evaluate(MEASURE) == []

    warning.get_by_role("link", name="Lift the block…").click()
    page.get_by_label("Reason").fill("The customer asked to be called at the office again")
    page.get_by_role("button", name="Lift the block").click()
    expect(page.locator("#revert-blocked")).to_have_count(0)  # back on the revert page
    page.get_by_role("button", name=f"Yes, revert entry #{change.seq}").click()

    expect(page.locator(".messagelist")).to_contain_text(f"Entry #{change.seq} reverted")
    assert live_modes(DAVID) == {1: "6491462346", 2: "2025550143"}
    revert = ModeChange.objects.get(reverts=change)
    assert sorted(m["mode_id"] for m in revert.modes) == [1, 2, 3]
