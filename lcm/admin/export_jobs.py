""" "Export the whole list" in the console: the accounts or the do-not-call
list, any size, as a background job (lcm.actions.export_jobs).

The button on the list POSTs here; the job's page follows the worker (it
reloads itself every few seconds while the job runs: no script) and, once
the file is written, offers it for download. The status and the file are
rendered by lcm.job_render, as the API's (lcm.api.export_jobs).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from lcm import errors
from lcm import job_render as render
from lcm.actions import export_jobs
from lcm.models import ExportJob


class ExportJobViews:
    """Mounted on a list's ModelAdmin; `export_job_list` names the list."""

    export_job_list = ""  # "accounts" or "do_not_call"

    def _export_name(self, suffix: str) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_export_job{suffix}"

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("export-job/", view(self.export_job_start_view), name=self._export_name("")),
            path("export-job/<str:token>/", view(self.export_job_view),
                 name=self._export_name("_page")),
            path("export-job/<str:token>/file/", view(self.export_job_file_view),
                 name=self._export_name("_file")),
            *super().get_urls(),
        ]  # fmt: skip

    def _export_job(self, request, token) -> ExportJob:
        try:
            job = export_jobs.get(token, request.user)
        except errors.NotAllowed:
            raise PermissionDenied from None
        if job is None or job.list != self.export_job_list:
            raise Http404("No such export.")
        return job

    def _page_url(self, job) -> str:
        return reverse(f"admin:{self._export_name('_page')}", args=[job.pk])

    def export_job_start_view(self, request):
        if request.method != "POST":
            return HttpResponseRedirect(
                reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
            )
        try:
            job = export_jobs.start(self.export_job_list, request.user)
        except errors.NotAllowed:
            raise PermissionDenied from None
        messages.success(request, "The export is queued: this page follows it.")
        return HttpResponseRedirect(self._page_url(job))

    def export_job_view(self, request, token):
        job = self._export_job(request, token)
        file_url = reverse(f"admin:{self._export_name('_file')}", args=[job.pk])
        status = render.export_status_body(job, url=self._page_url(job), file_url=file_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Export of the {job.get_list_display()}",
            "list_url": reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"),
            "job": job,
            "status": status,
            "active": job.state in ExportJob.ACTIVE,
        }
        return TemplateResponse(request, "admin/lcm/export_job.html", context)

    def export_job_file_view(self, request, token):
        job = self._export_job(request, token)
        try:
            return render.export_file_response(job)
        except export_jobs.ExportNotReady as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(self._page_url(job))
