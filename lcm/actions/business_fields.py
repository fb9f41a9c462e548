"""An account's business field values (spec campaign-services.md section 6):
the only writer of `BusinessFieldValue`. The values are the contact's
personal data: `erase_contact` removes them through `erase_for_account`.

- `parse`: a value checked against its field's type and format, as stored.
- `set_values` (SetContactBusinessFields): all or nothing, one audit entry
  (action `business_fields`, each field's before and after in its personal
  column `business_fields`, which `erase_contact` empties with the numbers).
- `dnc_fields` (GetDNCBussField) and `screen_pop` (GetScreenPopData): reads,
  not audited; `values_of` for the console's account page.
- `holders`: the accounts whose field of that name holds that value, the
  value read as `parse` stores it (the inbound look-up's business field).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from lcm import errors
from lcm.audit import append_entry
from lcm.models import (
    Account,
    BusinessField,
    BusinessFieldValue,
    ContactMode,
    ModeChange,
    ModeType,
)

from . import RequestContext, call_access, campaigns

DEFAULT_STRING_LENGTH = 255
MAX_ITEMS = 50
# DateTime formats (the spec's), each a strict shape and its strptime form.
DATE_FORMATS = {
    "DD/MM/YYYY": (re.compile(r"^\d{2}/\d{2}/\d{4}$"), "%d/%m/%Y"),
    "DD/MM/YYYY HH:mm": (re.compile(r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}$"), "%d/%m/%Y %H:%M"),
    "YYYY-MM-DD": (re.compile(r"^\d{4}-\d{2}-\d{2}$"), "%Y-%m-%d"),
}
DECIMALS_FORMAT = re.compile(r"^0(?:\.(0+))?$")
NUMBER = re.compile(r"^-?[0-9]{1,18}(?:\.([0-9]{1,18}))?$")
BOOLEANS = {"true": "true", "false": "false"}


FORMAT_RULES = {
    BusinessField.DataType.STRING: "A String's format is its maximum length, 1 to 255 "
    "(empty: 255).",
    BusinessField.DataType.NUMBER: 'A Number\'s format is "" (an integer) or 0.00 '
    "(as many zeros as decimal places).",
    BusinessField.DataType.DATETIME: "A DateTime's format is "
    + ", ".join(list(DATE_FORMATS)[:-1])
    + " or "
    + list(DATE_FORMATS)[-1]
    + ".",
    BusinessField.DataType.BOOLEAN: "A Boolean has no format: leave it empty.",
}


def format_problem(data_type: str, format_: str) -> str | None:
    """Why `format_` is not a format of `data_type` (section 6), or None.
    The console's campaign page asks it before a field is saved, so `parse`
    never meets a format the spec does not have."""
    if data_type == BusinessField.DataType.STRING:
        ok = format_ == "" or (format_.isascii() and format_.isdigit()
                               and 1 <= int(format_) <= DEFAULT_STRING_LENGTH)  # fmt: skip
    elif data_type == BusinessField.DataType.NUMBER:
        ok = format_ == "" or DECIMALS_FORMAT.fullmatch(format_) is not None
    elif data_type == BusinessField.DataType.DATETIME:
        ok = format_ in DATE_FORMATS
    elif data_type == BusinessField.DataType.BOOLEAN:
        ok = format_ == ""
    else:
        return None  # the type's own choice refuses it
    return None if ok else FORMAT_RULES[data_type]


class BadValue(ValueError):
    """A value its field's type and format refuse; the text says why."""


def decimals(field: BusinessField) -> int:
    """A Number field's decimal places: `""` (or `0`) integer, `0.00` two."""
    match = DECIMALS_FORMAT.match(field.format or "0")
    return len(match.group(1) or "") if match else 0


def parse(field: BusinessField, value: str) -> str:
    """`value` as stored for `field` (a Number with its format's decimals, a
    Boolean lower-case), or BadValue. `""` is not parsed: it clears."""
    kind = field.data_type
    if kind == BusinessField.DataType.STRING:
        limit = int(field.format) if field.format.isdigit() else DEFAULT_STRING_LENGTH
        limit = min(limit, DEFAULT_STRING_LENGTH)
        if len(value) > limit:
            raise BadValue(f"is longer than {limit} characters")
        return value
    if kind == BusinessField.DataType.NUMBER:
        places = decimals(field)
        match = NUMBER.match(value)
        if match is None:
            raise BadValue("is not a number" + (f" (e.g. {'1.' + '0' * places})" if places else ""))
        if len(match.group(1) or "") > places:
            raise BadValue(
                f"has more than {places} decimal places" if places else "is not an integer"
            )
        number = Decimal(value)
        if number == 0:
            number = abs(number)  # "-0" is 0, not "-0.00"
        return f"{number:.{places}f}"
    if kind == BusinessField.DataType.DATETIME:
        shape, pattern = DATE_FORMATS.get(field.format, DATE_FORMATS["DD/MM/YYYY"])
        try:
            if not shape.match(value):
                raise ValueError
            dt.datetime.strptime(value, pattern)
        except ValueError:
            raise BadValue(f"is not a date as {field.format or 'DD/MM/YYYY'}") from None
        return value
    stored = BOOLEANS.get(value.lower())
    if stored is None:
        raise BadValue("is not true or false")
    return stored


def _key(name: str) -> str:
    return f"businessField.{name}"


@dataclass(frozen=True)
class Item:
    name: str
    value: str
    data_type: str


def _refuse(error_class, name: str, message: str):
    raise error_class(message, fields={_key(name): [message]})


@transaction.atomic
def set_values(
    *,
    callid: str,
    account_number: str,
    agent_id: str,
    items: list[Item],
    actor,
    context: RequestContext = RequestContext(),  # noqa: B008 (frozen, no state)
) -> ModeChange | None:
    """SetContactBusinessFields: every item is checked (field of the
    campaign, agent-editable, its DataType, its value), then all are stored
    and audited in one entry; a refusal stores nothing. Values equal to the
    stored ones change nothing: no change at all, no entry (returns None)."""
    access = call_access.for_write(
        callid=callid, account_number=account_number, agent_id=agent_id, actor=actor
    )
    account = access.account
    fields = {f.name: f for f in BusinessField.objects.filter(campaign_id=account.campaign_id)}
    seen: set[str] = set()
    checked: list[tuple[BusinessField, str]] = []
    for item in items:
        field = fields.get(item.name)
        if item.name in seen:
            message = errors.BUSINESS_FIELD_TWICE.format(name=item.name)
            _refuse(errors.InvalidInput, item.name, message)
        seen.add(item.name)
        if field is None:
            _refuse(
                errors.UnknownBusinessField,
                item.name,
                errors.UNKNOWN_BUSINESS_FIELD.format(
                    campaign=account.campaign_id or campaigns.DEFAULT_NAME, name=item.name
                ),
            )
        if not field.agent_editable:
            message = errors.BUSINESS_FIELD_READ_ONLY.format(name=item.name)
            raise errors.NotAllowed(message, fields={_key(item.name): [message]})
        if item.data_type != field.data_type:
            _refuse(
                errors.FieldTypeMismatch,
                item.name,
                errors.FIELD_TYPE_MISMATCH.format(
                    name=item.name, expected=field.data_type, given=item.data_type
                ),
            )
        if item.value == "":
            if field.mandatory:
                _refuse(
                    errors.InvalidBusinessField, item.name, f"{item.name} is mandatory: not empty."
                )
            checked.append((field, ""))
            continue
        try:
            checked.append((field, parse(field, item.value)))
        except BadValue as exc:
            _refuse(errors.InvalidBusinessField, item.name, f"{item.name} {exc}.")
    stored = {
        v.field_id: v
        for v in BusinessFieldValue.objects.filter(
            account=account, field__in=[f for f, _ in checked]
        )
    }
    changes = []
    for field, value in checked:
        old = stored.get(field.pk)
        before = old.value if old is not None else ""
        if before == value:
            continue
        if value == "":
            old.delete()
        elif old is None:
            BusinessFieldValue.objects.create(account=account, field=field, value=value)
        else:
            old.value = value
            old.save(update_fields=["value"])
        changes.append({"FieldName": field.name, "before": before, "after": value})
    if not changes:
        return None
    call, agent = access.call, access.agent
    return append_entry(
        ModeChange(
            action=ModeChange.Action.BUSINESS_FIELDS,
            account=account,
            account_number=account.account_number,
            call=call,
            callid=call.callid,
            agent=agent,
            agent_code=agent.agent_id,
            user=actor,
            username=actor.get_username(),
            source=context.source,
            client_ip=context.client_ip,
            request_id=context.request_id,
            mode_id=0,
            new_number="",
            created_at=timezone.now(),
            business_fields=changes,
        )
    )


def values_of(account: Account) -> list[tuple[BusinessField, str]]:
    """Every business field of the account's campaign with its value (`""`
    when unset), in the campaign's order."""
    fields = list(BusinessField.objects.filter(campaign_id=account.campaign_id).order_by("id"))
    values = dict(
        BusinessFieldValue.objects.filter(account=account).values_list("field_id", "value")
    )
    return [(field, values.get(field.pk, "")) for field in fields]


def dnc_fields(*, callid: str, account_number: str, actor) -> list[dict]:
    """GetDNCBussField: the campaign's DNC fields with the contact's values."""
    access = call_access.for_read(callid=callid, account_number=account_number, actor=actor)
    return [
        {
            "FieldName": field.name,
            "Value": value,
            "DataType": field.data_type,
            "Format": field.format,
        }
        for field, value in values_of(access.account)
        if field.dnc_field
    ]


def screen_pop(*, callid: str, account_number: str, actor) -> dict[str, str]:
    """GetScreenPopData: the contact's names, its screen-pop fields by name,
    and each mode its campaign enables by description with its live number."""
    access = call_access.for_read(callid=callid, account_number=account_number, actor=actor)
    account = access.account
    data = {"FName": account.first_name, "LName": account.last_name}
    for field, value in values_of(account):
        if field.screen_pop:
            data[field.name] = value
    rules = campaigns.rules(account.campaign_id)
    types = ModeType.objects.order_by("id")
    if not rules.every_mode_type:
        types = types.filter(id__in=list(rules.modes))
    live = dict(
        ContactMode.objects.filter(account=account, deleted_at=None).values_list(
            "mode_type_id", "number"
        )
    )
    for mode_type in types:
        data.setdefault(mode_type.name, live.get(mode_type.id, ""))
    return data


def holders(name: str, value: str):
    """The ids (a subquery) of the accounts whose business field `name`
    holds `value`, read through each such field's type as `parse` stores it:
    `Balance=120.5` finds the stored `120.50`, `Flag=TRUE` finds `true`. A
    value a field refuses (or `""`) matches nothing under that field; an
    unknown name matches nothing."""
    wanted = Q(pk__in=[])
    for field in BusinessField.objects.filter(name=name):
        if value == "":
            continue
        try:
            stored = parse(field, value)
        except BadValue:
            continue
        wanted |= Q(field=field, value=stored)
    return BusinessFieldValue.objects.filter(wanted).values("account_id")


def erase_for_account(account: Account) -> int:
    """Delete every business field value of `account`; returns how many."""
    count, _ = BusinessFieldValue.objects.filter(account=account).delete()
    return count


def holds_values(account: Account) -> bool:
    return BusinessFieldValue.objects.filter(account=account).exists()
