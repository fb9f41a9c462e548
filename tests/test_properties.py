"""Property tests of the number-changing services, driven by Hypothesis.

A rule-based state machine sends random sequences of the real domain actions
of `lcm.services` — SetNewModeNumber (valid, and with wrong calls, agents,
actors, ModeIDs and numbers), the supervisors' set, revert and restore, and
account imports read from generated CSV — on a handful of accounts, and after
every step checks what the audit log promises:

1. the live modes of every account are exactly what replaying the audit log
   from the empty state gives (`replay`), and every entry's "before"
   (`old_number`, `deleted_modes`) is what the replay held at that point;
2. `lcm.audit.verify_chain` finds the hash chain intact;
3. the table holds at most one live mode per (account, ModeID).

A refusal (`errors.LcmError`) is an allowed outcome, but then nothing may
have changed. (The replay's rule that a revert changes only what the reverted
entry changed exposed a bug, on a hand-written sequence the random search
here does not reach: test_admin_console.py,
test_undoing_a_revert_leaves_alone_a_mode_that_the_revert_did_not_change.)

Each example runs inside a savepoint rolled back at its end (the audit chain
head included), so every example starts from the demo data.
Fixed seed, bounded examples and steps: the run is the same every time.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Iterable

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from lcm import errors, imports
from lcm.actions import agent_requests, supervisor
from lcm.actions import imports as imports_writer
from lcm.audit import verify_chain
from lcm.models import (
    Account,
    Agent,
    AuditChainHead,
    Call,
    ContactMode,
    ModeChange,
    ModeType,
)

from .conftest import snapshot

pytestmark = pytest.mark.django_db

# The run: the same examples every time, each in well under a second.
SETTINGS = settings(
    max_examples=25,
    stateful_step_count=40,
    deadline=None,
    derandomize=True,
    database=None,
    # The machine's examples share the test's database on purpose (each in a
    # savepoint); the data strategies are small and fixed.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

PREFIX = "77|7|"
KEYS = [f"{PREFIX}{i}|0|0|44|1" for i in range(3)]  # the last one exists only once imported
WITH_CALLS = 2  # KEYS[:2] exist from the start, each with an active call of testagent

# Mode types: the demo's 1 Home, 2 Office, 3 Mobile, and 4 with narrow bounds;
# 0 and 9 are not defined.
MODE_IDS = [1, 2, 3, 4, 0, 9]
PAGER = {"id": 4, "name": "Pager", "min_length": 5, "max_length": 8}
DEFINED = [1, 2, 3, 4]
# Few numbers, so the same one comes back often. The 7-digit ones fit every
# mode, the others are too long for mode 4.
VALID = ["2025550101", "202-555-0102", "+44 20 7946 0018", "5551234", "555 0000"]
DO_NOT_CALL = ["2025550199", "(202) 555-0199"]  # the demo's do-not-call number
INVALID = ["12", "call me", "", "+"]
NUMBERS = VALID + DO_NOT_CALL + INVALID
# The rules meant to succeed mostly draw valid numbers, and sometimes not.
MOSTLY_VALID = st.sampled_from([*VALID[2:], *VALID[2:], DO_NOT_CALL[0], INVALID[0]])


# --- The replay ---------------------------------------------------------------


class ReplayMismatch(AssertionError):
    """An entry's "before" is not what the log itself says came before it."""


def replay(entries: Iterable[ModeChange]) -> dict[str, dict[int, str]]:
    """The live modes (account → ModeID → number) that the audit `entries`,
    applied in `seq` order from the empty state, describe.

    Each entry must tell the truth about the state it changed: its
    `old_number` is the number its mode held (empty: none), each of its
    `deleted_modes` held that number. Then:

    - `set`, `import`, `restore`: mode `mode_id` holds `new_number`;
    - `revert` of entry E: the modes E changed get back the numbers they had
      just before E (this replay's own record, not E's fields), a mode E
      added is removed, and no other mode changes (its `deleted_modes` are
      only modes E changed); `new_number` must be what `mode_id` now holds.

    The modes an entry changed are its `mode_id`, its `deleted_modes`, and
    any other mode whose number differs before and after it.
    """
    state: dict[str, dict[int, str]] = defaultdict(dict)
    before_of: dict[int, dict[int, str | None]] = {}  # entry pk → its modes before it
    for entry in entries:
        modes = state[entry.account_number]
        before = dict(modes)
        where = f"entry #{entry.seq} ({entry.action} {entry.account_number} mode {entry.mode_id})"
        if modes.get(entry.mode_id, "") != entry.old_number:
            raise ReplayMismatch(
                f"{where}: old_number {entry.old_number!r}, but the log says mode "
                f"{entry.mode_id} held {modes.get(entry.mode_id, '')!r}"
            )
        reverting = entry.action == ModeChange.Action.REVERT
        if reverting and entry.reverts_id not in before_of:
            raise ReplayMismatch(f"{where}: reverts an entry not replayed before it")
        put_back = before_of[entry.reverts_id] if reverting else {}
        for deleted in entry.deleted_modes:
            mode_id, number = deleted["mode_id"], deleted["number"]
            if modes.get(mode_id) != number:
                raise ReplayMismatch(
                    f"{where}: deleted mode {mode_id} as {number!r}, but the log says it held "
                    f"{modes.get(mode_id)!r}"
                )
            if reverting and (mode_id not in put_back or put_back[mode_id] == number):
                raise ReplayMismatch(
                    f"{where}: deleted mode {mode_id} ({number!r}), which the reverted entry "
                    f"id {entry.reverts_id} did not change"
                )
            del modes[mode_id]
        if reverting:
            for mode_id, number in put_back.items():
                if number is None:
                    modes.pop(mode_id, None)
                else:
                    modes[mode_id] = number
            if modes.get(entry.mode_id, "") != entry.new_number:
                raise ReplayMismatch(
                    f"{where}: new_number {entry.new_number!r}, but reverting entry "
                    f"id {entry.reverts_id} puts back {modes.get(entry.mode_id, '')!r}"
                )
        else:
            if not entry.new_number:
                raise ReplayMismatch(f"{where}: a {entry.action} entry without a new number")
            modes[entry.mode_id] = entry.new_number
        changed = {entry.mode_id} | {d["mode_id"] for d in entry.deleted_modes}
        changed |= {m for m in before.keys() | modes.keys() if before.get(m) != modes.get(m)}
        before_of[entry.pk] = {m: before.get(m) for m in changed}
    return {account: modes for account, modes in state.items() if modes}


def test_the_replay_follows_sets_deletions_and_reverts_of_reverts():
    """The replay itself, on a hand-written log (no database)."""

    def entry(pk, action, mode_id, old, new, deleted=(), reverts=None):
        return ModeChange(
            pk=pk,
            seq=pk,
            action=action,
            account_number="A",
            mode_id=mode_id,
            old_number=old,
            new_number=new,
            deleted_modes=[{"mode_id": m, "number": n} for m, n in deleted],
            reverts_id=reverts,
        )

    log = [
        entry(1, "import", 1, "", "111"),
        entry(2, "import", 2, "", "222"),
        entry(3, "set", 3, "", "333", deleted=[(1, "111"), (2, "222")]),
        entry(4, "set", 2, "", "222"),
        entry(5, "revert", 3, "333", "", reverts=3),  # mode 2 already holds 222
        entry(6, "revert", 3, "", "333", deleted=[(1, "111")], reverts=5),
    ]

    assert replay(log[:3]) == {"A": {3: "333"}}
    assert replay(log[:5]) == {"A": {1: "111", 2: "222"}}
    # Undoing the revert deletes mode 1 again, but keeps mode 2: entry 5
    # did not change it (entry 4 had set it back already).
    assert replay(log) == {"A": {2: "222", 3: "333"}}
    undoes_too_much = entry(6, "revert", 3, "", "333", deleted=[(1, "111"), (2, "222")], reverts=5)
    with pytest.raises(ReplayMismatch, match=r"deleted mode 2 .* did not change"):
        replay([*log[:5], undoes_too_much])
    with pytest.raises(ReplayMismatch, match="old_number '999'"):
        replay([log[0], entry(2, "set", 1, "999", "1")])
    with pytest.raises(ReplayMismatch, match="deleted mode 2"):
        replay([log[0], entry(2, "set", 1, "111", "1", deleted=[(2, "222")])])


# --- The state machine ----------------------------------------------------------


def users():
    return get_user_model().objects.in_bulk(
        ["testagent", "otheragent", "dialer", "supervisor", "auditor"], field_name="username"
    )


def our_entries():
    return ModeChange.objects.filter(account_number__startswith=PREFIX).order_by("seq")


def our_live_modes() -> dict[str, dict[int, str]]:
    live: dict[str, dict[int, str]] = defaultdict(dict)
    for key, mode_id, number in ContactMode.objects.filter(
        account__account_number__startswith=PREFIX, deleted_at=None
    ).values_list("account__account_number", "mode_type_id", "number"):
        live[key][mode_id] = number
    return dict(live)


def full_snapshot():
    return (*snapshot(), list(Account.objects.order_by("pk").values()))


# The `expected_seq` of a console form: none, the account's latest (a fresh
# form) or an older one (a stale form, refused).
EXPECTED_SEQ = st.sampled_from(["current", "none", "current", "stale"])


class ModeServices(RuleBasedStateMachine):
    """One example: a few accounts and calls, then random service calls."""

    head_at_start: tuple[int, str]  # the chain head every example starts from

    def __init__(self):
        super().__init__()
        # The whole example in a savepoint, rolled back in `teardown`.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        head = AuditChainHead.objects.get(pk=1)
        assert (head.seq, head.hash) == self.head_at_start, "an example saw another's writes"
        assert not Account.objects.filter(account_number__startswith=PREFIX).exists()

        self.users = users()
        agents = {u.agent.agent_id: u.agent for u in self.users.values() if hasattr(u, "agent")}
        now = timezone.now()
        accounts = [Account.objects.create(account_number=key) for key in KEYS[:WITH_CALLS]]
        for i, account in enumerate(accounts):
            Call.objects.create(
                callid=f"prop-{i}", account=account, agent=agents["testagent"], started_at=now
            )
        # Refused whatever the rest: otheragent's call, and an ended call of
        # the logged-out offagent.
        Call.objects.create(
            callid="prop-other", account=accounts[1], agent=agents["otheragent"], started_at=now
        )
        Call.objects.create(
            callid="prop-ended",
            account=accounts[0],
            agent=Agent.objects.get(agent_id="offagent"),
            state=Call.State.ENDED,
            started_at=now,
            ended_at=now,
        )

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # -- helpers --

    def _expected_seq(self, account_id: int, choice: str) -> int | None:
        current = supervisor.latest_seq(account_id)
        return {"none": None, "current": current, "stale": current - 1}[choice]

    def _attempt(self, action, **kwargs):
        """Run a service; a refusal must leave everything as it was."""
        before = full_snapshot()
        try:
            return action(**kwargs)
        except errors.LcmError as exc:
            assert full_snapshot() == before, f"{type(exc).__name__} left changes behind"
            return None

    # -- rules --

    @rule(
        account=st.integers(0, WITH_CALLS - 1),
        mode_id=st.sampled_from(DEFINED),
        number=MOSTLY_VALID,
        delete_other_modes=st.booleans(),
        actor=st.sampled_from(["testagent", "dialer"]),
    )
    def set_number(self, account, mode_id, number, delete_other_modes, actor):
        """SetNewModeNumber on the account's own call, as its agent or the dialer."""
        self._attempt(
            agent_requests.set_new_mode_number,
            callid=f"prop-{account}",
            account_number=KEYS[account],
            mode_id=mode_id,
            contact_number=number,
            delete_other_modes=delete_other_modes,
            agent_id="testagent",
            actor=self.users[actor],
        )

    @rule(
        callid=st.sampled_from(["prop-0", "prop-1", "prop-other", "prop-ended", "nope", " "]),
        account=st.integers(0, len(KEYS) - 1),
        mode_id=st.sampled_from(MODE_IDS),
        number=st.sampled_from(NUMBERS),
        delete_other_modes=st.booleans(),
        agent_id=st.sampled_from(["testagent", "otheragent", "offagent", "ghost"]),
        actor=st.sampled_from(["testagent", "otheragent", "dialer"]),
    )
    def set_number_anyhow(
        self, callid, account, mode_id, number, delete_other_modes, agent_id, actor
    ):
        """SetNewModeNumber with any call, account, agent and actor: mostly refused."""
        self._attempt(
            agent_requests.set_new_mode_number,
            callid=callid,
            account_number=KEYS[account],
            mode_id=mode_id,
            contact_number=number,
            delete_other_modes=delete_other_modes,
            agent_id=agent_id,
            actor=self.users[actor],
        )

    @rule(
        account=st.integers(0, len(KEYS) - 1),
        mode_id=st.sampled_from(DEFINED),
        number=MOSTLY_VALID,
        delete_other_modes=st.booleans(),
        expected=EXPECTED_SEQ,
    )
    def set_number_as_supervisor(self, account, mode_id, number, delete_other_modes, expected):
        target = Account.objects.filter(account_number=KEYS[account]).first()
        if target is None:
            return
        self._attempt(
            supervisor.set_mode_number_as_supervisor,
            account_id=target.pk,
            mode_id=mode_id,
            contact_number=number,
            delete_other_modes=delete_other_modes,
            actor=self.users["supervisor"],
            expected_seq=self._expected_seq(target.pk, expected),
        )

    @rule(
        back=st.integers(0, 3),
        expected=EXPECTED_SEQ,
        confirm_superseded=st.booleans(),
        actor=st.sampled_from(["supervisor", "supervisor", "supervisor", "auditor"]),
    )
    def revert(self, back, expected, confirm_superseded, actor):
        """Revert one of our latest entries (`back` 0: the latest); check it
        does what plan_revert said."""
        entries = list(our_entries())
        if not entries:
            return
        entry = entries[-1 - back % len(entries)]
        before = full_snapshot()
        plan = supervisor.plan_revert(entry)
        assert full_snapshot() == before, "plan_revert wrote something"
        record = self._attempt(
            supervisor.revert_mode_change,
            change_id=entry.pk,
            actor=self.users[actor],
            expected_seq=self._expected_seq(entry.account_id, expected),
            confirm_superseded=confirm_superseded,
        )
        if record is None:
            return
        assert record.reverts_id == entry.pk
        live = our_live_modes().get(entry.account_number, {})
        assert {m: live.get(m) for m in plan.target} == plan.target, "the revert missed its plan"

    @rule()
    def undo_the_latest_entry(self):
        """What a supervisor does most: revert the latest change, confirmed
        (so chains like set, restore, revert, revert-of-revert are common)."""
        self.revert(back=0, expected="current", confirm_superseded=True, actor="supervisor")

    @rule(back=st.integers(0, 3), delete_other_modes=st.booleans())
    def enter_a_deleted_number_again(self, back, delete_other_modes):
        """A supervisor types a deleted number back into its slot."""
        mode = self._deleted_mode(back)
        if mode is not None:
            self.set_number_as_supervisor(
                account=KEYS.index(mode.account.account_number),
                mode_id=mode.mode_type_id,
                number=mode.number,
                delete_other_modes=delete_other_modes,
                expected="current",
            )

    def _deleted_mode(self, back: int) -> ContactMode | None:
        """One of the latest deleted modes of ours (`back` 0: the latest)."""
        deleted = list(
            ContactMode.objects.filter(
                account__account_number__startswith=PREFIX, deleted_at__isnull=False
            )
            .select_related("account")
            .order_by("-deleted_at", "-pk")[:4]
        )
        return deleted[back % len(deleted)] if deleted else None

    @rule(back=st.integers(0, 3), expected=EXPECTED_SEQ, replace=st.booleans())
    def restore(self, back, expected, replace):
        """Restore one of the latest deleted modes (`back` 0: the latest)."""
        mode = self._deleted_mode(back)
        if mode is None:
            return
        self._attempt(
            supervisor.restore_mode,
            mode_pk=mode.pk,
            actor=self.users["supervisor"],
            expected_seq=self._expected_seq(mode.account_id, expected),
            replace=replace,
        )

    @rule(
        batch=st.lists(
            st.tuples(
                st.integers(0, len(KEYS) - 1),
                st.dictionaries(st.sampled_from([1, 2, 3, 4]), st.sampled_from(NUMBERS)),
            ),
            min_size=1,
            max_size=3,
            unique_by=lambda row: row[0],
        ),
        as_dialer=st.booleans(),
    )
    def import_accounts(self, batch, as_dialer):
        """A CSV read by `lcm.imports`, its valid rows written by the service."""
        lines = ["AccountNumber,FirstName,Mode1,Mode2,Mode3,Mode4"]
        for key, modes in batch:
            cells = [f'"{modes.get(m, "")}"' for m in (1, 2, 3, 4)]
            lines.append(",".join([KEYS[key], f"Name{key}", *cells]))
        parsed = list(
            imports.read_csv(
                io.BytesIO("\n".join(lines).encode()), mode_types=ModeType.objects.all()
            )
        )
        rows = [row for row in parsed if isinstance(row, imports.ImportRow)]
        if not rows:
            return
        entries_before = our_entries().count()
        result = imports_writer.import_accounts(
            rows=rows, actor=self.users["dialer"] if as_dialer else None
        )
        written = result.modes_added + result.modes_changed
        assert our_entries().count() == entries_before + written, "one entry per mode written"

    # -- invariants --

    @invariant()
    def live_modes_are_the_replayed_audit_log(self):
        assert our_live_modes() == replay(our_entries())

    @invariant()
    def the_hash_chain_is_intact(self):
        report = verify_chain()
        assert report.ok, report.problem
        assert report.missing_triggers == ()

    @invariant()
    def at_most_one_live_mode_per_account_and_mode_id(self):
        doubles = (
            ContactMode.objects.filter(deleted_at=None)
            .values("account_id", "mode_type_id")
            .annotate(n=Count("pk"))
            .filter(n__gt=1)
        )
        assert list(doubles) == []


def test_random_service_calls_keep_the_log_the_table_and_the_chain_in_agreement(demo):
    ModeType.objects.create(**PAGER)
    head = AuditChainHead.objects.get(pk=1)
    ModeServices.head_at_start = (head.seq, head.hash)

    run_state_machine_as_test(ModeServices, settings=SETTINGS)

    # Every example was rolled back.
    assert not Account.objects.filter(account_number__startswith=PREFIX).exists()
    assert AuditChainHead.objects.get(pk=1).seq == head.seq
