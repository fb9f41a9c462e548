"""The supervisors' console: changes to numbers from the admin.

The same rules, lock and audit as the API (everything goes through the
mode kernel, `modes.write`), with the supervisor as the actor and `admin`
as the source. Each console form carries the account's latest audit `seq`
when it was rendered (`latest_seq`); a change submitted after another
change to the same account is refused (`errors.StaleForm`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from lcm import dialable, errors
from lcm.models import Account, ContactMode, ModeChange

from . import RequestContext, modes, permissions

ADMIN_SOURCE = "admin"
ADMIN_CONTEXT = RequestContext(source=ADMIN_SOURCE)
CHANGE_MODES = permissions.CHANGE_MODES


def latest_seq(account: Account | int) -> int:
    """The `seq` of the account's newest audit entry (0 when it has none)."""
    account_id = account.pk if isinstance(account, Account) else account
    seq = (
        ModeChange.objects.filter(account_id=account_id)
        .order_by("-seq")
        .values_list("seq", flat=True)
        .first()
    )
    return seq or 0


def _refuse_stale(account: Account, expected_seq: int | None) -> None:
    """Under the account lock: refuse a form rendered before the latest change."""
    if expected_seq is None:
        return
    current = latest_seq(account)
    if current != expected_seq:
        raise errors.StaleForm(
            errors.STALE_FORM.format(account=account.account_number, seq=current)
        )


def _entry(action: str, actor: AbstractBaseUser, context: RequestContext, **fields) -> ModeChange:
    return ModeChange(
        action=action,
        user=actor,
        username=actor.get_username(),
        source=context.source or ADMIN_SOURCE,
        client_ip=context.client_ip,
        request_id=context.request_id,
        **fields,
    )


def _locked(account_id: int, expected_seq: int | None) -> modes.Live:
    account = modes.lock_account(account_id)
    _refuse_stale(account, expected_seq)
    return modes.live_states(account)


@transaction.atomic
def set_mode_number_as_supervisor(
    *,
    account_id: int,
    mode_id: int,
    contact_number: str,
    delete_other_modes: bool,
    actor: AbstractBaseUser,
    expected_seq: int | None,
    context: RequestContext = ADMIN_CONTEXT,
) -> ModeChange:
    """SetNewModeNumber from the admin: no call and no agent, the supervisor
    is the actor. Same number rules, do-not-call list, lock and single audit
    entry as `agent_requests.set_new_mode_number`."""
    permissions.require(actor, CHANGE_MODES)
    mode_type = modes.mode_type(mode_id)
    live = _locked(account_id, expected_seq)
    clean = modes.clean_for(contact_number, mode_type, live.account)
    return modes.write(
        live=live,
        targets=modes.number_targets(
            live, mode_id, clean, contact_number, delete_other_modes=delete_other_modes
        ),
        main_mode_id=mode_id,
        by=actor.get_username(),
        entry=_entry(ModeChange.Action.SET, actor, context),
    )


def set_number_refusal(
    *, account_id: int, mode_id: int, contact_number: str, delete_other_modes: bool
) -> errors.LcmError | None:
    """What `set_mode_number_as_supervisor` would refuse now, asked before
    its confirmation page (no lock, nothing written): the mode type, the
    number's rules and the kernel's do-not-call check, the same functions
    it calls. None: nothing (a stale form or a change made meanwhile is
    still caught when it runs)."""
    try:
        mode_type = modes.mode_type(mode_id)
        live = modes.live_states(Account.objects.get(pk=account_id))
        clean = modes.clean_for(contact_number, mode_type, live.account)
    except errors.LcmError as exc:
        return exc
    targets = modes.number_targets(
        live, mode_id, clean, contact_number, delete_other_modes=delete_other_modes
    )
    refusals = modes.do_not_call_refusals(live, targets, now=timezone.now())
    return refusals[min(refusals)] if refusals else None


@transaction.atomic
def change_mode_settings(
    *,
    account_id: int,
    mode_id: int,
    consent: bool,
    time_zone: str,
    window: tuple[dt.time, dt.time] | None,
    actor: AbstractBaseUser,
    expected_seq: int | None,
    context: RequestContext = ADMIN_CONTEXT,
) -> ModeChange:
    """A supervisor grants or withdraws consent (PEWC) for a live mode, or
    overrides its time zone and calling window (empty: derived again). One
    audit entry (action `settings`) with the mode's state before and after."""
    permissions.require(actor, CHANGE_MODES)
    live = _locked(account_id, expected_seq)
    before = live.state(mode_id)
    if before is None:
        raise errors.NoLiveMode(errors.NO_LIVE_MODE.format(mode_id=mode_id))
    try:
        time_zone = dialable.validate_time_zone(time_zone) if time_zone else ""
        if window is not None:
            window = dialable.validate_window(*window)
    except ValueError as exc:
        field = "time_zone" if "zone" in str(exc) else "window_end"
        raise errors.InvalidInput(str(exc), fields={field: [str(exc)]}) from None
    by = actor.get_username()
    state = modes.with_consent(
        before, consent, source=ContactMode.ConsentSource.SUPERVISOR, by=by, at=timezone.now()
    )
    state = modes.with_settings(state, time_zone=time_zone, window=window)
    if state == before:
        raise errors.NothingChanged(errors.NOTHING_CHANGED.format(mode_id=mode_id))
    return modes.write(
        live=live,
        targets={mode_id: modes.Target(state, settings_only=True)},
        main_mode_id=mode_id,
        by=by,
        entry=_entry(ModeChange.Action.SETTINGS, actor, context),
    )


# --- Revert -------------------------------------------------------------------------

Numbers = dict[int, str | None]  # ModeID → number, None: no live mode


def entry_effect(entry: ModeChange) -> tuple[Numbers, Numbers]:
    """What one audit entry did: the numbers of the modes it touched, before
    and after. Entries record it (`modes`); entries written before they did
    are read by `_legacy_effect`."""
    if entry.modes is not None:
        before = {m["mode_id"]: (m["before"] or {}).get("number") for m in entry.modes}
        after = {m["mode_id"]: (m["after"] or {}).get("number") for m in entry.modes}
        return before, after
    return _legacy_effect(entry)


def _legacy_effect(entry: ModeChange) -> tuple[Numbers, Numbers]:
    """An entry without `modes`: its headline fields, and for a revert, the
    before of the entry it reverts. A mode that already held its number then
    was left alone, not touched: the log before the entry tells."""
    before: Numbers = {entry.mode_id: entry.old_number or None}
    after: Numbers = {entry.mode_id: entry.new_number or None}
    for deleted in entry.deleted_modes:
        before[deleted["mode_id"]] = deleted["number"]
        after[deleted["mode_id"]] = None
    if entry.action == ModeChange.Action.REVERT and entry.reverts_id:
        put_back, _ = entry_effect(entry.reverts)
        for mode_id, number in put_back.items():
            if (
                mode_id not in before
                and number is not None
                and _number_before(entry, mode_id) == number
            ):
                continue
            before.setdefault(mode_id, None)
            after[mode_id] = number
    return before, after


def _number_before(entry: ModeChange, mode_id: int) -> str | None:
    """The number mode `mode_id` held just before a legacy `entry`, by the
    audit log: what the latest earlier entry touching that mode left."""
    earlier = (
        ModeChange.objects.filter(account_id=entry.account_id, seq__lt=entry.seq)
        .select_related("reverts")
        .order_by("-seq")
    )
    for other in earlier.iterator(chunk_size=100):
        _, after = entry_effect(other)
        if mode_id in after:
            return after[mode_id]
    return None


def _states_before(entry: ModeChange, account: Account) -> dict[int, modes.ModeState | None]:
    """The state of each mode `entry` touched, just before it."""
    if entry.modes is not None:
        return {
            m["mode_id"]: _recorded_state(m["before"], m["mode_id"], account) for m in entry.modes
        }
    before, _ = _legacy_effect(entry)
    return {
        mode_id: None if number is None else _state_for_number(number, mode_id, account)
        for mode_id, number in before.items()
    }


def _recorded_state(data: dict | None, mode_id: int, account: Account) -> modes.ModeState | None:
    if data is None:
        return None
    # The national key is derived, not recorded: identify the number again.
    clean = _state_for_number(data["number"], mode_id, account).clean
    state = modes.state_from_audit(data, national=clean.national)
    return state


def _state_for_number(number: str, mode_id: int, account: Account) -> modes.ModeState:
    """A legacy entry records only a number: the state it had is that of
    the newest deleted row holding it (kept consent), else a bare one."""
    row = _deleted_row(account, mode_id, number)
    if row is not None:
        return modes.state_of(row)
    clean = modes.clean_for(number, modes.mode_type(mode_id), account)
    return modes.ModeState(clean.number, clean.e164, clean.national, number_as_given=number)


def _deleted_row(account: Account, mode_id: int, number: str) -> ContactMode | None:
    return (
        ContactMode.objects.filter(
            account=account, mode_type_id=mode_id, number=number, deleted_at__isnull=False
        )
        .order_by("-deleted_at", "-pk")
        .first()
    )


@dataclass(frozen=True)
class RevertPlan:
    """What reverting `entry` would do now: `changes` lists
    (ModeID, number now, number after) for each mode that would change;
    `superseded_by` the later entries that touched the same modes;
    `blocked` the modes whose number the revert would put back but the
    do-not-call list blocks (ModeID → the refusal `modes.write` would give:
    the same check, asked before the confirmation)."""

    entry: ModeChange
    target: dict[int, modes.ModeState | None]
    changes: list[tuple[int, str | None, str | None]]
    superseded_by: list[ModeChange]
    blocked: dict[int, errors.DoNotCall]

    @property
    def unblocked_changes(self) -> list[tuple[int, str | None, str | None]]:
        """The changes a revert that leaves the blocked modes alone makes."""
        return [change for change in self.changes if change[0] not in self.blocked]


def _same(a: modes.ModeState | None, b: modes.ModeState | None) -> bool:
    return (a.audit() if a else None) == (b.audit() if b else None)


def plan_revert(entry: ModeChange, live: modes.Live | None = None) -> RevertPlan:
    """Read-only: the confirmation page shows it, and the revert re-plans it
    under the account lock before acting."""
    account = live.account if live else entry.account
    live = live or modes.live_states(account)
    target = _states_before(entry, account)
    changes = [
        (
            mode_id,
            live.state(mode_id).number if live.state(mode_id) else None,
            state.number if state else None,
        )
        for mode_id, state in sorted(target.items())
        if not _same(live.state(mode_id), state)
    ]
    later = ModeChange.objects.filter(account_id=entry.account_id, seq__gt=entry.seq)
    superseded_by = [
        other
        for other in later.select_related("reverts").order_by("seq")
        if set(entry_effect(other)[1]) & set(target)
    ]
    targets = _revert_targets(target, changes, live)
    blocked = modes.do_not_call_refusals(live, targets, now=timezone.now())
    return RevertPlan(
        entry=entry,
        target=target,
        changes=changes,
        superseded_by=superseded_by,
        blocked=blocked,
    )


def _revert_targets(
    target: dict[int, modes.ModeState | None],
    changes: list[tuple[int, str | None, str | None]],
    live: modes.Live,
) -> dict[int, modes.Target]:
    """What the revert writes, mode by mode (the kernel's targets)."""
    targets = {}
    for mode_id, _now, _after in changes:
        state = target[mode_id]
        current = live.state(mode_id)
        if state is None:
            targets[mode_id] = modes.Target(None)
        elif current is not None and current.identity == state.identity:
            targets[mode_id] = modes.Target(state)  # the same number: its settings back
        else:
            row = _deleted_row(live.account, mode_id, state.number)
            targets[mode_id] = modes.Target(state, revive=row.pk if row else None)
    return targets


@transaction.atomic
def revert_mode_change(
    *,
    change_id: int,
    actor: AbstractBaseUser,
    expected_seq: int | None,
    confirm_superseded: bool = False,
    leave_blocked: bool = False,
    context: RequestContext = ADMIN_CONTEXT,
) -> ModeChange:
    """Undo one audit entry: every mode it touched gets back the state it
    recorded before it (a deleted one comes back as the newest deleted row
    holding that number, a mode it added is deleted), as one new entry with
    action `revert` naming it in `reverts`. Refused when later entries
    touched the same modes, unless `confirm_superseded`; refused when a
    number it puts back is on the do-not-call list, unless `leave_blocked`:
    then those modes keep what they hold, and the rest is reverted."""
    permissions.require(actor, CHANGE_MODES)
    entry = ModeChange.objects.select_related("reverts").filter(pk=change_id).first()
    if entry is None:
        raise errors.UnknownModeChange(errors.UNKNOWN_MODE_CHANGE.format(ref=change_id))
    if not entry.changes_modes:
        raise errors.NothingToRevert(
            errors.NOT_A_MODE_CHANGE.format(seq=entry.seq, action=entry.get_action_display())
        )
    live = _locked(entry.account_id, expected_seq)
    # A revert that was itself reverted no longer counts: E can be undone again.
    done = (
        entry.reverted_by.filter(reverted_by__isnull=True)
        .order_by("seq")
        .values_list("seq", flat=True)
        .first()
    )
    if done is not None:
        raise errors.AlreadyReverted(errors.ALREADY_REVERTED.format(seq=entry.seq, by=done))
    plan = plan_revert(entry, live)
    if plan.superseded_by and not confirm_superseded:
        raise errors.Superseded(
            errors.SUPERSEDED.format(
                seq=entry.seq, seqs=", ".join(f"#{e.seq}" for e in plan.superseded_by)
            )
        )
    changes = plan.unblocked_changes if leave_blocked else plan.changes
    if not changes and plan.blocked:
        raise plan.blocked[min(plan.blocked)]  # nothing left but what the list blocks
    if not changes:
        raise errors.NothingToRevert(errors.NOTHING_TO_REVERT.format(seq=entry.seq))
    targets = _revert_targets(plan.target, changes, live)
    # The headline names the entry's own mode, unless the revert left it alone.
    main = entry.mode_id if entry.mode_id in targets else min(targets)
    return modes.write(
        live=live,
        targets=targets,
        main_mode_id=main,
        by=actor.get_username(),
        entry=_entry(ModeChange.Action.REVERT, actor, context, reverts=entry),
    )


@transaction.atomic
def restore_mode(
    *,
    mode_pk: int,
    actor: AbstractBaseUser,
    expected_seq: int | None,
    replace: bool = False,
    context: RequestContext = ADMIN_CONTEXT,
) -> ModeChange:
    """Bring a soft-deleted mode back, with its number, consent and settings.
    When a live mode holds the same ModeID, refused unless `replace` (then
    that one is soft-deleted, its number kept as the entry's `old_number`)."""
    permissions.require(actor, CHANGE_MODES)
    account_id = ContactMode.objects.filter(pk=mode_pk).values_list("account_id", flat=True).first()
    if account_id is None:
        raise errors.NothingToRestore(errors.NOTHING_TO_RESTORE.format(account="?"))
    live = _locked(account_id, None)
    mode = ContactMode.objects.get(pk=mode_pk)  # read again, under the lock
    if mode.deleted_at is None:
        raise errors.NothingToRestore(
            errors.NOTHING_TO_RESTORE.format(account=live.account.account_number)
        )
    _refuse_stale(live.account, expected_seq)
    current = live.state(mode.mode_type_id)
    if current is not None and not replace:
        raise errors.ModeSlotTaken(
            errors.MODE_SLOT_TAKEN.format(
                mode_id=mode.mode_type_id, number=current.number, restored=mode.number
            )
        )
    return modes.write(
        live=live,
        targets={mode.mode_type_id: modes.Target(modes.state_of(mode), revive=mode.pk)},
        main_mode_id=mode.mode_type_id,
        by=actor.get_username(),
        entry=_entry(ModeChange.Action.RESTORE, actor, context),
    )
