"""`{% lcm_dashboard %}`: the floor manager's figures (lcm.dashboard), for
any admin index template (the standalone project's, or a host's)."""

from django import template

from lcm.dashboard import figures

register = template.Library()


@register.inclusion_tag("admin/lcm/dashboard.html", takes_context=True)
def lcm_dashboard(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    return {"figures": figures(user) if user is not None and user.is_staff else []}
