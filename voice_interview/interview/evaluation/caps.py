"""Caps on the content score: relevance first.

The weighted sum in ``evaluator.content_score`` rewards concrete detail and vocabulary,
so a long, fluent answer to a different question could earn 25-45 points on detail
alone. These rules cap the score, whatever the detail, when the answer does not address
the question, and each cap is reported with its reason:

* ``off_topic``: the answer's most on-topic sentences are far from the question and
  its key points (topicality below OFF_TOPIC_RELEVANCE) and it covers almost none of
  the rubric (coverage below OFF_TOPIC_COVERAGE) -> at most OFF_TOPIC_CAP. For a
  technical or situational question also when the answer as a whole is far from the
  question (``answer_cosine`` below FAR_QUESTION_COSINE) and from the question with its key
  points (``rubric_cosine`` below FAR_RUBRIC_COSINE) and covers under FAR_COVERAGE: an answer in
  the field's words to a neighbouring question has on-topic-looking sentences, but the
  whole of it is about something else.
* ``keyword_stuffing``: a list of terms rather than sentences: function words make up
  under STUFFING_FUNCTION_SHARE of the words, or at least STUFFING_MIN_TERMS pieces
  between commas are bare terms (at most four words, at most one function word) and
  they hold STUFFING_LIST_SHARE of the words, so a list that ends in one short sentence
  ("..., pending changes. Offline support.") is still a list, or (without punctuation,
  as in a transcript of a spoken list) STUFFING_WINDOW_SHARE of the words lie in runs of
  STUFFING_WINDOW words with at most one function word -> at most STUFFING_CAP.
* ``contradiction``: more of its claims contradict key points than it covers key
  points -> at most CONTRADICTION_CAP. One clause that voids two key points is one claim
  (``contradicting_claims``).
* ``other_question``: it covers another question of the bank far better than this one
  (``other_question.OtherQuestions``) -> at most OTHER_QUESTION_CAP.

Under a cap the score keeps its order within the cap's last CAP_SPREAD points, so capped
answers do not tie. Pure and deterministic: the same assessment, the same caps.
"""

from __future__ import annotations

import re
from typing import Any

from voice_interview.interview.evaluation.other_question import OtherMatch
from voice_interview.interview.evaluation.rubric import RubricAssessment
from voice_interview.text.normalize import STOPWORDS, words

CAPS_VERSION = "caps-2026.5"

# Topicality (rubric.AnswerSignals.relevance) below which an answer is off topic, per
# question type: a true story matches a behavioural question's wording loosely (strong
# behavioural answers on the dev set reach down to 0.24), technical answers do not.
OFF_TOPIC_RELEVANCE: dict[str, float] = {"technical": 0.33, "behavioral": 0.2, "situational": 0.2}
OFF_TOPIC_COVERAGE = 0.12  # ... when the rubric coverage is also below this
OFF_TOPIC_CAP = 15.0
# The whole-answer test, per question type; none for behavioural questions, whose true
# stories resemble the question no more than stories told for another one do. Set on the
# graded set's tuning half: every technical off-topic answer but one falls under it and no
# answer that was not already under 15 does; all four situational off-topic answers (their
# partial and poor answers lie at 0.33 and above). dev.jsonl and eval_own.jsonl are
# unchanged by it.
FAR_QUESTION_COSINE: dict[str, float] = {"technical": 0.38, "situational": 0.30}
FAR_RUBRIC_COSINE: dict[str, float] = {"technical": 0.48, "situational": 0.40}
FAR_COVERAGE = 0.25
STUFFING_MIN_WORDS = 6
STUFFING_FUNCTION_SHARE = 0.18
STUFFING_MIN_TERMS = 8
STUFFING_LIST_SHARE = 0.6
STUFFING_WINDOW = 10
STUFFING_WINDOW_SHARE = 0.6
STUFFING_CAP = 15.0
CONTRADICTION_CAP = 18.0
OTHER_QUESTION_CAP = 15.0


def _function_share(answer: str) -> float:
    toks = words(answer)
    return sum(1 for t in toks if t in STOPWORDS) / len(toks) if toks else 0.0


_LIST_BREAK = re.compile(r"[,;:.!?]+")
_TERM_WORDS = 4


def list_terms(answer: str) -> tuple[int, float]:
    """(how many pieces between commas and stops are bare terms, their share of the
    words): "Room, Core Data, SQLite, source of truth" is four terms."""
    pieces = [words(p) for p in _LIST_BREAK.split(answer)]
    pieces = [p for p in pieces if p]
    total = sum(len(p) for p in pieces)
    terms = [
        p for p in pieces
        if len(p) <= _TERM_WORDS and sum(1 for t in p if t in STOPWORDS) <= 1
    ]
    return len(terms), (sum(len(p) for p in terms) / total if total else 0.0)


def list_window_share(answer: str) -> float:
    """Share of the words inside some run of STUFFING_WINDOW consecutive words that has at
    most one function word: punctuation-free, so a spoken list whose transcript lost its
    commas still reads as a list, while sentences (a third to a half function words) do
    not."""
    toks = words(answer)
    n = len(toks)
    if n < STUFFING_WINDOW:
        return 0.0
    function = [t in STOPWORDS for t in toks]
    inside = [False] * n
    count = sum(function[:STUFFING_WINDOW])
    for i in range(n - STUFFING_WINDOW + 1):
        if i:
            count += function[i + STUFFING_WINDOW - 1] - function[i - 1]
        if count <= 1:
            for j in range(i, i + STUFFING_WINDOW):
                inside[j] = True
    return sum(inside) / n


def _far(
    answer_cosine: float, rubric_cosine: float, question_type: str
) -> tuple[float, float] | None:
    """The whole-answer thresholds the answer falls under, or None."""
    if question_type not in FAR_QUESTION_COSINE:
        return None
    limits = (FAR_QUESTION_COSINE[question_type], FAR_RUBRIC_COSINE[question_type])
    return limits if answer_cosine < limits[0] and rubric_cosine < limits[1] else None


def caps_for(
    a: RubricAssessment,
    answer: str,
    question_type: str = "technical",
    other: OtherMatch | None = None,
) -> list[dict[str, Any]]:
    """Every cap that applies, each as {cap, kind, reason}."""
    out: list[dict[str, Any]] = []
    if other is not None:
        out.append({
            "cap": OTHER_QUESTION_CAP,
            "kind": "other_question",
            "reason": (
                f"answers another question of the bank (\"{other.question}\"): covers "
                f"{other.coverage:.0%} of its key points and {other.own_coverage:.0%} of "
                "this question's"
            ),
        })
    s = a.signals
    low = OFF_TOPIC_RELEVANCE.get(str(question_type), OFF_TOPIC_RELEVANCE["technical"])
    if a.embedding_used and s.relevance < low and a.coverage < OFF_TOPIC_COVERAGE:
        out.append({
            "cap": OFF_TOPIC_CAP,
            "kind": "off_topic",
            "reason": (
                f"does not address the question (topicality {s.relevance:.2f} < "
                f"{low}, rubric coverage {a.coverage:.2f})"
            ),
        })
    elif (
        a.embedding_used
        and (far := _far(s.answer_cosine, s.rubric_cosine, str(question_type))) is not None
        and a.coverage < FAR_COVERAGE
    ):
        out.append({
            "cap": OFF_TOPIC_CAP,
            "kind": "off_topic",
            "reason": (
                "the answer as a whole is about something else (similarity to the "
                f"question {s.answer_cosine:.2f} < {far[0]}, to the question and its key "
                f"points {s.rubric_cosine:.2f} < {far[1]}, rubric coverage {a.coverage:.2f})"
            ),
        })
    share = _function_share(answer)
    n_terms, term_share = list_terms(answer)
    listed = n_terms >= STUFFING_MIN_TERMS and term_share >= STUFFING_LIST_SHARE
    window = list_window_share(answer)
    if s.words >= STUFFING_MIN_WORDS and share < STUFFING_FUNCTION_SHARE:
        out.append({
            "cap": STUFFING_CAP,
            "kind": "keyword_stuffing",
            "reason": (
                f"a list of terms, not an explanation ({share:.0%} function words, "
                f"under {STUFFING_FUNCTION_SHARE:.0%})"
            ),
        })
    elif listed or window >= STUFFING_WINDOW_SHARE:
        if listed:
            why = f"{n_terms} bare terms between commas, {term_share:.0%} of the words"
        else:
            why = (
                f"{window:.0%} of the words in runs of {STUFFING_WINDOW} with at most one "
                "function word"
            )
        out.append({
            "cap": STUFFING_CAP,
            "kind": "keyword_stuffing",
            "reason": f"a list of terms, not an explanation ({why})",
        })
    covered = sum(1 for m in a.matches if m.status == "covered")
    claims = contradicting_claims(a, answer) if a.contradictions else 0
    if claims > covered:
        out.append({
            "cap": CONTRADICTION_CAP,
            "kind": "contradiction",
            "reason": (
                f"contradicts {len(a.contradictions)} key point(s) in {claims} claim(s) "
                f"and covers {covered}: "
                + "; ".join(a.contradictions[:2])
            ),
        })
    return out


def contradicting_claims(a: RubricAssessment, answer: str) -> int:
    """How many separate claims of the answer contradict key points: quotes that overlap
    in the answer are one claim ("sleeps instead of waiting" voids both the cause and the
    fix key point, but it is one sentence saying one thing)."""
    spans: list[tuple[int, int]] = []
    for m in a.matches:
        if m.contradiction is None:
            continue
        at = answer.find(m.quote) if m.quote else -1
        spans.append((at, at + len(m.quote)) if at >= 0 else (-1 - len(spans), -1 - len(spans)))
    claims = 0
    end = None
    for start, stop in sorted(spans):
        if end is None or start >= end or start < 0:
            claims += 1
            end = stop
        else:
            end = max(end, stop)
    return claims


CAP_SPREAD = 5.0  # a capped score lands in [cap - CAP_SPREAD, cap], ordered by the score


def apply_caps(
    score: float,
    a: RubricAssessment,
    answer: str,
    question_type: str = "technical",
    other: OtherMatch | None = None,
) -> tuple[float, list[dict[str, Any]]]:
    """(capped score, the caps that lowered it). A cap above the score is not listed.

    A capped answer keeps the order of its uncapped score within the cap's last
    CAP_SPREAD points (``cap - CAP_SPREAD * (1 - score / 100)``): two off-topic answers do
    not tie, and the one that says more about the question stays above."""
    caps = [c for c in caps_for(a, answer, question_type, other) if c["cap"] < score]
    if not caps:
        return score, []
    capped = min(c["cap"] for c in caps) - CAP_SPREAD * (1.0 - min(100.0, score) / 100.0)
    return round(capped, 1), caps
