"""voice_interview.text.normalize: the two tokenizer/stemmer pairs and the lookup keys."""

from __future__ import annotations

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
    assert nz.stem("queries") == nz.stem("query")
    assert nz.content_stems("It is the database that scans the tables") == [
        "databas",
        "scan",
        "tabl",
    ]


def test_nouns_of_action_meet_their_verbs() -> None:
    """"Skip verification" must be seen to negate a key point's "verify": the noun and
    the verb share a stem, plural and all."""
    for noun, verb in [
        ("verification", "verify"), ("verifications", "verified"),
        ("validation", "validate"), ("migrations", "migrate"),
        ("protection", "protected"), ("encryption", "encrypt"),
        ("compression", "compress"), ("insertion", "inserting"),
        ("deletion", "deleted"), ("documentation", "document"),
        ("randomization", "randomize"),
    ]:
        assert nz.stem(noun) == nz.stem(verb), (noun, verb)
    # ... but not where the verb is another word
    assert nz.stem("production") != nz.stem("product")
    assert nz.stem("exception") != nz.stem("except")
    assert nz.stem("station") != nz.stem("state")


def test_british_and_american_spellings_share_a_stem() -> None:
    """The rubric is typed in British spelling, Whisper writes American."""
    for british, american in [
        ("randomise", "randomize"), ("prioritised", "prioritized"),
        ("optimisations", "optimizations"), ("organisation", "organization"),
        ("analyse", "analyze"), ("analysed", "analyzing"),
        ("behaviour", "behavior"), ("favourite", "favorites"), ("neighbours", "neighbor"),
        ("modelling", "modeling"), ("labelled", "labeled"), ("signalling", "signaling"),
        ("centre", "center"), ("fibres", "fiber"), ("catalogue", "catalog"),
        ("defence", "defense"), ("programme", "program"), ("grey", "gray"),
    ]:
        assert nz.stem(british) == nz.stem(american), (british, american)
    assert nz.stem("analysis") == "analysis"  # a word ending in "is" is left alone
    # ... and words whose double l is their own keep it
    assert nz.stem("installing") == nz.stem("install") == "install"
    assert nz.stem("spelling") == nz.stem("spell")
    assert nz.stem("hours") == nz.stem("hour") != nz.stem("honour")


def test_answer_words_on_mixed_text() -> None:
    """Apostrophes (straight or curly) and hyphenated compounds stay whole; dots and
    plus signs split, unlike the CV tokenizer below; stopwords and digits leave."""
    assert nz.words(SAMPLE)[:8] == [
        "i've", "stopped", "caching", "the", "indexes", "they're", "multi-threaded", "queries"
    ]  # fmt: skip
    assert "we'd" in nz.words(SAMPLE) and "node" in nz.words(SAMPLE)
    assert nz.content_stems(SAMPLE) == [
        "stop", "cach", "index", "multi-thread", "query", "node", "js", "ci-cd", "server",
        "architect", "architectur",
    ]  # fmt: skip


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
