"""Shared text normalisation: word tokenizers, stemmers and lookup keys.

Two tokenizer/stemmer pairs live here side by side. They are not merged because they do
different jobs and behave differently, and merging them would change scores and summaries:

* **Answer words** (:func:`words`, :func:`stem`, :func:`content_stems`, :data:`STOPWORDS`)
  for spoken answers and rubric key points (``interview.evaluation.rubric`` and what builds on it).
  Tokens are runs of ``[a-z0-9]`` with an apostrophe suffix and hyphenated compounds kept
  whole ("don't", "multi-threaded"); :func:`stem` is a light suffix stripper, so "indexes"
  matches "index" and "caching" matches "cached".
* **CV words** (:func:`cv_words`, :func:`prefix_stem`, :func:`word_parts`) for checking an
  LLM's CV summary against the CV (``interview.cv.summary``). Tokens start with a letter
  and keep ``+``, ``#`` and inner dots, hyphens and apostrophes ("c++", "c#", "node.js"),
  because in a CV those are technology names; a digit-only token is not a word. The stem
  is a plain five-letter prefix: a loose "the CV says something like this" test that also
  joins words a suffix stripper keeps apart ("architecture" and "architect" share
  "archi"; :func:`stem` gives "architectur" and "architect"). Switching either side to
  the other's rules would change which summaries are accepted or how answers score.

And the lookup keys (:func:`phrase_key`, :func:`squeeze`) that skill names and role titles
are compared by.
"""

from __future__ import annotations

import re

# ------------------------------------------------------------------------- answer words

STOPWORDS = frozenset(
    [
        "a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any",
        "are", "aren't", "as", "at", "be", "because", "been", "before", "being", "below", "between",
        "both", "but", "by", "can", "can't", "could", "couldn't", "did", "didn't", "do", "does",
        "doesn't", "doing", "don't", "down", "during", "each", "either", "else", "even", "ever",
        "every", "few", "for", "from", "further", "get", "gets", "got", "had", "hadn't", "has",
        "hasn't", "have", "haven't", "having", "he", "her", "here", "hers", "herself", "him",
        "himself", "his", "how", "i", "i'd", "i'll", "i'm", "i've", "if", "in", "into", "is",
        "isn't", "it", "it's", "its", "itself", "just", "let", "like", "lot", "lots", "make",
        "makes", "may", "me", "might", "more", "most", "much", "must", "my", "myself", "no", "nor",
        "not", "now", "of", "off", "on", "once", "one", "only", "or", "other", "our", "ours",
        "ourselves", "out", "over", "own", "per", "quite", "rather", "really", "same", "say",
        "says", "she", "should", "shouldn't", "so", "some", "something", "such", "than", "that",
        "that's", "the", "their", "theirs", "them", "themselves", "then", "there", "there's",
        "these", "they", "they'd", "they'll", "they're", "this", "those", "though", "through",
        "thus", "to", "too", "under", "until", "up", "upon", "us", "use", "used", "uses", "using",
        "very", "via", "was", "wasn't", "way", "we", "we'd", "we'll", "we're", "we've", "well",
        "were", "weren't", "what", "what's", "when", "where", "whether", "which", "while", "who",
        "whom", "whose", "why", "will", "with", "within", "without", "won't", "would", "wouldn't",
        "yeah", "yes", "yet", "you", "you'd", "you'll", "you're", "your", "yours", "yourself",
        "actually", "basically", "maybe", "probably", "sure", "thing", "things", "stuff", "kind",
        "sort", "pretty", "okay", "ok", "etc", "e.g", "i.e", "first", "second", "then", "next",
        "also", "example", "instance", "such", "usually", "often", "always", "never"
    ]
)

_WORD_RE = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?(?:-[a-z0-9]+)*")


def words(text: str) -> list[str]:
    """Lower-case word tokens (apostrophes and hyphenated compounds kept whole)."""
    return [w.replace("’", "'") for w in _WORD_RE.findall(text.lower())]


# British spellings meet the American ones a transcript writes (the rubric is typed, the
# answer is heard): "behaviour", "colour", "favourite"; "catalogue"; "centre", "fibre";
# and a few words of their own. ("-ise", "-yse" and "-lled" are handled in ``stem``.)
_BRITISH_OUR = re.compile(
    r"^(behavi|col|fav|hon|lab|neighb|hum|rum|endeav|flav|harb|arm|vap|sav|rig|vig|od|parl|tum)"
    r"our"
)
_BRITISH_OGUE = re.compile(r"(?<=[a-z]{4})ogue(?=s?$)")
_BRITISH_RE = re.compile(r"(?<=[a-z]{2})([tb])re(?=s?$)")
_BRITISH_WORDS = {
    "defence": "defense", "offence": "offense", "licence": "license", "grey": "gray",
    "programme": "program", "programmes": "programs", "cheque": "check", "tyre": "tire",
}


def _american(w: str) -> str:
    w = _BRITISH_WORDS.get(w, w)
    w = _BRITISH_OUR.sub(r"\1or", w)
    w = _BRITISH_OGUE.sub("og", w)
    return _BRITISH_RE.sub(r"\1er", w)


def stem(word: str) -> str:
    """A light suffix stripper: enough to match plurals, verb forms, nouns of action and
    British spellings to their American forms, nothing clever."""
    w = _american(word.lower().replace("’", "'"))
    if w.endswith(("duction", "ductions", "ception", "ceptions")):
        return w.removesuffix("s")  # "production" is not "product", "exception" not "except"
    if w.endswith("'s"):
        w = w[:-2]
    elif w.endswith("n't"):
        w = w[:-3]
    if len(w) <= 3:
        return w
    for suffix, repl, min_len in (
        # Nouns of action meet their verbs, so a key point's "verify" is found (and seen
        # negated) in "skip verification": -ification, -ation, -ction, -ssion, -ption,
        # -rtion, -etion, each with its plural (one suffix is stripped per word).
        ("ifications", "ify", 11),
        ("ification", "ify", 10),
        ("isations", "ize", 10),  # British spelling meets Whisper's American one
        ("isation", "ize", 9),
        ("izations", "ize", 10),
        ("ization", "ize", 8),
        ("mentations", "", 12),  # "documentation", "document"
        ("mentation", "", 11),
        ("ations", "ate", 9),
        ("ation", "ate", 8),
        ("ctions", "ct", 9),
        ("ction", "ct", 8),
        ("ssions", "ss", 9),
        ("ssion", "ss", 8),
        ("ptions", "pt", 9),
        ("ption", "pt", 8),
        ("rtions", "rt", 9),
        ("rtion", "rt", 8),
        ("etions", "ete", 8),
        ("etion", "ete", 7),
        ("ational", "ate", 8),
        ("ically", "ic", 7),
        ("iness", "y", 6),
        ("ness", "", 7),
        ("ments", "", 8),
        ("ment", "", 7),
        ("ingly", "", 7),
        ("edly", "", 7),
        ("ities", "ity", 7),
        ("ies", "y", 5),
        ("ied", "y", 5),
        ("sses", "ss", 5),
        ("ing", "", 6),
        ("ed", "", 5),
        ("ly", "", 6),
        ("es", "", 5),
        ("s", "", 4),
    ):
        if w.endswith(suffix) and len(w) >= min_len:
            if suffix == "es" and not re.search(r"(?:ss|x|ch|sh|zz)es$", w):
                continue
            if suffix == "s" and (w.endswith("ss") or w.endswith("us") or w.endswith("is")):
                return w
            w = w[: len(w) - len(suffix)] + repl
            break
    # Undo doubled final consonants left by -ed / -ing ("stopped" -> "stopp" -> "stop").
    if len(w) > 4 and w[-1] == w[-2] and w[-1] not in "lsz":
        w = w[:-1]
    elif (len(w) > 5 and w.endswith(("ell", "signall", "totall", "marshall", "equall"))
          and not word.lower().endswith("ll")):
        w = w[:-1]  # British "modelling", "labelled", "cancelled" against "modeling"
    w = w.rstrip("e") if len(w) > 4 else w
    # "-ise" is "-ize" and "-yse" is "-yze" ("randomised", "analysed"): the typed rubric
    # and Whisper's transcript spell them differently.
    return w[:-1] + "z" if len(w) > 5 and w.endswith(("is", "ys")) else w


def content_stems(text: str) -> list[str]:
    return [stem(w) for w in words(text) if w not in STOPWORDS and not w.isdigit() and len(w) > 1]


# ----------------------------------------------------------------------------- CV words

_CV_WORD = re.compile(r"[a-z][a-z0-9+#]*(?:[.\-'][a-z0-9+#]+)*")
_CV_WORD_JOINERS = re.compile(r"[.\-']")


def cv_words(text: str) -> list[str]:
    """Lower-case CV tokens: "C++, Node.js and CI-CD" -> ["c++", "node.js", "and", "ci-cd"]."""
    return _CV_WORD.findall(text.lower())


def word_parts(word: str) -> list[str]:
    """The pieces of a CV token between its dots, hyphens and apostrophes ("node.js" ->
    ["node", "js"]); empty pieces dropped."""
    return [p for p in _CV_WORD_JOINERS.split(word) if p]


def prefix_stem(word: str, length: int = 5) -> str:
    """The first ``length`` characters of a word (all of a shorter one)."""
    return word[:length] if len(word) >= length else word


def bare_token(token: str) -> str:
    """A whitespace-separated token lowercased, without surrounding punctuation or quotes."""
    return token.lower().strip(".,;:!?\"'()[]")


# ---------------------------------------------------------------------------- lookup keys


def squeeze(text: str) -> str:
    """Whitespace runs as single spaces, ends trimmed."""
    return " ".join(text.split())


def phrase_key(text: str) -> str:
    """How skill names and aliases are compared: lowercase, hyphens as spaces, whitespace
    squeezed ("Front-End  Development" -> "front end development")."""
    return squeeze(text.lower().replace("-", " "))
