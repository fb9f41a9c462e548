"""`manage.py import_accounts` through the real command and database."""

import csv
import io
import itertools
import json
import re

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lcm import imports, inputs
from lcm.audit import GENESIS_HASH, compute_hash
from lcm.models import Account, Campaign, ContactMode, ModeChange
from lcm.numbers import NOT_A_NUMBER, TOO_SHORT

from .conftest import live_modes, snapshot
from .factories import UserFactory

pytestmark = pytest.mark.django_db

HEADER = "AccountNumber,FirstName,LastName,Campaign,Mode1,Mode2,Mode3\n"
TWO_ACCOUNTS = HEADER + (
    "1|1|1|0|0|44|1,Ada,Lovelace,Spring,2025550101,2025550102,\n"
    "1|1|2|0|0|44|1,Alan,Turing,Spring,+44 20 7946 0018,,(202) 555-0103\n"
)


def run(tmp_path, content, name="accounts.csv", *args):
    """Run the command; returns (exit status, stdout, stderr)."""
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_accounts", str(path), *args, stdout=out, stderr=err)
        status = 0
    except CommandError as exc:
        status = exc.returncode
        err.write(f"CommandError: {exc}\n")
    return status, out.getvalue(), err.getvalue()


def entries():
    return [
        (e.action, e.source, e.account_number, e.mode_id, e.old_number, e.new_number)
        for e in ModeChange.objects.exclude(source="seed_demo").order_by("seq")
    ]


def assert_chain_intact():
    chain = list(ModeChange.objects.order_by("seq"))
    assert [e.seq for e in chain] == list(range(1, len(chain) + 1))
    assert chain[0].prev_hash == GENESIS_HASH
    for prev, entry in itertools.pairwise(chain):
        assert entry.prev_hash == prev.hash
    for entry in chain:
        assert compute_hash(entry) == entry.hash


def test_one_row_is_counted_in_the_singular(demo, tmp_path):
    one = HEADER + "1|1|1|0|0|44|1,Ada,Lovelace,Spring,2025550101,,\nbroken\n"

    status, out, err = run(tmp_path, one)

    assert status == 1
    assert "accounts.csv: 1 row imported in " in out
    assert "(1 account created, 1 mode added); 1 rejected." in out
    assert "1 row rejected (listed above)." in err


def test_an_unknown_campaign_is_created_as_the_migration_makes_them_and_listed(demo, tmp_path):
    rows = HEADER + "1|1|1|0|0|44|1,Ada,Lovelace,Autumn,2025550101,,\n"

    status, out, err = run(tmp_path, rows)

    assert (status, err) == (0, "")
    assert "Campaigns created: Autumn" in out
    autumn = Campaign.objects.get(code="Autumn")
    assert (autumn.name, autumn.every_mode_type, autumn.requires_consent) == (
        "Autumn",
        True,
        False,
    )
    assert autumn.dnc_period_type == Campaign.DncPeriod.PERMANENT
    assert Account.objects.get(account_number="1|1|1|0|0|44|1").campaign_id == "Autumn"

    status, out, _ = run(tmp_path, rows)  # named again: it exists now
    assert status == 0 and "Campaigns created" not in out


def test_a_csv_creates_accounts_and_modes_and_audits_every_mode(demo, tmp_path):
    status, out, err = run(tmp_path, TWO_ACCOUNTS)

    assert (status, err) == (0, "")
    assert "2 rows imported" in out and "0 rejected" in out
    ada = Account.objects.get(account_number="1|1|1|0|0|44|1")
    assert (ada.first_name, ada.last_name, ada.campaign_id) == ("Ada", "Lovelace", "Spring")
    assert "Campaigns created" not in out  # Spring is the demo's
    assert live_modes("1|1|1|0|0|44|1") == {1: "2025550101", 2: "2025550102"}
    assert live_modes("1|1|2|0|0|44|1") == {1: "+442079460018", 3: "2025550103"}
    alan_mobile = ContactMode.objects.get(account__account_number="1|1|2|0|0|44|1", mode_type=3)
    assert (alan_mobile.number_as_given, alan_mobile.changed_by) == ("(202) 555-0103", "import")
    assert entries() == [
        ("import", "import", "1|1|1|0|0|44|1", 1, "", "2025550101"),
        ("import", "import", "1|1|1|0|0|44|1", 2, "", "2025550102"),
        ("import", "import", "1|1|2|0|0|44|1", 1, "", "+442079460018"),
        ("import", "import", "1|1|2|0|0|44|1", 3, "", "2025550103"),
    ]
    entry = ModeChange.objects.exclude(source="seed_demo").order_by("seq").first()
    assert (entry.call, entry.callid, entry.agent, entry.user, entry.username) == (
        None,
        "",
        None,
        None,
        "",
    )
    assert_chain_intact()


def test_re_importing_the_same_file_writes_nothing(demo, tmp_path):
    run(tmp_path, TWO_ACCOUNTS)
    before = snapshot(), list(Account.objects.values())

    status, out, err = run(tmp_path, TWO_ACCOUNTS)

    assert (status, err) == (0, "")
    # Nothing happened: the summary names no count of zero (issue 29, "0 renamed").
    assert "2 rows imported in" in out and "; 0 rejected." in out and "created" not in out
    assert (snapshot(), list(Account.objects.values())) == before


def test_a_re_import_that_changes_one_number_audits_it_and_leaves_the_rest(demo, tmp_path):
    run(tmp_path, TWO_ACCOUNTS)
    ContactMode.objects.filter(number="2025550102").update(has_consent=True)
    untouched = list(ContactMode.objects.exclude(number="2025550101").order_by("pk").values())
    changed = TWO_ACCOUNTS.replace("2025550101", "202-555-0198")

    status, out, _ = run(tmp_path, changed, "again.csv", "--user", "admin")

    assert status == 0
    assert "(1 mode changed)" in out
    assert live_modes("1|1|1|0|0|44|1") == {1: "2025550198", 2: "2025550102"}
    assert list(ContactMode.objects.exclude(number="2025550198").order_by("pk").values()) == (
        untouched
    )
    new = ModeChange.objects.order_by("-seq").first()
    assert ModeChange.objects.exclude(source="seed_demo").count() == 5
    assert (new.action, new.source, new.account_number, new.mode_id) == (
        "import",
        "import",
        "1|1|1|0|0|44|1",
        1,
    )
    assert (new.old_number, new.new_number, new.username, new.user.username) == (
        "2025550101",
        "2025550198",
        "admin",
        "admin",
    )
    mode = ContactMode.objects.get(number="2025550198")
    assert (mode.number_as_given, mode.has_consent, mode.changed_by) == (
        "202-555-0198",
        False,
        "admin",
    )
    assert_chain_intact()


def test_an_existing_contact_is_updated_and_an_empty_cell_keeps_its_mode(demo, tmp_path):
    content = "accountnumber,LASTNAME,home,Office,Mobile\n5|3|1|0|0|44|1,Berry-Smith,,2025550144,\n"

    status, _, _ = run(tmp_path, content)

    assert status == 0
    david = Account.objects.get(account_number="5|3|1|0|0|44|1")
    assert (david.first_name, david.last_name) == ("David", "Berry-Smith")
    assert live_modes("5|3|1|0|0|44|1") == {1: "6491462346", 2: "2025550144"}
    assert entries() == [("import", "import", "5|3|1|0|0|44|1", 2, "2025550143", "2025550144")]


def test_bad_rows_are_reported_with_their_line_and_the_good_ones_imported(demo, tmp_path):
    content = HEADER + (
        "2|0|0|0|0|44|1,Good,One,,2025550101,,\n"
        "2|0|0|0|0|44|2,Bad,Number,,12,abc,\n"
        ",No,Key,,2025550102,,\n"
        "2|0|0|0|0|44|3,Do,NotCall,,2025550199,,\n"
        "2|0|0|0|0|44|4,Too,Few\n"
        "2|0|0|0|0|44|5,Good,Two,,,,2025550105\n"
    )

    status, out, err = run(tmp_path, content, "mixed.csv", "--batch-size", "2")

    assert status == 1
    assert "2 rows imported" in out and "4 rejected" in out
    short = TOO_SHORT.format(n=2, mode="Home", min=3)
    assert err.splitlines()[:4] == [
        f"line 3 (AccountNumber 2|0|0|0|0|44|2): Mode1: {short}; Mode2: {NOT_A_NUMBER}",
        f"line 4: {imports.MISSING_ACCOUNT}",
        "line 5 (AccountNumber 2|0|0|0|0|44|3): "
        "Mode1: Number 2025550199 is on the do-not-call list.",
        "line 6 (AccountNumber 2|0|0|0|0|44|4): "
        + imports.WRONG_FIELD_COUNT.format(n=3, expected=7),
    ]
    assert "4 rows rejected" in err
    assert set(Account.objects.values_list("account_number", flat=True)) == {
        "5|3|1|0|0|44|1",
        "596|485|587|0|0|44|59",
        "2|0|0|0|0|44|1",
        "2|0|0|0|0|44|5",
    }
    assert ModeChange.objects.exclude(source="seed_demo").count() == 2


def test_every_row_rejected_exits_2(demo, tmp_path):
    status, out, err = run(tmp_path, HEADER + "3|3|3,A,B,,1,,\n")

    assert status == 2
    assert "0 rows imported" in out
    assert "line 2 (AccountNumber 3|3|3): Mode1:" in err
    assert not Account.objects.filter(account_number="3|3|3").exists()


def test_the_same_account_twice_in_a_batch_applies_both_in_file_order(demo, tmp_path):
    content = HEADER + "4|4|4,A,B,,2025550101,,\n4|4|4,A,B,,2025550102,,\n"

    status, _, _ = run(tmp_path, content)

    assert status == 0
    assert live_modes("4|4|4") == {1: "2025550102"}
    assert entries() == [
        ("import", "import", "4|4|4", 1, "", "2025550101"),
        ("import", "import", "4|4|4", 1, "2025550101", "2025550102"),
    ]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", imports.EMPTY_FILE),
        ("\n \n", imports.EMPTY_FILE),
        (HEADER, imports.NO_ROWS),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", imports.BINARY_FILE),
        ("AccountNumber,Mode1\n".encode("utf-16"), imports.BINARY_FILE),
        ("FirstName,Mode1\nAda,2025550101\n", imports.NO_ACCOUNT_COLUMN),
        (
            "AccountNumber,Hme\n1,2025550101\n",
            imports.UNKNOWN_COLUMN.format(
                name="Hme",
                known="AccountNumber, FirstName, LastName, Campaign, Country, TimeZone, "
                "ZipCode, Mode1 or Home, Mode2 or Office, Mode3 or Mobile (each followed by "
                "PEWC for its consent, e.g. Mode1PEWC)",
            ),
        ),
        (
            "AccountNumber,Mode1,Home\n1,2025550101,2025550102\n",
            imports.DUPLICATE_COLUMN.format(name="Home", other="Mode1"),
        ),
        (
            "AccountNumber,Mode7\n1,2025550101\n",
            imports.UNDEFINED_MODE.format(name="Mode7", mode_id=7),
        ),
        ("AccountNumber,,Mode1\n1,,2025550101\n", imports.UNNAMED_COLUMN.format(n=2)),
    ],
    ids=[
        "empty",
        "blank",
        "header-only",
        "binary",
        "utf-16",
        "no-key-column",
        "unknown-column",
        "duplicate-column",
        "undefined-mode",
        "unnamed-column",
    ],
)
def test_a_file_that_cannot_be_read_imports_nothing_and_exits_2(demo, tmp_path, content, expected):
    before = snapshot(), Account.objects.count()

    status, _, err = run(tmp_path, content)

    assert status == 2
    assert expected in err
    assert (snapshot(), Account.objects.count()) == before


def test_broken_quoting_stops_the_import_at_its_line_keeping_the_rows_before(demo, tmp_path):
    content = HEADER + '5|5|1,A,B,,2025550101,,\n5|5|2,"A"x,B,,2025550102,,\n5|5|3,A,B,,,,\n'

    status, _, err = run(tmp_path, content)

    assert status == 1
    assert "Line 3: malformed CSV" in err and "reading stopped here" in err
    assert live_modes("5|5|1") == {1: "2025550101"}
    assert not Account.objects.filter(account_number__in=["5|5|2", "5|5|3"]).exists()


def test_a_row_in_another_encoding_is_rejected_and_encoding_can_be_given(demo, tmp_path):
    content = (HEADER + "6|6|1,José,Núñez,,2025550101,,\n6|6|2,Ana,B,,2025550102,,\n").encode(
        "latin-1"
    )

    status, _, err = run(tmp_path, content)

    assert status == 1
    assert err.splitlines()[0] == "line 2 (AccountNumber 6|6|1): " + "; ".join(
        imports.UNDECODABLE.format(column=c, encoding="utf-8") for c in ("FirstName", "LastName")
    )
    assert live_modes("6|6|2") == {1: "2025550102"}

    status, _, _ = run(tmp_path, content, "latin.csv", "--encoding", "latin-1")

    assert status == 0
    assert Account.objects.get(account_number="6|6|1").last_name == "Núñez"


def test_undecodable_bytes_in_a_report_are_shown_as_replacement_characters(demo, tmp_path):
    content = HEADER.encode() + "6|6|\xe9,A\n".encode("latin-1")

    status, _, err = run(tmp_path, content)

    assert status == 2
    assert err.splitlines()[0] == "line 2 (AccountNumber 6|6|\ufffd): " + (
        imports.WRONG_FIELD_COUNT.format(n=2, expected=7)
    )


def test_a_utf8_bom_and_a_semicolon_delimiter_are_understood(demo, tmp_path):
    content = "\ufeffAccountNumber;Mode1\n7|7|1;2025550101\n"

    status, _, _ = run(tmp_path, content, "excel.csv", "--delimiter", ";")

    assert status == 0
    assert live_modes("7|7|1") == {1: "2025550101"}


def test_json_lines_import_with_the_same_fields_and_per_line_errors(demo, tmp_path):
    lines = [
        json.dumps({"AccountNumber": "8|8|1", "FirstName": "Ada", "Mode1": "2025550101"}),
        "",
        "{not json",
        json.dumps(["8|8|2"]),
        json.dumps({"AccountNumber": "8|8|3", "Mode1": 2025550103}),
        json.dumps({"AccountNumber": "8|8|4", "Hme": "2025550104"}),
        json.dumps({"AccountNumber": "8|8|5", "Office": "2025550105", "Mobile": None}),
    ]

    status, out, err = run(tmp_path, "\n".join(lines) + "\n", "accounts.jsonl")

    assert status == 1
    assert "2 rows imported" in out
    rejected = err.splitlines()
    assert rejected[0].startswith("line 3: not valid JSON (")
    assert rejected[1] == f"line 4: {imports.NOT_AN_OBJECT}"
    assert rejected[2] == "line 5 (AccountNumber 8|8|3): " + imports.NOT_A_STRING.format(
        column="Mode1"
    )
    assert rejected[3].startswith("line 6 (AccountNumber 8|8|4): Unknown column 'Hme'.")
    assert live_modes("8|8|1") == {1: "2025550101"}
    assert live_modes("8|8|5") == {2: "2025550105"}
    assert Account.objects.get(account_number="8|8|1").first_name == "Ada"


def test_format_flag_overrides_the_extension_and_unknown_extensions_are_refused(demo, tmp_path):
    content = json.dumps({"AccountNumber": "9|9|1", "Mode1": "2025550101"}) + "\n"

    status, _, err = run(tmp_path, content, "accounts.txt")
    assert status == 2 and "--format csv|jsonl" in err

    status, _, _ = run(tmp_path, content, "accounts.txt", "--format", "jsonl")
    assert status == 0
    assert live_modes("9|9|1") == {1: "2025550101"}


def test_a_missing_file_or_unknown_user_exits_2(demo, tmp_path):
    with pytest.raises(CommandError) as missing:
        call_command("import_accounts", str(tmp_path / "nope.csv"), stderr=io.StringIO())
    assert missing.value.returncode == 2
    assert "No such file" in str(missing.value)

    status, _, err = run(tmp_path, TWO_ACCOUNTS, "a.csv", "--user", "nobody")
    assert status == 2 and "Unknown user 'nobody'" in err


def test_progress_is_printed_on_long_files(demo, tmp_path):
    rows = "".join(f"10|{n},A,B,,20255{n:05d},,\n" for n in range(25))

    status, out, _ = run(tmp_path, HEADER + rows, "long.csv", "--progress-every", "10")

    assert status == 0
    progress = [line for line in out.splitlines() if "rows read" in line]
    assert [line.split(" rows read")[0] for line in progress] == ["10", "20"]


def test_progress_lines_say_how_much_is_left(demo, tmp_path):
    rows = "".join(f"10|{n},A,B,,20255{n:05d},,\n" for n in range(20))

    status, out, _ = run(tmp_path, HEADER + rows, "long.csv", "--progress-every", "10")

    first = next(line for line in out.splitlines() if "rows read" in line)
    assert status == 0
    assert re.fullmatch(
        r"10 rows read \(\d+% of the file\): \d+ imported, 0 rejected "
        r"\([\d,]+ rows/s, \d+:\d\d left\)",
        first,
    ), first


class Terminal(io.StringIO):
    """Standard output that says it is a terminal, as a shell's is."""

    def isatty(self) -> bool:
        return True


def test_on_a_terminal_a_progress_bar_is_drawn_in_place(demo, tmp_path):
    path = tmp_path / "bar.csv"
    path.write_text(HEADER + "".join(f"12|{n},A,B,,20257{n:05d},,\n" for n in range(30)))
    out, err = Terminal(), io.StringIO()

    call_command("import_accounts", str(path), stdout=out, stderr=err)

    text = out.getvalue()
    bar, summary = text.rsplit("\n", 2)[:2]
    assert bar.startswith("\r[")
    assert re.search(r"\r\[#{30}\] 100%  30 rows  [\d,]+ rows/s  0:00 left $", bar), bar
    assert "30 rows imported" in summary
    assert "rows read" not in text  # the bar replaces the periodic lines


def test_rejected_rows_do_not_run_into_the_bar(demo, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "13|1,A,B,,call-me,,\n13|2,A,B,,2025551234,,\n")
    out, err = Terminal(), io.StringIO()

    with pytest.raises(CommandError):
        call_command("import_accounts", str(path), stdout=out, stderr=err)

    assert "\r\x1b[K" in out.getvalue()  # the bar's line cleared first
    assert err.getvalue().startswith("line 2 (AccountNumber 13|1)")


def test_a_batch_costs_the_same_queries_whatever_its_size(demo, tmp_path):
    """Bounded work per batch: no query per row (the bench measures speed)."""

    def queries(n, start):
        rows = "".join(
            f"11|{start + i},A,B,,20255{start + i:05d},20256{i:05d},\n" for i in range(n)
        )
        with CaptureQueriesContext(connection) as ctx:
            run(tmp_path, HEADER + rows, f"q{n}.csv")
        return len(ctx.captured_queries)

    assert queries(5, 0) == queries(15, 100)


def test_import_entries_and_set_new_mode_number_share_one_chain(demo, tmp_path, agent_client):
    run(tmp_path, TWO_ACCOUNTS)
    from .conftest import WEBSERVICE, set_mode_body

    response = agent_client.post(WEBSERVICE, set_mode_body(), format="json")
    run(tmp_path, TWO_ACCOUNTS.replace("2025550102", "2025550112"), "b.csv")

    assert response.status_code == 200
    assert [e[0] for e in entries()] == ["import"] * 4 + ["set", "import"]
    assert_chain_intact()


def test_the_user_option_attributes_the_import(demo, tmp_path):
    loader = UserFactory(username="loader")
    loader.user_permissions.add(Permission.objects.get(codename="import_accounts"))

    run(tmp_path, TWO_ACCOUNTS, "a.csv", "--user", "loader")

    assert set(
        ModeChange.objects.exclude(source="seed_demo").values_list("username", "user__username")
    ) == {("loader", "loader")}


def test_an_import_cannot_be_attributed_to_a_user_who_may_not_import(demo, tmp_path):
    UserFactory(username="visitor")
    before = snapshot()

    status, _, err = run(tmp_path, TWO_ACCOUNTS, "a.csv", "--user", "visitor")

    assert status == 2
    assert "You may not import accounts (lcm.import_accounts)." in err
    assert snapshot() == before


def test_an_over_long_cell_costs_its_row_only_and_the_import_goes_on(demo, tmp_path):
    """A 1 MB cell used to end reading ("field larger than field limit");
    it is one rejected row now, quoted over several lines or not."""
    huge = "x" * 1_000_000
    content = HEADER + (
        "6|0|1,Good,One,,2025550101,,\n"  # line 2
        f"6|0|2,{huge},Two,,2025550102,,\n"  # line 3
        "6|0|3,Good,Three,,2025550103,,\n"  # line 4
        f'6|0|4,"{huge}\n6|0|9,Not,A,,2025550109,,\n'  # lines 5-7: one row, its
        'still ""the"" quoted cell",Four,,2025550104,,\n'  # cell spans three lines
        "6|0|5,Good,Five,,2025550105,,\n"  # line 8
    )

    status, out, err = run(tmp_path, content)

    too_long = imports.CELL_TOO_LONG.format(limit=csv.field_size_limit())
    assert status == 1
    assert err.splitlines()[:2] == [f"line 3: {too_long}", f"line 5: {too_long}"]
    assert "3 rows imported" in out and "2 rejected" in out
    assert {a: live_modes(a) for a in ["6|0|1", "6|0|3", "6|0|5"]} == {
        "6|0|1": {1: "2025550101"},
        "6|0|3": {1: "2025550103"},
        "6|0|5": {1: "2025550105"},
    }
    assert not Account.objects.filter(account_number__in=["6|0|2", "6|0|4", "6|0|9"]).exists()


@pytest.mark.parametrize(
    ("value", "problem"),
    [("Ann\\u0000", inputs.NUL_CHARACTER), ("Ann\\ud800", None)],
)
def test_a_json_lines_value_no_database_can_store_rejects_its_row(demo, tmp_path, value, problem):
    content = (
        '{"AccountNumber": "6|1|1", "FirstName": "' + value + '", "Mode1": "2025550111"}\n'
        '{"AccountNumber": "6|1|2", "FirstName": "Bob", "Mode1": "2025550112"}\n'
    )
    before_entries = ModeChange.objects.count()

    status, _, err = run(tmp_path, content, "people.jsonl")

    problem = problem or inputs.UNPAIRED_SURROGATE.format(codepoint="U+D800")
    assert status == 1
    assert err.splitlines()[0] == f"line 1 (AccountNumber 6|1|1): FirstName: {problem}"
    assert not Account.objects.filter(account_number="6|1|1").exists()
    assert live_modes("6|1|2") == {1: "2025550112"}
    assert ModeChange.objects.count() == before_entries + 1


def test_any_of_selects_what_in_selects_with_one_parameter_on_postgresql(demo):
    """The batch lookups' `any_of` (lcm.bulk.AnyOf): the rows `__in` gives,
    including none for an empty list, a field or a relation; on PostgreSQL
    the list travels as one array parameter."""
    keys = list(Account.objects.values_list("account_number", flat=True))
    ids = list(Account.objects.values_list("pk", flat=True))

    assert set(Account.objects.filter(account_number__any_of=keys)) == set(Account.objects.all())
    assert not Account.objects.filter(account_number__any_of=[]).exists()
    assert set(ContactMode.objects.filter(account_id__any_of=ids[:1])) == set(
        ContactMode.objects.filter(account_id__in=ids[:1])
    )
    assert not ContactMode.objects.filter(account_id__any_of=[]).exists()
    sql, params = Account.objects.filter(account_number__any_of=keys).query.sql_with_params()
    if connection.vendor == "postgresql":
        assert "= ANY(string_to_array(" in sql and params == ("\x1f".join(keys),)
    else:
        assert len(params) == len(keys)
    # Texts holding the separator (one text parameter on PostgreSQL) and
    # ints select as `__in` does too.
    odd = Account.objects.create(
        account_number="A\x1fB", campaign_id=Account.objects.first().campaign_id
    )
    assert list(Account.objects.filter(account_number__any_of=["A\x1fB", "A"])) == [odd]
    assert list(Account.objects.filter(account_number__any_of=["A", "B"])) == []
    assert set(ContactMode.objects.filter(account_id__any_of=ids)) == set(
        ContactMode.objects.filter(account_id__in=ids)
    )


def test_a_negative_progress_interval_is_refused_before_anything_is_read(demo, tmp_path):
    before = snapshot()

    status, _, err = run(tmp_path, TWO_ACCOUNTS, "a.csv", "--progress-every", "-5")

    assert status == 2
    assert "--progress-every must be 0 (no progress) or a number of rows." in err
    assert snapshot() == before
