"""The supervisor's words on every lcm admin page, not Django's defaults.

Lists are titled by what they hold ("Accounts", "Audit log"), never
"Select account to change"; a record's page by the record ("Account
5|3|1|0|0|44|1 (David Berry)", "Call 12345"), never "Change account"; a
form offers no "Save and add another" (a supervisor adds one record at a
time, and goes back to it); a list offers no "Show counts" (facets count a
whole table on every page, and the words are Django's, not the floor's).
How numbers and times are written is `lcm.admin.display`.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.text import capfirst

from .display import EMPTY


class PlainWords:
    empty_value_display = EMPTY  # "—", as every other empty cell (Django's is "-")
    list_title: str | None = None  # default: the model's plural, capitalised
    items_name: str | None = None  # "No … match": default the model's plural
    save_and_add_another = False  # True where adding several in a row is the job
    show_facets = admin.ShowFacets.NEVER  # no "Show counts", no COUNT per filter choice
    actions = None  # no "Action: Delete selected … / Go": each record's page deletes it, if at all

    def changelist_view(self, request, extra_context=None):
        title = self.list_title or str(self.opts.verbose_name_plural)
        context = {
            "title": title[:1].upper() + title[1:],
            "items": self.items_name or str(self.opts.verbose_name_plural),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context=context)

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # Django's "Account with ID “9” doesn't exist. Perhaps it was
        # deleted?", back on the home page; here in the floor's words, back
        # on the list the record would be in.
        messages.warning(request, f"There is no {opts.verbose_name} {unquote(object_id)}.")
        return HttpResponseRedirect(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist",
                    current_app=self.admin_site.name)
        )  # fmt: skip

    def object_title(self, obj) -> str | None:
        """The title of a record's page: what it is, and which one."""
        return f"{capfirst(self.opts.verbose_name)} {obj}"

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if not self.save_and_add_another:
            context.setdefault("show_save_and_add_another", False)
        # One way to save: "Save" (each admin says where it goes next).
        context.setdefault("show_save_and_continue", False)
        title = self.object_title(obj) if obj is not None else None
        if title:
            context.update(title=title, subtitle=None)
        return super().render_change_form(request, context, add, change, form_url, obj)


class PlainChoices:
    """No pencil, plus, cross or eye beside a choice (Django's add/change/
    delete/view links of a related record): a mode type or a campaign is
    edited on its own page, not from inside another record's form."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        widget = getattr(field, "widget", None)
        for flag in (
            "can_add_related",
            "can_change_related",
            "can_delete_related",
            "can_view_related",
        ):
            if hasattr(widget, flag):
                setattr(widget, flag, False)
        return field


class CsvExport:
    """An "Export CSV" of the list as it is filtered and searched (streamed;
    `lcm.list_export`), for whoever may view the list."""

    export_lines = None  # a function: queryset -> CSV lines
    export_name = "export"

    def get_urls(self):
        from django.urls import path

        name = f"{self.opts.app_label}_{self.opts.model_name}_export"
        return [
            path("export/", self.admin_site.admin_view(self.export_view), name=name),
            *super().get_urls(),
        ]

    def export_view(self, request):
        from django.contrib.admin.options import IncorrectLookupParameters
        from django.core.exceptions import PermissionDenied
        from django.http import HttpResponseRedirect
        from django.urls import reverse

        from lcm.list_export import download

        if not self.has_view_permission(request):
            raise PermissionDenied
        request.GET = request.GET.copy()
        request.GET.pop("p", None)  # the whole list, not a page
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
            return HttpResponseRedirect(url + "?e=1")
        return download(type(self).export_lines(changelist.queryset), self.export_name)


class PlainInline:
    """An inline (tabular) in the floor's words: its empty cells "—", its
    delete column "Remove" (Django's says "Delete?")."""

    empty_value_display = EMPTY
    template = "admin/lcm/edit_inline/tabular.html"
