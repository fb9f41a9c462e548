"""The README's and the docs' sample requests, as written, against the demo
as a newcomer starts it (issue 29, findings 4, 5 and 13).

A copy of this checkout (no .git, no .env, no database: a fresh clone,
with this suite's .venv) runs `make run PORT=<a free port>`: the .env it
writes, the demo-only signing key and witness, migrate, seed_demo, the
first checkpoint, runserver and its worker. Then every ```sh block of
README.md, docs/api.md, docs/audit.md and docs/dialer.md that sends a request (it uses `$BASE`) runs
in bash, in the copy, in reading order, with `BASE` set to the address
`make run` printed, as the README says to. A sample fails the test when a
command fails or a request answers an HTTP error (`curl` gets
`--fail-with-body`); the SetDNC sample (JSON) is sent as it stands.

What a reader supplies is supplied as the docs say: the token of the user
a page's samples are for (its prose says which), the body of
`-d @change.json` (the README's sample request). The client generator of
docs/api.md is not ours to run: a shell function stands in for it.

docs/install.md's samples address a host project mounting lcm at lcm/,
not the demo: tests/test_install.py sends them to such a host.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest

from .processes import BASE_DIR, free_port, wait_for

# `make run` is SQLite whatever the suite's database: once per `make test`.
pytestmark = pytest.mark.sqlite_pass

FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
COPY_IGNORED = shutil.ignore_patterns(
    ".git", ".venv", "__pycache__", ".env", "db.sqlite3*", ".demo", "staticfiles",
    ".pytest_cache", ".ruff_cache", ".hypothesis", ".pgdata", "out", "*.egg-info",
)  # fmt: skip
# Who each page's requests are for, as its prose says.
TOKEN_OF = {"docs/api.md": "testagent", "docs/audit.md": "auditor", "docs/dialer.md": "dialer"}


def blocks(doc: str, language: str) -> list[str]:
    text = (BASE_DIR / doc).read_text()
    return [body for lang, body in FENCE.findall(text) if lang == language]


def requests_of(doc: str) -> list[str]:
    """The doc's shell samples that send a request (they use $BASE), not
    the one that sets it."""
    return [b for b in blocks(doc, "sh") if "$BASE" in b and not b.startswith("BASE=")]


@pytest.fixture(scope="module")
def demo_checkout(tmp_path_factory):
    """`make run` in a fresh copy of the checkout; its address and folder."""
    root = tmp_path_factory.mktemp("checkout") / "lcm"
    shutil.copytree(BASE_DIR, root, ignore=COPY_IGNORED, symlinks=True)
    (root / ".venv").symlink_to(BASE_DIR / ".venv")
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "LCM_", "AUDIT_", "DEMO_"))
    }
    # -o: the copy uses this suite's .venv as it is (no pip run into it).
    server = subprocess.Popen(  # noqa: S603
        ["make", "-o", ".venv/.installed", "run", f"PORT={port}"],  # noqa: S607
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"

    def up():
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=1):  # noqa: S310 (loopback)
                return True
        except OSError:
            return server.poll() is not None

    try:
        wait_for(up, "make run to serve", timeout=180, every=0.5)
        assert server.poll() is None, server.stdout.read()
        yield base, root, env
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # make, runserver and its reloader
        server.communicate(timeout=30)


def run(block: str, base: str, root: Path, env: dict, prelude: str = "") -> str:
    script = "\n".join(
        [
            "set -euo pipefail",
            f"BASE={base}",
            # A request that answers an HTTP error fails the sample.
            'curl() { command curl --fail-with-body --show-error "$@"; }',
            'openapi-python-client() { echo "(generator not run: $*)"; }',
            prelude,
            block,
        ]
    )
    done = subprocess.run(  # noqa: S603
        ["bash", "-c", script],  # noqa: S607
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"{block}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    return done.stdout


def token_prelude(username: str) -> str:
    return (
        f"TOKEN=$(.venv/bin/python manage.py drf_create_token {username} 2>/dev/null"
        " | awk '{print $3}')"
    )


def test_make_run_prints_the_demo_signing_and_the_base_to_set(demo_checkout):
    _, root, _ = demo_checkout
    env_file = (root / ".env").read_text()
    assert f"AUDIT_SIGNING_KEY_FILE={root}/.demo/audit-signing-key.pem" in env_file
    assert "# Demo only (make run)" in env_file
    assert (root / ".demo" / "audit-signing-key.pem.pub.pem").is_file()
    witness = (root / ".demo" / "witness.jsonl").read_text().splitlines()
    assert json.loads(witness[-1])["tree_size"] >= 4  # the seed's entries are signed


def test_every_readme_and_docs_sample_runs_as_written(demo_checkout):
    base, root, env = demo_checkout
    readme = requests_of("README.md")
    assert len(readme) == 3, readme  # the sample request, the proof, the dialer's

    # The README: its sample request answers exactly what it says it answers.
    sample, *rest = readme
    said = blocks("README.md", "json")[0].strip()
    assert run(sample, base, root, env).strip() == said
    for block in rest:
        out = run(block, base, root, env)
        if "verify_proof.py" in block:  # finding 5: the proof verifies offline
            assert out.startswith("OK: entry #1 (") and "in the log of checkpoint #" in out, out

    # docs/api.md and docs/audit.md, with the token their prose names.
    body = re.search(r"-d '(\{.*?\})'", sample, re.S).group(1)
    (root / "change.json").write_text(body)
    for doc in ("docs/api.md", "docs/audit.md", "docs/dialer.md"):
        found = requests_of(doc)
        assert found, doc
        for block in found:
            run(block, base, root, env, prelude=token_prelude(TOKEN_OF[doc]))
    assert (root / "lcm-schema.json").read_text().startswith("{")
    assert (root / "changes.csv").read_text().startswith("seq,")
    # docs/dialer.md: the list went in through the worker, and the accounts came back.
    assert (root / "accounts.csv").read_text().startswith("account_number,")
    assert "DOC|1," in (root / "accounts.csv").read_text()

    # The SetDNC sample of docs/api.md, sent as it stands, by the agent it names.
    (set_dnc,) = [b for b in blocks("docs/api.md", "json") if '"subtopic": "SetDNC"' in b]
    reply = run(
        'curl -s -X POST $BASE/api/lcm/webservice/ -H "Authorization: Token $TOKEN" '
        "-H 'Content-Type: application/json' -d @set_dnc.json",
        base,
        root,
        env,
        prelude=token_prelude("testagent") + f"\ncat > set_dnc.json <<'JSON'\n{set_dnc}JSON",
    )
    assert json.loads(reply)["message"]["response"] == {"success": True}
