"""State calling rules: the per-US-state hours, barred days and dates and
voicemail rule that ComplianceCheck applies (spec campaign-services.md
section 5). Supervisors edit them; each save (or removal) is one audit entry
(action `state_law`, the rule before and after: `lcm.actions.compliance`).
The demo's rows are illustrative data, not legal advice: the operator's
counsel owns the real rules, and the page says so."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db import transaction

from lcm.actions import compliance
from lcm.models import StateLaw, StateLawBarredDate
from lcm.outcome_models import WEEKDAY_NAMES, WEEKDAYS

from .shared import HOURS, LowerCaseAddTextMixin, request_context
from .words import PlainInline, PlainWords

NOT_LEGAL_ADVICE = (
    "These rules are the operator's to set, with its counsel: lcm applies them as written "
    "and makes no legal claim. The demo's rows (FL, WA, TX, OK) are illustrative only."
)


class BarredDateInline(PlainInline, admin.TabularInline):
    model = StateLawBarredDate
    extra = 0
    fields = ["date", "note"]
    verbose_name = "barred date"
    verbose_name_plural = "Barred dates (no calls all day, in the callee's time)"


def _hours(law: StateLaw, weekday: int) -> str:
    hours = law.hours(weekday)
    if hours is None:
        return "no calls"
    return f"{hours[0]:%H:%M}-{hours[1]:%H:%M}"


class StateLawForm(forms.ModelForm):
    """Hours as HH:MM; the note as wide as the page (the demo's is a sentence)."""

    class Meta:
        model = StateLaw
        fields = ()  # the admin's fieldsets name them
        widgets = {
            **{f"{day}_{end}": HOURS for day in WEEKDAYS for end in ("start", "end")},
            "note": forms.TextInput(attrs={"class": "vLargeTextField", "size": 90}),
        }


@admin.register(StateLaw)
class StateLawAdmin(LowerCaseAddTextMixin, PlainWords, admin.ModelAdmin):
    form = StateLawForm
    list_title = "State calling rules"
    items_name = "state calling rules"
    list_display = ["state", "weekdays", "saturday", "sunday", "voicemail_allowed", "note"]
    search_fields = ["=state"]
    inlines = [BarredDateInline]
    change_list_template = "admin/lcm/statelaw/change_list.html"
    fieldsets = [
        (None, {"fields": ["state", "voicemail_allowed", "note"], "description": NOT_LEGAL_ADVICE}),
        *(
            (
                f"{name}",
                {"fields": [(f"{day}_start", f"{day}_end")]},
            )
            for day, name in zip(WEEKDAYS, WEEKDAY_NAMES, strict=True)
        ),
    ]

    @admin.display(description="Monday to Friday")
    def weekdays(self, obj):
        shown = {_hours(obj, d) for d in range(5)}
        return shown.pop() if len(shown) == 1 else "varies by day"

    @admin.display(description="Saturday")
    def saturday(self, obj):
        return _hours(obj, 5)

    @admin.display(description="Sunday")
    def sunday(self, obj):
        return _hours(obj, 6)

    def changelist_view(self, request, extra_context=None):
        extra = {"not_legal_advice": NOT_LEGAL_ADVICE, **(extra_context or {})}
        return super().changelist_view(request, extra_context=extra)

    def save_model(self, request, obj, form, change):
        before = StateLaw.objects.filter(pk=obj.pk).first() if change else None
        request._state_law_before = compliance.snapshot(before)
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        # The change form's view runs in one transaction: the form, its
        # barred dates and the entry commit together.
        super().save_related(request, form, formsets, change)
        compliance.record_save(
            form.instance,
            before=getattr(request, "_state_law_before", None),
            actor=request.user,
            context=request_context(request),
        )

    def delete_model(self, request, obj):
        with transaction.atomic():
            compliance.delete_law(obj, actor=request.user, context=request_context(request))

    def delete_queryset(self, request, queryset):  # no bulk action offers it; kept audited
        for obj in queryset:
            self.delete_model(request, obj)
