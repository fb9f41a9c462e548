"""The console's template tags.

`{% lcm_dashboard %}`: the floor manager's figures (lcm.dashboard), for any
admin index template (the standalone project's, or a host's).
`{% when moment %}`, `{% number number e164 country %}`, `{% callee_clock moment %}`
and the `entry_…` filters (an audit entry's columns, lcm.admin.entries):
a time and a number written as every console page writes them
(`lcm.admin.display`).
"""

from django import template

from lcm.admin import display, entries
from lcm.dashboard import figures

register = template.Library()


@register.inclusion_tag("admin/lcm/dashboard.html", takes_context=True)
def lcm_dashboard(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    return {"figures": figures(user) if user is not None and user.is_staff else []}


@register.simple_tag
def when(moment):
    return display.when(moment)


@register.simple_tag
def number(number, e164="", country="", typed=""):
    return display.number(number or "", e164 or "", country=country or "", typed=typed or "")


@register.simple_tag
def callee_clock(moment):
    return display.callee_clock(moment)


# An audit entry's columns, as the audit log writes them (lcm.admin.entries).


@register.filter
def entry_old_number(entry):
    return entries.old_number(entry)


@register.filter
def entry_new_number(entry):
    return entries.new_number(entry)


@register.filter
def entry_deleted_with(entry):
    return entries.deleted_with(entry)


@register.filter
def entry_by(entry):
    return entries.by(entry)


@register.filter
def entry_source(entry):
    return entries.source_label(entry)
