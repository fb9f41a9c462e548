"""The console's list of exports (lcm/admin/export_job_list.py), as an
auditor reads it: who exported which list, when, with which filters, the
rows, the file's SHA-256 and the state, after real exports by the real
worker (in this process) from both doors (the console's filtered export,
the API's whole list). Its access per role is tests/test_access_matrix.py;
its layout at 1366 and 1024 px is tests/test_browser_console.py."""

from __future__ import annotations

import hashlib
import re
from html import unescape
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from lcm.actions import export_jobs
from lcm.models import ExportJob

from .conftest import client_for
from .test_import_jobs import work_off_the_queue

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

LIST = reverse("admin:lcm_exportjob_changelist")


def user(name: str):
    return get_user_model().objects.get(username=name)


def console(username: str) -> Client:
    client = Client()
    client.force_login(user(username))
    return client


def text(html: str) -> str:
    """What a person reads: no markup."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def rows_of(response) -> list[str]:
    html = response.content.decode()
    body = re.search(r'<table id="result_list">.*?<tbody>(.*?)</tbody>', html, re.S)
    return [text(row) for row in re.findall(r"<tr.*?</tr>", body.group(1), re.S)] if body else []


@pytest.fixture
def exports(demo, settings, tmp_path):
    """The supervisor's console export of the accounts searched for
    "Berry", and the dialer's API export of the whole do-not-call list,
    both written by the worker."""
    settings.LCM_IMPORT_DIR = str(tmp_path / "imports")
    started = console("supervisor").post(
        reverse("admin:lcm_account_export_job"), {"query": "q=Berry"}
    )
    assert started.status_code == 302
    reply = client_for("dialer").post("/api/lcm/exports/", {"list": "do_not_call"}, format="json")
    assert reply.status_code == 202, reply.content
    work_off_the_queue()
    accounts, dnc = ExportJob.objects.order_by("pk")
    assert accounts.state == dnc.state == "done"
    return accounts, dnc


def test_an_auditor_reads_who_exported_what_when_with_rows_sha256_and_state(exports):
    accounts, dnc = exports
    auditor = console("auditor")

    listing = auditor.get(LIST)
    assert listing.status_code == 200
    shown = text(listing.content.decode())
    assert "Exports" in shown
    for heading in ("Export", "List", "What was exported", "Exported by", "Asked at",
                    "Finished", "Rows", "State", "SHA-256"):  # fmt: skip
        assert heading in shown, heading
    newest, oldest = rows_of(listing)  # newest first
    assert newest.startswith(f"{dnc.pk} do-not-call list do-not-call numbers, the whole list")
    assert " dialer " in newest and f" {dnc.rows:,} done {dnc.sha256[:16]}…" in newest
    assert oldest.startswith(f"{accounts.pk} accounts accounts, filtered: search “Berry”")
    assert " supervisor " in oldest and f" {accounts.rows} done {accounts.sha256[:16]}…" in oldest
    assert accounts.rows == 1  # David Berry
    # The SHA-256 shown is the file's.
    digest = hashlib.sha256(Path(accounts.path).read_bytes()).hexdigest()
    assert digest == accounts.sha256

    # Read-only: nothing to add, no action to run.
    html = listing.content.decode()
    assert "addlink" not in html and 'name="action"' not in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("list=accounts", ["accounts"]),
        ("list=do_not_call", ["dnc"]),
        ("by=dialer", ["dnc"]),
        ("by=supervisor&list=do_not_call", []),
        ("state=done", ["dnc", "accounts"]),
        ("state=failed", []),
    ],
)
def test_the_auditor_filters_by_list_state_and_who(exports, query, expected):
    accounts, dnc = exports
    jobs = {"accounts": accounts, "dnc": dnc}
    listing = console("auditor").get(f"{LIST}?{query}")
    assert listing.status_code == 200
    assert [row.split()[0] for row in rows_of(listing)] == [str(jobs[k].pk) for k in expected]
    if not expected:
        assert "No exports match these filters." in text(listing.content.decode())


def test_a_files_sha256_finds_the_export_that_wrote_it_and_a_bad_date_is_said(exports):
    accounts, _dnc = exports
    auditor = console("auditor")

    found = auditor.get(LIST, {"q": accounts.sha256})
    assert [row.split()[0] for row in rows_of(found)] == [str(accounts.pk)]
    nothing = auditor.get(LIST, {"q": "0" * 64})
    assert rows_of(nothing) == []
    assert f"No exports match “{'0' * 64}”." in text(nothing.content.decode())

    # A date that is none: Django's changelist answer to a bad filter (back
    # to the list, "?e=1"), as the console's other lists; never a 500.
    bad = auditor.get(LIST, {"created_at_from": "yesterday"})
    assert bad.status_code == 302 and bad["Location"] == f"{LIST}?e=1"
    assert len(rows_of(auditor.get(bad["Location"]))) == 2
    day = accounts.created_at.astimezone(timezone.get_current_timezone()).date().isoformat()
    assert len(rows_of(auditor.get(LIST, {"created_at_from": day, "created_at_to": day}))) == 2


def test_an_exports_page_says_everything_and_links_to_the_job_with_its_file(exports):
    accounts, _dnc = exports
    auditor = console("auditor")

    page = auditor.get(reverse("admin:lcm_exportjob_change", args=[accounts.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    shown = text(html)
    assert f"Export {accounts.pk} (accounts)" in shown
    assert "accounts, filtered: search “Berry”" in shown and "q=Berry" in shown
    assert "supervisor" in shown and accounts.sha256 in shown and accounts.file_name in shown
    assert 'name="_save"' not in html and "deletelink" not in html
    job_page = reverse("admin:lcm_account_export_job_page", args=[accounts.pk])
    assert f'href="{job_page}"' in html
    # The auditor may read the accounts, so may open the job and download the file.
    assert auditor.get(job_page).status_code == 200
    download = auditor.get(reverse("admin:lcm_account_export_job_file", args=[accounts.pk]))
    assert download.status_code == 200
    assert hashlib.sha256(b"".join(download.streaming_content)).hexdigest() == accounts.sha256


def test_an_expired_export_stays_listed_with_when_its_file_went(exports, settings):
    accounts, _dnc = exports
    settings.LCM_EXPORT_KEEP_HOURS = 0  # every finished file is past its time now
    assert accounts.pk in export_jobs.expire()
    listing = console("auditor").get(f"{LIST}?state=expired&list=accounts")
    (row,) = rows_of(listing)
    assert row.startswith(f"{accounts.pk} accounts") and "expired (its file was deleted)" in row
    assert accounts.sha256[:16] in row  # what was written is still on record
    page = text(
        console("auditor")
        .get(reverse("admin:lcm_exportjob_change", args=[accounts.pk]))
        .content.decode()
    )
    assert "deleted at" in page


def test_the_list_reads_in_the_same_statements_however_many_exports(exports):
    auditor = console("auditor")
    with CaptureQueriesContext(connection) as two:
        assert auditor.get(LIST).status_code == 200
    for _ in range(4):
        export_jobs.start("accounts", user("dialer"))
    with CaptureQueriesContext(connection) as six:
        listing = auditor.get(LIST)
    assert len(rows_of(listing)) == 6
    assert len(six.captured_queries) == len(two.captured_queries)
