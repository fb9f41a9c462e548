"""Mode types (Home, Office, Mobile…): the dialer's ModeIDs and their rules."""

from __future__ import annotations

from django.contrib import admin

from lcm.models import ModeType

from .words import PlainWords


@admin.register(ModeType)
class ModeTypeAdmin(PlainWords, admin.ModelAdmin):
    """Bounds are checked by `ModeType.clean()`; a type in use cannot be
    deleted (its modes PROTECT it)."""

    list_display = ["id", "name", "channel_type", "min_length", "max_length"]
    list_filter = ["channel_type"]
    search_fields = ["name"]

    def get_readonly_fields(self, request, obj=None):
        # The id is the dialer's ModeID: renumbering would re-label stored modes.
        return ["id"] if obj else []
