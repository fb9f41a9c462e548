"""The state calling rules in the console (campaign-services.md section 5):
supervisors edit them in the floor's words, each save one audit entry, a
save that changes nothing none, bad hours refused next to their field."""

import html

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from lcm.admin.state_laws import NOT_LEGAL_ADVICE
from lcm.audit import verify_chain
from lcm.models import ModeChange, StateLaw
from lcm.outcome_models import DAY_HALF, DAY_ORDER, WEEKDAYS

from .audit_log import new_entries


@pytest.fixture
def supervisor(demo):
    client = Client()
    client.force_login(get_user_model().objects.get(username="supervisor"))
    return client


def form(state="WY", *, hours=("08:00", "20:00"), days=WEEKDAYS, dates=(), **extra):
    data = {
        "state": state,
        "voicemail_allowed": "on",
        "note": "Counsel's memo of 1 December",
        "barred_dates-TOTAL_FORMS": str(len(dates)),
        "barred_dates-INITIAL_FORMS": "0",
        "barred_dates-MIN_NUM_FORMS": "0",
        "barred_dates-MAX_NUM_FORMS": "1000",
    }
    for day in days:
        data[f"{day}_start"], data[f"{day}_end"] = hours
    for n, (day, note) in enumerate(dates):
        data[f"barred_dates-{n}-date"] = day
        data[f"barred_dates-{n}-note"] = note
    data.update(extra)
    return data


@pytest.mark.django_db
def test_the_list_says_whose_rules_they_are_in_the_floors_words(supervisor):
    page = supervisor.get(reverse("admin:lcm_statelaw_changelist")).content.decode()
    assert "State calling rules" in page
    assert html.escape(NOT_LEGAL_ADVICE) in page
    assert "no calls" in page  # Oklahoma's Sunday
    assert "Select state calling rule to change" not in page


@pytest.mark.django_db
def test_adding_then_changing_a_rule_is_one_entry_each(supervisor):
    response = supervisor.post(
        reverse("admin:lcm_statelaw_add"),
        form(days=WEEKDAYS[:6], dates=[("2026-12-25", "Christmas")]),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    law = StateLaw.objects.get(state="WY")
    assert law.hours(6) is None and law.hours(0) is not None
    [entry] = new_entries()
    assert entry.action == ModeChange.Action.STATE_LAW
    assert (entry.username, entry.account_id) == ("supervisor", None)
    assert entry.details["state_law"] == "WY" and entry.details["before"] is None
    assert entry.details["after"]["barred_dates"] == [["2026-12-25", "Christmas"]]
    assert entry.details["after"]["sun_start"] is None

    change = reverse("admin:lcm_statelaw_change", args=[law.pk])
    data = form(days=WEEKDAYS, hours=("09:00", "20:00"))
    data["barred_dates-INITIAL_FORMS"] = "1"
    data["barred_dates-TOTAL_FORMS"] = "1"
    barred = law.barred_dates.get()
    data.update(
        {
            "barred_dates-0-id": str(barred.pk),
            "barred_dates-0-state_law": str(law.pk),
            "barred_dates-0-date": "2026-12-25",
            "barred_dates-0-note": "Christmas",
        }
    )
    assert supervisor.post(change, data).status_code == 302
    _, second = new_entries()
    assert second.details["before"]["mon_start"] == "08:00"
    assert second.details["after"]["mon_start"] == "09:00"
    # The same form again: nothing changes, no entry.
    assert supervisor.post(change, data).status_code == 302
    assert new_entries().count() == 2
    assert verify_chain().ok


@pytest.mark.parametrize(
    ("extra", "text"),
    [
        ({"mon_end": ""}, DAY_HALF.format(day="Monday")),
        ({"tue_start": "21:00", "tue_end": "09:00"}, DAY_ORDER.format(day="Tuesday")),
        ({"state": "ZZ"}, "is not a US state code"),
    ],
)
@pytest.mark.django_db
def test_bad_rules_are_refused_next_to_their_field(supervisor, extra, text):
    before = ModeChange.objects.count()
    response = supervisor.post(reverse("admin:lcm_statelaw_add"), form(**extra))
    assert response.status_code == 200
    assert text in response.content.decode()
    assert not StateLaw.objects.filter(state__in=["WY", "ZZ"]).exists()
    assert ModeChange.objects.count() == before


@pytest.mark.django_db
def test_removing_a_rule_is_audited(supervisor):
    law = StateLaw.objects.get(state="WA")
    response = supervisor.post(reverse("admin:lcm_statelaw_delete", args=[law.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not StateLaw.objects.filter(state="WA").exists()
    [entry] = new_entries()
    assert entry.details["state_law"] == "WA" and entry.details["after"] is None
    assert entry.details["before"]["mon_start"] == "08:00"


@pytest.mark.django_db
def test_auditors_read_the_rules_and_change_nothing(demo):
    client = Client()
    client.force_login(get_user_model().objects.get(username="auditor"))
    assert client.get(reverse("admin:lcm_statelaw_changelist")).status_code == 200
    law = StateLaw.objects.get(state="TX")
    response = client.post(reverse("admin:lcm_statelaw_change", args=[law.pk]), form("TX"))
    assert response.status_code == 403
    assert StateLaw.objects.get(state="TX").mon_start.hour == 9
