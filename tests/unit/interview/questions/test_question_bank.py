"""The bundled question bank and question selection."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections import Counter
from importlib import resources
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voice_interview.domain.types import Difficulty, QuestionType
from voice_interview.interview.cv.roles import ANY_ROLE, ROLES
from voice_interview.interview.cv.skills import SKILLS, is_technical
from voice_interview.interview.questions.bank import (
    BankError,
    BankQuestion,
    load_bank,
    parse_bank,
    select_questions,
)

TECH, BEH, SIT = QuestionType.TECHNICAL, QuestionType.BEHAVIORAL, QuestionType.SITUATIONAL


@pytest.fixture(scope="module")
def bank() -> list[BankQuestion]:
    return load_bank()


def raw_entries() -> list[dict[str, Any]]:
    package = resources.files("voice_interview.interview.questions")
    text = package.joinpath("data/questions.json").read_text()
    data = json.loads(text)
    entries: list[dict[str, Any]] = data["questions"] if isinstance(data, dict) else data
    return entries


def assert_valid_selection(qs: list[BankQuestion], n: int) -> None:
    assert len(qs) == n
    assert len({q.id for q in qs}) == n, "duplicates"
    ranks = [q.difficulty.rank for q in qs]
    assert ranks == sorted(ranks), "not ordered easy -> hard"


# ---------------------------------------------------------------------------------------
# The bank itself
# ---------------------------------------------------------------------------------------


def test_bank_size_and_shape(bank: list[BankQuestion]) -> None:
    assert len(bank) >= 90
    assert len({q.id for q in bank}) == len(bank)
    for q in bank:
        assert isinstance(q.question_type, QuestionType)
        assert isinstance(q.difficulty, Difficulty)
        assert 3 <= len(q.key_points) <= 5
        assert q.text.endswith(("?", ".")) and len(q.text) < 200
        assert all(s in SKILLS for s in q.skills)
        assert all(r == ANY_ROLE or r in ROLES for r in q.roles)
        assert all(len(kp.split()) >= 3 for kp in q.key_points)


def test_bank_covers_every_type_and_difficulty(bank: list[BankQuestion]) -> None:
    counts = Counter((q.question_type, q.difficulty) for q in bank)
    for qtype in QuestionType:
        for difficulty in Difficulty:
            assert counts[(qtype, difficulty)] >= 5, (qtype, difficulty)


def test_bank_covers_every_role_and_general_questions(bank: list[BankQuestion]) -> None:
    per_role = Counter(r for q in bank for r in q.roles)
    for role in ROLES:
        assert per_role[role] >= 5, role
    general = [q for q in bank if ANY_ROLE in q.roles]
    assert {q.question_type for q in general} == set(QuestionType)


def test_bank_covers_core_technical_topics(bank: list[BankQuestion]) -> None:
    skills = {s for q in bank if q.question_type == TECH for s in q.skills}
    for topic in (
        "python",
        "javascript",
        "typescript",
        "sql",
        "system design",
        "api design",
        "testing",
        "git",
        "ci/cd",
        "cloud",
        "docker",
        "kubernetes",
        "security",
        "machine learning",
        "algorithms",
        "networking",
        "react",
        "java",
        "go",
        "data pipelines",
        "mobile",
    ):
        assert topic in skills, topic


def test_load_bank_is_cached_but_returns_a_fresh_list() -> None:
    first, second = load_bank(), load_bank()
    assert first is not second
    assert all(a is b for a, b in zip(first, second, strict=True))
    first.clear()
    assert load_bank()


def test_bank_question_is_frozen_and_serialisable(bank: list[BankQuestion]) -> None:
    q = bank[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        q.text = "changed"  # type: ignore[misc]
    d = q.to_dict()
    assert d["question_type"] in {"technical", "behavioral", "situational"}
    assert isinstance(d["key_points"], list)
    json.dumps(d)


# ---------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda e: e.update(question_type="trivia"), "question_type"),
        (lambda e: e.update(difficulty="extreme"), "difficulty"),
        (lambda e: e.update(key_points=["only one point here"]), "key points"),
        (lambda e: e.update(key_points=[]), "key_points"),
        (lambda e: e.update(skills=["underwater basket weaving"]), "canonical vocabulary"),
        (lambda e: e.update(roles=["astronaut"]), "role 'astronaut'"),
        (lambda e: e.update(text=""), "text"),
        (lambda e: e.update(extra_field=1), "unknown fields"),
        (lambda e: e.pop("skills"), "skills"),
    ],
)
def test_parse_bank_names_the_bad_entry(mutate: Any, message: str) -> None:
    entries = copy.deepcopy(raw_entries()[:5])
    mutate(entries[3])
    with pytest.raises(BankError) as info:
        parse_bank(entries)
    assert entries[3]["id"] in str(info.value)
    assert message in str(info.value)


def test_parse_bank_rejects_bad_ids_duplicates_and_shapes() -> None:
    entries = copy.deepcopy(raw_entries()[:3])
    entries[1]["id"] = "Not A Slug"
    with pytest.raises(BankError, match="entry #1"):
        parse_bank(entries)
    entries = copy.deepcopy(raw_entries()[:3])
    entries[2]["id"] = entries[0]["id"]
    with pytest.raises(BankError, match="twice"):
        parse_bank(entries)
    with pytest.raises(BankError):
        parse_bank({"questions": []})
    with pytest.raises(BankError):
        parse_bank("not a list")
    with pytest.raises(BankError, match="not an object"):
        parse_bank([42])
    assert isinstance(BankError("x"), ValueError)


def test_parse_bank_accepts_a_plain_list_and_the_wrapped_form() -> None:
    entries = raw_entries()[:4]
    assert parse_bank(entries) == parse_bank({"questions": entries})


# ---------------------------------------------------------------------------------------
# Selection
# ---------------------------------------------------------------------------------------

BACKEND_SKILLS = ["python", "fastapi", "postgresql", "sql", "databases", "docker", "kubernetes"]


@pytest.mark.parametrize("n", [0, -1, 21, 100])
def test_select_rejects_n_out_of_range(bank: list[BankQuestion], n: int) -> None:
    with pytest.raises(ValueError, match="1 to 20"):
        select_questions(bank, skills=[], role=None, n=n)


def test_select_rejects_non_integer_n(bank: list[BankQuestion]) -> None:
    with pytest.raises(ValueError):
        select_questions(bank, skills=[], role=None, n=True)
    with pytest.raises(ValueError):
        select_questions(bank, skills=[], role=None, n=2.0)  # type: ignore[arg-type]


def test_select_one_question(bank: list[BankQuestion]) -> None:
    [q] = select_questions(bank, skills=BACKEND_SKILLS, role="backend engineer", n=1)
    assert q.question_type == TECH
    assert set(q.skills) & set(BACKEND_SKILLS)
    [q] = select_questions(bank, skills=[], role=None, n=1)
    assert q.question_type == BEH


def test_select_two_questions_mix_types(bank: list[BankQuestion]) -> None:
    qs = select_questions(bank, skills=BACKEND_SKILLS, role="backend engineer", n=2)
    assert {q.question_type for q in qs} == {TECH, BEH}
    qs = select_questions(bank, skills=[], role=None, n=2)
    assert {q.question_type for q in qs} == {BEH, SIT}


@pytest.mark.parametrize("n", [3, 4, 5, 7, 10, 20])
def test_select_has_every_type_from_three_questions(bank: list[BankQuestion], n: int) -> None:
    for skills, role in [(BACKEND_SKILLS, "backend engineer"), ([], None), (["react"], None)]:
        qs = select_questions(bank, skills=skills, role=role, n=n)
        assert_valid_selection(qs, n)
        assert {q.question_type for q in qs} == set(QuestionType)


def test_select_twenty(bank: list[BankQuestion]) -> None:
    qs = select_questions(bank, skills=BACKEND_SKILLS, role="backend engineer", n=20)
    assert_valid_selection(qs, 20)
    by_difficulty = Counter(q.difficulty for q in qs)
    assert by_difficulty == {Difficulty.EASY: 7, Difficulty.MEDIUM: 7, Difficulty.HARD: 6}
    assert Counter(q.question_type for q in qs)[TECH] == 10


def test_select_is_half_technical_for_technical_candidates(bank: list[BankQuestion]) -> None:
    qs = select_questions(bank, skills=BACKEND_SKILLS, role=None, n=10)
    types = Counter(q.question_type for q in qs)
    assert types[TECH] == 5
    assert types[BEH] >= 2 and types[SIT] >= 2


def test_select_spreads_difficulties(bank: list[BankQuestion]) -> None:
    for n in (3, 6, 9, 10):
        qs = select_questions(bank, skills=BACKEND_SKILLS, role="backend engineer", n=n)
        counts = Counter(q.difficulty for q in qs)
        assert max(counts.values()) - min(counts.get(d, 0) for d in Difficulty) <= 1, (n, counts)


def test_select_prefers_matching_skills_and_role(bank: list[BankQuestion]) -> None:
    qs = select_questions(bank, skills=BACKEND_SKILLS, role="backend engineer", n=10)
    technical = [q for q in qs if q.question_type == TECH]
    assert all(set(q.skills) & set(BACKEND_SKILLS) for q in technical)
    assert all("backend engineer" in q.roles or ANY_ROLE in q.roles for q in qs)

    qs = select_questions(bank, skills=["react", "typescript"], role="frontend engineer", n=6)
    technical = [q for q in qs if q.question_type == TECH]
    assert all({"react", "typescript", "javascript", "frontend"} & set(q.skills) for q in technical)


def test_select_uses_role_for_behavioral_and_situational(bank: list[BankQuestion]) -> None:
    qs = select_questions(bank, skills=[], role="engineering manager", n=10)
    soft = [q for q in qs if q.question_type != TECH]
    assert sum("engineering manager" in q.roles for q in soft) >= len(soft) // 2
    assert all("engineering manager" in q.roles or ANY_ROLE in q.roles for q in qs)


def test_select_understands_skill_aliases_and_free_text_roles(bank: list[BankQuestion]) -> None:
    a = select_questions(
        bank, skills=["Postgres", "k8s", "Python3"], role="Senior Backend Developer", n=8, seed=3
    )
    b = select_questions(
        bank, skills=["postgresql", "kubernetes", "python"], role="backend engineer", n=8, seed=3
    )
    assert [q.id for q in a] == [q.id for q in b]


def test_select_accepts_a_single_skill_string(bank: list[BankQuestion]) -> None:
    a = select_questions(bank, skills="python", role=None, n=5)  # type: ignore[arg-type]
    b = select_questions(bank, skills=["python"], role=None, n=5)
    assert a == b


def test_select_unknown_role_acts_like_no_role(bank: list[BankQuestion]) -> None:
    a = select_questions(bank, skills=["python"], role="astronaut", n=8)
    b = select_questions(bank, skills=["python"], role=None, n=8)
    assert [q.id for q in a] == [q.id for q in b]
    assert_valid_selection(a, 8)


def test_select_with_no_skills_and_no_role_is_a_general_mix(bank: list[BankQuestion]) -> None:
    qs = select_questions(bank, skills=[], role=None, n=9)
    assert_valid_selection(qs, 9)
    assert Counter(q.question_type for q in qs) == {TECH: 3, BEH: 3, SIT: 3}
    assert all(ANY_ROLE in q.roles for q in qs)


def test_select_soft_skills_only_is_less_technical(bank: list[BankQuestion]) -> None:
    qs = select_questions(bank, skills=["leadership", "hiring"], role=None, n=9)
    assert Counter(q.question_type for q in qs)[TECH] == 3


def test_select_is_deterministic_and_seed_dependent(bank: list[BankQuestion]) -> None:
    runs = [
        [q.id for q in select_questions(bank, skills=BACKEND_SKILLS, role=None, n=10, seed=7)]
        for _ in range(3)
    ]
    assert runs[0] == runs[1] == runs[2]
    seeds = {
        tuple(q.id for q in select_questions(bank, skills=[], role=None, n=10, seed=s))
        for s in range(6)
    }
    assert len(seeds) >= 3


def test_select_does_not_depend_on_bank_order(bank: list[BankQuestion]) -> None:
    forward = select_questions(bank, skills=["sql"], role="data engineer", n=10, seed=1)
    backward = select_questions(
        list(reversed(bank)), skills=["sql"], role="data engineer", n=10, seed=1
    )
    assert [q.id for q in forward] == [q.id for q in backward]


def test_select_ignores_duplicate_bank_entries(bank: list[BankQuestion]) -> None:
    qs = select_questions(bank + bank, skills=[], role=None, n=20)
    assert_valid_selection(qs, 20)


def test_select_from_a_bank_missing_a_type_still_fills_n(bank: list[BankQuestion]) -> None:
    no_situational = [q for q in bank if q.question_type != SIT]
    qs = select_questions(no_situational, skills=BACKEND_SKILLS, role=None, n=6)
    assert_valid_selection(qs, 6)
    assert {q.question_type for q in qs} == {TECH, BEH}


def test_select_from_a_too_small_bank_raises(bank: list[BankQuestion]) -> None:
    with pytest.raises(ValueError, match="only 4"):
        select_questions(bank[:4], skills=[], role=None, n=5)
    qs = select_questions(bank[:5], skills=[], role=None, n=5)
    assert_valid_selection(qs, 5)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=20),
    seed=st.integers(min_value=0, max_value=10_000),
    skills=st.lists(st.sampled_from(sorted(SKILLS)), max_size=8),
    role=st.one_of(st.none(), st.sampled_from([*ROLES, "astronaut", ""])),
)
def test_select_invariants(n: int, seed: int, skills: list[str], role: str | None) -> None:
    bank = load_bank()
    qs = select_questions(bank, skills=skills, role=role, n=n, seed=seed)
    assert_valid_selection(qs, n)
    types = Counter(q.question_type for q in qs)
    if n >= 3:
        assert set(types) == set(QuestionType)
    technical = any(is_technical(s) for s in skills)
    if technical and n >= 4:
        assert abs(types[TECH] - n / 2) <= 1
    counts = Counter(q.difficulty for q in qs)
    assert max(counts.values()) - min(counts.get(d, 0) for d in Difficulty) <= 1
