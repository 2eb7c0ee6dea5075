"""The package import rules of docs/ARCHITECTURE.md: a wrong arrow fails here.

Each module's imports of the project (TYPE_CHECKING imports included: a type import is
still a dependency) are mapped to packages, and every package may import only the ones
listed for it. The layers run one way: pure value packages at the bottom, the server and
the CLI (the composition roots) at the top.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from tests.paths import REPO

PKG = REPO / "voice_interview"

# Subpackages of interview/ that are packages of their own for these rules.
INTERVIEW_PARTS = ("session", "cv", "questions", "evaluation", "report")

ALLOWED: dict[str, set[str]] = {
    "domain": set(),
    "protocol": set(),
    "settings": set(),
    "logs": set(),
    "text": set(),
    "audio": set(),  # the codecs, VAD and echo guard know nothing of the wire or above
    "engines": {"settings", "audio", "text"},
    "store": {"domain", "settings", "text"},
    "interview.questions": {"domain", "text", "interview.cv"},
    "interview.cv": {"domain", "engines", "settings", "text"},
    "interview": set(),  # only the package docstring: everything lives in its parts
    "interview.evaluation": {"domain", "engines", "settings", "store", "audio", "text", "logs"}
    | {"interview.questions"},
    "interview.report": {"domain", "store", "audio", "text", "interview.evaluation"},
    "interview.session": {"domain", "engines", "settings", "store", "audio", "text", "logs"}
    | {"protocol", "interview.evaluation"},
    # The bench speaks the wire contract (protocol), encodes its fixtures with the codecs
    # and runs the offline STT pass it compares finals with (engines, settings); the
    # eval-bench drives the evaluator itself (interview) over a labelled set.
    "bench": {"protocol", "audio", "engines", "settings", "text", "domain", "store"}
    | {"interview.evaluation", "interview.questions"},
    "server": {"domain", "protocol", "settings", "logs", "text", "audio", "engines", "store"}
    | {f"interview.{p}" for p in INTERVIEW_PARTS},
    "cli": {"*"},
}
MODULES = {"protocol", "settings", "logs", "cli"}  # top-level modules, not packages


def package_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "voice_interview" or len(parts) < 2:
        return None
    if parts[1] == "interview" and len(parts) > 2 and parts[2] in INTERVIEW_PARTS:
        return f"interview.{parts[2]}"
    return parts[1]


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "voice_interview":
                found.update(f"voice_interview.{a.name}" for a in node.names)
            else:
                found.add(node.module)
    return found


def graph() -> dict[str, set[str]]:
    arrows: dict[str, set[str]] = defaultdict(set)
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG.parent).with_suffix("")
        module = ".".join(rel.parts).removesuffix(".__init__")
        src = package_of(module)
        if src is None:
            continue
        for target in imports_of(path):
            dst = package_of(target)
            if dst is not None and dst != src:
                arrows[src].add(dst)
    return arrows


def test_every_package_has_a_rule() -> None:
    packages = {package_of(f"voice_interview.{p.name}") for p in PKG.iterdir() if p.is_dir()}
    packages.discard("__pycache__")
    packages |= MODULES
    packages |= {f"interview.{p}" for p in INTERVIEW_PARTS if (PKG / "interview" / p).is_dir()}
    missing = {p for p in packages if p and p != "__pycache__" and p not in ALLOWED}
    assert not missing, f"packages without an import rule: {sorted(missing)}"


def test_imports_follow_the_layers() -> None:
    wrong = [
        f"{src} -> {dst}"
        for src, dsts in sorted(graph().items())
        for dst in sorted(dsts)
        if "*" not in ALLOWED.get(src, set()) and dst not in ALLOWED.get(src, set())
    ]
    assert not wrong, "imports against docs/ARCHITECTURE.md:\n" + "\n".join(wrong)


def test_the_rules_see_real_arrows() -> None:
    arrows = graph()
    # The check is only worth something if it reads the imports: known arrows exist.
    assert "interview.session" in arrows["server"]
    assert "protocol" in arrows["interview.session"]
    assert "domain" in arrows["store"]


def test_unit_tests_mirror_the_packages() -> None:
    # tests/unit/<package>/... holds the tests of voice_interview/<package>/...: a folder
    # there without its package (a rename done on one side only) fails here.
    unit = Path(__file__).resolve().parent
    folders = [
        p.relative_to(unit)
        for p in unit.rglob("*")
        if p.is_dir() and p.name != "__pycache__" and any(p.glob("test_*.py"))
    ]
    assert folders, "no test folders found"
    missing = [str(f) for f in folders if not (PKG / f / "__init__.py").is_file()]
    assert not missing, f"test folders without a package: {missing}"
