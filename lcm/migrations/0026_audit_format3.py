"""Audit format 3 (issue 26, decision 2; docs/audit.md "Format 3").

Adds `ModeChange.version`: 3 on every entry appended from now on, sealed as
byte layouts with one digest over the personal fields. Existing entries are
not touched: they keep `version` null and their bytes (format 1 or 2), and
the first entry appended after this migration starts format 3 (the epoch,
which `verify_audit` reports), as 0018 started format 2. A nullable column
with no default is a catalogue change on PostgreSQL and an ``ALTER TABLE …
ADD COLUMN`` on SQLite: no row is rewritten, the table is not rebuilt. The
append-only triggers are installed again so that an erasure must keep
`version` too.
"""

from django.db import migrations, models
from django.db.migrations.exceptions import IrreversibleError

from lcm.audit import triggers as audit_triggers


def triggers_as_0022(apps, schema_editor):
    audit_triggers.install(schema_editor.connection, version=False, business=False)


def triggers_on(apps, schema_editor):
    # As 0026 left them: 0030 adds `business_fields` and its erasure rule.
    audit_triggers.install(schema_editor.connection, business=False)


def refuse_when_format3_entries(apps, schema_editor):
    """Going back would drop `version` and leave every format 3 entry looking
    like format 1 or 2: its hash would no longer verify, nor the chain after
    it. An empty log, or one that never appended since this migration, goes
    back; any other is refused with nothing changed."""
    ModeChange = apps.get_model("lcm", "ModeChange")
    sealed = ModeChange.objects.using(schema_editor.connection.alias).filter(version=3).count()
    if sealed:
        raise IrreversibleError(
            f"Cannot unapply lcm.0026_audit_format3: {sealed} audit entries are sealed in "
            "format 3 and would lose their format (their hashes, and the chain, would no "
            "longer verify). Restore a backup taken before this migration instead."
        )


def triggers_as_0022_unless_format3(apps, schema_editor):
    refuse_when_format3_entries(apps, schema_editor)
    triggers_as_0022(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("lcm", "0025_campaign_words")]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, triggers_as_0022, elidable=False),
        migrations.AddField(
            model_name="modechange",
            name="version",
            field=models.PositiveSmallIntegerField(
                blank=True,
                editable=False,
                help_text="How the entry is sealed: 3 (format 3: byte layouts, one personal "
                "digest). Null on entries sealed before it (format 1 or 2).",
                null=True,
            ),
        ),
        migrations.RunPython(triggers_on, triggers_as_0022_unless_format3, elidable=False),
    ]
