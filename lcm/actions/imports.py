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

import collections
import concurrent.futures
import functools
import hashlib
import json
import queue
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from lcm import bulk, errors
from lcm.audit import BatchAuthor
from lcm.faults import database_fault
from lcm.imports import Deferral, Deferred, ImportFileError, ImportRow, Rejected
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
# Rows whose fingerprints one query looks up (`_sift`): unchanged rows are
# final there, outside any transaction, so their window may be wider than
# a transaction's batch.
SIFT_ROWS = 1000
# Connections writing a file's batches in turn on PostgreSQL (`_Writers`):
# one batch's Python runs while PostgreSQL takes the other's. 1: one at a
# time, in the calling thread (always on SQLite, in a transaction, dry).
WRITERS = 2
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


def import_accounts(
    *,
    rows: list[ImportRow | Deferred],
    actor: AbstractBaseUser | None = None,
    source: str = "import",
    phases: dict[str, float] | None = None,
    new_block_seq: int | None = None,
    sifted: bool = False,
    absent: frozenset[str] = frozenset(),
    campaigns_known: set[str] | None = None,
    head_seq: int | None = None,
    turn: _Turn | None = None,
) -> ImportResult:
    """Create or update a batch of accounts and their modes, in one
    transaction.

    `rows` name each account once. A row with a do-not-call number is
    rejected whole, as SetNewModeNumber would refuse it. For the others: a
    missing account is created; fields the row sets are updated; each mode
    the row gives is added, or changed when its number differs (consent
    reset, as for an agent's change), or left alone, writing nothing, when
    it holds that number; a consent column grants or withdraws consent
    (source `import`). Every mode added or changed gets one audit entry
    (action `import`, its state before and after).

    A row whose fingerprint (its cells', `lcm.imports.cells_fingerprint`)
    is the one its account stored, with nothing but imports on the account
    since (`untouched`) and the name fields it sets as stored, is the row
    that account was last imported from, and nothing has changed the
    account since: it is not validated (a `Deferred` row), locked or read
    further. It is checked against the do-not-call list only when the list
    may block something new since its print was stored
    (`do_not_call.last_new_block_seq`, `new_block_seq`: computed when not
    given): then its account's live modes of the row's ModeIDs, which hold
    the row's numbers, are (a block added meanwhile still rejects it, as
    it would have). Every other row is validated (a `Deferred` one here)
    and stores its fingerprint. `sifted`: the caller has just taken the
    unchanged rows out (`import_rows`, `_sift`): they are not looked up again.
    `absent`: keys the caller has just read as not existing (`_sift`'s
    look-up): not looked for again; should one be inserted meanwhile by
    another transaction, the batch raises `IntegrityError` and writes
    nothing (`import_rows` then retries its rows one by one, without
    `absent`). `campaigns_known`: CampaignIDs this run has already made sure
    of (`campaigns.ensure`), and adds to: not looked up again. `head_seq`:
    the audit chain's head the caller read before this batch (`_sift`'s
    window), stored with new accounts' prints instead of reading it here.
    `turn`: the batch's place among overlapped batches (`_Turn`,
    `import_rows`): it makes its campaigns and its append after the batch
    before it.

    A fixed number of queries per batch: the fingerprints, lock the other
    existing accounts (none when every key is in `absent`), the do-not-call
    lookup, insert the new accounts (their ids from the INSERT itself), read
    the live modes, one bulk insert and one bulk update of modes, one append
    of the entries, one update of the fingerprints. `phases` (name → seconds)
    adds up where the time went.
    """
    permissions.require(actor, permissions.IMPORT_ACCOUNTS)
    keys = [row.account_number for row in rows]
    if len(set(keys)) != len(keys):
        raise ValueError("import_accounts: each account may appear once per batch.")
    clock = _Clock(phases)
    named: set[str] | None = None if campaigns_known is None else set()
    with transaction.atomic():
        result = _import_batch(
            rows, keys, actor, source, clock, new_block_seq, sifted, absent,
            (campaigns_known, named) if named is not None else None, head_seq, turn,
        )  # fmt: skip
        clock.mark("write")
    clock.mark("commit")
    if named and not connection.in_atomic_block:  # committed: they exist now
        campaigns_known.update(named)
    return result


class _Clock:
    """Adds the time since the last mark to `phases[name]` (no-op without)."""

    def __init__(self, phases: dict[str, float] | None):
        self.phases = phases
        self.last = time.perf_counter() if phases is not None else 0.0

    def mark(self, name: str) -> None:
        if self.phases is not None:
            now = time.perf_counter()
            self.phases[name] = self.phases.get(name, 0.0) + now - self.last
            self.last = now


FINGERPRINT_VERSION = b"lcm-import-row-1"


def fingerprint(row: ImportRow) -> str:
    """A digest of the row's normalised content: the name fields it sets,
    each mode's number as the reader cleaned and identified it (so a change
    of `LCM_DEFAULT_REGION` changes it) and as given, and its consent cells.
    Two rows with one fingerprint make the same import of one account."""
    parts = [FINGERPRINT_VERSION]
    for name in sorted(row.names):
        parts.append(f"n{name}={row.names[name]}".encode())
    for mode_id in sorted(row.modes):
        mode = row.modes[mode_id]
        clean = mode.clean
        parts.append(
            f"m{mode_id}={clean.number}|{clean.e164}|{clean.national}|{mode.as_given}".encode()
        )
    for mode_id in sorted(row.consent):
        parts.append(f"c{mode_id}={int(row.consent[mode_id])}".encode())
    return hashlib.blake2b(b"\x1f".join(parts), digest_size=16).hexdigest()


# The accounts of a batch as the fingerprint check needs them, unlocked: a
# row skipped is a change of nothing, so it needs no lock. With each, its
# last audit entry's seq and action (the (account, -seq) index).
_LAST_ENTRY = (
    "(SELECT m.{column} FROM lcm_modechange m WHERE m.account_id = a.id "
    "ORDER BY m.seq DESC LIMIT 1)"
)
_KNOWN = (
    "SELECT a.id, a.account_number, a.import_fingerprint, a.import_fingerprint_seq, "  # noqa: S608
    + _LAST_ENTRY.format(column="seq")
    + ", "
    + _LAST_ENTRY.format(column="action")
    + ", a.first_name, a.last_name, a.campaign, a.country, a.time_zone, a.zip_code"
    + " FROM lcm_account a WHERE a.account_number {keys}"
)


@dataclass(frozen=True)
class _Known:
    """An account whose row is unchanged: what its checks need."""

    pk: int
    campaign: str
    print_seq: int


def untouched(stored_seq: int, last_seq: int | None, last_action: str | None) -> bool:
    """Whether nothing but imports changed an account since its fingerprint
    was stored with `stored_seq`, its last entry being `last_seq`
    (`last_action`). Every audited change of an account appends an entry on
    it; every import entry's transaction stores the print of the row it
    came from. So: no entry at all, or the very entry the print was stored
    with (an existing account's print keeps its last entry's seq), or an
    import entry after the seq the print was stored with (a new account's
    print is stored in its INSERT with the chain's head before its own
    entries)."""
    if last_seq is None or last_seq == stored_seq:
        return True
    return last_action == ModeChange.Action.IMPORT and last_seq > stored_seq


def _unchanged(rows: list, prints: dict[str, str]) -> tuple[dict[str, _Known], set[str]]:
    """The rows whose account stored their fingerprint, untouched since
    (`untouched`), whose name fields are as stored (a change no entry
    records, the console's, counts too); and the keys of every account found."""
    keys = [row.account_number for row in rows]
    if connection.vendor == "postgresql":
        where, params = bulk.any_of_sql("", keys)
        sql = _KNOWN.format(keys=where.strip())
    else:
        sql, params = _KNOWN.format(keys=f"IN ({', '.join(['%s'] * len(keys))})"), keys
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    names = {row.account_number: row.names for row in rows}
    same = {}
    for pk, number, stored, stored_seq, last_seq, last_action, *fields in found:
        if not stored or stored != prints[number]:
            continue
        if not untouched(stored_seq, last_seq, last_action):
            continue
        stored_names = dict(zip(ACCOUNT_FIELDS, fields, strict=True))
        if any(stored_names[name] != value for name, value in names[number].items()):
            continue  # ("country" as the file spelt it: "us" reads again)
        same[number] = _Known(pk, stored_names["campaign_id"], stored_seq)
    return same, {number for _pk, number, *_rest in found}


def _sift(
    rows: list, new_block_seq: Callable[[], int]
) -> tuple[int, list[Rejected], list, frozenset[str]]:
    """Of rows naming distinct accounts: how many are unchanged (`_unchanged`)
    and pass the do-not-call check, those of them it refuses, and the other
    rows, in order, to import. Reads only. The check is made only for the
    unchanged rows whose print is older than the list's last new block
    (`new_block_seq()`), on the numbers their accounts' live modes hold
    (the row's, identified when it was imported): one query for the prints,
    and then two, the modes and `do_not_call.blocking_rows`."""
    bulk.custom_plans()
    prints = {row.account_number: row.fingerprint or fingerprint(row) for row in rows}
    same, found = _unchanged(rows, prints)
    absent = frozenset(prints.keys() - found)
    if not same:
        return 0, [], rows, absent
    rest = [row for row in rows if row.account_number not in same]
    unchanged = len(rows) - len(rest)
    seq = new_block_seq()
    stale = [row for row in rows if row.account_number in same
             and same[row.account_number].print_seq < seq]  # fmt: skip
    if not stale:
        return unchanged, [], rest, absent
    held = modes.live_batch([same[row.account_number].pk for row in stale])
    checks, numbers = [], {}
    for row in stale:
        known = same[row.account_number]
        ids = row.mode_columns if isinstance(row, Deferred) else row.modes
        cleans = [(m, held[(known.pk, m)][1].clean) for m in sorted(ids) if (known.pk, m) in held]
        numbers.update((clean, None) for _m, clean in cleans)
        checks.append((row, known, cleans))
    blocks = (
        do_not_call.blocking_rows(
            numbers,
            account_ids=[known.pk for _row, known, _c in checks],
            campaigns={known.campaign for _row, known, _c in checks},
        )
        if numbers
        else []
    )
    refused = []
    for row, known, cleans in checks:
        reasons = []
        for mode_id, clean in cleans:
            blocked = do_not_call.first_blocking(
                blocks, clean, account_id=known.pk, campaign=known.campaign
            )
            if blocked is not None:
                reasons.append(
                    f"{row.mode_column(mode_id)}: "
                    + do_not_call.refusal(clean, blocked.number).message
                )
        if reasons:
            refused.append(Rejected(row.line, row.account_number, " ".join(reasons)))
    return unchanged - len(refused), refused, rest, absent


_LAST_SEQ = Subquery(
    ModeChange.objects.filter(account=OuterRef("pk")).order_by("-seq").values("seq")[:1]
)


def _import_batch(
    rows,
    keys,
    actor,
    source,
    clock: _Clock,
    new_block_seq,
    sifted=False,
    absent=frozenset(),
    campaigns_known=None,
    head_seq=None,
    turn=None,
) -> ImportResult:
    result = ImportResult()
    bulk.custom_plans()
    prints = {row.account_number: row.fingerprint or fingerprint(row) for row in rows}
    same = {} if sifted else _unchanged(rows, prints)[0]
    clock.mark("fingerprints")
    same_rows = [row for row in rows if row.account_number in same]
    if same or any(isinstance(row, Deferred) for row in rows):
        pending = []
        for row in rows:
            if row.account_number in same:
                continue
            if isinstance(row, Deferred):  # not unchanged: validated now
                row = row.validated()
                if isinstance(row, Rejected):
                    result.rejected.append(row)
                    continue
            pending.append(row)
        rows = pending
        keys = [row.account_number for row in rows]
        clock.mark("validate")

    looked_up = [key for key in keys if key not in absent]
    existing = (
        {
            a.account_number: a
            for a in Account.objects.select_for_update()
            .filter(account_number__in=looked_up)
            .annotate(last_seq=_LAST_SEQ)
            .order_by("pk")
        }
        if looked_up
        else {}
    )
    live = modes.live_batch([a.pk for a in existing.values()])
    by = permissions.username(actor, "import")
    now = timezone.now()
    clock.mark("lock and read")

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
    # The chain's head before the do-not-call read: new accounts store it
    # with their print (`_create_missing`), a check made after every entry
    # up to it. The caller's (`head_seq`, read earlier) is as true: an older
    # seq only makes a later re-import check such a row again sooner.
    head = 0
    if any(row.account_number not in existing for row, _ in planned):
        head = _head_seq() if head_seq is None else head_seq
    # The unchanged rows: only the do-not-call check, and only those whose
    # print is older than the list's last new block; their numbers are those
    # their accounts' live modes hold (the row's, identified when imported).
    checked_same = []
    if same_rows:
        if new_block_seq is None:
            new_block_seq = do_not_call.last_new_block_seq()
        stale = [row for row in same_rows if same[row.account_number].print_seq < new_block_seq]
        held = modes.live_batch([same[row.account_number].pk for row in stale]) if stale else {}
        for row in stale:
            pk = same[row.account_number].pk
            ids = row.mode_columns if isinstance(row, Deferred) else row.modes
            cleans = [(m, held[(pk, m)][1].clean) for m in sorted(ids) if (pk, m) in held]
            numbers.update((clean, None) for _m, clean in cleans)
            checked_same.append((row, cleans))
        result.rows += len(same_rows) - len(stale)  # unchanged, nothing to check

    # Every block that may refuse a number of the batch, in one query: number
    # blocks (every campaign, or a row's campaign) and the existing accounts'
    # whole-contact blocks.
    def campaign_of(row):
        if row.account_number in same:
            return same[row.account_number].campaign
        account = existing.get(row.account_number)
        return row.names.get("campaign_id", account.campaign_id if account else "")

    def account_id_of(row):
        if row.account_number in same:
            return same[row.account_number].pk
        account = existing.get(row.account_number)
        return account.pk if account else None

    blocks = (
        do_not_call.blocking_rows(
            numbers,
            account_ids=[a.pk for a in existing.values()]
            + [same[row.account_number].pk for row, _ in checked_same],
            campaigns={campaign_of(row) for row, _ in planned}
            | {campaign_of(row) for row, _ in checked_same},
        )
        if numbers
        else []
    )
    clock.mark("do-not-call")

    def refusals(row, cleans) -> list[str]:
        refused = []
        for mode_id, clean in cleans:
            blocked = do_not_call.first_blocking(
                blocks, clean, account_id=account_id_of(row), campaign=campaign_of(row)
            )
            if blocked is not None:
                refused.append(
                    f"{row.mode_column(mode_id)}: "
                    + do_not_call.refusal(clean, blocked.number).message
                )
        return refused

    kept = []
    for row, row_modes in planned:
        cleans = [(m, after.clean) for m, _before, after in row_modes if m in row.modes]
        if refused := refusals(row, cleans):
            result.rejected.append(Rejected(row.line, row.account_number, " ".join(refused)))
        else:
            kept.append((row, row_modes))
    for row, cleans in checked_same:
        if refused := refusals(row, cleans):
            result.rejected.append(Rejected(row.line, row.account_number, " ".join(refused)))
        else:
            result.rows += 1  # unchanged: nothing to write
    if not kept:
        clock.mark("decide")
        return result

    named = {campaign_of(row) for row, _ in kept}
    if turn is not None:  # the batch before has made sure of its campaigns
        turn.wait(_Turn.CAMPAIGNS)
    if campaigns_known is None:
        result.campaigns_created = campaigns.ensure(named)
    else:  # (made sure of by this run's committed batches, named by this one)
        known, ensured = campaigns_known
        if named - known:
            result.campaigns_created = campaigns.ensure(named - known)
        ensured.update(named)
    if turn is not None:
        turn.reach(_Turn.CAMPAIGNS)
    accounts, created = _create_missing(
        [row for row, _ in kept], existing, prints, head, result, absent
    )
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
        )
        for row, row_modes in kept
        for mode_id, before, after in row_modes
        # A mode that holds that number (and consent) already: nothing to write.
        if before is None or before.audit() != after.audit()
    ]
    clock.mark("decide")
    # Who made every entry of the batch, once (not a ModeChange per change:
    # the entries are appended as rows, lcm.audit.append_rows).
    author = BatchAuthor(
        action=ModeChange.Action.IMPORT,
        user_id=actor.pk if actor is not None else None,
        username=permissions.username(actor),
        source=source,
    )
    if turn is not None:  # the batch before has appended: entries in file order
        turn.wait(_Turn.APPENDED)
        clock.mark("waiting for the batch before")
    entries = modes.write_batch(changes, by=by, author=author)
    if turn is not None:
        turn.reach(_Turn.APPENDED)
    clock.mark("modes and audit")

    # Each kept row's fingerprint, with the seq of its account's last entry:
    # new accounts got theirs in their INSERT (`_create_missing`); only the
    # other accounts whose stored print or seq moved are updated.
    last_seq = {a.pk: getattr(a, "last_seq", None) or 0 for a in accounts.values()}
    for entry in entries:
        last_seq[entry.account_id] = max(last_seq[entry.account_id], entry.seq)
    stale = []
    for row, _ in kept:
        account = accounts[row.account_number]
        if account.pk in created:
            continue
        stored = (prints[row.account_number], last_seq[account.pk])
        if (account.import_fingerprint, account.import_fingerprint_seq) != stored:
            stale.append((*stored, account.pk))
    if stale:
        with connection.cursor() as cursor:
            cursor.executemany(
                "UPDATE lcm_account SET import_fingerprint = %s, import_fingerprint_seq = %s "
                "WHERE id = %s",
                stale,
            )
    clock.mark("fingerprints")

    result.rows += len(kept)
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
    rows: list[ImportRow],
    existing: dict[str, Account],
    prints: dict[str, str],
    head: int,
    result: ImportResult,
    absent: frozenset[str] = frozenset(),
) -> tuple[dict[str, Account], set[int]]:
    """The batch's accounts by key, missing ones inserted, and the ids of
    those this batch inserted, in one INSERT … RETURNING per 1,000 (no
    read back). A key that another transaction inserts meanwhile is skipped
    by the insert and read back (locked, in pk order, so two imports never
    deadlock); unless it was in `absent` (not looked for in this
    transaction): then `IntegrityError`.

    A new account's fingerprint is written in its INSERT, with `head`, the
    seq of the chain's head before this batch's do-not-call check: its own
    entries, appended next, all come after it (`untouched`), and the check
    saw every block of an entry up to it."""
    accounts = dict(existing)
    missing = [row for row in rows if row.account_number not in accounts]
    created: set[int] = set()
    if missing:
        new = [
            bulk.instance(
                Account,
                account_number=row.account_number,
                **row.names,
                import_fingerprint=prints[row.account_number],
                import_fingerprint_seq=head,
            )
            for row in missing
        ]
        inserted = _insert_new(new)
        raced = []
        for account in new:
            pk = inserted.get(account.account_number)
            if pk is None:  # another transaction inserted it meanwhile
                raced.append(account.account_number)
                continue
            account.pk = pk
            account._state.adding = False
            account._state.db = connection.alias
            accounts[account.account_number] = account
            created.add(pk)
        if absent.intersection(raced):
            # Looked for before this transaction, not in it: its modes and
            # blocks were not read. The batch writes nothing (retried row by row).
            raise IntegrityError(f"account {raced[0]} was inserted meanwhile")
        if raced:
            for account in (
                Account.objects.select_for_update().filter(account_number__in=raced).order_by("pk")
            ):
                accounts[account.account_number] = account
        result.accounts_created = len(missing)
    return accounts, created


# Rows per INSERT of new accounts: well under either database's limit of
# parameters per statement (SQLite 32,766; PostgreSQL 65,535).
_INSERT_ROWS = 1000


def _insert_new(accounts: list[Account]) -> dict[str, int]:
    """Insert `accounts` (unsaved) with the ORM's columns and values
    (`bulk.insert_fields`, `bulk.insert_params`), skipping any whose key
    exists (another transaction's, as ``bulk_create(ignore_conflicts=True)``):
    the ids of those inserted, by key, from the INSERT itself (RETURNING),
    with no read back. On PostgreSQL one statement whose rows are one JSON
    parameter (``json_populate_recordset``: one short text for psycopg to
    parse and one string to send, where arrays or a multi-row VALUES cost
    Python work per value; datetimes as their ISO text), elsewhere one
    multi-row INSERT per `_INSERT_ROWS`."""
    fields = bulk.insert_fields(Account)
    quote = connection.ops.quote_name
    table = quote(Account._meta.db_table)
    columns = ", ".join(quote(f.column) for f in fields)
    tail = f" ON CONFLICT DO NOTHING RETURNING {quote('id')}, {quote('account_number')}"
    params = [bulk.insert_params(account, connection) for account in accounts]
    inserted: dict[str, int] = {}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            names = [f.column for f in fields]
            cursor.execute(
                # Identifiers from the model's metadata, quoted; the rows one parameter.
                f"INSERT INTO {table} ({columns}) SELECT {columns} "  # noqa: S608
                f"FROM json_populate_recordset(NULL::{table}, %s)" + tail,
                [json.dumps([dict(zip(names, row, strict=True)) for row in params], default=str)],
            )
            inserted.update((number, pk) for pk, number in cursor.fetchall())
            return inserted
        one = "(" + ", ".join(["%s"] * len(fields)) + ")"
        for start in range(0, len(params), _INSERT_ROWS):
            chunk = params[start : start + _INSERT_ROWS]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {', '.join([one] * len(chunk))}" + tail,  # noqa: S608
                [value for row in chunk for value in row],
            )
            inserted.update((number, pk) for pk, number in cursor.fetchall())
    return inserted


def _head_seq() -> int:
    """The seq of the audit chain's last entry (0: none), unlocked."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT seq FROM lcm_modechange ORDER BY seq DESC LIMIT 1")
        found = cursor.fetchone()
    return found[0] if found else 0


def _stop_on_fault(exc: DatabaseError) -> None:
    """Raise the database's fault; a row's refusal (a constraint) returns."""
    fault = database_fault(exc)
    if fault is not None:
        raise fault from exc


def _write_rows(rows: list, *, turn: _Turn | None = None, **kwargs) -> list[ImportResult]:
    """One batch (`import_accounts`, `sifted`), its results; when the
    database refuses it whole, its rows one by one, each refused row
    rejected (a fault of the database raises). `turn`: its place among
    overlapped batches; on a refusal, the batch after it rolls back (it
    may hold what the rows need: `_Yield`) until the rows are done."""
    try:
        return [import_accounts(rows=rows, sifted=True, turn=turn, **kwargs)]
    except DatabaseError as exc:
        _stop_on_fault(exc)
        if turn is not None:
            turn.reach(_Turn.RETRYING)
    kwargs.pop("absent", None)
    kwargs.pop("campaigns_known", None)
    kwargs.pop("head_seq", None)
    results = []
    for row in rows:
        try:
            results.append(import_accounts(rows=[row], sifted=True, **kwargs))
        except DatabaseError as exc:
            _stop_on_fault(exc)
            refused = Rejected(row.line, row.account_number, str(exc))
            results.append(ImportResult(rejected=[refused]))
    return results


class _Yield(Exception):
    """The batch before was refused whole and retries its rows one by one:
    this batch rolls back and runs again after them."""


class _Abort(Exception):
    """The batch before stopped the import (a fault): this one writes nothing."""


class _Turn:
    """A batch's place among overlapped batches (`_Writers`): how far it
    got (`stage`), and the batch before it, which it waits for twice —
    before making sure of its campaigns (two inserts of one new campaign:
    the later waits for the earlier's commit, never the reverse) and before
    its append (the entries stay in file order; the chain's head, locked by
    the append to the commit, then orders the commits). Before that it
    validates, locks its own accounts (keys differ within a window), reads,
    checks the list and decides while the batch before writes."""

    STARTED, CAMPAIGNS, APPENDED, DONE = 0, 1, 2, 3
    RETRYING, STOPPED = -1, -2

    def __init__(self, before: _Turn | None, changed: threading.Condition):
        self.before = before
        self.stage = self.STARTED
        self._changed = changed

    def reach(self, stage: int) -> None:
        with self._changed:
            self.stage = stage
            self._changed.notify_all()

    def wait(self, stage: int) -> None:
        """Until the batch before reached `stage` (or is done)."""
        before = self.before
        if before is None:
            return
        with self._changed:
            self._changed.wait_for(lambda: before.stage >= stage or before.stage < 0)
            if before.stage == self.STOPPED:
                raise _Abort
            if before.stage == self.RETRYING:
                raise _Yield

    def wait_done(self) -> None:
        before = self.before
        if before is None:
            return
        with self._changed:
            self._changed.wait_for(lambda: before.stage in (self.DONE, self.STOPPED))
            if before.stage == self.STOPPED:
                raise _Abort


def _take_turn(turn: _Turn, write: Callable[[_Turn], list[ImportResult]]):
    """Run `write(turn)` in a writer's thread: again after the batch before
    if that was refused whole (`_Yield`), nothing if it stopped the import
    (None), and the stage for the batch after."""
    while True:
        try:
            results = write(turn)
        except _Yield:
            turn.reach(_Turn.STARTED)
            try:
                turn.wait_done()
            except _Abort:
                turn.reach(_Turn.STOPPED)
                return None
            continue
        except _Abort:
            turn.reach(_Turn.STOPPED)
            return None
        except BaseException:
            turn.reach(_Turn.STOPPED)
            raise
        turn.reach(_Turn.DONE)
        return results


class _Writers:
    """Two threads, each with its own connection, writing batches in turn
    (PostgreSQL, outside a transaction): while PostgreSQL takes one batch
    (its COPY, its commit), the other's Python runs (validation, decisions,
    seals: `_Turn`). At most two batches are in flight; their results are
    handed to `then` in order, in the calling thread. `drain()` waits for
    every batch (a sift window's end); an error of a batch raises there
    once the other has ended (a batch after a fault writes nothing, unless
    it had already appended: then it commits, uncounted, and a second run
    finds it unchanged)."""

    COUNT = 2

    def __init__(self):
        self._changed = threading.Condition()
        self._queues: list[queue.SimpleQueue] = [queue.SimpleQueue() for _ in range(self.COUNT)]
        self.phases: list[dict[str, float]] = [{} for _ in range(self.COUNT)]
        self._threads = [
            threading.Thread(target=self._serve, args=(q,), name=f"import-writer-{i}", daemon=True)
            for i, q in enumerate(self._queues)
        ]
        for thread in self._threads:
            thread.start()
        self._flight: collections.deque = collections.deque()
        self._last: _Turn | None = None
        self._next = 0

    @staticmethod
    def _serve(jobs: queue.SimpleQueue) -> None:
        try:
            bulk.custom_plans_for_session()  # a connection of its own
            while (job := jobs.get()) is not None:
                work, done = job
                try:
                    done.set_result(work())
                except BaseException as exc:
                    done.set_exception(exc)
        finally:
            connection.close()  # this thread's own

    def submit(self, write: Callable[[_Turn, dict], list[ImportResult]], then: Callable) -> None:
        while len(self._flight) >= self.COUNT:
            self._collect()
        turn = _Turn(self._last, self._changed)
        self._last = turn
        phases = self.phases[self._next]
        done: concurrent.futures.Future = concurrent.futures.Future()
        self._queues[self._next].put((lambda: _take_turn(turn, lambda t: write(t, phases)), done))
        self._next = (self._next + 1) % self.COUNT
        self._flight.append((done, turn, then))

    def _collect(self) -> None:
        done, turn, then = self._flight.popleft()
        try:
            results = done.result()
        except BaseException:
            for other, _turn, _then in self._flight:
                concurrent.futures.wait([other])
            self._flight.clear()
            raise
        turn.before = None  # done: it waits for nothing any more
        if results is not None:
            then(results)

    def drain(self) -> None:
        while self._flight:
            self._collect()

    def close(self, phases: dict[str, float]) -> None:
        for jobs in self._queues:
            jobs.put(None)
        for thread in self._threads:
            thread.join()
        for own in self.phases:
            for name, seconds in own.items():
                phases[name] = phases.get(name, 0.0) + seconds


@dataclass
class ImportRun:
    """What a whole file's import did (or, dry, would do): the totals of its
    batches (`total.rejected` stays empty: rejected rows are handed to
    `on_rejected` as they come, and counted), the rows read, and the file
    error that stopped the reading, if any (the rows before it count).
    `phases`: seconds by phase of the batches (`import_accounts`), and the
    reader's own CPU (``read``, in its thread) and the writer's waits for it
    (``waiting for rows``)."""

    total: ImportResult = field(default_factory=ImportResult)
    read: int = 0
    rejected: int = 0
    broken: ImportFileError | None = None
    phases: dict[str, float] = field(default_factory=dict)


# Items the reader's thread hands over at a time, and how many such chunks
# may wait: memory stays bounded whatever the file.
READ_AHEAD_CHUNK = 100
READ_AHEAD_CHUNKS = 8
_END = object()


class _ReadAhead:
    """Iterate `items` in a thread of its own, a few chunks ahead: the file's
    parsing and validation (Python, `lcm.imports`) runs while the importing
    thread waits for the database. The reader touches no database. Items
    come out in order; an exception of the reader (`ImportFileError`)
    comes out where it happened. `close()` stops the thread."""

    def __init__(self, items: Iterable, phases: dict[str, float]):
        self._queue: queue.Queue = queue.Queue(maxsize=READ_AHEAD_CHUNKS)
        self._stop = threading.Event()
        self._phases = phases
        self._thread = threading.Thread(
            target=self._read, args=(iter(items),), name="import-reader", daemon=True
        )
        self._thread.start()

    def _put(self, value) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _read(self, items) -> None:
        started = time.thread_time()
        try:
            chunk = []
            for item in items:
                chunk.append(item)
                if len(chunk) >= READ_AHEAD_CHUNK:
                    if not self._put(chunk):
                        return
                    chunk = []
            if chunk and not self._put(chunk):
                return
            self._put(_END)
        except BaseException as exc:  # handed to the importing thread
            if chunk:
                self._put(chunk)
            self._put(exc)
        finally:
            self._phases["read"] = self._phases.get("read", 0.0) + time.thread_time() - started

    def __iter__(self):
        while True:
            started = time.perf_counter()
            got = self._queue.get()
            self._phases["waiting for rows"] = (
                self._phases.get("waiting for rows", 0.0) + time.perf_counter() - started
            )
            if got is _END:
                return
            if isinstance(got, BaseException):
                raise got
            yield from got

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


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
    on_batch_committed: Callable[[ImportRun, int], None] | None = None,
    source: str = "import",
    defer: Deferral | None = None,
    writers: int | None = None,
) -> ImportRun:
    """Import what a reader of `lcm.imports` yields, `batch_size` rows per
    transaction (`import_accounts`), so memory stays flat on any file and a
    bad row costs only itself: when the database refuses a batch, its rows
    are retried one by one and only the row at fault is rejected. An account
    named twice in the file: its first row is written before the second.
    `items` are read in a thread of their own, a few batches ahead
    (`_ReadAhead`): parsing overlaps the database's work.

    A fault of the database itself (`lcm.faults.database_fault`: lost, a
    lock waited for past the bound, disk full, read-only) is no row's fault:
    the import stops there and raises it, the batches before it kept (run
    the file again: the import is idempotent). `run`: the caller's, to read
    what was done when that happens.

    `dry_run`: each batch is written, counted, and rolled back (the audit
    chain gives its numbers back): the same writer and the same rules,
    nothing kept. A key repeated in the file then counts as new each time.

    `on_progress(run)` is called every `progress_every` rows read.

    `on_batch_committed(run, through)` (never for a dry run) is called after
    each batch's transaction has committed, in file order: every item of
    `items` before index `through` (rows and Rejected alike) is done, none
    after it is; rejected items are handed to `on_rejected` before the call
    that covers them. A caller that stops and restarts with
    `itertools.islice(items, through, None)` gets the result of one
    uninterrupted run (lcm.actions.import_jobs, docs/scaling.md).

    `source`: the audit entries' source app ("import"; a background job
    names itself, `lcm.actions.import_jobs`).

    `defer`: the reader's (`lcm.imports.read_csv(defer=…)`), turned on
    while most rows of the last batch were unchanged, off otherwise: the
    reader then hands rows over unvalidated, and only those that are not
    unchanged are validated, here (`import_accounts`).

    `writers` (default `WRITERS`): on PostgreSQL, outside a transaction and
    not dry, that many connections write the batches in turn, each in its
    own thread (`_Writers`, `_Turn`): a batch validates, locks its accounts,
    reads and decides while the batch before it writes; it makes its append
    after that batch's (entries in file order), and everything above holds
    (a refused batch writes nothing and its rows are retried one by one;
    `on_batch_committed` in file order). The batches of a sift window end
    before the next window is sifted. 1: one batch at a time, here.
    """
    permissions.require(actor, permissions.IMPORT_ACCOUNTS)
    run = ImportRun() if run is None else run
    done = 0  # items before this index are committed or final

    def reject(rows: list[Rejected]) -> None:
        run.rejected += len(rows)
        if rows and on_rejected is not None:
            on_rejected(rows)

    def committed(through: int) -> None:
        nonlocal done
        if through > done and not dry_run and on_batch_committed is not None:
            done = through
            on_batch_committed(run, through)

    # CampaignIDs this run's committed batches made sure of (not in a dry run:
    # its campaigns are rolled back with it).
    campaigns_known: set[str] | None = None if dry_run else set()

    def write(
        batch: dict[str, ImportRow], through: int, absent: frozenset[str], head: int | None
    ) -> None:
        """One batch, in this thread; its results handed over (`collect`)."""
        if not batch:
            return
        rows = list(batch.values())
        batch.clear()
        with transaction.atomic() if dry_run else nullcontext():
            results = _write_rows(rows, **options(absent, head), phases=run.phases)
            if dry_run:
                transaction.set_rollback(True)
        collect(results, through)

    def options(absent: frozenset[str], head: int | None) -> dict:
        return {"actor": actor, "source": source, "absent": absent,
                "campaigns_known": campaigns_known, "head_seq": head}  # fmt: skip

    def collect(results: list[ImportResult], through: int) -> None:
        """A batch's results, in file order: its rejected rows, its counts."""
        report(through)
        for result in results:
            reject(result.rejected)
            result.rejected = []
            run.total.add(result)
        committed(through)

    new_block: list[int] = []  # do_not_call.last_new_block_seq, once a run

    def new_block_seq() -> int:
        if not new_block:
            new_block.append(do_not_call.last_new_block_seq())
        return new_block[0]

    def flush(window: dict[str, tuple[ImportRow | Deferred, int]], end: int) -> None:
        """The window's unchanged rows counted (`_sift`), the others written
        `batch_size` at a time, and the rejected items reported in file
        order between them; `end`: the items read so far."""
        rows = [item for item, _ in window.values()]
        at = {row.account_number: position for row, position in window.values()}
        window.clear()
        if rows:
            clock = _Clock(run.phases)
            with transaction.atomic():  # reads only; plans for its keys (custom_plans)
                unchanged, refused, rest, absent = _sift(rows, new_block_seq)
                # The head before every batch of the window: their new accounts' print seq.
                head = _head_seq() if absent else None
            clock.mark("unchanged rows")
            pending.extend((at[r.account_number], r) for r in refused)
            pending.sort(key=lambda found: found[0])
            run.total.add(ImportResult(rows=unchanged))
            if defer is not None:
                defer.set(2 * unchanged > len(rows))
        else:
            rest, absent, head = [], frozenset(), None

        for start in range(0, len(rest), batch_size):
            chunk = rest[start : start + batch_size]
            last = at[chunk[-1].account_number]
            # Items up to the chunk's last row: committed, unchanged or reported.
            if writers is None:
                write({row.account_number: row for row in chunk}, last, absent, head)
            else:
                writers.submit(
                    functools.partial(overlapped, chunk, options(absent, head)),
                    functools.partial(written, through=last),
                )
        if writers is not None:
            writers.drain()  # the next window's sift reads what this one wrote
        report(end + 1)
        committed(end)

    def report(before: int) -> None:
        while pending and pending[0][0] < before:
            reject([pending.pop(0)[1]])

    def overlapped(chunk: list, kwargs: dict, turn: _Turn, phases: dict) -> list[ImportResult]:
        return _write_rows(chunk, turn=turn, phases=phases, **kwargs)

    def written(results: list[ImportResult], *, through: int) -> None:
        collect(results, through)
        committed(through)

    window: dict[str, tuple[ImportRow | Deferred, int]] = {}
    pending: list[tuple[int, Rejected]] = []  # (position, item) not reported yet
    size = max(SIFT_ROWS, batch_size)
    if writers is None:
        writers = WRITERS
    writers = (
        _Writers()
        if writers > 1
        and not dry_run
        and connection.vendor == "postgresql"
        and not connection.in_atomic_block
        else None
    )
    reader = _ReadAhead(items, run.phases)
    try:
        try:
            for item in reader:
                run.read += 1
                if isinstance(item, Rejected):
                    pending.append((run.read, item))
                else:
                    if item.account_number in window:
                        flush(window, run.read - 1)
                    window[item.account_number] = (item, run.read)
                if len(window) + len(pending) >= size:
                    flush(window, run.read)
                if progress_every and on_progress and run.read % progress_every == 0:
                    on_progress(run)
        except ImportFileError as exc:
            run.broken = exc
        flush(window, run.read)
    finally:
        reader.close()
        if writers is not None:
            writers.close(run.phases)
    return run
