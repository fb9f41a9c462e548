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

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from rest_framework.authtoken.admin import TokenAdmin as DrfTokenAdmin
from rest_framework.authtoken.models import TokenProxy

from lcm import services

HINT_LENGTH = 4

if admin.site.is_registered(TokenProxy):
    admin.site.unregister(TokenProxy)


@admin.register(TokenProxy)
class TokenAdmin(DrfTokenAdmin):
    list_display = ["user", "key_hint", "created"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]

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
        new = services.rotate_token(user=token.user, actor=request.user)
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
        services.revoke_token(user=token.user, actor=request.user)
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
