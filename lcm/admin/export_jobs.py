""" "Export in the background" in the console: the accounts or the
do-not-call list, as filtered and searched on the page, any size, as a
background job (lcm.actions.export_jobs).

The button on the list POSTs here with the list's querystring; the job
keeps it, and the worker reads it with the changelist's own filters and
search (`changelist_rows`, as the list itself and its "Export CSV" do).
The job's page says what is exported, follows the worker (it reloads
itself every few seconds while the job runs: no script), offers Resume
when the worker was lost and, once the file is written, the download. The
status and the file are rendered by lcm.job_render, as the API's
(lcm.api.export_jobs).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponseRedirect, QueryDict
from django.template.response import TemplateResponse
from django.urls import path, reverse

from lcm import errors
from lcm import job_render as render
from lcm.actions import export_jobs
from lcm.conf import lcm_settings
from lcm.models import ExportJob

BAD_QUERY = "The list's filters or search are not valid any more: filter the list again."
RESUMED = "The export is queued again: it goes on from the last rows written."
UNUSED = ("p", "o", "e", "_changelist_filters")  # the page, the order: not what is exported


class BadQuery(errors.InvalidInput):
    code = "bad_query"


def export_query(query: str) -> str:
    """The changelist's querystring without what does not choose rows."""
    params = QueryDict(query, mutable=True)
    for name in UNUSED:
        params.pop(name, None)
    return params.urlencode()


def changelist_rows(model, query: str, user) -> tuple:
    """The rows of `model`'s console list filtered by `query` (a changelist
    querystring), as that changelist chooses them for `user`, and the
    filters in words ("filtered: scope: campaign; search “555”"). A query
    the changelist refuses raises BadQuery."""
    model_admin = admin.site.get_model_admin(model)
    request = HttpRequest()
    request.method = "GET"
    request.GET = QueryDict(export_query(query))
    request.user = user
    try:
        changelist = model_admin.get_changelist_instance(request)
    except (IncorrectLookupParameters, SuspiciousOperation):
        raise BadQuery(BAD_QUERY) from None
    words = []
    for spec in changelist.filter_specs:
        used = {k: v for k, v in getattr(spec, "used_parameters", {}).items() if v not in ("", [])}
        if not used:
            continue
        chosen = [
            str(choice["display"])
            for choice in spec.choices(changelist)
            if choice.get("selected") and choice.get("display") is not None
        ]
        if not chosen:
            chosen = [", ".join(map(str, v)) if isinstance(v, list) else str(v)
                      for v in used.values()]  # fmt: skip
        words.append(f"{spec.title}: {', '.join(chosen)}")
    if changelist.query:
        words.append(f"search “{changelist.query}”")
    return changelist.queryset, ("filtered: " + "; ".join(words)) if words else ""


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
            path("export-job/<str:token>/resume/", view(self.export_job_resume_view),
                 name=self._export_name("_resume")),
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
        query = export_query(request.POST.get("query", ""))
        try:
            job = export_jobs.start(self.export_job_list, request.user, query)
        except errors.NotAllowed:
            raise PermissionDenied from None
        except BadQuery as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(
                reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
            )
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
            "resume_url": reverse(f"admin:{self._export_name('_resume')}", args=[job.pk]),
            "list_url": reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"),
            "job": job,
            "status": status,
            "active": job.state in ExportJob.ACTIVE and not status["resumable"],
            "expires_at": export_jobs.expires_at(job),
            "expired_text": export_jobs.EXPIRED.format(
                job=job.pk, hours=lcm_settings.LCM_EXPORT_KEEP_HOURS
            ),
        }
        return TemplateResponse(request, "admin/lcm/export_job.html", context)

    def export_job_file_view(self, request, token):
        job = self._export_job(request, token)
        try:
            return render.export_file_response(job)
        except (export_jobs.ExportNotReady, export_jobs.ExportExpired) as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(self._page_url(job))

    def export_job_resume_view(self, request, token):
        job = self._export_job(request, token)
        if request.method == "POST":
            try:
                export_jobs.resume(job, request.user)
            except errors.NotAllowed:
                raise PermissionDenied from None
            except export_jobs.ExportNotReady as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, RESUMED)
        return HttpResponseRedirect(self._page_url(job))
