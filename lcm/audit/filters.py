"""How auditors filter the audit log: one set of rules for the admin and the API.

Each filter is a form field that parses and checks its value (a bad date,
an unknown agent gets a clear message, never a 500) and the ORM lookup it
applies. `ModeChangeFilter` (django-filter) serves the API; the admin's list
filters (`lcm.admin.audit`) wrap the same fields. Every lookup is served by
an index of `ModeChange` (see its Meta): no filter scans the whole log.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import django_filters
from django import forms
from django.utils import timezone

from .. import inputs
from ..models import Account, Agent, Call, ModeChange

MOMENT_HELP = (
    "An ISO 8601 date or date-time, e.g. 2026-11-26 or 2026-11-26T14:30:00Z "
    "(without an offset: the server's time zone)."
)
# Messages for bad values (`%(value)s` is the value given).
NOT_A_DATE = "%(value)s is not a date. " + MOMENT_HELP
UNKNOWN_ACCOUNT = "No account has the LCM key %(value)s."
UNKNOWN_AGENT = "No agent %(value)s is known."
UNKNOWN_CALL = "No call %(value)s is known."
NOT_A_MODE = "ModeID must be a whole number, e.g. 1."
MODE_OUT_OF_RANGE = "ModeID " + inputs.OUT_OF_RANGE.format(min=1, max=32767)
MOMENT_OUT_OF_RANGE = "%(value)s is outside the calendar: a moment " + inputs.MOMENT_OUT_OF_RANGE
# The longest filter value worth a query: longer names nothing stored.
MAX_VALUE_LENGTH = 128


def _not_a_moment(text: str) -> forms.ValidationError:
    return forms.ValidationError(NOT_A_DATE, code="invalid", params={"value": repr(text)})


def parse_moment(text: str, *, first_day_from_start: bool = False) -> tuple[dt.datetime, bool]:
    """`text` as an aware datetime, and whether it was a bare date.

    The moment must lie within the calendar in UTC (`lcm.inputs`), so that
    both databases can compare it: `0001-01-01T00:00:00+14:00` cannot. With
    `first_day_from_start`, the calendar's first day as a bare date, whose
    midnight in a zone ahead of UTC is before it, means its first moment.
    """
    text = text.strip()
    try:
        moment, is_date = dt.datetime.combine(dt.date.fromisoformat(text), dt.time()), True
    except ValueError:
        try:
            moment, is_date = dt.datetime.fromisoformat(text), False
        except ValueError:
            raise _not_a_moment(text) from None
    try:
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
    except OverflowError:
        moment = None
    if first_day_from_start and is_date and moment.date() == dt.date.min:
        return dt.datetime.min.replace(tzinfo=dt.UTC), True
    if moment is None or inputs.moment_problem(moment):
        raise forms.ValidationError(
            MOMENT_OUT_OF_RANGE, code="out_of_range", params={"value": repr(text)}
        )
    return moment, is_date


class TextField(forms.CharField):
    """A filter's text: what `lcm.inputs.text_problem` lets every door store."""

    def clean(self, value):
        problem = value and inputs.text_problem(value, max_length=MAX_VALUE_LENGTH)
        if problem:
            raise forms.ValidationError(
                "%(value)s " + problem, code="invalid_text", params={"value": repr(value[:40])}
            )
        return super().clean(value)


class SinceField(TextField):
    """Entries at or after this moment (a date: from its midnight)."""

    def clean(self, value):
        value = super().clean(value)
        return parse_moment(value, first_day_from_start=True)[0] if value else None


class UntilField(TextField):
    """Entries up to this moment, included (a date: the whole day).

    Cleans to the exclusive upper bound, so the lookup is always `__lt`;
    up to the last day of the calendar there is no upper bound (None).
    """

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        moment, is_date = parse_moment(value)
        step = dt.timedelta(days=1) if is_date else dt.timedelta(microseconds=1)
        return inputs.after(moment, step)


class _KnownValueField(TextField):
    """A value that must name something known (`exists(value)`)."""

    unknown = "%(value)s"

    def exists(self, value: str) -> bool:  # pragma: no cover - overridden
        raise NotImplementedError

    def clean(self, value):
        value = (super().clean(value) or "").strip()
        if value and not self.exists(value):
            raise forms.ValidationError(self.unknown, code="unknown", params={"value": value})
        return value or None


class AccountKeyField(_KnownValueField):
    unknown = UNKNOWN_ACCOUNT

    def exists(self, value):
        return Account.objects.filter(account_number=value).exists()


class AgentIdField(_KnownValueField):
    unknown = UNKNOWN_AGENT

    def exists(self, value):
        # An agent renamed since keeps its old AgentID in its entries.
        return (
            Agent.objects.filter(agent_id=value).exists()
            or ModeChange.objects.filter(agent_code=value).exists()
        )


class CallIdField(_KnownValueField):
    unknown = UNKNOWN_CALL

    def exists(self, value):
        return (
            Call.objects.filter(callid=value).exists()
            or ModeChange.objects.filter(callid=value).exists()
        )


class ModeIdField(forms.CharField):
    """A ModeID, its digits bounded before conversion (`lcm.inputs.bounded_int`)."""

    def clean(self, value):
        value = (super().clean(value) or "").strip()
        if not value:
            return None
        try:
            return inputs.bounded_int(value, minimum=1, maximum=32767)
        except inputs.OutOfBounds as exc:
            message = NOT_A_MODE if str(exc) == inputs.NOT_WHOLE_NUMBER else MODE_OUT_OF_RANGE
            raise forms.ValidationError(message, code="invalid") from None


class SourceField(TextField):
    def clean(self, value):
        return (super().clean(value) or "").strip() or None


# --- The filters -------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    """One query parameter: the field that cleans it and the lookup it applies."""

    field_class: type[forms.Field]
    field_name: str
    lookup_expr: str
    help_text: str

    @property
    def lookup(self) -> str:
        return f"{self.field_name}__{self.lookup_expr}"


FILTERS = {
    "account": AuditFilter(
        AccountKeyField, "account__account_number", "exact", "The account's LCM key, exactly."
    ),
    "callid": AuditFilter(CallIdField, "callid", "exact", "The call ID, exactly."),
    "agent": AuditFilter(AgentIdField, "agent_code", "exact", "The AgentID, exactly."),
    "mode": AuditFilter(ModeIdField, "mode_id", "exact", "The ModeID (1 Home, 2 Office…)."),
    "source": AuditFilter(SourceField, "source", "exact", "The source app, exactly."),
    "since": AuditFilter(SinceField, "created_at", "gte", "From this moment. " + MOMENT_HELP),
    "until": AuditFilter(
        UntilField, "created_at", "lt", "Up to this moment (a date: that whole day). " + MOMENT_HELP
    ),
}


def newest_first(params) -> list[str]:
    """The order of a list of entries, newest first, given its query parameters.

    By `seq`; but with a date range, by `created_at` (the same order: both
    grow together): then the date index serves both the range and the
    order, where PostgreSQL would otherwise walk the `seq` index backwards
    from today to the range (it cannot know that seq and date correlate).
    """
    if params.get("since") or params.get("until"):
        return ["-created_at", "-seq"]
    return ["-seq"]


class _Filter(django_filters.Filter):
    def __init__(self, spec: AuditFilter):
        self.field_class = spec.field_class
        super().__init__(
            field_name=spec.field_name, lookup_expr=spec.lookup_expr, help_text=spec.help_text
        )


class ModeChangeFilter(django_filters.FilterSet):
    """The audit log's query parameters, for the API (the admin wraps `FILTERS`)."""

    account = _Filter(FILTERS["account"])
    callid = _Filter(FILTERS["callid"])
    agent = _Filter(FILTERS["agent"])
    mode = _Filter(FILTERS["mode"])
    source = _Filter(FILTERS["source"])
    since = _Filter(FILTERS["since"])
    until = _Filter(FILTERS["until"])

    class Meta:
        model = ModeChange
        fields: list[str] = []
