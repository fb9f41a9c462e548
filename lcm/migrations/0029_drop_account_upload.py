"""Drop `AccountUpload` (0017): the console's in-request upload kept the
file's bytes in this table between preview and import; since 0020 the
upload is an import job (`ImportJob`, the file on disk) and nothing reads or
writes the table (lcm.admin.uploads is gone). Reverse: an empty table again."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('lcm', '0028_export_jobs'),
    ]

    operations = [
        migrations.DeleteModel(
            name='AccountUpload',
        ),
    ]
