"""The "Dialer integration" group: what a dialer/CTI account needs.

Members may register calls and move them through wrap-up and end
(`lcm.manage_calls`), log agents in and out (`lcm.manage_agent_sessions`)
and send web-service messages for any agent (`lcm.act_for_any_agent`).
"""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Dialer integration"
CODENAMES = ["manage_calls", "manage_agent_sessions", "act_for_any_agent"]


def create_group(apps, schema_editor):
    # Permissions are otherwise created only in post_migrate, after this runs.
    create_permissions(global_apps.get_app_config("lcm"), verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="lcm", codename__in=CODENAMES)
    )


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("lcm", "0006_agent_sessions_and_intake_permissions"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
