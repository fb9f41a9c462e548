"""Domain actions. One function per action, each one transaction.

Views, admin actions, commands and tests call these; nothing else writes a
contact mode or an audit entry.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

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
    timeout = settings.LCM_PERMISSION_CACHE_SECONDS
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


def contact_modes(*, account_number: str, callid: str | None, actor) -> list[ContactMode]:
    """GetContactModes: the live modes of an account, by ModeID.

    When a callid is given it must exist and be on that account; reading is
    open to any authenticated caller that may read contacts.
    """
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
