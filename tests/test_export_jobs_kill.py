"""A killed export worker loses nothing: an export job whose worker process is
SIGKILLed mid-file is found lost and resumed by `manage.py resume_imports`
(the imports' rule: silent past LCM_IMPORT_JOB_STALE_SECONDS); when its
partial file cannot be proved (a byte changed) the next run starts the file
over; killed again, it is resumed by a supervisor and goes on after its last
committed chunk. The finished file is byte for byte (SHA-256) the file of
one uninterrupted export of the same list.

The workers are real `manage.py db_worker` processes on the test database
(PostgreSQL: another process can share it)."""

from __future__ import annotations

import hashlib
import io
import signal
import time
from pathlib import Path

import pytest
from django.core.management import call_command

from lcm.actions import export_jobs, import_jobs
from lcm.models import Account, ExportJob

from .processes import wait_for
from .test_import_jobs import list_file, supervisor, work_off_the_queue
from .test_import_jobs_kill import worker_process

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.postgres,
]

CHUNK = export_jobs.CHUNK_ROWS
ACCOUNTS = 6 * CHUNK  # 6,000 imported with their modes, the rest bare


def progress(job) -> ExportJob:
    return ExportJob.objects.get(pk=job.pk)


def kill_when(job, import_dir: str, rows: int, attempt: int) -> int:
    """Run a worker until the job's `attempt` has committed `rows` rows, then
    SIGKILL it; returns the rows committed then."""

    def far_enough():
        found = progress(job)
        started = attempt == 1 or found.resumed_from is not None
        return found.attempt == attempt and started and found.rows >= rows

    worker = worker_process(import_dir)
    try:
        wait_for(far_enough, f"{rows:,} rows committed", 120, 0.005)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    found = progress(job)
    assert found.state == "running" and rows <= found.rows < ACCOUNTS, found.rows
    return found.rows


def test_a_killed_export_resumes_to_the_file_of_an_uninterrupted_one(settings, tmp_path):
    import_dir = str(tmp_path / "imports")
    settings.LCM_IMPORT_DIR = import_dir
    call_command("seed_demo", password="demo-pass-123", stdout=io.StringIO())
    listing = import_jobs.store_upload([list_file(6000)], file_name="a.csv", actor=supervisor())
    import_jobs.start(listing, supervisor())
    work_off_the_queue()
    campaign = Account.objects.filter(campaign__isnull=False).first().campaign
    Account.objects.bulk_create(
        Account(account_number=f"K-{n:06d}", first_name=f"F{n}", last_name="L", campaign=campaign)
        for n in range(ACCOUNTS - Account.objects.count())
    )
    assert Account.objects.count() == ACCOUNTS

    # The reference: the list exported in one go.
    whole = export_jobs.start("accounts", supervisor())
    work_off_the_queue()
    whole.refresh_from_db()
    assert whole.state == "done" and whole.rows == ACCOUNTS
    reference = Path(whole.path).read_bytes()
    assert hashlib.sha256(reference).hexdigest() == whole.sha256

    # 1. Killed after its first chunks; too recent to be taken for lost.
    job = export_jobs.start("accounts", supervisor())
    first = kill_when(job, import_dir, CHUNK, 1)
    part = Path(progress(job).part_path)
    assert part.stat().st_size >= progress(job).part_size > 0
    with pytest.raises(export_jobs.ExportNotReady):
        export_jobs.resume(job, supervisor())
    assert export_jobs.status(progress(job))["resumable"] is False

    # 2. Its partial file damaged: found lost, resumed by `resume_imports`,
    # the run cannot prove the bytes and starts the file over.
    data = bytearray(part.read_bytes())
    data[200] ^= 1
    part.write_bytes(bytes(data))
    settings.LCM_IMPORT_JOB_STALE_SECONDS = 1
    time.sleep(1.1)
    assert export_jobs.status(progress(job))["resumable"] is True
    out = io.StringIO()
    call_command("resume_imports", stdout=out)
    assert f"Resumed export {job.pk} (accounts) from row {first:,}." in out.getvalue()
    second = kill_when(job, import_dir, 2 * CHUNK, 2)
    assert (progress(job).resumed_from, progress(job).attempt) == (0, 2)
    assert not part.exists()  # the run took the old attempt's file away

    # 3. Killed again, resumed by a supervisor: it goes on after its last
    # committed chunk, to the uninterrupted file.
    time.sleep(1.1)
    export_jobs.resume(job, supervisor())
    work_off_the_queue()
    job.refresh_from_db()
    assert (job.state, job.attempt, job.resumed_from) == ("done", 3, second)
    assert 2 * CHUNK <= second < ACCOUNTS
    assert (job.rows, job.size, job.sha256) == (ACCOUNTS, whole.size, whole.sha256)
    assert Path(job.path).read_bytes() == reference
    assert sorted(p.name for p in Path(job.path).parent.iterdir()) == sorted(
        [f"export-{whole.pk}.csv", f"export-{job.pk}.csv"]
    )
