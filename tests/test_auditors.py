"""The Auditors group and the demo auditor: they see everything, change nothing."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse

from lcm.actions import export_jobs
from lcm.models import (
    Account,
    Agent,
    BusinessField,
    Call,
    Campaign,
    CampaignMode,
    CampaignOutcome,
    ContactMode,
    DoNotCallNumber,
    ExportJob,
    ModeChange,
    ModeType,
    StateLaw,
    StateLawBarredDate,
)

from .audit_log import DEMO, make_log, seq
from .conftest import WEBSERVICE, client_for, set_mode_body, snapshot

pytestmark = pytest.mark.django_db

VIEWED = [
    Account,
    ContactMode,
    Call,
    Agent,
    ModeChange,
    ModeType,
    DoNotCallNumber,
    # Campaigns: auditors read them, supervisors edit them (0023_campaigns_from_strings).
    Campaign,
    CampaignMode,
    CampaignOutcome,
    BusinessField,
    # State calling rules: auditors read them, supervisors edit them (0027).
    StateLaw,
    StateLawBarredDate,
    # Who exported which list, when (0033_export_job_viewers): read, never written by hand.
    ExportJob,
]


def test_the_auditors_group_may_view_and_nothing_else(db):
    group = Group.objects.get(name="Auditors")

    assert sorted(group.permissions.values_list("content_type__app_label", "codename")) == sorted(
        ("lcm", f"view_{model._meta.model_name}") for model in VIEWED
    )


def test_seed_demo_adds_the_demo_auditor_idempotently(db):
    for _ in range(2):
        call_command("seed_demo", password="pw-123456", stdout=io.StringIO())

    auditor = get_user_model().objects.get(username="auditor")
    assert auditor.is_staff and not auditor.is_superuser
    assert list(auditor.groups.values_list("name", flat=True)) == ["Auditors"]
    assert auditor.check_password("pw-123456")
    assert auditor.has_perm("lcm.view_modechange")
    assert not auditor.has_perm("lcm.change_account")


@pytest.fixture
def auditor(demo, client):
    client.force_login(get_user_model().objects.get(username="auditor"))
    return client


def admin_url(model, view, *args):
    return reverse(f"admin:lcm_{model._meta.model_name}_{view}", args=args)


# The campaign's modes, outcomes and fields are edited inline on the campaign's page.
PAGES = [
    model
    for model in VIEWED
    if model not in (CampaignMode, CampaignOutcome, BusinessField, StateLawBarredDate)
]


@pytest.mark.parametrize("model", PAGES, ids=lambda m: m.__name__)
def test_the_auditor_opens_every_list_and_page_but_changes_nothing(auditor, model):
    make_log()
    if model is ExportJob:  # the worker's record: one a supervisor queued
        export_jobs.start("accounts", get_user_model().objects.get(username="supervisor"))
    obj = model.objects.order_by("pk").first()
    before = snapshot(), list(model.objects.order_by("pk").values())

    listing = auditor.get(admin_url(model, "changelist"))
    page = auditor.get(admin_url(model, "change", obj.pk))
    refused = [
        auditor.get(admin_url(model, "add")),
        auditor.post(admin_url(model, "add"), {}),
        auditor.post(admin_url(model, "change", obj.pk), {}),
        auditor.get(admin_url(model, "delete", obj.pk)),
        auditor.post(admin_url(model, "delete", obj.pk), {"post": "yes"}),
    ]
    bulk_delete = auditor.post(
        admin_url(model, "changelist"), {"action": "delete_selected", "_selected_action": [obj.pk]}
    )

    assert listing.status_code == 200
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="_save"' not in html and 'class="deletelink"' not in html
    assert [r.status_code for r in refused] == [403] * 5
    assert bulk_delete.status_code in (200, 302)  # no delete action is offered
    assert (snapshot(), list(model.objects.order_by("pk").values())) == before


def test_the_admin_index_shows_the_auditor_only_view_links(auditor):
    response = auditor.get(reverse("admin:index"))

    assert response.status_code == 200
    html = response.content.decode()
    assert reverse("admin:lcm_modechange_changelist") in html
    assert "addlink" not in html


def test_the_auditor_cannot_change_a_number_through_the_api(demo):
    make_log()
    before = snapshot()

    response = client_for("auditor").post(WEBSERVICE, set_mode_body(), format="json")

    assert response.status_code == 403
    assert response.json()["message"]["error"]["code"] == "forbidden"
    assert snapshot() == before


def test_the_auditor_reads_the_log_through_the_api(demo):
    make_log()

    response = client_for("auditor").get("/api/lcm/mode-changes/")

    assert response.status_code == 200
    assert [e["seq"] for e in response.json()["results"]] == [seq(3), seq(2), seq(1), *DEMO]
