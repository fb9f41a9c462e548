"""Exports of a whole list as background jobs (lcm.actions.export_jobs,
lcm.tasks): the real django-tasks database backend and its worker
(`manage.py db_worker`) in this process, against the test database. The
file the worker writes, page by page, is byte for byte the console's
download of the same list (lcm.list_export, one server-side cursor)."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils.dateparse import parse_datetime
from django_tasks_db.models import DBTaskResult

from lcm import errors, list_export
from lcm.actions import export_jobs, import_jobs
from lcm.models import Account, DoNotCallNumber, ExportJob

from .test_import_jobs import list_file, supervisor, work_off_the_queue

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def seeded(settings, tmp_path):
    settings.LCM_IMPORT_DIR = str(tmp_path / "imports")
    call_command("seed_demo", password="demo-pass-123", stdout=io.StringIO())


def user(name: str):
    return get_user_model().objects.get(username=name)


def test_the_worker_writes_the_whole_account_list_as_the_console_downloads_it(seeded):
    listing = import_jobs.store_upload([list_file(4500)], file_name="big.csv", actor=supervisor())
    import_jobs.start(listing, supervisor())
    work_off_the_queue()
    accounts = Account.objects.count()
    assert accounts > 2 * 2000  # more than two pages of lcm.list_export

    job = export_jobs.start("accounts", supervisor())
    assert (job.state, DBTaskResult.objects.filter(status="READY").count()) == ("queued", 1)
    with pytest.raises(export_jobs.ExportNotReady):
        export_jobs.open_file(job)
    work_off_the_queue()

    job.refresh_from_db()
    assert (job.state, job.rows, job.total, job.error) == ("done", accounts, accounts, "")
    data = Path(job.path).read_bytes()
    console = "".join(list_export.account_lines(Account.objects.order_by("pk"))).encode()
    assert data == console
    assert (job.size, job.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    with export_jobs.open_file(job) as file:
        assert file.read() == data
    assert export_jobs.status(job)["percent"] == 100.0
    assert not list(Path(job.path).parent.glob("*.part"))


def test_the_do_not_call_list_and_who_may_export(seeded):
    assert DoNotCallNumber.objects.exists()
    dialer = user("dialer")  # loads lists, so gets them back
    job = export_jobs.start("do_not_call", dialer)
    work_off_the_queue()
    job.refresh_from_db()
    data = Path(job.path).read_bytes()
    console = "".join(list_export.do_not_call_lines(DoNotCallNumber.objects.order_by("pk")))
    assert data == console.encode()
    assert job.rows == DoNotCallNumber.objects.count()
    assert export_jobs.get(str(job.pk), dialer) == job

    with pytest.raises(errors.NotAllowed):
        export_jobs.start("accounts", user("testagent"))
    with pytest.raises(errors.NotAllowed):
        export_jobs.get(job.pk, user("testagent"))
    with pytest.raises(export_jobs.UnknownList):
        export_jobs.start("everything", supervisor())
    assert ExportJob.objects.count() == 1
    assert export_jobs.get("999", dialer) is None and export_jobs.get("x", dialer) is None


def api_client(username: str):
    from rest_framework.test import APIClient

    from .test_client import token_of

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_of(username)}")
    return client


def test_a_finished_export_expires_after_LCM_EXPORT_KEEP_HOURS(seeded, settings):
    assert settings.LCM_EXPORT_KEEP_HOURS == 24  # the default
    dialer = api_client("dialer")
    job_url = dialer.post("/api/lcm/exports/", {"list": "do_not_call"}, format="json")["Location"]
    work_off_the_queue()
    job = ExportJob.objects.get()
    path = Path(job.path)
    done = dialer.get(job_url).json()
    assert done["state"] == "done" and path.exists()
    kept_until = job.finished_at + timedelta(hours=24)
    assert done["expires_at"].endswith("Z") and parse_datetime(done["expires_at"]) == kept_until

    with time_machine.travel(kept_until - timedelta(seconds=1), tick=False):
        assert dialer.get(job_url).json()["state"] == "done"
        assert dialer.get(job_url + "file/").status_code == 200
    with time_machine.travel(kept_until, tick=False):
        gone = dialer.get(job_url + "file/")
        assert gone.status_code == 410
        assert gone.json() == {
            "code": "export_expired",
            "message": f"Export {job.pk} has expired: its file was deleted 24 hours after it "
            "was written (LCM_EXPORT_KEEP_HOURS). Export the list again.",
        }
        expired = dialer.get(job_url).json()
    assert (expired["state"], expired["state_text"]) == (
        "expired",
        "expired (its file was deleted)",
    )
    assert expired["expires_at"] is None and not path.exists()
    job.refresh_from_db()
    assert (job.path, job.sha256, job.rows) == (
        "",
        done["sha256"],
        done["rows"],
    )  # the record stays


def test_the_worker_and_expire_exports_delete_the_old_files(seeded, settings):
    settings.LCM_EXPORT_KEEP_HOURS = 2
    old = export_jobs.start("do_not_call", supervisor())
    work_off_the_queue()
    old.refresh_from_db()
    again = export_jobs.start("accounts", supervisor())
    work_off_the_queue()
    again.refresh_from_db()
    assert old.state == again.state == "done"

    # Two hours on, the next export's worker sweeps: the old files go.
    with time_machine.travel(again.finished_at + timedelta(hours=2), tick=True):
        new = export_jobs.start("do_not_call", supervisor())
        work_off_the_queue()
    states = dict(ExportJob.objects.values_list("pk", "state"))
    assert states == {old.pk: "expired", again.pk: "expired", new.pk: "done"}
    assert not Path(old.path).exists() and not Path(again.path).exists()
    new.refresh_from_db()
    assert Path(new.path).exists()

    # `manage.py expire_exports` (cron) does the same on a quiet day.
    out = io.StringIO()
    with time_machine.travel(new.finished_at + timedelta(hours=1), tick=False):
        call_command("expire_exports", stdout=out)
    assert out.getvalue() == "0 export files deleted.\n" and Path(new.path).exists()
    with time_machine.travel(new.finished_at + timedelta(hours=2, seconds=1), tick=False):
        call_command("expire_exports", stdout=out)
    assert out.getvalue().endswith("1 export file deleted.\n") and not Path(new.path).exists()
    assert ExportJob.objects.get(pk=new.pk).state == "expired"
