""" "Import accounts" in the console: upload, preview, import in the background.

1. The upload form takes a CSV or JSON Lines file of any size up to
   `LCM_IMPORT_UPLOAD_MAX_BYTES` (512 MiB by default): Django spools it to a
   temporary file, `lcm.actions.import_jobs.store_upload` copies it in
   chunks to `LCM_IMPORT_DIR` with its SHA-256. Never whole in memory.
2. The job's page first shows the preview: the header checked and the first
   `PREVIEW_ROWS` rows run dry (what they would add, change, reject); the
   whole file's counts come from the job.
3. "Import" queues the job (django-tasks; a worker runs it) and answers at
   once. The page then shows a progress bar that `lcm/import_job.js` keeps
   current from the job's JSON status (rows read of the total, rows per
   second, time left, rejected so far), **Cancel** (stops after the current
   batch), **Resume** (a cancelled, failed or lost job goes on from its last
   committed batch), and at the end the summary, the first rejected rows,
   all of them as CSV, and a link to the import's audit entries.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import urlencode

from lcm import errors
from lcm import job_render as render
from lcm.actions import import_jobs, permissions
from lcm.conf import lcm_settings
from lcm.models import ImportJob

REJECTED_SHOWN = 50


class UploadForm(forms.Form):
    file = forms.FileField(
        label="Account list",
        help_text="A CSV file with a header line (AccountNumber, FirstName, LastName, "
        "Campaign, Mode1 or Home…), or JSON Lines with the same keys. UTF-8.",
        error_messages={"required": "Choose a file to upload.", "empty": import_jobs.EMPTY},
    )


class ImportJobViews:
    """The views, mounted on the accounts list (`AccountAdmin`)."""

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("import/", view(self.import_upload_view), name="lcm_account_import"),
            path("import/<str:token>/", view(self.import_job_view),
                 name="lcm_account_import_preview"),
            path("import/<str:token>/run/", view(self.import_run_view),
                 name="lcm_account_import_run"),
            path("import/<str:token>/cancel/", view(self.import_cancel_view),
                 name="lcm_account_import_cancel"),
            path("import/<str:token>/resume/", view(self.import_resume_view),
                 name="lcm_account_import_resume"),
            path("import/<str:token>/status/", view(self.import_status_view),
                 name="lcm_account_import_status"),
            path("import/<str:token>/rejected.csv", view(self.import_rejected_view),
                 name="lcm_account_import_rejected"),
            *super().get_urls(),
        ]  # fmt: skip

    def _may_import(self, request):
        if not permissions.may(request.user, permissions.IMPORT_ACCOUNTS):
            raise PermissionDenied

    def _job(self, request, token) -> ImportJob:
        self._may_import(request)
        job = ImportJob.objects.filter(pk=int(token)).first() if token.isdigit() else None
        if job is None:
            raise Http404("No such import.")
        return job

    def _import_context(self, request, title, **context):
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "list_url": reverse("admin:lcm_account_changelist"),
            "upload_url": reverse("admin:lcm_account_import"),
            **context,
        }

    def import_upload_view(self, request):
        self._may_import(request)
        limit = lcm_settings.LCM_IMPORT_UPLOAD_MAX_BYTES
        form = UploadForm()
        if request.method == "POST":
            if int(request.META.get("CONTENT_LENGTH") or 0) > limit + 64 * 1024:
                form = UploadForm(data={}, files={})
                form.full_clean()
                form.errors["file"] = form.error_class([import_jobs.TOO_LARGE.format(limit=limit)])
            else:
                form = UploadForm(request.POST, request.FILES)
            if form.is_valid():
                upload = form.cleaned_data["file"]
                try:
                    job = import_jobs.store_upload(
                        upload.chunks(), file_name=upload.name, actor=request.user
                    )
                except errors.NotAllowed:
                    raise PermissionDenied from None
                except errors.LcmError as exc:
                    form.add_error("file", exc.message)
                else:
                    return HttpResponseRedirect(
                        reverse("admin:lcm_account_import_preview", args=[job.pk])
                    )
        return TemplateResponse(
            request,
            "admin/lcm/account/import_upload.html",
            self._import_context(request, "Import accounts", form=form, limit=limit,
                                 recent=ImportJob.objects.select_related("created_by")[:10]),
        )  # fmt: skip

    def import_job_view(self, request, token):
        job = self._job(request, token)
        context = {"job": job, "status": import_jobs.status(job)}
        urls = {
            name: reverse(f"admin:lcm_account_import_{name}", args=[job.pk])
            for name in ("run", "cancel", "resume", "status", "rejected")
        }
        if job.state == ImportJob.State.NEW:
            try:
                context["preview"] = import_jobs.preview(job, request.user)
            except import_jobs.BadFile as exc:
                context["bad_file"] = exc.message
            title = f"Preview of {job.file_name}"
        else:
            title = f"Import of {job.file_name}"
            context["rejected"] = job.rejected_rows.order_by("line", "pk")[:REJECTED_SHOWN]
            context["audit_url"] = (
                reverse("admin:lcm_modechange_changelist") + "?" + urlencode({"source": job.source})
            )
            context["events"] = job.events.all()
        return TemplateResponse(
            request,
            "admin/lcm/account/import_job.html",
            self._import_context(request, title, upload=job, urls=urls, **context),
        )

    def _act(self, request, token, action, done_text):
        job = self._job(request, token)
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:lcm_account_import_preview", args=[job.pk]))
        try:
            action(job, request.user)
        except errors.NotAllowed:
            raise PermissionDenied from None
        except errors.LcmError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, done_text.format(name=job.file_name))
        return HttpResponseRedirect(reverse("admin:lcm_account_import_preview", args=[job.pk]))

    def import_run_view(self, request, token):
        return self._act(request, token, import_jobs.start,
                         "The import of {name} is queued: this page follows it.")  # fmt: skip

    def import_cancel_view(self, request, token):
        return self._act(request, token, import_jobs.cancel,
                         "The import of {name} stops after its current batch.")  # fmt: skip

    def import_resume_view(self, request, token):
        return self._act(request, token, import_jobs.resume,
                         "The import of {name} goes on from its last committed batch.")  # fmt: skip

    def import_status_view(self, request, token):
        job = self._job(request, token)
        response = JsonResponse(
            render.status_body(
                job,
                url=reverse("admin:lcm_account_import_status", args=[job.pk]),
                rejected_url=reverse("admin:lcm_account_import_rejected", args=[job.pk]),
            )
        )
        response["Cache-Control"] = "no-store"
        return response

    def import_rejected_view(self, request, token):
        return render.rejected_csv_response(self._job(request, token))
