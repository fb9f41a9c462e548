"""The console's "Import accounts": upload (to disk), preview of the first
rows, the import as a background job (the real django-tasks worker, in this
process), its JSON status, Cancel, Resume, the rejected rows as CSV
(Django's test client, real database). The browser walk is in
tests/test_admin_browser.py."""

import csv
import io
import json
import re
from html import unescape
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from lcm.actions import import_jobs
from lcm.imports import NO_ACCOUNT_COLUMN
from lcm.models import Account, ImportJob, ModeChange

from .conftest import live_modes, snapshot
from .test_import_jobs import work_off_the_queue

pytestmark = pytest.mark.django_db

UPLOAD = reverse("admin:lcm_account_import")
HEADER = "AccountNumber,FirstName,LastName,Campaign,Mode1,Mode2\n"
# Ada is new; David (seeded) gets another Mode2 number; Bob's is too short.
FILE = HEADER + (
    "1|1|1|0|0|44|1,Ada,Lovelace,Spring,2025550101,\n"
    "5|3|1|0|0|44|1,David,Berry,Spring,,2025550177\n"
    "9|9|9,Bob,,Spring,12,\n"
)


@pytest.fixture(autouse=True)
def _import_dir(settings, tmp_path):
    settings.LCM_IMPORT_DIR = str(tmp_path / "imports")


def login(client, username):
    client.force_login(get_user_model().objects.get(username=username))
    return client


def upload(client, content, name="accounts.csv"):
    data = content.encode() if isinstance(content, str) else content
    return client.post(UPLOAD, {"file": SimpleUploadedFile(name, data)})


def text(response) -> str:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body.decode())))


def job_url(job, name="preview"):
    return reverse(f"admin:lcm_account_import_{name}", args=[job.pk])


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # the worker closes connections
def test_upload_preview_import_in_the_background_and_the_summary(demo, client):
    login(client, "supervisor")
    before = snapshot()

    response = upload(client, FILE)

    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == job_url(job)
    page = text(client.get(job_url(job)))
    assert "Preview of accounts.csv" in page
    assert "Add accounts 1" in page and "Change accounts 1" in page
    assert "Be rejected 1" in page
    assert "4 9|9|9" in page  # the rejected row: its line and its key, with the reason
    assert snapshot() == before  # the preview wrote nothing

    queued = client.post(job_url(job, "run"))
    assert queued.status_code == 302  # at once: the worker imports
    job.refresh_from_db()
    assert job.state == "queued" and snapshot() == before
    status = client.get(job_url(job, "status")).json()
    assert (status["state"], status["through"], status["total"]) == ("queued", 0, 3)

    work_off_the_queue()

    status = client.get(job_url(job, "status")).json()
    assert status["state"] == "done" and status["percent"] == 100.0
    assert (status["rows"], status["accounts_created"], status["rows_changed"]) == (2, 1, 1)
    assert status["rejected"] == 1
    page = text(client.get(job_url(job)))
    assert (
        "Imported 2 rows of accounts.csv: 1 account added, 1 changed, 0 already up to date, "
        "1 row rejected; 1 number added, 1 changed." in page
    ), page
    assert "4 9|9|9 Mode1" in page  # line, key, column, reason
    assert live_modes("1|1|1|0|0|44|1") == {1: "2025550101"}
    assert live_modes("5|3|1|0|0|44|1")[2] == "2025550177"
    assert not Account.objects.filter(account_number="9|9|9").exists()
    entries = ModeChange.objects.filter(source=f"import job {job.pk}")
    assert [(e.action, e.username) for e in entries] == [("import", "supervisor")] * 2

    # The link to the import's audit entries lists exactly those.
    html = client.get(job_url(job)).content.decode()
    audit = unescape(re.search(r'<a href="([^"]+)" id="import-audit"', html).group(1))
    listed = client.get(audit)
    assert listed.status_code == 200
    assert listed.context["cl"].result_count == 2

    rejected = client.get(job_url(job, "rejected"))
    rows = list(csv.reader(io.StringIO(b"".join(rejected.streaming_content).decode())))
    assert rows[0] == ["line", "LCM key", "column", "reason"]
    assert rows[1][:3] == ["4", "9|9|9", "Mode1"] and len(rows) == 2


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # the worker closes connections
def test_cancel_and_resume_from_the_page(demo, client):
    login(client, "supervisor")
    upload(client, HEADER + "".join(f"L|{n},,,,2025560{n:03d},\n" for n in range(250)))
    job = ImportJob.objects.get()
    client.post(job_url(job, "run"))
    assert 'id="cancel-import"' in client.get(job_url(job)).content.decode()

    client.post(job_url(job, "cancel"))
    work_off_the_queue()  # the queued run sees the cancel and does nothing
    html = client.get(job_url(job)).content.decode()
    assert 'id="resume-import"' in html and 'id="cancel-import"' not in html
    assert not Account.objects.filter(account_number__startswith="L|").exists()

    refused = client.post(job_url(job, "cancel"), follow=True)
    assert "is not running (cancelled): there is nothing to cancel" in text(refused)

    client.post(job_url(job, "resume"))
    work_off_the_queue()
    job.refresh_from_db()
    assert job.state == "done" and job.rows == 250
    assert Account.objects.filter(account_number__startswith="L|").count() == 250
    page = text(client.get(job_url(job)))
    assert "Resumed" in page and "Cancelled" in page and "supervisor" in page


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        ("accounts.xlsx", HEADER, "Choose a .csv or a .jsonl (JSON Lines) file"),
        ("accounts.csv", "", "The file is empty."),
        ("accounts.csv", "   \n", "The file is empty"),
        ("accounts.csv", "FirstName,LastName\nAda,Lovelace\n", NO_ACCOUNT_COLUMN),
        ("accounts.csv", HEADER, "The file has no rows to import."),
        ("accounts.csv", "AccountNumber\n\0\0\n", "binary"),
        ("accounts.jsonl", "", "The file is empty."),
    ],
)
def test_a_bad_file_is_a_form_error_and_keeps_nothing(demo, client, settings, name, content, error):
    login(client, "supervisor")
    before = snapshot()

    response = upload(client, content, name)

    assert response.status_code == 200
    assert error in text(response)
    assert 'id="id_file_error"' in response.content.decode()
    assert snapshot() == before and not ImportJob.objects.exists()
    folder = Path(settings.LCM_IMPORT_DIR)
    assert not folder.exists() or list(folder.iterdir()) == []


def test_a_file_over_the_limit_is_refused(demo, client, settings):
    settings.LCM_IMPORT_UPLOAD_MAX_BYTES = 100
    login(client, "supervisor")
    response = upload(client, FILE)
    assert import_jobs.TOO_LARGE.format(limit=100) in text(response)
    assert not ImportJob.objects.exists()


def test_no_file_is_a_form_error(demo, client):
    login(client, "supervisor")
    assert "Choose a file to upload." in text(client.post(UPLOAD, {}))


def test_an_auditor_may_not_import_nor_see_a_job(demo, client):
    login(client, "supervisor")
    upload(client, FILE)
    job = ImportJob.objects.get()
    login(client, "auditor")
    assert (
        'id="import-accounts"'
        not in client.get(reverse("admin:lcm_account_changelist")).content.decode()
    )
    assert client.get(UPLOAD).status_code == 403
    assert upload(client, FILE).status_code == 403
    for name in ("preview", "status", "rejected"):
        assert client.get(job_url(job, name)).status_code == 403
    assert client.post(job_url(job, "run")).status_code == 403
    job.refresh_from_db()
    assert job.state == "new"


def test_the_status_is_json_for_the_progress_bar(demo, client):
    login(client, "supervisor")
    upload(client, FILE)
    job = ImportJob.objects.get()
    response = client.get(job_url(job, "status"))
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert set(body) >= {"state", "through", "total", "percent", "rows_per_second",
                         "seconds_left", "rejected", "resumable"}  # fmt: skip
    assert client.get(reverse("admin:lcm_account_import_status", args=["nope"])).status_code == 404
