"""The lean audit table (issue 26, decision 1; docs/audit.md "The table").

No foreign keys on `lcm_modechange` any more (the ORM keeps its relations,
`db_constraint=False`): an append never makes the database check or lock the
live rows an entry names. Only the indexes a shipped query uses stay: the
FK indexes of `call`, `agent` and `user` and the unique index of `hash` (and
its `varchar_pattern_ops` twin on PostgreSQL) go, `reverts` and `erased_by`
are indexed where they are set (partial indexes).

No entry is rewritten: on PostgreSQL every operation is a catalogue change
(DROP CONSTRAINT, DROP INDEX, CREATE INDEX). SQLite alters a constraint by
rebuilding the table, a copy of every row as it is; its append-only triggers
go with the old table, so they are taken off first and installed again last
(lcm.audit.triggers).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from lcm.audit import triggers as audit_triggers


def triggers_off(apps, schema_editor):
    audit_triggers.uninstall(schema_editor.connection)


def triggers_on(apps, schema_editor):
    # The table has no `details` column yet (0022_campaigns adds it).
    audit_triggers.install(schema_editor.connection, details=False)


class Migration(migrations.Migration):
    dependencies = [
        ("lcm", "0018_erasure"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(triggers_off, triggers_on, elidable=False),
        migrations.AlterField(
            model_name="modechange",
            name="account",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                help_text="Empty only on a list-wide do-not-call entry: a number blocked on every account from the console, which belongs to no account.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="mode_changes",
                to="lcm.account",
            ),
        ),
        migrations.AlterField(
            model_name="modechange",
            name="agent",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="mode_changes",
                to="lcm.agent",
            ),
        ),
        migrations.AlterField(
            model_name="modechange",
            name="call",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="mode_changes",
                to="lcm.call",
            ),
        ),
        migrations.AlterField(
            model_name="modechange",
            name="erased_by",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                editable=False,
                help_text="The erase entry that removed this entry's personal values.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="erased_entries",
                to="lcm.modechange",
            ),
        ),
        migrations.AlterField(
            model_name="modechange",
            name="hash",
            field=models.CharField(editable=False, max_length=64),
        ),
        migrations.AlterField(
            model_name="modechange",
            name="reverts",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="reverted_by",
                to="lcm.modechange",
            ),
        ),
        migrations.AlterField(
            model_name="modechange",
            name="user",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="mode_changes",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddIndex(
            model_name="modechange",
            index=models.Index(
                condition=models.Q(("reverts__isnull", False)),
                fields=["reverts"],
                name="modechange_reverts_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="modechange",
            index=models.Index(
                condition=models.Q(("erased_by__isnull", False)),
                fields=["erased_by"],
                name="modechange_erased_by_idx",
            ),
        ),
        migrations.RunPython(triggers_on, triggers_off, elidable=False),
    ]
