"""The auditors' view of the audit log: read-only for everyone.

Built for a log of millions of entries: the list never counts the whole
table (`AuditPaginator`), every filter is a text input or a short list
(no dropdown of a whole table) applied through an index, the search is
exact (index lookups, no LIKE scan), only the indexed columns sort, and
there are no bulk actions. Filter values are checked by the same fields as
the API's (`lcm.audit_filters`): a bad one gets a message, never a 500.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join

from lcm.actions import erasure
from lcm.audit_export import csv_response
from lcm.audit_filters import FILTERS, newest_first
from lcm.models import Account, ModeChange, ModeType
from lcm.replica import auditor_db, check_auditor_db

from .words import PlainWords, short_time

_SEPARATORS = re.compile(r"[\s\-.()]")


class AuditPaginator(Paginator):
    """Pages without `COUNT(*)` over the whole log.

    The unfiltered list on PostgreSQL takes the planner's row estimate
    (`pg_class.reltuples`, kept by autovacuum); any other list counts at
    most `CAP` + 1 rows (`SELECT COUNT(*) FROM (… LIMIT CAP + 1)`, an index
    range), and says "more than CAP" beyond: narrow the filters to go on.
    """

    CAP = 10_000

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        connection = connections[queryset.db]
        if connection.vendor == "postgresql" and not queryset.query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    [queryset.model._meta.db_table],
                )
                estimate = cursor.fetchone()[0]
            if estimate > self.CAP:
                self.count_label = f"about {estimate:,}"
                return estimate
        counted = queryset[: self.CAP + 1].count()
        self.count_label = f"more than {self.CAP:,}" if counted > self.CAP else f"{counted:,}"
        return counted


def _report(request, message: str) -> None:
    """A bad filter value: the list shows nothing and says why."""
    request.lcm_filter_errors = [*getattr(request, "lcm_filter_errors", []), message]
    if not getattr(request, "lcm_csv_export", False):
        messages.error(request, message)


class InputFilter(admin.ListFilter):
    """Text inputs for `lcm.audit_filters.FILTERS` parameters."""

    template = "admin/lcm/input_filter.html"
    parameters: dict[str, str] = {}  # query parameter -> label

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        for name in self.parameters:
            if name in params:
                self.used_parameters[name] = params.pop(name)[-1]

    def has_output(self) -> bool:
        return True

    def expected_parameters(self):
        return list(self.parameters)

    def choices(self, changelist):
        yield {
            "inputs": [
                (name, label, self.used_parameters.get(name, ""), FILTERS[name].help_text)
                for name, label in self.parameters.items()
            ],
            "hidden": [
                (key, value)
                for key, values in changelist.filter_params.items()
                if key not in self.parameters
                for value in values
            ],
            "clear_url": changelist.get_query_string(remove=list(self.parameters))
            if self.used_parameters
            else None,
        }

    def queryset(self, request, queryset):
        for name, raw in self.used_parameters.items():
            spec = FILTERS[name]
            try:
                value = spec.field_class(required=False).clean(raw)
            except ValidationError as exc:
                _report(request, f"{self.parameters[name]}: {' '.join(exc.messages)}")
                return queryset.none()
            if value is not None:
                queryset = queryset.filter(**{spec.lookup: value})
        return queryset


class DateRangeFilter(InputFilter):
    title = "date"
    parameters = {"since": "Since", "until": "Until"}


class AccountFilter(InputFilter):
    title = "account"
    parameters = {"account": "LCM key"}


class CallFilter(InputFilter):
    title = "call"
    parameters = {"callid": "Call ID"}


class AgentFilter(InputFilter):
    title = "agent"
    parameters = {"agent": "AgentID"}


class SourceFilter(InputFilter):
    title = "source"
    parameters = {"source": "Source (admin, import…)"}


class ModeFilter(admin.SimpleListFilter):
    """The mode types are a short table: a list of links is fine here."""

    title = "mode"
    parameter_name = "mode"

    def lookups(self, request, model_admin):
        return [
            (str(pk), f"{pk} {name}") for pk, name in ModeType.objects.values_list("id", "name")
        ]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        try:
            mode_id = FILTERS["mode"].field_class(required=False).clean(self.value())
        except ValidationError as exc:
            _report(request, f"Mode: {' '.join(exc.messages)}")
            return queryset.none()
        return queryset.filter(mode_id=mode_id) if mode_id is not None else queryset


def _state_text(state: dict | None) -> str:
    """A mode's recorded state in a line: "+12025550143, consent (import), America/Chicago,
    09:00-17:00"; "no live mode" for none."""
    if state is None:
        return "no live mode"
    parts = [state["e164"] or state["number"]]
    if state["pewc"]:
        parts.append(f"consent ({state['pewc_source']} {state['pewc_by']})".replace(" )", ")"))
    if state["time_zone"]:
        parts.append(state["time_zone"])
    if state["window"]:
        parts.append("-".join(state["window"]))
    return ", ".join(parts)


def source_label(entry) -> str:
    """What sent the change: the app the envelope named, else "API" for an
    agent's request (an envelope that named no source)."""
    if entry.source:
        return entry.source
    return "API" if entry.action == ModeChange.Action.SET else "—"


@admin.register(ModeChange)
class ModeChangeAdmin(PlainWords, admin.ModelAdmin):
    """Read-only for everyone: the table is append-only."""

    list_title = "Audit log"

    def object_title(self, obj):
        if obj.account_id is None:
            return f"Audit entry #{obj.seq}: do-not-call list, {obj.new_number}"
        if not obj.mode_id:
            return f"Audit entry #{obj.seq}: {obj.account_number}"
        return f"Audit entry #{obj.seq}: {obj.account_number}, mode {obj.mode_id}"

    list_display = [
        "seq",
        "when",
        "account_link",
        "mode",
        "old_number_shown",
        "new_number",
        "deleted",
        "call_link",
        "by",
        "source_display",
        "action_display",
    ]
    list_display_links = ["seq"]
    list_filter = [
        DateRangeFilter,
        AccountFilter,
        CallFilter,
        AgentFilter,
        ModeFilter,
        SourceFilter,
        "action",  # a choices field: its list comes from code, not a query
    ]
    search_fields = ["=account_number", "=callid", "=agent_code", "=new_number", "=old_number"]
    search_help_text = "Exact LCM key, call ID, AgentID, or number (old or new)."
    list_select_related = ["reverts", "erased_by"]
    list_per_page = 100
    sortable_by = ["seq", "created_at"]  # the indexed ones: no sort of the whole log
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # facets count the whole table
    paginator = AuditPaginator
    actions = None
    fieldsets = [
        ("Change", {"fields": ["action", "mode", "old_number_shown", "new_number",
                               "new_number_international", "deleted", "reverts", "touched",
                               "do_not_call_detail", "callback_detail", "erased"]}),
        ("Who and where", {"fields": ["account_shown", "account_number", "call", "callid", "agent",
                                      "agent_code", "user", "username", "source_display"]}),
        ("When and from where", {"fields": ["when", "client_address", "request_id"]}),
        ("Chain", {"fields": ["seq", "prev_hash", "hash"]}),
    ]  # fmt: skip
    readonly_fields = [
        "old_number_shown",
        "callback_detail",
        "account_shown",
        "erased",
        "deleted",
        "touched",
        "do_not_call_detail",
        "mode",
        "new_number_international",
        "source_display",
        "when",
        "client_address",
    ]

    @admin.display(description="When", ordering="created_at")
    def when(self, obj):
        return short_time(obj.created_at)

    @admin.display(description="Mode", ordering="mode_id")
    def mode(self, obj):
        return obj.mode_id or "—"  # 0: a list's entry (do-not-call), no one mode

    @admin.display(description="Old number")
    def old_number_shown(self, obj):
        """The number the mode held before; none for an entry that changed
        no mode (do-not-call, callback: they name one number, the new)."""
        return (obj.changes_modes and obj.old_number) or "—"

    @admin.display(description="New number (E.164)")
    def new_number_international(self, obj):
        return obj.new_number_e164 or "—"

    @admin.display(description="Client address")
    def client_address(self, obj):
        return obj.client_ip or "—"

    @admin.display(description="By")
    def by(self, obj):
        """The AgentID acted for, else the user."""
        if obj.agent_code and obj.username and obj.agent_code != obj.username:
            return f"{obj.agent_code} ({obj.username})"
        return obj.agent_code or obj.username or "—"

    @admin.display(description="Source")
    def source_display(self, obj):
        return source_label(obj)

    @admin.display(description="account")
    def account_link(self, obj):
        if obj.account_id is None:
            return "every account"  # a list-wide do-not-call entry belongs to none
        account = reverse("admin:lcm_account_change", args=[obj.account_id])
        history = (
            reverse("admin:lcm_modechange_changelist")
            + "?"
            + urlencode({"account": obj.account_number})
        )
        return format_html(
            '<a href="{}">{}</a> <a href="{}" title="Every change of this account">(history)</a>',
            account,
            obj.account_number,
            history,
        )

    @admin.display(description="call")
    def call_link(self, obj):
        if obj.call_id is None:
            return obj.callid or "—"
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:lcm_call_change", args=[obj.call_id]), obj.callid
        )

    @admin.display(description="also deleted")
    def deleted(self, obj):
        if not obj.deleted_modes:
            return "—"
        return format_html_join(
            ", ", "mode {}: {}", ((m["mode_id"], m["number"]) for m in obj.deleted_modes)
        )

    @admin.display(description="do-not-call block")
    def do_not_call_detail(self, obj):
        """A block added (SetDNC) or lifted: scope, period, comment, reason."""
        if obj.do_not_call is None:
            return "—"
        return format_html_join(
            "; ", "{}: {}", ((k, "—" if v in (None, "") else v) for k, v in obj.do_not_call.items())
        )

    @admin.display(description="callback")
    def callback_detail(self, obj):
        """A callback entry's event: scheduled, done, cancelled or reassigned."""
        if obj.callback is None:
            return "—"
        return format_html_join(
            "; ", "{}: {}", ((k, "—" if v in (None, "") else v) for k, v in obj.callback.items())
        )

    @admin.display(description="account")
    def account_shown(self, obj):
        if obj.account_id is None:
            return "every account (a do-not-call entry for the whole list)"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:lcm_account_change", args=[obj.account_id]),
            obj.account,
        )

    @admin.display(description="every mode it touched, before → after")
    def touched(self, obj):
        """The entry's `modes`: each mode's state before and after."""
        if obj.modes is None:
            return "— (recorded before entries kept it: see the fields above)"
        if not obj.modes:
            return "— (none: it changed a list, not a mode)"
        return format_html(
            "<table><thead><tr><th>Mode</th><th>Before</th><th>After</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (m["mode_id"], _state_text(m["before"]), _state_text(m["after"]))
                    for m in obj.modes
                ),
            ),
        )

    @admin.display(description="personal data")
    def erased(self, obj):
        """In place of erased values: when, by whom, why (lcm.actions.erasure)."""
        return erasure.marker(obj) or "—"

    @admin.display(description="action")
    def action_display(self, obj):
        shown = obj.get_action_display()
        if obj.reverts_id:
            shown = f"{shown} of #{obj.reverts.seq}"
        if obj.erased_by_id is not None or obj.erasure is not None:
            shown = f"{shown} — {erasure.marker(obj)}"
        return shown

    def get_ordering(self, request):
        return newest_first(request.GET)

    def get_queryset(self, request):
        """The list, its CSV and each entry's page read from the auditors'
        database: a read replica when there is one (lcm.replica). The
        querysets leave the view unevaluated (the template, the stream)."""
        return super().get_queryset(request).using(auditor_db())

    def get_search_results(self, request, queryset, search_term):
        """Exact matches only, each through an index.

        Only the kinds of value the term actually is (an LCM key, a call ID…:
        one indexed `exists()` each) enter the OR: an OR of conditions that
        match nothing misleads the planner into walking the whole log.
        """
        term = search_term.strip()
        if not term:
            return queryset, False
        number = _SEPARATORS.sub("", term)
        reads = queryset.db
        account_ids = list(
            Account.objects.using(reads).filter(account_number=term).values_list("pk", flat=True)
        )
        candidates = [
            Q(account_id__in=account_ids) if account_ids else None,
            Q(callid=term),
            Q(agent_code=term),
            Q(new_number=number) if number else None,
            Q(old_number=number) if number else None,
        ]
        match = Q()
        for candidate in candidates:
            if candidate is not None and ModeChange.objects.using(reads).filter(candidate).exists():
                match |= candidate
        return (queryset.filter(match) if match else queryset.none()), False

    # --- CSV export of the filtered list ---------------------------------------

    def get_urls(self):
        return [
            path(
                "export/",
                self.admin_site.admin_view(self.export_view),
                name="lcm_modechange_export",
            ),
            *super().get_urls(),
        ]

    def export_view(self, request):
        """The current list (filters, search, order) as a streamed CSV."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        check_auditor_db()  # before the stream starts: a down replica is the 503 page
        request.GET = request.GET.copy()
        request.GET.pop("p", None)  # the whole list, not a page
        request.lcm_csv_export = True
        changelist_url = reverse("admin:lcm_modechange_changelist")
        try:
            changelist = self.get_changelist_instance(request)
        except admin.options.IncorrectLookupParameters:
            return HttpResponseRedirect(changelist_url + "?e=1")
        if getattr(request, "lcm_filter_errors", None):
            # The list itself says what is wrong with the filters.
            return HttpResponseRedirect(changelist_url + "?" + request.GET.urlencode())
        return csv_response(changelist.queryset)

    def changelist_view(self, request, extra_context=None):
        # A replica down or too far behind: the 503 page (lcm.faults), not a 500.
        check_auditor_db()
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """An entry already reverted says by which entry, and offers no revert."""
        check_auditor_db()
        extra = dict(extra_context or {})
        entry = self.get_object(request, object_id)
        if entry is not None:
            extra["reverted_by"] = (
                entry.reverted_by.filter(reverted_by__isnull=True).order_by("seq").first()
            )
        return super().change_view(request, object_id, form_url, extra_context=extra)

    # --- Read-only, for everyone ------------------------------------------------

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
