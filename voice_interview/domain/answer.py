"""What is known about an answer besides its text, as the evaluator, the jobs and the
turn loop share it. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class AnswerMeta:
    """What is known about an answer besides its text. The default is a typed answer."""

    source: str = "text"  # text | voice | none
    speech_ms: int = 0  # voiced time the VAD heard
    stt: Mapping[str, Any] = field(default_factory=dict)  # the answer's stored stt dict
    # Why the turn ended ("no_answer": silence after the reprompt, which scores 0 as a
    # non-answer instead of "not assessed"); "" when unknown.
    end_reason: str = ""

    @property
    def spoken(self) -> bool:
        return self.source in ("voice", "none")

    @classmethod
    def of(cls, answer: Any) -> AnswerMeta:
        """From a stored answer row (anything with source, speech_ms and stt)."""
        stt = getattr(answer, "stt", None)
        return cls(
            source=str(getattr(answer, "source", "text") or "text"),
            speech_ms=int(getattr(answer, "speech_ms", 0) or 0),
            stt=dict(stt) if isinstance(stt, Mapping) else {},
            end_reason=str(getattr(answer, "end_reason", "") or ""),
        )
