"""Make the audit table append-only in the database, and index its filters.

The triggers (lcm.audit.triggers) refuse UPDATE and DELETE of an audit
entry on PostgreSQL and SQLite, and TRUNCATE on PostgreSQL. The indexes
serve the auditors' filters and searches (docs/audit.md). The indexes come
first: on SQLite nothing here rebuilds the table, so the triggers survive.
"""

from django.db import migrations, models

from lcm.audit import triggers as audit_triggers


def install_triggers(apps, schema_editor):
    # The triggers of this point in history: the erasure columns they let
    # change appear in 0018, which installs the current ones.
    audit_triggers.install(schema_editor.connection, erasure=False)


def uninstall_triggers(apps, schema_editor):
    audit_triggers.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("lcm", "0002_audit_chain_head")]

    operations = [
        migrations.AddIndex(
            model_name="modechange",
            index=models.Index(fields=["source", "-seq"], name="modechange_source_seq_idx"),
        ),
        migrations.AddIndex(
            model_name="modechange",
            index=models.Index(fields=["mode_id", "-seq"], name="modechange_mode_seq_idx"),
        ),
        migrations.AddIndex(
            model_name="modechange",
            index=models.Index(fields=["new_number"], name="modechange_new_number_idx"),
        ),
        migrations.AddIndex(
            model_name="modechange",
            index=models.Index(fields=["old_number"], name="modechange_old_number_idx"),
        ),
        migrations.RunPython(install_triggers, uninstall_triggers, elidable=False),
    ]
