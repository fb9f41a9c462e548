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

An entry blocks one number (`scope` number: by identity, on every
account) or a whole contact (`scope` contact: every mode of its account,
whatever the number); `campaign` set, only on accounts of that campaign.
It counts from `starts_at` (empty: when added) until `expires_at` (empty:
for ever) unless it was lifted. Lifting never deletes: the entry keeps who
blocked it, from which call, and who lifted it and why.

Every write of the list is here (`add_number`, `change_entry`, `block`,
`lift`), and each appends an entry to the audit chain in its transaction:
the agent's SetDNC (`block`) on the contact's account; the console's
list-wide entries (`add_number`, and changes and lifts of them) on no
account, since a number blocked for every account belongs to none.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection, models, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from lcm import cursors, errors, inputs
from lcm.audit import append_entry
from lcm.models import Account, ContactMode, DoNotCallNumber, ModeChange
from lcm.numbers import CleanNumber, candidates, clean_any, same_number, shown

from . import RequestContext, permissions

ON_THE_LIST = "Number {number} is on the do-not-call list."
ON_THE_LIST_AS = "Number {number} is on the do-not-call list (as {listed})."
CONTACT_ON_THE_LIST = (
    "Number {number} cannot be stored: the whole contact is on the do-not-call list."
)
ALREADY_LISTED = "{number} is already on the do-not-call list (as {listed})."
ADDED = (
    "{number} is on the do-not-call list{until}. It blocks {modes} live mode{s} "
    "on {accounts} account{t}, now shown as do-not-call."
)


def active_q(now: datetime | None = None) -> Q:
    """Entries that count now: not lifted, started, and no expiry or one ahead."""
    now = now or timezone.now()
    return (
        Q(lifted_at__isnull=True)
        & (Q(starts_at__isnull=True) | Q(starts_at__lte=now))
        & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    )


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


def blocking_query(
    number: CleanNumber,
    *,
    account: Account | None = None,
    now: datetime | None = None,
    columns: str = "d.id, d.number",
) -> tuple[str, list]:
    """`blocking`'s SELECT and its parameters: at most one row, the blocking
    entry's `columns`. The kernel runs it, for the id alone, as a subquery
    of its read of the account's live modes (`lcm.actions.modes.live_states`)."""
    condition, params = match_sql(number, "d")
    db_now = connection.ops.adapt_datetimefield_value(now or timezone.now())
    if account is None:
        scope = f"d.campaign = '' AND d.scope = 'number' AND {condition}"
    else:
        scope = (
            "d.campaign IN ('', %s) AND ((d.scope = 'number' AND "
            f"{condition}) OR (d.scope = 'contact' AND d.account_id = %s))"
        )
        params = [account.campaign_id, *params, account.pk]
    return (
        f"SELECT {columns} FROM lcm_donotcallnumber d "  # noqa: S608 (condition: constants)
        "WHERE d.lifted_at IS NULL AND (d.starts_at IS NULL OR d.starts_at <= %s) "
        f"AND (d.expires_at IS NULL OR d.expires_at > %s) AND {scope} "
        "ORDER BY d.id LIMIT 1",
        [db_now, db_now, *params],
    )


def blocking(
    number: CleanNumber, *, account: Account | None = None, now: datetime | None = None
) -> tuple[int, str] | None:
    """The entry (its id and listed number) that blocks `number` (held by a
    mode of `account`) now, if any; its number is `""` when the block is the
    whole contact's. Hand-written SQL: it runs on every SetNewModeNumber (one
    indexed lookup; the account's blocks and the campaign are in the same
    condition)."""
    sql, params = blocking_query(number, account=account, now=now)
    with cursors.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return (row[0], row[1]) if row else None


def blocking_number(
    number: CleanNumber, *, account: Account | None = None, now: datetime | None = None
) -> str | None:
    """The listed number that blocks `number` now (`blocking`), if any."""
    found = blocking(number, account=account, now=now)
    return found[1] if found else None


def as_stored(number: str, e164: str = "") -> str:
    """How the API writes a number in a refusal: as stored."""
    return number


def refusal(
    number: CleanNumber, listed: str, *, write=as_stored, entry_id: int | None = None
) -> errors.DoNotCall:
    """`listed` is the blocking entry's number; empty: a whole-contact block.
    `write(number, e164)` writes a number: as stored for the API; the
    console passes its own (lcm/admin/display.py). The error keeps `number`,
    `listed` and the blocking entry's id, so that a door can word it again
    in its own way, or offer to lift the block."""
    if not listed:
        message = CONTACT_ON_THE_LIST.format(number=write(number.number, number.e164))
    else:
        shown, as_listed = write(number.number, number.e164), write(listed)
        if listed == number.number or shown == as_listed:
            message = ON_THE_LIST.format(number=shown)
        else:
            message = ON_THE_LIST_AS.format(number=shown, listed=as_listed)
    error = errors.DoNotCall(message)
    error.number, error.listed, error.entry_id = number, listed, entry_id
    return error


def already_listed(
    number: CleanNumber, listed: str, *, write=as_stored, field: str | None = None
) -> errors.AlreadyListed:
    """The refusal of a number listed already (as `listed`), next to `field`."""
    message = ALREADY_LISTED.format(number=write(number.number, number.e164), listed=write(listed))
    error = errors.AlreadyListed(message, fields={field: [message]} if field else None)
    error.number, error.listed, error.field = number, listed, field
    return error


def refuse(
    number: CleanNumber, *, account: Account | None = None, now: datetime | None = None
) -> None:
    """Raise `errors.DoNotCall` (409) when `number` is blocked, for a mode
    of `account` (its whole-contact and campaign blocks count too)."""
    found = blocking(number, account=account, now=now)
    if found is not None:
        raise refusal(number, found[1], entry_id=found[0])


def blocking_rows(
    numbers: Iterable[CleanNumber],
    *,
    account_ids: Iterable[int] = (),
    campaigns: Iterable[str] = (),
    now: datetime | None = None,
) -> list[DoNotCallNumber]:
    """For many numbers at once (an import batch, a contact's modes): in one
    query, a superset of the entries that may block one of `numbers` held
    by an account of `account_ids` in one of `campaigns` (the number
    blocks by candidates, those accounts' whole-contact blocks), active at
    `now`. `first_blocking` then decides, pair by pair."""
    numbers = list(numbers)
    keys = {key for n in numbers for key in candidates(n)}
    e164s = {n.e164 for n in numbers if n.country_known}
    # `any_of`: one array parameter on PostgreSQL (an import batch has
    # thousands of keys), IN elsewhere.
    by_number = Q(scope=DoNotCallNumber.Scope.NUMBER) & (
        Q(number_e164__any_of=sorted(e164s))
        | Q(number_national__any_of=sorted(keys))
        | Q(number_e164="", number__any_of=sorted(keys))
    )
    contact = Q(scope=DoNotCallNumber.Scope.CONTACT, account_id__any_of=list(account_ids))
    return list(
        DoNotCallNumber.objects.filter(active_q(now), campaign__in=["", *campaigns])
        .filter(by_number | contact)
        .order_by("pk")
    )


def last_new_block_seq(now: datetime | None = None) -> int:
    """The seq of the audit entry after which the list may block a number
    (on some account) that it did not block before. Blocks begin when added
    (``added_at``) or at their start (``starts_at``, once passed): the first
    entry created at or after the latest such moment of an unlifted block;
    and an expired block may count again when its expiry changes: the last
    ``dnc_change`` entry. Lifting and expiring only unblock. 0: the list
    never blocked anything.

    A check made after every entry up to this one was committed still holds
    (`lcm.actions.imports`: an unchanged row whose print's seq is not older
    is not checked again). An aggregate
    of the list, a look-up by time, and the entries since the last call
    (`_last_expiry_change`)."""
    now = now or timezone.now()
    changed = _last_expiry_change()
    began = DoNotCallNumber.objects.filter(lifted_at=None).aggregate(
        added=models.Max("added_at"),
        started=models.Max("starts_at", filter=Q(starts_at__lte=now)),
    )
    moments = [at for at in began.values() if at is not None]
    seq = changed or 0
    if moments:
        after = ModeChange.objects.filter(created_at__gte=max(moments)).aggregate(
            seq=models.Min("seq")
        )["seq"]
        if after is None:  # no entry since: every print is older
            after = ModeChange.objects.aggregate(seq=models.Max("seq"))["seq"] or 0
        seq = max(seq, after)
    return seq


# The last dnc_change entry as of a chain head, remembered per database: a
# scan of the log's actions the first time, of the entries after that head
# next (an import asks once a batch). The head's hash commits to every
# entry up to it, so a rolled back and rewritten tail is noticed.
_EXPIRY_CHANGES: dict[str, tuple[int, str, int]] = {}
_EXPIRY_LOCK = threading.Lock()


def _last_expiry_change() -> int:
    """The seq of the last ``dnc_change`` entry (0: none)."""
    key = f"{connection.alias}:{connection.settings_dict['NAME']}"
    with _EXPIRY_LOCK, connection.cursor() as cursor:
        cursor.execute("SELECT seq, hash FROM lcm_modechange ORDER BY seq DESC LIMIT 1")
        head = cursor.fetchone()
        if head is None:
            _EXPIRY_CHANGES.pop(key, None)
            return 0
        since, since_hash, found = _EXPIRY_CHANGES.get(key, (0, "", 0))
        if since:
            cursor.execute("SELECT hash FROM lcm_modechange WHERE seq = %s", [since])
            row = cursor.fetchone()
            if row is None or row[0] != since_hash or since > head[0]:
                since, found = 0, 0
        cursor.execute(
            "SELECT MAX(seq) FROM lcm_modechange WHERE seq > %s AND seq <= %s AND action = %s",
            [since, head[0], ModeChange.Action.CHANGE_DO_NOT_CALL],
        )
        found = max(found, cursor.fetchone()[0] or 0)
        _EXPIRY_CHANGES[key] = (head[0], head[1], found)
        return found


def first_blocking(
    rows: list[DoNotCallNumber], number: CleanNumber, *, account_id: int | None, campaign: str
) -> DoNotCallNumber | None:
    """The first of `rows` (`blocking_rows`) blocking `number` on the
    account `account_id` (None: not stored yet) of `campaign`: a block of
    every campaign or of that one, of the number (`same_number`) or of the
    whole contact."""
    for row in rows:
        if row.campaign not in ("", campaign):
            continue
        if row.scope == DoNotCallNumber.Scope.CONTACT:
            if account_id is not None and row.account_id == account_id:
                return row
        elif same_number(number, as_clean(row)):
            return row
    return None


def blocking_entries(
    numbers: Iterable[CleanNumber],
    *,
    now: datetime | None = None,
    account: Account | None = None,
) -> dict[CleanNumber, DoNotCallNumber]:
    """The entry blocking each blocked one of `numbers`, held by modes of
    `account` (None: every-campaign number blocks only). One query."""
    numbers = list(dict.fromkeys(numbers))
    if not numbers:
        return {}
    account_id = account.pk if account is not None else None
    campaign = account.campaign_id if account is not None else ""
    rows = blocking_rows(
        numbers,
        account_ids=[account_id] if account_id is not None else [],
        campaigns=[campaign],
        now=now,
    )
    found = {}
    for number in numbers:
        row = first_blocking(rows, number, account_id=account_id, campaign=campaign)
        if row is not None:
            found[number] = row
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
        number=shown(entry.number, entry.number_e164)[0],
        until=until,
        modes=count,
        s="" if count == 1 else "s",
        accounts=accounts,
        t="" if accounts == 1 else "s",
    )


def _listed_for_every_campaign(clean: CleanNumber) -> QuerySet[DoNotCallNumber]:
    """The unlifted number blocks of every campaign holding `clean` (an
    expired one included: it is the entry to edit)."""
    return DoNotCallNumber.objects.filter(
        match_q(clean), scope=DoNotCallNumber.Scope.NUMBER, campaign="", lifted_at=None
    ).order_by("pk")


def validate_new(number: str, expires_at: datetime | None, *, lock: bool = False) -> CleanNumber:
    """The checks of a new entry (the console's form runs them before
    saving): a number, not listed yet under any spelling, an expiry ahead.
    Refusals name their field."""
    try:
        clean = clean_any(number)
    except errors.InvalidNumber as exc:
        raise errors.InvalidNumber(exc.message, fields={"number": [exc.message]}) from None
    listed = _listed_for_every_campaign(clean)
    existing = (listed.select_for_update() if lock else listed).first()
    if existing is not None:
        raise already_listed(clean, existing.number, field="number")
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
    context: RequestContext | None = None,
) -> tuple[DoNotCallNumber, str]:
    """Put `number` (as typed) on the list, for every account, and append
    the audit entry that says so. Returns the entry and a sentence for the
    person who added it: how many live modes it now blocks.

    Refused when the number is already listed under any spelling (the
    existing entry is what to edit), or when it is not a number."""
    permissions.require(actor, permissions.MANAGE_DO_NOT_CALL)
    clean = clean_any(number)
    existing = _listed_for_every_campaign(clean).select_for_update().first()
    if existing is not None:
        raise already_listed(clean, existing.number)
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
    _append_list_event(
        entry,
        ModeChange.Action.DO_NOT_CALL,
        account=None,
        actor=actor,
        context=context,
        details={
            "event": "block",
            "starts_at": None,
            "expires_at": _iso(expires_at),
            "comments": reason,
            "live_modes_flagged": _flagged(clean, None, ""),
        },
    )
    return entry, _summary(entry)


@transaction.atomic
def change_entry(
    *,
    entry_pk: int,
    reason: str,
    expires_at: datetime | None,
    actor=None,
    context: RequestContext | None = None,
) -> DoNotCallNumber:
    """Change an entry's reason or expiry (its number is its identity: to
    block another number, add it), with an audit entry naming both before
    and after. Saving it unchanged writes nothing."""
    permissions.require(actor, "lcm.change_donotcallnumber")
    account, entry = _lock(entry_pk)
    before = {"reason": entry.reason, "expires_at": _iso(entry.expires_at)}
    after = {"reason": reason, "expires_at": _iso(expires_at)}
    if before == after:
        return entry
    entry.reason = reason
    entry.expires_at = expires_at
    entry.save(update_fields=["reason", "expires_at"])
    _append_list_event(
        entry,
        ModeChange.Action.CHANGE_DO_NOT_CALL,
        account=account,
        actor=actor,
        context=context,
        details={"event": "change", "before": before, "after": after},
    )
    return entry


def _lock(entry_pk: int) -> tuple[Account | None, DoNotCallNumber]:
    """Lock a list entry for a change, and first its account if it has one
    (as every change to a contact: no lock-order inversion)."""
    account_id = DoNotCallNumber.objects.filter(pk=entry_pk).values_list("account_id", flat=True)
    if not account_id.exists():
        raise errors.NotFound(f"No do-not-call entry {entry_pk}.")
    account_id = account_id.first()
    account = (
        Account.objects.select_for_update().get(pk=account_id) if account_id is not None else None
    )
    return account, DoNotCallNumber.objects.select_for_update().get(pk=entry_pk)


def _append_list_event(
    row: DoNotCallNumber,
    action: str,
    *,
    account: Account | None,
    actor,
    context: RequestContext | None,
    details: dict,
) -> None:
    """The audit entry of a change to the list made by a supervisor (or a
    command): on `account` when the entry is a contact's, else on none.
    The transaction's last write."""
    context = context or RequestContext(source="admin" if actor is not None else "system")
    append_entry(
        ModeChange(
            action=action,
            account=account,
            account_number=account.account_number if account is not None else "",
            user=actor if actor is not None and actor.is_authenticated else None,
            username=permissions.username(actor, "system"),
            source=context.source,
            client_ip=context.client_ip,
            request_id=context.request_id,
            mode_id=row.mode_id or 0,
            old_number=row.number,
            new_number=row.number,
            new_number_e164=row.number_e164,
            deleted_modes=[],
            modes=[],  # no mode's state changed: the list did
            do_not_call={
                "entry": row.pk,
                "scope": row.scope,
                "number": row.number,
                "campaign": row.campaign,
                **details,
            },
        )
    )


# --- SetDNC: the customer asks not to be called (dialable-modes.md section 3) --------


def _day_start(day: date) -> datetime:
    """Midnight starting `day`, in the site's time zone (TIME_ZONE)."""
    return datetime.combine(day, time(), tzinfo=timezone.get_current_timezone())


def period(
    start: date | None, end: date | None, *, now: datetime | None = None
) -> tuple[datetime | None, datetime | None]:
    """The block's `starts_at` and `expires_at` from SetDNC's dates (whole
    days in the site's time zone: the end day is blocked to its last
    moment). Absent start: from now (None); absent end: permanent (None).
    Refused, naming the field: an end before the start, a start or an end
    before today."""
    today = timezone.localdate(now or timezone.now())
    if start is not None and end is not None and end < start:
        message = errors.DNC_END_BEFORE_START.format(
            start=f"{start:%d/%m/%Y}", end=f"{end:%d/%m/%Y}"
        )
        raise errors.EndBeforeStart(message, fields={"DNCBlockEndDate": [message]})
    if start is not None and start < today:
        message = errors.DNC_START_IN_THE_PAST.format(start=f"{start:%d/%m/%Y}")
        raise errors.PeriodInThePast(message, fields={"DNCBlockStartDate": [message]})
    if end is not None and end < today:
        message = errors.DNC_END_IN_THE_PAST.format(end=f"{end:%d/%m/%Y}")
        raise errors.PeriodInThePast(message, fields={"DNCBlockEndDate": [message]})
    starts_at = _day_start(start) if start is not None else None
    if end is None:
        return starts_at, None
    if end == date.max:  # the calendar's last day: no later midnight to end on
        return starts_at, datetime.max.replace(tzinfo=UTC)
    return starts_at, _day_start(end + timedelta(days=1))


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if value else None


def _flagged(number: CleanNumber | None, account: Account | None, campaign: str) -> int:
    """How many live modes the block flags now (on every account for a number)."""
    if number is None:
        return ContactMode.objects.filter(account=account, deleted_at=None).count()
    modes = live_modes_holding(number)
    if campaign:
        modes = modes.filter(account__campaign=campaign)
    return modes.count()


def block(
    *,
    account: Account,
    number: CleanNumber | None,
    mode_id: int | None,
    campaign_specific: bool,
    starts_at: datetime | None,
    expires_at: datetime | None,
    comments: str,
    entry: ModeChange,
    append: bool = True,
) -> tuple[DoNotCallNumber, bool]:
    """SetDNC's write, for the caller that checked the call, the agent's
    identity and pre-requisites, and holds the lock of `account`
    (`agent_requests.set_dnc`): block `number` (held by mode `mode_id`) or,
    `number` None, the whole contact; `campaign_specific`, only on the
    account's campaign. Effective at once: do-not-call status is read live
    from the list, so every live mode it touches is flagged by this row.

    The same block (scope, number or contact, campaign, period) already
    standing changes nothing: returns it and False. Otherwise returns the
    new entry and True, after appending `entry` (who, call, scope, period,
    comment) to the audit chain, as the transaction's last write.

    `append` False (a DNC outcome, `lcm.actions.outcomes`): the same block,
    and `entry` filled the same way (its `do_not_call` part; event
    `unchanged` when the block already stood), but the caller appends it,
    as the one entry of its request."""
    campaign = account.campaign_id if campaign_specific else ""
    same = DoNotCallNumber.objects.select_for_update().filter(
        lifted_at=None, campaign=campaign, starts_at=starts_at, expires_at=expires_at
    )
    if number is not None:
        same = same.filter(match_q(number), scope=DoNotCallNumber.Scope.NUMBER)
    else:
        same = same.filter(scope=DoNotCallNumber.Scope.CONTACT, account=account)
    existing = same.order_by("pk").first()
    if existing is not None:
        if not append:
            _fill_entry(entry, account, number, mode_id)
            entry.do_not_call = {
                "event": "unchanged",
                "entry": existing.pk,
                "scope": existing.scope,
                "number": existing.number,
                "campaign": campaign,
                "starts_at": _iso(starts_at),
                "expires_at": _iso(expires_at),
                "comments": comments,
            }
        return existing, False
    row = DoNotCallNumber.objects.create(
        scope=DoNotCallNumber.Scope.NUMBER if number else DoNotCallNumber.Scope.CONTACT,
        number=number.number if number else "",
        number_e164=number.e164 if number else "",
        number_national=number.national if number else "",
        account=account,
        account_number=account.account_number,
        mode_id=mode_id if number else None,
        campaign=campaign,
        comments=comments,
        added_by=entry.username,
        agent_code=entry.agent_code,
        call=entry.call,
        callid=entry.callid,
        starts_at=starts_at,
        expires_at=expires_at,
    )
    _fill_entry(entry, account, number, mode_id)
    entry.do_not_call = {
        "event": "block",
        "entry": row.pk,
        "scope": row.scope,
        "number": row.number,
        "campaign": campaign,
        "starts_at": _iso(starts_at),
        "expires_at": _iso(expires_at),
        "comments": comments,
        "live_modes_flagged": _flagged(number, account, campaign),
    }
    if append:
        append_entry(entry)
    return row, True


def _fill_entry(
    entry: ModeChange, account: Account, number: CleanNumber | None, mode_id: int | None
) -> None:
    entry.action = ModeChange.Action.DO_NOT_CALL
    entry.account = account
    entry.account_number = account.account_number
    entry.mode_id = mode_id if number else 0
    entry.old_number = entry.new_number = number.number if number else ""
    entry.new_number_e164 = number.e164 if number else ""
    entry.deleted_modes = []
    entry.modes = []  # no mode's state changed: the list did


# --- Lifting a block (the supervisors' console) --------------------------------------

LIFT = "lcm.delete_donotcallnumber"
MAX_LIFT_REASON = 500


@transaction.atomic
def lift(
    *, entry_pk: int, reason: str, actor=None, context: RequestContext | None = None
) -> tuple[DoNotCallNumber, bool]:
    """Lift a block: it stops counting at once, and stays on the list as
    evidence with who lifted it, when and why (never deleted), and the
    audit chain gets an entry naming it (on the contact's account for a
    SetDNC block, on none for a list-wide one). Lifting a lifted block
    changes nothing: returns it and False."""
    permissions.require(actor, LIFT)
    reason = (reason or "").strip()
    problem = inputs.text_problem(reason, max_length=MAX_LIFT_REASON)
    if not reason or problem:
        message = errors.LIFT_REASON_REQUIRED if not reason else f"The reason {problem}"
        raise errors.InvalidInput(message, fields={"reason": [message]})
    account, row = _lock(entry_pk)
    if row.lifted_at is not None:
        return row, False
    row.lifted_at = timezone.now()
    row.lifted_by = permissions.username(actor, "system")
    row.lift_reason = reason
    row.save(update_fields=["lifted_at", "lifted_by", "lift_reason"])
    _append_list_event(
        row,
        ModeChange.Action.LIFT_DO_NOT_CALL,
        account=account,
        actor=actor,
        context=context,
        details={
            "event": "lift",
            "blocked_by": row.added_by,
            "blocked_callid": row.callid,
            "reason": reason,
        },
    )
    return row, True


def erase_comments(account: Account) -> int:
    """Erasure (lcm.actions.erasure): the agents' comments on the account's
    blocks blanked. The numbers stay: the list is what keeps them from being
    dialled again. Returns how many blocks."""
    return DoNotCallNumber.objects.filter(account=account).update(comments="")
