"""Candidate quotes: the answer cut into clauses, pairs of clauses, sentences, pairs of
short sentences, and word windows for unpunctuated transcripts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    text: str
    start: int  # character offsets into the answer
    end: int
    sentence: int  # index of the (first) sentence it belongs to
    units: tuple[int, ...] = ()  # the clauses (numbered across the answer) it is made of


_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\n+")
_CLAUSE_BREAK = re.compile(
    r"\s*[,;:–—]\s+|\s+-\s+|\s+(?=(?:and|but|so|because|while|whereas|although|though|"
    r"since|which|or else|otherwise|instead|unless)\b)",
    re.IGNORECASE,
)
CLAUSE_RUNS = 2  # longest run of consecutive clauses tried as one quote
SENTENCE_PAIRS = True  # also try two consecutive short sentences as one quote
_WINDOW = 14  # words per window when a sentence runs on without punctuation
_LONG_SENTENCE = 28


def _pieces(text: str, pattern: re.Pattern[str], offset: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    pos = 0
    for m in pattern.finditer(text):
        if m.start() > pos:
            out.append((offset + pos, offset + m.start()))
        pos = m.end()
    if pos < len(text):
        out.append((offset + pos, offset + len(text)))
    return [(a, b) for a, b in out if text[a - offset : b - offset].strip()]


def _merge_short(
    pieces: list[tuple[int, int]], text: str, min_words: int = 3
) -> list[tuple[int, int]]:
    """Glue clause fragments of one or two words onto the next (or previous) clause."""
    merged: list[tuple[int, int]] = []
    carry: int | None = None
    for a, b in pieces:
        start = a if carry is None else carry
        if len(text[start:b].split()) < min_words:
            carry = start
            continue
        merged.append((start, b))
        carry = None
    if carry is not None:
        if merged:
            merged[-1] = (merged[-1][0], pieces[-1][1])
        else:
            merged.append((carry, pieces[-1][1]))
    return merged


def split_sentences(answer: str) -> list[tuple[int, int]]:
    return _pieces(answer, _SENTENCE_END, 0)


def split_spans(answer: str) -> list[Span]:
    """Candidate quotes for key points: sentences, clauses, runs of 2-3 clauses, sentence
    pairs and, for long unpunctuated stretches (speech transcripts), word windows."""
    spans: dict[tuple[int, int], Span] = {}

    def add(a: int, b: int, si: int) -> None:
        while a < b and answer[a].isspace():
            a += 1
        while b > a and answer[b - 1] in " \t\n,;:":
            b -= 1
        if b > a and (a, b) not in spans:
            spans[(a, b)] = Span(answer[a:b], a, b, si)

    sentences = split_sentences(answer)
    for si, (s0, s1) in enumerate(sentences):
        add(s0, s1, si)
        clauses = _merge_short(_pieces(answer[s0:s1], _CLAUSE_BREAK, s0), answer)
        if len(clauses) > 1:
            for k, (c0, c1) in enumerate(clauses):
                add(c0, c1, si)
                if k + 1 < len(clauses):
                    add(c0, clauses[k + 1][1], si)
                if CLAUSE_RUNS >= 3 and k + 2 < len(clauses):
                    add(c0, clauses[k + 2][1], si)
        n_words = len(answer[s0:s1].split())
        if n_words > _LONG_SENTENCE:
            tokens = [(m.start() + s0, m.end() + s0) for m in re.finditer(r"\S+", answer[s0:s1])]
            step = _WINDOW // 2
            for k in range(0, max(1, len(tokens) - _WINDOW + step), step):
                chunk = tokens[k : k + _WINDOW]
                if chunk:
                    add(chunk[0][0], chunk[-1][1], si)
        if SENTENCE_PAIRS and si + 1 < len(sentences):
            t1 = sentences[si + 1][1]
            if len(answer[s0:t1].split()) <= 45:
                add(s0, t1, si)
    if not spans and answer.strip():
        add(0, len(answer), 0)
    units = clause_units(answer)
    out = []
    for sp in sorted(spans.values(), key=lambda s: (s.start, s.end)):
        inside = tuple(
            u for u, (a, b) in enumerate(units)
            if min(b, sp.end) - max(a, sp.start) > (b - a) / 2
        )
        out.append(Span(sp.text, sp.start, sp.end, sp.sentence, inside))
    return out


def clause_units(answer: str) -> list[tuple[int, int]]:
    """The answer as consecutive clauses (character ranges): the units of evidence."""
    units: list[tuple[int, int]] = []
    for s0, s1 in split_sentences(answer):
        clauses = _merge_short(_pieces(answer[s0:s1], _CLAUSE_BREAK, s0), answer)
        units.extend(clauses or [(s0, s1)])
    return units
