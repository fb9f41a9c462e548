"""The supervisor's words on every lcm admin page, not Django's defaults.

Lists are titled by what they hold ("Accounts", "Audit log"), never
"Select account to change"; a form offers no "Save and add another" (a
supervisor adds one record at a time, and goes back to it).
"""

from __future__ import annotations

from django.utils import timezone


def short_time(value) -> str:
    """The console's one date format, with the time zone: 2026-11-26 15:18:14 UTC."""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S %Z")


class PlainWords:
    list_title: str | None = None  # default: the model's plural, capitalised

    def changelist_view(self, request, extra_context=None):
        title = self.list_title or str(self.opts.verbose_name_plural)
        context = {"title": title[:1].upper() + title[1:], **(extra_context or {})}
        return super().changelist_view(request, extra_context=context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context.setdefault("show_save_and_add_another", False)
        return super().render_change_form(request, context, add, change, form_url, obj)
