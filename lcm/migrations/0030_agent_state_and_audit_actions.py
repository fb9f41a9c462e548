"""Issue 31's agent services: the agent's state (SendAgentState) on the agent
session, the audit entries' personal column `business_fields`, and the audit
actions `business_fields` and `agent_state` (the action column grows to 20
characters; `outcome` and `state_law` came with 0027).

Audit format 4 (docs/audit.md "Format 4"): every entry appended from now on
has `version` 4, format 3's layouts with `business_fields` as the last
personal field (emptied by an erasure: the append-only triggers now require
that of one). Existing entries are not touched: format 1, 2 and 3 entries
keep their bytes and `version` (the column is null on them), and the first
entry appended after this migration starts format 4 (the epoch, which
`verify_audit` reports), as 0026 started format 3. SQLite rebuilds the audit
table to alter a column, which drops its append-only triggers: they are
re-installed around it, as in 0022; the reverse re-installs them as 0026
left them."""

from django.db import migrations, models
from django.db.migrations.exceptions import IrreversibleError

from lcm.audit import triggers as audit_triggers


def triggers_off(apps, schema_editor):
    audit_triggers.uninstall(schema_editor.connection)


def triggers_on(apps, schema_editor):
    audit_triggers.install(schema_editor.connection)


def triggers_on_as_0026(apps, schema_editor):
    audit_triggers.install(schema_editor.connection, business=False)


def refuse_when_format4_entries(apps, schema_editor):
    """Going back drops `business_fields`, the last field of format 4's
    personal layout: the code before this migration knows no format 4, so no
    entry appended since would verify any more (and one holding business
    fields would lose a value its digest seals). Refused with nothing changed
    while the log holds a format 4 entry (0026's reverse refuses the same of
    format 3). Format 3 entries do not stop it: their layouts never held
    `business_fields`, null on each of them."""
    ModeChange = apps.get_model("lcm", "ModeChange")
    entries = ModeChange.objects.using(schema_editor.connection.alias)
    sealed = entries.filter(version=4).count()
    if sealed:
        held = entries.filter(business_fields__isnull=False).count()
        raise IrreversibleError(
            f"Cannot unapply lcm.0030_agent_state_and_audit_actions: {sealed} audit entries are "
            f"sealed in format 4 ({held} hold business fields), which the code before it does "
            "not know: their hashes, and the chain, would no longer verify. Restore a backup "
            "taken before this migration instead."
        )


class Migration(migrations.Migration):

    dependencies = [
        ('lcm', '0029_drop_account_upload'),
    ]

    operations = [
        migrations.RunPython(triggers_off, triggers_on_as_0026, elidable=False),
        migrations.AddField(
            model_name="modechange",
            name="business_fields",
            field=models.JSONField(
                blank=True,
                help_text="A business fields entry's fields, each before and after (lcm.actions.business_fields): the contact's personal data, sealed and erased like the numbers. Null on every other entry (and left out of its hash).",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name='agent',
            name='state',
            field=models.CharField(blank=True, choices=[('READY', 'Ready'), ('NOT_READY', 'Not ready'), ('TALKING', 'Talking'), ('WORK', 'Wrap-up work')], db_default='', default='', help_text='READY, NOT_READY, TALKING or WORK; empty: never sent.', max_length=10, verbose_name='agent state'),
        ),
        migrations.AddField(
            model_name='agent',
            name='state_changed_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='modechange',
            name='action',
            field=models.CharField(choices=[('set', 'Set number'), ('revert', 'Revert'), ('restore', 'Restore'), ('import', 'Import'), ('settings', 'Mode settings'), ('dnc', 'Do-not-call'), ('dnc_lift', 'Do-not-call lifted'), ('dnc_change', 'Do-not-call changed'), ('callback', 'Callback'), ('erase', 'Personal data erased'), ('campaign', 'Campaign settings'), ('outcome', 'Call outcome'), ('state_law', 'State calling rule'), ('business_fields', 'Business fields'), ('agent_state', 'Agent state')], default='set', max_length=20),
        ),
        migrations.AlterField(
            model_name="modechange",
            name="details",
            field=models.JSONField(
                blank=True,
                help_text="A campaign or state calling rule entry's settings before and after (lcm.actions.campaigns, lcm.actions.compliance), a call outcome's before and after (lcm.actions.outcomes), or an agent state entry's state before and after (lcm.actions.calls). Null on every other entry (and left out of its hash).",
                null=True,
            ),
        ),
        migrations.AlterField(
            model_name="modechange",
            name="version",
            field=models.PositiveSmallIntegerField(
                blank=True,
                editable=False,
                help_text="How the entry is sealed: 3 (format 3: byte layouts, one personal "
                "digest) or 4 (format 4: the same, with business_fields in the personal digest). "
                "Null on entries sealed before them (format 1 or 2).",
                null=True,
            ),
        ),
        migrations.RunPython(triggers_on, triggers_off, elidable=False),
        migrations.RunPython(migrations.RunPython.noop, refuse_when_format4_entries, elidable=False),
    ]
