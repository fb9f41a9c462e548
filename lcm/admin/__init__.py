"""The Django admin: the supervisors' console, the auditors' log, API tokens.

One module per topic, as `lcm.actions`: accounts (and, in supervisor, the
account page's changes to numbers), contact_modes, calls, agents,
do_not_call, mode_types, callbacks, audit, tokens, intake, import_jobs
(the import, in the background), export_jobs (an export's page) and
export_job_list (every export, for the auditors). What they share: shared
(action context, reason pages, number search), words, filters, forms.
"""

# The task queue's own table (django-tasks-db's admin) is a worker's detail:
# the console shows an import as its job (import_jobs), nothing else.
from django.contrib import admin
from django_tasks_db.models import DBTaskResult

from . import (  # noqa: F401  (registers the ModelAdmins)
    accounts,
    agents,
    audit,
    callbacks,
    calls,
    campaigns,
    contact_modes,
    do_not_call,
    export_job_list,
    intake,
    mode_types,
    state_laws,
    tokens,
)

if admin.site.is_registered(DBTaskResult):
    admin.site.unregister(DBTaskResult)
