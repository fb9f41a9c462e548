"""List filters that never load a big table into a dropdown.

Django's related-field filters list every agent or campaign as a link: on
a contact centre's tables that is a huge page. These take typed input
instead (an AgentID, a campaign, a date range).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.utils import timezone
from django.utils.dateparse import parse_date

from lcm import inputs


class InputFilter(admin.SimpleListFilter):
    """An exact-match text box: set `title`, `parameter_name` and `lookup`."""

    template = "admin/lcm/console/input_filter.html"
    lookup = ""
    placeholder = ""

    def lookups(self, request, model_admin):
        return ()

    def has_output(self):
        return True

    def queryset(self, request, queryset):
        value = (self.value() or "").strip()
        problem = inputs.text_problem(value, max_length=128)
        if problem:
            raise IncorrectLookupParameters(f"{self.title}: {problem}")
        return queryset.filter(**{self.lookup: value}) if value else queryset

    def choices(self, changelist):
        yield {
            "parameter": self.parameter_name,
            "value": self.value() or "",
            "placeholder": self.placeholder,
            "keep": [(k, v) for k, v in changelist.params.items() if k != self.parameter_name],
            "clear_url": changelist.get_query_string(remove=[self.parameter_name]),
        }


def input_filter(parameter: str, title: str, lookup: str, placeholder: str = ""):
    return type(
        f"{parameter.title()}InputFilter",
        (InputFilter,),
        {
            "parameter_name": parameter,
            "title": title,
            "lookup": lookup,
            "placeholder": placeholder,
        },
    )


class DateRangeFilter(admin.ListFilter):
    """`<field>_from` and `<field>_to` (inclusive) as YYYY-MM-DD, in the
    site's time zone; an index on the field serves it."""

    template = "admin/lcm/console/date_range_filter.html"
    field = ""

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.bounds = {}
        for name in self.expected_parameters():
            if name in params:
                raw = params.pop(name)[-1].strip()
                if raw:
                    day = parse_date(raw) if len(raw) == 10 else None
                    if day is None:
                        raise IncorrectLookupParameters(f"{raw!r} is not a date (YYYY-MM-DD).")
                    self.bounds[name] = day
                self.used_parameters[name] = raw

    def expected_parameters(self):
        return [f"{self.field}_from", f"{self.field}_to"]

    def has_output(self):
        return True

    def queryset(self, request, queryset):
        start, end = self.expected_parameters()
        tz = timezone.get_current_timezone()
        if start in self.bounds:
            since = datetime.combine(self.bounds[start], time.min, tzinfo=tz)
            # From year 1's midnight in a zone ahead of UTC: before the
            # calendar in UTC, so no lower bound at all.
            if not inputs.moment_problem(since):
                queryset = queryset.filter(**{f"{self.field}__gte": since})
        if end in self.bounds:
            # Through the calendar's last day: no upper bound at all.
            until = inputs.after(
                datetime.combine(self.bounds[end], time.min, tzinfo=tz), timedelta(days=1)
            )
            if until is not None:
                queryset = queryset.filter(**{f"{self.field}__lt": until})
        return queryset

    def choices(self, changelist):
        start, end = self.expected_parameters()
        yield {
            "start": start,
            "end": end,
            "start_value": self.used_parameters.get(start, ""),
            "end_value": self.used_parameters.get(end, ""),
            "keep": [(k, v) for k, v in changelist.params.items() if k not in (start, end)],
            "clear_url": changelist.get_query_string(remove=[start, end]),
        }


def date_range_filter(field: str, title: str):
    return type(
        f"{field.title().replace('_', '')}RangeFilter",
        (DateRangeFilter,),
        {"field": field, "title": title},
    )
