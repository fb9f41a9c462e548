"""Take the screenshots of docs/admin.md: `make screenshots`, or
`.venv/bin/python docs/screenshots.py`.

Uses a throwaway SQLite database in a temporary folder: migrates it, loads
the demo data, serves it with runserver on a free port of 127.0.0.1, makes a
few changes as the demo supervisor through the pages, previews an import (Debian's Chromium,
driven by Playwright), and writes the PNGs to docs/img/. The server and the
folder are removed at the end, whatever happens.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
IMG = ROOT / "docs" / "img"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DAVID = "5|3|1|0|0|44|1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def manage(env: dict, *args: str) -> None:
    command = [sys.executable, "manage.py", *args]
    subprocess.run(command, cwd=ROOT, env=env, check=True)  # noqa: S603 (our own manage.py)


def wait_until_up(url: str, server: subprocess.Popen) -> None:
    for _ in range(100):
        if server.poll() is not None:
            raise SystemExit("the server stopped before answering")
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 (loopback)
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"no answer from {url}")


def shoot(page, name: str) -> None:
    path = IMG / name
    page.screenshot(path=str(path), full_page=True)
    print(f"wrote {path.relative_to(ROOT)}")


def take(base: str, password: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.goto(f"{base}/admin/login/?next=/admin/")
            page.fill("#id_username", "supervisor")
            page.fill("#id_password", password)
            page.click("input[type=submit]")
            expect(page.locator("#user-tools")).to_contain_text("supervisor")

            page.goto(f"{base}/admin/lcm/account/")
            page.fill("#searchbar", DAVID)
            page.press("#searchbar", "Enter")
            page.locator("#result_list").get_by_role("link", name=DAVID).click()
            account_url = page.url
            # The first change sets mode 2; the second adds mode 3 and deletes
            # the others, so reverting the first is superseded and asks to confirm.
            steps = [("2", "600 111 222", False), ("3", "600 123 456", True)]
            for mode_id, number, delete_others in steps:
                form = page.locator("#set-number-form")
                form.locator("#id_mode_type").select_option(mode_id)
                form.locator("#id_number").fill(number)
                if delete_others:
                    form.locator("#id_delete_other_modes").check()
                form.get_by_role("button", name="Change the number").click()
                if delete_others:  # the confirmation names every number to delete
                    expect(page.locator("#delete-confirm")).to_be_visible()
                    shoot(page, "delete-confirm.png")
                    page.locator("#set-number-confirm-form input[type=submit]").click()
                expect(page.locator(".messagelist")).to_be_visible()
            page.goto(account_url)
            shoot(page, "account-page.png")

            page.goto(f"{base}/admin/lcm/modechange/")
            shoot(page, "audit-list.png")

            changes = page.locator("#history tbody tr", has_text="Set number")
            page.goto(account_url)
            changes.last.get_by_role("link", name="Revert…").click()  # the first change
            expect(page.locator("#superseded")).to_be_visible()
            shoot(page, "revert-confirm.png")

            # The number the second change deleted goes on the do-not-call
            # list: reverting that change is warned before any confirmation.
            page.goto(f"{base}/admin/lcm/donotcallnumber/add/")
            page.get_by_label("Number").fill("600 111 222")
            page.get_by_label("Reason").fill("Asked on the phone")
            page.get_by_role("button", name="Save").click()
            page.goto(account_url)
            changes.first.get_by_role("link", name="Revert…").click()  # the second change
            expect(page.locator("#revert-blocked")).to_be_visible()
            shoot(page, "revert-blocked.png")

            # Import accounts: the preview of a small list with a rejected row.
            page.goto(f"{base}/admin/lcm/account/import/")
            content = (
                "AccountNumber,FirstName,LastName,Campaign,Home,Mobile\n"
                "7|1|1|0|0|44|1,Ada,Lovelace,Spring,2025550101,\n"
                "7|1|2|0|0|44|1,Alan,Turing,Spring,(202) 555-0102,600 222 333\n"
                "7|1|3|0|0|44|1,Bob,Smith,Spring,12,\n"
            )
            page.get_by_label("Account list").set_input_files(
                files=[{"name": "spring.csv", "mimeType": "text/csv", "buffer": content.encode()}]
            )
            page.get_by_role("button", name="Preview the import").click()
            expect(page.locator("#import-counts")).to_be_visible()
            shoot(page, "import-preview.png")
        finally:
            browser.close()


def main() -> None:
    IMG.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(12)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="lcm-screenshots-") as tmp:
        env = {
            **os.environ,
            "DEBUG": "true",
            "DATABASE_URL": f"sqlite:///{tmp}/db.sqlite3",
            "DEMO_PASSWORD": password,
            "ALLOWED_HOSTS": "127.0.0.1",
            "LCM_DEFAULT_REGION": "",
        }
        manage(env, "migrate", "--noinput", "-v0")
        manage(env, "seed_demo")
        server = subprocess.Popen(  # noqa: S603 (our own manage.py)
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until_up(f"{base}/admin/login/", server)
            take(base, password)
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
