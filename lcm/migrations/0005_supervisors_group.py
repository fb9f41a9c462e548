"""The `Supervisors` group: what the supervisors' console needs, no more.

Supervisors manage accounts, calls, agents, the do-not-call list and mode
types; they view contact modes and change them only through the services
(`change_contactmode` is what the console's forms check: the ContactMode
admin itself stays read-only); they view the audit log and can never add,
change or delete an entry. Permissions are created here first: Django
otherwise creates them only after every migration has run (post_migrate).
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Supervisors"
PERMISSIONS = [
    *(f"{verb}_account" for verb in ("add", "change", "view")),
    *(f"{verb}_call" for verb in ("add", "change", "view")),
    *(f"{verb}_agent" for verb in ("add", "change", "view")),
    *(f"{verb}_donotcallnumber" for verb in ("add", "change", "delete", "view")),
    *(f"{verb}_modetype" for verb in ("add", "change", "delete", "view")),
    "view_contactmode",
    "change_contactmode",
    "view_modechange",
]


def create_group(apps, schema_editor):
    from django.apps import apps as global_apps

    create_permissions(global_apps.get_app_config("lcm"), verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    permissions = Permission.objects.filter(
        content_type__app_label="lcm", codename__in=PERMISSIONS
    )
    assert permissions.count() == len(PERMISSIONS), "missing lcm permissions"
    group.permissions.add(*permissions)


def delete_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("lcm", "0004_auditors_group"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, delete_group)]
