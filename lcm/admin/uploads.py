""" "Import accounts" in the console: upload, preview, import.

1. The upload form takes a CSV or JSON Lines file (the formats of
   `manage.py import_accounts`, read by `lcm.imports`). A file that cannot
   be imported at all (wrong type, over `LCM_IMPORT_UPLOAD_MAX_BYTES`, not
   UTF-8, empty, binary, a bad header) is a form error.
2. The preview runs the import dry (`lcm.actions.imports.import_rows`,
   each batch rolled back): the same reader, validator, writer and rules,
   nothing kept. It counts the rows that would add an account, change one,
   leave one as it is, or be rejected (the first rejected rows listed with
   their line and reason). The file is kept server-side
   (`lcm.models.AccountUpload`), reachable only by its uploader, by a token.
3. "Import N rows" posts the token, the file's digest and the preview's
   fingerprint. The import re-reads the stored bytes, runs the dry check
   again, and imports only when the outcome is still the one shown;
   otherwise it imports nothing and offers the new preview. The import
   itself is `import_rows` (batches of `BATCH_SIZE`, audited, permission
   checked by the action); its progress is streamed to the page, one line
   per batch, then the summary.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import logging
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect, StreamingHttpResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from lcm import errors, imports
from lcm.actions import imports as writer
from lcm.actions import permissions
from lcm.conf import lcm_settings
from lcm.models import AccountUpload, ModeType

logger = logging.getLogger(__name__)

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
BATCH_SIZE = 1000  # rows per progress line, in transactions of writer.ROWS_PER_TRANSACTION
REJECTED_SHOWN = 50  # the preview lists this many rejected rows
KEPT_FOR = timedelta(days=1)  # an upload never imported is deleted after this

WRONG_TYPE = "Choose a .csv or a .jsonl (JSON Lines) file; {name} is neither."
TOO_LARGE = (
    "The file is {size:,} bytes; the console takes up to {limit:,} "
    "(LCM_IMPORT_UPLOAD_MAX_BYTES). Split it, or use manage.py import_accounts."
)
NOT_UTF8 = (
    "The file is not UTF-8 text (byte {position:,} is not). Save it as CSV (UTF-8) "
    "or JSON Lines (UTF-8)."
)
EMPTY = "The file is empty."
IMPORT_FAILED = (
    "The import stopped on an unexpected error (logged). The batches above are "
    "imported; the rest is not. Look at the accounts list, then upload the file again: "
    "rows already imported are left as they are."
)
STALE = (
    "The accounts or the file changed since the preview: nothing was imported. "
    "Look at the new preview before importing."
)


class UploadForm(forms.Form):
    file = forms.FileField(
        label="Account list",
        help_text="A CSV file with a header line (AccountNumber, FirstName, LastName, "
        "Campaign, Mode1 or Home…), or JSON Lines with the same keys. UTF-8.",
        error_messages={"required": "Choose a file to upload.", "empty": EMPTY},
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        fmt = FORMATS.get(Path(upload.name).suffix.lower())
        if fmt is None:
            raise forms.ValidationError(WRONG_TYPE.format(name=upload.name))
        limit = lcm_settings.LCM_IMPORT_UPLOAD_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(TOO_LARGE.format(size=upload.size, limit=limit))
        data = upload.read()
        if not data.strip():
            raise forms.ValidationError(EMPTY)
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise forms.ValidationError(NOT_UTF8.format(position=exc.start + 1)) from None
        self.fmt, self.content = fmt, data
        return upload


class ImportForm(forms.Form):
    """What the preview showed, posted back with "Import N rows"."""

    digest = forms.CharField(widget=forms.HiddenInput)
    fingerprint = forms.CharField(widget=forms.HiddenInput)


@dataclass
class Preview:
    """What importing the file would do (or did)."""

    run: writer.ImportRun
    rejected: list[imports.Rejected] = field(default_factory=list)
    fingerprint: str = ""

    @property
    def added(self) -> int:
        return self.run.total.accounts_created

    @property
    def changed(self) -> int:
        return self.run.total.rows_changed

    @property
    def unchanged(self) -> int:
        return self.run.total.rows_unchanged

    @property
    def rows(self) -> int:
        return self.run.total.rows

    @property
    def more_rejected(self) -> int:
        return self.run.rejected - len(self.rejected)


def _rows(fmt: str, data: bytes):
    mode_types = list(ModeType.objects.all())
    read = imports.read_csv if fmt == "csv" else imports.read_jsonl
    return read(io.BytesIO(data), mode_types=mode_types)


def import_steps(fmt, data, *, actor, dry_run):
    """Import (or preview) the file, `BATCH_SIZE` rows at a time, yielding
    the outcome so far after each batch (the page shows progress); the last
    one carries the fingerprint of the whole outcome: every count and every
    rejected row."""
    preview = Preview(writer.ImportRun())
    digest = hashlib.sha256()

    def on_rejected(rows):
        for row in rows:
            digest.update(f"{row}\n".encode("utf-8", "replace"))
            if len(preview.rejected) < REJECTED_SHOWN:
                preview.rejected.append(row)

    items = _rows(fmt, data)
    run = preview.run
    while True:
        part = writer.import_rows(
            itertools.islice(items, BATCH_SIZE),
            actor=actor,
            dry_run=dry_run,
            on_rejected=on_rejected,
        )
        run.total.add(part.total)
        run.read += part.read
        run.rejected += part.rejected
        run.broken = part.broken
        if part.broken is not None or part.read < BATCH_SIZE:
            break
        yield preview
    t = run.total
    digest.update(
        repr(
            (run.read, run.rejected, str(run.broken or ""), t.rows, t.accounts_created,
             t.rows_changed, t.accounts_updated, t.modes_added, t.modes_changed)
        ).encode()
    )  # fmt: skip
    preview.fingerprint = digest.hexdigest()
    yield preview


def run_import(fmt, data, *, actor, dry_run) -> Preview:
    *_, preview = import_steps(fmt, data, actor=actor, dry_run=dry_run)
    return preview


def summary(upload: AccountUpload, preview: Preview) -> str:
    """The success message: what changed, in the supervisor's words."""
    t = preview.run.total
    # Only what happened: "0 with new names" says nothing a supervisor needs.
    details = nonzero(
        (t.modes_added, f"{plural(t.modes_added, 'number')} added"),
        (t.modes_changed, f"{plural(t.modes_changed, 'number')} changed"),
        (t.accounts_updated, f"{plural(t.accounts_updated, 'account')} with new names or details"),
    )
    parts = nonzero(
        (t.accounts_created, f"{plural(t.accounts_created, 'account')} added"),
        (preview.changed, f"{plural(preview.changed, 'account')} changed"
         + (f" ({details})" if details else "")),
        (preview.unchanged, f"{preview.unchanged:,} already up to date"),
        (preview.run.rejected, f"{plural(preview.run.rejected, 'row')} rejected"),
    )  # fmt: skip
    return f"Imported {plural(t.rows, 'row')} of {upload.file_name}: {parts or 'nothing to do'}."


def nonzero(*counts: tuple[int, str]) -> str:
    """The phrases whose count is not zero, joined: "2 accounts added, 1 changed"."""
    return ", ".join(text for count, text in counts if count)


def plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


class AccountImportViews:
    """The views, mounted on the accounts list (`AccountAdmin`)."""

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("import/", view(self.import_upload_view), name="lcm_account_import"),
            path(
                "import/<str:token>/",
                view(self.import_preview_view),
                name="lcm_account_import_preview",
            ),
            path(
                "import/<str:token>/run/",
                view(self.import_run_view),
                name="lcm_account_import_run",
            ),
            *super().get_urls(),
        ]

    def _may_import(self, request):
        if not permissions.may(request.user, permissions.IMPORT_ACCOUNTS):
            raise PermissionDenied

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
        form = UploadForm(*((request.POST, request.FILES) if request.method == "POST" else ()))
        if request.method == "POST" and form.is_valid():
            try:
                preview = run_import(form.fmt, form.content, actor=request.user, dry_run=True)
            except errors.NotAllowed:
                raise PermissionDenied from None
            broken = preview.run.broken
            if broken is not None and not preview.run.read:
                form.add_error("file", str(broken))
            else:
                AccountUpload.objects.filter(created_at__lt=timezone.now() - KEPT_FOR).delete()
                upload = AccountUpload.objects.create(
                    token=secrets.token_urlsafe(32),
                    user=request.user,
                    file_name=Path(form.cleaned_data["file"].name).name[:255],
                    format=form.fmt,
                    data=form.content,
                    digest=hashlib.sha256(form.content).hexdigest(),
                )
                return self._render_preview(request, upload, preview)
        return TemplateResponse(
            request,
            "admin/lcm/account/import_upload.html",
            self._import_context(
                request,
                "Import accounts",
                form=form,
                limit=lcm_settings.LCM_IMPORT_UPLOAD_MAX_BYTES,
                batch_size=BATCH_SIZE,
            ),
        )

    def _upload_of(self, request, token) -> AccountUpload:
        self._may_import(request)
        upload = AccountUpload.objects.filter(token=token, user=request.user).first()
        if upload is None:
            raise Http404("No such upload: it was imported already, or it expired.")
        return upload

    def _render_preview(self, request, upload, preview):
        return TemplateResponse(
            request,
            "admin/lcm/account/import_preview.html",
            self._import_context(
                request,
                f"Preview of {upload.file_name}",
                upload=upload,
                preview=preview,
                form=ImportForm(
                    initial={"digest": upload.digest, "fingerprint": preview.fingerprint}
                ),
                run_url=reverse("admin:lcm_account_import_run", args=[upload.token]),
            ),
        )

    def import_preview_view(self, request, token):
        """The preview again (after a stale import, or a reload)."""
        upload = self._upload_of(request, token)
        preview = run_import(upload.format, bytes(upload.data), actor=request.user, dry_run=True)
        return self._render_preview(request, upload, preview)

    def import_run_view(self, request, token):
        upload = self._upload_of(request, token)
        preview_url = reverse("admin:lcm_account_import_preview", args=[token])
        form = ImportForm(request.POST or None)
        if request.method != "POST" or not form.is_valid():
            return HttpResponseRedirect(preview_url)
        data = bytes(upload.data)
        if (
            form.cleaned_data["digest"] != upload.digest
            or hashlib.sha256(data).hexdigest() != upload.digest
        ):
            raise Http404("No such upload.")
        page = render_to_string(
            "admin/lcm/account/import_run.html",
            self._import_context(request, f"Importing {upload.file_name}", upload=upload),
            request=request,
        )
        head, tail = page.split("<!--progress-->", 1)
        expected = form.cleaned_data["fingerprint"]

        def stream():
            yield head
            try:
                yield from steps()
            except Exception:  # the status line is sent: say so on the page
                logger.exception("Import of %s stopped", upload.file_name)
                yield format_html('<p class="errornote" id="import-failed">{}</p>', IMPORT_FAILED)
            yield tail

        def steps():
            yield "<p>Checking the file against the preview…</p>\n"
            check = run_import(upload.format, data, actor=request.user, dry_run=True)
            if check.fingerprint != expected:
                yield format_html(
                    '<p class="errornote" id="import-stale">{}</p>'
                    '<p><a href="{}" id="new-preview">See the new preview</a></p>',
                    STALE,
                    preview_url,
                )
                return
            yield f"<p>Importing {plural(check.run.read, 'row')} in batches of {BATCH_SIZE:,}…</p>"
            yield '<ol id="import-progress">'
            for done in import_steps(upload.format, data, actor=request.user, dry_run=False):
                run = done.run
                yield (
                    f"<li>{plural(run.read, 'row')} read: {run.total.rows:,} imported, "
                    f"{run.rejected:,} rejected</li>\n"
                )
            yield "</ol>"
            upload.delete()
            yield format_html(
                '<ul class="messagelist"><li class="success" id="import-done">{}</li></ul>',
                summary(upload, done),
            )
            if done.rejected:
                yield render_to_string("admin/lcm/account/import_rejected.html", {"preview": done})
            yield format_html(
                '<p><a href="{}" id="back-to-accounts">Back to the accounts</a></p>',
                reverse("admin:lcm_account_changelist"),
            )

        response = StreamingHttpResponse(stream(), content_type="text/html; charset=utf-8")
        response["X-Accel-Buffering"] = "no"  # a proxy passes each line on as it comes
        response["Cache-Control"] = "no-store"
        return response
