"""The audit log at scale: fill N entries, then time the auditors' pages.

    bin/with-postgres .venv/bin/python bench/audit_scale.py --entries 1000000

Fills an empty, migrated PostgreSQL database (bin/with-postgres gives a
throwaway one) with N hash-chained entries over 10,000 accounts, 200 agents
and 100,000 calls, spread over a year, by COPY (an INSERT: the append-only
triggers stay in place). Then, in this process through Django's test client
(the view and the database, no network), as the demo auditor:

- the admin list: the default view and each filter, first and a later page;
- the API: a first page, the next one, and filtered;
- the CSV export of the whole log, from the admin and the API: time, rows,
  and the peak RSS of a fresh process doing only the export;
- EXPLAIN (ANALYZE) of the list queries, to show the indexes at work;
- `verify_audit` over the whole chain;
- signed checkpoints and proofs (`--proofs-only` runs just these): the
  first checkpoint over the existing log, the cost of a checkpoint per
  1,000 new entries, `verify_audit --full` and incremental, and the latency
  of an inclusion and a consistency proof.
- `--digest-cost` (any database, no fill): the CPU cost of sealing one
  typical SetNewModeNumber entry in format 1 (values in the hash) and in
  format 2 (a fresh secret and the salted digest of each personal field,
  docs/audit.md "Erasure"). Format 2 adds no SQL statement: the secret is a
  column of the same INSERT.

Prints Markdown tables (docs/benchmarks.md records a run). To measure
again without refilling, keep one database up and point both runs at it:

    bin/with-postgres bash -c 'echo $DATABASE_URL > /tmp/pg-url; sleep 7200' &
    DATABASE_URL=$(cat /tmp/pg-url) .venv/bin/python bench/audit_scale.py --entries 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
warnings.filterwarnings("ignore", message="No directory at")

import django  # noqa: E402

django.setup()
from django.test.utils import setup_test_environment  # noqa: E402

setup_test_environment()  # the test client then sees each response's context

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from lcm.audit import compute_hash, new_secret, verify_chain  # noqa: E402
from lcm.models import Account, Agent, AuditChainHead, Call, ModeChange  # noqa: E402

ACCOUNTS, AGENTS, CALLS = 10_000, 200, 100_000
SOURCES = ["agentapp"] * 6 + ["crm"] * 3 + ["admin", "import"]
COLUMNS = [
    "seq", "created_at", "action", "account_id", "account_number", "call_id", "callid",
    "agent_id", "agent_code", "user_id", "username", "source", "mode_id", "old_number",
    "new_number", "new_number_e164", "deleted_modes", "reverts_id", "client_ip", "request_id",
    "prev_hash", "hash", "salt",
]  # fmt: skip
ADMIN = "/admin/lcm/modechange/"
API = "/api/lcm/mode-changes/"


def out(line: str = "") -> None:
    print(line, flush=True)


# --- Fill ---------------------------------------------------------------------


def fill(n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    call_command("migrate", verbosity=0)
    call_command("seed_demo", password="bench-pass-123", stdout=open(os.devnull, "w"))  # noqa: SIM115
    # seed_demo's import writes a few entries of its own: the fill continues
    # the chain after them, and a second run on a filled database stops here.
    if Account.objects.filter(campaign="bench").exists():
        out(f"The log already holds {ModeChange.objects.count():,} entries: not filling.")
        return
    started = time.perf_counter()
    from lcm.actions import campaigns

    campaigns.ensure(["bench"])  # accounts name their campaign's row (0024)
    User = get_user_model()
    users = User.objects.bulk_create(User(username=f"bench{i}") for i in range(AGENTS))
    agents = Agent.objects.bulk_create(
        Agent(agent_id=f"bench{i}", user=u, is_logged_in=True) for i, u in enumerate(users)
    )
    now = datetime.now(UTC)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(
            "COPY lcm_account (account_number, first_name, last_name, campaign, country, "
            "time_zone, zip_code, created_at) FROM STDIN"
        ) as copy:
            for i in range(ACCOUNTS):
                copy.write_row((f"7|{i}|1|0|0|44|1", "Ada", f"C{i}", "bench", "", "", "", now))
        accounts = list(Account.objects.filter(campaign="bench"))
        with cursor.cursor.copy(
            "COPY lcm_call (callid, account_id, agent_id, state, started_at, ended_at) FROM STDIN"
        ) as copy:
            for i in range(CALLS):
                day = now - timedelta(days=1)
                account, agent = rng.choice(accounts), rng.choice(agents)
                copy.write_row((f"b{i}", account.pk, agent.pk, "ended", day, day))
    calls = list(
        Call.objects.filter(callid__startswith="b").only("pk", "callid", "account_id", "agent_id")
    )
    by_agent = {a.pk: a for a in agents}
    by_account = {a.pk: a for a in accounts}
    out(f"- reference rows ({ACCOUNTS:,} accounts, {AGENTS} agents, {CALLS:,} calls): "
        f"{time.perf_counter() - started:.1f} s")  # fmt: skip

    started = time.perf_counter()
    start = now - timedelta(days=365)
    step = timedelta(days=365) / n
    head = AuditChainHead.objects.get()
    first, prev_hash = head.seq + 1, head.hash
    entry = SimpleNamespace(
        action="set",
        new_number_e164="",
        reverts_id=None,
        request_id="",
        modes=None,
        do_not_call=None,
        callback=None,
        erasure=None,
        details=None,
        digests=None,
        erased_by_id=None,
    )
    columns = ", ".join(COLUMNS)
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY lcm_modechange ({columns}) FROM STDIN") as copy:
            for seq in range(first, first + n):
                call = calls[rng.randrange(CALLS)]
                agent = by_agent[call.agent_id]
                mode_id = rng.choice((1, 1, 2, 3))
                entry.seq = seq
                entry.created_at = start + step * seq
                entry.account_id = call.account_id
                entry.account_number = by_account[call.account_id].account_number
                entry.call_id, entry.callid = call.pk, call.callid
                entry.agent_id, entry.agent_code = agent.pk, agent.agent_id
                entry.user_id, entry.username = agent.user_id, agent.agent_id
                entry.source = rng.choice(SOURCES)
                entry.mode_id = mode_id
                entry.old_number = "" if seq % 7 == 0 else f"20{rng.randrange(10**8):08d}"
                entry.new_number = f"30{rng.randrange(10**8):08d}"
                entry.deleted_modes = (
                    [{"mode_id": 3 if mode_id != 3 else 2, "number": f"40{seq % 10**8:08d}"}]
                    if seq % 10 == 0
                    else []
                )
                entry.client_ip = f"10.0.{seq % 250}.{seq % 200 + 1}"
                entry.prev_hash = prev_hash
                entry.salt = new_secret()  # format 2, as lcm.audit.append_entry seals
                entry.hash = prev_hash = compute_hash(entry)
                row = [getattr(entry, c) for c in COLUMNS]
                row[COLUMNS.index("deleted_modes")] = json.dumps(entry.deleted_modes)
                copy.write_row(row)
        cursor.execute(
            "UPDATE lcm_auditchainhead SET seq = %s, hash = %s", [first + n - 1, prev_hash]
        )
        out(f"- {n:,} chained entries by COPY, hashes computed in Python: "
            f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        started = time.perf_counter()
        cursor.execute("VACUUM ANALYZE lcm_modechange")
        cursor.execute("ANALYZE")
        out(f"- VACUUM ANALYZE: {time.perf_counter() - started:.1f} s")


# --- Measure ------------------------------------------------------------------


def auditor_client() -> Client:
    client = Client()
    client.force_login(get_user_model().objects.get(username="auditor"))
    return client


def timed_get(client, url, repeat=3, **headers):
    """Median wall time of `repeat` GETs (after one warm-up), and the queries
    of the last one (each with its `time`). None when the page does not exist."""
    if client.get(url, **headers).status_code != 200:
        return None, None, []
    times = []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url, **headers)
            times.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
    return statistics.median(times), response, list(queries)


def db_ms(queries) -> float:
    return sum(float(q["time"]) for q in queries) * 1000


def sample_values():
    mid = ModeChange.objects.get(seq=max(AuditChainHead.objects.get().seq // 2, 1))
    busy_agent = "bench7"
    return {
        "account": mid.account_number,
        "agent": busy_agent,
        "callid": mid.callid,
        "day": mid.created_at.date().isoformat(),
        "number": mid.new_number,
    }


def admin_pages(client, values):
    day = values["day"]
    cases = [
        ("default view", ""),
        ("default view, page 2", "?p=2"),
        ("default view, page 100", "?p=100"),
        ("account", f"?account={values['account']}"),
        ("agent", f"?agent={values['agent']}"),
        ("agent, page 5", f"?agent={values['agent']}&p=5"),
        ("call", f"?callid={values['callid']}"),
        ("mode 2", "?mode=2"),
        ("mode 2, page 50", "?mode=2&p=50"),
        ("source crm", "?source=crm"),
        ("source import, page 20", "?source=import&p=20"),
        ("one day (since/until)", f"?since={day}&until={day}"),
        ("one day, page 5", f"?since={day}&until={day}&p=5"),
        ("agent + mode + month", f"?agent={values['agent']}&mode=1&since={day[:8]}01"),
        ("search: number", f"?q={values['number']}"),
        ("search: LCM key", f"?q={values['account']}"),
    ]
    out("\n### Admin list (`/admin/lcm/modechange/`, 100 rows a page, as `auditor`)\n")
    out("| view | median ms | of which SQL ms | queries | count query | rows shown |")
    out("|---|---:|---:|---:|---|---|")
    plans = {}
    for name, query in cases:
        seconds, response, queries = timed_get(client, ADMIN + query.replace("|", "%7C"))
        if seconds is None:
            out(f"| {name} | (no such page at this N) | | | | |")
            continue
        counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
        count_kind = "planner estimate" if not counts else (
            "capped (LIMIT 10001)" if all("LIMIT 10001" in c for c in counts) else "FULL COUNT"
        )  # fmt: skip
        label = response.context["cl"].paginator.count_label
        out(f"| {name} | {seconds * 1000:.0f} | {db_ms(queries):.1f} | {len(queries)} | "
            f"{count_kind} | {len(response.context['cl'].result_list)} of {label} |")  # fmt: skip
        page_sql = [
            q["sql"]
            for q in queries
            if 'FROM "lcm_modechange"' in q["sql"] and "LIMIT 100" in q["sql"]
        ]
        if page_sql:
            plans[name] = page_sql[-1]
    return plans


def api_pages(client, values):
    out("\n### API (`/api/lcm/mode-changes/`, 100 a page, cursor)\n")
    out("| request | median ms | of which SQL ms | queries |")
    out("|---|---:|---:|---:|")
    seconds, response, queries = timed_get(client, API)
    out(f"| first page | {seconds * 1000:.0f} | {db_ms(queries):.1f} | {len(queries)} |")
    nxt = response.json()["next"]
    for _ in range(9):
        nxt = client.get(nxt).json()["next"]
    seconds, response, queries = timed_get(client, nxt)
    out(f"| 11th page (following `next`) | {seconds * 1000:.0f} | {db_ms(queries):.1f} | "
        f"{len(queries)} |")  # fmt: skip
    for name, query in [
        ("account", f"?account={values['account']}".replace("|", "%7C")),
        ("agent", f"?agent={values['agent']}"),
        ("one day", f"?since={values['day']}&until={values['day']}"),
    ]:
        seconds, response, queries = timed_get(client, API + query)
        out(f"| {name} | {seconds * 1000:.0f} | {db_ms(queries):.1f} | {len(queries)} |")


def explain(plans):
    out("\n### EXPLAIN (ANALYZE) of the list page queries\n")
    with connection.cursor() as cursor:
        for name, sql in plans.items():
            cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) " + sql)
            plan = [row[0] for row in cursor.fetchall()]
            scans = [
                line.strip().lstrip("-> ").split("  ")[0]
                for line in plan
                if "Scan" in line and "lcm_" in line
            ]
            total = next((line for line in plan if line.startswith("Execution Time")), "")
            seq_scan = any("Seq Scan on lcm_modechange" in line for line in plan)
            out(f"- **{name}**: {'; '.join(scans)} — {total}"
                + (" — **SEQ SCAN**" if seq_scan else ""))  # fmt: skip


def export_in_fresh_process(kind: str) -> dict:
    """Run the export alone in a new process, so its peak RSS is its own."""
    result = subprocess.run(
        [sys.executable, __file__, "--export-only", kind],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def export_only(kind: str) -> None:
    client = auditor_client()
    client.get(ADMIN + "?p=1")  # warm up the same code paths
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    url = {"admin": ADMIN + "export/", "api": API + "?format=csv"}[kind]
    started = time.perf_counter()
    response = client.get(url)
    first_byte = None
    size = rows = 0
    for chunk in response.streaming_content:
        if first_byte is None:
            first_byte = time.perf_counter() - started
        size += len(chunk)
        rows += chunk.count(b"\n")
    print(
        json.dumps(
            {
                "seconds": time.perf_counter() - started,
                "first_byte": first_byte,
                "rows": rows - 1,
                "mib": size / 2**20,
                "baseline_rss_mib": baseline / 1024,
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def exports():
    out("\n### CSV export of the whole log (fresh process each, streamed to nowhere)\n")
    out("| export | rows | size | seconds | first byte | RSS before → peak |")
    out("|---|---:|---:|---:|---:|---|")
    for kind, name in [("admin", "admin `export/`"), ("api", "API `?format=csv`")]:
        r = export_in_fresh_process(kind)
        rss = f"{r['baseline_rss_mib']:.0f} → {r['peak_rss_mib']:.0f} MiB"
        out(f"| {name} | {r['rows']:,} | {r['mib']:.0f} MiB | {r['seconds']:.1f} | "
            f"{r['first_byte']:.2f} s | {rss} |")  # fmt: skip


def verify():
    started = time.perf_counter()
    report = verify_chain()
    seconds = time.perf_counter() - started
    head = AuditChainHead.objects.get()
    out(f"\n### verify_audit\n\n- {report.count:,} entries verified in {seconds:.1f} s "
        f"({report.count / seconds:,.0f} entries/s); ok={report.ok}; head #{head.seq} "
        f"{head.hash[:16]}…; peak RSS of this process so far "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")  # fmt: skip


def proofs(client):
    """Checkpoints and proofs on the filled log (docs/audit.md, "Signed checkpoints")."""
    import tempfile

    from django.conf import settings
    from django.db import transaction

    from lcm.audit import append_entries, checkpoints
    from lcm.models import AuditCheckpoint

    folder = Path(tempfile.mkdtemp(prefix="lcm-bench-keys-"))
    call_command("audit_keygen", str(folder / "key.pem"), stdout=open(os.devnull, "w"))  # noqa: SIM115
    settings.LCM_AUDIT_SIGNING_KEY_FILE = str(folder / "key.pem")
    settings.LCM_AUDIT_WITNESS = str(folder / "witness.jsonl")
    # The appends below must not checkpoint on commit: the timed calls do.
    settings.LCM_AUDIT_CHECKPOINT_EVERY = settings.LCM_AUDIT_CHECKPOINT_MINUTES = 10**12
    n = AuditChainHead.objects.get().seq
    out(f"\n### Signed checkpoints and proofs (N = {n:,})\n")

    started = time.perf_counter()
    first = checkpoints.make_checkpoint()
    checkpoints.deliver_pending()
    if first is not None:
        out(f"- first checkpoint over the {n:,} existing entries (the upgrade; "
            f"`manage.py audit_checkpoint`): {time.perf_counter() - started:.1f} s")  # fmt: skip

    template = ModeChange.objects.get(seq=max(n // 2, 1))
    costs = []
    for _ in range(5):
        batch = []
        for i in range(1000):
            entry = ModeChange.objects.get(pk=template.pk)
            entry.pk, entry.new_number = None, f"39{i:08d}"
            batch.append(entry)
        with transaction.atomic():
            append_entries(batch)
        started = time.perf_counter()
        made = checkpoints.make_checkpoint()
        checkpoints.deliver_pending()
        costs.append(time.perf_counter() - started)
        assert made is not None and made.tree_size == AuditChainHead.objects.get().seq
    out(f"- one checkpoint after 1,000 new entries (re-hash and chain check of the 1,000, "
        f"tree, nodes, Ed25519 signature, witness file append + fsync): median "
        f"{statistics.median(costs) * 1000:.0f} ms, max {max(costs) * 1000:.0f} ms "
        f"(5 runs)")  # fmt: skip

    started = time.perf_counter()
    call_command("verify_audit", "--full", stdout=open(os.devnull, "w"))  # noqa: SIM115
    out(f"- `verify_audit --full` (every entry, every checkpoint): "
        f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    batch = []
    for i in range(1000):
        entry = ModeChange.objects.get(pk=template.pk)
        entry.pk, entry.new_number = None, f"38{i:08d}"
        batch.append(entry)
    with transaction.atomic():
        append_entries(batch)
    assert checkpoints.make_checkpoint() is not None
    checkpoints.deliver_pending()
    times = []
    for _ in range(3):
        started = time.perf_counter()
        call_command("verify_audit", stdout=open(os.devnull, "w"))  # noqa: SIM115
        times.append(time.perf_counter() - started)
    head = AuditChainHead.objects.get().seq
    out(f"- `verify_audit` (incremental) at {head:,} entries, 1,000 new since the last "
        f"verified checkpoint: {times[0]:.2f} s; with nothing new: "
        f"{statistics.median(times[1:]):.2f} s")  # fmt: skip

    rng = random.Random(11)
    latest = AuditCheckpoint.objects.order_by("-tree_size").first()
    samples, queries_seen = [], []
    for seq in [1, latest.tree_size] + [rng.randrange(1, latest.tree_size) for _ in range(30)]:
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(f"{API}{seq}/proof/")
            samples.append(time.perf_counter() - started)
        assert response.status_code == 200, response.content[:300]
        queries_seen.append(len(queries))
    samples.sort()
    out(f"- `GET /api/lcm/mode-changes/<seq>/proof/`, 32 entries (first, last, 30 at random): "
        f"median {statistics.median(samples) * 1000:.0f} ms, p95 "
        f"{samples[int(len(samples) * 0.95)] * 1000:.0f} ms, {max(queries_seen)} queries at "
        f"most, {len(response.json()['inclusion_proof'])} hashes a proof")  # fmt: skip
    oldest = AuditCheckpoint.objects.order_by("tree_size").first()
    seconds, response, queries = timed_get(
        client, f"/api/lcm/checkpoints/consistency/?first={oldest.tree_size}"
    )
    out(f"- consistency proof #{oldest.tree_size} → #{latest.tree_size}: "
        f"{seconds * 1000:.0f} ms, {len(queries)} queries")  # fmt: skip


def digest_cost(repeat: int = 5, number: int = 20_000) -> None:
    """Format 1 against format 2 sealing of one SetNewModeNumber entry that
    sets mode 1 and deletes mode 2 (headline fields and `modes`)."""
    import timeit

    state = {"number": "3005550111", "e164": "+13005550111", "pewc": False, "pewc_source": "",
             "pewc_by": "", "pewc_at": None, "time_zone": "America/New_York",
             "window": None}  # fmt: skip
    entry = ModeChange(
        seq=123_456, created_at=datetime.now(UTC), action="set", account_id=1,
        account_number="5|3|1|0|0|44|1", call_id=1, callid="12345", agent_id=1,
        agent_code="testagent", user_id=2, username="testagent", source="agentapp", mode_id=1,
        old_number="6491462346", new_number="3005550111", new_number_e164="+13005550111",
        deleted_modes=[{"mode_id": 2, "number": "2025550143"}],
        modes=[{"mode_id": 1, "before": dict(state, number="6491462346"), "after": state},
               {"mode_id": 2, "before": dict(state, number="2025550143"), "after": None}],
        client_ip="10.0.0.7", request_id="r1", prev_hash="0" * 64,
    )  # fmt: skip

    def format1():
        entry.salt = None
        return compute_hash(entry)

    def format2():
        entry.salt = new_secret()
        return compute_hash(entry)

    out("| sealing one entry | µs (best of 5 runs of 20,000) |\n|---|---|")
    for name, fn in (("format 1: values in the hash", format1),
                     ("format 2: secret + 7 salted digests + hash", format2)):  # fmt: skip
        best = min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6
        out(f"| {name} | {best:.1f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--skip-verify", action="store_true")
    parser.add_argument(
        "--fill-only",
        action="store_true",
        help="Fill and stop (a later run on the same DATABASE_URL measures without refilling).",
    )
    parser.add_argument("--export-only", choices=["admin", "api"], help=argparse.SUPPRESS)
    parser.add_argument(
        "--proofs-only", action="store_true", help="Measure only checkpoints and proofs."
    )
    parser.add_argument(
        "--digest-cost", action="store_true", help="Measure only the cost of sealing an entry."
    )
    args = parser.parse_args()
    if args.digest_cost:
        digest_cost()
        return
    if args.export_only:
        export_only(args.export_only)
        return
    if connection.vendor != "postgresql":
        sys.exit("Run it on PostgreSQL: bin/with-postgres .venv/bin/python bench/audit_scale.py")

    out(f"## Audit log at scale: N = {args.entries:,}\n")
    fill(args.entries)
    if args.fill_only:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('lcm_modechange'))")
        out(f"- lcm_modechange with its indexes: {cursor.fetchone()[0]}")
    client = auditor_client()
    if args.proofs_only:
        proofs(client)
        return
    values = sample_values()
    plans = admin_pages(client, values)
    api_pages(client, values)
    explain(plans)
    exports()
    if not args.skip_verify:
        verify()
    proofs(client)


if __name__ == "__main__":
    main()
