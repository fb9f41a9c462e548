"""Create the one row that every audit append locks (see lcm.audit)."""

from django.db import migrations


def create_head(apps, schema_editor):
    AuditChainHead = apps.get_model("lcm", "AuditChainHead")
    AuditChainHead.objects.get_or_create(id=1, defaults={"seq": 0, "hash": "0" * 64})


class Migration(migrations.Migration):
    dependencies = [("lcm", "0001_initial")]

    operations = [migrations.RunPython(create_head, migrations.RunPython.noop)]
