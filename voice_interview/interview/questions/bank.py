"""The interview question bank (``data/questions.json``) and question selection.

Selection (:func:`select_questions`) is deterministic for a given bank, input and seed:

1. **Quotas per type.** For ``n >= 3`` every type gets at least one question (when the
   bank has one); technical questions get about half of ``n`` when the candidate has
   technical skills (or a technical role), about a third otherwise; behavioral gets the
   larger part of the rest. ``n == 1`` is one technical question for a technical
   candidate, otherwise one behavioral; ``n == 2`` is technical + behavioral, or
   behavioral + situational.
2. **Targets per difficulty.** ``n`` is spread over easy, medium and hard as evenly as
   possible (a remainder goes to medium first, then easy).
3. **Relevance.** A question scores for the candidate skills it covers and for its roles.
   Skills are weighted: the first skills in the list count fully, later ones less
   (CV skills come first-mentioned first), and broad skills such as "databases" or
   "testing" count half. Skill matches weigh most for technical questions; for
   behavioral and situational ones the role decides: the candidate's role beats "any",
   which beats a question written for other roles. A per-question hash of ``seed`` and
   the id breaks ties, so different seeds give different interviews among equally
   relevant questions.
4. **Greedy picks.** Types take turns in proportion to their quotas; each turn picks the
   question of that type that fills a still-needed difficulty, then the most relevant.
5. **Order.** The result runs easy -> medium -> hard; within one difficulty, in pick
   order (which alternates types).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from voice_interview.domain.question import Question
from voice_interview.domain.types import Difficulty, QuestionType
from voice_interview.interview.cv.roles import ANY_ROLE, ROLES, normalize_role
from voice_interview.interview.cv.skills import (
    GENERIC_SKILLS,
    SKILLS,
    is_technical,
    normalize_skills,
)

_PACKAGE = "voice_interview.interview.questions"  # holds data/questions.json

MIN_QUESTIONS = 1
MAX_QUESTIONS = 20
MIN_KEY_POINTS = 3
MAX_KEY_POINTS = 5

_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_TYPE_ORDER = (QuestionType.TECHNICAL, QuestionType.BEHAVIORAL, QuestionType.SITUATIONAL)
_DIFFICULTY_ORDER = (Difficulty.EASY, Difficulty.MEDIUM, Difficulty.HARD)
# Roles whose interviews lean technical even when the CV lists no technical skills.
_NON_TECHNICAL_ROLES = frozenset({"engineering manager", "product manager"})


class BankError(ValueError):
    """The question bank file is malformed; the message names the offending entry."""


@dataclass(frozen=True)
class BankQuestion:
    """One question of the bank, with the rubric key points that a strong answer covers."""

    id: str
    text: str
    question_type: QuestionType
    difficulty: Difficulty
    skills: tuple[str, ...]
    roles: tuple[str, ...]
    key_points: tuple[str, ...]

    def as_question(self) -> Question:
        """The question an interview asks (the roles stay with the bank's choice)."""
        return Question(
            text=self.text,
            question_type=self.question_type,
            difficulty=self.difficulty,
            key_points=self.key_points,
            skills=self.skills,
            bank_id=self.id,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "question_type": self.question_type.value,
            "difficulty": self.difficulty.value,
            "skills": list(self.skills),
            "roles": list(self.roles),
            "key_points": list(self.key_points),
        }


# ---------------------------------------------------------------------------------------
# Loading and validation
# ---------------------------------------------------------------------------------------


def _string_list(entry: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = entry.get(key)
    if not isinstance(value, list) or not value:
        raise BankError(f"{where}: {key!r} must be a non-empty list of strings")
    out: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise BankError(f"{where}: {key!r} holds an empty or non-string item: {item!r}")
        if item in out:
            raise BankError(f"{where}: {key!r} lists {item!r} twice")
        out.append(item.strip())
    return tuple(out)


def _parse_entry(entry: object, index: int, source: str) -> BankQuestion:
    if not isinstance(entry, dict):
        raise BankError(f"{source}: entry #{index} is not an object")
    qid = entry.get("id")
    if not isinstance(qid, str) or not _ID_RE.match(qid):
        raise BankError(
            f"{source}: entry #{index}: 'id' must be a lowercase slug like "
            f"'tech-sql-joins', got {qid!r}"
        )
    where = f"{source}: question {qid!r}"
    unknown = set(entry) - {
        "id",
        "text",
        "question_type",
        "difficulty",
        "skills",
        "roles",
        "key_points",
    }
    if unknown:
        raise BankError(f"{where}: unknown fields {sorted(unknown)}")
    text = entry.get("text")
    if not isinstance(text, str) or len(text.split()) < 3 or not text.rstrip().endswith(("?", ".")):
        raise BankError(f"{where}: 'text' must be a spoken question ending in '?' or '.'")
    try:
        qtype = QuestionType(str(entry.get("question_type")))
    except ValueError as e:
        allowed = ", ".join(t.value for t in QuestionType)
        raise BankError(f"{where}: 'question_type' must be one of {allowed}") from e
    try:
        difficulty = Difficulty(str(entry.get("difficulty")))
    except ValueError as e:
        allowed = ", ".join(d.value for d in Difficulty)
        raise BankError(f"{where}: 'difficulty' must be one of {allowed}") from e
    skills = _string_list(entry, "skills", where)
    for skill in skills:
        if skill not in SKILLS:
            raise BankError(f"{where}: skill {skill!r} is not in the canonical vocabulary")
    roles = _string_list(entry, "roles", where)
    for role in roles:
        if role != ANY_ROLE and role not in ROLES:
            raise BankError(f"{where}: role {role!r} is not one of {', '.join(ROLES)} or 'any'")
    key_points = _string_list(entry, "key_points", where)
    if not MIN_KEY_POINTS <= len(key_points) <= MAX_KEY_POINTS:
        raise BankError(
            f"{where}: needs {MIN_KEY_POINTS}-{MAX_KEY_POINTS} key points, has {len(key_points)}"
        )
    return BankQuestion(
        id=qid,
        text=" ".join(text.split()),
        question_type=qtype,
        difficulty=difficulty,
        skills=skills,
        roles=roles,
        key_points=key_points,
    )


def parse_bank(data: object, source: str = "questions.json") -> list[BankQuestion]:
    """Validate parsed JSON (a list of entries, or ``{"questions": [...]}``) into questions.

    Raises :class:`BankError` naming the first bad entry.
    """
    entries = data.get("questions") if isinstance(data, dict) else data
    if not isinstance(entries, list) or not entries:
        raise BankError(f"{source}: expected a non-empty list of questions")
    questions: list[BankQuestion] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        question = _parse_entry(entry, index, source)
        if question.id in seen:
            raise BankError(f"{source}: question id {question.id!r} appears twice")
        seen.add(question.id)
        questions.append(question)
    return questions


@functools.lru_cache(maxsize=1)
def _load_bundled() -> tuple[BankQuestion, ...]:
    resource = resources.files(_PACKAGE).joinpath("data/questions.json")
    try:
        raw = resource.read_text(encoding="utf-8")
    except OSError as e:
        raise BankError(f"cannot read the bundled question bank: {e}") from e
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as e:
        raise BankError(f"questions.json is not valid JSON: {e}") from e
    return tuple(parse_bank(data, "questions.json"))


def load_bank() -> list[BankQuestion]:
    """The bundled question bank, validated (cached; each call returns a new list)."""
    return list(_load_bundled())


# ---------------------------------------------------------------------------------------
# Selection
# ---------------------------------------------------------------------------------------


def _type_quotas(n: int, technical_share: float) -> dict[QuestionType, int]:
    tech, beh, sit = _TYPE_ORDER
    if n == 1:
        return {tech: 1} if technical_share >= 0.5 else {beh: 1}
    if n == 2:
        return {tech: 1, beh: 1} if technical_share >= 0.5 else {beh: 1, sit: 1}
    n_tech = min(max(1, math.floor(n * technical_share + 0.5)), n - 2)
    rest = n - n_tech
    n_beh = max(1, math.ceil(rest / 2))
    return {tech: n_tech, beh: n_beh, sit: rest - n_beh}


def _difficulty_targets(n: int) -> dict[Difficulty, int]:
    base, remainder = divmod(n, 3)
    targets = dict.fromkeys(_DIFFICULTY_ORDER, base)
    for d in (Difficulty.MEDIUM, Difficulty.EASY)[:remainder]:
        targets[d] += 1
    return targets


def _jitter(seed: int, qid: str) -> float:
    digest = hashlib.blake2b(f"{seed}:{qid}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _skill_weights(skills: list[str]) -> dict[str, float]:
    weights: dict[str, float] = {}
    for i, name in enumerate(skills):
        weight = 1.0 if i < 8 else 0.75 if i < 16 else 0.5
        if name in GENERIC_SKILLS:
            weight *= 0.5
        weights.setdefault(name, weight)
    return weights


def _relevance(question: BankQuestion, weights: dict[str, float], role: str | None) -> float:
    covered = sum(weights.get(s, 0.0) for s in question.skills)
    if question.question_type == QuestionType.TECHNICAL:
        skill_score = 2.0 * min(2.0, covered)
    else:
        skill_score = min(1.0, covered)
    if role is not None and role in question.roles:
        role_score = 2.0
    elif ANY_ROLE in question.roles:
        role_score = 1.0
    elif role is not None:
        role_score = -1.0  # written for other roles
    else:
        role_score = 0.0
    return round(skill_score + role_score, 6)


def select_questions(
    bank: Sequence[BankQuestion],
    *,
    skills: Iterable[str],
    role: str | None,
    n: int,
    seed: int = 0,
) -> list[BankQuestion]:
    """Pick ``n`` distinct questions for a candidate; see the module docstring.

    ``skills`` may be CV skills in any spelling ("Postgres", "k8s"); ``role`` may be free
    text ("Senior Backend Developer") or None. Raises ValueError when ``n`` is outside
    1..20 or the bank has fewer than ``n`` distinct questions.
    """
    if isinstance(n, bool) or not isinstance(n, int) or not MIN_QUESTIONS <= n <= MAX_QUESTIONS:
        raise ValueError(f"n must be an integer from {MIN_QUESTIONS} to {MAX_QUESTIONS}, got {n!r}")
    unique: dict[str, BankQuestion] = {}
    for question in bank:
        unique.setdefault(question.id, question)
    pool = list(unique.values())
    if len(pool) < n:
        raise ValueError(f"the question bank has only {len(pool)} questions, {n} requested")

    wanted = normalize_skills([skills] if isinstance(skills, str) else skills)
    weights = _skill_weights(wanted)
    canonical_role = normalize_role(role)
    if canonical_role not in ROLES:
        canonical_role = None  # unknown roles select like no role at all
    technical = any(is_technical(s) for s in wanted) or (
        canonical_role is not None and canonical_role not in _NON_TECHNICAL_ROLES
    )
    quotas = _type_quotas(n, 0.5 if technical else 1 / 3)

    # The bank may lack a type (a filtered bank): hand the shortfall to the other types.
    by_type = {t: [q for q in pool if q.question_type == t] for t in _TYPE_ORDER}
    quotas = {t: min(quotas.get(t, 0), len(by_type[t])) for t in _TYPE_ORDER}
    shortfall = n - sum(quotas.values())
    for t in _TYPE_ORDER:
        spare = len(by_type[t]) - quotas[t]
        take = min(spare, shortfall)
        quotas[t] += take
        shortfall -= take

    targets = _difficulty_targets(n)
    relevance = {q.id: _relevance(q, weights, canonical_role) for q in pool}
    jitter = {q.id: _jitter(seed, q.id) for q in pool}
    taken: dict[QuestionType, int] = dict.fromkeys(_TYPE_ORDER, 0)
    filled: dict[Difficulty, int] = dict.fromkeys(_DIFFICULTY_ORDER, 0)
    chosen: list[BankQuestion] = []
    chosen_ids: set[str] = set()

    while len(chosen) < n:
        open_types = [t for t in _TYPE_ORDER if taken[t] < quotas[t]]
        # The type furthest behind its share goes next (ties: technical, behavioral, ...).
        turn = min(open_types, key=lambda t: (taken[t] / quotas[t], _TYPE_ORDER.index(t)))
        candidates = [q for q in by_type[turn] if q.id not in chosen_ids]

        def key(q: BankQuestion) -> tuple[bool, float, int, float]:
            deficit = targets[q.difficulty] - filled[q.difficulty]
            return (deficit > 0, relevance[q.id], deficit, jitter[q.id])

        best = max(candidates, key=key)
        chosen.append(best)
        chosen_ids.add(best.id)
        taken[turn] += 1
        filled[best.difficulty] += 1

    position = {q.id: i for i, q in enumerate(chosen)}
    return sorted(chosen, key=lambda q: (q.difficulty.rank, position[q.id]))
