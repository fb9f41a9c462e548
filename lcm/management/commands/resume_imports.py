"""Queue again every import job whose worker was lost (killed, or the machine
restarted): silent past LCM_IMPORT_JOB_STALE_SECONDS. Run it after a deploy
or from cron; the console's and the API's Resume do the same for one job."""

from django.core.management.base import BaseCommand

from lcm.actions import import_jobs


class Command(BaseCommand):
    help = "Resume the import jobs whose worker was lost."

    def handle(self, *args, **options):
        resumed = import_jobs.resume_stalled()
        for job in resumed:
            self.stdout.write(
                f"Resumed import {job.pk} ({job.file_name}) from item {job.through:,}."
            )
        if not resumed:
            self.stdout.write("No import job to resume.")
