"""Rubric coverage on hand-written examples: paraphrases cover, contradictions do not."""

from __future__ import annotations

from voice_interview.engines.embed import Embedder
from voice_interview.interview.evaluation import rubric
from voice_interview.interview.evaluation.rubric import contradiction
from voice_interview.text.normalize import content_stems

QUESTION = "How does a hash map work internally, and what affects its performance?"
KEY_POINTS = [
    "A hash function turns the key into an index in an array of buckets",
    "Different keys can collide on the same bucket, handled by chaining or open addressing",
    "Lookups are constant time on average but degrade to linear with many collisions",
    "The table resizes and rehashes when the load factor gets too high",
]


def _by_kp(a: rubric.RubricAssessment) -> dict[str, rubric.KeyPointMatch]:
    return {m.key_point: m for m in a.matches}


# ------------------------------------------------------------------ text handling (no model)
# Words and stems are text/normalize.py's (tests/unit/text/test_text_normalize.py).


def test_split_spans_gives_sentences_clauses_and_offsets() -> None:
    answer = "First we hash the key, then we pick a bucket. Collisions go into a list."
    spans = rubric.split_spans(answer)
    texts = [s.text for s in spans]
    assert "First we hash the key, then we pick a bucket." in texts
    assert "First we hash the key" in texts
    assert "Collisions go into a list." in texts
    for s in spans:
        assert answer[s.start : s.end] == s.text
        assert s.units


def test_unpunctuated_transcript_gets_word_windows() -> None:
    answer = " ".join(["word"] * 10 + ["hash", "bucket", "index"] + ["filler"] * 30)
    spans = rubric.split_spans(answer)
    assert len(spans) > 3  # the whole run plus overlapping windows
    assert all(len(s.text.split()) <= 45 for s in spans[1:])


def test_cues_are_found_and_negated_cues_ignored() -> None:
    signals = rubric.assess("q", ["k"], "I'd just skip the tests, it doesn't matter.", None).signals
    assert signals.dismissive
    careful = rubric.assess("q", ["k"], "What I would not do is skip tests to hit a date.", None)
    assert not careful.signals.dismissive
    dodge = rubric.assess("q", ["k"], "Honestly I'd just look it up, I've never had to.", None)
    assert dodge.signals.deflections
    assert not dodge.signals.dismissive  # the deflecting sentence is not counted twice


def test_lexical_only_mode_without_embedder() -> None:
    answer = (
        "A hash function maps each key to an index in an array of buckets. When two keys "
        "collide in one bucket we use chaining."
    )
    a = rubric.assess(QUESTION, KEY_POINTS, answer, None)
    assert not a.embedding_used
    got = _by_kp(a)
    assert got[KEY_POINTS[0]].status == "covered"
    assert got[KEY_POINTS[3]].status == "missing"
    assert 0.0 < a.coverage < 1.0


# ------------------------------------------------------------------- with the real embedder


def test_paraphrase_covers_with_a_quote_from_the_answer(embedder: Embedder) -> None:
    answer = (
        "Underneath there is an array; the key's hash, modulo the array length, picks the "
        "slot. Two keys can land in one slot, so each slot keeps a small linked list, or we "
        "probe for the next free slot. Once it is about three quarters full, past its load "
        "factor, it grows into a bigger array and every entry is rehashed."
    )
    a = rubric.assess(QUESTION, KEY_POINTS, answer, embedder)
    got = _by_kp(a)
    for kp in (KEY_POINTS[0], KEY_POINTS[3]):
        assert got[kp].status == "covered", (kp, got[kp])
    # "a small linked list ... probe for the next free slot" shares no word with "chaining
    # or open addressing": the embedding still finds it, if less surely.
    assert got[KEY_POINTS[1]].status in ("covered", "partial")
    for kp in KEY_POINTS[:2] + KEY_POINTS[3:]:
        assert got[kp].quote and got[kp].quote in answer
    assert got[KEY_POINTS[2]].status != "covered"  # complexity was never mentioned
    assert a.coverage > 0.5
    assert not a.contradictions


DEBT_Q = "What is technical debt, and how do you decide when to pay it down?"
DEBT_KPS = [
    "Technical debt is the extra cost of later changes caused by shortcuts taken now",
    "Pay it down when it slows the work you are about to do, not as a separate project",
    "Track it visibly, for example as tickets with the cost of leaving it",
]


def test_a_key_point_is_also_matched_without_the_questions_words() -> None:
    stems = set(content_stems(DEBT_Q))
    assert rubric.coverage._without_topic(DEBT_KPS[0], stems) == (
        "is the extra cost of later changes caused by shortcuts taken now"
    )
    assert rubric.coverage._without_topic("Keep it simple", stems) is None  # no topic word
    assert rubric.coverage._without_topic("Technical debt matters", stems) is None  # too little


def test_explaining_the_idea_beats_naming_it(embedder: Embedder) -> None:
    # The first answer never says "technical debt"; the second only says it. Matched with
    # the topic words, both sit near 0.6 cosine; without them, only the explanation does.
    explains = (
        "It's what you pay later for the shortcut you took to ship sooner: every change "
        "after that takes longer."
    )
    names = "Technical debt is something every team has in its code."
    got = _by_kp(rubric.assess(DEBT_Q, DEBT_KPS, explains, embedder))[DEBT_KPS[0]]
    other = _by_kp(rubric.assess(DEBT_Q, DEBT_KPS, names, embedder))[DEBT_KPS[0]]
    assert got.status == "covered", got
    assert got.credit > other.credit + 0.3, (got, other)


def test_contradiction_does_not_cover(embedder: Embedder) -> None:
    answer = (
        "Collisions can't happen in a hash map, because every key gets its own unique hash, "
        "and the table never needs to resize."
    )
    a = rubric.assess(QUESTION, KEY_POINTS, answer, embedder)
    got = _by_kp(a)
    assert got[KEY_POINTS[1]].status == "missing"
    assert got[KEY_POINTS[1]].contradiction is not None
    assert KEY_POINTS[1] in a.contradictions
    assert got[KEY_POINTS[1]].credit == 0.0


def test_antonym_and_negation_contradictions(embedder: Embedder) -> None:
    kps = ["Indexes slow down inserts and updates because they must be maintained"]
    a = rubric.assess(
        "What are the costs of a database index?", kps,
        "Indexes make inserts and updates faster, since the index is always up to date.",
        embedder,
    )
    assert a.matches[0].status == "missing"
    assert a.matches[0].contradiction is not None
    kps = ["The model learns noise in the training data and generalizes poorly"]
    b = rubric.assess(
        "What is overfitting?", kps,
        "Overfitting is when the model cannot learn the training data at all.", embedder,
    )
    assert b.matches[0].contradiction is not None


def test_off_topic_covers_nothing(embedder: Embedder) -> None:
    answer = (
        "I mostly enjoy the design side of things. Last weekend I went hiking with my "
        "family and we found a great little bakery."
    )
    a = rubric.assess(QUESTION, KEY_POINTS, answer, embedder)
    assert all(m.status == "missing" for m in a.matches)
    assert a.coverage == 0.0
    assert a.signals.relevance < 0.3


def test_one_sweeping_sentence_cannot_cover_every_point(embedder: Embedder) -> None:
    answer = (
        "Hash maps hash keys into buckets, collisions, load factor, resizing and constant "
        "time lookups are all part of it."
    )
    a = rubric.assess(QUESTION, KEY_POINTS, answer, embedder)
    assert sum(m.status == "covered" for m in a.matches) < len(KEY_POINTS)


def test_deterministic(embedder: Embedder) -> None:
    answer = "Keys are hashed to buckets, and collisions are chained in a list per bucket."
    first = rubric.assess(QUESTION, KEY_POINTS, answer, embedder)
    fresh = Embedder(embedder.model_info, cache_size=0)
    fresh.embed(["something else entirely, to change batch shapes", "and more"])
    second = rubric.assess(QUESTION, KEY_POINTS, answer, fresh)
    assert first == second


# ------------------------------------------------ contradiction cues (issue 12, no model)


def _negated(text: str) -> set[str]:
    return {tok for tok, neg in rubric._scoped_tokens(text) if neg}


def test_implicit_negators_and_denying_predicates_negate_their_words() -> None:
    assert "verification" in _negated("The safest approach is to skip verification on it")
    assert "salting" in _negated("Salting isn't necessary if you use a strong hash")
    assert "calculations" in _negated("Sample size calculations are mostly academic")
    assert "inversion" in _negated("And the inversion itself is harmless")
    assert "user" in _negated("randomise per page view rather than per user")
    # ... but only within their clause, and a denial does not flip a negation back
    assert "hash" not in _negated("Salting isn't necessary, a hash is enough")
    assert "retry" in _negated("not a blind retry")


def test_a_denied_key_point_word_is_a_contradiction() -> None:
    kp = "Give every password its own random salt so identical passwords hash differently"
    specific = {"salt", "random", "identical", "differently"}
    why = rubric._contradiction(kp, "Salting isn't necessary if the hash is strong", specific)
    assert why == "negates 'salt'"
    assert rubric._contradiction(kp, "Each password gets its own random salt", specific) is None


def test_an_opposite_word_must_qualify_a_key_point_word() -> None:
    kp = "Verify the image signature before switching to it"
    specific = {"verify", "imag", "signatur", "switch"}
    # "after" about the signature check: the opposite claim
    assert rubric._contradiction(
        kp, "You verify the signature after switching to the image", specific
    ) is not None
    # "after" about something else in the same clause is not
    assert rubric._contradiction(
        kp, "If the canary looks fine after an hour we go on, checking each signature", specific
    ) is None


def test_before_and_after_must_order_the_same_thing() -> None:
    kp = "Verify the image signature before switching to it"
    specific = {"verify", "imag", "signatur", "switch"}
    # "after the download" orders the check after something the key point does not order
    quote = "After the download, verify the checksum and the signature"
    assert rubric._contradiction(kp, quote, specific) is None
    assert rubric._contradiction(
        kp, "verify the signature after switching over", specific
    ) == "says 'after' where the key point says 'befor'"


def test_a_key_point_that_says_something_was_removed_agrees_with_its_denial() -> None:
    kp = "TLS 1.3 removed old, weak options such as RSA key exchange"
    specific = {"old", "weak", "option", "rsa"}
    assert "old" in _negated(kp)
    assert rubric._contradiction(kp, "a stolen key doesn't decrypt old traffic", specific) is None
    # a removal in the answer negates what it removes
    kp2 = "Add an index on the column the query filters by"
    assert rubric._contradiction(
        kp2, "I'd drop the index on that column", {"index", "column", "filter"}
    ) == "negates 'index'"


def test_a_key_point_that_denies_a_property_is_contradicted_by_asserting_it() -> None:
    kp = "volatile does not make an operation atomic and is not a lock or a memory barrier"
    specific = {"volatil", "operation", "atomic", "lock", "memory", "barrier"}
    assert rubric._contradiction(
        kp, "volatile makes reads and writes atomic, that's its whole purpose", specific
    ) == "asserts 'atomic', which the key point denies"
    # agreeing, or naming the denied thing in passing, is no contradiction
    for quote in (
        "volatile is not atomic, for that you need a lock",
        "It does not make anything atomic, you still need a lock",
    ):
        assert rubric._contradiction(kp, quote, specific) is None, quote
    # a stem the rubric's other key points use says nothing
    assert rubric._contradiction(
        kp, "volatile acts as a memory barrier", specific, frozenset({"memory", "barrier"})
    ) is None


def test_advice_conditions_and_names_deny_nothing() -> None:
    denials = contradiction._denials
    for text in (
        "Never hit the real production API from automated tests",
        "Do not rebase commits that others have already pulled",
        "It rolls back if the new firmware does not confirm it is healthy",
        "Track flakiness so it does not erode trust in the suite",
        "A 304 Not Modified reply means the cached copy can be reused",
    ):
        assert denials(text) == {}, text
    # "no" denies the noun it determines, not the rest of the clause
    assert set(denials("short or no caching for content that changes, like user data")) == {
        "cach"
    }


def test_a_word_the_key_point_only_orders_in_time_is_not_negated_by_not_yet() -> None:
    kp = "Find what is using the space with du or df before deleting anything"
    specific = {"find", "spac", "du", "df", "delet"}
    assert rubric._contradiction(kp, "du first, without deleting anything yet", specific) is None
    # the same key point still catches the opposite of a word it asserts
    assert rubric._contradiction(kp, "no need to find what uses the space", specific) is not None


def test_an_over_simple_plan_is_a_red_flag_not_a_contradiction() -> None:
    kp = "Queue changes made offline and send them when the connection comes back"
    specific = {"queue", "chang", "offlin", "send", "connect"}
    quote = "I'd probably just disable those buttons while there's no connection"
    assert rubric._contradiction(kp, quote, specific) is None
    assert rubric._find(rubric._DISMISSIVE, quote)  # still a dismissive stance
    assert rubric._contradiction(kp, "syncing offline changes is not my problem", specific)


DISK_Q = "The disk of a server is nearly full. What do you do?"
DISK_KPS = ["Rotate the logs and compress old log files", "Find the biggest directories with du"]


def test_a_key_point_stated_plainly_elsewhere_survives_a_negated_clause() -> None:
    # the best clause looks negated ("isn't enough to rotate"), a later one of the same
    # standing states the key point: it is covered, quoted from the plain clause
    answer = (
        "It isn't enough to rotate logs and compress old log files once. Every night we "
        "rotate logs and compress old log files, and I'd find the biggest directories with du."
    )
    a = rubric.assess(DISK_Q, DISK_KPS, answer, None)
    logs = a.matches[0]
    assert logs.contradiction is None and logs.status == "covered"
    assert logs.quote.startswith("Every night")
    assert not a.contradictions


def test_a_key_point_only_negated_stays_contradicted() -> None:
    answer = (
        "You don't rotate logs or compress old log files, that loses data. I'd find the "
        "biggest directories with du."
    )
    a = rubric.assess(DISK_Q, DISK_KPS, answer, None)
    assert a.matches[0].contradiction == "negates 'rotat'"
    assert a.contradictions == [DISK_KPS[0]]
    # a piece of the contradicting sentence is not "elsewhere": the claim is the same
    piece = "You don't rotate logs, compress old log files and find the biggest directories."
    b = rubric.assess(DISK_Q, DISK_KPS, piece, None)
    assert b.matches[0].contradiction is not None
