"""Supervisors rotate and revoke API tokens (lcm/admin/tokens.py).

The token admin is registered on DRF's `TokenProxy`, so its permissions are
the proxy's. Created here first, as in 0005 (post_migrate comes too late).
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

PERMISSIONS = ["view_tokenproxy", "change_tokenproxy", "delete_tokenproxy"]


def grant(apps, schema_editor):
    from django.apps import apps as global_apps

    create_permissions(global_apps.get_app_config("authtoken"), verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(
        content_type__app_label="authtoken", codename__in=PERMISSIONS
    )
    assert permissions.count() == len(PERMISSIONS), "missing authtoken permissions"
    Group.objects.get(name="Supervisors").permissions.add(*permissions)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name="Supervisors").first()
    if group:
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="authtoken", codename__in=PERMISSIONS)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("lcm", "0007_dialer_integration_group"),
        ("authtoken", "0004_alter_tokenproxy_options"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
