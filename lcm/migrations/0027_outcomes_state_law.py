"""Outcomes and state law (spec campaign-services.md sections 4 and 5): the
telephony catalogue with the vendor's system rows, the one outcome a call
holds, the per-US-state calling rules (supervisors edit them: Supervisors get
add/change/delete/view, Auditors view). The ModeChange changes are choices and
help text only (no SQL). Reversible: the tables go, with their rows.
"""

import django.db.models.deletion
from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

SYSTEM_OUTCOMES = [
    (0, "Success"),
    (2, "Invalid"),
    (3, "Busy"),
    (4, "CallBack"),
    (5, "DNC"),
    (6, "Fax"),
    (7, "Answering Machine"),
    (8, "No Answer"),
    (9, "Reject"),
]
SUPERVISOR_PERMISSIONS = [
    f"{verb}_{model}"
    for model in ("statelaw", "statelawbarreddate")
    for verb in ("view", "add", "change", "delete")
]


def system_outcomes(apps, schema_editor):
    TelephonyOutcome = apps.get_model("lcm", "TelephonyOutcome")
    TelephonyOutcome.objects.bulk_create(
        [TelephonyOutcome(id=i, description=d, system=True) for i, d in SYSTEM_OUTCOMES],
        ignore_conflicts=True,
    )


def grant(apps, schema_editor):
    create_permissions(global_apps.get_app_config("lcm"), verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(
        content_type__app_label="lcm", codename__in=SUPERVISOR_PERMISSIONS
    )
    for group in Group.objects.filter(name="Supervisors"):
        group.permissions.add(*permissions)
    for group in Group.objects.filter(name="Auditors"):
        group.permissions.add(*permissions.filter(codename__startswith="view_"))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(
        content_type__app_label="lcm", codename__in=SUPERVISOR_PERMISSIONS
    )
    for group in Group.objects.filter(name__in=["Supervisors", "Auditors"]):
        group.permissions.remove(*permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("lcm", "0026_audit_format3"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.CreateModel(
            name="TelephonyOutcome",
            fields=[
                (
                    "id",
                    models.PositiveSmallIntegerField(
                        primary_key=True, serialize=False, verbose_name="OutComeID"
                    ),
                ),
                (
                    "description",
                    models.CharField(max_length=100, unique=True, verbose_name="Description"),
                ),
                (
                    "system",
                    models.BooleanField(default=False, help_text="One of the vendor's rows."),
                ),
            ],
            options={
                "verbose_name": "telephony outcome",
                "ordering": ["id"],
            },
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
                    ("outcome", "Call outcome"),
                    ("state_law", "State calling rule"),
                ],
                default="set",
                max_length=10,
            ),
        ),
        migrations.AlterField(
            model_name="modechange",
            name="details",
            field=models.JSONField(
                blank=True,
                help_text="A campaign or state calling rule entry's settings before and after (lcm.actions.campaigns, lcm.actions.compliance), or a call outcome's before and after (lcm.actions.outcomes). Null on every other entry (and left out of its hash).",
                null=True,
            ),
        ),
        migrations.CreateModel(
            name="StateLaw",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "state",
                    models.CharField(
                        help_text="Two-letter USPS code, e.g. TX.",
                        max_length=2,
                        unique=True,
                        verbose_name="State",
                    ),
                ),
                (
                    "mon_start",
                    models.TimeField(
                        blank=True,
                        help_text="Local time of the callee. Empty (both): no calls on a Monday.",
                        null=True,
                        verbose_name="Monday from",
                    ),
                ),
                ("mon_end", models.TimeField(blank=True, null=True, verbose_name="Monday until")),
                (
                    "tue_start",
                    models.TimeField(
                        blank=True,
                        help_text="Local time of the callee. Empty (both): no calls on a Tuesday.",
                        null=True,
                        verbose_name="Tuesday from",
                    ),
                ),
                ("tue_end", models.TimeField(blank=True, null=True, verbose_name="Tuesday until")),
                (
                    "wed_start",
                    models.TimeField(
                        blank=True,
                        help_text="Local time of the callee. Empty (both): no calls on a Wednesday.",
                        null=True,
                        verbose_name="Wednesday from",
                    ),
                ),
                (
                    "wed_end",
                    models.TimeField(blank=True, null=True, verbose_name="Wednesday until"),
                ),
                (
                    "thu_start",
                    models.TimeField(
                        blank=True,
                        help_text="Local time of the callee. Empty (both): no calls on a Thursday.",
                        null=True,
                        verbose_name="Thursday from",
                    ),
                ),
                ("thu_end", models.TimeField(blank=True, null=True, verbose_name="Thursday until")),
                (
                    "fri_start",
                    models.TimeField(
                        blank=True,
                        help_text="Local time of the callee. Empty (both): no calls on a Friday.",
                        null=True,
                        verbose_name="Friday from",
                    ),
                ),
                ("fri_end", models.TimeField(blank=True, null=True, verbose_name="Friday until")),
                (
                    "sat_start",
                    models.TimeField(
                        blank=True,
                        help_text="Local time of the callee. Empty (both): no calls on a Saturday.",
                        null=True,
                        verbose_name="Saturday from",
                    ),
                ),
                ("sat_end", models.TimeField(blank=True, null=True, verbose_name="Saturday until")),
                (
                    "sun_start",
                    models.TimeField(
                        blank=True,
                        help_text="Local time of the callee. Empty (both): no calls on a Sunday.",
                        null=True,
                        verbose_name="Sunday from",
                    ),
                ),
                ("sun_end", models.TimeField(blank=True, null=True, verbose_name="Sunday until")),
                (
                    "voicemail_allowed",
                    models.BooleanField(default=True, verbose_name="voicemail allowed"),
                ),
                ("note", models.CharField(blank=True, max_length=500)),
            ],
            options={
                "verbose_name": "state calling rule",
                "ordering": ["state"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("mon_end__isnull", True), ("mon_start__isnull", True)),
                            ("mon_start__lt", models.F("mon_end")),
                            _connector="OR",
                        ),
                        name="statelaw_mon_both_or_none",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("tue_end__isnull", True), ("tue_start__isnull", True)),
                            ("tue_start__lt", models.F("tue_end")),
                            _connector="OR",
                        ),
                        name="statelaw_tue_both_or_none",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("wed_end__isnull", True), ("wed_start__isnull", True)),
                            ("wed_start__lt", models.F("wed_end")),
                            _connector="OR",
                        ),
                        name="statelaw_wed_both_or_none",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("thu_end__isnull", True), ("thu_start__isnull", True)),
                            ("thu_start__lt", models.F("thu_end")),
                            _connector="OR",
                        ),
                        name="statelaw_thu_both_or_none",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("fri_end__isnull", True), ("fri_start__isnull", True)),
                            ("fri_start__lt", models.F("fri_end")),
                            _connector="OR",
                        ),
                        name="statelaw_fri_both_or_none",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("sat_end__isnull", True), ("sat_start__isnull", True)),
                            ("sat_start__lt", models.F("sat_end")),
                            _connector="OR",
                        ),
                        name="statelaw_sat_both_or_none",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("sun_end__isnull", True), ("sun_start__isnull", True)),
                            ("sun_start__lt", models.F("sun_end")),
                            _connector="OR",
                        ),
                        name="statelaw_sun_both_or_none",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="StateLawBarredDate",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("date", models.DateField()),
                ("note", models.CharField(blank=True, max_length=200)),
                (
                    "state_law",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="barred_dates",
                        to="lcm.statelaw",
                    ),
                ),
            ],
            options={
                "verbose_name": "barred date",
                "ordering": ["state_law_id", "date"],
                "constraints": [
                    models.UniqueConstraint(fields=("state_law", "date"), name="statelaw_date_once")
                ],
            },
        ),
        migrations.CreateModel(
            name="CallOutcome",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("business_outcome", models.PositiveIntegerField(verbose_name="BusinessOutcome")),
                ("description", models.CharField(max_length=100, verbose_name="Description")),
                (
                    "mode_id",
                    models.PositiveSmallIntegerField(blank=True, null=True, verbose_name="ModeID"),
                ),
                (
                    "comments",
                    models.CharField(blank=True, max_length=500, verbose_name="AgentComments"),
                ),
                (
                    "lead_score",
                    models.PositiveSmallIntegerField(default=0, verbose_name="LeadScore"),
                ),
                (
                    "target_amount",
                    models.DecimalField(
                        decimal_places=2, default=0, max_digits=14, verbose_name="TargetAmount"
                    ),
                ),
                ("set_at", models.DateTimeField()),
                ("agent_code", models.CharField(max_length=64, verbose_name="AgentID")),
                ("username", models.CharField(blank=True, max_length=150)),
                (
                    "account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="call_outcomes",
                        to="lcm.account",
                    ),
                ),
                (
                    "call",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="outcome",
                        to="lcm.call",
                    ),
                ),
                (
                    "do_not_call",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="lcm.donotcallnumber",
                    ),
                ),
                (
                    "call_outcome",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="lcm.telephonyoutcome",
                        verbose_name="CallOutcome",
                    ),
                ),
            ],
            options={
                "verbose_name": "call outcome",
                "ordering": ["-set_at"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("lead_score__lte", 100)), name="calloutcome_score_100"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("target_amount__gte", 0)),
                        name="calloutcome_amount_not_negative",
                    ),
                ],
            },
        ),
        migrations.RunPython(system_outcomes, migrations.RunPython.noop),
        migrations.RunPython(grant, revoke),
    ]
