"""The console's door for a big list: the multipart POST that the "Import
accounts" form makes, then its preview, against a real server, with the
web process's memory measured (no job is run: this is the upload only;
bench/upload_end_to_end.py measures the job).

Migrates the database that DATABASE_URL names, loads the demo (seed_demo, plus a fourth mode type),
collects the static files (the pages need them with DEBUG off),
generates an N-row CSV (bench/import_accounts.py's rows), starts gunicorn
with ONE sync worker, logs in as the demo supervisor through the admin's
login page (session and CSRF cookie, as a browser does), opens "Import
accounts", and POSTs the file as the form's `file` field
(multipart/form-data, with `csrfmiddlewaretoken`). Then it opens the
preview the answer redirects to (the header check and the first 1,000
rows dry). The web worker's resident memory is read from
/proc/<pid>/status before the upload (VmRSS, VmHWM), after it and after
the preview (VmHWM: the process's peak so far). The stored upload is
checked against the file (size and SHA-256, from the ImportJob row).

    bin/with-postgres .venv/bin/python bench/upload_browser_door.py --rows 1000000

Record the figures in docs/benchmarks.md ("An upload end to end").
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.import_accounts import generate, manage  # noqa: E402
from bench.upload_end_to_end import free_port, uptime  # noqa: E402

PASSWORD = "bench-pass-123"


def memory(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of `pid`, in MiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return {
        key: int(re.search(rf"^{key}:\s+(\d+) kB", status, re.M).group(1)) / 1024
        for key in ("VmRSS", "VmHWM")
    }


def web_worker(master: int) -> int:
    for _ in range(200):
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    sys.exit("gunicorn started no worker")


def csrf(session: requests.Session, html: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken"\s+value="([^"]+)"', html)
    return found.group(1) if found else session.cookies["csrftoken"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    print(f"uptime before: {uptime()}", flush=True)

    folder = Path(tempfile.mkdtemp(prefix="lcm-browser-upload-bench-"))
    port = free_port()
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-not-secret",
        "LOG_LEVEL": "WARNING",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_COOKIES": "false",  # plain HTTP on the loopback
        "ALLOWED_HOSTS": "127.0.0.1",
        "LCM_IMPORT_DIR": str(folder / "imports"),
    }
    database = env.get("DATABASE_URL", "")
    manage("migrate", "--noinput", env=env)
    manage("seed_demo", "--password", PASSWORD, env=env)
    manage("collectstatic", "--noinput", env=env)  # DEBUG off: the manifest's pages
    manage(
        "shell", "-c",
        "from lcm.models import ModeType; ModeType.objects.get_or_create(id=4, "
        "defaults={'name': 'Other'})",
        env=env,
    )  # fmt: skip
    path = folder / "accounts.csv"
    generate(path, args.rows)
    size = path.stat().st_size
    digest = hashlib.sha256(path.read_bytes()).hexdigest()

    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "1",
         "--timeout", "600"],
        cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if requests.get(base + "/healthz", timeout=5).status_code < 500:
                    break
            except requests.RequestException:  # not listening yet
                time.sleep(0.5)
        worker = web_worker(server.pid)
        browser = requests.Session()
        login = browser.get(base + "/admin/login/?next=/admin/", timeout=30)
        answer = browser.post(
            base + "/admin/login/?next=/admin/",
            data={"username": "supervisor", "password": PASSWORD,
                  "csrfmiddlewaretoken": csrf(browser, login.text), "next": "/admin/"},
            headers={"Referer": base + "/admin/login/"}, timeout=30,
        )  # fmt: skip
        if "sessionid" not in browser.cookies:
            sys.exit(f"login refused: {answer.status_code}")
        form = browser.get(base + "/admin/lcm/account/import/", timeout=30)
        form.raise_for_status()
        before = memory(worker)

        started = time.perf_counter()
        with path.open("rb") as file:
            reply = browser.post(
                base + "/admin/lcm/account/import/",
                data={"csrfmiddlewaretoken": csrf(browser, form.text)},
                files={"file": ("accounts.csv", file, "text/csv")},
                headers={"Referer": base + "/admin/lcm/account/import/"},
                allow_redirects=False, timeout=600,
            )  # fmt: skip
        uploaded = time.perf_counter() - started
        if reply.status_code != 302:
            said = re.findall(r'class="errorlist[^"]*"[^>]*>(.*?)</ul>', reply.text, re.S)
            sys.exit(f"upload: {reply.status_code} {said or reply.text[:300]}")
        after_upload = memory(worker)
        preview_url = base + reply.headers["Location"]

        started = time.perf_counter()
        preview = browser.get(preview_url, timeout=600)
        previewed = time.perf_counter() - started
        preview.raise_for_status()
        after_preview = memory(worker)
        job_id = reply.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)

    stored = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c",
         f"from lcm.models import ImportJob; j = ImportJob.objects.get(pk={job_id}); "
         "import os; print(j.size, j.sha256, j.lines, j.state, os.path.getsize(j.path))"],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    job_size, job_sha, job_lines, job_state, on_disk = stored[-5:]
    shown = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", preview.text))
    rows_previewed = re.search(r"[Tt]he first ([\d,]+) rows", shown)

    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, database {database.split('@')[-1] or 'sqlite'}"
    )
    print(f"uptime after: {uptime()}")
    print(f"file: {args.rows:,} rows, {size / 2**20:,.1f} MiB, SHA-256 {digest}")
    print(f"upload (multipart POST → 302 to the preview): {uploaded:,.1f} s")
    print(f"preview page (header + first rows dry): {previewed:,.1f} s, "
          f"{rows_previewed.group(0) if rows_previewed else '(no row count found)'}")  # fmt: skip
    print(
        f"stored: job {job_id}, state {job_state}, {int(job_size):,} bytes "
        f"({int(on_disk):,} on disk), {int(job_lines):,} lines, SHA-256 "
        f"{'equal' if job_sha == digest and int(job_size) == size else 'DIFFERENT: ' + job_sha}"
    )
    print(
        f"web worker RSS: {before['VmRSS']:,.0f} MiB before the upload (peak so far "
        f"{before['VmHWM']:,.0f}); peak {after_upload['VmHWM']:,.0f} MiB through the upload, "
        f"{after_preview['VmHWM']:,.0f} MiB through the preview; "
        f"{after_preview['VmRSS']:,.0f} MiB after"
    )


if __name__ == "__main__":
    main()
