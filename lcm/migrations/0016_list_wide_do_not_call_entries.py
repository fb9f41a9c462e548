"""List-wide do-not-call entries join the audit chain.

A number a supervisor blocks for every account in the console belongs to no
account, so its audit entry has none: `ModeChange.account` becomes nullable;
changing a list entry's reason or expiry gets its own action. On SQLite,
altering a column rebuilds the table and drops its append-only triggers with
the old one: they are installed again (lcm.audit.triggers), both ways.
"""

import django.db.models.deletion
from django.db import migrations, models

from lcm.audit import triggers as audit_triggers


def refuse_with_list_wide_entries(apps, schema_editor):
    """Going back would make `account` required again: impossible while the
    append-only log holds entries on no account (they are never deleted)."""
    entries = apps.get_model("lcm", "ModeChange").objects.filter(account__isnull=True)
    if entries.exists():
        raise RuntimeError(
            f"lcm 0016 cannot be reversed: the audit log holds {entries.count()} list-wide "
            "do-not-call entries (on no account), and audit entries are never deleted."
        )


def reinstall_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        audit_triggers.install(schema_editor.connection, erasure=False)  # 0018 brings the next ones


class Migration(migrations.Migration):

    dependencies = [
        ('lcm', '0015_audit_checkpoints'),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, reinstall_triggers),
        migrations.AlterField(
            model_name='modechange',
            name='account',
            field=models.ForeignKey(blank=True, db_index=False, help_text='Empty only on a list-wide do-not-call entry: a number blocked on every account from the console, which belongs to no account.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='mode_changes', to='lcm.account'),
        ),
        migrations.AlterField(
            model_name='modechange',
            name='account_number',
            field=models.CharField(blank=True, max_length=128, verbose_name='LCM key'),
        ),
        migrations.AlterField(
            model_name='modechange',
            name='action',
            field=models.CharField(choices=[('set', 'Set number'), ('revert', 'Revert'), ('restore', 'Restore'), ('import', 'Import'), ('settings', 'Mode settings'), ('dnc', 'Do-not-call'), ('dnc_lift', 'Do-not-call lifted'), ('dnc_change', 'Do-not-call changed'), ('callback', 'Callback')], default='set', max_length=10),
        ),
        migrations.RunPython(reinstall_triggers, refuse_with_list_wide_entries),
    ]
