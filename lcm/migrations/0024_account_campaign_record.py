"""`Account.campaign` becomes a foreign key to its campaign (by CampaignID,
in the same column `campaign`, with the same values: 0020 made a campaign for
each). Reverse: a string column again, with the same values."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("lcm", "0023_campaigns_from_strings")]

    operations = [
        migrations.AlterField(
            model_name="account",
            name="campaign",
            field=models.ForeignKey(
                blank=True,
                db_column="campaign",
                default="",
                help_text="Its campaign (CampaignID): the modes it may be dialled on, their windows and consent rule.",
                on_delete=django.db.models.deletion.PROTECT,
                related_name="accounts",
                to="lcm.campaign",
                to_field="code",
            ),
        ),
    ]
