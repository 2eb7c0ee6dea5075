"""Stability under rewording (issue 12): the same answer paraphrased three ways within 8
points, and with the fillers and false starts of speech within 5 (``disfluency`` strips
them before scoring; without it: 85.6 against 91.3). The third paraphrase used to score
68.6: its "without deleting anything yet" read as negating the key point "before deleting
anything"; a word the key point only orders in time ("before deleting") is no longer one
it affirms, and generic words ("anything") are not contradiction terms (now 89.8 / 95.9 /
90.9 against 91.3).

"""

from __future__ import annotations

import pytest

from tests.unit.interview.evaluation.test_non_answer import GOOD, QUESTION
from voice_interview.engines.embed import Embedder
from voice_interview.engines.models import ModelNotFoundError, resolve_model
from voice_interview.interview.evaluation.evaluator import Evaluator
from voice_interview.settings import Settings

PARAPHRASES = [
    "I'd start by running df to see which filesystem is full, then du to find which "
    "directories take the space, and only then delete anything. It's usually logs, so I'd "
    "rotate and compress them and remove old build artifacts, while leaving live database "
    "files alone. I'd also check lsof for deleted files that a process still keeps open, "
    "because their space isn't freed until it restarts. After that I'd set an alert at 80 "
    "percent disk usage.",
    "Before removing anything I find out what is using the disk: df for the filesystem, du "
    "for the directories. Logs are the usual culprit, so they get rotated and compressed, and "
    "stale build artifacts get cleaned up; live database files are never deleted. Files that "
    "were deleted but are still held open by a process keep their space, so lsof is worth a "
    "look. Finally, monitoring with an alert at 80 percent disk use stops it happening again.",
    "My first step is df to see which filesystem filled up and du to see where the space "
    "went, without deleting anything yet. Most of the time it's logs, which I rotate and "
    "compress, plus old artifacts from builds that can go, but I'd never delete the live "
    "database files. A process can still hold deleted files open and keep their space, so I "
    "check with lsof. Then I'd add disk usage alerting at 80 percent.",
]
WITH_FILLERS = (
    "Um, so, first I'd, uh, check with df which, which filesystem is full and then, you "
    "know, du to find the directories using the space, before deleting anything. Usually "
    "it's, um, logs, so I'd rotate and compress them and, uh, clear old build artifacts, but "
    "never, never touch live database files. I'd also, like, look with lsof for deleted "
    "files a process still holds open, since they keep their space until restart. And "
    "afterwards I'd, uh, add an alert at 80 percent disk usage."
)


@pytest.fixture(scope="module")
def evaluator() -> Evaluator:
    try:
        return Evaluator(None, Embedder(resolve_model("embed", Settings())))
    except ModelNotFoundError as e:
        pytest.skip(f"bundled embedding model not installed: {e}")


def _score(ev: Evaluator, text: str) -> float:
    score = ev.evaluate(QUESTION, text).score
    assert score is not None
    return score


def test_three_paraphrases_within_8_points(evaluator: Evaluator) -> None:
    base = _score(evaluator, GOOD)
    for text in PARAPHRASES:
        assert abs(_score(evaluator, text) - base) <= 8.0


def test_fillers_and_false_starts_within_5_points(evaluator: Evaluator) -> None:
    assert abs(_score(evaluator, WITH_FILLERS) - _score(evaluator, GOOD)) <= 5.0


def test_paraphrases_and_fillers_keep_a_strong_answer_strong(evaluator: Evaluator) -> None:
    # What holds today: every rewording stays well above a partial answer's band.
    for text in [*PARAPHRASES, WITH_FILLERS]:
        assert _score(evaluator, text) >= 60.0


def test_strip_disfluencies() -> None:
    from voice_interview.interview.evaluation.disfluency import strip_disfluencies

    assert strip_disfluencies("Um, I'd, uh, check the, the logs, you know.") == (
        "I'd check the logs."
    )
    assert strip_disfluencies("I like Python, like, a lot.") == "I like Python a lot."
