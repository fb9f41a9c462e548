"""Writes lcm/data/us_prefix_states.json: the US state of each NANP number
prefix, as phonenumbers' geocoder names it, for ComplianceCheck's
"the number's geography" (lcm/actions/compliance.py).

    .venv/bin/python tools/us_prefix_states.py      # after upgrading phonenumbers

Why a table and not the geocoder at run time: `phonenumbers.geocoder` loads
the descriptions of every prefix of every country in every language (about
100 MiB of resident memory) into each process that imports it, the web
workers and the job worker included, to answer a two-letter state for a
`+1` number. The table keeps only the `+1` prefixes' English descriptions,
read as a state exactly as the geocoder's description is read
(`state_of_place`), and drops a prefix whose nearest shorter prefix in the
table already gives the same state, so the longest-prefix look-up answers
what the geocoder's would. tests/test_compliance_geography.py derives the
table again from the installed phonenumbers and compares, and compares the
look-up with the geocoder on a number under every prefix.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import us

OUT = Path(__file__).resolve().parent.parent / "lcm" / "data" / "us_prefix_states.json"


def state_of_place(place: str) -> str:
    """The state a geocoder description names ("Mountain View, CA",
    "New Jersey", "Washington D.C."); "" when it names none."""
    if not place:
        return ""
    if place.replace(",", "").replace(".", "").strip().lower() == "washington dc":
        return "DC"
    state = us.states.lookup(place.rsplit(",", 1)[-1].strip())
    return state.abbr if state is not None else ""


def derive() -> dict[str, str]:
    """{prefix (digits after +, starting with 1): state} for phonenumbers'
    installed data; only the prefixes a longest-prefix look-up needs."""
    from phonenumbers.geodata import GEOCODE_DATA

    full = {
        prefix: state_of_place(names["en"])
        for prefix, names in GEOCODE_DATA.items()
        if prefix.startswith("1") and "en" in names
    }
    kept = {}
    for prefix in sorted(full, key=len):
        parent = next(
            (prefix[:n] for n in range(len(prefix) - 1, 0, -1) if prefix[:n] in full), None
        )
        if parent is None or full[parent] != full[prefix]:
            kept[prefix] = full[prefix]
    return dict(sorted(kept.items()))


def main() -> int:
    import phonenumbers

    table = derive()
    document = {"phonenumbers": phonenumbers.__version__, "prefixes": table}
    OUT.write_text(json.dumps(document, indent=0, sort_keys=True) + "\n")
    print(f"{OUT}: {len(table)} prefixes, from phonenumbers {phonenumbers.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
