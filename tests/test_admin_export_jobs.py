"""The console's "Export the whole list in the background" (lcm.admin.export_jobs):
the button queues the job, its page follows the real worker (in this process)
and offers the file, which is the list's "Export CSV" download, byte for byte."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from lcm import list_export
from lcm.actions import do_not_call
from lcm.models import Account, DoNotCallNumber, ExportJob

from .test_import_jobs import work_off_the_queue

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def supervisor_client(demo, settings, tmp_path):
    settings.LCM_IMPORT_DIR = str(tmp_path / "imports")
    client = Client()
    client.force_login(get_user_model().objects.get(username="supervisor"))
    return client


def streamed(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.mark.parametrize(
    ("model", "lines", "queryset"),
    [
        ("account", list_export.account_lines, Account.objects.order_by("pk")),
        ("donotcallnumber", list_export.do_not_call_lines, DoNotCallNumber.objects.order_by("pk")),
    ],
)
def test_a_supervisor_exports_a_whole_list_and_downloads_it(
    supervisor_client, model, lines, queryset
):
    client = supervisor_client
    listing = client.get(reverse(f"admin:lcm_{model}_changelist"))
    start = reverse(f"admin:lcm_{model}_export_job")
    assert f'action="{start}"' in listing.content.decode()

    response = client.post(start)
    job = ExportJob.objects.get()
    page = reverse(f"admin:lcm_{model}_export_job_page", args=[job.pk])
    assert response.status_code == 302 and response["Location"] == page
    queued = client.get(page).content.decode()
    assert "Waiting for a worker" in queued and 'http-equiv="refresh"' in queued
    file_url = reverse(f"admin:lcm_{model}_export_job_file", args=[job.pk])
    early = client.get(file_url, follow=True)
    assert "is not done (waiting for a worker)" in unescape(early.content.decode())

    work_off_the_queue()

    done = client.get(page).content.decode()
    assert 'http-equiv="refresh"' not in done and f'href="{file_url}"' in done
    download = client.get(file_url)
    assert download.status_code == 200 and download["Content-Type"].startswith("text/csv")
    assert "attachment" in download["Content-Disposition"]
    assert streamed(download) == "".join(lines(queryset.all())).encode()
    # The other list's pages do not show this job.
    other = "donotcallnumber" if model == "account" else "account"
    wrong = client.get(reverse(f"admin:lcm_{other}_export_job_page", args=[job.pk]))
    assert wrong.status_code == 404


def test_an_agent_may_not_export(demo, settings, tmp_path):
    settings.LCM_IMPORT_DIR = str(tmp_path / "imports")
    User = get_user_model()
    agent = User.objects.get(username="testagent")
    agent.is_staff = True  # even with a console login, no permission to read the list
    agent.save()
    client = Client()
    client.force_login(agent)
    assert client.post(reverse("admin:lcm_account_export_job")).status_code == 403
    assert not ExportJob.objects.exists()


@pytest.mark.parametrize(
    ("model", "query", "words"),
    [
        (
            "donotcallnumber",
            "lifted_at__isempty=1",
            "do-not-call numbers, filtered: lifted: Not lifted",
        ),
        (
            "donotcallnumber",
            "q=2025550188&o=2&p=1",
            "do-not-call numbers, filtered: search “2025550188”",
        ),
        ("account", "q=Lopez", "accounts, filtered: search “Lopez”"),
    ],
)
def test_the_background_export_is_the_list_as_filtered_and_searched(
    supervisor_client, model, query, words
):
    client = supervisor_client
    for number in ("2025550188", "2025550177", "2025550166"):
        do_not_call.add_number(number=number, reason="Asked on the phone")
    lifted = DoNotCallNumber.objects.get(number="2025550177")
    do_not_call.lift(entry_pk=lifted.pk, reason="Added by mistake")
    changelist = reverse(f"admin:lcm_{model}_changelist")
    listing = client.get(f"{changelist}?{query}").content.decode()
    assert 'name="query"' in listing and "Export this filtered list in the background" in listing
    csv_download = client.get(f"{reverse(f'admin:lcm_{model}_export')}?{query}")
    expected = streamed(csv_download).decode().splitlines()

    response = client.post(reverse(f"admin:lcm_{model}_export_job"), {"query": query})
    job = ExportJob.objects.get()
    assert response.status_code == 302
    assert job.query == query.removesuffix("&o=2&p=1")  # the page and the order choose no rows
    assert job.description == words
    work_off_the_queue()

    page = client.get(reverse(f"admin:lcm_{model}_export_job_page", args=[job.pk]))
    assert f"Exported {job.description}." in unescape(page.content.decode())
    file_url = reverse(f"admin:lcm_{model}_export_job_file", args=[job.pk])
    lines = streamed(client.get(file_url)).decode().splitlines()
    # The rows of the list's own "Export CSV" with the same query (in pk order).
    assert lines[0] == expected[0] and sorted(lines[1:]) == sorted(expected[1:])
    job.refresh_from_db()
    assert 0 < job.rows == len(lines) - 1
    everything = (Account if model == "account" else DoNotCallNumber).objects.count()
    assert job.rows < everything


def test_a_query_the_list_refuses_queues_nothing(supervisor_client):
    client = supervisor_client
    start = reverse("admin:lcm_donotcallnumber_export_job")
    response = client.post(start, {"query": "password__startswith=x"}, follow=True)
    assert "The list's filters or search are not valid any more" in unescape(
        response.content.decode()
    )
    assert not ExportJob.objects.exists()


def test_a_lost_export_is_resumed_from_its_page(supervisor_client, settings):
    """Queued and then silent past LCM_IMPORT_JOB_STALE_SECONDS (its worker
    lost): the page stops reloading and offers Resume; the new attempt
    writes the file, the lost one's task does nothing."""
    client = supervisor_client
    client.post(reverse("admin:lcm_account_export_job"))
    job = ExportJob.objects.get()
    page = reverse("admin:lcm_account_export_job_page", args=[job.pk])
    assert 'id="export-resume"' not in client.get(page).content.decode()
    resume = reverse("admin:lcm_account_export_job_resume", args=[job.pk])
    refused = client.post(resume, follow=True).content.decode()
    assert f"Export {job.pk} cannot be resumed: it is waiting for a worker." in unescape(refused)

    with time_machine.travel(job.heartbeat_at + timedelta(seconds=121), tick=False):
        lost = client.get(page).content.decode()
        assert 'id="export-resume"' in lost and 'http-equiv="refresh"' not in lost
        assert "has been silent too long" in lost
        resumed = client.post(resume, follow=True).content.decode()
    assert "The export is queued again" in resumed
    job.refresh_from_db()
    assert (job.state, job.attempt) == ("queued", 2)
    work_off_the_queue()  # the first attempt's task, then the second's
    job.refresh_from_db()
    assert (job.state, job.attempt, job.rows) == ("done", 2, Account.objects.count())
    file_url = reverse("admin:lcm_account_export_job_file", args=[job.pk])
    data = streamed(client.get(file_url))
    assert data == "".join(list_export.account_lines(Account.objects.order_by("pk"))).encode()
