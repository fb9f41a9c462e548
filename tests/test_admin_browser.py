"""The supervisors' console in Debian's Chromium (Playwright), against the
live server: what a supervisor clicks, and what is stored after each step.

`serialized_rollback`: these tests commit (the live server is another
thread), and the flush after them would otherwise also erase what the
migrations created (the audit chain head, the Supervisors group).
"""

import io
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.http import QueryDict
from django.urls import reverse
from playwright.sync_api import expect

from lcm.actions import supervisor
from lcm.models import Account, Agent, Call, ModeChange

from .conftest import DEMO_ENTRIES, DEMO_PASSWORD, live_modes, snapshot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

DAVID = "5|3|1|0|0|44|1"
DAVID_AT_START = {1: "6491462346", 2: "2025550143"}


def view_only_user():
    """The demo auditor (seed_demo): the Auditors group's view-only rights."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username="auditor")
    assert not user.is_superuser
    assert user.groups.filter(name="Auditors").exists()
    return user


def log_in(page, live_server, username):
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_contain_text(username)


SEEDED = DEMO_ENTRIES  # the demo's entries: its import (#1 to #3), its do-not-call number


def entry(seq):
    """The `seq`-th entry after the demo's."""
    change = ModeChange.objects.select_related("reverts").get(seq=SEEDED + seq)
    return (
        change.action,
        change.username,
        change.source,
        change.mode_id,
        change.old_number,
        change.new_number,
        change.deleted_modes,
        change.reverts.seq - SEEDED if change.reverts else None,
    )


def change_number(page, mode_id, number, delete_others=False):
    form = page.locator("#set-number-form")
    form.locator("#id_mode_type").select_option(str(mode_id))
    form.locator("#id_number").fill(number)
    if delete_others:
        form.locator("#id_delete_other_modes").check()
    form.get_by_role("button", name="Change the number").click()


def test_a_supervisor_fixes_and_undoes_numbers_through_the_pages(live_server, page):
    call_command("seed_demo", password=DEMO_PASSWORD, stdout=io.StringIO())
    log_in(page, live_server, "supervisor")

    # Find the demo account by its LCM key.
    page.get_by_role("link", name="Accounts").click()
    page.fill("#searchbar", DAVID)
    page.press("#searchbar", "Enter")
    page.locator("#result_list").get_by_role("link", name=DAVID).click()
    expect(page.locator("#live-modes")).to_contain_text("6491462346")
    account_url = page.url

    # Change mode 3 (Mobile): added, audited with the supervisor as actor.
    change_number(page, 3, "600 123 456")
    expect(page.locator(".messagelist")).to_contain_text("Mode 3 now holds 600123456")
    assert live_modes(DAVID) == {**DAVID_AT_START, 3: "600123456"}
    assert entry(1) == ("set", "supervisor", "admin", 3, "", "600123456", [], None)

    # A do-not-call number is refused next to the field; nothing changes.
    before = snapshot()
    change_number(page, 1, "202-555-0199")
    expect(page.locator("#id_number_error")).to_have_text(
        "Number (202) 555-0199 is on the do-not-call list."
    )
    assert snapshot() == before

    # Mode 1 changed, the others deleted.
    page.goto(account_url)
    change_number(page, 1, "600999999", delete_others=True)
    # Issue 14: a confirmation names every number that will be deleted.
    expect(page.locator("#delete-confirm tbody tr")).to_have_count(2)
    expect(page.locator("#delete-confirm")).to_contain_text("(202) 555-0143")
    expect(page.locator("#delete-confirm")).to_contain_text("600123456")
    assert live_modes(DAVID) == {**DAVID_AT_START, 3: "600123456"}
    page.get_by_role("button", name="Yes, change mode 1 and delete 2 numbers").click()
    expect(page.locator(".messagelist")).to_contain_text(
        "Mode 1 now holds 600999999; deleted mode 2: (202) 555-0143 and mode 3: 600123456"
    )
    expect(page.locator("#live-modes")).to_contain_text("600999999")
    assert live_modes(DAVID) == {1: "600999999"}
    assert entry(2) == (
        "set",
        "supervisor",
        "admin",
        1,
        "6491462346",
        "600999999",
        [{"mode_id": 2, "number": "2025550143"}, {"mode_id": 3, "number": "600123456"}],
        None,
    )

    # Revert entry #2 from its audit entry: the confirmation shows each change.
    page.locator("#history").get_by_role("link", name=f"#{SEEDED + 2}", exact=True).click()
    page.get_by_role("link", name="Revert this change").click()
    changes = page.locator("#revert-changes tbody tr")
    expect(changes).to_have_count(3)
    expect(page.locator("#revert-changes")).to_contain_text("6491462346")
    page.get_by_role("button", name=f"Yes, revert entry #{SEEDED + 2}").click()
    expect(page.locator(".messagelist")).to_contain_text(
        f"Entry #{SEEDED + 2} reverted (audit entry #{SEEDED + 3})"
    )
    assert live_modes(DAVID) == {**DAVID_AT_START, 3: "600123456"}
    assert entry(3) == ("revert", "supervisor", "admin", 1, "600999999", "6491462346", [], 2)
    # #2 is reverted now: its row offers no "Revert…", its entry page no revert.
    expect(
        page.locator(f"#history tr[data-seq='{SEEDED + 2}']").get_by_role("link", name="Revert…")
    ).to_have_count(0)
    expect(page.locator(f"#history tr[data-seq='{SEEDED + 2}']")).to_contain_text(
        f"reverted by #{SEEDED + 3}"
    )

    # Revert entry #1 (mode 3 added): #2 and #3 since touched mode 3, so the
    # page says so and wants an explicit confirmation.
    page.locator(f"#history tr[data-seq='{SEEDED + 1}']").get_by_role(
        "link", name="Revert…"
    ).click()
    expect(page.locator("#superseded")).to_contain_text("This change was superseded")
    expect(page.locator("#superseded tbody tr")).to_have_count(2)
    before = snapshot()
    page.get_by_role("button", name=f"Yes, revert entry #{SEEDED + 1}").click()
    expect(page.locator(".errornote").last).to_contain_text(
        f"Later changes (#{SEEDED + 2}, #{SEEDED + 3})"
    )
    assert snapshot() == before
    page.get_by_label("Overwrite the later changes listed above").check()
    page.get_by_role("button", name=f"Yes, revert entry #{SEEDED + 1}").click()
    expect(page.locator(".messagelist")).to_contain_text(
        f"Entry #{SEEDED + 1} reverted (audit entry #{SEEDED + 4})"
    )
    assert live_modes(DAVID) == DAVID_AT_START
    assert entry(4) == ("revert", "supervisor", "admin", 3, "600123456", "", [], 1)

    # Restore the deleted mode 3 from the account page.
    page.get_by_role("button", name="Restore mode 3 600123456").click()
    expect(page.locator(".messagelist")).to_contain_text("Mode 3 restored: 600123456")
    assert live_modes(DAVID) == {**DAVID_AT_START, 3: "600123456"}
    assert entry(5) == ("restore", "supervisor", "admin", 3, "", "600123456", [], None)
    expect(page.locator("#history tbody tr")).to_have_count(5 + 2)  # and the demo's import


def nothing_to_submit(page):
    """No field to fill and no button to press in the page's content (the
    read-only admin page keeps a <form> element, with nothing in it), but
    for the account page's "As of…" (a GET that reads the log, changes nothing)."""
    fields = page.locator(
        ", ".join(
            f"#content {tag}:not(#as-of-form *)"
            for tag in ("input:not([type=hidden])", "select", "textarea", "button")
        )
    )
    expect(fields).to_have_count(0)
    for form in page.locator("#as-of-form").all():
        assert form.get_attribute("method") == "get"


def test_a_view_only_user_finds_no_way_to_change_anything(live_server, page):
    call_command("seed_demo", password=DEMO_PASSWORD, stdout=io.StringIO())

    from .test_admin_console import set_as_supervisor

    change = set_as_supervisor("600123456", delete_other_modes=True)
    assert supervisor.latest_seq(change.account) == SEEDED + 1
    view_only_user()
    account = Account.objects.get(account_number=DAVID)
    before = snapshot()
    log_in(page, live_server, "auditor")

    # No list offers to add or to act on rows.
    for model in ["account", "contactmode", "call", "agent", "donotcallnumber", "modetype"]:
        page.goto(live_server.url + reverse(f"admin:lcm_{model}_changelist"))
        expect(page.locator("#content h1")).to_be_visible()
        expect(page.locator(".addlink")).to_have_count(0)
        expect(page.locator("select[name=action]")).to_have_count(0)

    # The account page and the audit entry: read-only, no console forms.
    page.goto(live_server.url + reverse("admin:lcm_account_change", args=[account.pk]))
    expect(page.locator("#live-modes")).to_contain_text("600123456")
    expect(page.locator("#deleted-modes")).to_contain_text("6491462346")
    nothing_to_submit(page)
    expect(page.get_by_text("Revert")).to_have_count(0)
    page.locator("#history").get_by_role("link", name=f"#{SEEDED + 1}", exact=True).click()
    expect(page.locator("#content")).to_contain_text("600123456")
    expect(page.get_by_role("link", name="Revert this change")).to_have_count(0)
    nothing_to_submit(page)

    # The console's own pages refuse, typed in by hand.
    for url in [
        reverse("admin:lcm_account_set_number", args=[account.pk]),
        reverse("admin:lcm_account_revert", args=[account.pk, change.pk]),
    ]:
        response = page.goto(live_server.url + url)
        assert response.status == 403
    assert snapshot() == before


def test_a_supervisor_ends_a_stuck_call_and_logs_an_agent_out_with_a_reason(live_server, page):
    from lcm.models import Agent, AgentSessionEvent, Call, CallEvent

    call_command("seed_demo", password=DEMO_PASSWORD, stdout=io.StringIO())
    page.set_viewport_size({"width": 1366, "height": 768})
    log_in(page, live_server, "supervisor")

    # The call's page: no field to edit, the legitimate action offered.
    page.get_by_role("link", name="Calls").first.click()
    page.locator("#result_list").get_by_role("link", name="12345").click()
    nothing_to_submit(page)
    page.get_by_role("link", name="End this call…").click()
    expect(page.locator("#action-explain")).to_contain_text("Call 12345 of agent testagent")
    page.get_by_label("Reason").fill("   ")  # a blank reason: refused, said why
    page.get_by_role("button", name="End the call").click()
    expect(page.locator(".errorlist")).to_contain_text("Say why")
    assert Call.objects.get(callid="12345").state == "active"
    page.get_by_label("Reason").fill("Dialer crashed mid-call")
    page.get_by_role("button", name="End the call").click()
    expect(page.locator(".messagelist")).to_contain_text("(reason: Dialer crashed mid-call).")
    expect(page.locator("#call-history")).to_be_visible()
    expect(page.get_by_role("link", name="End this call…")).to_have_count(0)
    event = CallEvent.objects.filter(call__callid="12345").order_by("-pk").first()
    assert (event.event, event.username, event.reason) == (
        "ended",
        "supervisor",
        "Dialer crashed mid-call",
    )

    # The agent's page: "Logged in", never a raw field name; log out with a reason.
    agent = Agent.objects.get(agent_id="otheragent")
    page.goto(live_server.url + reverse("admin:lcm_agent_change", args=[agent.pk]))
    expect(page.locator("#content")).to_contain_text("Logged in")
    expect(page.locator("#content")).not_to_contain_text("Is logged in")
    page.get_by_role("link", name="Log out…").click()
    page.get_by_label("Reason").fill("Left the floor")
    page.get_by_role("button", name="Log the agent out").click()
    expect(page.locator(".messagelist")).to_contain_text("Agent otheragent logged out at ")
    expect(page.locator("#session-history")).to_be_visible()
    agent.refresh_from_db()
    assert not agent.is_logged_in
    assert AgentSessionEvent.objects.get(agent=agent).reason == "Left the floor"


LISTS = {
    "Accounts": "lcm_account_changelist",
    "Contact modes": "lcm_contactmode_changelist",
    "Calls": "lcm_call_changelist",
    "Agents": "lcm_agent_changelist",
    "Do-not-call numbers": "lcm_donotcallnumber_changelist",
    "Mode types": "lcm_modetype_changelist",
    "Audit log": "lcm_modechange_changelist",
}
RAW_NAMES = ["Is logged in", "CValue", "MODEID", "New number e164", "Client ip", "Not empty"]


@pytest.mark.parametrize("username", ["supervisor", "auditor"])
def test_every_console_page_speaks_the_supervisors_words_at_1366(live_server, page, username):
    from .test_admin_console import set_as_supervisor

    call_command("seed_demo", password=DEMO_PASSWORD, stdout=io.StringIO())
    set_as_supervisor("600123456", delete_other_modes=True)
    page.set_viewport_size({"width": 1366, "height": 768})
    missing = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    log_in(page, live_server, username)
    expect(page.locator("#content")).to_contain_text("Audit log")
    expect(page.locator("#content")).not_to_contain_text("Mode changes")
    # The index opens on the floor's figures, each a link to its list.
    expect(page.locator("#figure-active-calls")).to_contain_text("Active calls")
    expect(page.locator("#figure-active-calls .figure")).to_have_text("2")
    expect(page.locator("#figure-changes-last-hour .figure")).to_have_text(str(SEEDED + 1))
    page.locator("#figure-active-calls").get_by_role("link", name="Active calls").click()
    expect(page.locator("#content h1")).to_have_text("Calls")
    expect(page.locator("#result_list tbody tr")).to_have_count(2)

    for title, name in LISTS.items():
        page.goto(live_server.url + reverse(f"admin:{name}"))
        expect(page.locator("#content h1")).to_have_text(title)
        assert not page.get_by_text("to change").count(), title
        for raw in RAW_NAMES:
            expect(page.locator("#content")).not_to_contain_text(raw)

    # Filters and the sidebar in the supervisor's words, not the fields' names.
    page.goto(live_server.url + reverse("admin:lcm_modechange_changelist"))
    expect(page.locator("#changelist-filter")).to_contain_text("Source")
    expect(page.locator("#changelist-filter")).not_to_contain_text("source app")
    page.goto(live_server.url + reverse("admin:lcm_agent_changelist"))
    expect(page.locator("#changelist-filter")).to_contain_text("By logged in")
    expect(page.locator("#changelist-filter")).not_to_contain_text("is logged in")
    # No side menu (issue 29): the dashboard lists every page.
    expect(page.locator("#nav-sidebar")).to_have_count(0)
    page.goto(live_server.url + reverse("admin:index"))
    expect(page.locator("#content")).not_to_contain_text("Tokens")
    if username == "supervisor":
        expect(page.locator("#content")).to_contain_text("API tokens")
        page.goto(live_server.url + reverse("admin:lcm_callback_changelist"))
        expect(page.locator("#content h1")).to_have_text("Callbacks")
    page.goto(live_server.url + reverse("admin:app_list", args=["lcm"]))
    expect(page.locator("#content h1")).to_have_text("List and Campaign Manager")

    # A record's page is titled by the record, never "Change account".
    account = Account.objects.get(account_number=DAVID)
    records = {
        reverse("admin:lcm_account_change", args=[account.pk]): f"Account {DAVID} (David Berry)",
        reverse("admin:lcm_call_change", args=[Call.objects.get(callid="12345").pk]): "Call 12345",
        reverse("admin:lcm_agent_change", args=[Agent.objects.get(agent_id="testagent").pk]): (
            "Agent testagent"
        ),
        reverse("admin:lcm_modetype_change", args=[1]): "Mode type 1 Home",
        reverse("admin:lcm_modechange_change", args=[ModeChange.objects.get(seq=1).pk]): (
            f"Audit entry #1: {DAVID}, mode 1"
        ),
    }
    for url, title in records.items():
        page.goto(live_server.url + url)
        expect(page.locator("#content h1")).to_have_text(title)
        for django_word in ("Change ", "View "):
            assert not page.title().startswith(django_word), page.title()

    # Search by the last digits and by a former number: the row says which matched.
    page.goto(live_server.url + reverse("admin:lcm_account_changelist"))
    page.fill("#searchbar", "0143")
    page.press("#searchbar", "Enter")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("#result_list")).to_contain_text("last digits of a deleted number")
    page.fill("#searchbar", "+1 (649) 146-2346")
    page.press("#searchbar", "Enter")
    expect(page.locator("#result_list")).to_contain_text(DAVID)

    # The audit list fits: Call, By, Source and Action are on screen, no scroll.
    page.goto(live_server.url + reverse("admin:lcm_modechange_changelist"))
    for column in ("Call", "By", "Source", "Action"):
        header = page.locator("#result_list thead th", has_text=column).first
        box = header.bounding_box()
        assert box and box["x"] + box["width"] <= 1366, (column, box)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    widths = page.evaluate(
        "[...document.querySelectorAll('.results')].map(e => [e.scrollWidth, e.clientWidth])"
    )
    assert all(scroll <= client for scroll, client in widths), widths

    # A page that does not exist: styled, with the product's name and a way back.
    page.goto(live_server.url + "/admin/nothing/here/")
    expect(page.locator("#site-name")).to_contain_text("lcm — List and Campaign Manager")
    page.get_by_role("link", name="Back to the console").click()
    expect(page.locator("#content h1")).to_be_visible()
    assert not [url for url in missing if url.endswith("favicon.ico")], missing


def test_a_supervisor_uploads_a_list_previews_it_and_imports_it(live_server, page):
    """The upload, the preview of the first rows (nothing written), then the
    import queued: the page answers at once (no worker yet: 0 rows read)."""
    from .test_browser_accessibility import serious

    call_command("seed_demo", password=DEMO_PASSWORD, stdout=io.StringIO())
    page.set_viewport_size({"width": 1366, "height": 768})
    log_in(page, live_server, "supervisor")
    page.get_by_role("link", name="Accounts").click()
    page.get_by_role("link", name="Import accounts").click()
    expect(page.locator("#content h1")).to_have_text("Import accounts")

    # A file of the wrong type: a form error, nothing kept.
    page.get_by_label("Account list").set_input_files(
        files=[{"name": "accounts.xlsx", "mimeType": "application/octet-stream", "buffer": b"PK"}]
    )
    page.get_by_role("button", name="Preview the import").click()
    expect(page.locator("#id_file_error")).to_contain_text("Choose a .csv or a .jsonl")

    before = snapshot()
    content = (
        "AccountNumber,FirstName,LastName,Campaign,Mode1,Mode2\n"
        "1|1|1|0|0|44|1,Ada,Lovelace,Spring,2025550101,\n"
        f"{DAVID},David,Berry,Spring,,2025550177\n"
        "9|9|9,Bob,,Spring,12,\n"
    )
    page.get_by_label("Account list").set_input_files(
        files=[{"name": "spring.csv", "mimeType": "text/csv", "buffer": content.encode()}]
    )
    page.get_by_role("button", name="Preview the import").click()
    expect(page.locator("#content h1")).to_have_text("Preview of spring.csv")
    expect(page.locator("#count-added td")).to_have_text("1")
    expect(page.locator("#count-changed td")).to_have_text("1")
    expect(page.locator("#count-unchanged td")).to_have_text("0")
    expect(page.locator("#count-rejected td")).to_have_text("1")
    expect(page.locator("#import-rejected tbody tr")).to_contain_text("9|9|9")
    assert serious(page) == []
    assert snapshot() == before  # the preview wrote nothing

    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#content h1")).to_have_text("Import of spring.csv")
    expect(page.locator("#import-state-text")).to_have_text("Waiting for a worker")
    expect(page.locator("#import-through")).to_have_text("0")
    assert serious(page) == []
    assert snapshot() == before  # queued: the worker imports


@pytest.mark.postgres
def test_the_progress_moves_and_cancel_and_resume_work_in_the_browser(
    live_server, page, tmp_path, settings
):
    """A real worker process imports while the page polls: the bar moves,
    Cancel stops it after a batch, Resume finishes it; the summary."""
    from lcm.models import ImportJob

    from .test_import_jobs import list_file
    from .test_import_jobs_kill import worker_process

    settings.LCM_IMPORT_DIR = str(tmp_path / "imports")
    call_command("seed_demo", password=DEMO_PASSWORD, stdout=io.StringIO())
    log_in(page, live_server, "supervisor")
    page.goto(live_server.url + reverse("admin:lcm_account_import"))
    rows = 20_000
    page.get_by_label("Account list").set_input_files(
        files=[{"name": "big.csv", "mimeType": "text/csv", "buffer": list_file(rows, "W")}]
    )
    page.get_by_role("button", name="Preview the import").click()
    page.get_by_role("button", name="Import", exact=True).click()

    worker = worker_process(settings.LCM_IMPORT_DIR)
    try:
        # The bar moves without a reload.
        expect(page.locator("#import-state-text")).to_have_text("Importing", timeout=30_000)
        # The page's CSP forbids eval, so no wait_for_function: the bar's
        # value attribute (a <progress> reflects .value) leaves 0.
        expect(page.locator("#import-bar")).to_have_attribute(
            "value", re.compile(r"^(?!0(\.0*)?$)\d"), timeout=30_000
        )
        page.get_by_role("button", name="Cancel the import").click()
        expect(page.locator("#import-state-text")).to_have_text("Cancelled", timeout=30_000)
        job = ImportJob.objects.get()
        assert 0 < job.through < rows
        expect(page.get_by_role("button", name="Resume the import")).to_be_visible()

        page.get_by_role("button", name="Resume the import").click()
        expect(page.locator("#import-done")).to_be_visible(timeout=120_000)
    finally:
        worker.kill()
        worker.wait(10)
    job.refresh_from_db()
    assert job.state == "done" and job.through == rows
    expect(page.locator("#import-done")).to_contain_text(f"Imported {job.rows} rows of big.csv")
    expect(page.locator("#import-rejected tbody tr")).to_have_count(50)
    expect(page.locator("#import-events")).to_contain_text("Cancelled")
    expect(page.locator("#import-events")).to_contain_text("Resumed")
    with page.expect_download() as download:
        page.get_by_role("link", name="All rejected rows (CSV)").click()
    lines = Path(download.value.path()).read_text().splitlines()
    assert lines[0] == "line,LCM key,column,reason" and len(lines) == job.rejected + 1
    page.get_by_role("link", name="The audit entries of this import").click()
    expect(page.locator("#content h1")).to_contain_text("")
    assert (
        ModeChange.objects.filter(source=job.source).count() == job.modes_added + job.modes_changed
    )


def test_an_auditor_is_offered_no_import(live_server, page):
    call_command("seed_demo", password=DEMO_PASSWORD, stdout=io.StringIO())
    log_in(page, live_server, "auditor")
    page.goto(live_server.url + reverse("admin:lcm_account_changelist"))
    expect(page.locator("#export-csv")).to_be_visible()
    expect(page.get_by_role("link", name="Import accounts")).to_have_count(0)
    assert page.goto(live_server.url + reverse("admin:lcm_account_import")).status == 403


def test_a_supervisor_exports_the_filtered_and_searched_list_in_the_background(
    live_server, page, tmp_path, settings
):
    """The list filtered in the sidebar and searched, exported by the worker:
    the job's page says what, follows the worker by itself, and the file
    holds those rows only."""
    from lcm.actions import do_not_call
    from lcm.models import DoNotCallNumber, ExportJob

    from .test_import_jobs import work_off_the_queue

    settings.LCM_IMPORT_DIR = str(tmp_path / "imports")
    call_command("seed_demo", password=DEMO_PASSWORD, stdout=io.StringIO())
    for number in ("2025550188", "2025550177", "2025550166"):
        do_not_call.add_number(number=number, reason="Asked on the phone")
    do_not_call.lift(
        entry_pk=DoNotCallNumber.objects.get(number="2025550177").pk, reason="Added by mistake"
    )
    page.set_viewport_size({"width": 1366, "height": 768})
    log_in(page, live_server, "supervisor")
    page.goto(live_server.url + reverse("admin:lcm_donotcallnumber_changelist"))
    expect(page.locator("#export-job")).to_have_text("Export the whole list in the background")
    page.locator("#changelist-filter").get_by_role("link", name="Not lifted").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(3)  # the demo's and two
    page.fill("#searchbar", "2025550188")
    page.locator("#searchbar").press("Enter")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    page.get_by_role("button", name="Export this filtered list in the background").click()

    expect(page.locator("#export-what")).to_have_text(
        "Exporting do-not-call numbers, filtered: lifted: Not lifted; search “2025550188”."
    )
    expect(page.locator("#export-state")).to_contain_text("Waiting for a worker")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    work_off_the_queue()
    # The page reloads itself (no script) until the file is written.
    expect(page.locator("#export-file")).to_be_visible(timeout=20_000)
    expect(page.locator("#export-what")).to_contain_text("Exported do-not-call numbers, filtered")
    expect(page.locator("#export-expires")).to_contain_text("The file is kept until")
    with page.expect_download() as download:
        page.locator("#export-file").click()
    lines = Path(download.value.path()).read_text().splitlines()
    assert len(lines) == 2 and lines[1].startswith("number,2025550188,")
    job = ExportJob.objects.get()
    assert job.rows == 1
    assert sorted(QueryDict(job.query).items()) == [
        ("lifted_at__isempty", "1"),
        ("q", "2025550188"),
    ]
    page.screenshot(path=str(tmp_path / "export-job.png"))
