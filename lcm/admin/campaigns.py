"""Campaigns: their enabled modes, outcomes and business fields, edited by
supervisors on one page; each save is one audit entry (action `campaign`,
the settings before and after: `lcm.actions.campaigns.record_save`)."""

from __future__ import annotations

from django.contrib import admin

from lcm.actions import campaigns
from lcm.models import BusinessField, Campaign, CampaignMode, CampaignOutcome

from .shared import request_context
from .words import PlainWords


class CampaignModeInline(admin.TabularInline):
    model = CampaignMode
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


class CampaignOutcomeInline(admin.TabularInline):
    model = CampaignOutcome
    extra = 0


class BusinessFieldInline(admin.TabularInline):
    model = BusinessField
    extra = 0


@admin.register(Campaign)
class CampaignAdmin(PlainWords, admin.ModelAdmin):
    list_display = ["code", "name", "category", "time_zone", "requires_consent", "modes_shown"]
    search_fields = ["=code", "name", "category"]
    inlines = [CampaignModeInline, CampaignOutcomeInline, BusinessFieldInline]
    fieldsets = [
        (None, {"fields": ["code", "name", "category", "time_zone"]}),
        ("Dialing", {"fields": ["window_start", "window_end", "every_mode_type",
                                "requires_consent", "disposition_required"]}),
        ("Do-not-call outcomes", {"fields": ["dnc_period_type", "dnc_days", "dnc_end_of_day",
                                             "customer_dnc_time_zone"]}),
    ]  # fmt: skip

    @admin.display(description="Enabled modes")
    def modes_shown(self, obj):
        if obj.every_mode_type:
            return "every mode type"
        return ", ".join(str(m.mode_type_id) for m in obj.modes.all()) or "none"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("modes")

    def get_readonly_fields(self, request, obj=None):
        # The CampaignID is the key accounts, imports and do-not-call blocks name.
        return ["code"] if obj else []

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
