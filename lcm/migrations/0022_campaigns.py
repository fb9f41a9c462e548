"""Campaigns as records (issue 31, spec campaign-services.md section 1): the
campaign, its enabled modes, outcomes and typed business fields, and the
audit entries' `details` (a campaign save's before and after). The append-only
triggers are re-installed around the new audit column (SQLite rebuilds the
table to add a JSON column, which drops its triggers).

0020 turns today's `Account.campaign` strings into campaigns; 0021 makes the
column a foreign key to them (the column and its values stay as they are).
"""

import django.db.models.deletion
from django.db import migrations, models

from lcm.audit import triggers as audit_triggers


def triggers_off(apps, schema_editor):
    audit_triggers.uninstall(schema_editor.connection)


def triggers_on(apps, schema_editor):
    # As 0022 left them: 0026 adds `version`, 0030 `business_fields`, each with its rule.
    audit_triggers.install(schema_editor.connection, version=False, business=False)


def triggers_on_as_0018(apps, schema_editor):
    audit_triggers.install(schema_editor.connection, details=False)


class Migration(migrations.Migration):
    dependencies = [
        ("lcm", "0021_import_fingerprint"),
    ]

    operations = [
        migrations.RunPython(triggers_off, triggers_on_as_0018, elidable=False),
        migrations.AddField(
            model_name="modechange",
            name="details",
            field=models.JSONField(
                blank=True,
                help_text="A campaign entry's settings before and after (lcm.actions.campaigns). Null on every other entry (and left out of its hash).",
                null=True,
            ),
        ),
        migrations.AlterField(
            model_name="modechange",
            name="action",
            field=models.CharField(
                choices=[
                    ("set", "Set number"),
                    ("revert", "Revert"),
                    ("restore", "Restore"),
                    ("import", "Import"),
                    ("settings", "Mode settings"),
                    ("dnc", "Do-not-call"),
                    ("dnc_lift", "Do-not-call lifted"),
                    ("dnc_change", "Do-not-call changed"),
                    ("callback", "Callback"),
                    ("erase", "Personal data erased"),
                    ("campaign", "Campaign settings"),
                ],
                default="set",
                max_length=10,
            ),
        ),
        migrations.CreateModel(
            name="Campaign",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "code",
                    models.CharField(
                        blank=True,
                        help_text='The key accounts and imports name ("": the accounts that had no campaign).',
                        max_length=100,
                        unique=True,
                        verbose_name="CampaignID",
                    ),
                ),
                ("name", models.CharField(max_length=100, verbose_name="CampaignName")),
                (
                    "category",
                    models.CharField(
                        blank=True, max_length=100, verbose_name="CampaignCategoryName"
                    ),
                ),
                (
                    "time_zone",
                    models.CharField(
                        blank=True,
                        help_text="The campaign's own zone (IANA).",
                        max_length=64,
                        verbose_name="TimeZone",
                    ),
                ),
                (
                    "window_start",
                    models.TimeField(
                        blank=True,
                        help_text="Default local start of its modes' window (empty: the mode type's).",
                        null=True,
                        verbose_name="calling from",
                    ),
                ),
                (
                    "window_end",
                    models.TimeField(blank=True, null=True, verbose_name="calling until"),
                ),
                (
                    "every_mode_type",
                    models.BooleanField(
                        default=True,
                        help_text="Enable every mode type as the type defines it (today's and future ones); off: only the enabled modes listed below.",
                        verbose_name="every mode type",
                    ),
                ),
                (
                    "requires_consent",
                    models.BooleanField(
                        default=False,
                        help_text="Dial only numbers with written consent.",
                        verbose_name="CampaignPEWC",
                    ),
                ),
                (
                    "disposition_required",
                    models.BooleanField(
                        default=False,
                        help_text="An outcome is required before wrap-up ends.",
                        verbose_name="DispositionRequired",
                    ),
                ),
                (
                    "dnc_period_type",
                    models.CharField(
                        choices=[
                            ("Permanent", "Permanent"),
                            ("Specific Days", "Specific days"),
                            ("Agent Selection", "Agent selection"),
                        ],
                        default="Permanent",
                        max_length=20,
                        verbose_name="DNCPeriodType",
                    ),
                ),
                ("dnc_days", models.PositiveSmallIntegerField(default=0, verbose_name="DNCDays")),
                (
                    "dnc_end_of_day",
                    models.BooleanField(
                        default=False,
                        help_text="A block of days lasts to the end of its last day.",
                        verbose_name="DNCEOD",
                    ),
                ),
                (
                    "customer_dnc_time_zone",
                    models.BooleanField(
                        default=False,
                        help_text="Count the days in the callee's zone.",
                        verbose_name="CustomerDNCTZEnabled",
                    ),
                ),
            ],
            options={
                "ordering": ["code"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("window_end__isnull", True), ("window_start__isnull", True)),
                            ("window_start__lt", models.F("window_end")),
                            _connector="OR",
                        ),
                        name="campaign_window_both_or_none",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="BusinessField",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=100, verbose_name="FieldName")),
                (
                    "data_type",
                    models.CharField(
                        choices=[
                            ("String", "String"),
                            ("Number", "Number"),
                            ("DateTime", "DateTime"),
                            ("Boolean", "Boolean"),
                        ],
                        max_length=10,
                        verbose_name="DataType",
                    ),
                ),
                (
                    "format",
                    models.CharField(
                        blank=True,
                        help_text='String: max length ("" = 255); Number: "" integer or 0.00; DateTime: DD/MM/YYYY, DD/MM/YYYY HH:mm or YYYY-MM-DD.',
                        max_length=20,
                        verbose_name="Format",
                    ),
                ),
                ("mandatory", models.BooleanField(default=False)),
                ("agent_editable", models.BooleanField(default=True)),
                ("dnc_field", models.BooleanField(default=False, verbose_name="DNC field")),
                (
                    "screen_pop",
                    models.BooleanField(default=False, verbose_name="on the screen pop"),
                ),
                (
                    "campaign",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="fields",
                        to="lcm.campaign",
                        to_field="code",
                    ),
                ),
            ],
            options={
                "verbose_name": "business field",
                "ordering": ["campaign_id", "id"],
            },
        ),
        migrations.CreateModel(
            name="CampaignMode",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "channel_type",
                    models.CharField(
                        blank=True,
                        choices=[("voice", "Voice"), ("sms", "SMS")],
                        help_text="Empty: the mode type's.",
                        max_length=10,
                        verbose_name="ChannelType",
                    ),
                ),
                (
                    "min_length",
                    models.PositiveSmallIntegerField(
                        blank=True,
                        help_text="Empty: the mode type's.",
                        null=True,
                        verbose_name="MinLength",
                    ),
                ),
                (
                    "max_length",
                    models.PositiveSmallIntegerField(
                        blank=True,
                        help_text="Empty: the mode type's.",
                        null=True,
                        verbose_name="MaxLength",
                    ),
                ),
                (
                    "window_start",
                    models.TimeField(
                        blank=True,
                        help_text="Empty: the campaign's window.",
                        null=True,
                        verbose_name="calling from",
                    ),
                ),
                (
                    "window_end",
                    models.TimeField(blank=True, null=True, verbose_name="calling until"),
                ),
                ("callback", models.BooleanField(default=False, verbose_name="callback mode")),
                ("voicemail", models.BooleanField(default=False, verbose_name="voicemail allowed")),
                (
                    "campaign",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="modes",
                        to="lcm.campaign",
                        to_field="code",
                    ),
                ),
                (
                    "mode_type",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="lcm.modetype",
                    ),
                ),
            ],
            options={
                "verbose_name": "enabled mode",
                "ordering": ["campaign_id", "mode_type_id"],
            },
        ),
        migrations.CreateModel(
            name="CampaignOutcome",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("outcome_id", models.PositiveIntegerField(verbose_name="OutcomeID")),
                ("description", models.CharField(max_length=100, verbose_name="Description")),
                (
                    "implies",
                    models.PositiveSmallIntegerField(
                        blank=True,
                        help_text="The telephony OutComeID it implies (5: do-not-call).",
                        null=True,
                        verbose_name="implied telephony outcome",
                    ),
                ),
                (
                    "campaign",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="outcomes",
                        to="lcm.campaign",
                        to_field="code",
                    ),
                ),
            ],
            options={
                "verbose_name": "outcome",
                "ordering": ["campaign_id", "outcome_id"],
            },
        ),
        migrations.CreateModel(
            name="BusinessFieldValue",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("value", models.CharField(max_length=255)),
                (
                    "account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="business_values",
                        to="lcm.account",
                    ),
                ),
                (
                    "field",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="values",
                        to="lcm.businessfield",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("account", "field"), name="businessvalue_one")
                ],
            },
        ),
        migrations.AddConstraint(
            model_name="businessfield",
            constraint=models.UniqueConstraint(
                fields=("campaign", "name"), name="businessfield_one_name"
            ),
        ),
        migrations.AddConstraint(
            model_name="campaignmode",
            constraint=models.UniqueConstraint(
                fields=("campaign", "mode_type"), name="campaignmode_one_per_type"
            ),
        ),
        migrations.AddConstraint(
            model_name="campaignmode",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("window_end__isnull", True), ("window_start__isnull", True)),
                    ("window_start__lt", models.F("window_end")),
                    _connector="OR",
                ),
                name="campaignmode_window_both_or_none",
            ),
        ),
        migrations.AddConstraint(
            model_name="campaignmode",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("min_length__isnull", True),
                    ("max_length__isnull", True),
                    ("min_length__lte", models.F("max_length")),
                    _connector="OR",
                ),
                name="campaignmode_min_le_max",
            ),
        ),
        migrations.AddConstraint(
            model_name="campaignoutcome",
            constraint=models.UniqueConstraint(
                fields=("campaign", "outcome_id"), name="campaignoutcome_one_per_id"
            ),
        ),
        migrations.RunPython(triggers_on, triggers_off, elidable=False),
    ]
