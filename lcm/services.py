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
