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
from datetime import time

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from lcm import errors, imports
from lcm.actions import agent_requests, do_not_call, modes, supervisor
from lcm.actions import imports as imports_writer
from lcm.actions.dialing import dialable_modes
from lcm.audit import verify_chain
from lcm.models import (
    Account,
    Agent,
    AuditChainHead,
    Call,
    ContactMode,
    DoNotCallNumber,
    ModeChange,
    ModeType,
)
from lcm.numbers import same_number

from .conftest import examples, snapshot

pytestmark = pytest.mark.django_db

# The run: the same examples every time, each in well under a second.
SETTINGS = settings(
    # 10 runs of the machine in `make test`, 25 in CI (tests/conftest.py, DEPTH).
    max_examples=examples(quick=10, deep=25),
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


State = dict  # a mode's state as an audit entry records it (lcm.actions.modes.STATE_KEYS)


def replay(entries: Iterable[ModeChange]) -> dict[str, dict[int, State]]:
    """The live held (account → ModeID → state) that the audit `entries`,
    applied in `seq` order from the empty state, describe.

    Each entry records, for every mode it touched, the state before and
    after (`modes`). The replay holds it to the truth:

    - every `before` is the state the replay holds for that mode (None: no
      live mode), and then the mode holds `after`;
    - its headline agrees: `old_number`/`new_number` are the main mode's
      numbers before and after, `deleted_modes` the other held it emptied;
    - a `revert` of entry E touches only held E touched, and leaves every
      one of them as it was just before E (this replay's own record of E);
    - a `settings` change never changes a number.
    """
    state: dict[str, dict[int, State]] = defaultdict(dict)
    before_of: dict[int, dict[int, State | None]] = {}  # entry pk → E's held before E
    for entry in entries:
        held = state[entry.account_number]
        where = f"entry #{entry.seq} ({entry.action} {entry.account_number} mode {entry.mode_id})"
        if entry.modes is None:
            raise ReplayMismatch(f"{where}: records no modes")
        touched = {m["mode_id"]: m for m in entry.modes}
        for mode_id, change in touched.items():
            if held.get(mode_id) != change["before"]:
                raise ReplayMismatch(
                    f"{where}: mode {mode_id} was {change['before']!r} before, but the log "
                    f"says {held.get(mode_id)!r}"
                )
        main = touched.get(entry.mode_id, {"before": held.get(entry.mode_id)})
        main["after"] = main.get("after", main["before"])
        if entry.old_number != ((main["before"] or {}).get("number") or ""):
            raise ReplayMismatch(f"{where}: old_number {entry.old_number!r} is not the before")
        if entry.new_number != ((main["after"] or {}).get("number") or ""):
            raise ReplayMismatch(f"{where}: new_number {entry.new_number!r} is not the after")
        emptied = [
            {"mode_id": m, "number": c["before"]["number"]}
            for m, c in sorted(touched.items())
            if m != entry.mode_id and c["after"] is None
        ]
        if entry.deleted_modes != emptied:
            raise ReplayMismatch(f"{where}: deleted_modes {entry.deleted_modes} are not {emptied}")
        if entry.action == ModeChange.Action.SETTINGS and any(
            (c["before"] or {}).get("number") != (c["after"] or {}).get("number")
            for c in touched.values()
        ):
            raise ReplayMismatch(f"{where}: a settings change changed a number")
        before_of[entry.pk] = {m: c["before"] for m, c in touched.items()}
        for mode_id, change in touched.items():
            if change["after"] is None:
                held.pop(mode_id, None)
            else:
                held[mode_id] = change["after"]
        if entry.action == ModeChange.Action.REVERT:
            if entry.reverts_id not in before_of:
                raise ReplayMismatch(f"{where}: reverts an entry not replayed before it")
            put_back = before_of[entry.reverts_id]
            if not set(touched) <= set(put_back):
                raise ReplayMismatch(
                    f"{where}: touched modes {sorted(set(touched) - set(put_back))}, which the "
                    f"reverted entry id {entry.reverts_id} did not change"
                )
            for mode_id, wanted in put_back.items():
                if held.get(mode_id) != wanted:
                    raise ReplayMismatch(
                        f"{where}: left mode {mode_id} as {held.get(mode_id)!r}, not as it was "
                        f"before entry id {entry.reverts_id} ({wanted!r})"
                    )
    return {account: held for account, held in state.items() if held}


def _state(number: str, **settings) -> State:
    return {"number": number, "e164": "", "pewc": False, "pewc_source": "", "pewc_by": "",
            "pewc_at": None, "time_zone": "", "window": None, **settings}  # fmt: skip


def test_the_replay_follows_sets_deletions_and_reverts_of_reverts():
    """The replay itself, on a hand-written log (no database)."""

    def entry(pk, action, mode_id, changes, reverts=None):
        touched = [{"mode_id": m, "before": b, "after": a} for m, b, a in changes]
        main = next((c for c in touched if c["mode_id"] == mode_id), None)
        return ModeChange(
            pk=pk,
            seq=pk,
            action=action,
            account_number="A",
            mode_id=mode_id,
            old_number=(main["before"] or {}).get("number", "") if main else "",
            new_number=(main["after"] or {}).get("number", "") if main else "",
            deleted_modes=[
                {"mode_id": c["mode_id"], "number": c["before"]["number"]}
                for c in touched
                if c["mode_id"] != mode_id and c["after"] is None
            ],
            modes=touched,
            reverts_id=reverts,
        )

    one, two, three = _state("111"), _state("222"), _state("333")
    consented = _state("111", pewc=True, pewc_source="supervisor", pewc_by="s", pewc_at="x")
    log = [
        entry(1, "import", 1, [(1, None, one)]),
        entry(2, "import", 2, [(2, None, two)]),
        entry(3, "set", 3, [(1, one, None), (2, two, None), (3, None, three)]),
        entry(4, "set", 2, [(2, None, two)]),
        entry(5, "revert", 3, [(1, None, one), (3, three, None)], reverts=3),  # 2 is back already
        entry(6, "revert", 3, [(1, one, None), (3, None, three)], reverts=5),
        entry(7, "settings", 1, []),
    ]

    assert replay(log[:3]) == {"A": {3: three}}
    assert replay(log[:5]) == {"A": {1: one, 2: two}}
    # Undoing the revert deletes mode 1 again, but keeps mode 2: entry 5
    # did not change it (entry 4 had set it back already).
    assert replay(log[:6]) == {"A": {2: two, 3: three}}
    undoes_too_much = entry(
        6, "revert", 3, [(1, one, None), (2, two, None), (3, None, three)], reverts=5
    )
    with pytest.raises(ReplayMismatch, match=r"touched modes \[2\], which the reverted"):
        replay([*log[:5], undoes_too_much])
    with pytest.raises(ReplayMismatch, match=r"mode 1 was .*'999'"):
        replay([log[0], entry(2, "set", 1, [(1, _state("999"), one)])])
    with pytest.raises(ReplayMismatch, match="mode 2 was"):
        replay([log[0], entry(2, "set", 1, [(1, one, one), (2, two, None)])])
    with pytest.raises(ReplayMismatch, match="settings change changed a number"):
        replay([log[0], entry(2, "settings", 1, [(1, one, two)])])
    grant = entry(2, "settings", 1, [(1, one, consented)])
    assert replay([log[0], grant]) == {"A": {1: consented}}
    lie = entry(2, "set", 1, [(1, one, two)])
    lie.old_number = "999"
    with pytest.raises(ReplayMismatch, match="old_number '999' is not the before"):
        replay([log[0], lie])


# --- The state machine ----------------------------------------------------------


def users():
    return get_user_model().objects.in_bulk(
        ["testagent", "otheragent", "dialer", "supervisor", "auditor"], field_name="username"
    )


def our_entries():
    return ModeChange.objects.filter(account_number__startswith=PREFIX).order_by("seq")


def our_live_modes() -> dict[str, dict[int, State]]:
    """The table's live modes, as the audit log records a mode's state."""
    live: dict[str, dict[int, State]] = defaultdict(dict)
    for mode in ContactMode.objects.filter(
        account__account_number__startswith=PREFIX, deleted_at=None
    ).select_related("account"):
        live[mode.account.account_number][mode.mode_type_id] = modes.state_of(mode).audit()
    return dict(live)


def our_numbers() -> dict[str, dict[int, str]]:
    return {
        key: {mode_id: state["number"] for mode_id, state in live.items()}
        for key, live in our_live_modes().items()
    }


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
        wanted = {m: state.audit() if state else None for m, state in plan.target.items()}
        assert {m: live.get(m) for m in plan.target} == wanted, "the revert missed its plan"

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
        lines = ["AccountNumber,FirstName,Country,Mode1,Mode2,Mode3,Mode4,Mode1PEWC,Mobile PEWC"]
        for key, numbers in batch:
            cells = [f'"{numbers.get(m, "")}"' for m in (1, 2, 3, 4)]
            consent = ["yes" if numbers.get(1) else "", "no" if key else "true"]
            country = "US" if key == 1 else ""
            lines.append(",".join([KEYS[key], f"Name{key}", country, *cells, *consent]))
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

    @rule(
        account=st.integers(0, len(KEYS) - 1),
        mode_id=st.sampled_from(DEFINED),
        consent=st.booleans(),
        time_zone=st.sampled_from(["", "", "America/Chicago", "Europe/Madrid", "Mars/Olympus"]),
        window=st.sampled_from([None, None, (time(9), time(17)), (time(18), time(9))]),
        expected=EXPECTED_SEQ,
    )
    def change_settings(self, account, mode_id, consent, time_zone, window, expected):
        """A supervisor grants or withdraws consent, or overrides the zone
        and window (some of them invalid, refused)."""
        target = Account.objects.filter(account_number=KEYS[account]).first()
        if target is None:
            return
        self._attempt(
            supervisor.change_mode_settings,
            account_id=target.pk,
            mode_id=mode_id,
            consent=consent,
            time_zone=time_zone,
            window=window,
            actor=self.users["supervisor"],
            expected_seq=self._expected_seq(target.pk, expected),
        )

    @rule(number=st.sampled_from(["+1 202-555-0101", "5551234", "+44 20 7946 0018"]))
    def block_a_number(self, number):
        """A supervisor puts a number on the do-not-call list, under a
        spelling other than the modes'; every live mode holding it is then
        do-not-call (the invariant below), and it can no longer be set."""
        self._attempt(do_not_call.add_number, number=number, actor=self.users["supervisor"])

    # -- invariants --

    @invariant()
    def live_modes_are_the_replayed_audit_log(self):
        assert our_live_modes() == replay(our_entries())

    @invariant()
    def every_live_mode_on_the_list_is_do_not_call(self):
        """The product's live status (`dialing.dialable_modes`, one query by
        candidates) agrees with the rule applied pair by pair."""
        now = timezone.now()
        listed = [
            do_not_call.as_clean(entry)
            for entry in DoNotCallNumber.objects.filter(do_not_call.active_q(now))
        ]
        for account in Account.objects.filter(account_number__startswith=PREFIX):
            live = list(account.modes.filter(deleted_at=None).select_related("mode_type"))
            for channel in dialable_modes(account, live, now=now):
                held = do_not_call.as_clean(channel.mode)
                expected = any(same_number(held, entry) for entry in listed)
                assert channel.do_not_call == expected, (channel.mode, channel.blocked_as)
                assert not (channel.do_not_call and channel.callable)

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
