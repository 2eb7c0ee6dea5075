"""Canonical skill vocabulary and keyword matching of skills in text.

The vocabulary is data: ``data/skills.json`` (groups of entries with a name, a display
form, a kind, aliases, case-sensitive ``exact`` forms and implied skills), read once at
import by :func:`parse_skill_table`. Everything here is pure and deterministic. The keyword
pass is the ground truth of :func:`voice_interview.interview.cv.analysis.analyse_cv`; the
question bank's ``skills`` must all be canonical names from :data:`SKILLS` (``load_bank``
checks it).

Matching rules (:func:`extract_skills`):

* aliases are case-insensitive, whole-word matches; "word" characters include ``+`` and
  ``#`` (so ``C++`` and ``C#`` match as written and ``c`` inside them never does) and a
  dot followed by a letter (so ``react.js`` is one token and ``js`` inside ``node.js``
  does not count on its own);
* a space inside an alias matches any run of spaces or hyphens ("front end", "front-end");
* a few aliases are case-sensitive because their lowercase form is an everyday word or
  a common abbreviation: ``ML``, ``REST``, ``SRE``, ``QA``, ``Helm``, ``Swift``, ``Spark``,
  ``Rails``, ``S3``, ``EC2``, ``TS``;
* single letters (C, R) are not recognised at all: too ambiguous;
* **Go** needs evidence that it is the language, because "go" is a verb: ``golang``
  always counts; ``Go`` counts only with a capital G, not glued to a hyphen ("Go-live"),
  and either followed by a list separator (``,`` ``;`` ``/`` ``|`` ``)`` or end of line)
  or a language noun ("Go developer", "Go services", "Go 1.22"), or preceded by a list
  separator or a word like "in"/"with"/"and"/"using" ("written in Go", "Python and Go")
  and not followed by a word that makes it a verb ("Go live", "go to market").

Implied skills (``postgresql`` implies ``sql`` and ``databases``) are added after the
skill that implies them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

from voice_interview.text.normalize import phrase_key, squeeze

SkillKind = Literal["technical", "soft"]

_PACKAGE = "voice_interview.interview.cv"  # holds data/skills.json


class SkillTableError(ValueError):
    """The skill table file is malformed; the message names the offending entry."""


@dataclass(frozen=True)
class Skill:
    """One canonical skill: its name, how to show it, and how to spot it in text."""

    name: str  # canonical, lowercase
    display: str  # for summaries: "PostgreSQL"
    kind: SkillKind
    aliases: tuple[str, ...] = ()  # case-insensitive phrases; the name itself always counts
    exact: tuple[str, ...] = ()  # case-sensitive phrases
    implies: tuple[str, ...] = ()  # canonical names added when this skill is found


# ---------------------------------------------------------------------------------------
# The table (data/skills.json)
# ---------------------------------------------------------------------------------------

_ENTRY_KEYS = frozenset({"name", "display", "kind", "aliases", "exact", "implies", "note"})


def _strings(entry: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise SkillTableError(f"{where}: {key!r} must be a list of non-empty strings")
    return tuple(value)


def _parse_skill(entry: object, where: str) -> Skill:
    if not isinstance(entry, dict):
        raise SkillTableError(f"{where}: not an object")
    name = entry.get("name")
    if not isinstance(name, str) or not name or name != squeeze(name.lower()):
        raise SkillTableError(f"{where}: 'name' must be a lowercase name, got {name!r}")
    where = f"{where} ({name!r})"
    unknown = set(entry) - _ENTRY_KEYS
    if unknown:
        raise SkillTableError(f"{where}: unknown fields {sorted(unknown)}")
    display = entry.get("display")
    if not isinstance(display, str) or not display.strip():
        raise SkillTableError(f"{where}: 'display' must be a non-empty string")
    kind = entry.get("kind")
    if kind not in ("technical", "soft"):
        raise SkillTableError(f"{where}: 'kind' must be 'technical' or 'soft', got {kind!r}")
    return Skill(
        name,
        display,
        "technical" if kind == "technical" else "soft",
        _strings(entry, "aliases", where),
        _strings(entry, "exact", where),
        _strings(entry, "implies", where),
    )


def parse_skill_table(data: object, source: str = "skills.json") -> tuple[Skill, ...]:
    """Validate the parsed skill table (``{"groups": [{"group": ..., "skills": [...]}]}``)
    into skills, in file order. Raises :class:`SkillTableError` naming the first bad entry
    (also for a repeated name or an ``implies`` naming an unknown skill)."""
    groups = data.get("groups") if isinstance(data, dict) else None
    if not isinstance(groups, list) or not groups:
        raise SkillTableError(f"{source}: expected a non-empty 'groups' list")
    table: list[Skill] = []
    for gi, group in enumerate(groups):
        entries = group.get("skills") if isinstance(group, dict) else None
        if not isinstance(entries, list) or not isinstance(group.get("group"), str):
            raise SkillTableError(f"{source}: group #{gi} needs a 'group' name and a 'skills' list")
        for si, entry in enumerate(entries):
            table.append(_parse_skill(entry, f"{source}: group {group['group']!r} entry #{si}"))
    names = [s.name for s in table]
    for skill in table:
        if names.count(skill.name) > 1:
            raise SkillTableError(f"{source}: skill {skill.name!r} appears twice")
        for implied in skill.implies:
            if implied not in names:
                raise SkillTableError(f"{source}: {skill.name!r} implies unknown {implied!r}")
    return tuple(table)


def _load_table() -> tuple[Skill, ...]:
    raw = resources.files(_PACKAGE).joinpath("data/skills.json").read_text(encoding="utf-8")
    return parse_skill_table(json.loads(raw))


_SKILL_TABLE: tuple[Skill, ...] = _load_table()

SKILLS: Mapping[str, Skill] = {s.name: s for s in _SKILL_TABLE}
"""Every canonical skill by name."""

GENERIC_SKILLS: frozenset[str] = frozenset(
    {
        "api design",
        "databases",
        "frontend",
        "cloud",
        "testing",
        "messaging",
        "caching",
        "data pipelines",
        "http",
        "networking",
        "incident response",
        "observability",
        "debugging",
        "security",
        "system design",
        "distributed systems",
        "algorithms",
        "data structures",
        "performance",
        "concurrency",
        "code review",
        "technical debt",
        "git",
        "ci/cd",
        "linux",
        "mobile",
        "data warehousing",
        "data modeling",
        "infrastructure as code",
        "statistics",
        "analytics",
        "reliability",
        "sql",
    }
)
"""Broad skills that other skills imply or that most CVs mention: weaker evidence of what a
candidate specialises in than "postgresql" or "react"."""

# ---------------------------------------------------------------------------------------
# Skill lookup
# ---------------------------------------------------------------------------------------


_ALIAS_INDEX: dict[str, str] = {}
for _skill in _SKILL_TABLE:
    for _alias in (_skill.name, _skill.display, *_skill.aliases, *_skill.exact):
        _ALIAS_INDEX.setdefault(phrase_key(_alias), _skill.name)


def canonical_skill(term: str) -> str | None:
    """The canonical name for a skill term ("Postgres", "k8s", "Python programming"), or None.

    First an exact alias lookup (case-insensitive); failing that, the keyword matcher runs
    over the term itself and the answer is kept only if it finds exactly one skill.
    """
    key = phrase_key(term)
    if not key:
        return None
    if key in _ALIAS_INDEX:
        return _ALIAS_INDEX[key]
    found = list(_mentions(term))
    return found[0] if len(found) == 1 else None


def implied_closure(name: str) -> list[str]:
    """``name`` followed by everything it implies, transitively, without repeats."""
    out: list[str] = []
    stack = [name]
    while stack:
        current = stack.pop(0)
        if current in out:
            continue
        out.append(current)
        skill = SKILLS.get(current)
        if skill is not None:
            stack.extend(skill.implies)
    return out


def normalize_skills(names: Iterable[str], *, keep_unknown: bool = True) -> list[str]:
    """Canonicalise skill names and add implied skills, keeping first-seen order.

    Unknown names are kept lowercased when ``keep_unknown`` (they match nothing in the
    bank but do no harm), dropped otherwise.
    """
    out: list[str] = []
    for raw in names:
        canonical = canonical_skill(raw)
        if canonical is None:
            if keep_unknown:
                cleaned = squeeze(raw.lower())
                if cleaned and cleaned not in out:
                    out.append(cleaned)
            continue
        for name in implied_closure(canonical):
            if name not in out:
                out.append(name)
    return out


def is_technical(name: str) -> bool:
    """True for a canonical technical skill; False for soft skills and unknown names."""
    skill = SKILLS.get(name)
    return skill is not None and skill.kind == "technical"


def display_name(name: str) -> str:
    """How to write a skill in a sentence ("postgresql" -> "PostgreSQL")."""
    skill = SKILLS.get(name)
    return skill.display if skill is not None else name

# ---------------------------------------------------------------------------------------
# Keyword extraction
# ---------------------------------------------------------------------------------------

_LEFT = r"(?<![\w+#.])"
_RIGHT = r"(?![\w+#]|\.\w)"


def _alias_regex(alias: str) -> str:
    parts = [re.escape(p) for p in alias.split(" ") if p]
    return r"[\s\-]+".join(parts)


# Canonical names that are everyday words (or, for "go", a verb) and so do not count as
# case-insensitive aliases of themselves; their aliases and exact forms still do.
AMBIGUOUS_NAMES = frozenset(
    {"go", "rest", "spark", "swift", "mobile", "performance", "learning", "feedback", "ownership"}
)


def _skill_pattern(skill: Skill) -> re.Pattern[str]:
    names = set(skill.aliases) if skill.name in AMBIGUOUS_NAMES else {skill.name, *skill.aliases}
    insensitive = sorted(names, key=len, reverse=True)
    alternatives = []
    if insensitive:
        alternatives.append("(?i:" + "|".join(_alias_regex(a) for a in insensitive) + ")")
    alternatives.extend(_alias_regex(e) for e in skill.exact)
    return re.compile(_LEFT + "(?:" + "|".join(alternatives) + ")" + _RIGHT)


_PATTERNS: dict[str, re.Pattern[str]] = {s.name: _skill_pattern(s) for s in _SKILL_TABLE}


def _needles(skill: Skill) -> frozenset[str]:
    """Lowercase words of which at least one must occur in a text for the skill to match:
    a cheap substring test that skips most of the regular expressions."""
    names = skill.aliases if skill.name in AMBIGUOUS_NAMES else (skill.name, *skill.aliases)
    return frozenset(a.split(" ")[0].lower() for a in (*names, *skill.exact, skill.name))


_NEEDLES: dict[str, frozenset[str]] = {s.name: _needles(s) for s in _SKILL_TABLE}

_GO_WORD = re.compile(r"(?<![\w+#.\-])Go(?![\w+#\-]|\.\w)")
_GO_SEPARATOR_AFTER = re.compile(r"[ \t]*(?:[,;/|)]|$)", re.MULTILINE)
_GO_NOUN_AFTER = re.compile(
    r"[ \t]+(?:developers?|engineers?|services?|microservices|code(?:base)?|programming"
    r"|language|modules?|backends?|apis?|libraries|library|runtime|routines|1\.\d+)\b",
)
_GO_SEPARATOR_BEFORE = re.compile(
    r"(?:[,;:/|(•·*]|\b(?:in|with|and|or|using|including|like|"
    r"of|e\.g\.|languages?:?))[ \t]*$"
)
_GO_VERB_AFTER = re.compile(
    r"[ \t]+(?:to|live|ahead|back|through|for|on|out|over|into|beyond|further|home|get|"
    r"above|forward|deeper|wrong|away|from|the|a|an)\b",
    re.IGNORECASE,
)


def _go_positions(text: str) -> list[int]:
    """Offsets where "Go" is the programming language (see the module docstring)."""
    found: list[int] = []
    for m in _GO_WORD.finditer(text):
        after = text[m.end() :]
        if _GO_VERB_AFTER.match(after):
            continue
        if _GO_SEPARATOR_AFTER.match(after) or _GO_NOUN_AFTER.match(after):
            found.append(m.start())
            continue
        line_start = text.rfind("\n", 0, m.start()) + 1
        if _GO_SEPARATOR_BEFORE.search(text[line_start : m.start()]):
            found.append(m.start())
    return found


def _mentions(text: str) -> dict[str, tuple[int, int]]:
    """Directly mentioned skills: name -> (first offset, number of mentions), in text order."""
    hits: dict[str, tuple[int, int]] = {}
    lowered = text.lower()
    for name, pattern in _PATTERNS.items():
        if not any(needle in lowered for needle in _NEEDLES[name]):
            continue
        positions = [m.start() for m in pattern.finditer(text)]
        if name == "go":
            positions = sorted(positions + _go_positions(text))
        if positions:
            hits[name] = (positions[0], len(positions))
    return dict(sorted(hits.items(), key=lambda kv: (kv[1][0], kv[0])))


def skill_mentions(text: str) -> dict[str, int]:
    """Directly mentioned canonical skills and how often each appears, in first-seen order."""
    return {name: count for name, (_, count) in _mentions(text).items()}


def extract_skills(text: str) -> list[str]:
    """Canonical skills found in ``text``, in order of first mention, implied skills after
    the skill that implies them. Deterministic; see the module docstring for the rules."""
    out: list[str] = []
    for name in _mentions(text):
        for implied in implied_closure(name):
            if implied not in out:
                out.append(implied)
    return out
