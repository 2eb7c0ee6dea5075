"""Speech metrics for coaching, and where in the recording a quote was said.

Everything here works from the final transcript's word timestamps, stored per answer as
``stt["words"] = [[word, start_s, end_s, probability], ...]`` on the timeline of the
answer's stored audio. That audio is ``TurnSegmenter.voiced_audio()``: the VAD's speech
segments with ``pre_roll_ms`` of context at both ends, every silence between segments
longer than ``squeeze_ms`` cut down to ``squeeze_ms``. The turn's *timeline*
(``stt["timeline"]``, from ``timeline_of``) records which stretches of the input that
audio is made of, so a time in the stored audio maps back to the answer as spoken.

Metrics, shown to the recruiter for coaching and never part of the content score:

* ``wpm``: words per minute of speaking time. Speaking time is the VAD's voiced time
  (``speech_ms``), which leaves out every silence long enough to close a VAD segment
  (``TurnSegmenter.hangover_ms``).
* pauses: silences longer than ``PAUSE_MIN_S`` between two words, measured on the input
  timeline from the VAD's speech segments (exact to one 20 ms frame). The word
  timestamps say which segments hold words, so a cough between two sentences does not
  split a pause, and silence before the first or after the last word is not a pause.
  Gap lengths do not come from Whisper's word times: tiny.en puts up to 0.6 s between
  words said 0.25 s apart, and stretches the word before a pause across it. A silence
  inside one VAD segment is shorter than the VAD's hangover (under ``PAUSE_MIN_S``) by
  construction, so no pause is missed.
  Without a timeline (answers stored before it was recorded), gaps between words in the
  stored audio are used instead; long silences are squeezed to 0.3 s there, so those
  counts are lower bounds and the result says so (``pauses.timeline``).
* filler words: "um", "uh", "er", "hmm" and the like; "basically" and "actually";
  "like" only when set off by a comma ("it was, like, slow"; not "I like Go", "things
  like caching"); "you know" and "I mean" only as asides (followed by a comma or the end
  of a sentence, and not "do you know ..."); "sort of" / "kind of" unless after a
  determiner ("a kind of index", "what sort of cache"). Tuned for precision. Whisper
  leaves most hesitations ("um", "uh") out of its transcripts, so filler counts are a
  lower bound.

``locate_quote`` finds a quote from the transcript among the words (exactly, on letters
and digits, else by a fuzzy word match) and returns when it was said in the stored audio.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from difflib import SequenceMatcher
from itertools import pairwise
from typing import TYPE_CHECKING, Any, NamedTuple

from voice_interview.audio.vad import voiced_spans

if TYPE_CHECKING:
    from voice_interview.audio.vad import TurnSegmenter

METRICS_VERSION = "speech-metrics-2025.1"

PAUSE_MIN_S = 0.5  # a silence between two words longer than this is a pause
MIN_SPEAKING_S = 1.0  # no speaking rate from less speech than this
QUOTE_MIN_MATCH = 0.6  # share of a quote's words a fuzzy match must find, in order

FILLER_NOTE = (
    "Whisper leaves most hesitations (\u201cum\u201d, \u201cuh\u201d) out of the transcript, "
    "so filler counts are a lower bound."
)
SQUEEZED_NOTE = (
    "Long silences are shortened to 0.3 s in the stored audio and this answer has no "
    "recorded timeline, so pause counts are a lower bound."
)


class SpokenWord(NamedTuple):
    word: str
    start: float  # seconds into the stored (voiced) audio
    end: float
    probability: float


def parse_words(raw: object) -> list[SpokenWord]:
    """Words from a stored ``stt["words"]`` list (or ``Word`` objects); malformed entries
    are skipped."""
    out: list[SpokenWord] = []
    if not isinstance(raw, Iterable) or isinstance(raw, str | bytes):
        return out
    for item in raw:
        try:
            if isinstance(item, Sequence) and not isinstance(item, str):
                w, s, e, p = item[0], item[1], item[2], item[3] if len(item) > 3 else 1.0
            else:
                w, s, e, p = item.word, item.start, item.end, item.probability
            out.append(SpokenWord(str(w), float(s), float(e), float(p)))
        except (AttributeError, IndexError, TypeError, ValueError):
            continue
    return out


def fit_words(words: Sequence[SpokenWord], from_s: float, to_s: float) -> list[SpokenWord]:
    """Stretch word times from a timeline ``from_s`` long onto one ``to_s`` long.

    A transcript merged from incremental pieces runs on the pieces' audio, which has a
    little more padding at each piece boundary than the whole answer's voiced audio (0.1
    to 0.2 s per boundary); the stored audio is the latter, so times are fitted to it.
    Measured on the fixtures, this takes the median error of word times against a
    transcription of the stored audio from 0.1 s to 0.02-0.05 s.
    """
    if from_s <= 0 or to_s <= 0 or abs(from_s - to_s) < 0.005:
        return list(words)
    k = to_s / from_s
    return [
        SpokenWord(w.word, round(w.start * k, 3), round(w.end * k, 3), w.probability)
        for w in words
    ]


# ------------------------------------------------------------------------------ timeline


def voiced_chunks(
    segments_ms: Sequence[Sequence[int]],
    *,
    received_ms: int,
    pre_roll_ms: int,
    squeeze_ms: int,
) -> list[tuple[int, int]]:
    """The stretches of input (ms) that ``TurnSegmenter.voiced_audio()`` joins, in order
    (``audio.vad.voiced_spans``, the same cuts, on the segments in milliseconds)."""
    segs = [(int(a), int(b)) for a, b in segments_ms]
    return voiced_spans(segs, received_ms, pre_roll_ms, squeeze_ms)


def timeline_of(segmenter: TurnSegmenter, end_segment: int | None = None) -> dict[str, Any]:
    """What to store beside the transcript so stored-audio times map back to the answer
    (of segments up to ``end_segment``, as ``voiced_audio(0, end_segment)`` cuts them)."""
    segments = segmenter.segments_ms[:end_segment]
    return {
        "segments_ms": [[a, b] for a, b in segments],
        "chunks_ms": [
            [a, b]
            for a, b in voiced_chunks(
                segments,
                received_ms=segmenter.received_ms,
                pre_roll_ms=segmenter.pre_roll_ms,
                squeeze_ms=segmenter.squeeze_ms,
            )
        ],
    }


def _pairs(value: object) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    if isinstance(value, list | tuple):
        for item in value:
            if isinstance(item, list | tuple) and len(item) == 2:
                try:
                    out.append((int(item[0]), int(item[1])))
                except (TypeError, ValueError):
                    continue
    return out


def to_input_s(t: float, chunks_ms: Sequence[tuple[int, int]]) -> float:
    """A time in the stored audio (s) as a time of the input, the answer as spoken (s)."""
    ms = t * 1000.0
    offset = 0.0
    for a, b in chunks_ms:
        if ms <= offset + (b - a):
            return (a + ms - offset) / 1000.0
        offset += b - a
    if not chunks_ms:
        return t
    last = chunks_ms[-1]
    return (last[1] + ms - offset) / 1000.0


# ------------------------------------------------------------------------------ fillers

_EDGE_PUNCT = re.compile(r"^[^\w']+|[^\w']+$")
_SINGLE_FILLERS = {
    "um": "um", "umm": "um", "uhm": "um", "mm": "hmm", "hmm": "hmm", "hm": "hmm",
    "uh": "uh", "uhh": "uh", "er": "er", "erm": "er", "ah": "ah", "eh": "eh",
    "basically": "basically", "actually": "actually",
}
_NOT_ASIDE_BEFORE = frozenset(
    ["do", "does", "did", "don't", "didn't", "if", "as", "would", "will", "to", "might",
     "may", "could", "should", "can", "let", "whether", "what", "how"]
)
_DETERMINERS = frozenset(
    ["a", "an", "the", "this", "that", "these", "those", "what", "which", "any", "some",
     "every", "each", "one", "same", "another", "my", "our", "your", "their", "its", "his",
     "her", "no", "all", "whatever", "other", "different", "new", "right", "wrong", "first",
     "last", "best", "that's"]
)


def _norm(raw: str) -> str:
    return _EDGE_PUNCT.sub("", raw.lower().replace("\u2019", "'"))


def _aside_end(raw: str) -> bool:
    """The word closes an aside: a comma, or the end of a sentence, right after it."""
    return bool(re.search(r"[,.;:!?\u2026-]$", raw.strip()))


def count_fillers(tokens: Sequence[str]) -> dict[str, int]:
    """Filler words and phrases in spoken order (raw tokens, punctuation attached)."""
    norm = [_norm(t) for t in tokens]
    counts: dict[str, int] = {}

    def add(key: str) -> None:
        counts[key] = counts.get(key, 0) + 1

    i = 0
    while i < len(norm):
        w = norm[i]
        prev = norm[i - 1] if i > 0 else ""
        nxt = norm[i + 1] if i + 1 < len(norm) else ""
        if w in _SINGLE_FILLERS:
            add(_SINGLE_FILLERS[w])
        elif w == "like" and tokens[i].rstrip().endswith(","):
            add("like")
        elif w == "you" and nxt == "know" and prev not in _NOT_ASIDE_BEFORE and (
            i + 2 == len(norm) or _aside_end(tokens[i + 1])
        ):
            add("you know")
            i += 1
        elif w == "i" and nxt == "mean" and tokens[i + 1].rstrip().endswith(","):
            add("I mean")
            i += 1
        elif (
            w in ("sort", "kind")
            and nxt == "of"
            and prev not in _DETERMINERS
            and not _aside_end(tokens[i])
        ):
            add(f"{w} of")
            i += 1
        i += 1
    return dict(sorted(counts.items()))


# ------------------------------------------------------------------------------ metrics


def _word_count(words: Sequence[SpokenWord]) -> int:
    return sum(1 for w in words if any(ch.isalnum() for ch in w.word))


def _pauses_from_timeline(
    words: Sequence[SpokenWord], segments: Sequence[tuple[int, int]],
    chunks: Sequence[tuple[int, int]],
) -> list[float]:
    """Silences (s) between the VAD segments that hold words."""
    worded: set[int] = set()
    for w in words:
        mid = to_input_s((w.start + w.end) / 2.0, chunks) * 1000.0
        best = min(
            range(len(segments)),
            key=lambda k: (
                0.0 if segments[k][0] <= mid <= segments[k][1]
                else min(abs(mid - segments[k][0]), abs(mid - segments[k][1]))
            ),
        )
        worded.add(best)
    order = sorted(worded)
    gaps = [(segments[b][0] - segments[a][1]) / 1000.0 for a, b in pairwise(order)]
    return [round(g, 2) for g in gaps if g > PAUSE_MIN_S]


def speech_metrics(
    words: Sequence[SpokenWord],
    speech_ms: int | None,
    timeline: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Speaking rate, pauses and filler words of one spoken answer (see the module doc)."""
    n = _word_count(words)
    segments = _pairs((timeline or {}).get("segments_ms"))
    chunks = _pairs((timeline or {}).get("chunks_ms"))
    if speech_ms:
        speaking_s, speaking_from = speech_ms / 1000.0, "vad"
    elif words:
        speaking_s, speaking_from = max(0.0, words[-1].end - words[0].start), "words"
    else:
        speaking_s, speaking_from = 0.0, "none"
    wpm = round(n * 60.0 / speaking_s, 1) if n and speaking_s >= MIN_SPEAKING_S else None
    notes: list[str] = []
    if words and segments and chunks:
        pauses = _pauses_from_timeline(words, segments, chunks)
        pause_timeline = "input"
    else:
        gaps = [b.start - a.end for a, b in pairwise(words)]
        pauses = [round(g, 2) for g in gaps if g > PAUSE_MIN_S]
        pause_timeline = "stored_audio"
        if len(words) > 1:
            notes.append(SQUEEZED_NOTE)
    fillers = count_fillers([w.word for w in words])
    total_fillers = sum(fillers.values())
    notes.append(FILLER_NOTE)
    return {
        "version": METRICS_VERSION,
        "words": n,
        "speaking_s": round(speaking_s, 2),
        "speaking_time_from": speaking_from,
        "wpm": wpm,
        "pauses": {
            "count": len(pauses),
            "longest_s": max(pauses) if pauses else None,
            "total_s": round(sum(pauses), 2),
            "min_pause_s": PAUSE_MIN_S,
            "timeline": pause_timeline,
        },
        "fillers": {
            "count": total_fillers,
            "per_100_words": round(100.0 * total_fillers / n, 1) if n else None,
            "by_word": fillers,
        },
        "notes": notes,
    }


# ------------------------------------------------------------------------------ quotes


def _key(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def locate_quote(quote: str, words: Sequence[SpokenWord]) -> tuple[float, float] | None:
    """(start_s, end_s) of ``quote`` in the stored audio, or None if it is not found.

    First an exact match on letters and digits (punctuation, case and word splits do not
    matter: "B-tree," matches the words "B" "-tree"); failing that, the best in-order
    match of the quote's words, which must find ``QUOTE_MIN_MATCH`` of them.
    """
    if not quote or not words:
        return None
    stream: list[str] = []
    owner: list[int] = []
    for i, w in enumerate(words):
        k = _key(w.word)
        stream.append(k)
        owner.extend([i] * len(k))
    text = "".join(stream)
    q = _key(quote)
    if not q or not text:
        return None
    pos = text.find(q)
    if pos >= 0:
        first, last = owner[pos], owner[pos + len(q) - 1]
        return round(words[first].start, 2), round(words[last].end, 2)
    # Fuzzy: the quote's words against the transcript's, around the longest common run.
    qwords = [k for k in (_key(t) for t in quote.split()) if k]
    idx = [i for i, k in enumerate(stream) if k]
    twords = [stream[i] for i in idx]
    if not qwords or not twords:
        return None
    anchor = SequenceMatcher(None, twords, qwords, autojunk=False).find_longest_match(
        0, len(twords), 0, len(qwords)
    )
    if anchor.size == 0:
        return None
    slack = max(2, len(qwords) // 4)
    lo = max(0, anchor.a - anchor.b - slack)
    hi = min(len(twords), anchor.a + (len(qwords) - anchor.b) + slack)
    blocks = [
        b
        for b in SequenceMatcher(None, twords[lo:hi], qwords, autojunk=False).get_matching_blocks()
        if b.size
    ]
    if sum(b.size for b in blocks) < QUOTE_MIN_MATCH * len(qwords):
        return None
    first = idx[lo + blocks[0].a]
    last = idx[lo + blocks[-1].a + blocks[-1].size - 1]
    return round(words[first].start, 2), round(words[last].end, 2)
