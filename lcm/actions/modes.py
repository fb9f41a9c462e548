"""The mode kernel: the only code that writes `ContactMode` rows.

Every writer — SetNewModeNumber (`agent_requests`), the console's change,
settings, revert and restore (`supervisor`), the import (`imports`) — does
the same three things, in one transaction:

1. **Lock the account** (`lock_account`, or the hot path's own locking read)
   and read its live modes (`live_states`): every later decision sees the
   state no concurrent change can move.
2. **Decide the new state of each mode it touches** with the rules below,
   which are plain functions of the old state: `with_number` (a changed
   number starts without consent and without the old number's time zone
   and window overrides; re-confirming the same number keeps them),
   `with_consent`, `with_settings`. Deleting a mode is the state None.
3. **Write** (`write`, or `write_batch` for an import): refuse any number
   being made live that is on the do-not-call list (`do_not_call`), apply the
   states with statements that carry no rule of their own (soft delete,
   revive, upsert), and append one audit entry recording every touched
   mode's state before and after (`ModeChange.modes`).

So a rule lives once, in step 2, whatever the door and whatever statement
writes the row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace

from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime, parse_time

from lcm import bulk, cursors, errors
from lcm.audit import Appended, BatchAuthor, append_entry, append_rows
from lcm.models import Account, ContactMode, ModeChange, ModeType
from lcm.numbers import CleanNumber, clean_for_mode

from . import do_not_call

# --- The state of one mode ------------------------------------------------------


@dataclass(frozen=True)
class ModeState:
    """What a live mode holds. Equal states are the same mode as far as a
    change is concerned (`changed_at`/`changed_by` are bookkeeping)."""

    number: str
    e164: str
    national: str
    number_as_given: str = ""
    consent: bool = False
    consent_source: str = ""
    consent_by: str = ""
    consent_at: dt.datetime | None = None
    time_zone: str = ""
    window_start: dt.time | None = None
    window_end: dt.time | None = None

    @property
    def identity(self) -> str:
        return self.e164 or self.number

    @property
    def clean(self) -> CleanNumber:
        return CleanNumber(self.number, self.e164, self.national)

    def audit(self) -> dict:
        """The state as an audit entry records it (JSON, keys `STATE_KEYS`)."""
        return {
            "number": self.number,
            "e164": self.e164,
            "pewc": self.consent,
            "pewc_source": self.consent_source,
            "pewc_by": self.consent_by,
            "pewc_at": _iso(self.consent_at),
            "time_zone": self.time_zone,
            "window": [_hhmm(self.window_start), _hhmm(self.window_end)]
            if self.window_start
            else None,
        }


STATE_KEYS = ("number", "e164", "pewc", "pewc_source", "pewc_by", "pewc_at", "time_zone", "window")


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if value else None


def _hhmm(value: dt.time | None) -> str | None:
    return value.strftime("%H:%M") if value else None


def state_from_audit(data: dict | None, *, national: str = "") -> ModeState | None:
    """The state an audit entry recorded (for a revert)."""
    if data is None:
        return None
    window = data.get("window")
    return ModeState(
        number=data["number"],
        e164=data["e164"],
        national=national,
        number_as_given=data["number"],
        consent=data["pewc"],
        consent_source=data["pewc_source"],
        consent_by=data["pewc_by"],
        consent_at=parse_datetime(data["pewc_at"]) if data["pewc_at"] else None,
        time_zone=data["time_zone"],
        window_start=parse_time(window[0]) if window else None,
        window_end=parse_time(window[1]) if window else None,
    )


# --- The rules --------------------------------------------------------------------


def with_number(before: ModeState | None, clean: CleanNumber, as_given: str) -> ModeState:
    """The mode holding `clean`. Consent and any callability state belong to
    a number, not a slot (set-new-mode-number.md): the same number keeps
    them, a different one starts without."""
    if before is not None and before.identity == clean.identity:
        return replace(before, number=clean.number, e164=clean.e164, national=clean.national,
                       number_as_given=as_given)  # fmt: skip
    return ModeState(clean.number, clean.e164, clean.national, number_as_given=as_given)


def with_consent(state: ModeState, granted: bool, *, source: str, by: str, at) -> ModeState:
    """Consent granted or withdrawn, with where it came from. Only imports
    and supervisors call this (an agent never grants consent)."""
    if state.consent == granted:
        return state
    return replace(state, consent=granted, consent_source=source, consent_by=by, consent_at=at)


def with_settings(
    state: ModeState, *, time_zone: str, window: tuple[dt.time, dt.time] | None
) -> ModeState:
    """A supervisor's per-mode time zone and calling window overrides."""
    start, end = window if window else (None, None)
    return replace(state, time_zone=time_zone, window_start=start, window_end=end)


# --- Reading ------------------------------------------------------------------------

# A mode's state, column by column, in `ModeState`'s order.
_STATE_COLUMNS = (
    "number",
    "number_e164",
    "number_national",
    "number_as_given",
    "has_consent",
    "consent_source",
    "consent_by",
    "consent_at",
    "time_zone",
    "window_start",
    "window_end",
)
_COLUMNS = ("id", "mode_type_id", *_STATE_COLUMNS)
_LIVE_MODES = (
    f"SELECT {', '.join(_COLUMNS)} FROM lcm_contactmode "  # noqa: S608 (constant columns)
    "WHERE account_id = %s AND deleted_at IS NULL"
)


def _aware(value) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=dt.UTC)
    return _aware(parse_datetime(value))


def _time(value) -> dt.time | None:
    return value if value is None or isinstance(value, dt.time) else parse_time(value)


def _state_of_row(row) -> ModeState:
    (_pk, _mode_id, number, e164, national, as_given, consent, source, by, at, tz, start,
     end) = row  # fmt: skip
    return ModeState(number, e164, national, as_given, bool(consent), source, by, _aware(at), tz,
                     _time(start), _time(end))  # fmt: skip


@dataclass
class Live:
    """The live modes of one locked account: ModeID → (row pk, state).
    `blocking`: read with them (`live_states(checking=…)`), a number and
    whether the do-not-call list blocks it on this account."""

    account: Account
    modes: dict[int, tuple[int, ModeState]]
    blocking: tuple[CleanNumber, bool] | None = None

    def state(self, mode_id: int) -> ModeState | None:
        found = self.modes.get(mode_id)
        return found[1] if found else None


def live_states(account: Account, *, checking: CleanNumber | None = None) -> Live:
    """The account's live modes. Call it under the account lock.

    `checking`: a number about to be stored (SetNewModeNumber's), whose
    do-not-call lookup rides on the same statement, one round trip fewer:
    `write` then asks no more for it when it is not blocked (a blocked one
    is asked again, for the refusal's details). An account without a live
    mode returns no row, so no answer: `write` asks as usual."""
    if checking is None:
        sql, params = _LIVE_MODES, [account.pk]
    else:
        blocking, params = do_not_call.blocking_query(checking, account=account, columns="d.id")
        sql = f"SELECT {', '.join(_COLUMNS)}, ({blocking}) FROM lcm_contactmode " + (  # noqa: S608
            "WHERE account_id = %s AND deleted_at IS NULL"
        )
        params = [*params, account.pk]
    with cursors.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    live = Live(account, {row[1]: (row[0], _state_of_row(row[:13])) for row in rows})
    if checking is not None and rows:
        live.blocking = (checking, rows[0][13] is not None)
    return live


def live_batch(account_ids: list[int]) -> dict[tuple[int, int], tuple[int, ModeState]]:
    """The live modes of many locked accounts (an import batch), in one
    query: (account id, ModeID) → (row pk, state)."""
    if not account_ids:
        return {}
    marks = ", ".join(["%s"] * len(account_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT account_id, {', '.join(_COLUMNS)} FROM lcm_contactmode "  # noqa: S608
            f"WHERE account_id IN ({marks}) AND deleted_at IS NULL",
            account_ids,
        )
        rows = cursor.fetchall()
    return {(row[0], row[2]): (row[1], _state_of_row(row[1:])) for row in rows}


def state_of(mode: ContactMode) -> ModeState:
    return ModeState(
        mode.number,
        mode.number_e164,
        mode.number_national,
        mode.number_as_given,
        mode.has_consent,
        mode.consent_source,
        mode.consent_by,
        mode.consent_at,
        mode.time_zone,
        mode.window_start,
        mode.window_end,
    )


def lock_account(account_id: int) -> Account:
    """Lock the account row until the transaction ends: every change to one
    contact queues here (on SQLite the IMMEDIATE transaction already holds
    the database's write lock)."""
    account = Account.objects.select_for_update().filter(pk=account_id).first()
    if account is None:
        raise errors.UnknownAccount(f"Unknown account id {account_id}.")
    return account


def mode_type(mode_id: int) -> ModeType:
    mode_type = ModeType.objects.filter(pk=mode_id).first()
    if mode_type is None:
        raise unknown_mode_type(mode_id)
    return mode_type


def unknown_mode_type(mode_id: int) -> errors.UnknownModeType:
    return errors.UnknownModeType(
        f"ModeID {mode_id} is not a defined mode type.",
        fields={"ModeID": [f"ModeID {mode_id} is not defined."]},
    )


def clean_for(raw: str, mode_type: ModeType, account: Account, *, field: str = "ContactNumber"):
    """A number typed for a mode of `account`: cleaned within the mode
    type's bounds and identified with the account's country. A refusal names
    the field it came from."""
    try:
        return clean_for_mode(raw, mode_type, country=account.country)
    except errors.InvalidNumber as exc:
        raise errors.InvalidNumber(exc.message, fields={field: [exc.message]}) from None


def number_targets(
    live: Live, mode_id: int, clean: CleanNumber, as_given: str, *, delete_other_modes: bool
) -> dict[int, Target]:
    """SetNewModeNumber's change, whoever makes it (an agent, a supervisor):
    mode `mode_id` holds the number, and with `delete_other_modes` every
    other live mode goes."""
    targets = {mode_id: Target(with_number(live.state(mode_id), clean, as_given))}
    if delete_other_modes:
        targets.update({other: Target(None) for other in live.modes if other != mode_id})
    return targets


# --- Writing --------------------------------------------------------------------------

# Values are computed by the rules above; the statements only store them.
_WRITTEN = (*_STATE_COLUMNS, "changed_at", "changed_by")
# Add or replace the live mode of a slot in one statement: the partial
# unique index (one live mode per account and ModeID) is the conflict target.
_UPSERT = (
    f"INSERT INTO lcm_contactmode (account_id, mode_type_id, {', '.join(_WRITTEN)}, deleted_by) "  # noqa: S608
    f"VALUES (%s, %s, {', '.join(['%s'] * len(_WRITTEN))}, '') "
    "ON CONFLICT (account_id, mode_type_id) WHERE deleted_at IS NULL DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _WRITTEN)
)
_REVIVE = (
    "UPDATE lcm_contactmode SET deleted_at = NULL, deleted_by = '', "  # noqa: S608
    + ", ".join(f"{c} = %s" for c in _WRITTEN)
    + " WHERE id = %s"
)
# A new live mode, for a batch (write_batch): the upsert's columns.
_INSERTED = ("account_id", "mode_type_id", *_WRITTEN, "deleted_by")


def _values(state: ModeState, now, by: str, ops=None, db_now=None) -> list:
    """The stored columns' values (`_WRITTEN`) of `state`, changed at `now`
    by `by`. A batch passes the connection's `ops` and `now` adapted, once."""
    ops = ops or connection.ops
    return [
        state.number,
        state.e164,
        state.national,
        state.number_as_given,
        state.consent,
        state.consent_source,
        state.consent_by,
        ops.adapt_datetimefield_value(state.consent_at),
        state.time_zone,
        ops.adapt_timefield_value(state.window_start),
        ops.adapt_timefield_value(state.window_end),
        ops.adapt_datetimefield_value(now) if db_now is None else db_now,
        by,
    ]


@dataclass(frozen=True)
class Target:
    """What a slot must hold after the change: `state` (None: no live mode).
    `revive` names a deleted row to bring back as that state (a restore)."""

    state: ModeState | None
    revive: int | None = None
    settings_only: bool = False  # the same number, other settings: no do-not-call check


def do_not_call_refusals(
    live: Live, targets: dict[int, Target], *, now
) -> dict[int, errors.DoNotCall]:
    """The do-not-call check of `write`, by ModeID: every number a target
    would store (set, kept or brought back; not a settings-only change) that
    the list blocks on this account now. `write` refuses the first; a door
    asks it before a confirmation (the revert's page warns, mode by mode)."""
    refusals = {}
    for mode_id, target in sorted(targets.items()):
        if target.state is not None and not target.settings_only:
            if live.blocking == (target.state.clean, False):
                continue  # read with the live modes, under the lock: not blocked
            found = do_not_call.blocking(target.state.clean, account=live.account, now=now)
            if found is not None:
                refusals[mode_id] = do_not_call.refusal(
                    target.state.clean, found[1], entry_id=found[0]
                )
    return refusals


def write(
    *,
    live: Live,
    targets: dict[int, Target],
    main_mode_id: int,
    by: str,
    entry: ModeChange,
) -> ModeChange:
    """Apply `targets` (ModeID → Target) to the locked account of `live`,
    then append `entry` recording every touched mode before and after.

    Every number a target stores (set, kept or brought back; not a
    settings-only change) is checked against the do-not-call list first; a
    refusal writes nothing. Statements: one
    soft delete for all the slots to empty, one UPDATE per revived row, one
    upsert per slot that gets a state; then the audit append.
    """
    now = timezone.now()
    refusals = do_not_call_refusals(live, targets, now=now)
    if refusals:
        raise refusals[min(refusals)]

    emptied = [
        mode_id
        for mode_id, target in targets.items()
        if mode_id in live.modes and (target.state is None or target.revive)
    ]
    db_now = connection.ops.adapt_datetimefield_value(now)
    with cursors.cursor() as cursor:
        if emptied:
            marks = ", ".join(["%s"] * len(emptied))
            cursor.execute(
                "UPDATE lcm_contactmode SET deleted_at = %s, deleted_by = %s "  # noqa: S608
                f"WHERE account_id = %s AND deleted_at IS NULL AND mode_type_id IN ({marks})",
                [db_now, by, live.account.pk, *sorted(emptied)],
            )
        for mode_id, target in sorted(targets.items()):
            if target.state is None:
                continue
            values = _values(target.state, now, by)
            if target.revive:
                cursor.execute(_REVIVE, [*values, target.revive])
            else:
                cursor.execute(_UPSERT, [live.account.pk, mode_id, *values])
    _describe(entry, live, targets, main_mode_id)
    return append_entry(entry)


def _describe(entry: ModeChange, live: Live, targets: dict[int, Target], main_mode_id: int):
    """Fill the entry: its headline (mode, old and new number, the other
    modes deleted) and `modes`, the before and after of every touched mode."""
    touched = []
    deleted = []
    for mode_id in sorted(targets):
        before = live.state(mode_id)
        after = targets[mode_id].state
        if before is None and after is None:
            continue
        touched.append(
            {
                "mode_id": mode_id,
                "before": before.audit() if before else None,
                "after": after.audit() if after else None,
            }
        )
        if mode_id != main_mode_id and after is None:
            deleted.append({"mode_id": mode_id, "number": before.number})
    main_before = live.state(main_mode_id)
    main_after = targets[main_mode_id].state if main_mode_id in targets else main_before
    entry.account = live.account
    entry.account_number = live.account.account_number
    entry.mode_id = main_mode_id
    entry.old_number = main_before.number if main_before else ""
    entry.new_number = main_after.number if main_after else ""
    entry.new_number_e164 = main_after.e164 if main_after else ""
    entry.deleted_modes = deleted
    entry.modes = touched


def erase_numbers(account: Account, *, by: str, now) -> int:
    """Erasure (lcm.actions.erasure): the account's live modes deleted and
    the numbers of all its modes blanked. Not a change of state the log
    replays: the erase entry, appended by the caller, records it. Returns
    how many rows were blanked."""
    rows = ContactMode.objects.filter(account=account)
    rows.filter(deleted_at__isnull=True).update(deleted_at=now, deleted_by=by)
    return rows.update(number="", number_as_given="", number_e164="", number_national="")


# --- The batch entry point (imports) ---------------------------------------------


@dataclass(frozen=True)
class BatchChange:
    """One mode of one account in a batch: its live row (`live_batch`'s
    (pk, state); None: none) and the state the batch gives it.

    `entry`: no longer used for what it holds but who made the change, for
    callers written before `write_batch` took `author` (its action, user,
    username and source, which every change of a batch must share); it is
    never inserted. Pass `author` to `write_batch` instead."""

    account: Account
    mode_id: int
    before: tuple[int, ModeState] | None
    after: ModeState
    entry: ModeChange | None = None


def _author_of(changes: list[BatchChange]) -> BatchAuthor:
    """The batch's author from its changes' `entry` (the older interface)."""
    if any(c.entry is None for c in changes):
        raise ValueError("write_batch: pass author=, or give every change an entry")
    authors = {(c.entry.action, c.entry.user_id, c.entry.username, c.entry.source) for c in changes}
    if len(authors) != 1:
        raise ValueError("write_batch: pass author=, or give every change the same entry author")
    action, user_id, username, source = authors.pop()
    return BatchAuthor(action=action, user_id=user_id, username=username, source=source)


def write_batch(
    changes: Iterable[BatchChange], *, by: str, author: BatchAuthor | None = None
) -> list[Appended]:
    """Apply many slot changes of locked accounts at once (an import batch):
    the same states, stored by the same columns and values as `write`, and
    the same audit entries, with a fixed number of statements per batch
    (one insert of the new modes, COPY on PostgreSQL; one statement for the
    changed ones; one append). Callers have refused do-not-call numbers
    (`do_not_call.blocking_rows`) and decided each state with the rules
    above.

    `author`: who made every entry of the batch (`lcm.audit.BatchAuthor`:
    action `import`, the user, the source app). The entries are appended as
    rows, not model instances (`lcm.audit.append_rows`, format 3); returns
    one `lcm.audit.Appended` (`seq`, `account_id`, `hash`) per change, in
    order."""
    changes = list(changes)
    if author is None:
        author = _author_of(changes) if changes else BatchAuthor(action=ModeChange.Action.IMPORT)
    now = timezone.now()
    ops = connection.ops
    db_now = ops.adapt_datetimefield_value(now)
    added, changed, subjects = [], [], []
    for change in changes:
        pk, before = change.before or (None, None)
        after = change.after
        values = _values(after, now, by, ops, db_now)
        account = change.account
        account_id = account.pk
        if pk is None:
            added.append((account_id, change.mode_id, *values, ""))
        else:
            # A live row: the revive's statement, whose deletion columns it
            # already holds (NULL, ''), stores the state.
            changed.append((*values, pk))
        # The entry `_describe` would make of this one slot: no other mode deleted.
        subjects.append(
            (
                account_id,
                account.account_number,
                change.mode_id,
                before.number if before else "",
                after.number,
                after.e164,
                [
                    {
                        "mode_id": change.mode_id,
                        "before": before.audit() if before else None,
                        "after": after.audit(),
                    }
                ],
            )
        )
    bulk.insert_rows("lcm_contactmode", _INSERTED, added)
    if changed:
        with connection.cursor() as cursor:
            cursor.executemany(_REVIVE, changed)
    if connection.vendor == "postgresql":
        # The foreign-key checks of the batch's accounts and modes, deferred
        # to COMMIT by Django, run now, before the append takes the audit
        # chain's head that every other audited change waits for: about 25
        # of an import transaction's ~70 ms hold (docs/benchmarks.md).
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    return append_rows(author, subjects)
