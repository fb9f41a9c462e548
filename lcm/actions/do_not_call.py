"""The do-not-call list, and matching numbers by identity.

A number is blocked while an entry of the list holds the same number
(`lcm.numbers.same_number`: equal E.164 forms, or, where a country is
unknown on either side, meeting national keys) and has not expired. The
rule is rendered here for the database in two forms — an ORM `Q` (`match_q`)
and an SQL condition for the hot path (`match_sql`) — both built from
`lcm.numbers.candidates`; batch reads fetch a superset by candidates and
keep what `same_number` says (`blocking_entries`). The same columns
(`number`, `number_e164`, `number_national`) exist on `ContactMode` and on
`DoNotCallNumber`, so each form matches either table.

Do-not-call status of a mode is never stored: it is this match, read live,
so a number added to the list flags every live mode holding it at once, on
every account, and an expired entry stops counting by itself.

Every write of the list is here (`add_number`, `remove_number`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from lcm import errors
from lcm.models import ContactMode, DoNotCallNumber
from lcm.numbers import CleanNumber, candidates, clean_any, same_number

from . import permissions

ON_THE_LIST = "Number {number} is on the do-not-call list."
ON_THE_LIST_AS = "Number {number} is on the do-not-call list (as {listed})."
ALREADY_LISTED = "{number} is already on the do-not-call list (as {listed})."
ADDED = (
    "{number} is on the do-not-call list{until}. It blocks {modes} live mode{s} "
    "on {accounts} account{t}, now shown as do-not-call."
)


def active_q(now: datetime | None = None) -> Q:
    """Entries that count now: no expiry, or one still ahead."""
    return Q(expires_at__isnull=True) | Q(expires_at__gt=now or timezone.now())


def match_q(number: CleanNumber, prefix: str = "") -> Q:
    """Rows (modes or list entries) holding the same number as `number`;
    `prefix` reaches them through a relation ("modes__" from an account)."""
    keys = list(candidates(number))

    def q(**lookups) -> Q:
        return Q(**{prefix + name: value for name, value in lookups.items()})

    unknown_row = q(number_e164="")
    if number.country_known:
        return q(number_e164=number.e164) | (
            unknown_row & (q(number_national__in=keys) | q(number__in=keys))
        )
    return q(number_national__in=keys) | (unknown_row & q(number__in=keys))


def match_sql(number: CleanNumber, alias: str) -> tuple[str, list]:
    """`match_q` as an SQL condition on the table aliased `alias`, for the
    hand-written hot path (lcm.actions.agent_requests)."""
    keys = list(candidates(number))
    marks = ", ".join(["%s"] * len(keys))
    unknown_row = f"{alias}.number_e164 = ''"
    if number.country_known:
        return (
            f"({alias}.number_e164 = %s OR ({unknown_row} AND "
            f"({alias}.number_national IN ({marks}) OR {alias}.number IN ({marks}))))",
            [number.e164, *keys, *keys],
        )
    return (
        f"({alias}.number_national IN ({marks}) "
        f"OR ({unknown_row} AND {alias}.number IN ({marks})))",
        [*keys, *keys],
    )


def as_clean(row) -> CleanNumber:
    """A stored row's number as `lcm.numbers` sees it."""
    return CleanNumber(row.number, row.number_e164, row.number_national)


def blocking_number(number: CleanNumber, *, now: datetime | None = None) -> str | None:
    """The listed number that blocks `number` now, if any. Hand-written
    SQL: it runs on every SetNewModeNumber (one indexed lookup)."""
    condition, params = match_sql(number, "d")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT d.number FROM lcm_donotcallnumber d "  # noqa: S608 (condition: constants)
            f"WHERE (d.expires_at IS NULL OR d.expires_at > %s) AND {condition} "
            "ORDER BY d.id LIMIT 1",
            [connection.ops.adapt_datetimefield_value(now or timezone.now()), *params],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def refusal(number: CleanNumber, listed: str) -> errors.DoNotCall:
    if listed == number.number:
        return errors.DoNotCall(ON_THE_LIST.format(number=number.number))
    return errors.DoNotCall(ON_THE_LIST_AS.format(number=number.number, listed=listed))


def refuse(number: CleanNumber, *, now: datetime | None = None) -> None:
    """Raise `errors.DoNotCall` (409) when `number` is blocked."""
    listed = blocking_number(number, now=now)
    if listed is not None:
        raise refusal(number, listed)


def blocking_entries(
    numbers: Iterable[CleanNumber], *, now: datetime | None = None
) -> dict[CleanNumber, DoNotCallNumber]:
    """For many numbers at once (an import batch, a contact's modes): the
    entry blocking each blocked one. One query: a superset by candidates,
    then `same_number` decides."""
    numbers = list(dict.fromkeys(numbers))
    if not numbers:
        return {}
    keys = {key for n in numbers for key in candidates(n)}
    e164s = {n.e164 for n in numbers if n.country_known}
    rows = list(
        DoNotCallNumber.objects.filter(active_q(now))
        .filter(
            Q(number_e164__in=e164s)
            | Q(number_national__in=keys)
            | Q(number_e164="", number__in=keys)
        )
        .order_by("pk")
    )
    found = {}
    for number in numbers:
        for row in rows:
            if same_number(number, as_clean(row)):
                found[number] = row
                break
    return found


def live_modes_holding(number: CleanNumber) -> QuerySet[ContactMode]:
    """Every live mode, on any account, that holds `number`."""
    return ContactMode.objects.filter(match_q(number), deleted_at=None)


def _summary(entry: DoNotCallNumber) -> str:
    modes = live_modes_holding(as_clean(entry))
    count = modes.count()
    accounts = modes.values("account_id").distinct().count()
    until = (
        f" until {timezone.localtime(entry.expires_at):%Y-%m-%d %H:%M %Z}"
        if entry.expires_at
        else ""
    )
    return ADDED.format(
        number=entry.number,
        until=until,
        modes=count,
        s="" if count == 1 else "s",
        accounts=accounts,
        t="" if accounts == 1 else "s",
    )


def validate_new(number: str, expires_at: datetime | None, *, lock: bool = False) -> CleanNumber:
    """The checks of a new entry (the console's form runs them before
    saving): a number, not listed yet under any spelling, an expiry ahead.
    Refusals name their field."""
    try:
        clean = clean_any(number)
    except errors.InvalidNumber as exc:
        raise errors.InvalidNumber(exc.message, fields={"number": [exc.message]}) from None
    listed = DoNotCallNumber.objects.filter(match_q(clean)).order_by("pk")
    existing = (listed.select_for_update() if lock else listed).first()
    if existing is not None:
        message = ALREADY_LISTED.format(number=clean.number, listed=existing.number)
        raise errors.AlreadyListed(message, fields={"number": [message]})
    if expires_at is not None and expires_at <= timezone.now():
        raise errors.InvalidInput(
            errors.EXPIRY_IN_THE_PAST, fields={"expires_at": [errors.EXPIRY_IN_THE_PAST]}
        )
    return clean


@transaction.atomic
def add_number(
    *,
    number: str,
    reason: str = "",
    expires_at: datetime | None = None,
    actor=None,
) -> tuple[DoNotCallNumber, str]:
    """Put `number` (as typed) on the list. Returns the entry and a sentence
    for the person who added it: how many live modes it now blocks.

    Refused when the number is already listed under any spelling (the
    existing entry is what to edit), or when it is not a number."""
    permissions.require(actor, permissions.MANAGE_DO_NOT_CALL)
    clean = clean_any(number)
    existing = (
        DoNotCallNumber.objects.select_for_update().filter(match_q(clean)).order_by("pk").first()
    )
    if existing is not None:
        raise errors.AlreadyListed(
            ALREADY_LISTED.format(number=clean.number, listed=existing.number)
        )
    if expires_at is not None and expires_at <= timezone.now():
        raise errors.InvalidInput(
            errors.EXPIRY_IN_THE_PAST, fields={"expires_at": [errors.EXPIRY_IN_THE_PAST]}
        )
    entry = DoNotCallNumber.objects.create(
        number=clean.number,
        number_e164=clean.e164,
        number_national=clean.national,
        reason=reason,
        expires_at=expires_at,
        added_by=permissions.username(actor, "system"),
    )
    return entry, _summary(entry)


@transaction.atomic
def change_entry(
    *, entry_pk: int, reason: str, expires_at: datetime | None, actor=None
) -> DoNotCallNumber:
    """Change an entry's reason or expiry (its number is its identity: to
    block another number, add it)."""
    permissions.require(actor, "lcm.change_donotcallnumber")
    entry = DoNotCallNumber.objects.select_for_update().get(pk=entry_pk)
    entry.reason = reason
    entry.expires_at = expires_at
    entry.save(update_fields=["reason", "expires_at"])
    return entry


@transaction.atomic
def remove_number(*, entry_pk: int, actor=None) -> DoNotCallNumber:
    """Take an entry off the list."""
    permissions.require(actor, "lcm.delete_donotcallnumber")
    entry = DoNotCallNumber.objects.select_for_update().get(pk=entry_pk)
    entry.delete()
    return entry
