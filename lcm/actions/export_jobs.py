"""Exports of a whole list as background jobs: the accounts or the
do-not-call list, any size (1,000,000 accounts: docs/benchmarks.md), as one
CSV file that a worker writes while the console or the API answer at once.

- `start(list_name, actor)` records the job and queues its task in one
  transaction (the same django-tasks queue as the imports: `manage.py
  db_worker`, docs/scaling.md).
- `run(job_id)` (the worker) writes the CSV of `lcm.list_export` page by
  page in pk order (`paged=True`: one short query per 2,000 rows, constant
  memory, no transaction held for the whole list) to a temporary file in
  `LCM_IMPORT_DIR/exports/`, records the rows written after every page, and
  renames the file into place when it is complete. A run that fails leaves
  no file and says why; an export is cheap to start again, so it is not
  resumed. A worker killed mid-export leaves its job `running` (and a
  `.part` file): start another export.
- `status(job)` is what both doors show; `open_file(job)` the finished file.

The file is the list as each page read it: an account changed while the job
runs appears as it was when its page was read.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from lcm import errors, list_export
from lcm.actions import import_jobs, permissions
from lcm.models import Account, DoNotCallNumber, ExportJob

log = logging.getLogger(__name__)
State = ExportJob.State

UNKNOWN_LIST = "There is no list {name!r} to export: choose accounts or do_not_call."
FILE_GONE = "The file of export {job} is gone from {path}: export the list again."
UNEXPECTED = "The export stopped on an unexpected error (logged): start it again."
BEAT_ROWS = 10_000  # progress recorded about this often


class UnknownList(errors.InvalidInput):
    code = "unknown_list"


class ExportNotReady(errors.Conflict):
    code = "export_job_state"


def export_dir() -> Path:
    folder = import_jobs.upload_dir() / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _lines(job: ExportJob) -> Iterator[str]:
    if job.list == ExportJob.List.ACCOUNTS:
        return list_export.account_lines(Account.objects.all(), paged=True)
    return list_export.do_not_call_lines(DoNotCallNumber.objects.all(), paged=True)


def _count(list_name: str) -> int:
    model = Account if list_name == ExportJob.List.ACCOUNTS else DoNotCallNumber
    return model.objects.count()


def start(list_name: str, actor: AbstractBaseUser) -> ExportJob:
    """Queue an export of the whole list `list_name` ("accounts",
    "do_not_call")."""
    if list_name not in ExportJob.List.values:
        raise UnknownList(UNKNOWN_LIST.format(name=list_name))
    permissions.require_export(actor, list_name)
    from lcm import tasks  # the task module imports this one

    with transaction.atomic():
        job = ExportJob.objects.create(list=list_name, created_by=actor)
        # The task row commits with the job, or neither does.
        tasks.run_export_job.enqueue(job.pk)
    return job


def run(job_id: int) -> str:
    """Write the job's file (the worker's task)."""
    now = timezone.now()
    # Claimed in one statement: a second run of the same task finds it taken.
    claimed = ExportJob.objects.filter(pk=job_id, state=State.QUEUED).update(
        state=State.RUNNING, started_at=now, heartbeat_at=now
    )
    if not claimed:
        return "not queued"
    job = ExportJob.objects.get(pk=job_id)
    ExportJob.objects.filter(pk=job.pk).update(total=_count(job.list))
    fd, name = tempfile.mkstemp(prefix=f"export-{job.pk}-", suffix=".part", dir=export_dir())
    digest, size, rows = hashlib.sha256(), 0, -1  # the header is no row
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            for line in _lines(job):
                out.write(line)
                data = line.encode()
                digest.update(data)
                size += len(data)
                rows += 1
                if rows and rows % BEAT_ROWS == 0:
                    ExportJob.objects.filter(pk=job.pk).update(
                        rows=rows, heartbeat_at=timezone.now()
                    )
        final = export_dir() / f"export-{job.pk}.csv"
        os.replace(name, final)
    except Exception:
        log.exception("export job %s failed", job.pk)
        Path(name).unlink(missing_ok=True)
        ExportJob.objects.filter(pk=job.pk).update(
            state=State.FAILED, error=UNEXPECTED, finished_at=timezone.now()
        )
        return "failed"
    ExportJob.objects.filter(pk=job.pk).update(
        state=State.DONE,
        rows=rows,
        path=str(final),
        size=size,
        sha256=digest.hexdigest(),
        finished_at=timezone.now(),
        heartbeat_at=timezone.now(),
    )
    return "done"


def status(job: ExportJob) -> dict:
    """The job's state and progress (what both doors show)."""
    total = max(job.total, job.rows)
    if job.state == State.DONE:
        percent = 100.0
    else:
        percent = round(100 * job.rows / total, 1) if total else 0.0
    return {
        "id": job.pk,
        "list": job.list,
        "state": job.state,
        "state_text": job.get_state_display(),
        "total": total,
        "rows": job.rows,
        "percent": percent,
        "size": job.size,
        "sha256": job.sha256,
        "file_name": job.file_name,
        "error": job.error,
        "created_at": job.created_at,
        "created_by": job.created_by.get_username(),
        "finished_at": job.finished_at,
    }


def get(job_id: int | str, actor: AbstractBaseUser) -> ExportJob | None:
    """The job, if `actor` may export its list (None when there is none)."""
    job = ExportJob.objects.filter(pk=int(job_id)).first() if str(job_id).isdigit() else None
    permissions.require_export(actor, job.list if job else None)
    return job


def open_file(job: ExportJob):
    """The finished CSV, opened for reading (binary)."""
    if job.state != State.DONE:
        raise ExportNotReady(
            errors.EXPORT_NOT_READY.format(job=job.pk, state=job.get_state_display())
        )
    try:
        return open(job.path, "rb")
    except FileNotFoundError:
        raise ExportNotReady(FILE_GONE.format(job=job.pk, path=job.path)) from None
