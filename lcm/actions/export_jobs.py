"""Exports of a list as background jobs: the accounts or the do-not-call
list, whole or as the console's list was filtered and searched, any size
(1,000,000 accounts: docs/benchmarks.md), as one CSV file that a worker
writes while the console or the API answer at once.

- `start(list_name, actor, query)` records the job and queues its task in
  one transaction (the same django-tasks queue as the imports: `manage.py
  db_worker`, docs/scaling.md). `query` is the console's changelist
  querystring, read by that changelist's own filters and search
  (lcm.admin.export_jobs.changelist_rows); '' is the whole list.
- `run(job_id, attempt)` (the worker) writes the CSV of `lcm.list_export`
  in pk order, `CHUNK_ROWS` rows at a time (pages of 2,000, each its own
  short query: constant memory, no transaction held for the whole list),
  to a partial file in `LCM_IMPORT_DIR/exports/`. After each chunk it
  flushes the file to disk and commits how far it got: the rows, the last
  pk, the file's size and the SHA-256 of those bytes. When the list is
  written the file is renamed into place.
- A worker killed at any moment leaves the job active; once it is silent
  past LCM_IMPORT_JOB_STALE_SECONDS it is resumable by the rule of the
  imports (`import_jobs.resumable`), and `resume` (the console's Resume,
  `manage.py resume_imports`) queues a new attempt. That run copies the
  committed bytes of the partial file into its own, proving them by their
  SHA-256, and goes on after the last committed pk; if they cannot be proved
  (the file is gone, shorter, or differs) it starts the file over. Either
  way the finished file is the one an uninterrupted run writes. Each attempt
  writes its own file and commits under its `attempt`, so a run taken for
  lost that wakes up commits nothing and never touches the new file.
- A finished file is kept LCM_EXPORT_KEEP_HOURS; then `expire` deletes it
  and the job says "expired" (the worker sweeps after each export, `manage.py
  expire_exports` from cron, and a job read past its time expires then).
- `status(job)` is what both doors show; `open_file(job)` the finished file.

The file is the list as each page read it: an account changed while the job
runs appears as it was when its page was read.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from lcm import errors, list_export
from lcm.actions import import_jobs, permissions
from lcm.conf import lcm_settings
from lcm.models import Account, DoNotCallNumber, ExportJob

log = logging.getLogger(__name__)
State = ExportJob.State

UNKNOWN_LIST = "There is no list {name!r} to export: choose accounts or do_not_call."
FILE_GONE = "The file of export {job} is gone from {path}: export the list again."
UNEXPECTED = "The export stopped on an unexpected error (logged): resume it to go on."
NOT_RESUMABLE = errors.EXPORT_NOT_RESUMABLE
EXPIRED = errors.EXPORT_EXPIRED
CHUNK_ROWS = 10_000  # rows written between two commits of the partial file
COPY_BYTES = 1 << 20
WHOLE = {ExportJob.List.ACCOUNTS: "accounts", ExportJob.List.DO_NOT_CALL: "do-not-call numbers"}


class UnknownList(errors.InvalidInput):
    code = "unknown_list"


class ExportNotReady(errors.Conflict):
    code = "export_job_state"


class ExportExpired(errors.LcmError):
    code = "export_expired"
    status = 410


class _Superseded(Exception):
    """A later attempt of the job took over (this run was taken for lost)."""


def export_dir() -> Path:
    folder = import_jobs.upload_dir() / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _model(list_name: str):
    return Account if list_name == ExportJob.List.ACCOUNTS else DoNotCallNumber


def rows_of(list_name: str, query: str, actor) -> tuple[QuerySet, str]:
    """The rows an export of `list_name` filtered by `query` writes, and what
    they are in words ("do-not-call numbers, filtered: scope: campaign")."""
    if not query:
        return _model(list_name).objects.all(), f"{WHOLE[list_name]}, the whole list"
    # The console's filters and search are its changelist's: read the query
    # there, as the console's list and its "Export CSV" do.
    from lcm.admin.export_jobs import changelist_rows

    rows, words = changelist_rows(_model(list_name), query, actor)
    return rows, f"{WHOLE[list_name]}, {words}" if words else f"{WHOLE[list_name]}, the whole list"


def _lines(list_name: str, rows: QuerySet) -> Iterator[str]:
    if list_name == ExportJob.List.ACCOUNTS:
        return list_export.account_lines(rows, paged=True)
    return list_export.do_not_call_lines(rows, paged=True)


def start(list_name: str, actor: AbstractBaseUser, query: str = "") -> ExportJob:
    """Queue an export of the list `list_name` ("accounts", "do_not_call"),
    whole or filtered by the console's `query`."""
    if list_name not in ExportJob.List.values:
        raise UnknownList(UNKNOWN_LIST.format(name=list_name))
    permissions.require_export(actor, list_name)
    _rows, description = rows_of(list_name, query, actor)  # a bad query is refused here
    with transaction.atomic():
        job = ExportJob.objects.create(
            list=list_name, created_by=actor, query=query, description=description[:500]
        )
        _queue(job)
    return job


def _queue(job: ExportJob) -> None:
    from lcm import tasks  # the task module imports this one

    job.state = State.QUEUED
    job.attempt += 1
    job.heartbeat_at = timezone.now()
    job.error = ""
    job.resumed_from = None  # until the new run has read the partial file
    job.save(update_fields=["state", "attempt", "heartbeat_at", "error", "resumed_from"])
    # The task row commits with the job's state, or neither does.
    tasks.run_export_job.enqueue(job.pk, job.attempt)


def resumable(job: ExportJob) -> bool:
    """Failed, or active but silent past LCM_IMPORT_JOB_STALE_SECONDS: the
    imports' rule (`import_jobs.resumable`)."""
    return import_jobs.resumable(job)


def resume(job: ExportJob, actor: AbstractBaseUser | None) -> ExportJob:
    """Queue a new attempt, which goes on from the last committed chunk (or
    starts the file over when that cannot be proved). `actor` None: the
    system (`manage.py resume_imports`)."""
    permissions.require_export(actor, job.list)
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().get(pk=job.pk)
        if not resumable(job):
            raise ExportNotReady(NOT_RESUMABLE.format(job=job.pk, state=job.get_state_display()))
        _queue(job)
    return job


def resume_stalled() -> list[ExportJob]:
    """Every export whose worker was lost, queued again (`manage.py
    resume_imports`, with the imports)."""
    resumed = []
    for job in ExportJob.objects.filter(state__in=ExportJob.ACTIVE):
        if import_jobs.stale(job):
            try:
                resumed.append(resume(job, None))
            except ExportNotReady:
                continue
    return resumed


# --- The run (the worker) -----------------------------------------------------------


def run(job_id: int, attempt: int = 1) -> str:
    """Write the job's file, from its last committed chunk (the worker's
    task). Returns the job's state at the end."""
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().filter(pk=job_id, attempt=attempt).first()
        if job is None or job.state != State.QUEUED:
            return "skipped"  # a later attempt took over
        now = timezone.now()
        job.state = State.RUNNING
        job.started_at = job.started_at or now
        job.heartbeat_at = now
        job.save(update_fields=["state", "started_at", "heartbeat_at"])
    part = export_dir() / f"export-{job.pk}-{attempt}.part"
    try:
        rows, _words = rows_of(job.list, job.query, job.created_by)
        ExportJob.objects.filter(pk=job.pk, attempt=attempt).update(total=rows.count())
        with open(part, "w+b") as out:
            digest, kept = _take_over(job, out)
            size, written, after = out.tell(), kept, job.after_pk if kept else None
            if kept:  # this run's file holds the committed rows now: say so first
                out.flush()
                os.fsync(out.fileno())
                _commit(job.pk, attempt, part_path=str(part))
            for stray in export_dir().glob(f"export-{job.pk}-*.part"):
                if stray != part:  # the earlier attempts' files
                    stray.unlink(missing_ok=True)
            if attempt > 1:
                ExportJob.objects.filter(pk=job.pk, attempt=attempt).update(
                    resumed_from=kept, rows=kept
                )
            if not kept:
                header = next(_lines(job.list, rows.none())).encode()
                out.write(header)
                digest.update(header)
                size += len(header)
            while (bound := _bound(rows, after)) is not None:
                chunk = rows.filter(pk__lte=bound)
                lines = _lines(job.list, chunk if after is None else chunk.filter(pk__gt=after))
                next(lines)  # the header, written once
                for line in lines:
                    data = line.encode()
                    out.write(data)
                    digest.update(data)
                    size += len(data)
                    written += 1
                after = bound
                out.flush()
                os.fsync(out.fileno())  # on disk before the database says so
                _commit(job.pk, attempt, rows=written, after_pk=after, part_path=str(part),
                        part_size=size, part_sha256=digest.hexdigest())  # fmt: skip
        state = _finish(job.pk, attempt, part, written, size, digest.hexdigest())
    except _Superseded:
        return "superseded"  # its file is the later attempt's to take over, or to sweep
    except Exception:
        log.exception("export job %s failed", job.pk)
        done = ExportJob.objects.filter(pk=job.pk, attempt=attempt).update(
            state=State.FAILED, error=UNEXPECTED, heartbeat_at=timezone.now()
        )
        return "failed" if done else "superseded"
    try:
        expire()  # the files past their time go as each export ends
    except Exception:
        log.exception("expiring old exports failed")
    return state


def _take_over(job: ExportJob, out) -> tuple:
    """Copy the committed bytes of the last attempt's file into `out`, and
    return the SHA-256 so far and the rows kept; (fresh hash, 0) when there
    are none, or they are not exactly the bytes committed (start over)."""
    digest = hashlib.sha256()
    if not (job.rows and job.after_pk is not None and job.part_path):
        return digest, 0
    left = job.part_size
    try:
        with open(job.part_path, "rb") as old:
            while left and (block := old.read(min(COPY_BYTES, left))):
                out.write(block)
                digest.update(block)
                left -= len(block)
    except FileNotFoundError:
        pass
    if left or digest.hexdigest() != job.part_sha256:
        log.warning("export job %s starts over: its partial file cannot be proved", job.pk)
        out.seek(0)
        out.truncate()
        return hashlib.sha256(), 0
    return digest, job.rows


def _bound(rows: QuerySet, after: int | None) -> int | None:
    """The last pk of the next chunk after `after` (None: the list is written)."""
    ids = rows.order_by("pk").values_list("pk", flat=True)
    if after is not None:
        ids = ids.filter(pk__gt=after)
    found = list(ids[CHUNK_ROWS - 1 : CHUNK_ROWS]) or list(ids.order_by("-pk")[:1])
    return found[0] if found else None


def _commit(job_id: int, attempt: int, **progress) -> None:
    done = ExportJob.objects.filter(pk=job_id, attempt=attempt).update(
        **progress, heartbeat_at=timezone.now()
    )
    if not done:
        raise _Superseded


def _finish(job_id: int, attempt: int, part: Path, rows: int, size: int, sha256: str) -> str:
    final = export_dir() / f"export-{job_id}.csv"
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().filter(pk=job_id, attempt=attempt).first()
        if job is None:
            raise _Superseded
        os.replace(part, final)
        now = timezone.now()
        ExportJob.objects.filter(pk=job_id).update(
            state=State.DONE, rows=rows, path=str(final), size=size, sha256=sha256,
            part_path="", finished_at=now, heartbeat_at=now,
        )  # fmt: skip
    return State.DONE


# --- Expiry -------------------------------------------------------------------------


def keep() -> timedelta:
    return timedelta(hours=lcm_settings.LCM_EXPORT_KEEP_HOURS)


def expires_at(job: ExportJob):
    return job.finished_at + keep() if job.state == State.DONE and job.finished_at else None


def expire(now=None) -> list[int]:
    """Delete the files of the exports finished more than LCM_EXPORT_KEEP_HOURS
    ago (their jobs say "expired"), and the partial files of the failed ones
    as old; returns the expired jobs' ids."""
    bound = (now or timezone.now()) - keep()
    gone = []
    for job in ExportJob.objects.filter(state=State.DONE, finished_at__lte=bound):
        if _expire(job):
            gone.append(job.pk)
    stale_parts = ExportJob.objects.filter(state=State.FAILED, heartbeat_at__lte=bound)
    for job in stale_parts.exclude(part_path=""):
        if ExportJob.objects.filter(pk=job.pk, state=State.FAILED, attempt=job.attempt).update(
            part_path="", rows=0, after_pk=None, part_size=0, part_sha256=""
        ):
            Path(job.part_path).unlink(missing_ok=True)
    return gone


def _expire(job: ExportJob) -> bool:
    with transaction.atomic():
        taken = ExportJob.objects.filter(pk=job.pk, state=State.DONE).update(
            state=State.EXPIRED, path="", expired_at=timezone.now()
        )
    if taken and job.path:
        Path(job.path).unlink(missing_ok=True)
    return bool(taken)


# --- What the doors show ------------------------------------------------------------


def status(job: ExportJob) -> dict:
    """The job's state and progress (what both doors show)."""
    total = max(job.total, job.rows)
    if job.state in (State.DONE, State.EXPIRED):
        percent = 100.0
    else:
        percent = round(100 * job.rows / total, 1) if total else 0.0
    return {
        "id": job.pk,
        "list": job.list,
        "description": job.description or f"{WHOLE[job.list]}, the whole list",
        "state": job.state,
        "state_text": job.get_state_display(),
        "total": total,
        "rows": job.rows,
        "percent": percent,
        "size": job.size,
        "sha256": job.sha256,
        "file_name": job.file_name,
        "error": job.error,
        "resumable": resumable(job),
        "created_at": job.created_at,
        "created_by": job.created_by.get_username(),
        "finished_at": job.finished_at,
        "expires_at": expires_at(job),
    }


def get(job_id: int | str, actor: AbstractBaseUser) -> ExportJob | None:
    """The job, if `actor` may export its list (None when there is none). A
    finished job read past LCM_EXPORT_KEEP_HOURS expires now."""
    job = ExportJob.objects.filter(pk=int(job_id)).first() if str(job_id).isdigit() else None
    permissions.require_export(actor, job.list if job else None)
    if job is not None and (bound := expires_at(job)) and bound <= timezone.now():
        _expire(job)
        job.refresh_from_db()
    return job


def open_file(job: ExportJob):
    """The finished CSV, opened for reading (binary)."""
    if job.state == State.EXPIRED:
        raise ExportExpired(EXPIRED.format(job=job.pk, hours=lcm_settings.LCM_EXPORT_KEEP_HOURS))
    if job.state != State.DONE:
        raise ExportNotReady(
            errors.EXPORT_NOT_READY.format(job=job.pk, state=job.get_state_display())
        )
    try:
        return open(job.path, "rb")
    except FileNotFoundError:
        raise ExportNotReady(FILE_GONE.format(job=job.pk, path=job.path)) from None
