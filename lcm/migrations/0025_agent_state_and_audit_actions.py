"""Issue 31's agent services: the agent's state (SendAgentState) on the agent
session, and the audit actions `business_fields` and `agent_state` (the
action column grows to 20 characters). SQLite rebuilds the audit table to
alter a column, which drops its append-only triggers: they are re-installed
around it, as in 0022."""

from django.db import migrations, models

from lcm.audit import triggers as audit_triggers


def triggers_off(apps, schema_editor):
    audit_triggers.uninstall(schema_editor.connection)


def triggers_on(apps, schema_editor):
    audit_triggers.install(schema_editor.connection)


def triggers_on_as_0022(apps, schema_editor):
    audit_triggers.install(schema_editor.connection, business=False)


class Migration(migrations.Migration):

    dependencies = [
        ('lcm', '0024_account_campaign_record'),
    ]

    operations = [
        migrations.RunPython(triggers_off, triggers_on_as_0022, elidable=False),
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
            field=models.CharField(choices=[('set', 'Set number'), ('revert', 'Revert'), ('restore', 'Restore'), ('import', 'Import'), ('settings', 'Mode settings'), ('dnc', 'Do-not-call'), ('dnc_lift', 'Do-not-call lifted'), ('dnc_change', 'Do-not-call changed'), ('callback', 'Callback'), ('erase', 'Personal data erased'), ('campaign', 'Campaign settings'), ('business_fields', 'Business fields'), ('agent_state', 'Agent state')], default='set', max_length=20),
        ),
        migrations.AlterField(
            model_name="modechange",
            name="details",
            field=models.JSONField(
                blank=True,
                help_text="A campaign entry's settings before and after (lcm.actions.campaigns), an agent state entry's state before and after (lcm.actions.calls). Null on every other entry (and left out of its hash).",
                null=True,
            ),
        ),
        migrations.RunPython(triggers_on, triggers_off, elidable=False),
    ]
