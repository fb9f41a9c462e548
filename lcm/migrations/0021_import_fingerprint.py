"""The import's fingerprints (issue 26, decision 4; lcm.actions.imports).

Two columns on `lcm_account`, with constant defaults in the database too (so
raw INSERTs such as bench/fill.py need not name them): PostgreSQL adds them
without rewriting the table, and every existing account starts without a
fingerprint (its next import reads it as today, then stores one).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("lcm", "0020_import_jobs")]

    operations = [
        migrations.AddField(
            model_name="account",
            name="import_fingerprint",
            field=models.CharField(
                blank=True, db_default="", default="", editable=False, max_length=32
            ),
        ),
        migrations.AddField(
            model_name="account",
            name="import_fingerprint_seq",
            field=models.BigIntegerField(db_default=0, default=0, editable=False),
        ),
    ]
