"""The console's "Import accounts": upload, preview, import (Django's test
client, real database). The browser walk is in tests/test_admin_browser.py."""

import re
from html import unescape

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from lcm.admin import uploads
from lcm.imports import NO_ACCOUNT_COLUMN
from lcm.models import Account, AccountUpload, ModeChange

from .conftest import live_modes, snapshot

pytestmark = pytest.mark.django_db

UPLOAD = reverse("admin:lcm_account_import")
HEADER = "AccountNumber,FirstName,LastName,Campaign,Mode1,Mode2\n"
# Ada is new; David (seeded) gets another Mode2 number; Bob's is too short.
FILE = HEADER + (
    "1|1|1|0|0|44|1,Ada,Lovelace,Spring,2025550101,\n"
    "5|3|1|0|0|44|1,David,Berry,Spring,,2025550177\n"
    "9|9|9,Bob,,Spring,12,\n"
)


def login(client, username):
    client.force_login(get_user_model().objects.get(username=username))
    return client


def upload(client, content, name="accounts.csv"):
    data = content.encode() if isinstance(content, str) else content
    return client.post(UPLOAD, {"file": SimpleUploadedFile(name, data)})


def text(response) -> str:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body.decode())))


def import_form(response) -> dict:
    html = response.content.decode()
    return {
        name: re.search(rf'name="{name}" value="([^"]*)"', html).group(1)
        for name in ("csrfmiddlewaretoken", "digest", "fingerprint")
        if re.search(rf'name="{name}" value="([^"]*)"', html)
    }


def post_import(client, preview):
    action = re.search(
        r'<form method="post" action="([^"]+)" id="import-form"', preview.content.decode()
    )
    return client.post(action.group(1), import_form(preview))


def test_the_preview_counts_without_writing_and_the_import_writes_the_same(demo, client):
    login(client, "supervisor")
    assert (
        'id="import-accounts"'
        in client.get(reverse("admin:lcm_account_changelist")).content.decode()
    )
    before = snapshot()
    seq = ModeChange.objects.count()

    preview = upload(client, FILE)

    assert preview.status_code == 200
    page = text(preview)
    assert "Accounts added 1" in page
    assert "Accounts changed 1" in page
    assert "Accounts already up to date 0" in page
    assert "Rows rejected 1" in page
    assert 'value="Import 2 rows"' in preview.content.decode()
    assert "4 9|9|9" in page  # the rejected row: its line and its key, with the reason
    assert snapshot() == before and ModeChange.objects.count() == seq  # nothing written

    done = post_import(client, preview)

    assert done.status_code == 200 and done.streaming
    page = text(done)
    assert (
        "Imported 2 rows of accounts.csv: 1 account added, 1 account changed "
        "(1 number added, 1 number changed), 1 row rejected." in page
    ), page
    assert live_modes("1|1|1|0|0|44|1") == {1: "2025550101"}
    assert live_modes("5|3|1|0|0|44|1")[2] == "2025550177"
    assert not Account.objects.filter(account_number="9|9|9").exists()
    added = ModeChange.objects.order_by("seq")[seq:]
    assert [(e.action, e.username, e.source) for e in added] == [
        ("import", "supervisor", "import")
    ] * 2
    assert not AccountUpload.objects.exists()  # imported: the stored file is gone


def test_a_stale_preview_imports_nothing(demo, client):
    login(client, "supervisor")
    preview = upload(client, FILE)
    # Meanwhile, the same file is imported by someone else (the command).
    from lcm.actions.imports import import_rows

    import_rows(uploads._rows("csv", FILE.encode()), actor=None)
    before = snapshot()

    done = post_import(client, preview)

    assert "changed since the preview: nothing was imported" in text(done)
    assert snapshot() == before
    again = client.get(
        reverse("admin:lcm_account_import_preview", args=[AccountUpload.objects.get().token])
    )
    assert "Accounts already up to date 2" in text(again)


def test_a_preview_is_its_uploaders_only_and_the_digest_must_match(demo, client):
    login(client, "supervisor")
    preview = upload(client, FILE)
    token = AccountUpload.objects.get().token
    form = import_form(preview)
    before = snapshot()

    tampered = client.post(
        reverse("admin:lcm_account_import_run", args=[token]), {**form, "digest": "0" * 64}
    )
    assert tampered.status_code == 404

    login(client, "admin")  # another user, even a superuser, does not reach it
    assert client.get(reverse("admin:lcm_account_import_preview", args=[token])).status_code == 404
    assert (
        client.post(reverse("admin:lcm_account_import_run", args=[token]), form).status_code == 404
    )
    assert snapshot() == before


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        ("accounts.xlsx", HEADER, "Choose a .csv or a .jsonl (JSON Lines) file"),
        ("accounts.csv", "", "The file is empty."),
        ("accounts.csv", "   \n", "The file is empty."),
        (
            "accounts.csv",
            b"AccountNumber\n\xff\xfe\n",
            "The file is not UTF-8 text (byte 15 is not)",
        ),
        ("accounts.csv", "FirstName,LastName\nAda,Lovelace\n", NO_ACCOUNT_COLUMN),
        ("accounts.csv", HEADER, "The file has no rows to import."),
        ("accounts.csv", "AccountNumber\n\0\0\n", "binary"),
        ("accounts.jsonl", "", "The file is empty."),
    ],
)
def test_a_bad_file_is_a_form_error_and_writes_nothing(demo, client, name, content, error):
    login(client, "supervisor")
    before = snapshot()

    response = upload(client, content, name)

    assert response.status_code == 200
    assert error in text(response)
    assert 'id="id_file_error"' in response.content.decode()
    assert snapshot() == before and not AccountUpload.objects.exists()


def test_a_file_over_the_limit_is_refused(demo, client, settings):
    settings.LCM_IMPORT_UPLOAD_MAX_BYTES = 100
    login(client, "supervisor")

    response = upload(client, FILE)

    assert "the console takes up to 100" in text(response)
    assert not AccountUpload.objects.exists()


def test_no_file_is_a_form_error(demo, client):
    login(client, "supervisor")
    assert "Choose a file to upload." in text(client.post(UPLOAD, {}))


def test_an_auditor_may_not_import(demo, client):
    login(client, "auditor")
    assert (
        'id="import-accounts"'
        not in client.get(reverse("admin:lcm_account_changelist")).content.decode()
    )
    assert client.get(UPLOAD).status_code == 403
    assert upload(client, FILE).status_code == 403
    assert not AccountUpload.objects.exists()


def test_the_rejected_rows_shown_are_the_first_ones_and_the_rest_counted(demo, client, monkeypatch):
    monkeypatch.setattr(uploads, "REJECTED_SHOWN", 2)
    login(client, "supervisor")
    bad = HEADER + "".join(f"{n},,,,12,\n" for n in range(5))

    page = text(upload(client, bad))

    assert "Rows rejected 5" in page
    assert "… and 3 more rejected rows." in page
    assert "No row can be imported." in page


def test_a_large_file_imports_in_batches_and_the_page_shows_each(demo, client, monkeypatch):
    monkeypatch.setattr(uploads, "BATCH_SIZE", 10)
    login(client, "supervisor")
    rows = HEADER + "".join(f"L|{n},,,,20255501{n:02d},\n" for n in range(25))

    page = text(post_import(client, upload(client, rows)))

    assert "10 rows read: 10 imported, 0 rejected" in page
    assert "20 rows read: 20 imported, 0 rejected" in page
    assert "Imported 25 rows of accounts.csv: 25 accounts added" in page
    assert Account.objects.filter(account_number__startswith="L|").count() == 25
