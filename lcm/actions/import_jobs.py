"""Imports as background jobs: upload, start, cancel, resume, and the run.

The one writer of `ImportJob`, `ImportJobEvent` and `ImportJobRejected`
(lcm/import_job_models.py), for every door: the console (lcm.admin.
import_jobs), the API (lcm.api.import_jobs) and the worker (lcm.tasks,
`manage.py db_worker`).

- `store_upload` streams the file to `LCM_IMPORT_DIR` (never whole in
  memory), with its SHA-256 and its line count, refusing it past
  `LCM_IMPORT_UPLOAD_MAX_BYTES`.
- `preview` reads the header and the first rows only, dry.
- `start`, `cancel`, `resume`: each a state change under the job's row lock,
  with its event (who, when, how far), and for `start`/`resume` the task
  enqueued in the same transaction (django-tasks' database backend), so a
  job is queued exactly when its task exists.
- `run` (the task's body) imports the file with
  `lcm.actions.imports.import_rows`, one batch per transaction, skipping the
  items committed before; the batch's transaction also records how far the
  job got, its counts and the batch's rejected rows, and reads whether to
  stop. A worker killed at any moment leaves a job that `resume` continues
  from its last committed batch, to the result of one uninterrupted import.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from lcm import errors, imports
from lcm.conf import lcm_settings
from lcm.models import ImportJob, ImportJobEvent, ImportJobRejected, ModeType

from . import permissions
from .imports import ROWS_PER_TRANSACTION, ImportRun, import_rows

logger = logging.getLogger(__name__)

State = ImportJob.State
Action = ImportJobEvent.Action
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
PREVIEW_ROWS = 1000  # the preview's dry run reads this many rows
PREVIEW_REJECTED = 50
SKIP_BEAT = 5000  # a resumed run skipping committed items beats every this many

WRONG_TYPE = "Choose a .csv or a .jsonl (JSON Lines) file; {name} is neither."
TOO_LARGE = (
    "The file is larger than {limit:,} bytes (LCM_IMPORT_UPLOAD_MAX_BYTES). "
    "Split it, or use manage.py import_accounts."
)
EMPTY = "The file is empty."
ALREADY_IMPORTING = "This file is being imported already (import {job}): wait for it, or cancel it."
NOT_STARTABLE = "Import {job} was started already ({state})."
NOT_CANCELLABLE = "Import {job} is not running ({state}): there is nothing to cancel."
NOT_RESUMABLE = "Import {job} cannot be resumed: it is {state}."
FILE_GONE = "The uploaded file of import {job} is gone from {path}: upload it again."
UNEXPECTED = "The import stopped on an unexpected error (logged): resume it to go on."


class UploadTooLarge(errors.InvalidInput):
    code = "file_too_large"
    status = 413


class BadFile(errors.InvalidInput):
    code = "bad_file"


class JobConflict(errors.Conflict):
    code = "import_job_state"


class _Stop(Exception):
    """The job was cancelled: stop after the batch just committed."""


class _Superseded(Exception):
    """Another run of the job took over (this one was taken for lost)."""


def upload_dir() -> Path:
    folder = Path(lcm_settings.LCM_IMPORT_DIR or Path(tempfile.gettempdir()) / "lcm-imports")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def format_of(file_name: str) -> str:
    fmt = FORMATS.get(Path(file_name).suffix.lower())
    if fmt is None:
        raise BadFile(WRONG_TYPE.format(name=file_name))
    return fmt


def store_upload(
    chunks: Iterable[bytes],
    *,
    file_name: str,
    actor: AbstractBaseUser,
    fmt: str | None = None,
    idempotency_key: str = "",
) -> ImportJob:
    """Write the uploaded bytes to disk as they come, and record the job
    (state `new`). Nothing is kept when the file is refused."""
    permissions.require(actor, permissions.IMPORT_ACCOUNTS)
    fmt = fmt or format_of(file_name)
    limit = lcm_settings.LCM_IMPORT_UPLOAD_MAX_BYTES
    digest, size, lines, last = hashlib.sha256(), 0, 0, b"\n"
    fd, name = tempfile.mkstemp(prefix="upload-", suffix=f".{fmt}", dir=upload_dir())
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                if not chunk:
                    continue
                size += len(chunk)
                if size > limit:
                    raise UploadTooLarge(TOO_LARGE.format(limit=limit))
                digest.update(chunk)
                lines += chunk.count(b"\n")
                last = chunk[-1:]
                out.write(chunk)
        if last != b"\n":
            lines += 1  # the last line has no line break
        if not size:
            raise BadFile(EMPTY)
        _check_header(name, fmt)
        with transaction.atomic():
            job = ImportJob.objects.create(
                file_name=Path(file_name).name[:255] or f"upload.{fmt}",
                format=fmt,
                path=name,
                size=size,
                sha256=digest.hexdigest(),
                lines=lines,
                created_by=actor,
                idempotency_key=idempotency_key[:255],
            )
            _event(job, Action.UPLOADED, actor)
        return job
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def _check_header(path: str, fmt: str) -> None:
    """A file that cannot be read at all (binary, a bad header, no rows) is
    refused at once, by the reader that will import it."""
    read = imports.read_csv if fmt == "csv" else imports.read_jsonl
    with open(path, "rb") as stream:
        try:
            next(read(stream, mode_types=list(ModeType.objects.all())), None)
        except imports.ImportFileError as exc:
            raise BadFile(str(exc)) from None


@dataclass
class Preview:
    """A dry run of the file's first `PREVIEW_ROWS` rows."""

    run: ImportRun
    rejected: list[imports.Rejected] = field(default_factory=list)
    complete: bool = False  # the file has no more rows than that

    @property
    def rows(self) -> int:
        return self.run.read


def rows_of(
    job: ImportJob, stream, defer: imports.Deferral | None = None
) -> Iterator[imports.ImportRow | imports.Rejected | imports.Deferred]:
    read = imports.read_csv if job.format == "csv" else imports.read_jsonl
    return read(stream, mode_types=list(ModeType.objects.all()), defer=defer)


def preview(job: ImportJob, actor: AbstractBaseUser, rows: int = PREVIEW_ROWS) -> Preview:
    """The header checked and the first `rows` rows run dry (the same reader,
    writer and rules as the import, nothing kept). A file that cannot be
    read at all raises `BadFile`."""
    result = Preview(ImportRun())

    def on_rejected(found):
        result.rejected.extend(found[: PREVIEW_REJECTED - len(result.rejected)])

    with open(job.path, "rb") as stream:
        first, broken = [], None
        try:
            for item in rows_of(job, stream):
                first.append(item)
                if len(first) > rows:
                    break
        except imports.ImportFileError as exc:
            if not first:
                raise BadFile(str(exc)) from None
            broken = exc
        result.complete = len(first) <= rows
        import_rows(first[:rows], actor=actor, dry_run=True, on_rejected=on_rejected,
                    run=result.run)  # fmt: skip
        result.run.broken = broken
    return result


def start(job: ImportJob, actor: AbstractBaseUser) -> ImportJob:
    """Queue the job's first run."""
    permissions.require(actor, permissions.IMPORT_ACCOUNTS)
    with transaction.atomic():
        job = _locked(job)
        if job.state != State.NEW:
            raise JobConflict(NOT_STARTABLE.format(job=job.pk, state=job.get_state_display()))
        _queue(job, actor, Action.STARTED)
    return job


def cancel(job: ImportJob, actor: AbstractBaseUser) -> ImportJob:
    """Stop the job after its current batch (a queued job at once). The
    rows committed stay; `resume` goes on from there."""
    permissions.require(actor, permissions.IMPORT_ACCOUNTS)
    with transaction.atomic():
        job = _locked(job)
        if job.state == State.QUEUED:
            job.state = State.CANCELLED
        elif job.state == State.RUNNING:
            job.state = State.CANCELLING
        else:
            raise JobConflict(NOT_CANCELLABLE.format(job=job.pk, state=job.get_state_display()))
        job.save(update_fields=["state"])
        _event(job, Action.CANCELLED, actor)
    return job


def resumable(job: ImportJob) -> bool:
    """Cancelled, failed, or active but silent past LCM_IMPORT_JOB_STALE_SECONDS
    (its worker was killed, or the machine restarted). The export jobs
    (lcm.actions.export_jobs) are judged by this rule too."""
    if job.state in (State.CANCELLED, State.FAILED):
        return True
    return job.state in type(job).ACTIVE and stale(job)


def stale(job: ImportJob) -> bool:
    """Active, and no progress recorded for LCM_IMPORT_JOB_STALE_SECONDS
    (an `ImportJob` or an `ExportJob`: both beat `heartbeat_at`)."""
    bound = timedelta(seconds=lcm_settings.LCM_IMPORT_JOB_STALE_SECONDS)
    beat = job.heartbeat_at or job.created_at
    return job.state in type(job).ACTIVE and beat < timezone.now() - bound


def resume(job: ImportJob, actor: AbstractBaseUser | None) -> ImportJob:
    """Queue a new run, from the last recorded batch. `actor` None: the
    system (`manage.py resume_imports`)."""
    permissions.require(actor, permissions.IMPORT_ACCOUNTS)
    with transaction.atomic():
        job = _locked(job)
        if not resumable(job):
            raise JobConflict(NOT_RESUMABLE.format(job=job.pk, state=job.get_state_display()))
        if not Path(job.path).exists():
            raise JobConflict(FILE_GONE.format(job=job.pk, path=job.path))
        _queue(job, actor, Action.RESUMED)
    return job


def resume_stalled() -> list[ImportJob]:
    """Every job whose worker was lost, queued again (run by `manage.py
    resume_imports`, e.g. after a deploy)."""
    resumed = []
    for job in ImportJob.objects.filter(state__in=ImportJob.ACTIVE):
        if stale(job):
            try:
                resumed.append(resume(job, None))
            except JobConflict:
                continue
    return resumed


def discard(job: ImportJob) -> None:
    """Forget a job never started (the API's replayed or refused upload)."""
    with transaction.atomic():
        deleted, _ = ImportJob.objects.filter(pk=job.pk, state=State.NEW).delete()
    if deleted:
        Path(job.path).unlink(missing_ok=True)


def _locked(job: ImportJob) -> ImportJob:
    return ImportJob.objects.select_for_update().get(pk=job.pk)


def _queue(job: ImportJob, actor, action: str) -> None:
    from lcm import tasks  # the task module imports this one

    job.state = State.QUEUED
    job.attempt += 1
    job.heartbeat_at = timezone.now()
    job.error = ""
    try:
        with transaction.atomic():
            job.save(update_fields=["state", "attempt", "heartbeat_at", "error"])
    except IntegrityError:
        other = (
            ImportJob.objects.filter(sha256=job.sha256, state__in=ImportJob.ACTIVE)
            .exclude(pk=job.pk)
            .first()
        )
        raise JobConflict(ALREADY_IMPORTING.format(job=other.pk if other else "?")) from None
    _event(job, action, actor)
    # The task row commits with the job's state, or neither does.
    tasks.run_import_job.enqueue(job.pk, job.attempt)


def _event(job: ImportJob, action: str, actor, detail: str = "") -> None:
    ImportJobEvent.objects.create(
        job=job,
        action=action,
        user=actor if actor is not None and actor.is_authenticated else None,
        username=permissions.username(actor),
        through=job.through,
        detail=detail[:500],
    )


# --- The run (the worker) -----------------------------------------------------------

COUNTS = ("rows", "accounts_created", "accounts_updated", "rows_changed",
          "modes_added", "modes_changed")  # fmt: skip


def run(job_id: int, attempt: int) -> str:
    """Import the job's file from its last recorded batch; the task's body.
    Returns the job's state at the end.

    Each batch (`ROWS_PER_TRANSACTION` items of the file) is imported inside
    one transaction that also records the job's progress, its counts and
    the batch's rejected rows, and reads whether to stop: the batch and its
    record commit together or not at all, so a run killed at any moment is
    resumed from exactly the items committed, and the counts and rejected
    rows of the resumed job are those of one uninterrupted run."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().filter(pk=job_id, attempt=attempt).first()
        if job is None or job.state != State.QUEUED:
            return "skipped"  # cancelled while queued, or a later run took over
        now = timezone.now()
        job.state = State.RUNNING
        job.started_at = job.started_at or now
        job.run_started_at = job.heartbeat_at = now
        job.run_started_through = job.through
        job.save(update_fields=["state", "started_at", "run_started_at", "heartbeat_at",
                                "run_started_through"])  # fmt: skip
    pending: list[imports.Rejected] = []
    broken = None
    try:
        with open(job.path, "rb") as stream:
            defer = imports.Deferral()  # unchanged rows skip validation (import_rows)
            items = _skipping(rows_of(job, stream, defer), job.through, job_id, attempt)
            while broken is None:
                with transaction.atomic():
                    part = import_rows(
                        itertools.islice(items, ROWS_PER_TRANSACTION),
                        actor=job.created_by,
                        on_rejected=pending.extend,
                        source=job.source,
                        defer=defer,
                    )
                    broken = part.broken
                    current = _record(job_id, attempt, part, pending)
                if current.state == State.CANCELLING:
                    raise _Stop
                if part.read < ROWS_PER_TRANSACTION:
                    break
    except _Superseded:
        return "superseded"
    except _Stop:
        return _end(job_id, attempt, State.CANCELLED, Action.STOPPED)
    except errors.LcmError as exc:  # a database fault (lcm.faults), a refusal
        return _end(job_id, attempt, State.FAILED, Action.FAILED, error=exc.message)
    except Exception as exc:
        logger.exception("Import job %s stopped", job_id)
        _end(job_id, attempt, State.FAILED, Action.FAILED, error=UNEXPECTED,
             detail=f"{type(exc).__name__}: {exc}")  # fmt: skip
        raise
    state = _end(job_id, attempt, State.DONE, Action.FINISHED, broken=str(broken or ""))
    if state == State.DONE:
        Path(job.path).unlink(missing_ok=True)
    return state


def _record(job_id: int, attempt: int, part: ImportRun, pending: list) -> ImportJob:
    """One batch's progress, counts and rejected rows, in its transaction."""
    job = ImportJob.objects.select_for_update().get(pk=job_id)
    if job.attempt != attempt:
        raise _Superseded  # and the batch rolls back with the transaction
    ImportJobRejected.objects.bulk_create(
        ImportJobRejected(
            job_id=job_id,
            line=r.line,
            account_number=r.account_number[:128],
            column=column_of(r.reason),
            reason=r.reason,
        )
        for r in pending
    )
    pending.clear()
    for name in COUNTS:
        setattr(job, name, getattr(job, name) + getattr(part.total, name))
    job.rejected += part.rejected
    job.through += part.read
    job.heartbeat_at = timezone.now()
    job.save(update_fields=[*COUNTS, "rejected", "through", "heartbeat_at"])
    return job


def _skipping(items: Iterator, count: int, job_id: int, attempt: int) -> Iterator:
    """`items` after the first `count` (read and dropped, as the contract of
    `import_rows` says), beating while it skips so that the run is not
    taken for a lost one."""
    for skipped in range(count):
        try:
            next(items)
        except StopIteration:
            return
        if skipped and skipped % SKIP_BEAT == 0:
            ImportJob.objects.filter(pk=job_id, attempt=attempt).update(heartbeat_at=timezone.now())
    yield from items


def _end(job_id, attempt, state, action, *, error="", broken="", detail="") -> str:
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        if job.attempt != attempt:
            return "superseded"
        job.state = state
        job.error = error[:500]
        job.broken = broken[:500]
        job.finished_at = timezone.now() if state == State.DONE else None
        job.heartbeat_at = timezone.now()
        job.save(update_fields=["state", "error", "broken", "finished_at", "heartbeat_at"])
        _event(job, action, None, detail=detail or error or broken)
    return state


_COLUMN = re.compile(r"^([A-Za-z][\w ]{0,60}?): ")


def column_of(reason: str) -> str:
    """The columns a rejection names ("Mode1: …; Home PEWC: …" → "Mode1, Home PEWC")."""
    found = []
    for part in reason.split("; "):
        match = _COLUMN.match(part)
        if match and match.group(1) not in found:
            found.append(match.group(1))
    return ", ".join(found)


# --- What the pages and the API show --------------------------------------------


def status(job: ImportJob) -> dict:
    """The job's state, counts and progress (the JSON status of both doors)."""
    now = timezone.now()
    total = max(job.lines - (1 if job.format == "csv" else 0), job.through)
    rate = None
    left = None
    if job.state in ImportJob.ACTIVE and job.run_started_at:
        elapsed = (now - job.run_started_at).total_seconds()
        done = job.through - job.run_started_through
        if elapsed > 0 and done > 0:
            rate = done / elapsed
            left = max(total - job.through, 0) / rate
    if job.state == State.DONE:
        percent = 100.0
    else:
        percent = round(100 * job.through / total, 1) if total else 0.0
    return {
        "id": job.pk,
        "state": job.state,
        "state_text": job.get_state_display(),
        "file_name": job.file_name,
        "sha256": job.sha256,
        "size": job.size,
        "total": total,
        "through": job.through,
        "percent": percent,
        "rows_per_second": round(rate, 1) if rate else None,
        "seconds_left": round(left) if left is not None else None,
        "rows": job.rows,
        "accounts_created": job.accounts_created,
        "accounts_updated": job.accounts_updated,
        "rows_changed": job.rows_changed,
        "rows_unchanged": job.rows - job.accounts_created - job.rows_changed,
        "modes_added": job.modes_added,
        "modes_changed": job.modes_changed,
        "rejected": job.rejected,
        "broken": job.broken,
        "error": job.error,
        "resumable": resumable(job),
        "stale": stale(job),
        "created_at": job.created_at,
        "created_by": job.created_by.get_username(),
        "finished_at": job.finished_at,
    }


REJECTED_CSV_HEADER = ["line", "LCM key", "column", "reason"]


def rejected_csv_rows(job: ImportJob) -> Iterator[list]:
    """Every rejected row, in file order, for the CSV download (streamed)."""
    yield REJECTED_CSV_HEADER
    rows = ImportJobRejected.objects.filter(job=job).order_by("line", "pk")
    for r in rows.values_list("line", "account_number", "column", "reason").iterator(2000):
        yield list(r)
