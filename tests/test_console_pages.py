"""Issue 29, the console as a supervisor and an auditor read it: the
content of its pages through the real admin (Django's test client, real
database). The layout at 1366 and 1024 px is tests/test_browser_console.py.

The clock is frozen where a time is the subject: 2030-01-15 04:47 UTC is
23:47 of the 14th in New York (the issue's example) and 22:47 in Chicago.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from html import unescape
from urllib.parse import urljoin, urlsplit

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.urls import reverse

from lcm.actions import callbacks
from lcm.actions import do_not_call as dnc_actions
from lcm.actions import supervisor as console_actions
from lcm.models import Account, Callback, ContactMode, ModeChange

from .conftest import DEMO_ENTRIES, DEMO_PASSWORD, WEBSERVICE, client_for, envelope, live_modes

DAVID = "5|3|1|0|0|44|1"
NOW = dt.datetime(2030, 1, 15, 4, 47, tzinfo=dt.UTC)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def supervisor(demo, client):
    assert client.login(username="supervisor", password=DEMO_PASSWORD)
    return client


@pytest.fixture
def auditor(demo, client):
    assert client.login(username="auditor", password=DEMO_PASSWORD)
    return client


def david() -> Account:
    return Account.objects.get(account_number=DAVID)


def account_url() -> str:
    return reverse("admin:lcm_account_change", args=[david().pk])


def text(html: str) -> str:
    """What a person reads: no markup, no hover texts, no scripts."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def page(client, url, **params) -> str:
    response = client.get(url, params)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


def row(html: str, needle: str) -> str:
    """The table row (<tr>…</tr>) holding `needle` (e.g. data-mode-id="2")."""
    (found,) = [r for r in re.findall(r"<tr\b.*?</tr>", html, re.S) if needle in r]
    return found


def cells(row_html: str) -> list[str]:
    return [text(c).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row_html, re.S)]


def set_number(client, mode_id, number, **extra):
    return client.post(
        reverse("admin:lcm_account_set_number", args=[david().pk]),
        {
            "mode_type": mode_id,
            "number": number,
            "expected_seq": console_actions.latest_seq(david()),
            **extra,
        },
        follow=True,
    )


# --- 1. The callee's local time is the callee's ----------------------------------


def test_the_callees_local_time_is_written_in_the_callees_zone(clock, supervisor):
    html = page(supervisor, account_url())

    office = row(html, 'data-mode-id="2"')  # 2025550143: New York, from the number
    local = re.search(r'<span class="local-time">(.*?)</span>', office, re.S).group(1)
    assert text(local).strip() == "23:47"  # where it is 23:47, not the server's 04:47
    assert 'title="2030-01-15 04:47:00 UTC; 2030-01-15 04:47:00 UTC"' in local  # floor, UTC


# --- 12. Times in the floor's zone, UTC on hover; an end day as given ------------------


def test_times_are_the_floors_with_utc_on_hover_and_its_days_in_filters(
    clock, supervisor, settings
):
    settings.LCM_FLOOR_TIME_ZONE = "America/Chicago"
    set_number(supervisor, 3, "2025550177")
    entry = ModeChange.objects.get(seq=DEMO_ENTRIES + 1)

    log = page(supervisor, reverse("admin:lcm_modechange_changelist"))
    first = row(log, f'href="/admin/lcm/modechange/{entry.pk}/change/"')
    assert (
        '<time class="lcm-time" datetime="2030-01-15T04:47:00Z" title="2030-01-15 04:47:00 UTC">'
        "<span>2030-01-14</span> <span>22:47:00 CST</span></time>"
    ) in first
    # The days typed in the filters are the floor's too: the 15th in Chicago
    # starts at 06:00 UTC, after the entry.
    assert f">{entry.seq}</a>" in page(supervisor, log_url(), since="2030-01-14")
    assert f">{entry.seq}</a>" not in page(supervisor, log_url(), since="2030-01-15")
    # Django's own dates on the account page agree (the middleware).
    assert "2030-01-14 22:47:00 CST" in text(page(supervisor, account_url()))


def log_url() -> str:
    return reverse("admin:lcm_modechange_changelist")


def test_a_block_to_the_end_of_a_day_is_shown_by_that_day(clock, supervisor):
    """SetDNC's end day is blocked to its last moment (the next day's
    midnight is stored): the list says the day the agent gave."""
    agent = client_for("testagent")
    body = envelope(
        "SetDNC",
        callid="12345",
        AccountNumber=DAVID,
        AgentID="testagent",
        isPhoneNoDNC=True,
        ModeID=2,
        DNCBlockEndDate="31/12/2030",
    )
    assert agent.post(WEBSERVICE, body, format="json").status_code == 200

    listing = text(page(supervisor, reverse("admin:lcm_donotcallnumber_changelist")))

    assert "→ 2030-12-31 (inclusive)" in listing
    assert "2031-01-01" not in listing


# --- 7. One way to write a number -----------------------------------------------------


def test_a_number_is_written_one_way_on_every_page(supervisor):
    """Typed as 202.555.0177: (202) 555-0177 in the message, the account
    page, the audit log and the entry, the contact modes; as typed only on
    the mode's own page; its E.164 only on hover (and in the entry's field
    labelled E.164)."""
    done = set_number(supervisor, 3, "202.555.0177")
    entry = ModeChange.objects.get(seq=DEMO_ENTRIES + 1)
    mode = ContactMode.objects.get(account=david(), mode_type_id=3, deleted_at=None)
    entry_page = page(supervisor, reverse("admin:lcm_modechange_change", args=[entry.pk]))
    entry_page = re.sub(r'<div class="form-row field-new_number_international">.*?</div>\s*</div>',
                        "", entry_page, flags=re.S)  # fmt: skip
    pages = {
        "message": done.content.decode(),
        "account": page(supervisor, account_url()),
        "log": page(supervisor, log_url()),
        "entry": entry_page,
        "modes": page(supervisor, reverse("admin:lcm_contactmode_changelist")),
    }
    for name, html in pages.items():
        shown = text(html)
        assert "(202) 555-0177" in shown, name
        for other in ("+1 202-555-0177", "+12025550177", "2025550177", "202.555.0177"):
            assert other not in shown, (name, other)
    assert "Mode 3 now holds (202) 555-0177 (audit entry" in text(pages["message"])
    assert 'title="E.164 +12025550177"' in pages["account"]

    own = page(supervisor, reverse("admin:lcm_contactmode_change", args=[mode.pk]))
    assert "Typed as: 202.555.0177" in text(own)


def test_a_refusal_writes_the_number_the_console_way(supervisor):
    response = set_number(supervisor, 1, "+1 202 555 0199")  # the demo's listed number

    # The list holds it as 2025550199, its country unknown: written as stored.
    assert "Number (202) 555-0199 is on the do-not-call list (as 2025550199)." in text(
        response.content.decode()
    )


# --- 6. The audit views agree ------------------------------------------------------------


def test_a_callback_entry_reads_the_same_in_the_history_and_in_the_log(clock, supervisor):
    """Scheduled through the envelope, no source named: no old number (the
    entry changed no mode), its number, and "API", in both views."""
    agent = client_for("testagent")
    body = envelope(
        "SetCallbackWithComments",
        callid="12345",
        AccountNumber=DAVID,
        StartDate="15/01/2030",
        EndDate="15/01/2030",
        StartTime="10:00",
        EndTime="12:00",
        CallbackModeId=2,
        UserID="testagent",
        AgentComments="About the renewal",
    )
    assert agent.post(WEBSERVICE, body, format="json").status_code == 200, body
    entry = ModeChange.objects.get(action=ModeChange.Action.CALLBACK)

    history = cells(row(page(supervisor, account_url()), f'data-seq="{entry.seq}"'))
    log = cells(
        row(page(supervisor, log_url()), f'href="/admin/lcm/modechange/{entry.pk}/change/"')
    )

    # Entry | When | Action | Mode | Old | New | Also deleted | By (source) [| Revert]
    assert history[2:8] == ["Callback", "2", "—", "(202) 555-0143", "—", "testagent (API)"]
    # Seq | When | Action | Account | Mode | Old | New | Also deleted | Call | By (source)
    assert [log[2], log[4], log[5], log[6], log[7], log[9]] == history[2:8]


# --- 9. No Django leftovers, no dead links for a role ----------------------------------

LEFTOVERS = [
    "View site",
    "Recent actions",
    "None available",
    "doesn\u2019t have a change history",
    "Show counts",
    "Start typing to filter",
    "Model name",
    "Add link",
    "Save and add another",
    "Save and continue editing",
    "Select ",
    "to change",
    "MODEID",
    "ModeID</th>",
    "Soft-delete",
]


def links(html: str, base: str) -> list[str]:
    found = []
    for href in re.findall(r'<a [^>]*href="([^"#]+)"', html):
        url = urljoin(base, unescape(href))
        if urlsplit(url).path.startswith("/admin/") and "/logout/" not in url:
            found.append(url)
    return found


@pytest.mark.parametrize("username", ["supervisor", "auditor"])
def test_every_page_a_role_reaches_speaks_its_words_and_links_only_where_it_may_go(
    demo, client, username
):
    """From the dashboard, every link of every page the role can reach (one
    URL per path), with the demo's data and a change of each kind: each
    answers 200, none shows a Django default the floor would not use."""
    console_actions.set_mode_number_as_supervisor(
        account_id=david().pk,
        mode_id=1,
        contact_number="600999999",
        delete_other_modes=True,
        actor=get_user_model().objects.get(username="supervisor"),
        expected_seq=None,
    )
    assert client.login(username=username, password=DEMO_PASSWORD)
    seen, queue, visited = set(), ["/admin/"], 0
    while queue and visited < 120:
        url = queue.pop(0)
        path = urlsplit(url).path
        if path in seen:
            continue
        seen.add(path)
        response = client.get(url)
        visited += 1
        assert response.status_code == 200, f"{username}: {url} answers {response.status_code}"
        if getattr(response, "streaming", False) or "html" not in response["Content-Type"]:
            continue
        html = response.content.decode()
        breadcrumbs = re.search(r'<div class="breadcrumbs">(.*?)</div>', html, re.S)
        assert not breadcrumbs or "List and Campaign Manager" not in breadcrumbs.group(1), url
        assert 'class="historylink"' not in html, url
        for word in LEFTOVERS:
            assert word not in html, (username, url, word)
        queue.extend(links(html, url))
    assert visited > 20  # the walk reached the console's pages


def test_adding_a_block_says_one_thing(supervisor):
    response = supervisor.post(
        reverse("admin:lcm_donotcallnumber_add"),
        {"number": "+1 202-555-0188", "reason": "asked", "expires_at_0": "", "expires_at_1": ""},
        follow=True,
    )

    messages = [text(m).strip() for m in re.findall(r"<li class=\"[^\"]*\">(.*?)</li>",
                re.search(r'<ul class="messagelist">(.*?)</ul>', response.content.decode(),
                          re.S).group(1), re.S)]  # fmt: skip
    assert messages == [
        "(202) 555-0188 is on the do-not-call list. It blocks 0 live modes on 0 accounts, "
        "now shown as do-not-call."
    ]


# --- 10. Words ----------------------------------------------------------------------------


def test_the_account_page_says_yes_and_no_and_deleting_in_the_floors_words(supervisor):
    set_number(supervisor, 1, "600999999", delete_other_modes="on", confirm_delete="on")

    html = page(supervisor, account_url())

    assert "Delete the other numbers" in html and "Soft-delete" not in html
    assert "icon-no.svg" not in html and "icon-yes.svg" not in html
    live = cells(row(html, 'data-mode-id="1"'))
    deleted = cells(row(html.split('id="deleted-modes"')[1], 'data-mode-id="2"'))
    assert live[4] == "no" and deleted[2] == "no"  # Consent, one way in both tables


def test_a_cancelled_callback_shows_its_reason_as_a_reason(clock, supervisor):
    callback = schedule_callback()
    callbacks.cancel_as_supervisor(
        callback_id=callback.pk,
        reason="Customer moved",
        actor=get_user_model().objects.get(username="supervisor"),
    )

    listing = text(page(supervisor, reverse("admin:lcm_callback_changelist")))
    own = text(page(supervisor, reverse("admin:lcm_callback_change", args=[callback.pk])))

    assert "Cancelled: Customer moved" in listing
    assert "Reason or outcome: cancelled: Customer moved" in own
    assert "Outcome:" not in own


def schedule_callback() -> Callback:
    body = envelope(
        "SetCallbackWithComments",
        callid="12345",
        AccountNumber=DAVID,
        StartDate="15/01/2030",
        EndDate="15/01/2030",
        StartTime="10:00",
        EndTime="12:00",
        CallbackModeId=2,
        UserID="testagent",
    )
    reply = client_for("testagent").post(WEBSERVICE, body, format="json")
    assert reply.status_code == 200, reply.content
    return Callback.objects.get(pk=reply.json()["message"]["response"]["CallbackID"])


def test_an_import_names_a_column_as_the_file_does_on_every_row(demo, tmp_path):
    """The reader's rejection (a number too short) and the writer's (a
    number on the do-not-call list) both say "Home", the file's name."""
    from django.core.management import call_command
    from django.core.management.base import CommandError

    listed = tmp_path / "list.csv"
    listed.write_text(
        "AccountNumber,FirstName,Home\n7|1|1|0|0|44|1,Ann,12\n7|1|2|0|0|44|1,Bob,2025550199\n"
    )
    err = io.StringIO()
    with pytest.raises(CommandError):  # no row imported
        call_command("import_accounts", str(listed), stdout=io.StringIO(), stderr=err)

    lines = err.getvalue().splitlines()
    assert any("line 2" in line and ": Home: The number has 2 digits" in line for line in lines)
    assert any("line 3" in line and ": Home: Number 2025550199" in line for line in lines)
    assert "Mode1" not in err.getvalue()


# --- 11. The audit log: a search that matches nothing says so -----------------------


def test_a_search_that_matches_nothing_says_so(auditor):
    html = page(auditor, log_url(), q="9|9|9")

    assert "No audit entries match “9|9|9”." in text(html)


# --- 3. A revert into a do-not-call number: warned before, a way forward ---------------


@pytest.fixture
def blocked_revert(supervisor):
    """Entry: mode 1 set, David's mode 2 (2025550143) deleted with it; then
    2025550143 goes on the do-not-call list. Reverting the entry would put
    it back."""
    set_number(supervisor, 1, "600999999", delete_other_modes="on", confirm_delete="on")
    entry = ModeChange.objects.get(seq=DEMO_ENTRIES + 1)
    block, _ = dnc_actions.add_number(
        number="2025550143",
        reason="asked",
        actor=get_user_model().objects.get(username="supervisor"),
    )
    return entry, block


def revert_url(entry) -> str:
    return reverse("admin:lcm_account_revert", args=[entry.account_id, entry.pk])


def test_the_revert_page_warns_before_the_confirmation_and_offers_a_way_forward(
    supervisor, blocked_revert
):
    entry, block = blocked_revert

    html = page(supervisor, revert_url(entry))

    warning = re.search(r'<div class="module" id="revert-blocked">.*?</div>', html, re.S).group(0)
    assert "Mode 2: Number (202) 555-0143 is on the do-not-call list." in text(warning)
    lift = reverse("admin:lcm_donotcallnumber_lift", args=[block.pk])
    assert f'href="{lift}?next=%2Fadmin%2Flcm%2Faccount%2F' in warning
    assert "Yes, revert entry" not in html  # no confirmation that would only be refused
    assert "Revert the rest: leave mode 2 as it is" in html


def test_reverting_the_rest_leaves_the_blocked_mode_as_it_is(supervisor, blocked_revert):
    entry, _ = blocked_revert

    done = supervisor.post(
        revert_url(entry),
        {"expected_seq": console_actions.latest_seq(david()), "leave_blocked": "on"},
        follow=True,
    )

    assert live_modes(DAVID) == {1: "6491462346"}  # mode 1 back; mode 2 stays deleted
    revert = ModeChange.objects.get(reverts=entry)
    assert (revert.action, revert.mode_id, revert.old_number, revert.new_number) == (
        "revert",
        1,
        "600999999",
        "6491462346",
    )
    assert [m["mode_id"] for m in revert.modes] == [1]
    assert (
        f"Entry #{entry.seq} reverted (audit entry #{revert.seq}). Left as they are, their "
        "former number being on the do-not-call list: mode 2."
    ) in text(done.content.decode())


def test_lifting_the_block_from_the_warning_comes_back_to_the_whole_revert(
    supervisor, blocked_revert
):
    entry, block = blocked_revert
    back = revert_url(entry)
    lift = reverse("admin:lcm_donotcallnumber_lift", args=[block.pk])

    lifted = supervisor.post(f"{lift}?next={back}", {"reason": "Wrong number", "next": back})

    assert lifted.status_code == 302 and lifted["Location"] == back
    html = page(supervisor, back)
    assert 'id="revert-blocked"' not in html
    assert f'value="Yes, revert entry #{entry.seq}"' in html
    supervisor.post(back, {"expected_seq": console_actions.latest_seq(david())})
    assert live_modes(DAVID) == {1: "6491462346", 2: "2025550143"}


def test_a_lift_does_not_go_back_to_another_site(supervisor, blocked_revert):
    _, block = blocked_revert
    lift = reverse("admin:lcm_donotcallnumber_lift", args=[block.pk])

    lifted = supervisor.post(lift, {"reason": "Wrong number", "next": "https://evil.example/"})

    assert lifted["Location"] == reverse("admin:lcm_donotcallnumber_changelist")


def test_deleting_the_others_into_a_listed_number_is_refused_before_the_confirmation(supervisor):
    before = list(ContactMode.objects.values())

    response = set_number(supervisor, 1, "2025550199", delete_other_modes="on")

    html = response.content.decode()
    assert 'id="delete-confirm"' not in html  # no confirmation page first
    assert "Number (202) 555-0199 is on the do-not-call list." in text(html)
    assert list(ContactMode.objects.values()) == before


# --- 8. The account page opens on the live numbers; a change comes back to them ---------


def test_the_account_page_opens_on_the_live_modes_and_marks_a_change(supervisor):
    html = page(supervisor, account_url())
    assert html.index('id="live-modes"') < html.index('id="set-number"')
    assert html.index('id="set-number"') < html.index('id="account_form"')  # name, address

    done = set_number(supervisor, 3, "600123456")

    assert done.redirect_chain[-1][0] == account_url() + "?changed=3"
    assert 'id="mode-3" data-mode-id="3" class="lcm-changed"' in done.content.decode()


def test_a_bad_changed_parameter_marks_nothing_and_fails_nothing(supervisor):
    for value in ("x", "99999999999", "-1", "3%00"):
        html = page(supervisor, account_url(), changed=value)
        assert "lcm-changed" not in html


@pytest.mark.parametrize("value", ["Mars/Olympus", "america/chicago"])
def test_a_wrong_floor_zone_is_refused_by_the_check(value):
    from lcm.conf import SETTINGS

    assert SETTINGS["LCM_FLOOR_TIME_ZONE"].problem(value) is not None
    assert SETTINGS["LCM_FLOOR_TIME_ZONE"].problem("America/Chicago") is None


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"action__exact": "zzz"}, "Action: 'zzz' is not an action of the log."),
        ({"mode": "abc"}, "Mode: ModeID must be a whole number, e.g. 1."),
        ({"since": "yesterday"}, "Since: 'yesterday' is not a date."),
    ],
)
def test_a_bad_filter_value_is_said_never_a_500(auditor, params, message):
    html = page(auditor, log_url(), **params)

    assert message in text(html)
    assert 'id="result_list"' not in html or "0 entries" in text(html)
