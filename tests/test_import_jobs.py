"""Imports as background jobs (lcm.actions.import_jobs, lcm.tasks): the real
django-tasks database backend and its worker (`manage.py db_worker`), in
this process or as a process of its own, against the test database.

The worker killed mid-job (SIGKILL) and resumed is in
tests/test_import_jobs_kill.py (PostgreSQL: a second process needs a
database it can share)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from lcm.actions import import_jobs
from lcm.audit import verify_chain
from lcm.models import Account, ImportJob, ImportJobEvent, ModeChange

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

HEADER = "AccountNumber,FirstName,LastName,Campaign,Mode1,Mode2,Mode1PEWC\n"


def list_file(rows: int, prefix: str = "J") -> bytes:
    """`rows` rows: every 50th has a bad number, every 70th repeats the row
    before's key (its second row changes the first's Mode2), every 90th a
    wrong field count."""
    lines = [HEADER]
    for n in range(rows):
        key = f"{prefix}-{n:06d}"
        if n % 70 == 69:
            key = f"{prefix}-{n - 1:06d}"
        if n % 90 == 89:
            lines.append(f"{key},Only,Three\n")
            continue
        number = "12" if n % 50 == 49 else f"20255{n % 100000:05d}"
        lines.append(f"{key},First{n},Last{n},Spring,{number},31055{n % 100000:05d},true\n")
    return "".join(lines).encode()


def supervisor():
    return get_user_model().objects.get(username="supervisor")


def work_off_the_queue():
    """The real worker, in this process, until the queue is empty."""
    call_command(
        "db_worker", "--batch", "--no-reload", "--no-startup-delay", "--interval", "0",
        verbosity=0, stdout=io.StringIO(),
    )  # fmt: skip


@pytest.fixture
def seeded(settings, tmp_path):
    settings.LCM_IMPORT_DIR = str(tmp_path / "imports")
    call_command("seed_demo", password="demo-pass-123", stdout=io.StringIO())


def test_a_job_imports_the_file_in_a_worker_with_its_counts_rejected_rows_and_events(seeded):
    data = list_file(350)
    job = import_jobs.store_upload(
        [data[:1000], data[1000:]], file_name="spring.csv", actor=supervisor()
    )
    assert Path(job.path).read_bytes() == data
    assert job.lines == 351 and job.size == len(data) and job.state == "new"

    import_jobs.start(job, supervisor())
    assert DBTaskResult.objects.get().status == "READY"
    work_off_the_queue()

    job.refresh_from_db()
    assert job.state == "done", job.error
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
    assert job.through == 350
    # 350 rows: 3 wrong field counts (89, 179, 269), 7 bad Mode1 numbers
    # (49, 99, …, 349); 4 repeated keys (69, 139, 209, 279; 349 is a bad
    # number) rewrite their account.
    assert job.rejected == 10
    assert job.rows == 340
    assert job.accounts_created == 340 - 4
    assert job.rows_changed == 4
    assert Account.objects.filter(account_number__startswith="J-").count() == 336
    rejected = list(job.rejected_rows.order_by("line").values_list("line", "column"))
    assert rejected[0] == (51, "Mode1")  # line 51 holds row 49
    assert (91, "") in rejected
    assert not Path(job.path).exists()

    entries = ModeChange.objects.filter(source=f"import job {job.pk}")
    assert entries.count() == job.modes_added + job.modes_changed > 0
    assert set(entries.values_list("username", flat=True)) == {"supervisor"}
    assert verify_chain().ok
    actions = list(ImportJobEvent.objects.filter(job=job).values_list("action", "username"))
    assert actions == [
        ("uploaded", "supervisor"),
        ("started", "supervisor"),
        ("finished", ""),
    ]
    assert import_jobs.status(job)["percent"] == 100.0

    csv = list(import_jobs.rejected_csv_rows(job))
    assert csv[0] == ["line", "LCM key", "column", "reason"]
    assert csv[1][:3] == [51, "J-000049", "Mode1"]


def test_one_running_import_per_file_and_per_job(seeded):
    data = list_file(20)
    first = import_jobs.store_upload([data], file_name="a.csv", actor=supervisor())
    second = import_jobs.store_upload([data], file_name="b.csv", actor=supervisor())
    import_jobs.start(first, supervisor())
    with pytest.raises(import_jobs.JobConflict) as refused:
        import_jobs.start(second, supervisor())
    assert refused.value.message == import_jobs.ALREADY_IMPORTING.format(job=first.pk)
    with pytest.raises(import_jobs.JobConflict):
        import_jobs.start(first, supervisor())  # started already
    with pytest.raises(import_jobs.JobConflict):
        import_jobs.resume(first, supervisor())  # queued, not lost
    assert DBTaskResult.objects.count() == 1
    second.refresh_from_db()
    assert second.state == "new"

    work_off_the_queue()
    import_jobs.start(second, supervisor())  # the first is done: the file may go again
    work_off_the_queue()
    second.refresh_from_db()
    assert second.state == "done"
    assert second.rows == first.__class__.objects.get(pk=first.pk).rows
    assert second.accounts_created == 0  # all there already


def test_a_job_cancelled_while_queued_never_runs_and_resumes_from_where_it_was(seeded):
    job = import_jobs.store_upload([list_file(120)], file_name="c.csv", actor=supervisor())
    import_jobs.start(job, supervisor())
    import_jobs.cancel(job, supervisor())
    work_off_the_queue()
    job.refresh_from_db()
    assert job.state == "cancelled" and job.through == 0
    assert not Account.objects.filter(account_number__startswith="J-").exists()

    with pytest.raises(import_jobs.JobConflict):
        import_jobs.cancel(job, supervisor())
    import_jobs.resume(job, supervisor())
    work_off_the_queue()
    job.refresh_from_db()
    assert job.state == "done" and job.attempt == 2
    assert job.through == 120
    assert [e.action for e in job.events.all()] == [
        "uploaded", "started", "cancelled", "resumed", "finished",
    ]  # fmt: skip


def test_uploads_refused_keep_nothing(seeded, settings, tmp_path):
    settings.LCM_IMPORT_UPLOAD_MAX_BYTES = 100
    with pytest.raises(import_jobs.UploadTooLarge):
        import_jobs.store_upload([b"x" * 60, b"y" * 60], file_name="big.csv", actor=supervisor())
    with pytest.raises(import_jobs.BadFile):
        import_jobs.store_upload([b"x"], file_name="list.xlsx", actor=supervisor())
    with pytest.raises(import_jobs.BadFile):
        import_jobs.store_upload([b""], file_name="empty.csv", actor=supervisor())
    assert not ImportJob.objects.exists()
    assert list(Path(settings.LCM_IMPORT_DIR).iterdir()) == []


def test_the_preview_reads_the_header_and_the_first_rows_only(seeded):
    job = import_jobs.store_upload([list_file(3000)], file_name="p.csv", actor=supervisor())
    preview = import_jobs.preview(job, supervisor(), rows=100)
    assert preview.rows == 100 and not preview.complete
    assert [r.line for r in preview.rejected] == [51, 91, 101]
    assert not Account.objects.filter(account_number__startswith="J-").exists()

    with pytest.raises(import_jobs.BadFile) as refused:
        import_jobs.store_upload([b"Name,Phone\nx,y\n"], file_name="bad.csv", actor=supervisor())
    assert refused.value.message.startswith("Line 1 (the header): Unknown column 'Name'")
    assert ImportJob.objects.count() == 1


def test_a_rejection_names_its_columns():
    assert import_jobs.column_of("Mode1: too short; Home PEWC: 'x' is not") == "Mode1, Home PEWC"
    assert import_jobs.column_of("has 3 fields; the header has 7") == ""
    assert import_jobs.column_of("AccountNumber is empty") == ""
