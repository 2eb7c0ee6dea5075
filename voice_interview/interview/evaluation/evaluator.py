"""Answer evaluation: rubric coverage carries the score, the LLM only writes the feedback.

The bundled SmolLM2-135M cannot judge answers (asked for a grade it scores a correct answer
and an off-topic one alike), so the 0-100 content score is computed here from
``rubric.assess``: key-point coverage, concrete detail, relevance to the question, minus
red flags (contradicting a key point, sweeping claims, dismissive stances, deflecting).
Before any of it, ``gating.gate`` decides whether the answer can be assessed at all (no
speech, too little, a transcript too uncertain to trust): if not, the result is
``insufficient_data`` with the gate's reason and no score.
The LLM, when there is one, turns the rubric outcome into two sentences of feedback under
a small JSON schema with a token cap; if it fails or says nothing usable, the feedback is
written in code. Strengths and weaknesses are always written in code, each citing a quote
from the answer: a strength the quote that earned it, a contradicted key point the
contradicting quote, a red flag the sentence it is in; a missing key point has nothing to
quote and says "not mentioned". ``details["evidence"]`` holds them as data, each quote with
the time it was said in the stored answer audio when the answer was spoken (from the
word timestamps).

Score (``content_score``), per question type t::

    score = clip(SCALE[t] * 100 * (w_cov * coverage + w_spec * min(1, specificity / 0.7)
                                   + w_rel * soft(relevance, 0.2, 0.45)) - penalties, 0, 100)

with (w_cov, w_spec, w_rel) = (0.65, 0.22, 0.13) for technical and situational questions
and (0.45, 0.42, 0.13) for behavioural ones, SCALE 1.0 / 1.25 / 1.4, and penalties of 4
points per sweeping claim, 7 per dismissive stance, 5 per contradicted key point (each at
most three times) and 15 for deflecting.

Same inputs give the same result: similarities are rounded before thresholds, the LLM
runs with a fixed seed and temperature, and nothing time-dependent goes into the result.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

from voice_interview.domain.evaluation import Evaluation, KeyPointCoverage
from voice_interview.domain.question import Question
from voice_interview.engines.llm import LLMError
from voice_interview.interview.evaluation import non_answer
from voice_interview.interview.evaluation.caps import apply_caps
from voice_interview.interview.evaluation.disfluency import strip_disfluencies
from voice_interview.interview.evaluation.gating import (
    MIN_TYPED_WORDS,
    AnswerMeta,
    GateResult,
    gate,
)
from voice_interview.interview.evaluation.rubric import (
    RUBRIC_VERSION,
    KeyPointMatch,
    RubricAssessment,
    TextEmbedder,
    assess,
    split_sentences,
)
from voice_interview.interview.evaluation.speech_metrics import (
    SpokenWord,
    locate_quote,
    parse_words,
)
from voice_interview.settings import Settings
from voice_interview.text.normalize import content_stems, words

log = logging.getLogger(__name__)

PROMPT_VERSION = "feedback-2025.1"
SCORING_VERSION = "score-2025.1"

MIN_WORDS = MIN_TYPED_WORDS  # typed answers with fewer words are insufficient_data
MAX_WORDS = 600  # longer answers are evaluated on their first MAX_WORDS words

# Sub-score weights per question type (each row sums to 1). Behavioural key points are
# descriptors ("States the result"), which vague answers echo better than concrete stories
# do, so there the concrete detail of the answer weighs more than the rubric match.
_WEIGHTS: dict[str, tuple[float, float, float]] = {
    # (coverage, specificity, relevance)
    "technical": (0.65, 0.22, 0.13),
    "situational": (0.65, 0.22, 0.13),
    "behavioral": (0.45, 0.42, 0.13),
}
# Calibration: behavioural and situational key points are abstract, so even strong answers
# match them less closely than technical ones; these stretch the weighted sum so a strong
# answer lands near 75-90 for every question type. Monotone, so rankings do not change.
_SCALE: dict[str, float] = {"technical": 1.0, "situational": 1.25, "behavioral": 1.4}
SPECIFICITY_FULL = 0.7  # specificity signal that earns the full specificity sub-score
RELEVANCE_LOW = 0.2  # topicality (see rubric) with no relevance credit
RELEVANCE_HIGH = 0.45  # ... and with full credit
# Penalties, in points of the 0-100 score. (Vague filler has no penalty of its own: it
# already dilutes specificity, and a second charge would rank honest hedging below
# confident errors.)
PENALTY_OVERCLAIM = 4.0  # per sweeping claim ("always", "basically the same"), at most 3
PENALTY_DISMISSIVE = 7.0  # per dismissive stance ("doesn't matter", "just skip"), at most 3
PENALTY_DEFLECT = 15.0  # the answer steps around the question ("I'd look it up")
PENALTY_CONTRADICTION = 5.0  # per contradicted key point, on top of losing its credit

FEEDBACK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"feedback": {"type": "string", "minLength": 20, "maxLength": 200}},
    "required": ["feedback"],
}

FEEDBACK_SYSTEM = (
    "You are a friendly interview coach. You rewrite the feedback draft you are given into "
    "exactly two short sentences addressed to the candidate as 'you'. Keep its facts, add "
    "no new facts, no score, no lists. Reply only as JSON: {\"feedback\": \"...\"}"
)


class FeedbackLLM(Protocol):
    def complete_json(
        self,
        system: str,
        user: str,
        schema: dict[str, Any],
        *,
        max_tokens: int,
        temperature: float | None = ...,
        seed: int | None = ...,
    ) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Evidence:
    """One strength or weakness as data: what it says and the quote it rests on."""

    kind: Literal["strength", "weakness"]
    text: str  # the sentence shown in strengths / weaknesses
    quote: str | None  # from the answer; None when there is nothing to quote
    note: str | None = None  # e.g. "not mentioned"
    key_point: str | None = None
    status: str | None = None  # covered | partial | missing | contradicted | red_flag

    def to_dict(self, spoken: Sequence[SpokenWord]) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "text": self.text,
            "key_point": self.key_point,
            "status": self.status,
            "quote": self.quote,
            "note": self.note,
            **_clip_times(self.quote, spoken),
        }


def _clip_times(quote: str | None, spoken: Sequence[SpokenWord]) -> dict[str, float | None]:
    """Where a quote was said in the answer's audio (None for typed answers or no match)."""
    at = locate_quote(quote, spoken) if quote else None
    return {"start_s": at[0] if at else None, "end_s": at[1] if at else None}


@dataclass(frozen=True)
class ContentScore:
    score: float  # 0-100
    coverage: float  # sub-scores, 0-100 each before weighting
    specificity: float
    relevance: float
    penalties: dict[str, float]


def _soft(x: float, lo: float, hi: float) -> float:
    return min(1.0, max(0.0, (x - lo) / (hi - lo)))


def content_score(a: RubricAssessment, question_type: str) -> ContentScore:
    """The 0-100 score from a rubric assessment. Pure: the same assessment, the same score."""
    w_cov, w_spec, w_rel = _WEIGHTS.get(str(question_type), _WEIGHTS["technical"])
    s = a.signals
    coverage = a.coverage
    specificity = min(1.0, s.specificity / SPECIFICITY_FULL)
    relevance = _soft(s.relevance, RELEVANCE_LOW, RELEVANCE_HIGH)
    penalties = {
        "overclaim": PENALTY_OVERCLAIM * min(3, len(s.overclaims)),
        "dismissive": PENALTY_DISMISSIVE * min(3, len(s.dismissive)),
        "deflect": PENALTY_DEFLECT if s.deflections else 0.0,
        "contradiction": PENALTY_CONTRADICTION * min(3, len(a.contradictions)),
    }
    scale = _SCALE.get(str(question_type), 1.0)
    raw = 100.0 * scale * (w_cov * coverage + w_spec * specificity + w_rel * relevance)
    score = min(100.0, max(0.0, raw - sum(penalties.values())))
    return ContentScore(
        score=round(score, 1),
        coverage=round(100.0 * coverage, 1),
        specificity=round(100.0 * specificity, 1),
        relevance=round(100.0 * relevance, 1),
        penalties=penalties,
    )


def score_band(score: float) -> str:
    if score >= 75:
        return "strong"
    if score >= 50:
        return "good, with gaps"
    if score >= 25:
        return "partial"
    return "weak"


def _short(text: str, limit: int = 140) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _lower_first(text: str) -> str:
    """Lower-case a sentence's first word for use mid-sentence, unless it looks like a name
    or an acronym ("JavaScript", "GET", "CPython")."""
    first = text.split(" ", 1)[0]
    return text[:1].lower() + text[1:] if first.istitle() and first.isalpha() else text


class Evaluator:
    """Scores an answer against its question's rubric; blocking (run it on an engine queue)."""

    def __init__(
        self,
        llm: FeedbackLLM | None,
        embedder: TextEmbedder | None,
        *,
        feedback_max_tokens: int = 96,
        seed: int = 0,
        temperature: float = 0.0,
    ) -> None:
        self.llm = llm
        self.embedder = embedder
        self.feedback_max_tokens = feedback_max_tokens
        self.seed = seed
        self.temperature = temperature
        self._models: dict[str, Any] | None = None

    @classmethod
    def configured(
        cls, llm: FeedbackLLM | None, embedder: TextEmbedder | None, settings: Settings
    ) -> Evaluator:
        """The evaluator the server (and the CLI's rescore / eval-bench) runs: feedback
        length, seed and temperature from the settings."""
        return cls(
            llm,
            embedder,
            feedback_max_tokens=settings.llm_feedback_max_tokens,
            seed=settings.llm_seed,
            temperature=settings.llm_temperature,
        )

    # -- public API -------------------------------------------------------------------------

    def evaluate(
        self, question: Question, answer_text: str, answer: AnswerMeta | None = None
    ) -> Evaluation:
        """Gate, then score ``answer_text``. ``answer`` says how it was given (typed when
        None) and, for a spoken answer, carries its stt info: the gate reads its
        confidence and speech time, and the evidence its word timestamps."""
        meta = answer if answer is not None else AnswerMeta()
        text = " ".join((answer_text or "").split())
        n_words = len(words(text))
        verdict = gate(text, meta)
        base_details: dict[str, Any] = {
            "rubric_version": RUBRIC_VERSION,
            "prompt_version": PROMPT_VERSION,
            "scoring_version": SCORING_VERSION,
            "models": self._model_info(),
            "seed": self.seed,
            "temperature": self.temperature,
            "answer_words": n_words,
            "answer_source": meta.source,
            "gate": verdict.to_dict(),
        }
        non = non_answer.detect(text, meta, verdict)
        if non is not None:
            return _non_answer_result(question, non, base_details)
        if not verdict.assessable:
            return Evaluation(
                status="insufficient_data",
                score=None,
                feedback=_not_assessed_feedback(verdict),
                strengths=[],
                weaknesses=[],
                coverage=[
                    KeyPointCoverage(kp, "missing", "", 0.0) for kp in question.key_points
                ],
                details=base_details | {"reason": verdict.reason, "evidence": []},
            )
        spoken = parse_words(meta.stt.get("words")) if meta.spoken else []
        return self._scored(question, text, n_words, base_details, spoken)

    def _scored(
        self,
        question: Question,
        answer: str,
        n_words: int,
        base_details: dict[str, Any],
        spoken: Sequence[SpokenWord],
    ) -> Evaluation:
        if n_words > MAX_WORDS:
            answer = _first_words(answer, MAX_WORDS)
            base_details["truncated_to_words"] = MAX_WORDS
        answer = strip_disfluencies(answer)
        assessment = assess(question.text, list(question.key_points), answer, self.embedder)
        declined = non_answer.detect_declared(answer, assessment.coverage)
        if declined is not None:
            return _non_answer_result(question, declined, base_details)
        scored = content_score(assessment, question.question_type)
        capped, caps = apply_caps(
            scored.score, assessment, answer, question.question_type
        )
        if caps:
            scored = replace(scored, score=capped)
        evidence = self._evidence(assessment, answer)
        strengths = [e.text for e in evidence if e.kind == "strength"]
        weaknesses = [e.text for e in evidence if e.kind == "weakness"]
        feedback, source, llm_error = self._feedback(question, assessment, scored)
        s = assessment.signals
        details = base_details | {
            "embedding_used": assessment.embedding_used,
            "sub_scores": {
                "coverage": scored.coverage,
                "specificity": scored.specificity,
                "relevance": scored.relevance,
                "penalties": scored.penalties,
                "weights": dict(
                    zip(
                        ("coverage", "specificity", "relevance"),
                        _WEIGHTS.get(str(question.question_type), _WEIGHTS["technical"]),
                        strict=True,
                    )
                ),
            },
            "signals": {
                "topicality": s.relevance,
                "answer_question_cosine": s.answer_cosine,
                "focus": s.focus,
                "specificity": s.specificity,
                "vagueness": s.vagueness,
                "hedges": s.hedges,
                "overclaims": s.overclaims,
                "dismissive": s.dismissive,
                "deflections": s.deflections,
                "numbers": len(s.numbers),
            },
            "coverage": [_match_detail(m, spoken) for m in assessment.matches],
            "evidence": [e.to_dict(spoken) for e in evidence],
            "feedback_source": source,
            "caps": caps,
            "score_parts": {
                "coverage": scored.coverage,
                "relevance": scored.relevance,
                "specificity": scored.specificity,
                "penalties": scored.penalties,
                "caps": caps,
                "final": scored.score,
            },
        }
        if llm_error is not None:
            details["llm_error"] = llm_error
        return Evaluation(
            status="scored",
            score=scored.score,
            feedback=feedback,
            strengths=strengths,
            weaknesses=weaknesses,
            coverage=[
                KeyPointCoverage(
                    m.key_point, m.status, m.quote, m.similarity, c["start_s"], c["end_s"]
                )
                for m, c in zip(assessment.matches, details["coverage"], strict=True)
            ],
            details=details,
        )

    # -- pieces -----------------------------------------------------------------------------

    def _model_info(self) -> dict[str, Any]:
        if self._models is None:
            models: dict[str, Any] = {}
            for role, engine in (("llm", self.llm), ("embed", self.embedder)):
                info = getattr(engine, "model_info", None)
                if engine is None:
                    models[role] = None
                elif info is None:
                    models[role] = {"name": type(engine).__name__, "sha256": None}
                else:
                    try:
                        sha = str(info.sha256)
                    except OSError as e:
                        log.warning("could not hash the %s model: %s", role, e)
                        sha = None
                    models[role] = {"name": str(getattr(info, "name", "")), "sha256": sha}
            self._models = models
        return dict(self._models)

    @staticmethod
    def _evidence(a: RubricAssessment, answer: str) -> list[Evidence]:
        """Strengths and weaknesses, each with the quote it rests on."""
        items: list[Evidence] = []
        for m in a.matches:
            kp = m.key_point
            if m.contradiction is not None:
                items.append(Evidence(
                    "weakness",
                    f"Contradicts a key point ({kp}): \u201c{_short(m.quote)}\u201d",
                    m.quote, key_point=kp, status="contradicted",
                ))
            elif m.status == "covered":
                items.append(Evidence(
                    "strength", f"{kp}: \u201c{_short(m.quote)}\u201d", m.quote,
                    key_point=kp, status="covered",
                ))
            elif m.status == "partial":
                items.append(Evidence(
                    "strength", f"Partly covered: {kp}: \u201c{_short(m.quote)}\u201d",
                    m.quote, key_point=kp, status="partial",
                ))
                items.append(Evidence(
                    "weakness", f"Only partly covered: {kp}: \u201c{_short(m.quote)}\u201d",
                    m.quote, key_point=kp, status="partial",
                ))
            else:
                items.append(Evidence(
                    "weakness", f"Missing: {kp} (not mentioned)", None,
                    note="not mentioned", key_point=kp, status="missing",
                ))
        s = a.signals
        flags: list[tuple[str, list[str]]] = []
        if s.deflections:
            cues = _unique(s.deflections)[:2]
            flags.append((
                "Stepped around the question ("
                + ", ".join(f"\u201c{d}\u201d" for d in cues) + ")", cues,
            ))
        if s.overclaims:
            cues = _unique(s.overclaims)[:3]
            flags.append((
                "Sweeping claims that need qualifying: "
                + ", ".join(f"\u201c{c}\u201d" for c in cues), cues,
            ))
        if s.dismissive:
            cues = _unique(s.dismissive)[:3]
            flags.append((
                "Dismissive or risky stance: "
                + ", ".join(f"\u201c{c}\u201d" for c in cues), cues,
            ))
        if s.vagueness >= 0.5:
            cues = _unique([*s.hedges, *s.vague])[:3]
            text = "Vague or hedged wording; few concrete details"
            if cues:
                text += " (" + ", ".join(f"\u201c{c}\u201d" for c in cues) + ")"
            flags.append((text, cues))
        for text, cues in flags:
            quote = _context_quote(answer, cues[0]) if cues else None
            note = None if quote else "throughout the answer"
            items.append(Evidence("weakness", text, quote, note=note, status="red_flag"))
        return items

    def _feedback(
        self, q: Question, a: RubricAssessment, scored: ContentScore
    ) -> tuple[str, str, str | None]:
        """(feedback, source "llm" | "rules", llm error or None)."""
        fallback = rule_feedback(a, scored.score, q.question_type)
        if self.llm is None:
            return fallback, "rules", None
        prompt = feedback_prompt(q, a, scored.score, fallback)
        try:
            out = self.llm.complete_json(
                FEEDBACK_SYSTEM,
                prompt,
                FEEDBACK_SCHEMA,
                max_tokens=self.feedback_max_tokens,
                temperature=self.temperature,
                seed=self.seed,
            )
        except LLMError as e:
            log.warning("feedback generation failed, using rule-based feedback: %s", e)
            return fallback, "rules", str(e)
        # Grounded in the draft and the key points, not the question: restating the
        # question is not feedback.
        grounding = " ".join([fallback, *(m.key_point for m in a.matches)])
        text = clean_feedback(
            out.get("feedback"), grounding=grounding, allow_praise=scored.score >= 50,
            min_sentences=2,
        )
        if not text:
            return fallback, "rules", "empty or unusable feedback from the model"
        return text, "llm", None


def _unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(i.lower() for i in items))


def _first_words(text: str, n: int) -> str:
    for count, m in enumerate(re.finditer(r"\S+", text), start=1):
        if count == n:
            return text[: m.end()]
    return text


def _non_answer_result(
    question: Question, non: non_answer.NonAnswer, base_details: dict[str, Any]
) -> Evaluation:
    """A non-answer scores 0 and counts in the overall score; the report says why."""
    cap = {"cap": 0.0, "kind": "non_answer", "reason": non.reason}
    return Evaluation(
        status="scored",
        score=0.0,
        feedback=(
            "You did not answer this question, so it scores 0. Even without direct "
            "experience, walking through how you would approach it earns credit."
        ),
        strengths=[],
        weaknesses=[f"No answer given ({non.reason.removeprefix('no answer: ')})"],
        coverage=[KeyPointCoverage(kp, "missing", "", 0.0) for kp in question.key_points],
        details=base_details
        | {
            "non_answer": non.to_dict(),
            "caps": [cap],
            "score_parts": {"uncapped": 0.0, "final": 0.0, "caps": [cap]},
            "evidence": [],
            "feedback_source": "rules",
        },
    )


def _not_assessed_feedback(verdict: GateResult) -> str:
    if verdict.code == "no_speech":
        return "No answer was heard, so this question was not assessed."
    if verdict.code == "low_confidence":
        return (
            "The recording was not clear enough to transcribe reliably, so this answer was "
            "not assessed. A quieter room or a closer microphone helps."
        )
    return (
        "There was not enough of an answer to evaluate. Try answering in a few full "
        "sentences: what you would do and why."
    )


_CONTEXT_WORDS = 30  # a red flag's quote: its sentence, or this many words around it


def _context_quote(answer: str, cue: str) -> str | None:
    """The sentence of ``answer`` in which ``cue`` first occurs (a window of words around
    it when the sentence runs long), or None if the cue is not in the answer."""
    found = re.search(re.escape(cue), answer, re.IGNORECASE)
    if found is None:
        return None
    for a, b in split_sentences(answer):
        if a <= found.start() < b:
            sentence = answer[a:b].strip()
            break
    else:
        sentence = answer
    if len(sentence.split()) <= _CONTEXT_WORDS:
        return sentence
    before = answer[: found.start()].split()[-(_CONTEXT_WORDS // 2):]
    after = answer[found.start():].split()[: _CONTEXT_WORDS // 2]
    return " ".join([*before, *after])


def _match_detail(m: KeyPointMatch, spoken: Sequence[SpokenWord] = ()) -> dict[str, Any]:
    return {
        "key_point": m.key_point,
        "status": m.status,
        "quote": m.quote,
        "similarity": m.similarity,
        "cosine": m.cosine,
        "lexical": m.lexical,
        "credit": m.credit,
        "contradiction": m.contradiction,
        **_clip_times(m.quote, spoken),
    }


def feedback_prompt(q: Question, a: RubricAssessment, score: float, draft: str) -> str:
    """The user message: the question, the rubric outcome and the rule-written draft."""
    covered = [m.key_point for m in a.matches if m.status == "covered"]
    missing = [m.key_point for m in a.matches if m.status != "covered" and not m.contradiction]
    wrong = [m.key_point for m in a.matches if m.contradiction]
    lines = [
        f"Interview question: {q.text}",
        f"The answer was {score_band(score)}.",
        "It covered: " + ("; ".join(covered[:3]) if covered else "none of the key points"),
        "It missed: " + ("; ".join(missing[:2]) if missing else "nothing important"),
    ]
    if wrong:
        lines.append("It got wrong: " + "; ".join(wrong[:2]))
    lines.append(f"Draft: {draft}")
    lines.append("Rewrite the draft as two friendly sentences to the candidate.")
    return "\n".join(lines)


_REPEAT = re.compile(r"\b(\w+)\b(?:\W+\1\b){2,}", re.IGNORECASE)
_DIGIT_CHAIN = re.compile(r"\d(?:[.,]\d){3,}")
# The coach talking about itself or agreeing with the candidate, not giving feedback.
_COACH_TALK = re.compile(r"\b(?:I'm|I am|I'll|I will|I'd|I have|you're right)\b", re.IGNORECASE)


def _repetitive(text: str) -> bool:
    toks = words(text)
    grams = [tuple(toks[i : i + 3]) for i in range(len(toks) - 2)]
    return bool(grams) and len(set(grams)) < 0.85 * len(grams)


_PRAISE = re.compile(
    r"\b(?:great|excellent|fantastic|impressive|wonderful|perfect|outstanding|strong|"
    r"testament|well done|good job|clearly|thorough|comprehensive)\b",
    re.IGNORECASE,
)


def clean_feedback(
    value: object, grounding: str = "", *, allow_praise: bool = True, min_sentences: int = 1
) -> str:
    """The model's feedback tidied to at most two complete sentences, or "" when it is
    unusable: too short, fewer than ``min_sentences`` complete sentences, repetitive, not
    addressed to the candidate, praising a weak answer (``allow_praise=False``), or (given
    ``grounding`` text) with under half of its content words taken from the facts."""
    if not isinstance(value, str):
        return ""
    text = " ".join(value.replace("\\n", " ").split()).strip(" \"'")
    if len(text) < 20 or _REPEAT.search(text) or _DIGIT_CHAIN.search(text):
        return ""
    sentences = [x for x in re.split(r"(?<=[.!?])\s+", text) if x]
    complete = [x for x in sentences if re.search(r"[a-zA-Z][\"')]?[.!?]$", x)]
    if len(complete) < min_sentences:
        return ""  # the second sentence (what to add or fix) is the useful one
    text = " ".join(complete[:2])
    if len(text) < 20 or not re.search(r"\byou(?:r|'ve|'re)?\b", text, re.IGNORECASE):
        return ""
    if _COACH_TALK.search(text) or _repetitive(text):
        return ""
    if not allow_praise and _PRAISE.search(text):
        return ""  # warm words about a weak answer mislead the candidate
    if grounding:
        own = set(content_stems(text))
        given = set(content_stems(grounding))
        if not own or len(own & given) / len(own) < 0.5:
            return ""
    return text


_DESCRIPTOR_VERBS: dict[str, tuple[str, str]] = {
    # rubric descriptor verb: (imperative, past)
    "describes": ("describe", "described"),
    "explains": ("explain", "explained"),
    "states": ("state", "stated"),
    "shows": ("show", "showed"),
    "gives": ("give", "gave"),
    "shares": ("share", "shared"),
    "mentions": ("mention", "mentioned"),
    "names": ("name", "named"),
    "sets": ("set", "set"),
}
_IRREGULAR_PAST = frozenset(
    ["took", "made", "found", "built", "kept", "ran", "led", "gave", "told", "set", "wrote",
     "got", "did", "sent", "brought", "met"]
)


def _phrases(key_point: str, question_type: str) -> tuple[str, str, str]:
    """(praise, touched-on, advice) sentences for a key point, worded for its form: a
    behavioural descriptor ("Describes the incident"), a past action ("Took ownership"), a
    step of a plan (situational questions) or a fact."""
    kp = key_point.strip().rstrip(".")
    first, _, rest = kp.partition(" ")
    low = first.lower()
    qt = str(question_type)
    if qt == "behavioral" and low in _DESCRIPTOR_VERBS and rest:
        base, past = _DESCRIPTOR_VERBS[low]
        return (f"You {past} {rest}.", f"You touched on {rest}.",
                f"To strengthen it, {base} {rest}.")
    if qt == "behavioral" and ((low.endswith("ed") and len(low) > 4) or low in _IRREGULAR_PAST):
        action = _lower_first(kp)
        return (f"You {action}.", f"You touched on how you {action}.",
                f"To strengthen it, say how you {action}.")
    point = _lower_first(kp)
    if qt == "behavioral":
        return (f"You covered {point}.", f"You touched on {point}.",
                f"To strengthen it, also cover: {point}.")
    if qt == "situational":
        return (f"You covered a key step: {point}.", f"You touched on one step: {point}.",
                f"To strengthen it, also cover this step: {point}.")
    return (f"You explained well that {point}.", f"You touched on the point that {point}.",
            f"To strengthen it, also cover: {point}.")


def rule_feedback(a: RubricAssessment, score: float, question_type: str = "technical") -> str:
    """Two sentences written from the rubric outcome: what worked, then the most important
    thing to add or correct. Used without the LLM, as its draft, and as its fallback."""
    covered = [m for m in a.matches if m.status == "covered"]
    partial = [m for m in a.matches if m.status == "partial"]
    missing = [m for m in a.matches if m.status == "missing" and m.contradiction is None]
    wrong = [m for m in a.matches if m.contradiction is not None]
    s = a.signals
    qt = str(question_type)
    todo = missing or partial
    if s.deflections and not covered:
        first = (
            "You did not really answer the question; walking through how you would approach "
            "it would earn credit even without direct experience."
        )
    elif covered and score >= 50:
        first = _phrases(covered[0].key_point, qt)[0]
        extra = len(covered) - 1
        if extra:
            first = first[:-1] + f", along with {extra} other key point{'s' if extra > 1 else ''}."
    elif score >= 50:
        first = "You gave a specific, concrete answer."
    elif covered or partial:
        first = (
            _phrases((covered or partial)[0].key_point, qt)[1][:-1]
            + ", but the answer stays thin overall."
        )
    else:
        first = "Your answer did not yet address what this question is looking for."
    if wrong and (wrong[0].contradiction or "").startswith("dismissive"):
        second = (
            f"Rethink \u201c{_short(wrong[0].quote, 70)}\u201d: an interviewer will read it "
            "as a red flag."
        )
    elif wrong:
        second = (
            f"Check your claim \u201c{_short(wrong[0].quote, 70)}\u201d, which conflicts with "
            f"the point that {_lower_first(wrong[0].key_point)}."
        )
    elif (s.dismissive or len(s.overclaims) >= 2) and not s.deflections:
        cue = (s.dismissive or s.overclaims)[0]
        second = f"Avoid sweeping or dismissive statements like \u201c{cue}\u201d."
    elif todo:
        second = _phrases(todo[0].key_point, qt)[2]
    else:
        second = "A concrete example or number from your own work would make it even better."
    return f"{first} {second}"
