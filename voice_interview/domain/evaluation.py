"""What an answer's evaluation is, as every part of the server sees it. Pure: no I/O.

The evaluator makes it, the jobs store it (``store`` keeps it as an evaluation row) and
the report and the wire read it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

CoverageStatus = Literal["covered", "partial", "missing"]


@dataclass
class KeyPointCoverage:
    """How far an answer covers one rubric key point, and the quote that shows it."""

    key_point: str
    status: CoverageStatus
    quote: str
    similarity: float
    start_s: float | None = None  # when the quote was said in the stored answer audio
    end_s: float | None = None


@dataclass
class Evaluation:
    """``scored``: a 0-100 score; ``insufficient_data``: not assessed (score None)."""

    status: Literal["scored", "insufficient_data"]
    score: float | None
    feedback: str
    strengths: list[str]
    weaknesses: list[str]
    coverage: list[KeyPointCoverage]
    details: dict[str, Any]  # the score's parts, caps, provenance (model, seed, versions)
