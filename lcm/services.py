"""Domain actions. One function per action, each one transaction.

Views, admin actions, commands and tests call these; nothing else writes a
contact mode or an audit entry.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from . import errors
from .audit import append_entry
from .models import Account, Agent, Call, ContactMode, DoNotCallNumber, ModeChange, ModeType
from .numbers import CleanNumber, clean_for_mode

ACT_FOR_ANY_AGENT = "lcm.act_for_any_agent"


@dataclass(frozen=True)
class RequestContext:
    """Where a change came from, for the audit entry."""

    source: str = ""
    client_ip: str | None = None
    request_id: str = ""


def may_act_for_agent(user: AbstractBaseUser | AnonymousUser, agent: Agent) -> bool:
    """An agent's own user acts as that agent; a holder of
    `lcm.act_for_any_agent` (an integration account) acts for anyone."""
    return agent.user_id == user.pk or user.has_perm(ACT_FOR_ANY_AGENT)


def _mode_type(mode_id: int) -> ModeType:
    try:
        return ModeType.objects.get(pk=mode_id)
    except ModeType.DoesNotExist:
        raise errors.UnknownModeType(
            f"ModeID {mode_id} is not a defined mode type.",
            fields={"ModeID": [f"ModeID {mode_id} is not defined."]},
        ) from None


def _clean(raw: str, mode_type: ModeType) -> CleanNumber:
    try:
        return clean_for_mode(raw, mode_type)
    except errors.InvalidNumber as exc:
        raise errors.InvalidNumber(exc.message, fields={"ContactNumber": [exc.message]}) from None


def _refuse_do_not_call(number: str) -> None:
    if DoNotCallNumber.objects.filter(number=number).exists():
        raise errors.DoNotCall(f"Number {number} is on the do-not-call list.")


def _load_call_locking_account(*, callid: str, account_number: str, agent_id: str, actor) -> Call:
    """Read call, agent and account in one query, locking the account row.

    The lock (`FOR UPDATE OF` the account) serialises every change to one
    contact: a second request on the same account waits here, then sees the
    first one's modes. The error branches may spend extra queries; the
    happy path does not.
    """
    call = (
        Call.objects.select_related("account", "agent")
        .select_for_update(of=("account",))
        .filter(callid=callid)
        .first()
    )
    if call is None:
        raise errors.UnknownCall(callid)

    if call.agent.agent_id == agent_id:
        agent = call.agent
    else:
        agent = Agent.objects.filter(agent_id=agent_id).first()
    if agent is None:
        if not actor.has_perm(ACT_FOR_ANY_AGENT):
            raise errors.NotAllowed(f"You may not act for agent {agent_id}.")
        raise errors.UnknownAgent(f"Unknown AgentID: {agent_id}")
    if not may_act_for_agent(actor, agent):
        raise errors.NotAllowed(f"You may not act for agent {agent_id}.")

    if call.account.account_number != account_number:
        if not Account.objects.filter(account_number=account_number).exists():
            raise errors.UnknownAccount(f"Unknown AccountNumber: {account_number}")
        raise errors.CallAccountMismatch(
            f"Call {callid} is not on account {account_number}.",
            msg="This call belongs to another account.",
        )
    if call.agent_id != agent.pk:
        raise errors.CallAgentMismatch(
            f"Call {callid} is not handled by agent {agent_id}.",
            msg="This call belongs to another agent.",
        )
    if call.state != Call.State.ACTIVE and not agent.is_logged_in:
        raise errors.PrerequisiteFailed(
            f"Call {callid} is {call.get_state_display().lower()} and agent {agent_id} "
            "is not logged in.",
            msg="The agent must be on an active call or logged in.",
        )
    return call


@transaction.atomic
def set_new_mode_number(
    *,
    callid: str,
    account_number: str,
    mode_id: int,
    contact_number: str,
    delete_other_modes: bool,
    agent_id: str,
    actor: AbstractBaseUser,
    context: RequestContext = RequestContext(),
) -> ModeChange:
    """SetNewModeNumber: store `contact_number` in mode `mode_id` of the
    account, optionally soft-deleting its other live modes, and audit it.

    Order of checks: input (400), call, identity, account, agent and
    pre-requisite (404/403/409), do-not-call (409); then the writes. Any
    refusal raises an `errors.LcmError` and the transaction writes nothing.
    """
    if not callid or not callid.strip():
        raise errors.CallidEmpty(fields={"callid": ["This field may not be blank."]})
    mode_type = _mode_type(mode_id)
    clean = _clean(contact_number, mode_type)

    call = _load_call_locking_account(
        callid=callid, account_number=account_number, agent_id=agent_id, actor=actor
    )
    _refuse_do_not_call(clean.number)

    return _write_mode(
        account=call.account,
        mode_type=mode_type,
        clean=clean,
        number_as_given=contact_number,
        delete_other_modes=delete_other_modes,
        changed_by=call.agent.agent_id,
        entry=ModeChange(
            action=ModeChange.Action.SET,
            call=call,
            callid=call.callid,
            agent=call.agent,
            agent_code=call.agent.agent_id,
            user=actor,
            username=actor.get_username(),
            source=context.source,
            client_ip=context.client_ip,
            request_id=context.request_id,
        ),
    )


def _write_mode(
    *,
    account: Account,
    mode_type: ModeType,
    clean: CleanNumber,
    number_as_given: str,
    delete_other_modes: bool,
    changed_by: str,
    entry: ModeChange,
) -> ModeChange:
    """Add or change one mode, soft-delete the others if asked, append the
    audit entry. The caller holds the account lock.

    One read of the live modes, whatever their count; at most one UPDATE for
    all the deleted ones.
    """
    now = timezone.now()
    live = {m.mode_type_id: m for m in ContactMode.objects.filter(account=account, deleted_at=None)}
    mode = live.pop(mode_type.id, None)
    old_number = mode.number if mode else ""
    if mode is None:
        mode = ContactMode(account=account, mode_type=mode_type)
    if mode.number != clean.number:
        # Consent belongs to a number, not a slot: a changed number has none.
        mode.has_consent = False
    mode.number = clean.number
    mode.number_as_given = number_as_given
    mode.number_e164 = clean.e164
    mode.changed_at = now
    mode.changed_by = changed_by
    mode.save()

    deleted = []
    if delete_other_modes and live:
        ContactMode.objects.filter(pk__in=[m.pk for m in live.values()]).update(
            deleted_at=now, deleted_by=changed_by
        )
        deleted = [{"mode_id": m.mode_type_id, "number": m.number} for m in live.values()]

    entry.account = account
    entry.account_number = account.account_number
    entry.mode_id = mode_type.id
    entry.old_number = old_number
    entry.new_number = clean.number
    entry.new_number_e164 = clean.e164
    entry.deleted_modes = sorted(deleted, key=lambda d: d["mode_id"])
    return append_entry(entry)


# --- The supervisors' console ------------------------------------------------
# The admin's changes to numbers: the same rules, lock and audit as the API,
# with the supervisor as the actor. Each form carries the account's latest
# audit `seq` when it was rendered (`latest_seq`); a change submitted after
# another change to the same account is refused (`errors.StaleForm`).

CHANGE_MODES = "lcm.change_contactmode"
ADMIN_SOURCE = "admin"


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


def _require_change_modes(actor: AbstractBaseUser) -> None:
    if not actor.has_perm(CHANGE_MODES):
        raise errors.NotAllowed(errors.MAY_NOT_CHANGE_MODES)


def _lock_account(account_id: int) -> Account:
    account = Account.objects.select_for_update().filter(pk=account_id).first()
    if account is None:
        raise errors.UnknownAccount(f"Unknown account id {account_id}.")
    return account


def _refuse_stale(account: Account, expected_seq: int | None) -> None:
    """Under the account lock: refuse a form rendered before the latest change."""
    if expected_seq is None:
        return
    current = latest_seq(account)
    if current != expected_seq:
        raise errors.StaleForm(
            errors.STALE_FORM.format(account=account.account_number, seq=current)
        )


def _supervisor_entry(
    action: str, actor: AbstractBaseUser, context: RequestContext, **fields
) -> ModeChange:
    return ModeChange(
        action=action,
        user=actor,
        username=actor.get_username(),
        source=context.source or ADMIN_SOURCE,
        client_ip=context.client_ip,
        request_id=context.request_id,
        **fields,
    )


@transaction.atomic
def set_mode_number_as_supervisor(
    *,
    account_id: int,
    mode_id: int,
    contact_number: str,
    delete_other_modes: bool,
    actor: AbstractBaseUser,
    expected_seq: int | None,
    context: RequestContext = RequestContext(source=ADMIN_SOURCE),
) -> ModeChange:
    """SetNewModeNumber from the admin: no call and no agent, the supervisor
    is the actor. Same number rules, do-not-call list, lock and single audit
    entry as `set_new_mode_number`."""
    _require_change_modes(actor)
    mode_type = _mode_type(mode_id)
    clean = _clean(contact_number, mode_type)
    account = _lock_account(account_id)
    _refuse_stale(account, expected_seq)
    _refuse_do_not_call(clean.number)
    return _write_mode(
        account=account,
        mode_type=mode_type,
        clean=clean,
        number_as_given=contact_number,
        delete_other_modes=delete_other_modes,
        changed_by=actor.get_username(),
        entry=_supervisor_entry(ModeChange.Action.SET, actor, context),
    )


Numbers = dict[int, str | None]  # ModeID → number, None: no live mode


def entry_effect(entry: ModeChange) -> tuple[Numbers, Numbers]:
    """What one audit entry did: the numbers of the modes it touched, before
    and after. A revert entry put back the `before` of the entry it reverts
    (its `reverts`), having soft-deleted its `deleted_modes` to make room."""
    before: Numbers = {entry.mode_id: entry.old_number or None}
    after: Numbers = {entry.mode_id: entry.new_number or None}
    for deleted in entry.deleted_modes:
        before[deleted["mode_id"]] = deleted["number"]
        after[deleted["mode_id"]] = None
    if entry.action == ModeChange.Action.REVERT and entry.reverts_id:
        put_back, _ = entry_effect(entry.reverts)
        for mode_id, number in put_back.items():
            before.setdefault(mode_id, None)
            after[mode_id] = number
    return before, after


@dataclass(frozen=True)
class RevertPlan:
    """What reverting `entry` would do now: `changes` lists
    (ModeID, number now, number after) for each mode that would change;
    `superseded_by` the later entries that touched the same modes."""

    entry: ModeChange
    target: Numbers
    changes: list[tuple[int, str | None, str | None]]
    superseded_by: list[ModeChange]


def plan_revert(entry: ModeChange) -> RevertPlan:
    """Read-only: the confirmation page shows it, the service re-plans it
    under the account lock before acting."""
    target, _ = entry_effect(entry)
    live = dict(
        ContactMode.objects.filter(
            account_id=entry.account_id, deleted_at=None, mode_type_id__in=list(target)
        ).values_list("mode_type_id", "number")
    )
    changes = [
        (mode_id, live.get(mode_id), number)
        for mode_id, number in sorted(target.items())
        if live.get(mode_id) != number
    ]
    later = ModeChange.objects.filter(account_id=entry.account_id, seq__gt=entry.seq)
    superseded_by = [
        other
        for other in later.select_related("reverts").order_by("seq")
        if set(entry_effect(other)[1]) & set(target)
    ]
    return RevertPlan(entry=entry, target=target, changes=changes, superseded_by=superseded_by)


def _revive_or_create(
    *, account: Account, mode_id: int, number: str, now, changed_by: str
) -> ContactMode:
    """Bring back the newest deleted row holding `number` in that mode (it
    keeps its consent), or create one when none is left."""
    mode = (
        ContactMode.objects.filter(
            account=account, mode_type_id=mode_id, number=number, deleted_at__isnull=False
        )
        .order_by("-deleted_at", "-pk")
        .first()
    )
    if mode is None:
        clean = _clean(number, _mode_type(mode_id))
        mode = ContactMode(
            account=account,
            mode_type_id=mode_id,
            number=clean.number,
            number_as_given=number,
            number_e164=clean.e164,
        )
    mode.deleted_at = None
    mode.deleted_by = ""
    mode.changed_at = now
    mode.changed_by = changed_by
    mode.save()
    return mode


@transaction.atomic
def revert_mode_change(
    *,
    change_id: int,
    actor: AbstractBaseUser,
    expected_seq: int | None,
    confirm_superseded: bool = False,
    context: RequestContext = RequestContext(source=ADMIN_SOURCE),
) -> ModeChange:
    """Undo one audit entry: put its mode's old number back (or delete the
    mode it added) and restore the modes it deleted, as one new entry with
    action `revert` naming it in `reverts`.

    The new entry reads: mode `mode_id` went from `old_number` to
    `new_number` (empty: the mode was deleted); `deleted_modes` are the live
    modes soft-deleted to make room for restored ones; the restored modes are
    those the reverted entry deleted. Refused when later entries touched the
    same modes, unless `confirm_superseded`.
    """
    _require_change_modes(actor)
    entry = ModeChange.objects.select_related("reverts").filter(pk=change_id).first()
    if entry is None:
        raise errors.UnknownModeChange(errors.UNKNOWN_MODE_CHANGE.format(ref=change_id))
    account = _lock_account(entry.account_id)
    _refuse_stale(account, expected_seq)
    # A revert that was itself reverted no longer counts: E can be undone again.
    done = (
        entry.reverted_by.filter(reverted_by__isnull=True)
        .order_by("seq")
        .values_list("seq", flat=True)
        .first()
    )
    if done is not None:
        raise errors.AlreadyReverted(errors.ALREADY_REVERTED.format(seq=entry.seq, by=done))
    plan = plan_revert(entry)
    if plan.superseded_by and not confirm_superseded:
        raise errors.Superseded(
            errors.SUPERSEDED.format(
                seq=entry.seq, seqs=", ".join(f"#{e.seq}" for e in plan.superseded_by)
            )
        )
    if not plan.changes:
        raise errors.NothingToRevert(errors.NOTHING_TO_REVERT.format(seq=entry.seq))
    for _mode_id, _now, number in plan.changes:
        if number is not None:
            _refuse_do_not_call(number)

    now = timezone.now()
    changed_by = actor.get_username()
    live = {m.mode_type_id: m for m in ContactMode.objects.filter(account=account, deleted_at=None)}
    main = live.get(entry.mode_id)
    record = _supervisor_entry(
        ModeChange.Action.REVERT,
        actor,
        context,
        reverts=entry,
        account=account,
        account_number=account.account_number,
        mode_id=entry.mode_id,
        old_number=main.number if main else "",
        new_number=main.number if main else "",
        new_number_e164=main.number_e164 if main else "",
    )
    deleted = []
    for mode_id, _current, number in plan.changes:
        mode = live.get(mode_id)
        if mode_id == entry.mode_id:
            if number is None:
                mode.deleted_at, mode.deleted_by = now, changed_by
                mode.save(update_fields=["deleted_at", "deleted_by"])
            elif mode is not None:
                # The slot the entry changed in place: change it back in place.
                clean = _clean(number, _mode_type(mode_id))
                mode.number, mode.number_as_given, mode.number_e164 = number, number, clean.e164
                mode.has_consent = False
                mode.changed_at, mode.changed_by = now, changed_by
                mode.save()
            else:
                mode = _revive_or_create(
                    account=account, mode_id=mode_id, number=number, now=now, changed_by=changed_by
                )
            record.new_number = number or ""
            record.new_number_e164 = mode.number_e164 if number else ""
            continue
        if mode is not None:
            mode.deleted_at, mode.deleted_by = now, changed_by
            mode.save(update_fields=["deleted_at", "deleted_by"])
            deleted.append({"mode_id": mode_id, "number": mode.number})
        if number is not None:
            _revive_or_create(
                account=account, mode_id=mode_id, number=number, now=now, changed_by=changed_by
            )
    record.deleted_modes = sorted(deleted, key=lambda d: d["mode_id"])
    return append_entry(record)


@transaction.atomic
def restore_mode(
    *,
    mode_pk: int,
    actor: AbstractBaseUser,
    expected_seq: int | None,
    replace: bool = False,
    context: RequestContext = RequestContext(source=ADMIN_SOURCE),
) -> ModeChange:
    """Bring a soft-deleted mode back, with its number and consent. When a
    live mode holds the same ModeID, refused unless `replace` (then that one
    is soft-deleted, its number kept as the entry's `old_number`)."""
    _require_change_modes(actor)
    account_id = ContactMode.objects.filter(pk=mode_pk).values_list("account_id", flat=True).first()
    if account_id is None:
        raise errors.NothingToRestore(errors.NOTHING_TO_RESTORE.format(account="?"))
    account = _lock_account(account_id)
    mode = ContactMode.objects.get(pk=mode_pk)  # read again, under the lock
    if mode.deleted_at is None:
        raise errors.NothingToRestore(
            errors.NOTHING_TO_RESTORE.format(account=account.account_number)
        )
    _refuse_stale(account, expected_seq)
    _refuse_do_not_call(mode.number)
    live = ContactMode.objects.filter(
        account=account, mode_type_id=mode.mode_type_id, deleted_at=None
    ).first()
    if live is not None and not replace:
        raise errors.ModeSlotTaken(
            errors.MODE_SLOT_TAKEN.format(
                mode_id=mode.mode_type_id, number=live.number, restored=mode.number
            )
        )
    now = timezone.now()
    changed_by = actor.get_username()
    if live is not None:
        live.deleted_at, live.deleted_by = now, changed_by
        live.save(update_fields=["deleted_at", "deleted_by"])
    mode.deleted_at, mode.deleted_by = None, ""
    mode.changed_at, mode.changed_by = now, changed_by
    mode.save(update_fields=["deleted_at", "deleted_by", "changed_at", "changed_by"])
    return append_entry(
        _supervisor_entry(
            ModeChange.Action.RESTORE,
            actor,
            context,
            account=account,
            account_number=account.account_number,
            mode_id=mode.mode_type_id,
            old_number=live.number if live else "",
            new_number=mode.number,
            new_number_e164=mode.number_e164,
        )
    )


def may_read_contacts(user) -> bool:
    """Agents, integrations and staff with view rights may read numbers."""
    return (
        Agent.objects.filter(user_id=user.pk).exists()
        or user.has_perm(ACT_FOR_ANY_AGENT)
        or user.has_perm("lcm.view_contactmode")
    )


def contact_modes(*, account_number: str, callid: str | None, actor) -> list[ContactMode]:
    """GetContactModes: the live modes of an account, by ModeID.

    When a callid is given it must exist and be on that account. Readers
    are agents, integrations and users allowed to view contact modes.
    """
    if not may_read_contacts(actor):
        raise errors.NotAllowed("You may not read contact modes.")
    account = Account.objects.filter(account_number=account_number).first()
    if callid:
        call = Call.objects.filter(callid=callid).only("account_id").first()
        if call is None:
            raise errors.UnknownCall(callid)
        if account is not None and call.account_id != account.pk:
            raise errors.CallAccountMismatch(
                f"Call {callid} is not on account {account_number}.",
                msg="This call belongs to another account.",
            )
    if account is None:
        raise errors.UnknownAccount(f"Unknown AccountNumber: {account_number}")
    return list(
        ContactMode.objects.filter(account=account, deleted_at=None)
        .select_related("mode_type")
        .order_by("mode_type_id")
    )


# --- API tokens -----------------------------------------------------------------
# Not audited in the ModeChange chain (they change no number); each rotation
# and revocation is logged with who did it, never with a key.

token_log = logging.getLogger("lcm.tokens")


@transaction.atomic
def rotate_token(*, user: AbstractBaseUser, actor: AbstractBaseUser) -> Token:
    """Give `user` a new API token; the old key stops working at once.

    DRF's token key is its primary key, so a new key is a new row: the old
    one is deleted and a new one created in one transaction (a client
    racing the rotation sees either key, never none).
    """
    Token.objects.select_for_update().filter(user=user).delete()
    token = Token.objects.create(user=user)
    token_log.info("API token of %s rotated by %s", user.get_username(), actor.get_username())
    return token


@transaction.atomic
def revoke_token(*, user: AbstractBaseUser, actor: AbstractBaseUser) -> bool:
    """Delete `user`'s API token; False when there was none."""
    deleted, _ = Token.objects.filter(user=user).delete()
    if deleted:
        token_log.info("API token of %s revoked by %s", user.get_username(), actor.get_username())
    return bool(deleted)
