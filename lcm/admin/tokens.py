"""API tokens in the admin: supervisors rotate and revoke them.

Replaces DRF's TokenAdmin, which lists every key in clear and titles its
pages with the key. Here a key is shown once, when it is made (added or
rotated), and otherwise only as a hint of its first characters. The pages
are addressed by the user's id, as in DRF's admin, so no key is ever in a
URL or a checkbox.

Permissions: rotating needs `authtoken.change_tokenproxy`, revoking
`authtoken.delete_tokenproxy`, seeing the list `authtoken.view_tokenproxy`
(the admin's permissions on DRF's TokenProxy model).
"""

import json

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from rest_framework.authtoken.admin import TokenAdmin as DrfTokenAdmin
from rest_framework.authtoken.models import TokenProxy

from lcm.actions import tokens

from .words import PlainWords

HINT_LENGTH = 4


class _TokenShown:
    """A token as the admin's generic pages may show it: by its user (the
    pages' URLs are by user id, too), never by its key."""

    def __init__(self, token):
        self.pk = token.user_id
        self.label = f"API token of {token.user}"

    def __str__(self) -> str:
        return self.label


if admin.site.is_registered(TokenProxy):
    admin.site.unregister(TokenProxy)


# The model's name in the sidebar and on the index ("Tokens" in DRF). Only
# the displayed names: migrations read the model's declared options.
TokenProxy._meta.verbose_name = "API token"
TokenProxy._meta.verbose_name_plural = "API tokens"


class CreatedFilter(admin.DateFieldListFilter):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.title = "date made"  # not DRF's field name, "Created"


@admin.register(TokenProxy)
class TokenAdmin(PlainWords, DrfTokenAdmin):
    list_title = "API tokens"
    list_filter = [("created", CreatedFilter)]
    list_display = ["user", "key_hint", "created"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]

    def object_title(self, token):
        return f"API token of {token.user}"  # never the key

    @admin.display(description="key")
    def key_hint(self, token) -> str:
        return f"{token.key[:HINT_LENGTH]}…"

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        own = [
            path(
                "<path:object_id>/rotate/",
                self.admin_site.admin_view(self.rotate_view),
                name="{}_{}_rotate".format(*info),
            ),
            path(
                "<path:object_id>/revoke/",
                self.admin_site.admin_view(self.revoke_view),
                name="{}_{}_revoke".format(*info),
            ),
        ]
        return own + super().get_urls()

    # --- pages --------------------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """A token has nothing to edit: its page shows who, when, and the actions."""
        token = self._token_or_404(request, object_id)
        if not self.has_view_or_change_permission(request, token):
            raise PermissionDenied
        return self._render(request, token, action=None)

    def delete_view(self, request, object_id, extra_context=None):
        """Deleting a token is revoking it: one door, through the service.
        Refused here already to whoever may not revoke (not sent on to a 403)."""
        if not self.has_delete_permission(request):
            raise PermissionDenied
        return HttpResponseRedirect(self._url("revoke", object_id))

    def rotate_view(self, request, object_id):
        token = self._token_or_404(request, object_id)
        if not self.has_change_permission(request, token):
            raise PermissionDenied
        if request.method != "POST":
            return self._render(request, token, action="rotate")
        new = tokens.rotate_token(user=token.user, actor=request.user)
        self.message_user(
            request,
            format_html(
                "New API token for {}: <code>{}</code>. Copy it now: it is not shown again.",
                token.user,
                new.key,
            ),
            messages.SUCCESS,
        )
        return HttpResponseRedirect(self._url("changelist"))

    def revoke_view(self, request, object_id):
        token = self._token_or_404(request, object_id)
        if not self.has_delete_permission(request, token):
            raise PermissionDenied
        if request.method != "POST":
            return self._render(request, token, action="revoke")
        tokens.revoke_token(user=token.user, actor=request.user)
        self.message_user(request, f"The API token of {token.user} is revoked.", messages.SUCCESS)
        return HttpResponseRedirect(self._url("changelist"))

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(
            request,
            format_html(
                "New API token for {}: <code>{}</code>. Copy it now: it is not shown again.",
                obj.user,
                obj.key,
            ),
            messages.SUCCESS,
        )
        return HttpResponseRedirect(self._url("changelist"))

    def history_view(self, request, object_id, extra_context=None):
        """Django titles this page with `str(token)`, which is the key."""
        shown = _TokenShown(self._token_or_404(request, object_id))
        context = {"title": f"Change history: {shown}", "object": shown}
        return super().history_view(request, object_id, {**(extra_context or {}), **context})

    def log_addition(self, request, obj, message):
        """Django's log entry is keyed by `obj.pk` and labelled `str(obj)`:
        both are the key, kept for good in django_admin_log and shown in
        "Recent actions". Logged by the user's id and name instead."""
        from django.contrib.admin.models import ADDITION, LogEntry
        from django.contrib.contenttypes.models import ContentType

        return LogEntry.objects.create(
            user_id=request.user.pk,
            content_type=ContentType.objects.get_for_model(obj, for_concrete_model=False),
            object_id=str(obj.user_id),
            object_repr=str(_TokenShown(obj))[:200],
            action_flag=ADDITION,
            change_message=json.dumps(message) if isinstance(message, list) else message,
        )

    # --- helpers ------------------------------------------------------------------

    def _token_or_404(self, request, object_id):
        token = self.get_object(request, object_id)  # DRF maps the user id to the token
        if token is None:
            raise Http404("No API token for that user.")
        return token

    def _url(self, name, *args):
        info = self.opts.app_label, self.opts.model_name
        return reverse(
            "admin:{}_{}_{}".format(*info, name), args=args, current_app=self.admin_site.name
        )

    def _render(self, request, token, *, action):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"API token of {token.user}",
            "token": token,
            "key_hint": self.key_hint(token),
            "action": action,
            "can_rotate": self.has_change_permission(request, token),
            "can_revoke": self.has_delete_permission(request, token),
            "rotate_url": self._url("rotate", token.user_id),
            "revoke_url": self._url("revoke", token.user_id),
            "changelist_url": self._url("changelist"),
        }
        return TemplateResponse(request, "admin/lcm/token.html", context)
