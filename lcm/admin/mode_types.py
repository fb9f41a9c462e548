"""Mode types (Home, Office, Mobile…): the dialer's ModeIDs and their rules."""

from __future__ import annotations

from django.contrib import admin

from lcm.models import ModeType

from .words import PlainWords


@admin.register(ModeType)
class ModeTypeAdmin(PlainWords, admin.ModelAdmin):
    """Bounds are checked by `ModeType.clean()`; a type in use cannot be
    deleted (its modes PROTECT it)."""

    list_display = ["mode", "name", "channel_type", "min_length", "max_length", "window"]
    list_filter = ["channel_type"]
    search_fields = ["name"]

    @admin.display(description="Mode", ordering="id")
    def mode(self, obj):
        return obj.id  # the dialer's ModeID, headed as every list heads it

    @admin.display(description="Calling window")
    def window(self, obj):
        return f"{obj.window_start:%H:%M}-{obj.window_end:%H:%M}"

    def get_readonly_fields(self, request, obj=None):
        # The id is the dialer's ModeID: renumbering would re-label stored modes.
        return ["id"] if obj else []
