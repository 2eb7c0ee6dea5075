"""The skill vocabulary as data (``interview/cv/data/skills.json``): it loads, it round-trips,
it is shipped, and a malformed table is refused."""

from __future__ import annotations

import copy
import dataclasses
import fnmatch
import json
import tomllib
from importlib import resources
from typing import Any

import pytest

from tests.paths import REPO
from voice_interview.interview.cv.skills import (
    AMBIGUOUS_NAMES,
    GENERIC_SKILLS,
    SKILLS,
    Skill,
    SkillTableError,
    implied_closure,
    parse_skill_table,
)
from voice_interview.interview.questions.bank import load_bank

ROOT = REPO


def raw_table() -> dict[str, Any]:
    text = resources.files("voice_interview.interview.cv").joinpath("data/skills.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


def to_json(table: tuple[Skill, ...]) -> dict[str, Any]:
    """The table back in the file's shape (one group; empty fields left out)."""
    entries = []
    for skill in table:
        entry: dict[str, Any] = {"name": skill.name, "display": skill.display, "kind": skill.kind}
        for key in ("aliases", "exact", "implies"):
            if getattr(skill, key):
                entry[key] = list(getattr(skill, key))
        entries.append(entry)
    return {"groups": [{"group": "all", "skills": entries}]}


def test_the_table_loads_with_every_skill_in_file_order() -> None:
    data = raw_table()
    names = [e["name"] for g in data["groups"] for e in g["skills"]]
    assert len(SKILLS) == len(names) == 128
    assert list(SKILLS) == names
    assert [g["group"] for g in data["groups"]][:2] == ["Languages and runtimes", "Frontend"]
    kinds = [s.kind for s in SKILLS.values()]
    assert kinds.count("technical") == 98 and kinds.count("soft") == 30


def test_known_entries() -> None:
    assert SKILLS["python"] == Skill("python", "Python", "technical", ("python3", "cpython"))
    assert SKILLS["typescript"] == Skill(
        "typescript", "TypeScript", "technical", exact=("TS",), implies=("javascript",)
    )
    assert SKILLS["c#"].aliases == ("csharp", ".net", "dotnet", "asp.net", ".net core")
    assert SKILLS["go"].aliases == ("golang",)
    assert SKILLS["postgresql"].display == "PostgreSQL"
    assert implied_closure("postgresql") == ["postgresql", "sql", "databases"]
    assert SKILLS["problem solving"] == Skill(
        "problem solving", "problem solving", "soft", ("problem-solving", "analytical skills")
    )


def test_the_table_round_trips() -> None:
    table = tuple(SKILLS.values())
    again = parse_skill_table(json.loads(json.dumps(to_json(table))))
    assert again == table
    # And the file itself parses to the same table as the import did.
    assert parse_skill_table(raw_table()) == table


def test_every_reference_into_the_table_is_known() -> None:
    assert GENERIC_SKILLS.issubset(SKILLS)
    assert AMBIGUOUS_NAMES.issubset(SKILLS)
    assert all(skill in SKILLS for q in load_bank() for skill in q.skills)


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        (lambda e: e.update(kind="hard"), "'kind' must be"),
        (lambda e: e.update(name="Python"), "lowercase name"),
        (lambda e: e.update(implies=["cobol"]), "implies unknown 'cobol'"),
        (lambda e: e.update(aliases="python3"), "'aliases' must be a list"),
        (lambda e: e.update(colour="blue"), "unknown fields"),
        (lambda e: e.pop("display"), "'display' must be"),
    ],
)
def test_a_malformed_entry_is_refused(patch: Any, message: str) -> None:
    data = copy.deepcopy(raw_table())
    patch(data["groups"][0]["skills"][0])
    with pytest.raises(SkillTableError, match=message):
        parse_skill_table(data)


def test_a_repeated_name_or_a_missing_groups_list_is_refused() -> None:
    data = copy.deepcopy(raw_table())
    data["groups"][1]["skills"].append(data["groups"][0]["skills"][0])
    with pytest.raises(SkillTableError, match="'python' appears twice"):
        parse_skill_table(data)
    with pytest.raises(SkillTableError, match="'groups'"):
        parse_skill_table({"skills": []})


def test_skill_is_still_a_frozen_dataclass() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        SKILLS["python"].name = "py"  # type: ignore[misc]


@pytest.mark.parametrize(
    "data_file", ["interview/cv/data/skills.json", "interview/questions/data/questions.json"]
)
def test_the_data_files_are_package_data(data_file: str) -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["voice_interview"]
    assert (ROOT / "voice_interview" / data_file).is_file()
    assert any(fnmatch.fnmatch(data_file, p) for p in patterns)
