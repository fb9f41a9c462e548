"""Queue again every import and export job whose worker was lost (killed, or
the machine restarted): silent past LCM_IMPORT_JOB_STALE_SECONDS. Run it
after a deploy or from cron; the console's Resume does the same for one job.
An import goes on from its last committed batch, an export from its last
committed chunk (or starts its file over when that cannot be proved)."""

from django.core.management.base import BaseCommand

from lcm.actions import export_jobs, import_jobs


class Command(BaseCommand):
    help = "Resume the import and export jobs whose worker was lost."

    def handle(self, *args, **options):
        resumed = import_jobs.resume_stalled()
        for job in resumed:
            self.stdout.write(
                f"Resumed import {job.pk} ({job.file_name}) from item {job.through:,}."
            )
        exports = export_jobs.resume_stalled()
        for job in exports:
            self.stdout.write(
                f"Resumed export {job.pk} ({job.get_list_display()}) from row {job.rows:,}."
            )
        if not resumed:
            self.stdout.write("No import job to resume.")
        if not exports:
            self.stdout.write("No export job to resume.")
