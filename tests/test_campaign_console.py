"""The campaign page refuses what the services could not use (spec
campaign-services.md sections 1 and 6), next to the field, in the floor's
words, saving nothing and writing no audit entry: a time zone that is not
an IANA zone (GetModeInformation's GMTDeviation, the window's zone), a
business field format its type does not have, a telephony outcome that is
not in the catalogue, a window that ends before it starts."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model

from lcm.models import BusinessField, Campaign, CampaignMode, CampaignOutcome, ModeChange

from .test_campaigns import save_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def supervisor(demo, client):
    client.force_login(get_user_model().objects.get(username="supervisor"))
    return client


def spring_url() -> str:
    return f"/admin/lcm/campaign/{Campaign.objects.get(code='Spring').pk}/change/"


def snapshot():
    return (
        list(Campaign.objects.values().order_by("pk")),
        list(CampaignMode.objects.values().order_by("pk")),
        list(CampaignOutcome.objects.values().order_by("pk")),
        list(BusinessField.objects.values().order_by("pk")),
        ModeChange.objects.count(),
    )


def field_of(fields, name):
    return next(i for i, f in enumerate(fields) if f.name == name)


def refused(response) -> str:
    assert response.status_code == 200, "saved"
    return response.content.decode()


def test_an_unknown_time_zone_is_refused_next_to_the_field(supervisor):
    before = snapshot()
    page = refused(save_form(supervisor, spring_url(), time_zone="America/NewYork"))
    assert "America/NewYork is not a time zone" in page
    assert snapshot() == before
    # An empty zone stays allowed (the campaigns made from strings have none).
    response = save_form(supervisor, spring_url(), time_zone="")
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("name", "data_type", "format_", "words"),
    [
        ("DueDate", "DateTime", "MM/DD/YYYY", "DD/MM/YYYY, DD/MM/YYYY HH:mm or YYYY-MM-DD"),
        ("Balance", "Number", "abc", "(an integer) or 0.00"),
        ("Balance", "Number", "1.00", "(an integer) or 0.00"),
        ("Email", "String", "long", "its maximum length, 1 to 255"),
        ("Email", "String", "0", "its maximum length, 1 to 255"),
        ("Email", "String", "300", "its maximum length, 1 to 255"),
        ("Email", "Boolean", "yes", "no format"),
    ],
)
def test_a_business_field_format_its_type_does_not_have_is_refused(
    supervisor, name, data_type, format_, words
):
    fields = list(BusinessField.objects.filter(campaign_id="Spring").order_by("id"))
    index = field_of(fields, name)
    before = snapshot()
    page = refused(
        save_form(
            supervisor,
            spring_url(),
            **{f"fields-{index}-data_type": data_type, f"fields-{index}-format": format_},
        )
    )
    assert words in page
    assert snapshot() == before


def test_the_formats_of_the_spec_are_accepted(supervisor):
    fields = list(BusinessField.objects.filter(campaign_id="Spring").order_by("id"))
    due, balance, email = (field_of(fields, n) for n in ("DueDate", "Balance", "Email"))
    response = save_form(
        supervisor,
        spring_url(),
        **{
            f"fields-{due}-format": "DD/MM/YYYY HH:mm",
            f"fields-{balance}-format": "",
            f"fields-{email}-format": "",
        },
    )
    assert response.status_code == 302
    formats = dict(BusinessField.objects.filter(campaign_id="Spring").values_list("name", "format"))
    shown = (formats["DueDate"], formats["Balance"], formats["Email"])
    assert shown == ("DD/MM/YYYY HH:mm", "", "")


def test_the_telephony_outcome_is_chosen_from_the_catalogue_by_name(supervisor):
    page = supervisor.get(spring_url()).content.decode()
    assert ">5 DNC</option>" in page and ">3 Busy</option>" in page
    outcomes = list(CampaignOutcome.objects.filter(campaign_id="Spring").order_by("outcome_id"))
    index = next(i for i, o in enumerate(outcomes) if o.outcome_id == 101)
    before = snapshot()
    page = refused(save_form(supervisor, spring_url(), **{f"outcomes-{index}-implies": "99"}))
    assert "Select a valid choice" in page
    assert snapshot() == before
    response = save_form(supervisor, spring_url(), **{f"outcomes-{index}-implies": "3"})
    assert response.status_code == 302
    assert CampaignOutcome.objects.get(campaign_id="Spring", outcome_id=101).implies == 3


def test_a_window_that_ends_before_it_starts_is_refused_in_the_floors_words(supervisor):
    before = snapshot()
    page = refused(save_form(supervisor, spring_url(), window_start="21:00", window_end="08:00"))
    assert "Constraint" not in page
    assert "ends before it starts" in page
    page = refused(
        save_form(
            supervisor, spring_url(), **{"modes-1-min_length": "9", "modes-1-max_length": "4"}
        )
    )
    assert "Constraint" not in page
    assert "The shortest number is longer than the longest." in page
    assert snapshot() == before


def test_the_inline_rows_and_buttons_read_in_the_floors_words(supervisor):
    """The enabled modes' rows are titled by the mode's name, and the add
    buttons say "Add another enabled mode", not Django's "Add another
    Enabled mode" nor "Spring mode 1"."""
    import html
    import json
    import re

    page = supervisor.get(spring_url()).content.decode()
    names = {m.mode_type.name for m in CampaignMode.objects.filter(campaign__code="Spring")}
    titles = {
        html.unescape(t).strip() for t in re.findall(r'<td class="original">\s*<p>([^<]*)', page)
    }
    assert {f"{name} (Spring)" for name in names} <= titles, titles
    assert not any(re.search(r"mode \d", t) for t in titles), titles
    add_texts = {
        json.loads(html.unescape(data))["options"]["addText"]
        for data in re.findall(r'data-inline-formset="([^"]*)"', page)
    }
    assert add_texts == {
        "Add another enabled mode", "Add another outcome", "Add another business field"
    }, add_texts  # fmt: skip


@pytest.mark.django_db
def test_an_auditor_reads_the_campaign_in_words(demo, client):
    """Read only: an outcome's telephony outcome by its words, empty cells "—"."""
    from .conftest import DEMO_PASSWORD

    assert client.login(username="auditor", password=DEMO_PASSWORD)
    page = client.get(spring_url()).content.decode()

    def cells(name):
        return re.findall(rf'<td class="field-{name}">\s*<p>(.*?)</p>', page)

    assert cells("implies_shown") == ["none", "none", "5 DNC"]
    assert cells("window_start") == ["—", "—", "—"]  # the campaign's window


@pytest.mark.django_db
def test_the_inlines_remove_column_is_in_the_floors_words(supervisor):
    page = supervisor.get(spring_url()).content.decode()
    assert "Delete?" not in page
    assert page.count("<th>Remove</th>") == 3  # enabled modes, outcomes, business fields
    law = supervisor.get("/admin/lcm/statelaw/add/").content.decode()
    assert "Delete?" not in law and "<th>Remove</th>" in law
