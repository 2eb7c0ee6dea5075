"""voice_interview.text.normalize: the two tokenizer/stemmer pairs and the lookup keys."""

from __future__ import annotations

from voice_interview.interview import rubric
from voice_interview.text import normalize as nz

SAMPLE = (
    "I've stopped caching the indexes; they're multi-threaded queries, isn't it? "
    "Node.js, C++ and CI-CD on 3 servers — we’d been architecting the architecture."
)


def test_answer_words_and_stems() -> None:
    assert nz.words("Don’t re-index 3 tables") == ["don't", "re-index", "3", "tables"]
    assert nz.stem("indexes") == nz.stem("index")
    assert nz.stem("caching") == nz.stem("cached")
    assert nz.stem("stopped") == nz.stem("stop")
    assert nz.content_stems("It is the database that scans the tables") == [
        "databas",
        "scan",
        "tabl",
    ]


def test_the_rubric_tokenizer_is_the_shared_one() -> None:
    """While rubric.py keeps its own copies (until it imports these), they must not drift."""
    tokens = nz.words(SAMPLE)
    if hasattr(rubric, "STOPWORDS"):
        assert rubric.STOPWORDS == nz.STOPWORDS
    if hasattr(rubric, "words"):
        assert rubric.words(SAMPLE) == tokens
    if hasattr(rubric, "stem"):
        assert [rubric.stem(w) for w in tokens] == [nz.stem(w) for w in tokens]
    if hasattr(rubric, "content_stems"):
        assert rubric.content_stems(SAMPLE) == nz.content_stems(SAMPLE)


def test_cv_words_keep_technology_names() -> None:
    assert nz.cv_words("C++, Node.js and CI-CD in 2019") == ["c++", "node.js", "and", "ci-cd", "in"]
    assert nz.word_parts("node.js") == ["node", "js"]
    assert nz.prefix_stem("architecture") == nz.prefix_stem("architect") == "archi"
    assert nz.prefix_stem("java") == "java"
    assert nz.prefix_stem("kubernetes", 4) == "kube"
    assert nz.bare_token('"Python,"') == "python"


def test_lookup_keys() -> None:
    assert nz.phrase_key("  Front-End   Development ") == "front end development"
    assert nz.squeeze(" a \t b\n") == "a b"
