"""Domain actions. One function per action, each one transaction.

Views, admin actions, commands and tests call these; nothing else writes a
contact mode or an audit entry.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from . import errors
from .audit import append_entries, append_entry
from .conf import lcm_settings
from .imports import ImportRow, Rejected
from .models import (
    Account,
    Agent,
    AgentSessionEvent,
    Call,
    ContactMode,
    DoNotCallNumber,
    ModeChange,
    ModeType,
)
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
    return agent.user_id == user.pk or may_act_for_any_agent(user)


def may_act_for_any_agent(user: AbstractBaseUser | AnonymousUser) -> bool:
    """`user.has_perm("lcm.act_for_any_agent")`, remembered per user for
    `LCM_PERMISSION_CACHE_SECONDS`.

    The auth backend spends two queries (user and group permissions) on the
    first `has_perm` of each request; an integration account sends every
    request of a campaign, so the answer is kept in the cache. A permission
    granted or revoked takes effect within that time.
    """
    if not user.is_authenticated:
        return False
    timeout = lcm_settings.LCM_PERMISSION_CACHE_SECONDS
    if not timeout:
        return user.has_perm(ACT_FOR_ANY_AGENT)
    key = f"lcm:act_for_any_agent:{user.pk}:{user.get_username()}"
    allowed = cache.get(key)
    if allowed is None:
        allowed = user.has_perm(ACT_FOR_ANY_AGENT)
        cache.set(key, allowed, timeout)
    return allowed


def _mode_type(mode_id: int) -> ModeType:
    # Hand-written, as the rest of the hot path (see below): the ORM's
    # `ModeType.objects.get` compiles this same statement on every request.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, name, channel_type, min_length, max_length FROM lcm_modetype WHERE id = %s",
            [mode_id],
        )
        row = cursor.fetchone()
    if row is None:
        raise errors.UnknownModeType(
            f"ModeID {mode_id} is not a defined mode type.",
            fields={"ModeID": [f"ModeID {mode_id} is not defined."]},
        )
    return ModeType.from_db(
        connection.alias, ["id", "name", "channel_type", "min_length", "max_length"], row
    )


def _clean(raw: str, mode_type: ModeType) -> CleanNumber:
    try:
        return clean_for_mode(raw, mode_type)
    except errors.InvalidNumber as exc:
        raise errors.InvalidNumber(exc.message, fields={"ContactNumber": [exc.message]}) from None


def _refuse_do_not_call(number: str) -> None:
    if DoNotCallNumber.objects.filter(number=number).exists():
        raise errors.DoNotCall(f"Number {number} is on the do-not-call list.")


# The hot path's reads and writes are hand-written SQL, portable to SQLite
# and PostgreSQL: the ORM would issue the same statements, but building them
# costs several times the CPU that PostgreSQL spends running them (profile in
# docs/benchmarks.md). With server-side binding (config/settings.py) each is
# a prepared statement after its first uses on a connection.

# The call with its agent and account, and whether the new number is on the
# do-not-call list, in one round trip. On PostgreSQL `FOR UPDATE OF ac`
# locks the account row only (not the call or the agent); SQLite has no row
# locks: its IMMEDIATE transaction already holds the database's write lock.
_CALL_AGENT_ACCOUNT = """
    SELECT c.id, c.callid, c.account_id, c.agent_id, c.state,
           ag.agent_id, ag.user_id, ag.is_logged_in,
           ac.account_number,
           EXISTS (SELECT 1 FROM lcm_donotcallnumber d WHERE d.number = %s)
    FROM lcm_call c
    JOIN lcm_agent ag ON ag.id = c.agent_id
    JOIN lcm_account ac ON ac.id = c.account_id
    WHERE c.callid = %s"""
_LOCK_ACCOUNT = " FOR UPDATE OF ac"


def _load_call_locking_account(
    *, callid: str, account_number: str, agent_id: str, actor, number: str | None = None
) -> Call:
    """Read call, agent and account in one query, locking the account row.

    The lock (`FOR UPDATE OF` the account) serialises every change to one
    contact: a second request on the same account waits here, then sees the
    first one's modes. When `number` is given, the same query looks it up on
    the do-not-call list, refused (409) after every check of the call. The
    error branches may spend extra queries; the happy path does not.

    The call comes back with `agent` and `account` attached, each holding the
    fields read here (any other field is loaded on first access).
    """
    sql = _CALL_AGENT_ACCOUNT
    if connection.features.has_select_for_update_of:
        sql += _LOCK_ACCOUNT
    with connection.cursor() as cursor:
        cursor.execute(sql, [number or "", callid])
        row = cursor.fetchone()
    if row is None:
        raise errors.UnknownCall(callid)
    (call_pk, call_callid, account_pk, agent_pk, state, agent_code, user_pk, logged_in,
     call_account_number, on_do_not_call) = row  # fmt: skip
    # Model instances from the row (from_db wants the values in field order).
    db = connection.alias
    call = Call.from_db(
        db, ["id", "callid", "account_id", "agent_id", "state"],
        [call_pk, call_callid, account_pk, agent_pk, state],
    )  # fmt: skip
    call.agent = Agent.from_db(
        db, ["id", "agent_id", "user_id", "is_logged_in"],
        [agent_pk, agent_code, user_pk, bool(logged_in)],
    )  # fmt: skip
    call.account = Account.from_db(db, ["id", "account_number"], [account_pk, call_account_number])

    if call.agent.agent_id == agent_id:
        agent = call.agent
    else:
        agent = Agent.objects.filter(agent_id=agent_id).first()
    if agent is None:
        if not may_act_for_any_agent(actor):
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
    if number is not None and on_do_not_call:
        raise errors.DoNotCall(f"Number {number} is on the do-not-call list.")
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
        callid=callid,
        account_number=account_number,
        agent_id=agent_id,
        actor=actor,
        number=clean.number,  # and refuse it if it is on the do-not-call list
    )

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


# The live modes of the account, read under the account lock.
_LIVE_MODES = """
    SELECT mode_type_id, number FROM lcm_contactmode
    WHERE account_id = %s AND deleted_at IS NULL"""

# Add or change the mode in one statement: the partial unique index (one
# live mode per account and ModeID) is the conflict target. Consent belongs
# to a number, not a slot: it survives only when the number is unchanged.
_UPSERT_MODE = """
    INSERT INTO lcm_contactmode (account_id, mode_type_id, number, number_as_given,
                                 number_e164, has_consent, changed_at, changed_by, deleted_by)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, '')
    ON CONFLICT (account_id, mode_type_id) WHERE deleted_at IS NULL DO UPDATE SET
        number = excluded.number,
        number_as_given = excluded.number_as_given,
        number_e164 = excluded.number_e164,
        has_consent = lcm_contactmode.has_consent AND lcm_contactmode.number = excluded.number,
        changed_at = excluded.changed_at,
        changed_by = excluded.changed_by"""

# Soft-delete every other live mode in one statement, whatever their count.
_DELETE_OTHER_MODES = """
    UPDATE lcm_contactmode SET deleted_at = %s, deleted_by = %s
    WHERE account_id = %s AND deleted_at IS NULL AND mode_type_id <> %s"""


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

    Three statements whatever the number of modes (the live modes, the
    upsert, one UPDATE for all the deleted ones), then the audit append.
    """
    now = timezone.now()
    db_now = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(_LIVE_MODES, [account.pk])
        live = dict(cursor.fetchall())
        old_number = live.pop(mode_type.id, "")
        cursor.execute(
            _UPSERT_MODE,
            [
                account.pk,
                mode_type.id,
                clean.number,
                number_as_given,
                clean.e164,
                False,
                db_now,
                changed_by,
            ],
        )
        deleted = []
        if delete_other_modes and live:
            cursor.execute(_DELETE_OTHER_MODES, [db_now, changed_by, account.pk, mode_type.id])
            deleted = [{"mode_id": m, "number": number} for m, number in sorted(live.items())]

    entry.account = account
    entry.account_number = account.account_number
    entry.mode_id = mode_type.id
    entry.old_number = old_number
    entry.new_number = clean.number
    entry.new_number_e164 = clean.e164
    entry.deleted_modes = deleted
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
    (its `reverts`), having soft-deleted its `deleted_modes` to make room;
    a mode that already held its number then was left alone, not touched."""
    before: Numbers = {entry.mode_id: entry.old_number or None}
    after: Numbers = {entry.mode_id: entry.new_number or None}
    for deleted in entry.deleted_modes:
        before[deleted["mode_id"]] = deleted["number"]
        after[deleted["mode_id"]] = None
    if entry.action == ModeChange.Action.REVERT and entry.reverts_id:
        put_back, _ = entry_effect(entry.reverts)
        for mode_id, number in put_back.items():
            # Not in its fields: restored from no live mode, or already holding
            # `number` (left alone)? The log before the entry tells.
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
    """The number mode `mode_id` of the entry's account held just before
    `entry`, by the audit log: what the latest earlier entry touching that
    mode left in it (None: no live mode)."""
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


def may_read_any_contact(user) -> bool:
    """Integrations and staff with view rights read any contact's modes."""
    return may_act_for_any_agent(user) or user.has_perm("lcm.view_contactmode")


def contact_modes(*, account_number: str, callid: str | None, actor) -> list[ContactMode]:
    """GetContactModes: the live modes of an account, by ModeID.

    When a callid is given it must exist and be on that account. An agent
    reads the accounts of its own calls only: the call named must be its
    own, or without a callid it must have had a call on the account.
    Integrations and users allowed to view contact modes read any account;
    anyone else is refused.
    """
    agent_pk = Agent.objects.filter(user_id=actor.pk).values_list("pk", flat=True).first()
    if agent_pk is None and not may_read_any_contact(actor):
        raise errors.NotAllowed("You may not read contact modes.")
    account = Account.objects.filter(account_number=account_number).first()
    if callid:
        call = Call.objects.filter(callid=callid).only("account_id", "agent_id").first()
        if call is None:
            raise errors.UnknownCall(callid)
        if agent_pk is not None and call.agent_id != agent_pk and not may_read_any_contact(actor):
            raise errors.NotAllowed(f"Call {callid} is not handled by you.")
        if account is not None and call.account_id != account.pk:
            raise errors.CallAccountMismatch(
                f"Call {callid} is not on account {account_number}.",
                msg="This call belongs to another account.",
            )
    if account is None:
        raise errors.UnknownAccount(f"Unknown AccountNumber: {account_number}")
    if (
        agent_pk is not None
        and not callid
        and not Call.objects.filter(account=account, agent_id=agent_pk).exists()
        and not may_read_any_contact(actor)
    ):
        raise errors.NotAllowed(f"You have no call on account {account_number}.")
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


# --- Dialer intake: account imports, calls, agent sessions -------------------
#
# The doors of the dialer/CTI side (`lcm.api.intake`, `manage.py
# import_accounts`). Permissions are checked by the callers (the views
# declare them); `actor` is who is recorded.

MANAGE_CALLS = "lcm.manage_calls"
MANAGE_AGENT_SESSIONS = "lcm.manage_agent_sessions"
# The group a dialer/CTI user joins (created by migration 0007, which keeps
# its own copy of this list, as migrations must).
DIALER_GROUP = "Dialer integration"
DIALER_PERMISSIONS = [MANAGE_CALLS, MANAGE_AGENT_SESSIONS, ACT_FOR_ANY_AGENT]


@dataclass
class ImportResult:
    """What one `import_accounts` batch did."""

    rows: int = 0  # rows written or found unchanged
    accounts_created: int = 0
    accounts_updated: int = 0  # a name field changed
    modes_added: int = 0
    modes_changed: int = 0
    rejected: list[Rejected] = field(default_factory=list)

    def add(self, other: ImportResult) -> None:
        self.rows += other.rows
        self.accounts_created += other.accounts_created
        self.accounts_updated += other.accounts_updated
        self.modes_added += other.modes_added
        self.modes_changed += other.modes_changed
        self.rejected.extend(other.rejected)


@transaction.atomic
def import_accounts(
    *, rows: list[ImportRow], actor: AbstractBaseUser | None = None, source: str = "import"
) -> ImportResult:
    """Create or update a batch of accounts and their modes, in one transaction.

    `rows` come validated from `lcm.imports` and name each account once. A
    row with a do-not-call number is rejected whole, like SetNewModeNumber
    would refuse it. For the others: a missing account is created; name
    fields the row sets are updated; each mode the row gives is added, or
    changed when its number differs (consent reset, as for an agent's
    change), or left alone, writing nothing, when it holds that number.
    Every mode added or changed gets one audit entry (action `import`, old
    and new number), so the audit log replays to the stored modes.

    Batched rather than `_write_mode` per mode: a fixed number of queries
    per batch (lock the existing accounts, insert the new ones, read the
    live modes, one bulk insert and one bulk update of modes) and one lock
    of the audit chain head for all its entries (`append_entries`).
    """
    result = ImportResult()
    keys = [row.account_number for row in rows]
    if len(set(keys)) != len(keys):
        raise ValueError("import_accounts: each account may appear once per batch.")

    numbers = {mode.clean.number for row in rows for mode in row.modes.values()}
    blocked = set(
        DoNotCallNumber.objects.filter(number__in=numbers).values_list("number", flat=True)
    )
    if blocked:
        kept = []
        for row in rows:
            refused = [
                f"Mode{mode_id}: Number {mode.clean.number} is on the do-not-call list."
                for mode_id, mode in sorted(row.modes.items())
                if mode.clean.number in blocked
            ]
            if refused:
                result.rejected.append(Rejected(row.line, row.account_number, " ".join(refused)))
            else:
                kept.append(row)
        rows = kept
    if not rows:
        return result

    accounts = _lock_or_create_accounts(rows, result)
    now = timezone.now()
    changed_by = actor.get_username() if actor else "import"

    renamed = []
    for row in rows:
        account = accounts[row.account_number]
        if any(getattr(account, name) != value for name, value in row.names.items()):
            for name, value in row.names.items():
                setattr(account, name, value)
            renamed.append(account)
    if renamed:
        Account.objects.bulk_update(renamed, ["first_name", "last_name", "campaign"])
        result.accounts_updated = len(renamed)

    live = {
        (mode.account_id, mode.mode_type_id): mode
        for mode in ContactMode.objects.filter(
            account_id__in=[a.pk for a in accounts.values()], deleted_at=None
        )
    }
    added, changed, entries = [], [], []
    for row in rows:
        account = accounts[row.account_number]
        for mode_id, given in sorted(row.modes.items()):
            mode = live.get((account.pk, mode_id))
            if mode is not None and mode.number == given.clean.number:
                continue
            old_number = mode.number if mode is not None else ""
            if mode is None:
                mode = ContactMode(account=account, mode_type_id=mode_id)
                added.append(mode)
            else:
                changed.append(mode)
            mode.number = given.clean.number
            mode.number_as_given = given.as_given
            mode.number_e164 = given.clean.e164
            mode.has_consent = False  # a new number carries no consent
            mode.changed_at = now
            mode.changed_by = changed_by
            entries.append(
                ModeChange(
                    action=ModeChange.Action.IMPORT,
                    account=account,
                    account_number=account.account_number,
                    user=actor,
                    username=actor.get_username() if actor else "",
                    source=source,
                    mode_id=mode_id,
                    old_number=old_number,
                    new_number=given.clean.number,
                    new_number_e164=given.clean.e164,
                    deleted_modes=[],
                )
            )
    ContactMode.objects.bulk_create(added)
    ContactMode.objects.bulk_update(
        changed,
        ["number", "number_as_given", "number_e164", "has_consent", "changed_at", "changed_by"],
    )
    append_entries(entries)
    result.rows = len(rows)
    result.modes_added = len(added)
    result.modes_changed = len(changed)
    return result


def _lock_or_create_accounts(rows: list[ImportRow], result: ImportResult) -> dict[str, Account]:
    """The batch's accounts by key, existing ones locked (in pk order, so two
    imports never deadlock) and missing ones inserted. A key that another
    transaction inserts meanwhile is skipped by the insert and read back."""
    keys = [row.account_number for row in rows]
    accounts = {
        a.account_number: a
        for a in Account.objects.select_for_update().filter(account_number__in=keys).order_by("pk")
    }
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


def _agent(agent_id: str) -> Agent:
    agent = Agent.objects.filter(agent_id=agent_id).first()
    if agent is None:
        raise errors.UnknownAgent(errors.UNKNOWN_AGENT.format(agent_id=agent_id))
    return agent


@transaction.atomic
def register_call(
    *,
    callid: str,
    account_number: str,
    agent_id: str,
    started_at: datetime,
    actor: AbstractBaseUser | None = None,
) -> tuple[Call, bool]:
    """The dialer delivered call `callid` on an account to an agent.

    Idempotent by callid: registering it again with the same account, agent
    and start time returns the stored call (`created` False), whatever state
    it reached since. The same callid with another account, agent or start
    time is a conflict (409), and changes nothing.
    """
    agent = _agent(agent_id)
    account = Account.objects.filter(account_number=account_number).first()
    if account is None:
        raise errors.UnknownAccount(errors.UNKNOWN_ACCOUNT.format(account_number=account_number))

    call = Call.objects.select_related("account", "agent").filter(callid=callid).first()
    created = False
    if call is None:
        try:
            with transaction.atomic():  # a savepoint: a concurrent twin may win
                call = Call.objects.create(
                    callid=callid, account=account, agent=agent, started_at=started_at
                )
            created = True
        except IntegrityError:
            call = Call.objects.select_related("account", "agent").get(callid=callid)
    if not created:
        if call.account_id != account.pk:
            raise errors.CallAccountMismatch(
                errors.CALL_ACCOUNT_TAKEN.format(
                    callid=callid, account_number=call.account.account_number
                ),
                msg="This callid belongs to another account.",
            )
        if call.agent_id != agent.pk:
            raise errors.CallAgentMismatch(
                errors.CALL_AGENT_TAKEN.format(callid=callid, agent_id=call.agent.agent_id),
                msg="This callid belongs to another agent.",
            )
        if call.started_at != started_at:
            raise errors.CallStartMismatch(
                errors.CALL_START_MISMATCH.format(
                    callid=callid, started_at=call.started_at.isoformat()
                ),
                msg="This callid was registered with another start time.",
            )
    return call, created


def _locked_call(callid: str) -> Call:
    call = (
        Call.objects.select_related("account", "agent")
        .select_for_update(of=("self",))
        .filter(callid=callid)
        .first()
    )
    if call is None:
        raise errors.UnknownCall(callid)
    return call


@transaction.atomic
def wrap_up_call(*, callid: str, actor: AbstractBaseUser | None = None) -> tuple[Call, bool]:
    """The agent finished talking: an active call moves to wrap-up.

    Returns the call and whether it changed; a call already in wrap-up is
    left as it is. An ended call cannot go back (409).
    """
    call = _locked_call(callid)
    if call.state == Call.State.ENDED:
        raise errors.CallEnded(
            errors.CALL_ENDED.format(callid=callid, ended_at=call.ended_at.isoformat()),
            msg="The call has ended; it cannot move to wrap-up.",
        )
    if call.state == Call.State.WRAP_UP:
        return call, False
    call.state = Call.State.WRAP_UP
    call.save(update_fields=["state"])
    return call, True


@transaction.atomic
def end_call(
    *, callid: str, ended_at: datetime | None = None, actor: AbstractBaseUser | None = None
) -> tuple[Call, bool]:
    """The call is over (from active or wrap-up), at `ended_at` (default now).

    Ending an ended call again is harmless when it names no end time or the
    same one; another end time is a conflict (409). An end before the start
    is refused (400).
    """
    call = _locked_call(callid)
    if call.state == Call.State.ENDED:
        if ended_at is None or ended_at == call.ended_at:
            return call, False
        raise errors.CallEnded(
            errors.CALL_ENDED.format(callid=callid, ended_at=call.ended_at.isoformat()),
            msg="The call has already ended at another time.",
        )
    ended_at = ended_at or timezone.now()
    if ended_at < call.started_at:
        message = errors.END_BEFORE_START.format(
            ended_at=ended_at.isoformat(), started_at=call.started_at.isoformat()
        )
        raise errors.EndBeforeStart(message, fields={"EndTime": [message]})
    call.state = Call.State.ENDED
    call.ended_at = ended_at
    call.save(update_fields=["state", "ended_at"])
    return call, True


def _set_session(
    *, agent_id: str, logged_in: bool, at: datetime | None, actor: AbstractBaseUser | None
) -> tuple[Agent, AgentSessionEvent | None]:
    agent = Agent.objects.select_for_update().filter(agent_id=agent_id).first()
    if agent is None:
        raise errors.UnknownAgent(errors.UNKNOWN_AGENT.format(agent_id=agent_id))
    event = AgentSessionEvent.Event.LOGIN if logged_in else AgentSessionEvent.Event.LOGOUT
    at = at or timezone.now()
    if agent.is_logged_in == logged_in:
        return agent, None  # no change, no event
    if agent.logged_in_changed_at is not None and at < agent.logged_in_changed_at:
        # Delivered out of order: a later change already happened.
        raise errors.StaleSessionEvent(
            errors.STALE_SESSION_EVENT.format(
                agent_id=agent_id,
                changed_at=agent.logged_in_changed_at.isoformat(),
                event=event,
                at=at.isoformat(),
            ),
            msg="A later login or logout of this agent was already recorded.",
        )
    agent.is_logged_in = logged_in
    agent.logged_in_changed_at = at
    agent.save(update_fields=["is_logged_in", "logged_in_changed_at"])
    recorded = AgentSessionEvent.objects.create(
        agent=agent,
        event=event,
        at=at,
        user=actor,
        username=actor.get_username() if actor else "",
    )
    return agent, recorded


@transaction.atomic
def log_agent_in(
    *, agent_id: str, at: datetime | None = None, actor: AbstractBaseUser | None = None
) -> tuple[Agent, AgentSessionEvent | None]:
    """The agent logged in to the agent application at `at` (default now).

    Records an `AgentSessionEvent` and returns it; an agent already logged
    in is left as it is (no event). A login older than the agent's last
    change is refused (409): events delivered out of order cannot undo a
    later one.
    """
    return _set_session(agent_id=agent_id, logged_in=True, at=at, actor=actor)


@transaction.atomic
def log_agent_out(
    *, agent_id: str, at: datetime | None = None, actor: AbstractBaseUser | None = None
) -> tuple[Agent, AgentSessionEvent | None]:
    """The agent logged out at `at` (default now); as `log_agent_in`."""
    return _set_session(agent_id=agent_id, logged_in=False, at=at, actor=actor)
