"""Whether an answer can be assessed at all: honest gating before any score.

An answer that is not there, too short, or whose transcript cannot be trusted gets
``insufficient_data`` with a reason a person can read, never an invented score. The rules
are computed here, in code, from what was stored with the answer:

Typed answers are gated on length only:

* empty                       -> ``empty``          "empty answer"
* fewer than MIN_TYPED_WORDS  -> ``too_short``      "answer too short (3 words)"

Spoken answers (``source`` "voice" or "none"):

* nothing heard, or no words recognised -> ``no_speech``
* fewer than MIN_SPOKEN_WORDS words, or under MIN_SPEECH_S of voiced speech
                                        -> ``too_little_speech``
* a transcript that cannot be trusted   -> ``low_confidence``:
  - average log-probability below MIN_AVG_LOGPROB (Whisper's own "decoding failed" line), or
  - mean word probability below MIN_MEAN_WORD_PROB, or
  - no-speech probability above MAX_NO_SPEECH_PROB while the words are not confidently
    recognised either (mean word probability below NO_SPEECH_WORD_PROB). The no-speech
    probability does not gate alone: a transcript merged from pieces reports the highest
    value of any piece, and clean answers among the audio fixtures reach 0.58.

Calibration, the live path (VAD, incremental tiny.en int8, merge) on the 16 audio
fixtures: all pass; average log-probability -0.11 to -0.82, mean word probability 0.63
to 0.96 (the robotic espeak voices are the low end, at 20-60 % word error rate), merged
no-speech probability up to 0.58. With white noise added the mean word probability
falls with the word error rate: at 0.55 and below the transcripts had 55-85 % of their
words wrong (database_index, python_gil and rest_api_design at 15 to 0 dB SNR), and the
average log-probability crosses -1.0 only at the worst of them, which is why the word
probability carries this rule. Near silence is never voiced (``no_speech``); loud white
noise is voiced but Whisper's segments on it are dropped as non-speech (``no_speech``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from voice_interview.domain.answer import AnswerMeta
from voice_interview.interview.evaluation.speech_metrics import parse_words
from voice_interview.text.normalize import words as word_tokens

GATING_VERSION = "gate-2025.1"

MIN_TYPED_WORDS = 5  # a typed answer shorter than this cannot be assessed
MIN_SPOKEN_WORDS = 8  # ... a spoken one needs this many recognised words
MIN_SPEECH_S = 3.0  # ... and this much voiced speech (VAD)
MIN_AVG_LOGPROB = -1.0  # Whisper's average token log-probability, below: unreliable
MIN_MEAN_WORD_PROB = 0.55  # mean word probability, below: mostly guessed words
MAX_NO_SPEECH_PROB = 0.6  # Whisper's no-speech probability, above: likely not speech ...
NO_SPEECH_WORD_PROB = 0.7  # ... when the mean word probability is also below this

THRESHOLDS: dict[str, float] = {
    "min_typed_words": MIN_TYPED_WORDS,
    "min_spoken_words": MIN_SPOKEN_WORDS,
    "min_speech_s": MIN_SPEECH_S,
    "min_avg_logprob": MIN_AVG_LOGPROB,
    "min_mean_word_prob": MIN_MEAN_WORD_PROB,
    "max_no_speech_prob": MAX_NO_SPEECH_PROB,
    "no_speech_word_prob": NO_SPEECH_WORD_PROB,
}

GateCode = Literal["empty", "too_short", "no_speech", "too_little_speech", "low_confidence"]


@dataclass(frozen=True)
class GateResult:
    assessable: bool
    code: GateCode | None
    reason: str  # "" when assessable
    measures: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": GATING_VERSION,
            "assessable": self.assessable,
            "code": self.code,
            "reason": self.reason,
            "measures": dict(self.measures),
            "thresholds": dict(THRESHOLDS),
        }


def _num(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def gate(answer_text: str, meta: AnswerMeta | None = None) -> GateResult:
    """Decide whether ``answer_text`` (with ``meta``) can be assessed; pure."""
    meta = meta or AnswerMeta()
    n_words = len(word_tokens(answer_text or ""))
    measures: dict[str, Any] = {"source": meta.source, "words": n_words}

    def no(code: GateCode, reason: str) -> GateResult:
        return GateResult(False, code, reason, measures)

    if not meta.spoken:
        if n_words == 0:
            return no("empty", "empty answer")
        if n_words < MIN_TYPED_WORDS:
            return no("too_short", f"answer too short ({_plural(n_words, 'word')})")
        return GateResult(True, None, "", measures)

    speech_s = round(max(0, meta.speech_ms) / 1000.0, 2)
    measures["speech_s"] = speech_s
    stt = meta.stt
    spoken_words = parse_words(stt.get("words"))
    probs = [w.probability for w in spoken_words]
    mean_prob = round(sum(probs) / len(probs), 3) if probs else None
    no_speech = _num(stt.get("no_speech_prob"))
    logprob = _num(stt.get("avg_logprob"))
    measures.update(
        {"no_speech_prob": no_speech, "avg_logprob": logprob, "mean_word_prob": mean_prob}
    )
    if meta.source == "none" or (n_words == 0 and speech_s == 0):
        return no("no_speech", "no speech was heard")
    if n_words == 0:
        return no("no_speech", f"no words were recognised in {speech_s:.1f} s of sound")
    if n_words < MIN_SPOKEN_WORDS or speech_s < MIN_SPEECH_S:
        return no(
            "too_little_speech",
            f"too little speech to assess ({_plural(n_words, 'word')}, "
            f"{speech_s:.1f} s of speech)",
        )
    if logprob is not None and logprob < MIN_AVG_LOGPROB:
        return no(
            "low_confidence",
            f"transcript too uncertain to assess (average log-probability {logprob:.2f}, "
            f"below {MIN_AVG_LOGPROB})",
        )
    if mean_prob is not None and mean_prob < MIN_MEAN_WORD_PROB:
        return no(
            "low_confidence",
            f"transcript too uncertain to assess (mean word confidence {mean_prob:.2f}, "
            f"below {MIN_MEAN_WORD_PROB})",
        )
    if (
        no_speech is not None
        and no_speech > MAX_NO_SPEECH_PROB
        and (mean_prob is None or mean_prob < NO_SPEECH_WORD_PROB)
    ):
        return no(
            "low_confidence",
            f"the audio may not be speech (no-speech probability {no_speech:.2f}, "
            f"mean word confidence {mean_prob if mean_prob is not None else 0:.2f})",
        )
    return GateResult(True, None, "", measures)
