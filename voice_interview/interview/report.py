"""The recruiter's report for one interview, as plain data (JSON) and as an HTML page.

Per answer: the evaluation with its evidence (every strength and weakness with the quote
it rests on and, for a spoken answer, when the quote was said), the key-point coverage,
the speech metrics (coaching only, never scored) and the gate's reason for an answer that
was not assessed. Overall: the difficulty-weighted score over the assessed answers (which
ones were left out, and why), and the same weighted mean per skill.

Audio in the HTML page. The recruiter's web page shows the report in a sandboxed iframe
(no scripts, opaque origin), which cannot send the recruiter's Bearer key, so a link to
the audio route would not authenticate. The page therefore carries its audio inline as
``data:`` URLs: the whole answer once (about 3 KB per second of speech), and each quote
as its own short clip, cut from the stored Ogg/Opus by copying its packets (no
re-encoding; about a millisecond a clip) with ``CLIP_PAD_S`` of context on each side.
A clip plays from its start to its end in any browser with native controls, which a
media fragment (``#t=``) on the whole answer would not guarantee, and which would embed
the whole answer once per quote. The same clips come from
``GET /api/interviews/{id}/answers/{answer_id}/audio?start=&end=`` for API clients.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

import av
import numpy as np

from voice_interview.audio.storage import encode_ogg_opus
from voice_interview.domain.scoring import ScoredAnswer, overall_score
from voice_interview.domain.types import Difficulty
from voice_interview.interview.speech_metrics import FILLER_NOTE, parse_words, speech_metrics
from voice_interview.store.repository import AnswerRecord
from voice_interview.store.tables import AnswerRow, InterviewRow

OGG_FORMAT = "ogg_opus"
PCM_FORMAT = "pcm_s16le_16k"
AUDIO_MIME = "audio/ogg"
CLIP_PAD_S = 0.25  # context kept before and after a quote's words
CLIP_MAX_S = 30.0  # longest clip cut (a quote is a clause or two)
OPUS_WARMUP_S = 0.08  # packets kept before a clip's start so the decoder settles
WHOLE_ANSWER_EMBED_MAX_BYTES = 1_000_000  # an answer's whole audio is inlined up to this
HTML_AUDIO_BUDGET_BYTES = 8_000_000  # all inlined audio of one page, before base64
METHOD = "difficulty-weighted mean (easy 1.0, medium 1.5, hard 2.0)"


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    # SQLite hands back naive datetimes; every stored time is UTC.
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def interview_summary(row: InterviewRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "candidate_id": row.candidate_id,
        "role": row.role,
        "status": row.status,
        "current_question_index": row.current_question_index,
        "total": row.total,
        "overall_score": row.overall_score,
        "created_at": _iso(row.created_at),
        "started_at": _iso(row.started_at),
        "completed_at": _iso(row.completed_at),
    }


class Report(dict[str, Any]):
    """The report as JSON-ready data. ``audio`` keeps each answer's stored audio
    (answer id -> (format, bytes)) for ``render_html``; it is not part of the JSON."""

    audio: dict[str, tuple[str, bytes]]

    def __init__(self, data: Mapping[str, Any], audio: dict[str, tuple[str, bytes]]) -> None:
        super().__init__(data)
        self.audio = audio


# ------------------------------------------------------------------------------ audio


class AudioUnavailableError(Exception):
    """No audio is stored for the answer (storage off, or nothing was said)."""


def audio_url(interview_id: str, answer_id: str) -> str:
    return f"/api/interviews/{interview_id}/answers/{answer_id}/audio"


def clip_bounds(start_s: float, end_s: float, duration_s: float | None) -> tuple[float, float]:
    """A quote's clip: its words with ``CLIP_PAD_S`` either side, inside the audio."""
    a = max(0.0, start_s - CLIP_PAD_S)
    b = end_s + CLIP_PAD_S
    if duration_s:
        b = min(b, duration_s)
    b = min(b, a + CLIP_MAX_S)
    return round(a, 2), round(max(a, b), 2)


@dataclass
class _Packet:
    pts: int
    duration: int
    data: bytes


class OggOpusAudio:
    """One stored answer's Ogg/Opus audio, demuxed once; cuts clips by packet copy."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        try:
            with av.open(io.BytesIO(data), "r") as container:
                stream = container.streams.audio[0]
                self.rate = int(stream.codec_context.sample_rate or 48000)
                self.packets = [
                    _Packet(int(p.pts), int(p.duration or 0), bytes(p))
                    for p in container.demux(stream)
                    if p.size and p.pts is not None
                ]
        except (av.FFmpegError, IndexError) as e:
            raise AudioUnavailableError(f"stored audio is unreadable: {e}") from e
        end = max((p.pts + p.duration for p in self.packets), default=0)
        self.duration_s = max(0.0, end / self.rate)

    def clip(self, start_s: float, end_s: float) -> bytes:
        """Ogg/Opus of [start_s, end_s] (to the 20 ms packet), no re-encoding."""
        out = io.BytesIO()
        with (
            av.open(io.BytesIO(self.data), "r") as source,
            av.open(out, "w", format="ogg") as container,
        ):
            stream = container.add_stream_from_template(source.streams.audio[0])
            first: int | None = None
            for p in self.packets:
                t0 = p.pts / self.rate
                t1 = (p.pts + p.duration) / self.rate
                if t1 <= start_s - OPUS_WARMUP_S or t0 >= end_s:
                    continue
                if first is None:
                    first = p.pts
                packet = av.Packet(p.data)
                packet.pts = packet.dts = p.pts - first
                packet.duration = p.duration
                packet.time_base = Fraction(1, self.rate)
                packet.stream = stream
                container.mux(packet)
        return out.getvalue()


def answer_ogg(fmt: str, data: bytes) -> bytes:
    """An answer's stored audio as Ogg/Opus (raw PCM, before transcription, is encoded)."""
    if not data:
        raise AudioUnavailableError("no audio is stored for this answer")
    if fmt == PCM_FORMAT:
        return encode_ogg_opus(np.frombuffer(data, dtype="<i2").astype(np.int16))
    return data


def answer_audio(
    answer: AnswerRow, start_s: float | None = None, end_s: float | None = None
) -> bytes:
    """The answer's audio as Ogg/Opus, or the clip [start_s, end_s] of it (seconds of the
    stored audio, which is what word timestamps and evidence times refer to)."""
    data = answer_ogg(answer.audio_format, bytes(answer.audio or b""))
    if start_s is None and end_s is None:
        return data
    audio = OggOpusAudio(data)
    a = 0.0 if start_s is None else start_s
    b = audio.duration_s if end_s is None else end_s
    if not 0 <= a < b:
        raise ValueError("need 0 <= start < end")
    if a >= audio.duration_s:
        raise ValueError(f"start is past the end of the audio ({audio.duration_s:.2f} s)")
    return audio.clip(a, min(b, audio.duration_s))


# ------------------------------------------------------------------------------ data


def _not_assessed_reason(status: str | None, details: Mapping[str, Any], error: str) -> str:
    if status == "insufficient_data":
        return str(details.get("reason") or "insufficient data")
    if status == "failed":
        return f"evaluation failed ({error})" if error else "evaluation failed"
    if status == "pending":
        return "evaluation still running"
    return "not evaluated"


def _with_clip(item: Mapping[str, Any], url: str | None, duration: float | None) -> dict[str, Any]:
    out = dict(item)
    start, end = out.get("start_s"), out.get("end_s")
    if url and isinstance(start, int | float) and isinstance(end, int | float):
        a, b = clip_bounds(float(start), float(end), duration)
        out["clip"] = {"start_s": a, "end_s": b, "url": f"{url}?start={a:.2f}&end={b:.2f}"}
    else:
        out["clip"] = None
    return out


def _speech(answer: AnswerRow) -> dict[str, Any] | None:
    if answer.source != "voice" or answer.stt.get("status") != "done":
        return None
    stored = answer.stt.get("speech_metrics")
    if isinstance(stored, dict):
        return stored
    timeline = answer.stt.get("timeline")
    return speech_metrics(
        parse_words(answer.stt.get("words")),
        answer.speech_ms,
        timeline if isinstance(timeline, dict) else None,
    )


def _provenance(details: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("models", "rubric_version", "prompt_version", "scoring_version", "seed",
            "temperature", "feedback_source", "rescored_at", "previous")
    out = {k: details[k] for k in keys if k in details}
    gate = details.get("gate")
    if isinstance(gate, dict):
        out["gate_version"] = gate.get("version")
    return out


def _answer_item(interview_id: str, rec: AnswerRecord) -> dict[str, Any]:
    q, a, e, t = rec.question, rec.answer, rec.evaluation, rec.timing
    recording: dict[str, Any] | None = None
    url: str | None = None  # clip times refer to the stored Ogg/Opus audio
    duration: float | None = None
    if a is not None and a.audio:
        stored = a.stt.get("duration_s")
        duration = float(stored) if isinstance(stored, int | float) else None
        recording = {
            "url": audio_url(interview_id, a.id),
            "mime_type": AUDIO_MIME,
            "duration_s": duration,
        }
        if a.audio_format == OGG_FORMAT:
            url = recording["url"]
    evaluation = None
    if e is not None:
        details = e.details or {}
        assessed = e.status == "scored"
        evaluation = {
            "status": e.status,
            "score": e.score,
            "feedback": e.feedback,
            "strengths": list(e.strengths),
            "weaknesses": list(e.weaknesses),
            "coverage": [
                _with_clip(c, url, duration) for c in details.get("key_points", [])
            ],
            "evidence": [_with_clip(x, url, duration) for x in details.get("evidence", [])],
            "reason": None if assessed else _not_assessed_reason(e.status, details, e.error),
            "provenance": _provenance(details),
            "error": e.error or None,
        }
    return {
        "question": {
            "id": q.id,
            "index": q.position,
            "text": q.text,
            "question_type": q.question_type,
            "difficulty": q.difficulty,
            "skills": list(q.skills),
            "key_points": list(q.key_points),
        },
        "answer_id": a.id if a else None,
        "source": a.source if a else None,
        "transcript": a.transcript if a else None,
        "end_reason": a.end_reason if a else None,
        "recording": recording,
        "speech_metrics": _speech(a) if a else None,
        "evaluation": evaluation,
        "metrics": dict(t.latency_ms) if t else None,
    }


def _scored(rec: AnswerRecord) -> ScoredAnswer:
    e = rec.evaluation
    return ScoredAnswer(
        Difficulty(rec.question.difficulty),
        e.score if e is not None and e.status == "scored" else None,
        non_answer=e is not None and bool((e.details or {}).get("non_answer")),
    )


def per_skill(records: Sequence[AnswerRecord]) -> list[dict[str, Any]]:
    """The difficulty-weighted mean score per skill, over the answered questions."""
    skills: dict[str, list[AnswerRecord]] = {}
    for rec in records:
        if rec.answer is None:
            continue
        for skill in rec.question.skills:
            skills.setdefault(str(skill), []).append(rec)
    out = []
    for skill, recs in skills.items():
        o = overall_score(_scored(r) for r in recs)
        out.append(
            {
                "skill": skill,
                "score": o.score,
                "assessed": o.assessed,
                "not_assessed": o.not_assessed,
                "questions": [r.question.position for r in recs],
            }
        )
    return out


def build_report(interview: InterviewRow, records: list[AnswerRecord]) -> Report:
    answered = [r for r in records if r.answer is not None]
    overall = overall_score(_scored(r) for r in answered)
    left_out = [
        {
            "question_index": r.question.position,
            "question_id": r.question.id,
            "status": r.evaluation.status if r.evaluation else None,
            "reason": _not_assessed_reason(
                r.evaluation.status if r.evaluation else None,
                r.evaluation.details if r.evaluation else {},
                r.evaluation.error if r.evaluation else "",
            ),
        }
        for r in answered
        if r.evaluation is None or r.evaluation.status != "scored"
    ]
    audio = {
        r.answer.id: (r.answer.audio_format, bytes(r.answer.audio))
        for r in answered
        if r.answer is not None and r.answer.audio
    }
    data = {
        **interview_summary(interview),
        "overall_score": interview.overall_score
        if interview.overall_score is not None
        else overall.score,
        "scoring": {
            "method": METHOD,
            "assessed": overall.assessed,
            "not_assessed": overall.not_assessed,
            "note": overall.note,
            "left_out": left_out,
        },
        "per_skill": per_skill(records),
        "answers": [_answer_item(interview.id, rec) for rec in records],
    }
    return Report(data, audio)


# ------------------------------------------------------------------------------ HTML


def _esc(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _score(value: object) -> str:
    return "not assessed" if value is None else f"{float(value):.0f} / 100"  # type: ignore[arg-type]


def _secs(value: object) -> str:
    return f"{float(value):.1f} s" if isinstance(value, int | float) else "?"


class _Media:
    """Inlines audio as data: URLs under one size budget; each clip once per page."""

    def __init__(self, audio: Mapping[str, tuple[str, bytes]]) -> None:
        self.audio = audio
        self.budget = HTML_AUDIO_BUDGET_BYTES
        self._decoded: dict[str, OggOpusAudio | None] = {}
        self._ids: dict[tuple[str, float, float], str] = {}
        self.omitted = 0

    def _source(self, answer_id: str) -> OggOpusAudio | None:
        if answer_id not in self._decoded:
            fmt, data = self.audio.get(answer_id, ("", b""))
            try:
                ok = fmt == OGG_FORMAT and bool(data)
                self._decoded[answer_id] = OggOpusAudio(data) if ok else None
            except AudioUnavailableError:
                self._decoded[answer_id] = None
        return self._decoded[answer_id]

    def _tag(self, data: bytes, element_id: str, label: str) -> str:
        if len(data) > self.budget:
            self.omitted += 1
            return '<span class="meta">(audio left out: page size limit)</span>'
        self.budget -= len(data)
        b64 = base64.b64encode(data).decode("ascii")
        return (
            f'<audio id="{element_id}" controls preload="none" aria-label="{_esc(label)}" '
            f'src="data:{AUDIO_MIME};base64,{b64}"></audio>'
        )

    def whole(self, answer_id: str, element_id: str) -> str:
        source = self._source(answer_id)
        if source is None:
            return ""
        if len(source.data) > WHOLE_ANSWER_EMBED_MAX_BYTES:
            self.omitted += 1
            return '<span class="meta">(answer audio too long to embed)</span>'
        return self._tag(source.data, element_id, "the whole answer")

    def clip(self, answer_id: str, start: float, end: float, element_id: str) -> str:
        """An audio control for the clip, or a link to the control already on the page."""
        key = (answer_id, start, end)
        if key in self._ids:
            return f'<a class="play" href="#{self._ids[key]}">\u25b6 play (above)</a>'
        source = self._source(answer_id)
        if source is None:
            return ""
        try:
            data = source.clip(start, end)
        except (av.FFmpegError, ValueError):
            return ""
        self._ids[key] = element_id
        return self._tag(data, element_id, f"clip {start:.1f} to {end:.1f} s")


def _quote_html(
    item: Mapping[str, Any], media: _Media, answer_id: str | None, element_id: str,
    audio_note: str, *, show_quote: bool = True,
) -> str:
    quote = item.get("quote")
    if not quote:
        note = item.get("note")
        return f'<span class="meta">{_esc(note)}</span>' if note else ""
    out = f'<q>{_esc(quote)}</q>' if show_quote else ""
    clip = item.get("clip")
    if clip and answer_id:
        player = media.clip(answer_id, clip["start_s"], clip["end_s"], element_id)
        at = f'{clip["start_s"]:.1f}\u2013{clip["end_s"]:.1f} s'
        out += f' <span class="clip">{player} <span class="meta">{at}</span></span>'
    elif isinstance(item.get("start_s"), int | float) and audio_note:
        out += f' <span class="meta">(at {item["start_s"]:.1f} s; {_esc(audio_note)})</span>'
    return out


def _speech_html(m: Mapping[str, Any] | None) -> str:
    if not m:
        return ""
    parts = []
    if m.get("wpm") is not None:
        parts.append(f'{m["wpm"]:.0f} words per minute')
    p = m.get("pauses") or {}
    count = p.get("count", 0)
    if count:
        parts.append(
            f'{count} pause{"s" if count != 1 else ""} over {p.get("min_pause_s", 0.5)} s '
            f'(longest {_secs(p.get("longest_s"))})'
        )
    else:
        parts.append(f'no pauses over {p.get("min_pause_s", 0.5)} s')
    f = m.get("fillers") or {}
    n = f.get("count", 0)
    if n:
        by = ", ".join(f"{_esc(k)} \u00d7{v}" for k, v in (f.get("by_word") or {}).items())
        parts.append(f'{n} filler word{"s" if n != 1 else ""} ({by})')
    else:
        parts.append("no filler words found")
    notes = " ".join(_esc(x) for x in m.get("notes", []) if x != FILLER_NOTE)
    summary = " \u00b7 ".join(parts)
    return (
        f'<p class="speech"><b>Speech</b> (for coaching; not part of the score): '
        f'{summary}.<br><span class="meta">{notes}</span></p>'
    )


def _question_html(item: Mapping[str, Any], media: _Media) -> str:
    q = item["question"]
    n = q["index"] + 1
    ev = item["evaluation"] or {}
    status = ev.get("status")
    answer_id = item.get("answer_id")
    recording = item.get("recording")
    if status == "scored":
        verdict = f"<b>{_esc(_score(ev.get('score')))}</b>"
    elif item.get("answer_id") is None:
        verdict = "<b>not answered yet</b>"
    else:
        verdict = f'<b class="na">not assessed: {_esc(ev.get("reason") or status)}</b>'
    audio_note = "audio not stored" if item.get("source") == "voice" and not recording else ""
    whole = media.whole(answer_id, f"a{n}") if recording and answer_id else ""
    evidence = ev.get("evidence") or []
    contradicted = {x.get("key_point") for x in evidence if x.get("status") == "contradicted"}
    cov_rows = []
    for k, c in enumerate(ev.get("coverage", []) if status == "scored" else []):
        label = "contradicted" if c.get("key_point") in contradicted else c.get("status")
        cited = _quote_html(c, media, answer_id, f"q{n}k{k}", audio_note)
        if not cited and c.get("status") == "missing":
            cited = '<span class="meta">not mentioned</span>'
        cov_rows.append(
            f'<tr><td>{_esc(c.get("key_point"))}</td>'
            f'<td class="{_esc(c.get("status"))}">{_esc(label)}</td><td>{cited}</td></tr>'
        )
    coverage = (
        "<h3>Key points</h3><table class=\"cov\"><tr><th>Key point</th><th>Coverage</th>"
        f"<th>Evidence</th></tr>{''.join(cov_rows)}</table>"
        if cov_rows
        else ""
    )
    lists: dict[str, list[str]] = {"strength": [], "weakness": []}
    for k, x in enumerate(evidence):
        # Key-point evidence already quotes in its text; red flags quote their sentence.
        show = x.get("status") not in ("covered", "partial", "contradicted")
        cited = _quote_html(x, media, answer_id, f"q{n}e{k}", audio_note, show_quote=show)
        lists.setdefault(str(x.get("kind")), []).append(
            f'<li>{_esc(x.get("text"))}'
            + (f'<div class="ev">{cited}</div>' if cited else "")
            + "</li>"
        )
    if not evidence:  # evaluations stored before evidence was recorded
        lists["strength"] = [f"<li>{_esc(s)}</li>" for s in ev.get("strengths", [])]
        lists["weakness"] = [f"<li>{_esc(s)}</li>" for s in ev.get("weaknesses", [])]
    cols = ""
    if status == "scored":
        cols = (
            '<div class="cols"><div><h3>Strengths</h3><ul>'
            f'{"".join(lists["strength"]) or "<li>none noted</li>"}</ul></div>'
            '<div><h3>Weaknesses</h3><ul>'
            f'{"".join(lists["weakness"]) or "<li>none noted</li>"}</ul></div></div>'
        )
    metrics = item.get("metrics") or {}
    timing = ", ".join(
        f"{_esc(k)} {_esc(v)} ms"
        for k, v in metrics.items()
        if k in ("end_of_turn", "stt_final", "tts_first_audio", "voice_to_voice")
        and v is not None
    )
    skills = ", ".join(_esc(s) for s in q.get("skills", []))
    kind = f'{_esc(q["question_type"])} · {_esc(q["difficulty"])}' + (
        f" · {skills}" if skills else ""
    )
    transcript = _esc(item.get("transcript")) or "<i>no answer</i>"
    return f"""<section class="q" id="q{n}">
<h2>Question {n}: {_esc(q["text"])}</h2>
<p class="meta">{kind} · score: {verdict}</p>
<h3>Answer</h3><blockquote>{transcript}</blockquote>
{f'<p class="audio">{whole}</p>' if whole else ""}
{_speech_html(item.get("speech_metrics"))}
{f'<h3>Feedback</h3><p>{_esc(ev.get("feedback"))}</p>' if ev.get("feedback") else ""}
{coverage}
{cols}
<p class="meta">Timings: {timing or "n/a"}</p>
</section>"""


def render_html(
    report: Mapping[str, Any], audio: Mapping[str, tuple[str, bytes]] | None = None
) -> str:
    """The printable report. Audio comes from ``audio``, else from the ``Report`` itself;
    without it the page has the quotes and their times but no players."""
    media = _Media(audio if audio is not None else getattr(report, "audio", {}))
    sections = [_question_html(item, media) for item in report["answers"]]
    scoring = report["scoring"]
    left_out = "".join(
        f'<li><a href="#q{x["question_index"] + 1}">Question {x["question_index"] + 1}</a>: '
        f'not assessed: {_esc(x["reason"])}</li>'
        for x in scoring.get("left_out", [])
    )
    skill_rows = "".join(
        f'<tr><td>{_esc(s["skill"])}</td><td>{_esc(_score(s["score"]))}</td>'
        f'<td>{s["assessed"]} of {s["assessed"] + s["not_assessed"]}</td></tr>'
        for s in report.get("per_skill", [])
    )
    skills = (
        '<h2>Skills</h2><table class="skills"><tr><th>Skill</th><th>Score</th>'
        f"<th>Answers assessed</th></tr>{skill_rows}</table>"
        if skill_rows
        else ""
    )
    breakdown_rows = "".join(
        f'<tr><td><a href="#q{i["question"]["index"] + 1}">{i["question"]["index"] + 1}</a></td>'
        f'<td>{_esc(i["question"]["difficulty"])}</td>'
        f'<td>{_esc(_row_score(i))}</td></tr>'
        for i in report["answers"]
    )
    spoken = any(i.get("speech_metrics") for i in report["answers"])
    speech_note = (
        '<p class="meta">Speech metrics (speaking rate, pauses, filler words) are shown for '
        f"coaching and are not part of any score. {_esc(FILLER_NOTE)}</p>"
        if spoken
        else ""
    )
    omitted = (
        f'<p class="meta">{media.omitted} audio item(s) were left out to keep the page small; '
        "the audio route of the API serves them.</p>"
        if media.omitted
        else ""
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Interview report {_esc(report["id"])}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 56rem; margin: 1rem auto; padding: 0 1rem;
       color: #1a1a1a; line-height: 1.45; }}
.q {{ border-top: 1px solid #ccc; padding-top: .5rem; }}
.meta {{ color: #555; font-size: .9rem; }}
blockquote {{ background: #f5f5f5; margin: 0; padding: .5rem .8rem; border-left: 3px solid #999; }}
.cols {{ display: flex; gap: 2rem; flex-wrap: wrap; }}
.cols > div {{ flex: 1 1 20rem; }}
.overall {{ font-size: 1.4rem; }}
table {{ border-collapse: collapse; margin: .3rem 0; }}
td, th {{ border: 1px solid #ddd; padding: .25rem .5rem; text-align: left; vertical-align: top; }}
.covered {{ color: #176317; }} .partial {{ color: #8a5a00; }} .missing {{ color: #a11; }}
.na {{ color: #a11; }}
audio {{ height: 2rem; max-width: 100%; vertical-align: middle; }}
.ev {{ font-size: .92rem; margin: .15rem 0 .4rem; }}
</style></head><body>
<h1>Interview report</h1>
<p class="meta">Interview {_esc(report["id"])} · candidate {_esc(report["candidate_id"])} ·
role {_esc(report["role"] or "general")} · status {_esc(report["status"])}</p>
<p class="overall">Overall score: <b>{_esc(_score(report["overall_score"]))}</b></p>
<p class="meta">{_esc(scoring["method"])}; {_esc(scoring["note"])}.</p>
{f"<ul>{left_out}</ul>" if left_out else ""}
{skills}
<h2>Breakdown</h2>
<table class="breakdown"><tr><th>Question</th><th>Difficulty</th><th>Score</th></tr>
{breakdown_rows}</table>
{omitted}
{speech_note}
{"".join(sections)}
</body></html>"""


def _row_score(item: Mapping[str, Any]) -> str:
    ev = item.get("evaluation")
    if item.get("answer_id") is None or ev is None:
        return "not answered yet"
    if ev.get("status") == "scored":
        return _score(ev.get("score"))
    return f"not assessed: {ev.get('reason') or ev.get('status')}"
