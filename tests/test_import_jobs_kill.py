"""Nothing lost, nothing twice: an import job whose worker process is killed
(SIGKILL) mid-job, resumed, cancelled mid-job by a supervisor and resumed
again ends exactly as one uninterrupted import of the same file: accounts,
modes, audit entries, rejected rows and counts; the chain verifies.

The workers are real `manage.py db_worker` processes on the test database
(PostgreSQL: another process can share it)."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time

import pytest
from django.core.management import call_command
from django.db import connection

from lcm.actions import import_jobs
from lcm.audit import verify_chain
from lcm.models import Account, ContactMode, ImportJob, ModeChange

from .processes import BASE_DIR, database_url, wait_for
from .test_import_jobs import list_file, supervisor, work_off_the_queue

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.postgres,
]

ROWS = 6000


def worker_process(import_dir: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": database_url(connection.settings_dict),
        "LCM_IMPORT_DIR": import_dir,
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--no-reload", "--no-startup-delay",
         "--interval", "0.05", "--verbosity", "0"],
        cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


def through(job) -> int:
    return ImportJob.objects.values_list("through", flat=True).get(pk=job.pk)


def outcome(job: ImportJob, prefix: str):
    """What the import left, with the file's keys stripped of their prefix."""
    job.refresh_from_db()

    def key(k):
        return k.removeprefix(prefix)

    accounts = [
        (key(a[0]), *a[1:])
        for a in Account.objects.filter(account_number__startswith=prefix)
        .order_by("account_number")
        .values_list("account_number", "first_name", "last_name", "campaign", "country")
    ]
    modes = [
        (key(m[0]), *m[1:])
        for m in ContactMode.objects.filter(account__account_number__startswith=prefix)
        .order_by("account__account_number", "mode_type_id")
        .values_list(
            "account__account_number",
            "mode_type_id",
            "number",
            "number_as_given",
            "has_consent",
            "consent_source",
            "consent_by",
            "deleted_at",
        )
    ]
    entries = [
        (key(e[0]), *e[1:])
        for e in ModeChange.objects.filter(source=job.source)
        .order_by("seq")
        .values_list("account_number", "action", "mode_id", "old_number", "new_number", "username")
    ]
    rejected = [
        (r[0], key(r[1]), *r[2:])
        for r in job.rejected_rows.order_by("line").values_list(
            "line", "account_number", "column", "reason"
        )
    ]
    counts = {name: getattr(job, name) for name in (*import_jobs.COUNTS, "rejected", "through")}
    return accounts, modes, entries, rejected, counts


def test_a_killed_worker_and_a_cancel_leave_a_job_that_resumes_to_the_uninterrupted_result(
    settings, tmp_path
):
    import_dir = str(tmp_path / "imports")
    settings.LCM_IMPORT_DIR = import_dir
    call_command("seed_demo", password="demo-pass-123", stdout=io.StringIO())

    # The reference: the file imported in one go.
    whole = import_jobs.store_upload([list_file(ROWS, "A")], file_name="a.csv", actor=supervisor())
    import_jobs.start(whole, supervisor())
    work_off_the_queue()
    whole.refresh_from_db()
    assert whole.state == "done"

    job = import_jobs.store_upload([list_file(ROWS, "B")], file_name="b.csv", actor=supervisor())
    import_jobs.start(job, supervisor())

    # 1. A worker killed mid-job.
    worker = worker_process(import_dir)
    try:
        wait_for(lambda: through(job) >= ROWS // 5, "the worker to commit some batches", 60, 0.01)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    killed_at = through(job)
    job.refresh_from_db()
    assert job.state == "running" and 0 < killed_at < ROWS
    with pytest.raises(import_jobs.JobConflict):
        import_jobs.resume(job, supervisor())  # not silent long enough to be lost

    # 2. Found lost, resumed by `manage.py resume_imports`; then cancelled.
    settings.LCM_IMPORT_JOB_STALE_SECONDS = 1
    time.sleep(1.1)
    out = io.StringIO()
    call_command("resume_imports", stdout=out)
    assert f"Resumed import {job.pk} (b.csv) from item {killed_at:,}." in out.getvalue()
    worker = worker_process(import_dir)
    try:
        wait_for(lambda: through(job) >= killed_at + ROWS // 5, "the resumed run", 60, 0.01)
        import_jobs.cancel(job, supervisor())
        wait_for(
            lambda: ImportJob.objects.get(pk=job.pk).state == "cancelled", "the cancel", 30, 0.01
        )
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    cancelled_at = through(job)
    assert killed_at < cancelled_at < ROWS

    # 3. Resumed by the supervisor, to the end.
    import_jobs.resume(job, supervisor())
    work_off_the_queue()
    job.refresh_from_db()
    assert job.state == "done" and job.attempt == 3

    assert outcome(job, "B-") == outcome(whole, "A-")
    assert job.rows > 0 and job.rejected > 0
    assert verify_chain().ok
    assert [(e.action, e.username) for e in job.events.all()] == [
        ("uploaded", "supervisor"),
        ("started", "supervisor"),
        ("resumed", ""),
        ("cancelled", "supervisor"),
        ("stopped", ""),
        ("resumed", "supervisor"),
        ("finished", ""),
    ]
    marks = [e.through for e in job.events.all()]
    assert marks[2] == killed_at and killed_at <= marks[3] <= cancelled_at  # asked mid-batch
    assert marks[4:] == [cancelled_at, cancelled_at, ROWS]
