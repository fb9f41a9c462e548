"""As-of reads (issue 32): an account's modes at an instant, replayed from the
audit log, through the real API and database.

A history is written through the real actions (the demo's import, a
supervisor's consent and settings, list-wide do-not-call blocks and their
lifts, a number change, the agent's SetDNC of the whole contact), each step
ten minutes after the last under a frozen clock (time-machine), and the
answer is checked at an instant between each pair of steps.
"""

import datetime as dt
import io
import json

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command

from lcm.actions import dialing, do_not_call, supervisor
from lcm.models import Account, ContactMode, DoNotCallNumber, ModeChange

from .conftest import DEMO_PASSWORD, WEBSERVICE, client_for, envelope

pytestmark = pytest.mark.django_db
DAVID = "5|3|1|0|0|44|1"
MARIA = "596|485|587|0|0|44|59"
# 10:00 in New York, a Saturday in March (EDT since the 8th): inside Spring's 08:00-21:00.
T0 = dt.datetime(2026, 3, 14, 14, 0, tzinfo=dt.UTC)
STEP = dt.timedelta(minutes=10)


def url(key=DAVID, **params):
    from urllib.parse import quote, urlencode

    query = urlencode(params)
    return f"/api/lcm/accounts/{quote(key, safe='')}/as-of/" + (f"?{query}" if query else "")


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def user(name):
    return get_user_model().objects.get(username=name)


def last_seq() -> int:
    return ModeChange.objects.order_by("-seq").values_list("seq", flat=True).first()


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def history(clock):
    """The demo at T0, then one step every ten minutes; returns {name: seq}."""
    call_command("seed_demo", password=DEMO_PASSWORD, stdout=io.StringIO())
    david = Account.objects.get(account_number=DAVID)
    seqs = {"import": last_seq()}

    def step(name, action):
        clock.shift(STEP)
        action()
        seqs[name] = last_seq()

    boss = user("supervisor")
    admin = user("admin")

    def settings(consent, time_zone="", window=None):
        return lambda: supervisor.change_mode_settings(
            account_id=david.pk,
            mode_id=2,
            consent=consent,
            time_zone=time_zone,
            window=window,
            actor=boss,
            expected_seq=None,
        )

    step("consent", settings(True))  # T0+10
    step("block", lambda: do_not_call.add_number(number="2025550143", actor=admin))  # +20
    listed = DoNotCallNumber.objects.get(number="2025550143")
    step("lift", lambda: do_not_call.lift(entry_pk=listed.pk, reason="asked again", actor=admin))
    step(  # +40: consent withdrawn, the callee's zone and window overridden
        "withdraw",
        settings(False, "America/Los_Angeles", (dt.time(9, 0), dt.time(17, 0))),
    )
    step(
        "number",
        lambda: supervisor.set_mode_number_as_supervisor(
            account_id=david.pk,
            mode_id=2,
            contact_number="2025550177",
            delete_other_modes=False,
            actor=boss,
            expected_seq=None,
        ),
    )  # +50

    def contact_block():
        body = envelope(
            "SetDNC", callid="12345", AccountNumber=DAVID, AgentID="testagent", isPhoneNoDNC=False
        )
        response = client_for("testagent").post(WEBSERVICE, body, format="json")
        assert response.status_code == 200, response.content

    step("contact", contact_block)  # +60
    blocked = DoNotCallNumber.objects.get(scope="contact")
    step(
        "unblock",
        lambda: do_not_call.lift(entry_pk=blocked.pk, reason="wrong customer", actor=admin),
    )  # +70
    clock.shift(STEP)  # now: T0+80
    return seqs


def between(k: int) -> dt.datetime:
    """Five minutes after step k (0: the import at T0)."""
    return T0 + k * STEP + dt.timedelta(minutes=5)


def as_of(at, key=DAVID, who="auditor", **params):
    response = client_for(who).get(url(key, at=iso(at), **params))
    assert response.status_code == 200, response.content
    return response.json()


def mode(answer, mode_id=2):
    return next(m for m in answer["Contactmodes"] if m["ModeID"] == mode_id)


def test_the_answer_between_each_change_is_what_the_log_says_then(history):
    s = history
    start = mode(as_of(between(0)))
    assert start["CValue"] == "2025550143" and start["E164"] == "+12025550143"
    assert (start["PEWC"], start["DNC"], start["Callable"]) == (False, False, True)
    assert start["TimeZone"] == "America/New_York" and start["TimeZoneSource"] == "number"
    assert start["set_by"]["CValue"] == start["set_by"]["PEWC"] <= s["import"]
    assert start["set_by"]["TimeZone"] == start["set_by"]["E164"]  # derived from the number
    assert (start["ModeDialingStartTime"], start["ModeDialingEndTime"]) == ("08:00", "21:00")

    granted = mode(as_of(between(1)))
    assert granted["PEWC"] is True and granted["PEWCSource"] == "supervisor"
    assert granted["PEWCBy"] == "supervisor" and granted["PEWCAt"].startswith("2026-03-14T14:10")
    assert granted["set_by"]["PEWC"] == s["consent"]
    assert granted["set_by"]["CValue"] == start["set_by"]["CValue"]  # unchanged since

    answer = as_of(between(2))
    from lcm.api import examples  # the schema's example is this reply's shape

    assert set(answer) == set(examples.AS_OF)
    assert set(mode(answer)) == set(examples.AS_OF_MODE)
    assert set(mode(answer)["set_by"]) == set(examples.AS_OF_MODE["set_by"])
    blocked = mode(answer)
    assert (blocked["DNC"], blocked["DNCNumber"], blocked["DNCContact"]) == (True, True, False)
    assert blocked["Callable"] is False and blocked["Reason"] == "on the do-not-call list"
    assert blocked["set_by"]["DNCNumber"] == s["block"]
    assert mode(as_of(between(2)), 1)["DNC"] is False  # the other number is not listed

    lifted = mode(as_of(between(3)))
    assert (lifted["DNC"], lifted["PEWC"], lifted["Callable"]) == (False, True, True)

    withdrawn = mode(as_of(between(4)))
    assert withdrawn["PEWC"] is False and withdrawn["set_by"]["PEWC"] == s["withdraw"]
    assert withdrawn["TimeZone"] == "America/Los_Angeles"
    assert (
        withdrawn["TimeZoneSource"] == "mode" and withdrawn["set_by"]["TimeZone"] == s["withdraw"]
    )
    assert withdrawn["Window"] == ["09:00", "17:00"]
    assert withdrawn["set_by"]["Window"] == s["withdraw"]
    # 07:45 in Los Angeles: before its window opens.
    assert withdrawn["Callable"] is False
    assert withdrawn["Reason"].startswith("outside the calling window (09:00-17:00)")

    renumbered = mode(as_of(between(5)))
    assert renumbered["CValue"] == "2025550177" and renumbered["set_by"]["CValue"] == s["number"]
    # A new number starts without the old one's consent and overrides.
    assert renumbered["TimeZone"] == "America/New_York" and renumbered["Window"] == [
        "08:00",
        "21:00",
    ]
    assert renumbered["Callable"] is True

    contact = as_of(between(6))
    assert contact["DNCContact"] is True and contact["DNCContactSetBy"] == s["contact"]
    for element in contact["Contactmodes"]:
        assert element["DNC"] is True and element["DNCContact"] is True
        assert element["Callable"] is False and element["set_by"]["DNCContact"] == s["contact"]

    unblocked = as_of(between(7))
    assert unblocked["DNCContact"] is False
    assert mode(unblocked)["Callable"] is True
    assert unblocked["replayed"] == sorted(unblocked["replayed"])
    assert s["unblock"] in unblocked["replayed"] and s["block"] not in unblocked["replayed"]


def test_now_the_replay_agrees_with_the_live_tables(history):
    """The log and the live rows are written together: replaying the whole
    log gives what GetContactModes computes from the rows."""
    from django.utils import timezone

    answer = as_of(timezone.now())
    account = Account.objects.get(account_number=DAVID)
    live = dialing.dialable_modes(
        account,
        list(ContactMode.objects.filter(account=account, deleted_at=None).select_related(
            "mode_type")),
        now=timezone.now(),
    )  # fmt: skip
    replayed = {m["ModeID"]: m for m in answer["Contactmodes"]}
    assert sorted(replayed) == sorted(d.mode.mode_type_id for d in live)
    for channel in live:
        element = channel.element()
        mine = replayed[element["ModeID"]]
        for name in ("CValue", "E164", "PEWC", "DNC", "Callable", "TimeZone", "AreaCode",
                     "ModeDialingStartTime", "ModeDialingEndTime", "ChannelType"):  # fmt: skip
            assert mine[name] == element[name], name


def test_a_night_instant_is_outside_the_window(history, clock):
    clock.shift(dt.timedelta(hours=12))  # now 02:20 UTC: 22:20 in New York
    night = mode(as_of(T0 + dt.timedelta(hours=12)))
    assert night["Callable"] is False
    assert night["Reason"] == (
        "outside the calling window (08:00-21:00) in America/New_York, where it is 22:00"
    )
    assert night["LocalTime"].startswith("2026-03-14T22:00:00-0400")


def test_a_supervisor_reads_it_and_an_agent_or_a_dialer_may_not(history):
    assert as_of(between(1), who="supervisor")["account"] == DAVID
    for who in ("testagent", "dialer"):
        response = client_for(who).get(url(at=iso(between(1))))
        assert response.status_code == 403
        assert response.json() == {
            "code": "forbidden",
            "message": "Only auditors and supervisors may read the audit log.",
        }
    assert client_for(None).get(url(at=iso(between(1)))).status_code == 401


@pytest.mark.parametrize(
    ("at", "status", "code", "message"),
    [
        (None, 400, "invalid_fields", "This parameter is required."),
        ("yesterday", 400, "invalid_fields", "'yesterday' is not an instant"),
        ("2026-03-14", 400, "invalid_fields", "'2026-03-14' is not an instant"),
        ("2026-03-14T25:00:00Z", 400, "invalid_fields", "is not an instant"),
        ("2026-03-15T00:00:00Z", 400, "invalid_fields", "is in the future"),
        ("2026-03-14T13:00:00Z", 404, "account_not_yet_created", "did not exist at"),
    ],
)
def test_a_bad_instant_is_the_one_error_shape_and_changes_nothing(history, at, status, code,
                                                                  message):  # fmt: skip
    before = ModeChange.objects.count()
    response = client_for("auditor").get(url(**({"at": at} if at else {})))
    assert response.status_code == status, response.content
    body = response.json()
    assert (
        body["code"] == code and message in (body.get("fields", {}).get("at", [body["message"]])[0])
    )
    assert ModeChange.objects.count() == before


def test_an_unknown_account_or_call_is_a_404(history):
    response = client_for("auditor").get(url("1|2|3", at=iso(between(1))))
    assert response.status_code == 404
    assert response.json() == {
        "code": "unknown_account",
        "message": "There is no account with LCM key 1|2|3.",
    }
    response = client_for("auditor").get("/api/lcm/calls/nope/as-dialled/")
    assert response.status_code == 404 and response.json()["code"] == "unknown_call"
    response = client_for("auditor").get(url(at=iso(between(1)), proof="maybe"))
    assert response.status_code == 400 and "proof" in response.json()["fields"]


def test_a_call_answers_what_was_known_when_it_was_dialled(history, clock):
    """A call registered between the steps: its answer is the account at its start."""
    dialler = client_for("dialer")
    started = between(2)  # while the number was on the list
    response = dialler.post(
        "/api/lcm/calls/",
        {
            "callid": "as-dialled-1",
            "AccountNumber": DAVID,
            "AgentID": "otheragent",
            "StartTime": started.isoformat(),
        },
        format="json",
    )
    assert response.status_code in (200, 201), response.content
    answer = client_for("auditor").get("/api/lcm/calls/as-dialled-1/as-dialled/")
    assert answer.status_code == 200, answer.content
    data = answer.json()
    assert data["call"] == {
        "callid": "as-dialled-1",
        "started_at": started.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "agent": "otheragent",
    }
    assert data["at"] == data["call"]["started_at"]
    assert mode(data)["DNC"] is True and mode(data)["PEWC"] is True
    assert mode(data)["set_by"]["DNCNumber"] == history["block"]


# --- The proof bundle and the offline verifier ---------------------------------------


@pytest.fixture
def signed(settings, tmp_path):
    """Signing on (a key pair from audit_keygen), witness in a file."""
    call_command("audit_keygen", str(tmp_path / "signing.pem"), stdout=io.StringIO())
    settings.LCM_AUDIT_SIGNING_KEY_FILE = str(tmp_path / "signing.pem")
    settings.LCM_AUDIT_PUBLIC_KEY_FILE = str(tmp_path / "signing.pem.pub.pem")
    settings.LCM_AUDIT_WITNESS = str(tmp_path / "witness.jsonl")
    return tmp_path / "signing.pem.pub.pem"


def verify(public_key, answer, tmp_path, name="answer.json"):
    from .test_audit_proofs import run_verifier

    path = tmp_path / name
    path.write_text(json.dumps(answer))
    done = run_verifier("--public-key", public_key, "--as-of", path)
    return done.returncode, done.stdout.strip()


def test_without_a_checkpoint_the_bundle_is_a_409(history):
    response = client_for("auditor").get(url(at=iso(between(2)), proof="1"))
    assert response.status_code == 409 and response.json()["code"] == "not_checkpointed"


@pytest.fixture
def bundled(signed, history):
    from lcm.audit import checkpoints

    checkpoints.make_checkpoint()
    checkpoints.deliver_pending()
    return signed


def test_the_verifier_re_derives_every_answer_between_the_changes(bundled, history, tmp_path):
    for k in range(8):
        answer = as_of(between(k), proof="1")
        assert answer["proof"]["account_seqs"] == answer["replayed"]
        code, out = verify(bundled, answer, tmp_path)
        assert code == 0, (k, out)
        assert out.startswith(f"OK: the as-of answer for account {DAVID} at ")
        assert f"the account's {len(answer['replayed'])} listed entries are all there" in out
        assert "the campaign's rules (no campaign entry in the log) are as stated" in out


def test_a_call_s_bundle_verifies(bundled, history, tmp_path):
    body = {"callid": "dialled-2", "AccountNumber": DAVID, "AgentID": "otheragent"}
    created = client_for("dialer").post(
        "/api/lcm/calls/", {**body, "StartTime": between(6).isoformat()}, format="json"
    )
    assert created.status_code == 201, created.content
    answer = client_for("auditor").get("/api/lcm/calls/dialled-2/as-dialled/?proof=1").json()
    assert answer["DNCContact"] is True
    code, out = verify(bundled, answer, tmp_path)
    assert code == 0, out


def tampered(answer, change):
    copy = json.loads(json.dumps(answer))
    change(copy)
    return copy


def entry_of(answer, seq):
    return next(e for e in answer["proof"]["entries"] if e["seq"] == seq)


def test_the_verifier_refuses_an_entry_removed_altered_or_reordered(bundled, history, tmp_path):
    s = history
    answer = as_of(between(2), proof="1")  # consent granted, the number blocked
    assert verify(bundled, answer, tmp_path)[0] == 0
    entries = answer["proof"]["entries"]

    def drop(seq):
        return lambda a: a["proof"]["entries"].remove(entry_of(a, seq))

    def drop_everywhere(seq):
        def change(a):
            drop(seq)(a)
            a["proof"]["account_seqs"].remove(seq)
            a["replayed"].remove(seq)

        return change

    def alter_consent(a):
        after = entry_of(a, s["consent"])["personal"]["modes"]["value"][0]["after"]
        after["pewc"] = False

    def alter_time(a):
        entry_of(a, s["block"])["entry"]["created_at"] = "2026-03-14T14:25:00.000000Z"

    def swap(a):
        first, second = a["proof"]["entries"][0], a["proof"]["entries"][1]
        a["proof"]["entries"][0], a["proof"]["entries"][1] = second, first

    def answer_lies(a):
        mode(a)["PEWC"] = False

    def set_by_lies(a):
        mode(a)["set_by"]["PEWC"] = s["import"]

    def forged(a):
        a["proof"]["checkpoint"]["root_hash"] = "0" * 64

    cases = {
        "an account entry removed": (drop(s["consent"]), "which the bundle lists, is missing"),
        "removed with its seq": (drop_everywhere(s["consent"]), "the answer says PEWC True"),
        "the block removed": (drop(s["block"]), "the answer says DNCNumber True"),
        # Format 3 (every entry written since 0026): one digest seals the values together.
        "a value altered": (alter_consent, "are not those entry"),
        "a field altered": (alter_time, "does not match its hash"),
        "reordered": (swap, "not in seq order"),
        "the answer altered": (answer_lies, "the answer says PEWC False; the entries give True"),
        "who set it altered": (set_by_lies, "PEWC was set by"),
        "the checkpoint forged": (forged, "signature does not verify"),
    }
    assert len(entries) >= 2
    for name, (change, reason) in cases.items():
        code, out = verify(bundled, tampered(answer, change), tmp_path, name="t.json")
        assert code == 1, (name, out)
        assert out.startswith("FAILED: ") and reason in out, (name, out)


def sealed_as_format3(upto: int) -> None:
    """Entries #1 to #`upto` as lcm sealed them from migration 0026 to 0030
    (format 3: `seal3`, each linked to the one before), the chain head moved
    to match: a log written before 0030, to which today's code appends
    format 4. The triggers are off for the rewrite only."""
    from django.db import connection

    from lcm.audit import compute_hash, seal
    from lcm.audit import triggers as audit_triggers
    from lcm.models import AuditChainHead

    audit_triggers.uninstall(connection)
    previous = "0" * 64
    for entry in ModeChange.objects.filter(seq__lte=upto).order_by("seq"):
        entry.prev_hash = previous
        entry.hash = previous = compute_hash(entry, seal.seal3(entry))
        ModeChange.objects.filter(pk=entry.pk).update(
            version=3, salt=entry.salt, prev_hash=entry.prev_hash, hash=entry.hash
        )
    assert not ModeChange.objects.filter(seq__gt=upto).exists()
    AuditChainHead.objects.filter(pk=1).update(hash=previous)
    audit_triggers.install(connection)


def test_a_bundle_of_format_3_and_format_4_entries_verifies(signed, history, clock, tmp_path):
    """The as-of bundle carries each entry as its format gives it (format 3
    ones written before migration 0030, format 4 ones after), and the offline
    verifier's --as-of checks each by its own layout."""
    from lcm import audit
    from lcm.audit import checkpoints

    sealed_as_format3(last_seq())
    assert audit.verify_chain().ok
    clock.shift(STEP)  # T0+90: consent granted again, in format 4
    david = Account.objects.get(account_number=DAVID)
    supervisor.change_mode_settings(
        account_id=david.pk, mode_id=2, consent=True, time_zone="", window=None,
        actor=user("supervisor"), expected_seq=None,
    )  # fmt: skip
    report = audit.verify_chain()
    assert report.ok and (report.format3_from, report.format4_from) == (1, last_seq())
    checkpoints.make_checkpoint()
    checkpoints.deliver_pending()

    clock.shift(STEP)
    answer = as_of(T0 + 10 * STEP, proof="1")  # now: every entry above
    versions = [e["entry"]["v"] for e in answer["proof"]["entries"]]
    assert set(versions) == {3, 4} and versions[-1] == 4
    personal = [len(e["personal"]) for e in answer["proof"]["entries"] if "personal" in e]
    assert set(personal) == {7, 8}  # format 3 discloses 7 values, format 4 eight
    assert mode(answer)["PEWC"] is True
    code, out = verify(signed, answer, tmp_path)
    assert code == 0, out
    assert out.startswith(f"OK: the as-of answer for account {DAVID} at ")

    def as_format4(a):  # a format 3 entry that claims format 4
        next(e for e in a["proof"]["entries"] if e["entry"]["v"] == 3)["entry"]["v"] = 4

    def format3_discloses_more(a):
        first = next(e for e in a["proof"]["entries"] if e["entry"]["v"] == 3)
        salt = next(iter(first["personal"].values()))["salt"]
        first["personal"]["business_fields"] = {"value": None, "salt": salt}

    for change, reason in [
        (as_format4, "does not match its hash"),
        (format3_discloses_more, "a format 3 entry seals no personal value business_fields"),
    ]:
        code, out = verify(signed, tampered(answer, change), tmp_path, name="t.json")
        assert code == 1 and reason in out, out


def test_a_tampered_stored_node_fails_the_bundle_against_the_signed_root(
    bundled, history, tmp_path
):
    """The bundle's proofs read the stored subtrees: one edited in the
    database is never trusted, the verifier refuses the proof it is in."""
    from lcm.audit import append_entries, checkpoints
    from lcm.models import AuditTreeNode

    other = Account.objects.exclude(account_number=DAVID).first()
    append_entries(  # 64 entries on another account: stored nodes beside David's
        [
            ModeChange(action="import", account=other, account_number=other.account_number,
                       source="import", mode_id=1, new_number=f"3005{i:06d}")
            for i in range(64)
        ]
    )  # fmt: skip
    checkpoints.make_checkpoint()
    answer = as_of(between(2), proof="1")
    assert verify(bundled, answer, tmp_path)[0] == 0
    # A stored node beside the subtree of one of the entries: in its proof.
    entry, node = next(
        (e, n)
        for e in answer["proof"]["entries"]
        for level in range(4, 32)
        for n in AuditTreeNode.objects.filter(level=level, index=(e["leaf_index"] >> level) ^ 1)
    )
    AuditTreeNode.objects.filter(pk=node.pk).update(hash="ee" * 32)

    bad = as_of(between(2), proof="1")
    assert "ee" * 32 in entry_of(bad, entry["seq"])["inclusion_proof"]
    code, out = verify(bundled, bad, tmp_path, name="t.json")
    assert code == 1
    assert out.startswith("FAILED: ") and "does not lead to the checkpoint's root" in out, out


# --- Erasure -------------------------------------------------------------------------


def test_an_erased_account_answers_what_the_erasure_left_and_says_so(bundled, history, clock,
                                                                     tmp_path):  # fmt: skip
    clock.shift(STEP)
    call_command("erase_contact", DAVID, reason="Request ER-2026-117", stdout=io.StringIO())
    answer = as_of(between(2), proof="1")

    assert answer["erased"].startswith("erased on 2026-03-14 by ")
    assert answer["erased"].endswith(": Request ER-2026-117")
    assert answer["Contactmodes"], "the modes the entries touched are still named"
    for element in answer["Contactmodes"]:
        assert (element["CValue"], element["E164"], element["PEWC"]) == (None, None, None)
        assert (element["DNC"], element["Callable"]) == (None, None)
        assert element["Reason"].startswith("erased")
    text = json.dumps(answer)  # the bundle included: no personal value left to show
    for number in ("2025550143", "6491462346", "2025550177"):
        assert number not in text
    entries = answer["proof"]["entries"]
    mine = [e for e in entries if e["entry"]["account_id"] == answer["proof"]["account_id"]]
    assert mine and all("personal" not in e and e["erased"] for e in mine)
    code, out = verify(bundled, answer, tmp_path)
    assert code == 0, out
    assert "the account was erased: its modes' values are gone, as the answer says" in out


# --- The console (test client; the walk in Chromium: tests/test_browser_as_of.py) ----


def console(who="auditor"):
    from django.test import Client

    client = Client()
    client.force_login(user(who))
    return client


def test_the_console_shows_an_account_as_of_an_instant_read_only(history):
    from django.urls import reverse

    david = Account.objects.get(account_number=DAVID)
    page = console().get(reverse("admin:lcm_account_change", args=[david.pk]))
    assert page.status_code == 200
    assert b'id="as-of-form"' in page.content
    url = reverse("admin:lcm_account_as_of", args=[david.pk])
    blocked = console().get(url, {"at": "2026-03-14T14:25:00"})  # the floor is UTC in tests
    assert blocked.status_code == 200
    text = blocked.content.decode()
    assert "As the audit log says it was at" in text and "2026-03-14 14:25:00 UTC" in text
    row = text[text.index('data-mode-id="2"') :]
    row = row[: row.index("</tr>")]
    assert "yes, this number" in row and "no — on the do-not-call list" in row
    assert "2026-03-14 10:25 EDT" in row  # the callee's time then
    assert f"entry #{history['block']}</a>: do-not-call (number)" in row
    assert "<form" not in text.split('id="as-of"')[1]  # read-only: no action on the answer

    for bad, message in [
        ("soon", "Enter a date and a time"),
        ("2026-03-15T10:00", "is in the future"),
        ("2026-03-14T13:00", "The account did not exist yet at 2026-03-14 13:00:00 UTC"),
    ]:
        refused = console().get(url, {"at": bad})
        assert refused.status_code == 200 and message in refused.content.decode()


def test_the_call_page_says_what_we_knew_when_it_was_dialled(history):
    from django.urls import reverse

    call = client_for("dialer").post(
        "/api/lcm/calls/",
        {"callid": "c-1", "AccountNumber": DAVID, "AgentID": "otheragent",
         "StartTime": between(6).isoformat()},
        format="json",
    )  # fmt: skip
    assert call.status_code == 201, call.content
    from lcm.models import Call

    page = console("supervisor").get(
        reverse("admin:lcm_call_change", args=[Call.objects.get(callid="c-1").pk])
    )
    text = page.content.decode()
    assert "What we knew when this was dialled" in text
    assert "The whole contact was on the do-not-call list" in text
    assert f"entry #{history['contact']}" in text


def test_a_staff_user_who_may_not_read_the_log_gets_neither(history):
    from django.contrib.auth.models import Permission
    from django.urls import reverse

    clerk = get_user_model().objects.create_user("clerk", password="x", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_account"))
    david = Account.objects.get(account_number=DAVID)
    client = console("clerk")
    page = client.get(reverse("admin:lcm_account_change", args=[david.pk]))
    assert page.status_code == 200 and b'id="as-of-form"' not in page.content
    refused = client.get(reverse("admin:lcm_account_as_of", args=[david.pk]), {"at": "x"})
    assert refused.status_code == 403


def test_the_bundle_s_batched_proofs_are_each_entry_s_own_proof(signed, history):
    """Across blocks of 16 leaves and the stored nodes above them, and at the
    tree's ragged right edge: as RFC 6962's recursion over the stored tree
    (`checkpoints.TreeReader`) gives them, and `GET /mode-changes/<seq>/proof/`."""
    from lcm.audit import as_of as replay
    from lcm.audit import checkpoints, merkle

    from .test_audit_proofs import bulk

    bulk(700)
    made = checkpoints.make_checkpoint()
    size = made.tree_size
    seqs = sorted({1, 2, 15, 16, 17, 33, 255, 256, 257, 300, 511, 512, 513, 600, size - 1, size})
    batched = replay.inclusion_proofs(seqs, size)
    for seq in seqs:
        # The reference: RFC 6962's recursion, a stored node or block per subtree.
        reader = checkpoints.TreeReader(size)
        one = [h.hex() for h in merkle.inclusion_proof(seq - 1, size, reader.subtree)]
        assert batched[seq] == one == checkpoints.inclusion_proof(seq, made), seq
