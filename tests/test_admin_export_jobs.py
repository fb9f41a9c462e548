"""The console's "Export the whole list in the background" (lcm.admin.export_jobs):
the button queues the job, its page follows the real worker (in this process)
and offers the file, which is the list's "Export CSV" download, byte for byte."""

from __future__ import annotations

from html import unescape

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from lcm import list_export
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
