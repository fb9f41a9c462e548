"""ComplianceCheck's "the number's geography" (lcm/actions/compliance.py)
answers from lcm/data/us_prefix_states.json, not from phonenumbers'
geocoder at run time (which holds ~100 MiB of every country's descriptions in
each process). These tests keep the table true to the installed phonenumbers:
derived again, it is the file; and for a number under every `+1` prefix of
the geocoder's data the look-up answers the state the geocoder's own
description names."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import phonenumbers
from phonenumbers import geocoder
from phonenumbers.geodata import GEOCODE_DATA

from lcm.actions import compliance

from .processes import manage, production_env

ROOT = Path(__file__).resolve().parent.parent


def _tool():
    spec = importlib.util.spec_from_file_location(
        "us_prefix_states", ROOT / "tools" / "us_prefix_states.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = _tool()


def test_the_table_is_what_the_installed_phonenumbers_gives():
    shipped = json.loads((ROOT / "lcm" / "data" / "us_prefix_states.json").read_text())
    assert shipped["prefixes"] == tool.derive(), (
        "phonenumbers' data changed: run .venv/bin/python tools/us_prefix_states.py"
    )
    assert shipped["phonenumbers"] == phonenumbers.__version__


def _by_geocoder(e164: str) -> str:
    """What the code before the table answered: the geocoder's description,
    read as a state."""
    number = phonenumbers.parse(e164, None)
    if phonenumbers.region_code_for_number(number) != "US":
        return ""
    return tool.state_of_place(geocoder.description_for_number(number, "en"))


def test_the_look_up_answers_as_the_geocoder_under_every_prefix():
    compared = named = 0
    for prefix in (p for p in GEOCODE_DATA if p.startswith("1")):
        for tail in ("0000000000", "5550100000", "2345678901", "9999999999"):
            e164 = "+" + (prefix + tail)[:11]
            try:
                expected = _by_geocoder(e164)
            except phonenumbers.NumberParseException:
                continue
            assert compliance._state_of_number(e164) == expected, e164
            compared += 1
            named += expected != ""
    # Not a comparison of empty answers: most US numbers are named a state.
    assert compared > 100_000 and named > 50_000, (compared, named)
    assert compliance._state_of_number("+12025550143") == "DC"
    assert compliance._state_of_number("+12145550143") == "TX"
    assert compliance._state_of_number("+18005550143") == ""  # toll free: no geography
    assert compliance._state_of_number("+14165550143") == ""  # Toronto: not US
    assert compliance._state_of_number("+442071838750") == ""


def test_no_process_loads_the_geocoder(tmp_path):
    """A production process that loads lcm (its URLs, the console, every
    action) and answers a number's state never imports phonenumbers.geocoder."""
    code = (
        "import sys\n"
        "from django.urls import get_resolver; get_resolver().url_patterns\n"
        "from lcm.actions import compliance\n"
        "assert compliance._state_of_number('+12025550143') == 'DC'\n"
        "print('phonenumbers.geocoder' in sys.modules, 'phonenumbers.geodata' in sys.modules)\n"
    )
    env = production_env(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    done = manage(env, "shell", "--no-imports", "-c", code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"]
