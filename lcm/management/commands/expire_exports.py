"""Delete the files of the exports finished more than LCM_EXPORT_KEEP_HOURS
ago (their jobs then say "expired"). The worker does it after each export;
run this from cron beside `prune_db_task_results` for the quiet days."""

from django.core.management.base import BaseCommand

from lcm.actions import export_jobs


class Command(BaseCommand):
    help = "Delete the files of exports older than LCM_EXPORT_KEEP_HOURS."

    def handle(self, *args, **options):
        gone = export_jobs.expire()
        self.stdout.write(f"{len(gone)} export file{'' if len(gone) == 1 else 's'} deleted.")
