"""Erasing a contact's personal data while the audit proof still holds.

`erase_contact` removes, in one transaction, the personal data of one
account: its names and ZIP code, the numbers of its modes (live ones are
deleted first, so the dialer never sees an empty number), of its callbacks
(scheduled ones are cancelled), the comments of its do-not-call blocks and
its business field values;
and the personal fields of every audit entry of the account
(`lcm.audit.PERSONAL_FIELDS`). The erasure is itself an audit entry (action
`erase`: who, when, the reason, which entries; no personal data), and each
erased entry points to it (`erased_by`). docs/audit.md, "Erasure", says
what stays provable for each entry format.

Kept on purpose: the LCM key (a pseudonymous key, and what the erasure is
recorded under), the do-not-call *number* blocks (a suppression list: they
must keep matching the number, or it could be dialled again), and
`client_ip` (the address of the agent or dialer that sent a request, not
the contact's).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from lcm import errors
from lcm.audit import (
    append_entry,
    content_matches,
    entry_format,
    erase_personal_fields,
    personal_digests,
)
from lcm.models import (
    Account,
    Callback,
    ContactMode,
    IdempotencyKey,
    ModeChange,
)

from . import RequestContext, business_fields, callbacks, do_not_call, modes, outcomes, permissions

ERASE_CONTACT = permissions.ERASE_CONTACT
ERASE_SOURCE = "erase_contact"
REASON_MAX = 500


@dataclass(frozen=True)
class ErasureResult:
    account_number: str
    entry: ModeChange  # the erase entry (this one, or the earlier one when already erased)
    already: bool = False
    entries: int = 0  # audit entries whose personal values were erased
    format1_entries: tuple[int, ...] = ()  # of those, sealed with their values (seqs)
    modes: int = 0
    callbacks: int = 0
    do_not_call: int = 0
    idempotency_keys: int = 0
    business_fields: int = 0  # business field values removed


def erased_text(seq: int, created_at, username: str, record: dict | None) -> str:
    """What auditors see in place of an erased entry's values (admin, API,
    CSV): "erased on 2026-11-30 by alice (entry #42): <reason>"."""
    reason = (record or {}).get("reason", "")
    return f"erased on {created_at:%Y-%m-%d} by {username or 'the system'} (entry #{seq}): {reason}"


def erase_text(record: dict) -> str:
    """What an `erase` entry itself shows: how many entries, and why."""
    count = len(record.get("entries", []))
    return f"erased the personal data of {count} entries: {record.get('reason', '')}"


def marker(entry: ModeChange) -> str | None:
    """`erased_text` for an erased entry, `erase_text` for an erase entry,
    else None. Needs `erased_by` loaded (select_related) to cost no query."""
    if entry.erased_by_id is not None:
        erase = entry.erased_by
        return erased_text(erase.seq, erase.created_at, erase.username, erase.erasure)
    if entry.erasure is not None:
        return erase_text(entry.erasure)
    return None


@transaction.atomic
def erase_contact(
    *,
    account_number: str,
    reason: str,
    actor: AbstractBaseUser | None = None,
    context: RequestContext | None = None,
) -> ErasureResult:
    """Erase the personal data of the account with LCM key `account_number`.

    Refused, changing nothing: without `lcm.erase_contact` (`actor` None is
    an operator at the shell), with an empty reason, for an unknown key, or
    when one of the account's entries does not match its hash (erasing it
    would destroy the evidence: run verify_audit). Erasing an account again
    changes nothing and says when it was erased — unless it was written to
    since (a number set again): that is erased by a new erase entry.
    """
    permissions.require(actor, ERASE_CONTACT)
    reason = (reason or "").strip()
    if not reason:
        raise errors.InvalidInput(errors.ERASURE_REASON_REQUIRED)
    if len(reason) > REASON_MAX:
        raise errors.InvalidInput(errors.ERASURE_REASON_TOO_LONG.format(limit=REASON_MAX))
    account = Account.objects.filter(account_number=account_number).first()
    if account is None:
        raise errors.UnknownAccount(errors.UNKNOWN_ACCOUNT_KEY.format(key=account_number))
    account = modes.lock_account(account.pk)
    entries = list(
        ModeChange.objects.filter(account=account, erased_by__isnull=True)
        .exclude(action=ModeChange.Action.ERASE)
        .order_by("seq")
    )
    done = (
        ModeChange.objects.filter(account=account, action=ModeChange.Action.ERASE)
        .order_by("-seq")
        .first()
    )
    if done is not None and not entries and not _holds_personal_data(account):
        return ErasureResult(account.account_number, done, already=True)
    # (Erased before, but written to since — a number set again: erased again.)
    for entry in entries:
        if content_matches(entry) is False:
            raise errors.Conflict(errors.ERASURE_BROKEN_ENTRY.format(seq=entry.seq))
    # Formats 2 and 3 keep the digests their hashes seal; format 1 has none.
    digests = {entry.pk: personal_digests(entry) for entry in entries if entry_format(entry) > 1}
    format1 = tuple(entry.seq for entry in entries if entry_format(entry) == 1)

    context = context or RequestContext(source=ERASE_SOURCE)
    erase = append_entry(
        ModeChange(
            action=ModeChange.Action.ERASE,
            account=account,
            account_number=account.account_number,
            user=actor,
            username=actor.get_username() if actor else "",
            source=context.source or ERASE_SOURCE,
            client_ip=context.client_ip,
            request_id=context.request_id,
            mode_id=0,
            old_number="",
            new_number="",
            deleted_modes=[],
            modes=[],
            erasure={
                "reason": reason,
                "entries": [entry.seq for entry in entries],
                "format1_entries": list(format1),
            },
        )
    )
    erase_personal_fields(entries, digests, erased_by=erase)

    # Each table through its own writer: the mode kernel, the callbacks, the list.
    now = timezone.now()
    by = actor.get_username() if actor else ERASE_SOURCE
    numbers = _numbers(ContactMode.objects.filter(account=account), account)
    mode_count = modes.erase_numbers(account, by=by, now=now)
    callback_count = callbacks.erase_for_account(account, by=by, now=now)
    dnc_count = do_not_call.erase_comments(account)
    outcomes.erase_comments(account)  # the agents' comments on the call outcomes
    field_count = business_fields.erase_for_account(account)
    Account.objects.filter(pk=account.pk).update(first_name="", last_name="", zip_code="")
    # Stored replies to retried requests may quote the numbers: forget them
    # (a retry after the erasure is then treated as a new request).
    keys = Q(response_body__contains=account.account_number)
    for number in numbers:
        keys |= Q(response_body__contains=number)
    idempotency, _ = IdempotencyKey.objects.filter(keys).delete()
    return ErasureResult(
        account.account_number,
        erase,
        entries=len(entries),
        format1_entries=format1,
        modes=mode_count,
        callbacks=callback_count,
        do_not_call=dnc_count,
        idempotency_keys=idempotency,
        business_fields=field_count,
    )


def _holds_personal_data(account: Account) -> bool:
    return bool(
        account.first_name
        or account.last_name
        or account.zip_code
        or ContactMode.objects.filter(account=account).exclude(number="").exists()
        or Callback.objects.filter(account=account).exclude(number="", comments="").exists()
        or business_fields.holds_values(account)
        or outcomes.holds_comments(account)
    )


def _numbers(rows, account: Account) -> set[str]:
    """Every form of the account's numbers that a stored reply could quote."""
    found: set[str] = set()
    for values in rows.values_list("number", "number_as_given", "number_e164", "number_national"):
        found.update(v for v in values if v)
    for values in Callback.objects.filter(account=account).values_list(
        "number", "number_e164", "number_national"
    ):
        found.update(v for v in values if v)
    return found
