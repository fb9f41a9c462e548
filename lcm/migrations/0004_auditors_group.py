"""Create the Auditors group: view, never change, the contacts and the log.

Permissions are created by post_migrate, after all migrations; create them
here first so that this migration works on a fresh database.
"""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

AUDITORS = "Auditors"
VIEWED_MODELS = [
    "account",
    "contactmode",
    "call",
    "agent",
    "modechange",
    "modetype",
    "donotcallnumber",
]


def create_auditors(apps, schema_editor):
    # The real app config: the migration state's stub has no models module,
    # and create_permissions would quietly do nothing with it.
    create_permissions(global_apps.get_app_config("lcm"), verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=AUDITORS)
    group.permissions.set(
        Permission.objects.filter(
            content_type__app_label="lcm",
            codename__in=[f"view_{model}" for model in VIEWED_MODELS],
        )
    )


def remove_auditors(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=AUDITORS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("lcm", "0003_audit_append_only_triggers"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_auditors, remove_auditors)]
