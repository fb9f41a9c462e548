"""Campaigns: their enabled modes, outcomes and business fields, edited by
supervisors on one page; each save is one audit entry (action `campaign`,
the settings before and after: `lcm.actions.campaigns.record_save`)."""

from __future__ import annotations

import zoneinfo

from django import forms
from django.contrib import admin

from lcm.actions import business_fields, campaigns
from lcm.models import BusinessField, Campaign, CampaignMode, CampaignOutcome, TelephonyOutcome

from .shared import HOURS, LowerCaseAddTextMixin, request_context
from .words import PlainChoices, PlainInline, PlainWords

WINDOW_BOTH = "Give both calling times, or neither."
WINDOW_ORDER = "The calling window ends before it starts: the end must be after the start."
LENGTHS_ORDER = "The shortest number is longer than the longest."


def _form(model_, base=forms.ModelForm):
    """A ModelForm of `model_` with its times as HH:MM (the labels are the
    model's, in the floor's words)."""

    class Form(base):
        class Meta:
            model = model_
            fields = ()  # the admin names them (its fieldsets or `fields`)
            widgets = {
                name: HOURS
                for name in ("window_start", "window_end")
                if any(f.name == name for f in model_._meta.fields)
            }

    return Form


class WindowForm(forms.ModelForm):
    """The calling window in the floor's words, before the table's check
    constraint would say "Constraint … is violated"."""

    def clean(self):
        data = super().clean()
        start, end = data.get("window_start"), data.get("window_end")
        if "window_start" in self.errors or "window_end" in self.errors:
            return data
        if (start is None) != (end is None):
            self.add_error("window_end" if end is None else "window_start", WINDOW_BOTH)
        elif start is not None and end <= start:
            self.add_error("window_end", WINDOW_ORDER)
        return data


class CampaignForm(WindowForm):
    def clean_time_zone(self):
        zone = self.cleaned_data.get("time_zone", "").strip()
        if zone:
            try:
                zoneinfo.ZoneInfo(zone)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise forms.ValidationError(
                    f"{zone} is not a time zone: use an IANA name such as America/New_York."
                ) from None
        return zone


class CampaignModeForm(WindowForm):
    def clean(self):
        data = super().clean()
        shortest, longest = data.get("min_length"), data.get("max_length")
        if shortest is not None and longest is not None and shortest > longest:
            self.add_error("max_length", LENGTHS_ORDER)
        return data


def telephony_choices():
    return [("", "none"), *((o.pk, str(o)) for o in TelephonyOutcome.objects.order_by("pk"))]


class CampaignOutcomeForm(forms.ModelForm):
    implies = forms.TypedChoiceField(
        label="Telephony outcome",
        choices=telephony_choices,
        coerce=int,
        empty_value=None,
        required=False,
        help_text="The telephony outcome it implies (5 DNC: a do-not-call block).",
    )


class BusinessFieldForm(forms.ModelForm):
    def clean(self):
        data = super().clean()
        kind, format_ = data.get("data_type"), data.get("format", "")
        if kind and "format" not in self.errors:
            problem = business_fields.format_problem(kind, format_)
            if problem:
                self.add_error("format", problem)
        return data


class CampaignModeInline(PlainInline, PlainChoices, admin.TabularInline):
    model = CampaignMode
    form = _form(CampaignMode, CampaignModeForm)
    extra = 0
    fields = [
        "mode_type",
        "channel_type",
        "min_length",
        "max_length",
        "window_start",
        "window_end",
        "callback",
        "voicemail",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("mode_type")  # the row titles


class CampaignOutcomeInline(PlainInline, admin.TabularInline):
    model = CampaignOutcome
    form = _form(CampaignOutcome, CampaignOutcomeForm)
    fields = ["outcome_id", "description", "implies"]
    readonly_fields = ["implies_shown"]
    extra = 0

    def get_fields(self, request, obj=None):
        # Read only (an auditor): the telephony outcome by its words, "5 DNC".
        fields = super().get_fields(request, obj)
        if self.has_change_permission(request, obj):
            return fields
        return ["implies_shown" if f == "implies" else f for f in fields]

    @admin.display(description="telephony outcome")
    def implies_shown(self, obj):
        if obj.implies is None:
            return "none"
        outcome = TelephonyOutcome.objects.filter(pk=obj.implies).first()
        return str(outcome) if outcome else str(obj.implies)


class BusinessFieldInline(PlainInline, admin.TabularInline):
    model = BusinessField
    form = _form(BusinessField, BusinessFieldForm)
    fields = ["name", "data_type", "format", "mandatory", "agent_editable", "dnc_field",
              "screen_pop"]  # fmt: skip
    extra = 0


@admin.register(Campaign)
class CampaignAdmin(LowerCaseAddTextMixin, PlainWords, admin.ModelAdmin):
    form = _form(Campaign, CampaignForm)
    list_display = [
        "code_shown",
        "name_shown",
        "category_shown",
        "zone_shown",
        "consent_shown",
        "modes_shown",
    ]
    list_display_links = ["code_shown", "name_shown"]
    search_fields = ["=code", "name", "category"]
    inlines = [CampaignModeInline, CampaignOutcomeInline, BusinessFieldInline]
    fieldsets = [
        (None, {"fields": ["code", "name", "category", "time_zone"]}),
        ("Dialing", {"fields": ["window_start", "window_end", "every_mode_type",
                                "requires_consent", "disposition_required"]}),
        ("Do-not-call outcomes", {"fields": ["dnc_period_type", "dnc_days", "dnc_end_of_day",
                                             "customer_dnc_time_zone"]}),
    ]  # fmt: skip

    def object_title(self, obj) -> str:
        if not obj.code:
            return f"Campaign {obj.name}, for the accounts without a campaign"
        return f"Campaign {obj.name}" + ("" if obj.code == obj.name else f" ({obj.code})")

    @admin.display(description="Campaign ID", ordering="code")
    def code_shown(self, obj):
        return obj.code or "(none: accounts without a campaign)"

    @admin.display(description="Name", ordering="name")
    def name_shown(self, obj):
        return obj.name

    @admin.display(description="Category", ordering="category")
    def category_shown(self, obj):
        return obj.category

    @admin.display(description="Time zone", ordering="time_zone")
    def zone_shown(self, obj):
        return obj.time_zone or "the contact's"

    @admin.display(description="Written consent required", boolean=True)
    def consent_shown(self, obj):
        return obj.requires_consent

    @admin.display(description="Enabled modes")
    def modes_shown(self, obj):
        if obj.every_mode_type:
            return "every mode type"
        return ", ".join(str(m.mode_type_id) for m in obj.modes.all()) or "none"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("modes")

    def get_readonly_fields(self, request, obj=None):
        # The CampaignID is the key accounts, imports and do-not-call blocks name.
        return ["code_shown"] if obj else []

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.fieldsets
        # Once created, the CampaignID is shown in the floor's words, not edited.
        (name, options), *rest = self.fieldsets
        fields = ["code_shown" if f == "code" else f for f in options["fields"]]
        return [(name, {**options, "fields": fields}), *rest]

    def has_delete_permission(self, request, obj=None):
        return False  # accounts point at it (PROTECT); the audit keeps its history

    def save_model(self, request, obj, form, change):
        before = Campaign.objects.filter(pk=obj.pk).first() if change else None
        request._campaign_before = campaigns.snapshot(before)
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        # The change form's view runs in one transaction: the form, its
        # inlines and the entry commit together.
        super().save_related(request, form, formsets, change)
        campaigns.record_save(
            form.instance,
            before=getattr(request, "_campaign_before", None),
            actor=request.user,
            context=request_context(request),
        )
