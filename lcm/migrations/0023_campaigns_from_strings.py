"""Today's `Account.campaign` strings become campaigns (spec campaign-services.md
section 1, "Migration"): one per distinct non-empty string (CampaignID =
CampaignName = the string) and one for `""` (CampaignID `""`, named `Default`),
each enabling every mode type as the type defines it, without consent rule,
do-not-call outcomes permanent, no window of its own. The accounts' column
keeps its values, so GetContactModes' `CampaignID` and the campaign-specific
do-not-call blocks (which name the string) are unchanged.

Why `""` keeps CampaignID `""` (the spec says "`Default` for `""`"): the
spec also requires the replies unchanged, and GetContactModes showed
`CampaignID: ""` for those accounts; the name `Default` is what supervisors
see. Reverse: the campaigns go (the next migration back has turned the column
into a string again).
"""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

DEFAULT_NAME = "Default"


def campaigns_from_strings(apps, schema_editor):
    Account = apps.get_model("lcm", "Account")
    Campaign = apps.get_model("lcm", "Campaign")
    codes = set(Account.objects.values_list("campaign", flat=True).distinct()) | {""}
    existing = set(Campaign.objects.values_list("code", flat=True))
    Campaign.objects.bulk_create(
        [
            Campaign(code=code, name=code or DEFAULT_NAME, every_mode_type=True)
            for code in sorted(codes - existing)
        ]
    )


SUPERVISOR_PERMISSIONS = [
    f"{verb}_{model}"
    for model in ("campaign", "campaignmode", "campaignoutcome", "businessfield")
    for verb in ("view", "add", "change", "delete")
    if (verb, model) != ("delete", "campaign")
]


def grant(apps, schema_editor):
    """Supervisors edit campaigns in the console (each save audited)."""
    create_permissions(global_apps.get_app_config("lcm"), verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(
        content_type__app_label="lcm", codename__in=SUPERVISOR_PERMISSIONS
    )
    for group in Group.objects.filter(name="Supervisors"):
        group.permissions.add(*permissions)
    for group in Group.objects.filter(name="Auditors"):  # they read everything
        group.permissions.add(*permissions.filter(codename__startswith="view_"))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(
        content_type__app_label="lcm", codename__in=SUPERVISOR_PERMISSIONS
    )
    for group in Group.objects.filter(name__in=["Supervisors", "Auditors"]):
        group.permissions.remove(*permissions)


def campaigns_removed(apps, schema_editor):
    # Dependents first (the settings are lost: only the strings go back).
    for name in ("BusinessFieldValue", "BusinessField", "CampaignOutcome", "CampaignMode"):
        apps.get_model("lcm", name).objects.all()._raw_delete(schema_editor.connection.alias)
    apps.get_model("lcm", "Campaign").objects.all()._raw_delete(schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("lcm", "0022_campaigns"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(campaigns_from_strings, campaigns_removed),
        migrations.RunPython(grant, revoke),
    ]
