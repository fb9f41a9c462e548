"""A small audit log for the auditors' tests: three changes by two agents,
written after the demo's own entries (the seeded import, seq 1 to 3, and
its do-not-call number, seq 4, on no account)."""

from django.contrib.auth import get_user_model

from lcm.actions import RequestContext, agent_requests
from lcm.models import ModeChange

from .conftest import DEMO_ENTRIES

DAVID = "5|3|1|0|0|44|1"
MARIA = "596|485|587|0|0|44|59"

# What `seed_demo` appends, oldest first: its import of the demo accounts,
# mode by mode, then its list-wide do-not-call number, as
# (seq, action, source, username, account, mode, new number).
DEMO_LOG = [
    (1, "import", "seed_demo", "", DAVID, 1, "6491462346"),
    (2, "import", "seed_demo", "", DAVID, 2, "2025550143"),
    (3, "import", "seed_demo", "", MARIA, 1, "2025550111"),
    (4, "dnc", "seed_demo", "system", "", 0, "2025550199"),
]
assert len(DEMO_LOG) == DEMO_ENTRIES
# Their seqs, newest first (as lists show them).
DEMO = [entry[0] for entry in reversed(DEMO_LOG)]


def seq(n: int) -> int:
    """The seq of the n-th entry a test appends (1-based), after the demo's."""
    return DEMO_ENTRIES + n


def demo_log() -> list[tuple]:
    """The demo's entries as they are in the log, in DEMO_LOG's shape."""
    return list(
        ModeChange.objects.filter(seq__lte=DEMO_ENTRIES)
        .order_by("seq")
        .values_list(
            "seq", "action", "source", "username", "account_number", "mode_id", "new_number"
        )
    )


def new_entries():
    """The entries appended after the demo's, oldest first."""
    return ModeChange.objects.filter(seq__gt=DEMO_ENTRIES).order_by("seq")


def set_number(callid, account, agent, mode_id, number, *, delete_others=False, source=""):
    return agent_requests.set_new_mode_number(
        callid=callid,
        account_number=account,
        mode_id=mode_id,
        contact_number=number,
        delete_other_modes=delete_others,
        agent_id=agent,
        actor=get_user_model().objects.get(username=agent),
        context=RequestContext(source=source, client_ip="10.0.0.7", request_id="r1"),
    )


def make_log() -> list[ModeChange]:
    """seq(1) testagent sets David's Home, seq(2) otheragent sets Maria's Home,
    seq(3) testagent sets David's Office and deletes his other modes."""
    return [
        set_number("12345", DAVID, "testagent", 1, "300 555 0101", source="agentapp"),
        set_number("12346", MARIA, "otheragent", 1, "3005550202", source="crm"),
        set_number(
            "12345", DAVID, "testagent", 2, "3005550303", delete_others=True, source="agentapp"
        ),
    ]


LEGACY = "9|9|9|0|0|44|9"  # an account whose entries were written before format 2
LEGACY_NUMBERS = ("4015550101", "4015550102", "4015550103", "4015550104")


def write_legacy_entries(apps, count: int) -> list[int]:
    """`count` entries as lcm wrote them before migration 0018 (format 1: the
    personal values inside the hashed bytes), on the account LEGACY, through
    the models of `apps` (a migration state's, or the current ones). Returns
    their seqs."""
    from django.utils import timezone

    from lcm.audit import compute_hash

    Account = apps.get_model("lcm", "Account")
    Entry = apps.get_model("lcm", "ModeChange")
    Head = apps.get_model("lcm", "AuditChainHead")
    account, _ = Account.objects.get_or_create(
        account_number=LEGACY, defaults={"first_name": "Olga", "last_name": "Oldentry"}
    )
    head, _ = Head.objects.get_or_create(pk=1)
    seqs = []
    for i in range(count):
        old = LEGACY_NUMBERS[(i - 1) % len(LEGACY_NUMBERS)] if i else ""
        new = LEGACY_NUMBERS[i % len(LEGACY_NUMBERS)]
        entry = ModeChange(  # the current model only to hash it: salt None, format 1
            seq=head.seq + 1,
            created_at=timezone.now(),
            action="set",
            account_id=account.pk,
            account_number=LEGACY,
            username="legacy",
            source="agentapp",
            mode_id=1,
            old_number=old,
            new_number=new,
            new_number_e164="+1" + new,
            deleted_modes=[],
            modes=[
                {"mode_id": 1, "before": {"number": old} if old else None, "after": {"number": new}}
            ],
            client_ip="10.0.0.9",
            request_id=f"legacy-{i}",
            prev_hash=head.hash,
        )
        entry.hash = compute_hash(entry)
        names = {f.attname for f in Entry._meta.concrete_fields} - {"id"}
        Entry.objects.create(**{name: getattr(entry, name) for name in names})
        head.seq, head.hash = entry.seq, entry.hash
        head.save()
        seqs.append(entry.seq)
    return seqs
