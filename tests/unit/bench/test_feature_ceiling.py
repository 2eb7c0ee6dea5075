"""scripts/feature_ceiling.py: the pairwise ranker that bounds what re-weighting can do."""

from __future__ import annotations

import importlib.util
from types import ModuleType

import numpy as np

from tests.paths import REPO
from voice_interview.domain.evaluation import Evaluation


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "feature_ceiling", REPO / "scripts" / "feature_ceiling.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_ranker_finds_the_feature_that_orders_the_pairs() -> None:
    fc = _script()
    rng = np.random.default_rng(0)
    # pairs (higher - lower): feature 1 decides them, feature 0 is noise
    x = np.column_stack([rng.normal(size=400), np.abs(rng.normal(size=400)) + 0.05])
    w = fc.fit_ranker(x)
    assert fc.accuracy(x @ w) >= 0.98  # (L2 keeps it off a few near-zero margins)
    assert abs(w[1]) > 5 * abs(w[0])
    # a feature that points the wrong way gets a negative weight
    w_neg = fc.fit_ranker(-x)
    assert w_neg[1] < 0
    assert fc.accuracy(np.array([1.0, 0.0, -1.0])) == 1 / 3  # a tie is not right


def test_features_of_a_scored_answer_and_of_one_left_at_its_rule() -> None:
    fc = _script()
    details = {
        "sub_scores": {
            "coverage": 50.0, "specificity": 40.0, "relevance": 100.0,
            "penalties": {"contradiction": 5.0, "overclaim": 0.0, "dismissive": 0.0,
                          "deflect": 0.0},
        },
        "signals": {"topicality": 0.5, "answer_question_cosine": 0.4,
                    "answer_rubric_cosine": 0.6, "focus": 0.3, "vagueness": 0.1,
                    "hedges": ["I think"]},
        "coverage": [{"status": "covered", "similarity": 0.8},
                     {"status": "missing", "similarity": 0.2}],
        "caps": [],
    }
    scored = Evaluation("scored", 61.0, "", [], [], [], details)
    named = fc.measurements(scored)
    assert named is not None and set(named) == set(fc._FEATURES)
    assert fc.features(scored) == [named[k] for k in fc._FEATURES]
    assert named["coverage"] == 0.5 and named["covered_share"] == 0.5
    assert named["hedges"] == 1.0 and named["score"] == 0.61 and named["capped"] == 0.0
    assert abs(named["mean_similarity"] - 0.5) < 1e-9
    # a non-answer (score 0 by rule, no sub-scores) and an answer not assessed have none
    assert fc.features(Evaluation("scored", 0.0, "", [], [], [], {"non_answer": {}})) is None
    assert fc.features(Evaluation("insufficient_data", None, "", [], [], [], {})) is None
