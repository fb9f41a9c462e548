"""lcm's background tasks (django-tasks; its database backend in our project,
`manage.py db_worker` runs them: docs/scaling.md).

A task's body is a domain action: the rules live there, not here.
"""

from __future__ import annotations

from django_tasks import task

from lcm.actions import export_jobs, import_jobs


@task()
def run_import_job(job_id: int, attempt: int) -> str:
    """One run of an import job (`lcm.actions.import_jobs.run`)."""
    return import_jobs.run(job_id, attempt)


@task()
def run_export_job(job_id: int, attempt: int = 1) -> str:
    """One run of an export job (`lcm.actions.export_jobs.run`)."""
    return export_jobs.run(job_id, attempt)
