"""The supervisors' console through the real admin (Django's test client)."""

import re
from html import unescape

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import timezone

from lcm import errors
from lcm.actions import campaigns
from lcm.actions import supervisor as console_actions
from lcm.models import (
    Account,
    Agent,
    AgentSessionEvent,
    Call,
    CallEvent,
    ContactMode,
    DoNotCallNumber,
    ModeChange,
    ModeType,
)
from lcm.numbers import NOT_A_NUMBER, TOO_LONG

from .conftest import DEMO_ENTRIES, DEMO_PASSWORD, WEBSERVICE, live_modes, set_mode_body, snapshot
from .factories import CallFactory, UserFactory

DAVID = "5|3|1|0|0|44|1"
MARIA = "596|485|587|0|0|44|59"

# The demo wrote the first audit entries (seed_demo): its import, David's
# modes 1 and 2 as entries #1 and #2, Maria's mode 1 as #3; then its
# list-wide do-not-call number as #4.
SEEDED = DEMO_ENTRIES
DAVID_SEQ = 2  # David's latest entry before any test change


@pytest.fixture
def supervisor(demo, client):
    assert client.login(username="supervisor", password=DEMO_PASSWORD)
    return client


def david():
    return Account.objects.get(account_number=DAVID)


def set_number_url(account):
    return reverse("admin:lcm_account_set_number", args=[account.pk])


def change_url(account):
    return reverse("admin:lcm_account_change", args=[account.pk])


def revert_url(entry):
    return reverse("admin:lcm_account_revert", args=[entry.account_id, entry.pk])


def restore_url(mode):
    return reverse("admin:lcm_account_restore_mode", args=[mode.account_id, mode.pk])


def entry_fields(entry):
    return {
        "action": entry.action,
        "account_number": entry.account_number,
        "username": entry.username,
        "agent_code": entry.agent_code,
        "callid": entry.callid,
        "source": entry.source,
        "mode_id": entry.mode_id,
        "old_number": entry.old_number,
        "new_number": entry.new_number,
        "deleted_modes": entry.deleted_modes,
        "reverts": entry.reverts.seq if entry.reverts else None,
    }


def field_errors(response, field):
    html = response.content.decode()
    match = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', html, re.S)
    return re.findall(r"<li>(.*?)</li>", match.group(1)) if match else []


def supervisor_user():
    return get_user_model().objects.get(username="supervisor")


def set_as_supervisor(number, mode_id=3, delete_other_modes=False):
    return console_actions.set_mode_number_as_supervisor(
        account_id=david().pk,
        mode_id=mode_id,
        contact_number=number,
        delete_other_modes=delete_other_modes,
        actor=supervisor_user(),
        expected_seq=None,
    )


def replay(account_number, initial):
    """The live modes the audit log says the account has, entry by entry
    (from `initial`: the log holds the demo's import too)."""
    modes = dict(initial)
    for entry in ModeChange.objects.filter(account_number=account_number).order_by("seq"):
        before, after = console_actions.entry_effect(entry)
        assert modes.get(entry.mode_id) == (entry.old_number or None), f"at #{entry.seq}"
        assert {k: modes.get(k) for k in before} == before, f"at #{entry.seq}"
        for deleted in entry.deleted_modes:
            assert modes.pop(deleted["mode_id"]) == deleted["number"], f"at #{entry.seq}"
        for mode_id, number in after.items():
            if number is None:
                modes.pop(mode_id, None)
            else:
                modes[mode_id] = number
    return modes


# --- The group and the demo supervisor --------------------------------------


def test_the_supervisors_group_can_run_the_console_but_never_touch_the_audit_log(demo):
    user = supervisor_user()

    assert user.is_staff and not user.is_superuser
    assert list(user.groups.values_list("name", flat=True)) == ["Supervisors"]
    for perm in [
        "lcm.change_account",
        "lcm.view_call",
        "lcm.change_agent",
        "lcm.add_donotcallnumber",
        "lcm.delete_donotcallnumber",
        "lcm.change_modetype",
        "lcm.view_contactmode",
        "lcm.change_contactmode",
        "lcm.view_modechange",
    ]:
        assert user.has_perm(perm), perm
    for perm in [
        "lcm.add_modechange",
        "lcm.change_modechange",
        "lcm.delete_modechange",
        "lcm.delete_contactmode",
        "lcm.act_for_any_agent",
    ]:
        assert not user.has_perm(perm), perm


def test_a_supervisor_cannot_edit_or_delete_an_audit_entry(supervisor):
    entry = set_as_supervisor("600123456")
    before = snapshot()

    edit = supervisor.post(
        reverse("admin:lcm_modechange_change", args=[entry.pk]), {"new_number": "1"}
    )
    delete = supervisor.post(
        reverse("admin:lcm_modechange_delete", args=[entry.pk]), {"post": "yes"}
    )

    assert edit.status_code == 403
    assert delete.status_code == 403
    assert snapshot() == before


# --- The account page -------------------------------------------------------


@pytest.mark.parametrize("term", [DAVID, "Berry", "David Berry", "2025550143", "202-555-0143"])
def test_accounts_are_found_by_key_name_or_any_number(supervisor, term):
    response = supervisor.get(reverse("admin:lcm_account_changelist"), {"q": term})

    assert response.status_code == 200
    assert [a.account_number for a in response.context["cl"].result_list] == [DAVID]


def test_the_account_page_shows_modes_deleted_modes_calls_and_history(supervisor):
    account = david()
    set_as_supervisor("600123456", delete_other_modes=True)

    response = supervisor.get(change_url(account))

    assert response.status_code == 200
    html = response.content.decode()
    context = response.context
    assert [
        (m.mode_type_id, m.number, m.changed_by) for m in (c.mode for c in context["live_modes"])
    ] == [(3, "600123456", "supervisor")]
    assert sorted((m.mode_type_id, m.number) for m in context["deleted_modes"]) == [
        (1, "6491462346"),
        (2, "2025550143"),
    ]
    assert {c.callid for c in context["calls"]} == {"12345", "12300", "12301"}
    assert [e.seq for e in context["history"]] == [SEEDED + 1, 2, 1]  # and the demo's import
    assert 'value="Restore"' in html
    assert 'name="account_number"' not in html  # the LCM key is set once
    assert reverse("admin:lcm_modechange_change", args=[context["history"][0].pk]) in html
    assert "/admin/lcm/modechange/?q=5%7C3%7C1%7C0%7C0%7C44%7C1" in html


def test_the_account_page_caps_its_history_and_links_to_the_filtered_audit_log(supervisor):
    for i in range(22):
        set_as_supervisor(f"60012{i:04d}")

    response = supervisor.get(change_url(david()))

    assert [e.seq for e in response.context["history"]] == list(range(SEEDED + 22, SEEDED + 2, -1))
    assert response.context["more_history"]
    assert response.context["audit_url"].endswith("?q=5%7C3%7C1%7C0%7C0%7C44%7C1")
    audit = supervisor.get(response.context["audit_url"])
    assert [e.seq for e in audit.context["cl"].result_list] == [
        *range(SEEDED + 22, SEEDED, -1),
        2,
        1,
    ]


def test_the_account_page_links_to_all_its_deleted_modes_and_calls(supervisor):
    account = david()
    set_as_supervisor("600123456", delete_other_modes=True)
    context = supervisor.get(change_url(account)).context

    deleted = supervisor.get(context["deleted_modes_url"])
    calls = supervisor.get(context["calls_url"])

    assert sorted(m.number for m in deleted.context["cl"].result_list) == [
        "2025550143",
        "6491462346",
    ]
    assert sorted(c.callid for c in calls.context["cl"].result_list) == ["12300", "12301", "12345"]


# --- Changing a number ------------------------------------------------------


def test_a_supervisor_changes_a_number_through_the_service(supervisor):
    account = david()

    response = supervisor.post(
        set_number_url(account),
        {"mode_type": 3, "number": " 600-123 456 ", "expected_seq": DAVID_SEQ},
        REMOTE_ADDR="10.9.8.7",
        HTTP_X_REQUEST_ID="req-admin-1",
    )

    assert response.status_code == 302
    # Back to the account page, the changed mode marked (issue 29).
    assert response["Location"] == change_url(account) + "?changed=3"
    assert live_modes(DAVID) == {1: "6491462346", 2: "2025550143", 3: "600123456"}
    entry = ModeChange.objects.get(seq__gt=SEEDED)
    assert entry_fields(entry) == {
        "action": "set",
        "account_number": DAVID,
        "username": "supervisor",
        "agent_code": "",
        "callid": "",
        "source": "admin",
        "mode_id": 3,
        "old_number": "",
        "new_number": "600123456",
        "deleted_modes": [],
        "reverts": None,
    }
    assert entry.user == supervisor_user()
    assert (entry.client_ip, entry.request_id) == ("10.9.8.7", "req-admin-1")
    mode = ContactMode.objects.get(account=account, mode_type_id=3, deleted_at=None)
    assert (mode.number_as_given, mode.changed_by, mode.has_consent) == (
        "600-123 456",
        "supervisor",
        False,
    )


def test_delete_other_modes_first_names_every_number_it_will_delete(supervisor):
    set_as_supervisor("600123456")  # mode 3: David now has modes 1, 2 and 3
    before = snapshot()

    response = supervisor.post(
        set_number_url(david()),
        {
            "mode_type": 1,
            "number": "600999999",
            "delete_other_modes": "on",
            "expected_seq": SEEDED + 1,
        },
    )

    assert response.status_code == 200
    page = response.content.decode()
    confirm = page[page.index('id="delete-confirm"') :]
    assert "2025550143" in confirm and "600123456" in confirm and "6491462346" not in confirm
    assert "Yes, change mode 1 and delete 2 numbers" in page
    assert snapshot() == before

    done = supervisor.post(
        set_number_url(david()),
        {
            "mode_type": 1,
            "number": "600999999",
            "delete_other_modes": "on",
            "confirm_delete": "on",
            "expected_seq": SEEDED + 1,
        },
        follow=True,
    )

    assert live_modes(DAVID) == {1: "600999999"}
    assert (
        f"Mode 1 now holds 600999999; deleted mode 2: (202) 555-0143 and mode 3: 600123456 "
        f"(audit entry #{SEEDED + 2})." in unescape(done.content.decode())
    )


def test_delete_other_modes_with_nothing_else_live_needs_no_confirmation(supervisor):
    set_as_supervisor("600123456", mode_id=1, delete_other_modes=True)

    response = supervisor.post(
        set_number_url(david()),
        {
            "mode_type": 1,
            "number": "600999999",
            "delete_other_modes": "on",
            "expected_seq": SEEDED + 1,
        },
    )

    assert response.status_code == 302
    assert live_modes(DAVID) == {1: "600999999"}


def test_deleting_the_other_modes_keeps_their_numbers_in_the_entry(supervisor):
    # Issue 14: "Delete other modes" is now confirmed first (confirm_delete).
    response = supervisor.post(
        set_number_url(david()),
        {
            "mode_type": 1,
            "number": "600123456",
            "delete_other_modes": "on",
            "confirm_delete": "on",
            "expected_seq": DAVID_SEQ,
        },
    )

    assert response.status_code == 302
    assert live_modes(DAVID) == {1: "600123456"}
    entry = ModeChange.objects.get(seq__gt=SEEDED)
    assert (entry.old_number, entry.deleted_modes) == (
        "6491462346",
        [{"mode_id": 2, "number": "2025550143"}],
    )


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        # The console writes the number its way: national format, the country known.
        ({"number": "2025550199"}, "number", "Number (202) 555-0199 is on the do-not-call list."),
        ({"number": "202 555 0199"}, "number", "Number (202) 555-0199 is on the do-not-call list."),
        ({"number": "call me"}, "number", NOT_A_NUMBER),
        ({"number": "1" * 21}, "number", TOO_LONG.format(n=21, mode="Mobile", max=20)),
        ({"number": ""}, "number", "This field is required."),
        ({"mode_type": 9}, "mode_type", None),
    ],
)
def test_a_refused_change_shows_the_reason_next_to_the_field_and_changes_nothing(
    supervisor, data, field, reason
):
    before = snapshot()

    response = supervisor.post(
        set_number_url(david()),
        {"mode_type": 3, "number": "600123456", "expected_seq": DAVID_SEQ, **data},
    )

    assert response.status_code == 200
    reasons = field_errors(response, field)
    assert reasons if reason is None else reasons == [reason]
    assert snapshot() == before


def test_mode_type_bounds_are_the_services_own(supervisor):
    ModeType.objects.filter(pk=3).update(min_length=9, max_length=9)
    before = snapshot()

    response = supervisor.post(
        set_number_url(david()), {"mode_type": 3, "number": "12345678", "expected_seq": DAVID_SEQ}
    )

    assert field_errors(response, "number") == [
        "The number has 8 digits; Mobile numbers need at least 9."
    ]
    assert snapshot() == before


def test_a_stale_form_is_refused_and_comes_back_current(supervisor):
    account = david()
    set_as_supervisor("600123456")  # someone else, after the page was shown (at the demo's seq)
    before = snapshot()

    response = supervisor.post(
        set_number_url(account), {"mode_type": 1, "number": "600999999", "expected_seq": DAVID_SEQ}
    )

    assert response.status_code == 200
    assert errors.STALE_FORM.format(account=DAVID, seq=SEEDED + 1) in response.content.decode()
    assert response.context["form"]["expected_seq"].value() == str(SEEDED + 1)
    assert snapshot() == before


def test_a_user_without_change_permission_gets_no_form_and_a_403(demo, client):
    viewer = UserFactory(username="viewer", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename__startswith="view_"))
    client.force_login(viewer)
    account = david()
    entry = set_as_supervisor("600123456", delete_other_modes=True)
    deleted = ContactMode.objects.filter(deleted_at__isnull=False).first()
    before = snapshot()

    page = client.get(change_url(account))
    posts = [
        client.post(
            set_number_url(account), {"mode_type": 3, "number": "1234", "expected_seq": SEEDED + 1}
        ),
        client.post(revert_url(entry), {"expected_seq": SEEDED + 1}),
        client.post(restore_url(deleted), {"expected_seq": SEEDED + 1}),
    ]

    assert page.status_code == 200
    assert page.context["set_number_form"] is None
    html = page.content.decode()
    assert "Restore" not in html and "Revert" not in html and 'name="_save"' not in html
    assert [r.status_code for r in posts] == [403, 403, 403]
    assert snapshot() == before


def test_the_service_refuses_a_user_without_change_permission(demo):
    user = UserFactory(username="viewer2", is_staff=True)

    with pytest.raises(errors.NotAllowed):
        console_actions.set_mode_number_as_supervisor(
            account_id=david().pk,
            mode_id=3,
            contact_number="600123456",
            delete_other_modes=False,
            actor=user,
            expected_seq=None,
        )
    assert not ModeChange.objects.filter(seq__gt=SEEDED).exists()


# --- Revert -----------------------------------------------------------------


def test_reverting_a_change_puts_the_old_numbers_back_and_names_the_entry(supervisor):
    entry = set_as_supervisor("600123456", mode_id=1, delete_other_modes=True)

    page = supervisor.get(revert_url(entry))
    response = supervisor.post(revert_url(entry), {"expected_seq": SEEDED + 1})

    assert page.context["plan"].changes == [(1, "600123456", "6491462346"), (2, None, "2025550143")]
    assert response.status_code == 302
    assert live_modes(DAVID) == {1: "6491462346", 2: "2025550143"}
    revert = ModeChange.objects.get(seq=SEEDED + 2)
    assert entry_fields(revert) == {
        "action": "revert",
        "account_number": DAVID,
        "username": "supervisor",
        "agent_code": "",
        "callid": "",
        "source": "admin",
        "mode_id": 1,
        "old_number": "600123456",
        "new_number": "6491462346",
        "deleted_modes": [],
        "reverts": SEEDED + 1,
    }
    assert replay(DAVID, {}) == live_modes(DAVID)


def test_reverting_an_added_mode_deletes_it(supervisor):
    entry = set_as_supervisor("600123456")

    response = supervisor.post(revert_url(entry), {"expected_seq": SEEDED + 1})

    assert response.status_code == 302
    assert live_modes(DAVID) == {1: "6491462346", 2: "2025550143"}
    revert = ModeChange.objects.get(seq=SEEDED + 2)
    assert (revert.mode_id, revert.old_number, revert.new_number, revert.reverts) == (
        3,
        "600123456",
        "",
        entry,
    )


def test_reverting_a_superseded_change_shows_the_later_ones_and_needs_confirmation(supervisor):
    first = set_as_supervisor("600111111")
    later = set_as_supervisor("600222222")
    set_as_supervisor("600333333", mode_id=1)  # another mode: does not supersede
    before = snapshot()

    page = supervisor.get(revert_url(first))
    refused = supervisor.post(revert_url(first), {"expected_seq": SEEDED + 3})

    assert [e.seq for e in page.context["plan"].superseded_by] == [later.seq]
    assert "This change was superseded" in page.content.decode()
    assert (
        errors.SUPERSEDED.format(seqs=f"#{SEEDED + 2}", seq=SEEDED + 1) in refused.content.decode()
    )
    assert snapshot() == before

    done = supervisor.post(
        revert_url(first), {"expected_seq": SEEDED + 3, "confirm_superseded": "on"}
    )

    assert done.status_code == 302
    assert live_modes(DAVID) == {1: "600333333", 2: "2025550143"}
    revert = ModeChange.objects.get(seq=SEEDED + 4)
    assert (revert.old_number, revert.new_number, revert.reverts) == ("600222222", "", first)


def test_a_change_cannot_be_reverted_twice_but_a_revert_can_be_reverted(supervisor):
    entry = set_as_supervisor("600123456", mode_id=2, delete_other_modes=True)
    console_actions.revert_mode_change(
        change_id=entry.pk, actor=supervisor_user(), expected_seq=SEEDED + 1
    )
    before = snapshot()

    again = supervisor.post(revert_url(entry), {"expected_seq": SEEDED + 2})

    assert errors.ALREADY_REVERTED.format(seq=SEEDED + 1, by=SEEDED + 2) in again.content.decode()
    assert snapshot() == before
    # Already reverted: no "Revert…" in the history nor on the entry, no form to submit.
    assert 'id="revert-form"' not in again.content.decode()
    assert 'type="checkbox"' not in again.content.decode()
    account_page = supervisor.get(change_url(david())).content.decode()
    row = re.search(rf'<tr data-seq="{SEEDED + 1}">.*?</tr>', account_page, re.S).group(0)
    assert "Revert…" not in row and f"reverted by #{SEEDED + 2}" in row
    entry_page = supervisor.get(reverse("admin:lcm_modechange_change", args=[entry.pk]))
    assert "Revert this change" not in entry_page.content.decode()
    assert "This change was reverted by" in entry_page.content.decode()

    undo_the_undo = supervisor.post(
        revert_url(ModeChange.objects.get(seq=SEEDED + 2)), {"expected_seq": SEEDED + 2}
    )

    assert undo_the_undo.status_code == 302
    assert live_modes(DAVID) == {2: "600123456"}
    entry3 = ModeChange.objects.get(seq=SEEDED + 3)
    assert (entry3.mode_id, entry3.old_number, entry3.new_number, entry3.deleted_modes) == (
        2,
        "2025550143",
        "600123456",
        [{"mode_id": 1, "number": "6491462346"}],
    )
    assert replay(DAVID, {}) == live_modes(DAVID)


def test_undoing_a_revert_leaves_alone_a_mode_that_the_revert_did_not_change(supervisor):
    # Found by tests/test_properties.py's replay: the revert of #1 found
    # mode 2 already back (#2) and left it alone, yet undoing that revert
    # deleted mode 2, as if the revert had restored it.
    wipe = set_as_supervisor("600123456", mode_id=3, delete_other_modes=True)
    office = ContactMode.objects.get(account=david(), mode_type=2, deleted_at__isnull=False)
    console_actions.restore_mode(mode_pk=office.pk, actor=supervisor_user(), expected_seq=None)
    undo = console_actions.revert_mode_change(
        change_id=wipe.pk, actor=supervisor_user(), expected_seq=None, confirm_superseded=True
    )
    assert live_modes(DAVID) == {1: "6491462346", 2: "2025550143"}
    assert console_actions.entry_effect(undo) == (
        {3: "600123456", 1: None},
        {3: None, 1: "6491462346"},
    )

    redo = console_actions.revert_mode_change(
        change_id=undo.pk, actor=supervisor_user(), expected_seq=SEEDED + 3
    )

    assert live_modes(DAVID) == {2: "2025550143", 3: "600123456"}
    assert (redo.old_number, redo.new_number) == ("", "600123456")
    assert redo.deleted_modes == [{"mode_id": 1, "number": "6491462346"}]
    assert replay(DAVID, {}) == live_modes(DAVID)


def test_a_revert_that_would_put_a_do_not_call_number_back_is_refused(supervisor):
    entry = set_as_supervisor("600123456", mode_id=2)
    DoNotCallNumber.objects.create(number="2025550143")
    before = snapshot()

    response = supervisor.post(revert_url(entry), {"expected_seq": SEEDED + 1})

    page = unescape(response.content.decode())
    assert "Number (202) 555-0143 is on the do-not-call list." in page
    assert snapshot() == before


def test_a_stale_revert_is_refused(supervisor):
    entry = set_as_supervisor("600123456")
    set_as_supervisor("600123456", mode_id=1)
    before = snapshot()

    response = supervisor.post(revert_url(entry), {"expected_seq": SEEDED + 1})

    assert errors.STALE_FORM.format(account=DAVID, seq=SEEDED + 2) in response.content.decode()
    assert snapshot() == before


def test_an_entry_of_another_account_is_not_found_under_this_one(supervisor):
    entry = set_as_supervisor("600123456")
    maria = Account.objects.get(account_number=MARIA)

    response = supervisor.get(reverse("admin:lcm_account_revert", args=[maria.pk, entry.pk]))

    assert response.status_code == 404


def test_the_audit_entry_page_offers_revert_to_supervisors_only(supervisor, client):
    entry = set_as_supervisor("600123456")
    url = reverse("admin:lcm_modechange_change", args=[entry.pk])

    assert revert_url(entry) in supervisor.get(url).content.decode()

    viewer = UserFactory(username="auditor_like", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_modechange"))
    client.force_login(viewer)
    page = client.get(url)
    assert page.status_code == 200
    assert "Revert this change" not in page.content.decode()


# --- Restore ----------------------------------------------------------------


def test_restoring_a_deleted_mode_brings_it_back_with_its_consent(supervisor):
    ContactMode.objects.filter(mode_type_id=2).update(has_consent=True)
    set_as_supervisor("600123456", mode_id=1, delete_other_modes=True)
    deleted = ContactMode.objects.get(mode_type_id=2, deleted_at__isnull=False)

    response = supervisor.post(restore_url(deleted), {"expected_seq": SEEDED + 1})

    assert response.status_code == 302
    assert live_modes(DAVID) == {1: "600123456", 2: "2025550143"}
    deleted.refresh_from_db()
    assert (deleted.deleted_at, deleted.has_consent, deleted.changed_by) == (
        None,
        True,
        "supervisor",
    )
    entry = ModeChange.objects.get(seq=SEEDED + 2)
    assert entry_fields(entry) == {
        "action": "restore",
        "account_number": DAVID,
        "username": "supervisor",
        "agent_code": "",
        "callid": "",
        "source": "admin",
        "mode_id": 2,
        "old_number": "",
        "new_number": "2025550143",
        "deleted_modes": [],
        "reverts": None,
    }


def test_restoring_into_a_taken_slot_asks_before_replacing(supervisor):
    set_as_supervisor("600123456", mode_id=1, delete_other_modes=True)
    set_as_supervisor("600999999", mode_id=2)
    deleted = ContactMode.objects.get(mode_type_id=2, deleted_at__isnull=False)
    before = snapshot()

    refused = supervisor.post(restore_url(deleted), {"expected_seq": SEEDED + 2})

    assert refused.status_code == 200
    assert field_errors(refused, "replace") == [
        errors.MODE_SLOT_TAKEN.format(mode_id=2, number="600999999", restored="2025550143")
    ]
    assert snapshot() == before

    done = supervisor.post(restore_url(deleted), {"expected_seq": SEEDED + 2, "replace": "on"})

    assert done.status_code == 302
    assert live_modes(DAVID) == {1: "600123456", 2: "2025550143"}
    entry = ModeChange.objects.get(seq=SEEDED + 3)
    assert (entry.action, entry.old_number, entry.new_number) == (
        "restore",
        "600999999",
        "2025550143",
    )
    assert replay(DAVID, {}) == live_modes(DAVID)


def test_restoring_a_live_mode_is_refused(supervisor):
    live = ContactMode.objects.get(account=david(), mode_type_id=1)
    before = snapshot()

    response = supervisor.post(restore_url(live), {"expected_seq": DAVID_SEQ})

    assert errors.NOTHING_TO_RESTORE.format(account=DAVID) in response.content.decode()
    assert snapshot() == before


# --- Calls, agents, DNC and mode types --------------------------------------


def test_the_calls_list_shows_active_calls_and_filters_by_agent_campaign_and_date(supervisor):
    campaigns.ensure(["spring"])
    Account.objects.filter(account_number=MARIA).update(campaign="spring")
    old = CallFactory(callid="old", started_at=timezone.now() - timezone.timedelta(days=40))
    url = reverse("admin:lcm_call_changelist")

    def callids(**params):
        response = supervisor.get(url, params)
        assert response.status_code == 200
        return sorted(c.callid for c in response.context["cl"].result_list)

    assert callids() == ["12345", "12346", "old"]
    assert callids(state="ended") == ["12300", "12301"]
    assert callids(state="all", agent="testagent") == ["12300", "12345"]
    assert callids(campaign="spring") == ["12346"]
    day = old.started_at.date().isoformat()
    assert callids(started_at_from=day, started_at_to=day) == ["old"]
    ended = supervisor.get(url, {"state": "ended", "agent": "testagent"}).content.decode()
    assert '<td class="field-duration">0:05:00</td>' in ended  # ended_at - started_at


def test_the_agents_list_shows_who_is_logged_in_and_on_which_call(supervisor):
    response = supervisor.get(reverse("admin:lcm_agent_changelist"), {"is_logged_in__exact": 1})

    rows = {a.agent_id: a.active_callid for a in response.context["cl"].result_list}
    assert rows == {"testagent": "12345", "otheragent": "12346"}


# --- Calls and agent sessions: the dialer's records, the console's actions ----


def test_a_call_is_read_only_in_the_console_for_everyone(supervisor):
    call = Call.objects.get(callid="12345")
    url = reverse("admin:lcm_call_change", args=[call.pk])
    before = list(Call.objects.order_by("pk").values())

    page = supervisor.get(url)
    posted = supervisor.post(url, {"callid": "hacked", "state": "ended", "ended_at": ""})
    add = supervisor.get(reverse("admin:lcm_call_add"))

    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="callid"' not in html and 'name="started_at"' not in html
    assert 'name="state"' not in html and "End this call…" in html
    assert posted.status_code == 403 and add.status_code == 403
    assert list(Call.objects.order_by("pk").values()) == before


def test_a_supervisor_ends_a_stuck_call_with_a_reason_recorded_as_a_call_event(supervisor):
    call = Call.objects.get(callid="12345")
    url = reverse("admin:lcm_call_end", args=[call.pk])

    confirm = supervisor.get(url)
    response = supervisor.post(url, {"reason": "  Dialer lost the hang-up  "}, follow=True)

    assert "End call 12345" in confirm.content.decode()
    call.refresh_from_db()
    assert call.state == Call.State.ENDED and call.ended_at is not None
    event = CallEvent.objects.filter(call=call).order_by("-pk").first()
    assert (event.event, event.username, event.reason) == (
        "ended",
        "supervisor",
        "Dialer lost the hang-up",
    )
    html = response.content.decode()
    assert "Call 12345 ended at " in html and "(reason: Dialer lost the hang-up)." in html
    assert "End this call…" not in html  # an ended call offers no end
    assert "Dialer lost the hang-up</td>" in html  # the call's history shows it


@pytest.mark.parametrize(
    ("callid", "reason", "message"),
    [
        ("12345", "   ", errors.REASON_REQUIRED),
        ("12345", "", errors.REASON_REQUIRED),
        ("12300", "stuck", "Call 12300 has already ended (at "),
    ],
)
def test_ending_a_call_is_refused_with_a_clear_message_and_changes_nothing(
    supervisor, callid, reason, message
):
    call = Call.objects.get(callid=callid)
    before = (list(Call.objects.order_by("pk").values()), CallEvent.objects.count())

    response = supervisor.post(reverse("admin:lcm_call_end", args=[call.pk]), {"reason": reason})

    assert response.status_code == 200
    assert message in unescape(response.content.decode())
    assert "call_ends_after_start" not in response.content.decode()
    assert (list(Call.objects.order_by("pk").values()), CallEvent.objects.count()) == before


def test_an_agent_is_logged_out_from_the_console_with_a_recorded_reason(supervisor):
    agent = Agent.objects.get(agent_id="testagent")
    assert agent.is_logged_in
    url = reverse("admin:lcm_agent_log_out", args=[agent.pk])

    response = supervisor.post(url, {"reason": "Went home, CTI never said"}, follow=True)

    agent.refresh_from_db()
    assert not agent.is_logged_in
    event = AgentSessionEvent.objects.filter(agent=agent).order_by("-pk").first()
    assert (event.event, event.username, event.reason) == (
        "logout",
        "supervisor",
        "Went home, CTI never said",
    )
    html = response.content.decode()
    assert "Agent testagent logged out at " in html
    assert "Log out…" not in html  # logged out: nothing to offer
    assert "Went home, CTI never said</td>" in html

    again = supervisor.post(url, {"reason": "twice"})
    assert errors.AGENT_NOT_LOGGED_IN.format(agent_id="testagent") in again.content.decode()
    assert AgentSessionEvent.objects.filter(agent=agent).count() == 1


def test_the_agent_form_edits_who_the_agent_is_never_the_session(supervisor):
    agent = Agent.objects.get(agent_id="testagent")
    url = reverse("admin:lcm_agent_change", args=[agent.pk])

    page = supervisor.get(url).content.decode()
    supervisor.post(url, {"user": agent.user_id, "is_logged_in": "", "agent_id": "x"})

    assert 'name="is_logged_in"' not in page and 'name="agent_id"' not in page
    assert "Logged in" in page and "Is logged in" not in page
    agent.refresh_from_db()
    assert (agent.agent_id, agent.is_logged_in) == ("testagent", True)
    assert not AgentSessionEvent.objects.exists()


def test_an_auditor_may_not_end_calls_or_log_agents_out(demo, client):
    assert client.login(username="auditor", password=DEMO_PASSWORD)
    call = Call.objects.get(callid="12345")
    agent = Agent.objects.get(agent_id="testagent")

    page = client.get(reverse("admin:lcm_call_change", args=[call.pk])).content.decode()
    ended = client.post(reverse("admin:lcm_call_end", args=[call.pk]), {"reason": "x"})
    logged_out = client.post(reverse("admin:lcm_agent_log_out", args=[agent.pk]), {"reason": "x"})

    assert "End this call…" not in page
    assert ended.status_code == 403 and logged_out.status_code == 403
    assert Call.objects.get(callid="12345").state == Call.State.ACTIVE
    assert Agent.objects.get(agent_id="testagent").is_logged_in


def test_a_do_not_call_number_is_stored_cleaned_and_checked(supervisor):
    url = reverse("admin:lcm_donotcallnumber_add")

    added = supervisor.post(url, {"number": " (202) 555-0100 ", "reason": "asked"})
    refused = supervisor.post(url, {"number": "not a number", "reason": ""})
    duplicate = supervisor.post(url, {"number": "202.555.0100", "reason": ""})

    assert added.status_code == 302
    assert refused.status_code == 200
    assert field_errors(refused, "number") == [NOT_A_NUMBER]
    assert duplicate.status_code == 200
    assert list(DoNotCallNumber.objects.values_list("number", flat=True)) == [
        "2025550100",
        "2025550199",
    ]


@pytest.mark.parametrize(
    ("bounds", "field"),
    [({"min_length": 9, "max_length": 5}, "max_length"), ({"max_length": 25}, "max_length")],
)
def test_mode_type_bounds_are_validated(supervisor, bounds, field):
    data = {"id": 4, "name": "Work mobile", "channel_type": "voice", **bounds}

    response = supervisor.post(reverse("admin:lcm_modetype_add"), data)

    assert response.status_code == 200
    assert field_errors(response, field)
    assert not ModeType.objects.filter(pk=4).exists()


def test_a_supervisor_adds_a_mode_type(supervisor):
    data = {"id": 4, "name": "Work mobile", "channel_type": "sms", "min_length": 9,
            "window_start": "09:00", "window_end": "20:00"}  # fmt: skip

    response = supervisor.post(reverse("admin:lcm_modetype_add"), data)

    assert response.status_code == 302
    assert ModeType.objects.filter(pk=4, name="Work mobile", min_length=9).exists()


def test_the_supervisors_group_survives_as_created_by_the_migration(db):
    group = Group.objects.get(name="Supervisors")

    assert group.permissions.filter(codename="view_modechange").exists()
    assert not group.permissions.filter(codename__in=["delete_modechange", "change_modechange"])


def test_reverting_a_restore_deletes_the_mode_again(supervisor):
    set_as_supervisor("600123456", mode_id=1, delete_other_modes=True)
    deleted = ContactMode.objects.get(mode_type_id=2, deleted_at__isnull=False)
    restore = console_actions.restore_mode(
        mode_pk=deleted.pk, actor=supervisor_user(), expected_seq=SEEDED + 1
    )

    response = supervisor.post(revert_url(restore), {"expected_seq": SEEDED + 2})

    assert response.status_code == 302
    assert live_modes(DAVID) == {1: "600123456"}
    entry = ModeChange.objects.get(seq=SEEDED + 3)
    assert (entry.action, entry.mode_id, entry.old_number, entry.new_number, entry.reverts) == (
        "revert",
        2,
        "2025550143",
        "",
        restore,
    )
    assert replay(DAVID, {}) == live_modes(DAVID)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_supervisors_submitting_forms_of_the_same_page_one_wins(demo):
    """Both forms were rendered at seq 0; the account lock queues them and
    the second one, seeing seq 1, is refused as stale."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from django.db import connection

    account_id = david().pk
    actor = supervisor_user()
    barrier = Barrier(2)

    def submit(number):
        barrier.wait()
        try:
            console_actions.set_mode_number_as_supervisor(
                account_id=account_id,
                mode_id=3,
                contact_number=number,
                delete_other_modes=False,
                actor=actor,
                expected_seq=DAVID_SEQ,
            )
            return "ok"
        except errors.StaleForm:
            return "stale"
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(submit, ["600111111", "600222222"]))

    assert outcomes == ["ok", "stale"]
    entry = ModeChange.objects.get(seq__gt=SEEDED)
    assert live_modes(DAVID) == {1: "6491462346", 2: "2025550143", 3: entry.new_number}


def test_the_account_page_costs_the_same_queries_however_long_its_history(supervisor):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = change_url(david())
    set_as_supervisor("600100000", delete_other_modes=True)
    supervisor.get(url)  # warm the session and content-type caches
    with CaptureQueriesContext(connection) as short:
        supervisor.get(url)
    for i in range(30):
        entry = set_as_supervisor(f"60020{i:04d}", mode_id=1 + i % 3, delete_other_modes=i % 4 == 0)
        if i % 5 == 0:
            console_actions.revert_mode_change(
                change_id=entry.pk, actor=entry.user, expected_seq=None
            )
    with CaptureQueriesContext(connection) as long:
        supervisor.get(url)

    assert len(long) == len(short)


# --- The supervisor's words (issue 14) ---------------------------------------

LIST_TITLES = {
    "lcm_account_changelist": "Accounts",
    "lcm_contactmode_changelist": "Contact modes",
    "lcm_call_changelist": "Calls",
    "lcm_agent_changelist": "Agents",
    "lcm_donotcallnumber_changelist": "Do-not-call numbers",
    "lcm_modetype_changelist": "Mode types",
    "lcm_modechange_changelist": "Audit log",
    "authtoken_tokenproxy_changelist": "API tokens",
}


@pytest.mark.parametrize(("name", "title"), list(LIST_TITLES.items()))
def test_every_list_is_titled_by_what_it_holds(supervisor, name, title):
    page = supervisor.get(reverse(f"admin:{name}")).content.decode()

    assert f"<h1>{title}</h1>" in page
    assert f"<title>{title} | lcm console</title>" in page
    assert not re.search(r"Select \w+ to (change|view)", page)


def test_the_index_names_the_audit_log_and_the_api_tokens(supervisor):
    page = supervisor.get(reverse("admin:index")).content.decode()

    assert ">Audit log</a>" in page and ">API tokens</a>" in page
    assert "Mode changes" not in page and "Auth Token" not in page


def test_the_account_page_has_no_save_and_add_another_and_no_empty_history_button(supervisor):
    page = supervisor.get(change_url(david())).content.decode()
    add = supervisor.get(reverse("admin:lcm_account_add")).content.decode()

    assert "Save and add another" not in page and "Save and add another" not in add
    assert 'class="historylink"' not in page
    assert 'id="history"' in page  # its own full change history stays
    assert "ModeID</th>" not in page and "PEWC" not in page  # the supervisor's words
    dnc = supervisor.get(reverse("admin:lcm_donotcallnumber_add")).content.decode()
    assert "Save and add another" not in dnc  # issue 29: one way to save, one message


def test_the_modes_list_says_live_or_deleted_number_mode_and_consent(supervisor):
    set_as_supervisor("600123456", mode_id=1, delete_other_modes=True)
    url = reverse("admin:lcm_contactmode_changelist")

    page = supervisor.get(url).content.decode()
    deleted = supervisor.get(url, {"deleted_at__isempty": "0"})

    for words in ("Live", "Deleted", ">Number<", ">Mode<", ">Consent<"):
        assert words in page, words
    for leftover in ("Not empty", "CValue", "PEWC", "Has consent"):
        assert leftover not in page, leftover
    assert [m.number for m in deleted.context["cl"].result_list] == ["2025550143"]


def test_the_audit_list_and_entry_use_human_labels_and_show_api_as_the_source(
    supervisor, agent_client
):
    response = agent_client.post(
        WEBSERVICE, set_mode_body(ModeID=3, ContactNumber="2025550177"), format="json"
    )
    assert response.status_code == 200, response.content
    entry = ModeChange.objects.get(seq=SEEDED + 1)
    assert entry.source == ""

    listing = supervisor.get(reverse("admin:lcm_modechange_changelist")).content.decode()
    page = supervisor.get(reverse("admin:lcm_modechange_change", args=[entry.pk]))
    html_page = page.content.decode()

    row = re.search(rf"<tr>.*?>{SEEDED + 1}</a>.*?</tr>", listing, re.S).group(0)
    by = '<td class="field-by_and_source">testagent <span class="lcm-source">(API)</span></td>'
    assert by in row
    for label in ("Mode:", "New number (E.164):", "Client address:", "Source:"):
        assert label in html_page, label
    for raw in ("ModeID:", "New number e164", "Client ip", "Source app:"):
        assert raw not in html_page, raw
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", html_page)


def test_the_favicon_and_styled_error_pages_with_a_way_back(supervisor, client):
    icon = supervisor.get("/favicon.ico")
    missing = supervisor.get("/admin/lcm/account/999999/change/", follow=True)
    nowhere = supervisor.get("/nothing-here/")

    assert icon.status_code == 200 and icon["Content-Type"] == "image/svg+xml"
    assert nowhere.status_code == 404
    page = nowhere.content.decode()
    assert "lcm — List and Campaign Manager" in page and 'href="/admin/"' in page
    assert "This page does not exist" in page
    assert missing.status_code == 200
    assert missing.redirect_chain == [("/admin/lcm/account/", 302)]  # the list it would be in
    assert "There is no account 999999." in missing.content.decode()
    assert "Perhaps it was deleted" not in missing.content.decode()

    client.logout()
    assert client.login(username="auditor", password=DEMO_PASSWORD)
    refused = client.get(set_number_url(david()))
    assert refused.status_code == 403
    page = refused.content.decode()
    assert "You may not open this page" in page and "Back to the console" in page
    assert "lcm — List and Campaign Manager" in page and "403 Forbidden" not in page


# --- Search by identity (issue 14) --------------------------------------------


def search_accounts(client, term):
    response = client.get(reverse("admin:lcm_account_changelist"), {"q": term})
    assert response.status_code == 200
    return {a.account_number: a.matched for a in response.context["cl"].result_list}


def test_accounts_are_found_by_any_spelling_last_digits_and_former_numbers(supervisor):
    assert search_accounts(supervisor, "+1 202-555-0143") == {DAVID: "number"}
    assert search_accounts(supervisor, "0143") == {DAVID: "last digits of a number"}
    assert search_accounts(supervisor, "555 0143") == {DAVID: "last digits of a number"}
    assert search_accounts(supervisor, DAVID) == {DAVID: "LCM key"}
    assert search_accounts(supervisor, "143") == {}  # fewer than 4 digits: no tail search

    set_as_supervisor("600123456", mode_id=2)  # 2025550143 is now a former number
    assert search_accounts(supervisor, "2025550143") == {DAVID: "former number"}
    page = supervisor.get(reverse("admin:lcm_account_changelist"), {"q": "2025550143"})
    assert "Matched on" in page.content.decode()


def test_a_former_number_is_found_in_any_spelling_and_a_deleted_one_says_so(supervisor):
    set_as_supervisor("600123456", mode_id=2)  # replaces 2025550143: only the log has it
    assert not ContactMode.objects.filter(number="2025550143").exists()
    set_as_supervisor("600999999", mode_id=1, delete_other_modes=True)  # deletes mode 2

    assert search_accounts(supervisor, "(202) 555-0143") == {DAVID: "former number"}
    assert search_accounts(supervisor, "600 123 456") == {DAVID: "deleted number"}
    assert search_accounts(supervisor, "3456") == {DAVID: "last digits of a deleted number"}


def test_the_list_without_a_search_has_no_matched_column(supervisor):
    page = supervisor.get(reverse("admin:lcm_account_changelist")).content.decode()

    assert "Matched on" not in page


# --- The dashboard on the admin index (issue 14) -----------------------------


def dashboard(client):
    page = client.get(reverse("admin:index")).content.decode()
    return dict(
        re.findall(
            r'<tr id="figure-([\w-]+)">.*?<td class="figure"><a href="[^"]*">(\d+)</a>', page
        )
    ), page


@pytest.mark.parametrize("username", ["supervisor", "auditor"])
def test_the_index_opens_on_live_figures_each_linking_to_its_list(demo, client, username):
    assert client.login(username=username, password=DEMO_PASSWORD)
    DoNotCallNumber.objects.create(number="2025550100")
    Call.objects.filter(callid="12346").update(state=Call.State.WRAP_UP)

    figures, page = dashboard(client)

    # Callbacks are the Supervisors' to view (not the Auditors').
    callbacks = {"callbacks-due": "0", "callbacks-overdue": "0"} if username == "supervisor" else {}
    assert figures == {
        "active-calls": "1",
        "logged-in-agents": "2",
        "changes-last-hour": str(SEEDED),
        "do-not-call-today": "2",
        **callbacks,
    }
    links = re.findall(r'<tr id="figure-([\w-]+)"><th scope="row"><a href="([^"]+)"', page)
    assert len(links) == len(figures)
    for key, url in links:
        listing = client.get(unescape(url))
        assert listing.status_code == 200, url
        assert "errornote" not in listing.content.decode(), url
        assert len(listing.context["cl"].result_list) == int(figures[key]), key


# --- CSV export of accounts and of the do-not-call list (issue 14) -----------


def csv_rows(response):
    import csv
    import io

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.streaming
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_accounts_export_as_csv_with_their_live_modes_following_the_search(supervisor):
    Account.objects.create(account_number="=HYPERLINK(1)", first_name="@evil")
    url = reverse("admin:lcm_account_export")

    everything = csv_rows(supervisor.get(url))
    searched = csv_rows(supervisor.get(url, {"q": "0143", "p": "2"}))

    by_key = {row["account_number"]: row for row in everything}
    assert set(by_key) == {DAVID, MARIA, "'=HYPERLINK(1)"}
    assert by_key[DAVID]["modes"] == "1:6491462346; 2:2025550143"
    assert by_key["'=HYPERLINK(1)"]["first_name"] == "'@evil"  # no formula reaches a sheet
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", by_key[DAVID]["created_at"])
    assert [row["account_number"] for row in searched] == [DAVID]


def test_the_do_not_call_list_exports_as_csv(demo, client):
    assert client.login(username="auditor", password=DEMO_PASSWORD)
    DoNotCallNumber.objects.create(number="2025550100", reason="asked twice")

    rows = csv_rows(client.get(reverse("admin:lcm_donotcallnumber_export")))

    assert sorted((row["number"], row["reason"]) for row in rows) == [
        ("2025550100", "asked twice"),
        ("2025550199", DoNotCallNumber.objects.get(number="2025550199").reason),
    ]
    listing = client.get(reverse("admin:lcm_donotcallnumber_changelist")).content.decode()
    assert 'id="export-csv"' in listing


def test_the_server_error_page_names_the_product_and_a_way_back():
    from django.template.loader import render_to_string

    page = render_to_string("500.html")  # as Django's handler renders it: no request

    assert "lcm — List and Campaign Manager" in page
    assert 'href="/admin/"' in page and "nothing was saved" in page


def test_the_do_not_call_list_filters_lifted_or_not_in_words(supervisor):
    url = reverse("admin:lcm_donotcallnumber_changelist")

    page = supervisor.get(url).content.decode()
    lifted = supervisor.get(url, {"lifted_at__isempty": "0"})
    in_force = supervisor.get(url, {"lifted_at__isempty": "1"})

    assert "Not lifted" in page and "Not empty" not in page
    assert list(lifted.context["cl"].result_list) == []
    assert [e.number for e in in_force.context["cl"].result_list] == ["2025550199"]
