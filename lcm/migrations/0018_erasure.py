"""Erasure that keeps the proof (issue 17, item 4; docs/audit.md "Erasure").

Adds the format 2 columns of the audit entries (`salt`, `digests`,
`erased_by`, and the chained `erasure` record), the permission
`lcm.erase_contact`, and re-installs the append-only triggers so that they
let exactly the erasure through. Existing entries are not touched: they
stay in format 1 (their values in their hashes), and the first entry
appended after this migration starts format 2 (the epoch, which
`verify_audit` reports).
"""

from django.conf import settings
from django.db import migrations, models

from lcm.audit import triggers as audit_triggers


def old_triggers_off(apps, schema_editor):
    audit_triggers.uninstall(schema_editor.connection)


def new_triggers_on(apps, schema_editor):
    audit_triggers.install(schema_editor.connection, details=False)  # 0019 adds `details`


def old_triggers_on(apps, schema_editor):
    audit_triggers.install(schema_editor.connection, erasure=False)


class Migration(migrations.Migration):

    dependencies = [
        ("lcm", "0017_console_upload"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(old_triggers_off, old_triggers_on, elidable=False),
        migrations.AlterModelOptions(
            name="account",
            options={
                "ordering": ["account_number"],
                "permissions": [
                    ("import_accounts", "Can import account lists (CSV, JSON Lines)"),
                    (
                        "erase_contact",
                        "Can erase a contact's personal data (manage.py erase_contact)",
                    ),
                ],
            },
        ),
        migrations.AddField(
            model_name="modechange",
            name="erasure",
            field=models.JSONField(
                blank=True,
                help_text="An erase entry's record (lcm.actions.erasure): the reason and the "
                "entries whose personal values it erased. Null on every other entry (and left "
                "out of its hash).",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="modechange",
            name="salt",
            field=models.CharField(
                blank=True,
                editable=False,
                help_text="The entry's secret (hex) from which each personal field's salt is "
                "derived. Null on entries sealed before format 2 (their values are in the hash) "
                "and once erased.",
                max_length=64,
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="modechange",
            name="digests",
            field=models.JSONField(
                blank=True,
                editable=False,
                help_text="The salted digests of the personal fields, kept when their values "
                "are erased (format 2): the hash is still recomputed from them.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="modechange",
            name="erased_by",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                help_text="The erase entry that removed this entry's personal values.",
                null=True,
                on_delete=models.deletion.PROTECT,
                related_name="erased_entries",
                to="lcm.modechange",
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
                ],
                default="set",
                max_length=10,
            ),
        ),
        migrations.RunPython(new_triggers_on, old_triggers_off, elidable=False),
    ]
