"""Import accounts and their modes from CSV or JSON Lines (idempotent).

Streams the file and writes it in batches, one transaction each
(`lcm.actions.imports.import_accounts`), so memory stays flat on a million rows and
a bad row costs only itself. Rejected rows go to stderr with their line
number and reason; progress and the summary to stdout.

Exit status: 0 every row imported (or already up to date); 1 some rows
rejected, or the file broke off part-way, or the database stopped the
import part-way (down, a lock held past `LCM_DATABASE_LOCK_TIMEOUT`, disk
full, read-only: one line says which): the rest was imported; 2 nothing
imported: the file is missing, empty, binary or has a bad header, every
row was rejected, or the database failed before the first batch.

Progress: on a terminal, a bar redrawn in place with the share of the file
read, rows/s and the time left; otherwise (a log, a pipe) a plain line every
--progress-every rows with the same figures.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from lcm import errors, imports
from lcm.actions import imports as writer
from lcm.actions import permissions
from lcm.faults import database_fault
from lcm.models import ModeType

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
BAR_WIDTH = 30
BAR_EVERY_ROWS = 1000  # how often the bar is considered for a redraw…
BAR_EVERY_SECONDS = 0.2  # …and at most this often redrawn


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def count(n: int, noun: str) -> str:
    """ "1 row", "2 rows", "1,000 rows": the summary reads as English."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


class Command(BaseCommand):
    help = (
        "Import accounts and their contact modes from a CSV file (header: AccountNumber, "
        "FirstName, LastName, Campaign, then Mode1, Mode2… or mode type names) or a JSON "
        "Lines file with the same keys. Re-importing updates; it never duplicates. "
        "Exit status: 0 all imported, 1 some rows rejected, 2 nothing imported."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The file to import (.csv, .jsonl or .ndjson).")
        parser.add_argument(
            "--format", choices=["csv", "jsonl"], help="Override the format the extension says."
        )
        parser.add_argument(
            "--encoding", default="utf-8", help="Text encoding (default utf-8; a BOM is allowed)."
        )
        parser.add_argument("--delimiter", default=",", help="CSV delimiter (default ',').")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=writer.ROWS_PER_TRANSACTION,
            help=f"Rows per transaction (default {writer.ROWS_PER_TRANSACTION}). Each holds the "
            "audit chain until it commits, and the agents' changes wait meanwhile: larger "
            "batches are faster alone and slower for them.",
        )
        parser.add_argument(
            "--progress-every",
            type=int,
            default=50_000,
            help="When the output is not a terminal, print progress every N rows "
            "(default 50000). On a terminal a progress bar is shown instead. "
            "0: no progress at all, only the summary.",
        )
        parser.add_argument("--user", help="Username recorded as the author of the audit entries.")

    def handle(self, *args, **options):
        path = Path(options["file"])
        fmt = options["format"] or FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise CommandError(
                f"{path}: cannot tell the format from the extension; pass --format csv|jsonl.",
                returncode=2,
            )
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.", returncode=2)
        if options["progress_every"] < 0:
            raise CommandError(
                "--progress-every must be 0 (no progress) or a number of rows.", returncode=2
            )
        if len(options["delimiter"]) != 1:
            raise CommandError("--delimiter must be one character.", returncode=2)
        try:
            "".encode(options["encoding"])
        except LookupError:
            raise CommandError(f"Unknown encoding {options['encoding']!r}.", returncode=2) from None
        actor = None
        if options["user"]:
            User = get_user_model()
            actor = User.objects.filter(**{User.USERNAME_FIELD: options["user"]}).first()
            if actor is None:
                raise CommandError(f"Unknown user {options['user']!r}.", returncode=2)
            try:  # the import is attributed to that user: they must be allowed it
                permissions.require(actor, permissions.IMPORT_ACCOUNTS)
            except errors.NotAllowed as exc:
                raise CommandError(exc.message, returncode=2) from None
        try:
            stream = path.open("rb")
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror}.", returncode=2) from None
        with stream:
            return self._import(stream, path, fmt, actor, options)

    def execute(self, *args, **options):
        """A fault of the database (down, a lock held past the bound, disk
        full, read-only) before the import begins is one line and exit 2,
        never a traceback; one part-way is reported by `_import`."""
        try:
            return super().execute(*args, **options)
        except DatabaseError as exc:
            fault = database_fault(exc)
            if fault is None:
                raise
            raise CommandError(
                f"The database failed ({fault.code}: {_first_line(exc)}); nothing was imported.",
                returncode=2,
            ) from exc

    def _import(self, stream, path, fmt, actor, options):
        mode_types = list(ModeType.objects.all())
        defer = imports.Deferral()  # unchanged rows skip validation (import_rows)
        if fmt == "csv":
            rows = imports.read_csv(
                stream,
                mode_types=mode_types,
                encoding=options["encoding"],
                delimiter=options["delimiter"],
                defer=defer,
            )
        else:
            rows = imports.read_jsonl(
                stream, mode_types=mode_types, encoding=options["encoding"], defer=defer
            )

        self.started = time.monotonic()
        self.stream = stream
        self.size = os.fstat(stream.fileno()).st_size
        self.bar = self.stdout.isatty() and options["progress_every"] != 0
        self.drawn = 0.0
        run = writer.ImportRun()
        try:
            writer.import_rows(
                rows,
                actor=actor,
                batch_size=options["batch_size"],
                on_rejected=self._reject,
                progress_every=BAR_EVERY_ROWS if self.bar else options["progress_every"],
                on_progress=self._draw if self.bar else self._progress,
                run=run,
                defer=defer,
            )
        except errors.DatabaseUnavailable as fault:
            if self.bar:
                self.stdout.write("")  # end the bar's line
            raise CommandError(
                f"{path}: the database stopped the import ({fault.code}: "
                f"{_first_line(fault.__cause__ or fault)}). The first "
                f"{count(run.total.rows, 'row')} were imported, the batch at fault was not: "
                "run the same command again to finish (rows already imported stay as they are).",
                returncode=1 if run.total.rows else 2,
            ) from fault
        if self.bar:
            self._draw(run, done=True)
        broken = run.broken
        if broken is not None and not run.read:
            raise CommandError(f"{path}: {broken}", returncode=2)
        self._summary(path, run)
        if options["verbosity"] >= 2 and run.phases:
            # Where the time went (docs/benchmarks.md, "Import"): the reader's
            # own CPU runs in its thread, beside the batches' phases.
            self.stdout.write(
                "phases: " + ", ".join(f"{name} {s:,.1f} s" for name, s in run.phases.items())
            )
        if broken is not None:
            raise CommandError(f"{path}: {broken}", returncode=2 if not run.total.rows else 1)
        if run.rejected:
            raise CommandError(
                f"{count(run.rejected, 'row')} rejected (listed above).",
                returncode=1 if run.total.rows else 2,
            )

    def _reject(self, rejected: list[imports.Rejected]) -> None:
        """Report rejected rows as they come: counted, never kept."""
        if self.bar:  # on their own lines, not after the bar's
            self.stdout.write("\r\x1b[K", ending="")
            self.stdout.flush()
        for row in rejected:
            self.stderr.write(str(row))

    def _share_read(self) -> float:
        """How much of the file is read, 0 to 1, from the bytes consumed."""
        try:
            return min(self.stream.tell() / self.size, 1.0) if self.size else 1.0
        except (OSError, ValueError):
            return 0.0

    def _rate_and_eta(self, run: writer.ImportRun, share: float) -> tuple[float, str]:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        if share <= 0:
            return run.read / elapsed, "--:--"
        left = int(elapsed * (1 - share) / share)
        return run.read / elapsed, f"{left // 60}:{left % 60:02d}"

    def _progress(self, run: writer.ImportRun) -> None:
        share = self._share_read()
        rate, eta = self._rate_and_eta(run, share)
        self.stdout.write(
            f"{count(run.read, 'row')} read ({share:.0%} of the file): {run.total.rows:,} "
            f"imported, {run.rejected:,} rejected ({rate:,.0f} rows/s, {eta} left)"
        )

    def _draw(self, run: writer.ImportRun, *, done: bool = False) -> None:
        """The progress bar, redrawn in place (at most five times a second);
        `done` draws it full and ends its line."""
        now = time.monotonic()
        if not done and now - self.drawn < BAR_EVERY_SECONDS:
            return
        self.drawn = now
        share = 1.0 if done else self._share_read()
        rate, eta = self._rate_and_eta(run, share)
        filled = int(share * BAR_WIDTH)
        self.stdout.write(
            f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {share:4.0%}  "
            f"{run.read:,} rows  {rate:,.0f} rows/s  {eta} left ",
            ending="\n" if done else "",
        )
        self.stdout.flush()

    def _summary(self, path, run: writer.ImportRun) -> None:
        t = run.total
        elapsed = time.monotonic() - self.started
        # Only what happened ("0 renamed" says nothing), each count once.
        done = ", ".join(
            text
            for number, text in (
                (t.accounts_created, f"{count(t.accounts_created, 'account')} created"),
                (t.accounts_updated, f"{count(t.accounts_updated, 'account')} renamed"),
                (t.modes_added, f"{count(t.modes_added, 'mode')} added"),
                (t.modes_changed, f"{count(t.modes_changed, 'mode')} changed"),
            )
            if number
        )
        self.stdout.write(
            f"{path}: {count(t.rows, 'row')} imported in {elapsed:,.1f} s"
            + (f" ({done})" if done else "")
            + f"; {run.rejected:,} rejected."
        )
        if t.campaigns_created:
            self.stdout.write(f"Campaigns created: {', '.join(t.campaigns_created)}")
