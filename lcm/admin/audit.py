"""The auditors' view of the audit log: read-only for everyone.

Built for a log of millions of entries: the list never counts the whole
table (`AuditPaginator`), every filter is a text input or a short list
(no dropdown of a whole table) applied through an index, the search is
exact (index lookups, no LIKE scan), only the indexed columns sort, and
there are no bulk actions. Filter values are checked by the same fields as
the API's (`lcm.audit.filters`): a bad one gets a message, never a 500.
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
from django.utils.dateparse import parse_datetime
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join

from lcm.actions import erasure
from lcm.audit.export import csv_response
from lcm.audit.filters import FILTERS, newest_first
from lcm.models import Account, Campaign, ModeChange, ModeType, StateLaw, TelephonyOutcome
from lcm.replica import auditor_db, check_auditor_db

from . import display, entries
from .words import PlainWords

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


class AuditFilters(admin.ListFilter):
    """Every filter of the log in one form with one Filter button: the
    moments, the LCM key, the call, the agent and the source are typed
    (`lcm.audit.filters.FILTERS`, the API's own fields); the mode and the
    action are short lists. The query parameters are the API's (`since`,
    `account`…; `action__exact` as Django's choice filter named it)."""

    title = "entries"
    template = "admin/lcm/modechange/filters.html"
    TEXT = {
        "since": "Since",
        "until": "Until",
        "account": "LCM key",
        "callid": "Call ID",
        "agent": "AgentID",
        "source": "Source",
    }
    MODE, ACTION = "mode", "action__exact"
    HELP = {
        "since": "A date (2026-11-26) or a moment (2026-11-26T14:30), the floor's time zone",
        "until": "A date (the whole day) or a moment, the floor's time zone",
        "source": "admin, import, dialer, API…",
    }

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        for name in self.expected_parameters():
            if name in params:
                self.used_parameters[name] = params.pop(name)[-1]

    def has_output(self) -> bool:
        return True

    def expected_parameters(self):
        return [*self.TEXT, self.MODE, self.ACTION]

    def choices(self, changelist):
        used = self.used_parameters
        modes = ModeType.objects.using(auditor_db()).order_by("id").values_list("id", "name")
        yield {
            "texts": [
                (name, label, used.get(name, ""), self.HELP.get(name, FILTERS[name].help_text))
                for name, label in self.TEXT.items()
            ],
            "mode": used.get(self.MODE, ""),
            "modes": [(str(pk), f"{pk} {name}") for pk, name in modes],
            "action": used.get(self.ACTION, ""),
            "actions": ModeChange.Action.choices,
            "hidden": [
                (key, value)
                for key, value in changelist.params.items()
                if key not in self.expected_parameters() and key not in ("p", "e")
            ],
            "clear_url": changelist.get_query_string(remove=self.expected_parameters())
            if any(used.values())
            else None,
        }

    def queryset(self, request, queryset):
        for name, raw in self.used_parameters.items():
            if not raw:
                continue
            if name == self.ACTION:
                if raw not in ModeChange.Action.values:
                    _report(request, f"Action: {raw!r} is not an action of the log.")
                    return queryset.none()
                queryset = queryset.filter(action=raw)
                continue
            spec = FILTERS[name]
            try:
                value = spec.field_class(required=False).clean(raw)
            except ValidationError as exc:
                label = self.TEXT.get(name, "Mode")
                _report(request, f"{label}: {' '.join(exc.messages)}")
                return queryset.none()
            if value is not None:
                queryset = queryset.filter(**{spec.lookup: value})
        return queryset


def _state_text(state: dict | None) -> str:
    """A mode's recorded state in a line: "(202) 555-0143, consent (import),
    America/Chicago, 09:00-17:00" (the number as the console writes it);
    "no live mode" for none."""
    if state is None:
        return "no live mode"
    parts = [display.number_text(state["number"], state["e164"] or "")]
    if state["pewc"]:
        parts.append(f"consent ({state['pewc_source']} {state['pewc_by']})".replace(" )", ")"))
    if state["time_zone"]:
        parts.append(state["time_zone"])
    if state["window"]:
        parts.append("-".join(state["window"]))
    return ", ".join(parts)


def _details(recorded: dict):
    """A do-not-call or callback record, key by key: its numbers and moments
    written as the console writes them (the stored values are the export's)."""

    def shown(key, value):
        if value in (None, ""):
            return "—"
        if isinstance(value, str) and key == "number":
            return display.number_text(value)
        moment = parse_datetime(value) if isinstance(value, str) and "T" in value else None
        return display.when_text(moment) if moment is not None and moment.tzinfo else value

    return format_html_join("; ", "{}: {}", ((k, shown(k, v)) for k, v in recorded.items()))


# The actions whose entry page has a "before → after" row (details_detail).
DETAILED_ACTIONS = frozenset(
    {
        ModeChange.Action.BUSINESS_FIELDS,
        ModeChange.Action.AGENT_STATE,
        ModeChange.Action.OUTCOME,
    }
)
OUTCOME_LABELS = {
    "call": "call",
    "BusinessOutcome": "business outcome",
    "CallOutcome": "telephony outcome",
    "ModeID": "mode",
    "LeadScore": "lead score",
    "TargetAmount": "target amount",
    "do_not_call": "do-not-call block",
}


def _outcome_shown(recorded: dict) -> dict:
    """A call outcome entry's before and after as the page writes them: the
    outcome with its description, the telephony outcome with its own."""
    names = dict(TelephonyOutcome.objects.values_list("id", "description"))

    def shown(state):
        if state is None:
            return None
        state = dict(state)
        description = state.pop("Description", "")
        state["BusinessOutcome"] = f"{state['BusinessOutcome']} {description}".strip()
        if state.get("CallOutcome") is not None:
            call_outcome = state["CallOutcome"]
            state["CallOutcome"] = f"{call_outcome} {names.get(call_outcome, '')}".strip()
        if state.get("do_not_call") is not None:
            state["do_not_call"] = f"block {state['do_not_call']}"
        return state

    return {"before": shown(recorded.get("before")), "after": shown(recorded.get("after"))}


@admin.register(ModeChange)
class ModeChangeAdmin(PlainWords, admin.ModelAdmin):
    """Read-only for everyone: the table is append-only."""

    list_title = "Audit log"
    items_name = "audit entries"

    def object_title(self, obj):
        if obj.settings_subject:
            return f"Audit entry #{obj.seq}: {obj.settings_subject}"
        if obj.account_id is None:
            return f"Audit entry #{obj.seq}: do-not-call list, {obj.new_number}"
        if not obj.mode_id:
            return f"Audit entry #{obj.seq}: {obj.account_number}"
        return f"Audit entry #{obj.seq}: {obj.account_number}, mode {obj.mode_id}"

    list_display = [
        "seq",
        "when",
        "action_display",
        "account_link",
        "mode",
        "old_number_shown",
        "new_number_shown",
        "deleted",
        "call_link",
        "by_and_source",
    ]
    list_display_links = ["seq"]
    list_filter = [AuditFilters]
    search_fields = ["=account_number", "=callid", "=agent_code", "=new_number", "=old_number"]
    search_help_text = "Exact LCM key, call ID, AgentID, or number (old or new)."
    list_select_related = ["reverts", "erased_by", "account"]  # the account: its numbers' country
    list_per_page = 100
    sortable_by = ["seq", "created_at"]  # the indexed ones: no sort of the whole log
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # facets count the whole table
    paginator = AuditPaginator
    actions = None
    fieldsets = [
        ("Change", {"fields": ["action_display", "mode", "old_number_shown", "new_number_shown",
                               "new_number_international", "deleted", "reverts", "touched",
                               "do_not_call_detail", "callback_detail", "details_detail",
                               "erased"]}),
        ("Who and where", {"fields": ["account_shown", "account_number", "call", "callid", "agent",
                                      "agent_code", "username", "source_display"]}),
        ("When and from where", {"fields": ["when", "client_address", "request_id"]}),
        ("Chain", {"fields": ["seq", "prev_hash", "hash"]}),
    ]  # fmt: skip
    # A campaign's or a state's rule belongs to no account, call or mode: its
    # page shows what it is about, what changed, who, when, and the chain.
    settings_fieldsets = [
        ("Change", {"fields": ["action_display", "subject", "details_detail"]}),
        ("Who and where", {"fields": ["username", "source_display"]}),
        ("When and from where", {"fields": ["when", "client_address", "request_id"]}),
        ("Chain", {"fields": ["seq", "prev_hash", "hash"]}),
    ]

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return super().get_fieldsets(request, obj)
        if obj.action in (ModeChange.Action.CAMPAIGN, ModeChange.Action.STATE_LAW):
            return self.settings_fieldsets
        # Only the rows that apply to this kind of entry: a call outcome has
        # no old number, a number change no callback.
        left_out = set()
        if not obj.changes_modes:
            left_out |= {"old_number_shown", "deleted", "reverts", "touched"}
        if not obj.mode_id and not obj.new_number:
            left_out |= {"mode", "new_number_shown", "new_number_international"}
        if obj.do_not_call is None:
            left_out.add("do_not_call_detail")
        if obj.callback is None:
            left_out.add("callback_detail")
        if obj.action not in DETAILED_ACTIONS:
            left_out.add("details_detail")
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f not in left_out]})
            for name, options in super().get_fieldsets(request, obj)
        ]

    readonly_fields = [
        "action_display",
        "new_number_shown",
        "old_number_shown",
        "callback_detail",
        "details_detail",
        "subject",
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
        return display.when(obj.created_at)

    @admin.display(description="Mode", ordering="mode_id")
    def mode(self, obj):
        return obj.mode_id or "—"  # 0: a list's entry (do-not-call), no one mode

    @admin.display(description="Old number")
    def old_number_shown(self, obj):
        """The number the mode held before; none for an entry that changed
        no mode (do-not-call, callback: they name one number, the new)."""
        return entries.old_number(obj)

    @admin.display(description="New number")
    def new_number_shown(self, obj):
        return entries.new_number(obj)

    @admin.display(description="New number (E.164)")
    def new_number_international(self, obj):
        return obj.new_number_e164 or "—"

    @admin.display(description="Client address")
    def client_address(self, obj):
        return obj.client_ip or "—"

    @admin.display(description="By")
    def by(self, obj):
        """The AgentID acted for, else the user."""
        return entries.by(obj)

    @admin.display(description="By (source)")
    def by_and_source(self, obj):
        """Who, and through which app: "testagent (API)", "supervisor (admin)"."""
        return format_html("{} <span class=\"lcm-source\">({})</span>", entries.by(obj),
                           entries.source_label(obj))  # fmt: skip

    @admin.display(description="Source")
    def source_display(self, obj):
        return entries.source_label(obj)

    @admin.display(description="account")
    def account_link(self, obj):
        if obj.settings_subject:  # a campaign's or a state's rule, an agent's state
            return obj.settings_subject
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
        return entries.deleted_with(obj)

    @admin.display(description="do-not-call block")
    def do_not_call_detail(self, obj):
        """A block added (SetDNC) or lifted: scope, period, comment, reason."""
        if obj.do_not_call is None:
            return "—"
        return _details(obj.do_not_call)

    @admin.display(description="callback")
    def callback_detail(self, obj):
        """A callback entry's event: scheduled, done, cancelled or reassigned."""
        if obj.callback is None:
            return "—"
        return _details(obj.callback)

    @admin.display(description="before → after")
    def details_detail(self, obj):
        """What a business fields, agent state, call outcome, campaign or state
        rule entry set: each value that changed, before → after (the entry
        keeps both whole)."""
        details = obj.details or {}
        if obj.action == ModeChange.Action.BUSINESS_FIELDS:
            changes = [
                (f["FieldName"], f["before"] or "—", f["after"] or "—")
                for f in obj.business_fields or []
            ]
            return format_html_join("; ", "{}: {} → {}", changes)
        if obj.action == ModeChange.Action.AGENT_STATE:
            after = details["after"] or "— (logged out)"  # null: the logout ended it
            return format_html("{}: {} → {}", details["agent"], details["before"] or "—", after)
        if obj.action == ModeChange.Action.OUTCOME and details.get("outcome"):
            return entries.settings_changes(_outcome_shown(details["outcome"]), OUTCOME_LABELS)
        model = {ModeChange.Action.CAMPAIGN: Campaign, ModeChange.Action.STATE_LAW: StateLaw}
        if obj.action in model:
            labels = {f.name: str(f.verbose_name) for f in model[obj.action]._meta.fields}
            return entries.settings_changes(details, labels)
        return "—"

    @admin.display(description="about")
    def subject(self, obj):
        return obj.settings_subject or "—"

    @admin.display(description="account")
    def account_shown(self, obj):
        if obj.settings_subject:  # a campaign's or a state's rule, an agent's state
            return obj.settings_subject
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
        if obj.modes is None and not obj.changes_modes:
            return "— (none: it changed a list or a setting, not a mode)"
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
        shown = entries.action(obj)
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
