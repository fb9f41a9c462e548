"""The account import writer: one batch of validated rows, one transaction.

Rows come from `lcm.imports` (which reads and validates, writing nothing)
through `import_rows`, the one loop that batches a whole file, for
`manage.py import_accounts` and the console's upload (`lcm.admin.uploads`).
The modes' states are decided with the kernel's rules (`modes.with_number`,
`modes.with_consent`) and written
through its batch entry point (`modes.write_batch`): the same states and
audit entries as a single change, with a fixed number of statements per
batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.db import DatabaseError, transaction
from django.utils import timezone

from lcm import bulk, errors
from lcm.faults import database_fault
from lcm.imports import ImportFileError, ImportRow, Rejected
from lcm.models import Account, ContactMode, ModeChange
from lcm.numbers import CleanNumber, identify, region_for

from . import campaigns, do_not_call, modes, permissions
from .modes import ModeState

# Rows per transaction. Each transaction holds the audit chain's head from
# its append to its commit, and every other audited change (an agent's
# SetNewModeNumber) waits meanwhile: 1,000 rows (2,500 entries) held it
# about 0.6 s, and the API's p99 during an import rose twentyfold; 100 rows
# hold it about 45 ms. docs/benchmarks.md, "An import beside the agents".
ROWS_PER_TRANSACTION = 100
ACCOUNT_FIELDS = ("first_name", "last_name", "campaign_id", "country", "time_zone", "zip_code")
NO_NUMBER_FOR_CONSENT = "{column}: mode {mode_id} has no number to give consent for"


@dataclass
class ImportResult:
    """What one `import_accounts` batch did."""

    rows: int = 0  # rows written or found unchanged
    accounts_created: int = 0
    accounts_updated: int = 0  # a name (or country, zone, ZIP) field changed
    modes_added: int = 0
    modes_changed: int = 0
    # Rows of existing accounts that changed something (a field or a mode);
    # the other existing accounts' rows were already up to date.
    rows_changed: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    # CampaignIDs the rows named that did not exist: created (campaigns.ensure).
    campaigns_created: list[str] = field(default_factory=list)

    @property
    def rows_unchanged(self) -> int:
        return self.rows - self.accounts_created - self.rows_changed

    def add(self, other: ImportResult) -> None:
        self.rows += other.rows
        self.accounts_created += other.accounts_created
        self.accounts_updated += other.accounts_updated
        self.campaigns_created = sorted({*self.campaigns_created, *other.campaigns_created})
        self.modes_added += other.modes_added
        self.modes_changed += other.modes_changed
        self.rows_changed += other.rows_changed
        self.rejected.extend(other.rejected)


@transaction.atomic
def import_accounts(
    *, rows: list[ImportRow], actor: AbstractBaseUser | None = None, source: str = "import"
) -> ImportResult:
    """Create or update a batch of accounts and their modes.

    `rows` name each account once. A row with a do-not-call number is
    rejected whole, as SetNewModeNumber would refuse it. For the others: a
    missing account is created; fields the row sets are updated; each mode
    the row gives is added, or changed when its number differs (consent
    reset, as for an agent's change), or left alone, writing nothing, when
    it holds that number; a consent column grants or withdraws consent
    (source `import`). Every mode added or changed gets one audit entry
    (action `import`, its state before and after).

    A fixed number of queries per batch: lock the existing accounts, the
    do-not-call lookup, insert the new accounts, read the live modes, one
    bulk insert and one bulk update of modes, one append of the entries.
    """
    permissions.require(actor, permissions.IMPORT_ACCOUNTS)
    result = ImportResult()
    keys = [row.account_number for row in rows]
    if len(set(keys)) != len(keys):
        raise ValueError("import_accounts: each account may appear once per batch.")
    bulk.custom_plans()

    existing = {
        a.account_number: a
        for a in Account.objects.select_for_update().filter(account_number__in=keys).order_by("pk")
    }
    live = modes.live_batch([a.pk for a in existing.values()])
    by = permissions.username(actor, "import")
    now = timezone.now()

    # What each row would do, decided before anything is written: a row
    # refused for any reason costs only itself.
    planned: list[tuple[ImportRow, list[tuple[int, ModeState | None, ModeState]]]] = []
    numbers: dict[CleanNumber, None] = {}
    for row in rows:
        account = existing.get(row.account_number)
        country = row.names.get("country", account.country if account else "")
        problems, row_modes = [], []
        for mode_id in sorted(set(row.modes) | set(row.consent)):
            found = live.get((account.pk, mode_id)) if account else None
            before = found[1] if found is not None else None
            after = before
            if mode_id in row.modes:
                try:
                    clean = _identified(row.modes[mode_id].clean, country)
                except errors.InvalidNumber as exc:
                    problems.append(f"{row.mode_column(mode_id)}: {exc.message}")
                    continue
                after = modes.with_number(before, clean, row.modes[mode_id].as_given)
                numbers[clean] = None
            if mode_id in row.consent:
                if after is None:
                    problems.append(NO_NUMBER_FOR_CONSENT.format(
                        column=row.consent_column(mode_id), mode_id=mode_id))  # fmt: skip
                    continue
                after = modes.with_consent(after, row.consent[mode_id], at=now, by=by,
                                           source=ContactMode.ConsentSource.IMPORT)  # fmt: skip
            row_modes.append((mode_id, before, after))
        if problems:
            result.rejected.append(Rejected(row.line, row.account_number, "; ".join(problems)))
        else:
            planned.append((row, row_modes))

    # Every block that may refuse a number of the batch, in one query: number
    # blocks (every campaign, or a row's campaign) and the existing accounts'
    # whole-contact blocks.
    def campaign_of(row):
        account = existing.get(row.account_number)
        return row.names.get("campaign_id", account.campaign_id if account else "")

    blocks = (
        do_not_call.blocking_rows(
            numbers,
            account_ids=[account.pk for account in existing.values()],
            campaigns={campaign_of(row) for row, _ in planned},
        )
        if numbers
        else []
    )
    kept = []
    for row, row_modes in planned:
        account = existing.get(row.account_number)
        refused = []
        for mode_id, _before, after in row_modes:
            if mode_id not in row.modes:
                continue
            blocked = do_not_call.first_blocking(
                blocks,
                after.clean,
                account_id=account.pk if account else None,
                campaign=campaign_of(row),
            )
            if blocked is not None:
                refused.append(
                    f"{row.mode_column(mode_id)}: "
                    + do_not_call.refusal(after.clean, blocked.number).message
                )
        if refused:
            result.rejected.append(Rejected(row.line, row.account_number, " ".join(refused)))
        else:
            kept.append((row, row_modes))
    if not kept:
        return result

    result.campaigns_created = campaigns.ensure(campaign_of(row) for row, _ in kept)
    accounts = _create_missing([row for row, _ in kept], existing, result)
    renamed = []
    for row, _ in kept:
        account = accounts[row.account_number]
        if any(getattr(account, name) != value for name, value in row.names.items()):
            for name, value in row.names.items():
                setattr(account, name, value)
            renamed.append(account)
    if renamed:
        Account.objects.bulk_update(renamed, list(ACCOUNT_FIELDS))
        result.accounts_updated = len(renamed)

    changes = [
        modes.BatchChange(
            account=accounts[row.account_number],
            mode_id=mode_id,
            before=live.get((accounts[row.account_number].pk, mode_id)),
            after=after,
            entry=ModeChange(
                action=ModeChange.Action.IMPORT,
                user=actor,
                username=permissions.username(actor),
                source=source,
            ),
        )
        for row, row_modes in kept
        for mode_id, before, after in row_modes
        # A mode that holds that number (and consent) already: nothing to write.
        if before is None or before.audit() != after.audit()
    ]
    modes.write_batch(changes, by=by)
    result.rows = len(kept)
    touched = {account.account_number for account in renamed} | {
        change.account.account_number for change in changes
    }
    result.rows_changed = len(touched & existing.keys())
    result.modes_added = sum(1 for c in changes if c.before is None)
    result.modes_changed = len(changes) - result.modes_added
    return result


def _identified(clean: CleanNumber, country: str) -> CleanNumber:
    """The reader identified the number with the row's country (or none);
    the account's stored country may be the one that applies."""
    region, strict = region_for(country)
    return identify(clean.number, region=region, strict=strict)


def _create_missing(
    rows: list[ImportRow], existing: dict[str, Account], result: ImportResult
) -> dict[str, Account]:
    """The batch's accounts by key, missing ones inserted. A key that another
    transaction inserts meanwhile is skipped by the insert and read back
    (locked, in pk order, so two imports never deadlock)."""
    accounts = dict(existing)
    missing = [row for row in rows if row.account_number not in accounts]
    if missing:
        Account.objects.bulk_create(
            [Account(account_number=row.account_number, **row.names) for row in missing],
            ignore_conflicts=True,
        )
        accounts.update(
            (a.account_number, a)
            for a in Account.objects.select_for_update()
            .filter(account_number__in=[row.account_number for row in missing])
            .order_by("pk")
        )
        result.accounts_created = len(missing)
    return accounts


def _stop_on_fault(exc: DatabaseError) -> None:
    """Raise the database's fault; a row's refusal (a constraint) returns."""
    fault = database_fault(exc)
    if fault is not None:
        raise fault from exc


@dataclass
class ImportRun:
    """What a whole file's import did (or, dry, would do): the totals of its
    batches (`total.rejected` stays empty: rejected rows are handed to
    `on_rejected` as they come, and counted), the rows read, and the file
    error that stopped the reading, if any (the rows before it count)."""

    total: ImportResult = field(default_factory=ImportResult)
    read: int = 0
    rejected: int = 0
    broken: ImportFileError | None = None


def import_rows(
    items: Iterable[ImportRow | Rejected],
    *,
    actor: AbstractBaseUser | None = None,
    batch_size: int = ROWS_PER_TRANSACTION,
    dry_run: bool = False,
    on_rejected: Callable[[list[Rejected]], None] | None = None,
    progress_every: int = 0,
    on_progress: Callable[[ImportRun], None] | None = None,
    run: ImportRun | None = None,
) -> ImportRun:
    """Import what a reader of `lcm.imports` yields, `batch_size` rows per
    transaction (`import_accounts`), so memory stays flat on any file and a
    bad row costs only itself: when the database refuses a batch, its rows
    are retried one by one and only the row at fault is rejected. An account
    named twice in the file: its first row is written before the second.

    A fault of the database itself (`lcm.faults.database_fault`: lost, a
    lock waited for past the bound, disk full, read-only) is no row's fault:
    the import stops there and raises it, the batches before it kept (run
    the file again: the import is idempotent). `run`: the caller's, to read
    what was done when that happens.

    `dry_run`: each batch is written, counted, and rolled back (the audit
    chain gives its numbers back): the same writer and the same rules,
    nothing kept. A key repeated in the file then counts as new each time.

    `on_progress(run)` is called every `progress_every` rows read.
    """
    permissions.require(actor, permissions.IMPORT_ACCOUNTS)
    run = ImportRun() if run is None else run

    def reject(rows: list[Rejected]) -> None:
        run.rejected += len(rows)
        if rows and on_rejected is not None:
            on_rejected(rows)

    def write(batch: dict[str, ImportRow]) -> None:
        if not batch:
            return
        rows = list(batch.values())
        batch.clear()
        results = []
        with transaction.atomic() if dry_run else nullcontext():
            try:
                results.append(import_accounts(rows=rows, actor=actor))
            except DatabaseError as exc:
                _stop_on_fault(exc)
                for row in rows:
                    try:
                        results.append(import_accounts(rows=[row], actor=actor))
                    except DatabaseError as exc:
                        _stop_on_fault(exc)
                        results.append(
                            ImportResult(
                                rejected=[Rejected(row.line, row.account_number, str(exc))]
                            )
                        )
            if dry_run:
                transaction.set_rollback(True)
        for result in results:
            reject(result.rejected)
            result.rejected = []
            run.total.add(result)

    batch: dict[str, ImportRow] = {}
    try:
        for item in items:
            run.read += 1
            if isinstance(item, Rejected):
                reject([item])
            else:
                if item.account_number in batch:
                    write(batch)
                batch[item.account_number] = item
                if len(batch) >= batch_size:
                    write(batch)
            if progress_every and on_progress and run.read % progress_every == 0:
                on_progress(run)
    except ImportFileError as exc:
        run.broken = exc
    write(batch)
    return run
