"""The auditors' admin: the audit list, its filters, search, paging and CSV."""

import csv
import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from lcm.admin.audit import AuditPaginator
from lcm.audit.export import COLUMNS
from lcm.audit.filters import (
    MOMENT_OUT_OF_RANGE,
    NOT_A_DATE,
    NOT_A_MODE,
    UNKNOWN_ACCOUNT,
    UNKNOWN_AGENT,
    UNKNOWN_CALL,
)
from lcm.models import ModeChange

from .audit_log import DAVID, DEMO, MARIA, make_log, seq
from .factories import UserFactory

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:lcm_modechange_changelist")
EXPORT = reverse("admin:lcm_modechange_export")


@pytest.fixture
def auditor(demo, client):
    client.force_login(get_user_model().objects.get(username="auditor"))
    return client


def text_of(html: str) -> str:
    """A page's text, as a person reads it: no tags (a number's hover is markup)."""
    return re.sub(r"<[^>]+>", "", html)


def seqs(response) -> list[int]:
    assert response.status_code == 200, response.content[:500]
    return [entry.seq for entry in response.context["cl"].result_list]


def page_messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_the_list_shows_old_and_new_number_deleted_modes_and_links(auditor):
    entries = make_log()

    response = auditor.get(CHANGELIST)

    assert seqs(response) == [seq(3), seq(2), seq(1), *DEMO]  # the demo's entries
    html = response.content.decode()
    third = entries[2]
    assert f'<a href="/admin/lcm/account/{third.account_id}/change/">{DAVID}</a>' in html
    assert f'<a href="/admin/lcm/call/{third.call_id}/change/">12345</a>' in html
    assert "?account=5%7C3%7C1%7C0%7C0%7C44%7C1" in html  # the account's history
    assert "mode 1: 3005550101" in text_of(html)  # deleted with seq(3), number readable
    row = html[html.index(f">{third.seq}</a>") :]
    assert row.index("2025550143") < row.index("3005550303")  # old number, then new
    assert "Export CSV" in html
    # No table in a dropdown: the one form's only lists are the mode types and the actions.
    filters = html.split('id="changelist-filter"')[1]
    assert re.findall(r'<select id="([\w-]+)"', filters) == ["lcm-filter-mode", "lcm-filter-action"]
    assert filters.count('type="submit"') == 1  # issue 29: one form, one Filter button


def test_the_list_never_counts_the_whole_log(auditor):
    make_log()

    with CaptureQueriesContext(connection) as queries:
        response = auditor.get(CHANGELIST)

    assert seqs(response) == [seq(3), seq(2), seq(1), *DEMO]
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    assert counts, "the capped count ran"
    assert all("LIMIT 10001" in sql for sql in counts), counts
    assert f"{seq(3)} entries".encode() in response.content  # issue 14: "Audit log"


def test_the_paginator_says_more_than_its_cap(auditor, monkeypatch):
    monkeypatch.setattr(AuditPaginator, "CAP", 1)
    make_log()

    response = auditor.get(CHANGELIST, {"agent": "testagent", "p": "1"})

    assert b"more than 1 entries" in response.content  # issue 14: "Audit log"
    assert b"more than 1 results" in response.content


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # seq 1 to 3 are the demo's imports: David's Home and Office, Maria's Home.
        ({"account": DAVID}, [seq(3), seq(1), 2, 1]),
        ({"account": MARIA}, [seq(2), 3]),
        ({"callid": "12346"}, [seq(2)]),
        ({"agent": "testagent"}, [seq(3), seq(1)]),
        ({"mode": "2"}, [seq(3), 2]),
        ({"source": "crm"}, [seq(2)]),
        ({"action": "set"}, [seq(3), seq(2), seq(1)]),
        ({"action": "import"}, [3, 2, 1]),
        ({"agent": "testagent", "mode": "1"}, [seq(1)]),
        ({"since": "2000-01-01", "until": "2999-12-31"}, [seq(3), seq(2), seq(1), *DEMO]),
        ({"until": "2000-01-01"}, []),
        ({"since": "2999-01-01T00:00:00Z"}, []),
    ],
)
def test_each_filter(auditor, query, expected):
    make_log()

    response = auditor.get(CHANGELIST, query)

    assert seqs(response) == expected
    assert page_messages(response) == []


def test_the_date_filters_take_moments_to_the_microsecond(auditor):
    entries = make_log()
    second = entries[1].created_at.isoformat()

    assert seqs(auditor.get(CHANGELIST, {"since": second})) == [seq(3), seq(2)]
    assert seqs(auditor.get(CHANGELIST, {"until": second})) == [seq(2), seq(1), *DEMO]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"since": "2026-13-01"}, "Since: " + NOT_A_DATE % {"value": "'2026-13-01'"}),
        ({"until": "yesterday"}, "Until: " + NOT_A_DATE % {"value": "'yesterday'"}),
        # The calendar's last day is a date (every entry, tested below); a
        # moment past it in UTC is not one both databases can compare.
        (
            {"until": "9999-12-31T20:00:00-14:00"},
            "Until: " + MOMENT_OUT_OF_RANGE % {"value": "'9999-12-31T20:00:00-14:00'"},
        ),
        (
            {"since": "0001-01-01T00:00:00+14:00"},
            "Since: " + MOMENT_OUT_OF_RANGE % {"value": "'0001-01-01T00:00:00+14:00'"},
        ),
        ({"agent": "nobody"}, "AgentID: " + UNKNOWN_AGENT % {"value": "nobody"}),
        ({"account": "1|2|3"}, "LCM key: " + UNKNOWN_ACCOUNT % {"value": "1|2|3"}),
        ({"callid": "99999"}, "Call ID: " + UNKNOWN_CALL % {"value": "99999"}),
        ({"mode": "abc"}, "Mode: " + NOT_A_MODE),
    ],
)
def test_a_bad_filter_value_gets_a_message_and_no_rows(auditor, query, message):
    make_log()

    response = auditor.get(CHANGELIST, query)

    assert seqs(response) == []
    assert page_messages(response) == [message]


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        (DAVID, [seq(3), seq(1), 2, 1]),  # 2, 1: the demo's import
        ("12346", [seq(2)]),
        ("otheragent", [seq(2)]),
        ("300-555-0303", [seq(3)]),  # new number, typed with separators
        ("2025550143", [seq(3), 2]),  # old number of seq(3), new number of the demo's #2
        ("300555", []),  # exact, not a substring
    ],
)
def test_search_is_exact_on_key_callid_agent_and_number(auditor, term, expected):
    make_log()

    assert seqs(auditor.get(CHANGELIST, {"q": term})) == expected


def test_an_entry_page_shows_every_field_read_only(auditor):
    entry = make_log()[2]

    response = auditor.get(reverse("admin:lcm_modechange_change", args=[entry.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert entry.hash in html and entry.prev_hash in html
    assert "mode 1: 3005550101" in text_of(html)
    assert 'name="_save"' not in html
    assert "Delete" not in html


def read_csv(response) -> list[dict]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="mode-changes-')
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_the_csv_export_carries_the_list_filters(auditor):
    entries = make_log()

    response = auditor.get(EXPORT, {"agent": "testagent", "p": "1", "o": "1"})

    rows = read_csv(response)
    assert [row["seq"] for row in rows] == [str(seq(1)), str(seq(3))]  # by seq ascending (o=1)
    third = rows[1]
    assert list(third) == [header for header, _ in COLUMNS]
    assert {k: third[k] for k in ["account", "callid", "agent", "mode", "old_number"]} == {
        "account": DAVID,
        "callid": "12345",
        "agent": "testagent",
        "mode": "2",
        "old_number": "2025550143",
    }
    assert third["new_number"] == "3005550303"
    assert third["deleted_modes"] == "1:3005550101"
    assert third["hash"] == entries[2].hash
    assert third["created_at"].endswith("Z")


def test_the_csv_export_with_a_bad_filter_goes_back_to_the_list(auditor):
    make_log()

    response = auditor.get(EXPORT, {"since": "nope"})

    assert response.status_code == 302
    assert response["Location"] == CHANGELIST + "?since=nope"
    assert page_messages(auditor.get(response["Location"])) == [
        "Since: " + NOT_A_DATE % {"value": "'nope'"}
    ]


def test_the_csv_export_neutralises_spreadsheet_formulas(auditor):
    from .audit_log import set_number

    set_number("12345", DAVID, "testagent", 1, "+34961084836", source="=HYPERLINK(1)")

    row, *demo = read_csv(auditor.get(EXPORT))

    assert [r["seq"] for r in [row, *demo]] == [str(n) for n in (seq(1), *DEMO)]
    assert row["source"] == "'=HYPERLINK(1)"
    assert row["new_number"] == "+34961084836"


def test_the_export_is_refused_to_staff_without_view_permission(demo, client):
    client.force_login(UserFactory(username="clerk", is_staff=True))
    make_log()

    assert client.get(EXPORT).status_code == 403
    assert client.get(CHANGELIST).status_code == 403


def test_no_entry_can_be_deleted_or_changed_from_the_admin_even_by_a_superuser(demo_admin):
    entry = make_log()[0]
    before = ModeChange.objects.filter(pk=entry.pk).values().get()

    change = demo_admin.post(
        reverse("admin:lcm_modechange_change", args=[entry.pk]), {"new_number": "1"}
    )
    delete = demo_admin.post(
        reverse("admin:lcm_modechange_delete", args=[entry.pk]), {"post": "yes"}
    )
    add = demo_admin.get(reverse("admin:lcm_modechange_add"))
    bulk = demo_admin.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [entry.pk]}
    )

    assert (change.status_code, delete.status_code, add.status_code) == (403, 403, 403)
    assert bulk.status_code in (200, 302)
    assert ModeChange.objects.filter(pk=entry.pk).values().get() == before
