"""Auditors and Supervisors see the exports (lcm/admin/export_job_list.py):
who exported which list, when, with which filters, how many rows and the
file's SHA-256. `lcm.view_exportjob` only: nobody adds, changes or deletes
an export job by hand (the worker writes them, lcm.actions.export_jobs).

Permissions are created by post_migrate, after all migrations; create them
here first so that this migration works on a fresh database. Reversible:
the permission is taken back from both groups.
"""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUPS = ["Supervisors", "Auditors"]


def grant(apps, schema_editor):
    create_permissions(global_apps.get_app_config("lcm"), verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    view = Permission.objects.get(content_type__app_label="lcm", codename="view_exportjob")
    for group in Group.objects.filter(name__in=GROUPS):
        group.permissions.add(view)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    view = Permission.objects.filter(content_type__app_label="lcm", codename="view_exportjob")
    for group in Group.objects.filter(name__in=GROUPS):
        group.permissions.remove(*view)


class Migration(migrations.Migration):
    dependencies = [
        ("lcm", "0032_export_job_resume"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
