"""The API's import door (lcm.api.import_jobs): POST a file (body or
multipart) → 202 and the job's URL; GET its status; its rejected rows as
CSV; Idempotency-Key; errors in the one shape. The real worker runs the job
in this process (DRF's test client, real database)."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from lcm.models import Account, ImportJob

from .conftest import client_for
from .test_import_jobs import work_off_the_queue

pytestmark = pytest.mark.django_db

IMPORTS = "/api/lcm/imports/"
FILE = b"AccountNumber,FirstName,Mode1\nAPI|1,Ada,2025550101\nAPI|2,Bob,12\n"


@pytest.fixture(autouse=True)
def _import_dir(settings, tmp_path):
    settings.LCM_IMPORT_DIR = str(tmp_path / "imports")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # the worker closes connections
def test_the_dialer_posts_a_csv_body_gets_202_and_follows_the_job(demo):
    dialer = client_for("dialer")
    response = dialer.post(IMPORTS + "?name=spring.csv", FILE, content_type="text/csv")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["state"] == "queued" and body["file_name"] == "spring.csv"
    assert response["Location"] == body["url"]
    assert not Account.objects.filter(account_number__startswith="API|").exists()

    work_off_the_queue()

    status = dialer.get(body["url"]).json()
    assert (status["state"], status["rows"], status["rejected"], status["through"]) == (
        "done", 1, 1, 2,
    )  # fmt: skip
    rejected = dialer.get(status["rejected_url"])
    assert rejected.status_code == 200 and rejected["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(rejected.streaming_content).decode())))
    assert rows == [["line", "LCM key", "column", "reason"], ["3", "API|2", "Mode1", rows[1][3]]]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # the worker closes connections
def test_multipart_and_json_lines(demo):
    dialer = client_for("dialer")
    response = dialer.post(
        IMPORTS, {"file": SimpleUploadedFile("list.csv", FILE)}, format="multipart"
    )
    assert response.status_code == 202, response.content
    jsonl = b'{"AccountNumber": "API|3", "Mode1": "2025550102"}\n'
    work_off_the_queue()
    response = dialer.post(IMPORTS, jsonl, content_type="application/x-ndjson")
    assert response.status_code == 202, response.content
    work_off_the_queue()
    assert Account.objects.filter(account_number__startswith="API|").count() == 2


def test_an_idempotency_key_makes_one_job(demo):
    dialer = client_for("dialer")
    first = dialer.post(IMPORTS, FILE, content_type="text/csv", HTTP_IDEMPOTENCY_KEY="list-1")
    again = dialer.post(IMPORTS, FILE, content_type="text/csv", HTTP_IDEMPOTENCY_KEY="list-1")
    assert first.status_code == again.status_code == 202
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert ImportJob.objects.count() == 1
    other = dialer.post(
        IMPORTS, FILE + b"API|9,Eve,\n", content_type="text/csv", HTTP_IDEMPOTENCY_KEY="list-1"
    )
    assert other.status_code == 422 and set(other.json()) == {"code", "message"}
    assert ImportJob.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b"Name\nx\n", "text/csv", 400, "bad_file"),
        (b"", "text/csv", 400, "bad_file"),
        (b'{"a": 1}', "application/json", 415, None),
    ],
)
def test_bad_uploads_are_errors_in_the_one_shape_and_keep_nothing(
    demo, body, content_type, status, code
):
    response = client_for("dialer").post(IMPORTS, body, content_type=content_type)
    assert response.status_code == status, response.content
    assert set(response.json()) >= {"code", "message"}
    if code:
        assert response.json()["code"] == code
    assert not ImportJob.objects.exists()


def test_too_large_the_same_file_twice_unknown_jobs_and_permissions(demo, settings):
    dialer = client_for("dialer")
    settings.LCM_IMPORT_UPLOAD_MAX_BYTES = 10
    assert dialer.post(IMPORTS, FILE, content_type="text/csv").json()["code"] == "file_too_large"
    settings.LCM_IMPORT_UPLOAD_MAX_BYTES = 1000
    assert dialer.post(IMPORTS, FILE, content_type="text/csv").status_code == 202
    twice = dialer.post(IMPORTS, FILE, content_type="text/csv")
    assert twice.status_code == 409 and twice.json()["code"] == "import_job_state"
    assert ImportJob.objects.count() == 1
    assert dialer.get(IMPORTS + "999/").json()["code"] == "unknown_import"
    assert dialer.get(IMPORTS + "x/").status_code == 404
    agent = client_for("testagent")
    assert agent.post(IMPORTS, FILE, content_type="text/csv").status_code == 403
    job = ImportJob.objects.get()
    assert agent.get(f"{IMPORTS}{job.pk}/").status_code == 403
    assert client_for(None).get(f"{IMPORTS}{job.pk}/").status_code == 401
