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


def campaigns_removed(apps, schema_editor):
    apps.get_model("lcm", "Campaign").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("lcm", "0019_campaigns")]

    operations = [migrations.RunPython(campaigns_from_strings, campaigns_removed)]
