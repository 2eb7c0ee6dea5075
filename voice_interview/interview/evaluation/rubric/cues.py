"""Cue lexicons: negators, antonyms, sweeping claims, dismissive stances, hedges, filler,
deflections, generic words and numbers.

General interview-language cues, written from how people hedge, pad and over-claim, not
taken from any evaluation set.
"""

from __future__ import annotations

import re

from voice_interview.text.normalize import stem

_NEGATOR_WORDS = frozenset(
    [
        "not", "no", "never", "nothing", "none", "nobody", "neither", "nor", "cannot", "without",
        "instead", "rather", "don't", "doesn't", "didn't", "isn't", "aren't", "wasn't", "weren't",
        "can't", "couldn't", "won't", "wouldn't", "shouldn't", "haven't", "hasn't", "hadn't",
        "mustn't", "needn't"
    ]
)
_DETERMINERS = frozenset(
    [
        "a", "an", "the", "my", "your", "our", "their", "his", "her", "its", "this", "that",
        "these", "those", "any"
    ]
)

_ANTONYMS: tuple[tuple[str, str], ...] = (
    ("fast", "slow"), ("faster", "slower"), ("quick", "slow"), ("quickly", "slowly"),
    ("more", "less"), ("more", "fewer"), ("increase", "decrease"), ("increase", "reduce"),
    ("grow", "shrink"), ("add", "remove"), ("same", "different"), ("same", "separate"),
    ("shared", "separate"), ("share", "separate"), ("single", "multiple"), ("single", "multi"),
    ("before", "after"), ("first", "last"), ("early", "late"), ("earlier", "later"),
    ("simple", "complex"), ("simpler", "complex"), ("cheap", "expensive"), ("cheaper", "expensive"),
    ("safe", "unsafe"), ("secure", "insecure"), ("private", "public"), ("privately", "publicly"),
    ("directly", "indirectly"), ("synchronous", "asynchronous"),
    ("inside", "outside"), ("internal", "external"), ("strong", "weak"), ("stronger", "weaker"),
    ("high", "low"), ("higher", "lower"), ("big", "small"), ("large", "small"),
    ("accept", "reject"), ("allow", "deny"), ("open", "closed"), ("enable", "disable"),
    ("include", "exclude"), ("keep", "drop"), ("keep", "discard"), ("success", "failure"),
    ("succeed", "fail"), ("valid", "invalid"), ("correct", "incorrect"), ("true", "false"),
    ("immediately", "later"), ("sooner", "later"), ("minimum", "maximum"), ("always", "never"),
    ("sorted", "unsorted"), ("ordered", "unordered"), ("bounded", "unbounded"),
    ("mutable", "immutable"), ("stateful", "stateless"), ("visible", "invisible"),
    ("possible", "impossible"), ("honest", "dishonest"), ("respectful", "disrespectful"),
)
_ANTONYM_MAP: dict[str, set[str]] = {}
for _a, _b in _ANTONYMS:
    _ANTONYM_MAP.setdefault(stem(_a), set()).add(stem(_b))
    _ANTONYM_MAP.setdefault(stem(_b), set()).add(stem(_a))
_ANTONYM_WORDS = frozenset(w for pair in _ANTONYMS for w in pair)

# Absolute or sweeping claims: costly when the rubric makes no such claim.
_OVERCLAIM = re.compile(
    r"\b(?:always|never|no (?:real )?(?:downside|cost|risk|difference|drawback)s?|"
    r"nothing (?:can|could|will) (?:\w+ )?(?:go wrong|change|happen)|can(?:'t|not) (?:ever )?"
    r"(?:happen|fail|go wrong)|(?:basically|exactly|just|really) the same(?: thing)?|"
    r"(?:is|are) the same thing|guaranteed?|impossible|only ever|doesn't (?:really )?(?:matter|"
    r"apply)|don't (?:really )?(?:need|matter)|(?:pretty much|almost) always|for good|"
    r"(?:is|are) the fastest|the best way|in every case)\b",
    re.IGNORECASE,
)
# The strongest of those: as the quote for a key point, they mark it as contradicted.
_SWEEPING = re.compile(
    r"\b(?:(?:basically|exactly|just|really) the same(?: thing)?|(?:is|are) the same thing|"
    r"no (?:real )?(?:downside|cost|risk|difference|drawback)s?|can(?:'t|not) (?:ever )?"
    r"(?:happen|fail|go wrong)|doesn't (?:really )?(?:matter|apply)|don't (?:really )?"
    r"(?:need|matter)|(?:is|are) the fastest|(?:is|are) always (?:the )?(?:fastest|best|faster|"
    r"better))\b",
    re.IGNORECASE,
)
# Dismissive / careless stances a recruiter reads as red flags, including the over-simple
# plan ("I'd just ...").
_DISMISSIVE = re.compile(
    r"\b(?:doesn't (?:really )?matter|don't (?:really )?matter|waste of time|not my (?:problem|"
    r"job|fault)|(?:their|his|her|the \w+'s) fault|(?:that's|it's) on them|"
    r"(?:i'd|i would|i'll|i|we'd|we|you|you'd) (?:\w+ )?(?:just|simply) "
    r"(?!don't|doesn't|didn't|can't|not|need|have|had|want|like|love)\w+|"
    r"skip(?:ping)? (?:the )?test\w*|nobody (?:really )?(?:checks|cares|notices)|"
    r"go back to sleep|fix (?:it|the rest|things) later|i knew i was right|my way|"
    r"never bother\w*)\b",
    re.IGNORECASE,
)
_SIMPLE_PLAN = re.compile(
    r"(?:i'd|i would|i'll|i|we'd|we|you|you'd) (?:\w+ )?(?:just|simply) \w+$", re.IGNORECASE
)
# Hedging and vague filler: low information, typical of answers that circle the topic.
_HEDGE = re.compile(
    r"\b(?:i think|i guess|i believe|i suppose|i feel like|i'm not sure|not (?:really )?sure|"
    r"probably|maybe|perhaps|somehow|some kind of|some sort of|kind of|sort of|or something|"
    r"i'd say|might be|could be|i assume|hopefully)\b",
    re.IGNORECASE,
)
_VAGUE = re.compile(
    r"\b(?:things?|stuff|something|somewhere|someone|a lot|lots of|really|pretty|very|"
    r"super|generally|in general|basically|whatever|important|at some point|at the end of the "
    r"day|and so on|etc|everyone|everything|all sorts|a few|certain|good|great|nice|fine|"
    r"definitely|obviously|honestly|of course|just)\b",
    re.IGNORECASE,
)
# The candidate steps around the question instead of answering it.
_DEFLECT = re.compile(
    r"\b(?:look it up|google it|(?:could|can) we skip|skip this one|rather not|rather talk|"
    r"rather focus|(?:i'd|i would) have to ask|(?:i|we) (?:haven't|have not|never|didn't) "
    r"(?:really |actually )?(?:had|worked|done|used|been|tried|dealt)|i've never|"
    r"i (?:really )?don't (?:really )?know|no idea|can't (?:really )?say|i'm not (?:really )?sure|"
    r"not my area|someone else's job|(?:i'd|i) prefer to (?:talk|focus)|instead\?|"
    r"talk about (?:my|the) \w+ instead|can i tell you about)\b",
    re.IGNORECASE,
)
# Words that carry no specific information however often they are used: they do not count
# as concrete detail ("it's a really important topic in practice" adds nothing).
GENERIC_WORDS = frozenset(
    [
        "thing", "things", "stuff", "important", "good", "great", "nice", "fine", "bad",
        "topic", "topics", "situation", "situations", "practice", "case", "cases", "ways",
        "people", "everyone", "everybody", "someone", "somebody", "anything", "everything",
        "different", "various", "whole", "type", "types", "aspect", "aspects", "part", "parts",
        "point", "points", "idea", "ideas", "opinion", "opinions", "issue", "issues", "area",
        "areas", "level", "actually", "definitely", "obviously", "honestly", "generally",
        "usually", "probably", "maybe", "depends", "depend", "matter", "matters", "end", "day",
        "bit", "whatever", "certain", "overall", "pretty", "super", "totally", "tricky",
        "hard", "easy", "big", "huge", "common", "comes", "come", "think", "know", "guess",
        "believe", "feel", "want", "need", "needs", "try", "tried", "trying", "able", "sure",
        "keep", "mind", "sense", "work", "works", "working", "help", "helps", "stuff",
    ]
)
_GENERIC_STEMS = frozenset(stem(w) for w in GENERIC_WORDS | {"anything", "nothing"})
_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|"
    r"forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|million|billion|percent|half|"
    r"twice|dozen|quarter"
)
_NUMBER = re.compile(rf"\b(?:\d+(?:[.,:]\d+)*%?|(?:{_NUMBER_WORDS}))\b", re.IGNORECASE)
