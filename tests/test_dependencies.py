"""Every module `lcm` imports at run time is the standard library's, lcm's
own, or a distribution pyproject.toml declares — read from the sources, so a
new `import` without its dependency fails here in a second, before the wheel
test (tests/test_install.py) fails in a clean virtualenv.

Imports are found with `ast` in every module of the package (migrations and
templatetags included), and so are `importlib.resources.files("<package>")`
reads (tzdata's zone.tab). A distribution of an extra may be imported only by
the modules named for it below, which a host loads only with that extra.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "lcm"
# extra -> the modules that may import its distributions.
EXTRA_MODULES = {
    "lockout": {"lcm/auth.py"},  # lcm.auth.LoginLockoutBackend, set by the host
    "postgres": set(),  # lcm talks to psycopg through Django only
}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    return canonical(re.match(r"[A-Za-z0-9._-]+", requirement).group(0))


def imported_modules(path: Path) -> set[str]:
    """Top-level names of what the module imports or reads resources of."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "files"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"lcm", "__future__"}


def declared() -> tuple[set[str], dict[str, set[str]]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    required = {requirement_name(r) for r in project["dependencies"]}
    extras = {
        extra: {requirement_name(r) for r in requirements}
        for extra, requirements in project["optional-dependencies"].items()
    }
    return required, extras


def test_every_module_lcm_imports_is_declared():
    required, extras = declared()
    distributions = importlib.metadata.packages_distributions()
    undeclared, misplaced = [], []
    for path in sorted(PACKAGE.rglob("*.py")):
        where = str(path.relative_to(ROOT))
        for module in sorted(imported_modules(path)):
            owners = {canonical(d) for d in distributions.get(module, [])}
            assert owners, f"{where}: no installed distribution provides {module!r}"
            if owners & required:
                continue
            extra = next((e for e, names in extras.items() if owners & names), None)
            if extra is None:
                undeclared.append(f"{where}: {module} ({', '.join(sorted(owners))})")
            elif where not in EXTRA_MODULES[extra]:
                misplaced.append(f"{where}: {module} needs the {extra!r} extra")
    assert undeclared == [], "imported and not in pyproject.toml's dependencies"
    assert misplaced == [], "an extra's distribution imported by a module every host loads"


def test_the_check_sees_what_the_wheel_once_missed(tmp_path):
    """zipcodes (imported) and tzdata (its zone.tab read) were not declared."""
    module = tmp_path / "m.py"
    module.write_text(
        "import zipcodes\nfrom importlib import resources\n"
        'resources.files("tzdata").joinpath("zoneinfo", "zone.tab")\n'
        "import json, os.path\nfrom . import sibling\nfrom lcm import models\n"
    )
    assert imported_modules(module) == {"zipcodes", "tzdata"}
    required, _ = declared()
    assert {"zipcodes", "tzdata"} <= required


# The audit package (lcm/audit/__init__.py): each module imports only those
# before it here, so no two import each other. The append calls
# `checkpoints.after_append`; checkpoints never imports the chain back.
AUDIT_LAYERS = (
    "seal", "merkle", "triggers", "checkpoints", "chain", "filters", "export",
    "as_of",  # the as-of replay reads the log and its checkpoints; nothing imports it back
)  # fmt: skip


def audit_imports(path: Path) -> set[str]:
    """The lcm.audit modules a module imports (at any depth of its code)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level == 1:  # from .x import …, from . import x
            names |= {node.module} if node.module else {a.name for a in node.names}
        elif node.level == 0 and node.module and node.module.startswith("lcm.audit"):
            rest = node.module.removeprefix("lcm.audit").lstrip(".")
            names |= {rest} if rest else {a.name for a in node.names} | {"__init__"}
    return names


def test_the_audit_package_has_no_import_cycle():
    folder = PACKAGE / "audit"
    modules = {p.stem for p in folder.glob("*.py")} - {"__init__"}
    assert modules == set(AUDIT_LAYERS), "a new audit module: give it its layer here"
    for rank, name in enumerate(AUDIT_LAYERS):
        above = audit_imports(folder / f"{name}.py") - set(AUDIT_LAYERS[:rank])
        assert not above, f"lcm/audit/{name}.py imports {sorted(above)}, which are not below it"
    # The one call across: the chain tells the checkpoint module of an append.
    assert "checkpoints" in audit_imports(folder / "chain.py")
    assert "chain" not in audit_imports(folder / "checkpoints.py")
