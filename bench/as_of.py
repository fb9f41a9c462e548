"""As-of reads at scale (issue 32): one account's modes at an instant, replayed
from a log of 1,000,000 entries, with and without the proof bundle.

    bin/with-postgres .venv/bin/python bench/as_of.py --entries 1000000

Fills an empty, migrated PostgreSQL database as `bench/audit_scale.py` does
(N hash-chained entries over 10,000 accounts: about N/10,000 legacy `set`
entries each), then writes one account's history of 100 entries through the
real actions (numbers set, consent granted and withdrawn, zones and windows
overridden) with a list-wide do-not-call block and lift of its number every
tenth step (entries on no account, which the replay reads too), signs a
checkpoint over the whole log, and times, through Django's test client as
the demo auditor (the view and the database, no network):

- `GET /api/lcm/accounts/<key>/as-of/?at=…` at the newest instant and in
  the middle of the history: the server's time (median of 20 after a
  warm-up, p95), its queries and their database time;
- the same with `proof=1` (every entry read, with its inclusion proof);
- the same for a fill account (its ~100 legacy entries).

Targets: as-of ≤ 50 ms, bundle ≤ 200 ms. Prints Markdown; docs/benchmarks.md
records a run with `uptime`.

`--levels 8,6,5,4` first compares the stored tree's lowest level (issue 32:
it went from 8 to 4): for each, the tree is stored again from nothing (the
checkpoint's time over the whole log, the rows), both bundles are timed,
and three checkpoints of 1,000 new entries (the import's cost) are timed;
after level 8, migration 0031's fill is run and timed. `--queries` prints
each query of one read and of one bundle. `--reuse` measures again a
database an earlier run filled (a cluster of your own: `bin/pg-cluster
start DIR PORT`, then `DATABASE_URL=postgres://postgres@127.0.0.1:PORT/postgres`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
import audit_scale
from audit_scale import out
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lcm.models import Account, AuditChainHead, DoNotCallNumber, ModeChange

KEY = "AS|OF|1|0|0|44|1"
OTHER = "AS|OF|2|0|0|44|1"  # the entries the checkpoints of 1,000 sign
TARGET_MS, BUNDLE_TARGET_MS = 50, 200


def history(steps: int = 100) -> tuple[Account, list[dt.datetime]]:
    """`steps` entries on one account through the actions; the instant after each."""
    from lcm.actions import campaigns, do_not_call, supervisor

    campaigns.ensure([""])
    account = Account.objects.create(
        account_number=KEY, campaign_id="", country="US", time_zone="America/New_York"
    )
    boss = get_user_model().objects.get(username="supervisor")
    admin = get_user_model().objects.get(username="admin")
    instants, number = [], "2025550100"
    for i in range(steps):
        kind = i % 5
        if kind == 0:
            number = f"20255{i:05d}"
            supervisor.set_mode_number_as_supervisor(
                account_id=account.pk, mode_id=1 + (i // 5) % 3, contact_number=number,
                delete_other_modes=False, actor=boss, expected_seq=None,
            )  # fmt: skip
        else:
            mode_id = 1 + (i // 5) % 3
            supervisor.change_mode_settings(
                account_id=account.pk, mode_id=mode_id, consent=kind in (1, 3),
                time_zone="America/Chicago" if kind == 2 else "",
                window=(dt.time(9, 0), dt.time(17 + kind, 0)) if kind >= 2 else None,
                actor=boss, expected_seq=None,
            )  # fmt: skip
        if i % 10 == 9:
            entry, _ = do_not_call.add_number(number=number, actor=admin)
            if i % 20 == 19:
                do_not_call.lift(entry_pk=entry.pk, reason="bench", actor=admin)
        instants.append(dt.datetime.now(dt.UTC))
    assert ModeChange.objects.filter(account=account).count() == steps
    return account, instants


def sign() -> None:
    import tempfile

    from django.conf import settings

    from lcm.audit import checkpoints

    folder = Path(tempfile.mkdtemp(prefix="lcm-bench-keys-"))
    call_command("audit_keygen", str(folder / "key.pem"), stdout=open(os.devnull, "w"))  # noqa: SIM115
    settings.LCM_AUDIT_SIGNING_KEY_FILE = str(folder / "key.pem")
    settings.LCM_AUDIT_WITNESS = str(folder / "witness.jsonl")
    settings.LCM_AUDIT_CHECKPOINT_EVERY = settings.LCM_AUDIT_CHECKPOINT_MINUTES = 10**12
    started = time.perf_counter()
    made = checkpoints.make_checkpoint()
    checkpoints.deliver_pending()
    size = made.tree_size if made else AuditChainHead.objects.get().seq
    out(f"- signed checkpoint over {size:,} entries: {time.perf_counter() - started:.1f} s")


def measure(client, url: str, repeat: int = 20) -> tuple[float, float, int, float, int]:
    """Median and p95 ms of `repeat` GETs after a warm-up, the last one's
    queries and their database ms, and the reply's size."""
    response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    samples = []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content[:300]
    samples.sort()
    db = sum(float(q["time"]) for q in queries.captured_queries) * 1000
    p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
    return statistics.median(samples), p95, len(queries), db, len(response.content)


def resign(level: int) -> tuple[float, int]:
    """The tree stored again from nothing at `level`: the checkpoint's
    seconds (over the whole log) and the node rows it stored."""
    from lcm.audit import checkpoints, merkle
    from lcm.models import AuditCheckpoint, AuditTreeNode, AuditTreeState

    merkle.STORED_LEVEL, merkle.BLOCK = level, 1 << level
    AuditTreeNode.objects.all().delete()
    AuditCheckpoint.objects.all().delete()
    AuditTreeState.objects.filter(pk=1).update(size=0, frontier=[])
    started = time.perf_counter()
    checkpoints.make_checkpoint()
    return time.perf_counter() - started, AuditTreeNode.objects.count()


def migrate_0031() -> tuple[float, int]:
    """Migration 0031's data fill, run on this log: its seconds and the rows after."""
    import importlib
    from types import SimpleNamespace

    from django.apps import apps

    from lcm.models import AuditTreeNode

    migration = importlib.import_module("lcm.migrations.0031_audit_tree_low_levels")
    started = time.perf_counter()
    migration.fill(apps, SimpleNamespace(connection=connection))
    return time.perf_counter() - started, AuditTreeNode.objects.count()


def after_1000(level: int) -> tuple[float, int]:
    """1,000 entries appended (the import's batch writer), then the checkpoint
    that signs them, at `level`: its ms and the node rows it added."""
    from lcm.audit import append_entries, checkpoints, merkle
    from lcm.models import AuditTreeNode

    merkle.STORED_LEVEL, merkle.BLOCK = level, 1 << level
    # On an account of their own: the bench account's history stays its 100.
    account, _ = Account.objects.get_or_create(
        account_number=OTHER, defaults={"campaign_id": "", "country": "US"}
    )
    append_entries(
        [
            ModeChange(action="import", account=account, account_number=OTHER,
                       source="import", mode_id=1, new_number=f"3005{i:06d}")
            for i in range(1000)
        ]
    )  # fmt: skip
    rows = AuditTreeNode.objects.count()
    started = time.perf_counter()
    checkpoints.make_checkpoint()
    return (time.perf_counter() - started) * 1000, AuditTreeNode.objects.count() - rows


def compare_levels(client, levels: list[int], fill_account, instants) -> None:
    """Rows stored vs the checkpoint's time vs the bundles' times, per level;
    ends with the tree stored at lcm.audit.merkle's own STORED_LEVEL."""
    from lcm.audit import merkle

    default = merkle.STORED_LEVEL
    key = quote(fill_account.account_number, safe="")
    spread = f"/api/lcm/accounts/{key}/as-of/?at={quote(dt.datetime.now(dt.UTC).isoformat())}"
    recent = f"/api/lcm/accounts/{quote(KEY, safe='')}/as-of/?at={quote(instants[-1].isoformat())}"
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    out(f"\n`uptime` before the levels: {uptime}\n")
    out("| stored from level | node rows | checkpoint s (whole log) "
        "| spread bundle median ms (p95) | recent bundle median ms (p95) "
        "| checkpoint of 1,000 new entries ms (rows) |")  # fmt: skip
    out("|---|---|---|---|---|---|")
    for level in levels:
        seconds, rows = resign(level)
        s_median, s_p95, *_ = measure(client, spread + "&proof=1", repeat=10)
        r_median, r_p95, *_ = measure(client, recent + "&proof=1", repeat=10)
        increments = [after_1000(level) for _ in range(3)]
        ms, added = statistics.median(i[0] for i in increments), increments[0][1]
        out(f"| {level} (blocks of {1 << level}) | {rows:,} | {seconds:.1f} "
            f"| {s_median:.1f} ({s_p95:.1f}) | {r_median:.1f} ({r_p95:.1f}) "
            f"| {ms:.0f} ({added}) |")  # fmt: skip
        if level == 8 and default == 4:
            # A log checkpointed before 0031, then migrated: its fill's time.
            seconds, rows = migrate_0031()
            merkle.STORED_LEVEL, merkle.BLOCK = default, 1 << default
            s_median, s_p95, *_ = measure(client, spread + "&proof=1", repeat=10)
            r_median, r_p95, *_ = measure(client, recent + "&proof=1", repeat=10)
            out(f"| 8, then migration 0031 (4 to 7 added) | {rows:,} | 0031: {seconds:.1f} "
                f"| {s_median:.1f} ({s_p95:.1f}) | {r_median:.1f} ({r_p95:.1f}) | |")  # fmt: skip
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    out(f"\n`uptime` after the levels: {uptime}\n")
    if levels[-1] != default:
        resign(default)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--profile", action="store_true", help="cProfile one read, then stop")
    parser.add_argument(
        "--reuse", action="store_true", help="a database filled by an earlier run: measure again"
    )
    parser.add_argument(
        "--queries", action="store_true", help="print each query of one as-of read and its ms"
    )
    parser.add_argument(
        "--levels",
        default="",
        help="also compare stored tree levels, e.g. 8,6,5,4: for each, the checkpoint is "
        "taken again from an empty tree (its time, the rows stored) and the bundles timed",
    )
    parser.add_argument(
        "--profile-bundle", action="store_true", help="cProfile a fill account's bundle, then go on"
    )
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("bench/as_of.py needs PostgreSQL (bin/with-postgres)")
    from django.conf import settings

    settings.LCM_API_THROTTLE_RATE = "1000000/min"
    out(f"## As-of reads at {args.entries:,} entries\n")
    audit_scale.fill(args.entries)
    if Account.objects.filter(account_number=KEY).exists():
        if not args.reuse:
            sys.exit("this database already holds the bench account: use a fresh one (or --reuse)")
        # A database a previous run filled (bin/pg-cluster start DIR PORT, then
        # DATABASE_URL=… for each run): its history's instants, signed again.
        instants = list(
            ModeChange.objects.filter(account__account_number=KEY)
            .order_by("seq")
            .values_list("created_at", flat=True)[:100]
        )
        out(f"- reusing {KEY}'s history of {len(instants)} entries")
    else:
        started = time.perf_counter()
        _account, instants = history()
        out(f"- 100 entries on {KEY} through the actions "
            f"({DoNotCallNumber.objects.count()} list-wide blocks among them): "
            f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    sign()
    head = AuditChainHead.objects.get().seq
    client = audit_scale.auditor_client()
    # The account of the fill's middle entry (the same one in a --reuse run,
    # whatever entries the earlier runs' checkpoints of 1,000 added).
    middle = ModeChange.objects.select_related("account").get(seq=args.entries // 2)
    fill_account = middle.account
    if args.profile:
        import cProfile
        import pstats

        url = f"/api/lcm/accounts/{quote(KEY, safe='')}/as-of/?at={quote(instants[-1].isoformat())}"
        client.get(url)
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(10):
            client.get(url)
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(45)
        return
    if args.profile_bundle:
        import cProfile
        import pstats

        key = quote(fill_account.account_number, safe="")
        url = f"/api/lcm/accounts/{key}/as-of/?at={quote(dt.datetime.now(dt.UTC).isoformat())}"
        client.get(url + "&proof=1")
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(3):
            client.get(url + "&proof=1")
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)
    if args.queries:
        for key, at, proof in (
            (KEY, instants[-1], ""),
            (fill_account.account_number, instants[-1], ""),
            (fill_account.account_number, instants[-1], "&proof=1"),
        ):
            url = f"/api/lcm/accounts/{quote(key, safe='')}/as-of/?at={quote(at.isoformat())}"
            url += proof
            client.get(url)
            with CaptureQueriesContext(connection) as queries:
                client.get(url)
            out(f"\nQueries of one as-of read of {key}{proof}:\n")
            for q in queries.captured_queries:
                out(f"- {float(q['time']) * 1000:.1f} ms: `{q['sql'][:150]}`")
    if args.levels:
        compare_levels(client, [int(x) for x in args.levels.split(",")], fill_account, instants)
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    out(f"\n`uptime` at the measurement: {uptime}\n")
    out(f"| read (log of {head:,} entries) | median ms | p95 ms | queries | db ms | bytes |")
    out("|---|---|---|---|---|---|")
    rows = []
    for label, key, at in [
        ("as-of, newest instant, 100 entries", KEY, instants[-1]),
        ("as-of, mid-history (50 entries)", KEY, instants[49]),
        (f"as-of, a fill account ({ModeChange.objects.filter(account=fill_account).count()}"
         " legacy entries)", fill_account.account_number, dt.datetime.now(dt.UTC)),
    ]:  # fmt: skip
        base = f"/api/lcm/accounts/{quote(key, safe='')}/as-of/?at={quote(at.isoformat())}"
        for suffix, what in (("", ""), ("&proof=1", " + proof bundle")):
            median, p95, queries, db, size = measure(client, base + suffix)
            rows.append((label + what, median, suffix))
            out(f"| {label}{what} | {median:.1f} | {p95:.1f} | {queries} | {db:.1f} | {size:,} |")
    out()
    for label, median, suffix in rows:
        target = BUNDLE_TARGET_MS if suffix else TARGET_MS
        verdict = "within" if median <= target else "OVER"
        out(f"- {label}: {median:.1f} ms, {verdict} the {target} ms target")


if __name__ == "__main__":
    main()
