"""The report as a printable HTML page, from ``templates/report.html``.

The template file holds every piece of markup as a named ``string.Template`` block
(``<!--@ name -->`` starts one); this module only fills them in, HTML-escaping every value
that comes from the data. Per answer the page shows the score and how it was made (each
part, its weight, every penalty, any cap with its reason, the non-answer or not-assessed
reason), each key point with its status and the quote that covered it, and the strengths
and weaknesses with their quotes; the breakdown table at the top lines the parts of every
answer up side by side. Audio is inlined as ``data:`` URLs (see ``report_audio``).
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from string import Template
from typing import Any

import av

from voice_interview.audio.storage import OGG_FORMAT
from voice_interview.interview.evaluation.speech_metrics import FILLER_NOTE
from voice_interview.interview.report.audio import (
    AUDIO_MIME,
    AudioUnavailableError,
    OggOpusAudio,
)

WHOLE_ANSWER_EMBED_MAX_BYTES = 1_000_000  # an answer's whole audio is inlined up to this
HTML_AUDIO_BUDGET_BYTES = 8_000_000  # all inlined audio of one page, before base64

# What each part of the score measures, for the "How the score was made" table.
PART_NOTES = {
    "coverage": "how much of the question's key points the answer covers (table below)",
    "specificity": "concrete detail: named tools, steps, numbers, examples",
    "relevance": "how closely the answer keeps to the question asked",
}
_SHOWN = {"coverage", "specificity", "relevance", "penalty_total", "uncapped", "final",
          "check_penalty"}
PENALTY_NAMES = {
    "overclaim": "sweeping claims",
    "dismissive": "dismissive or risky stances",
    "deflect": "stepping around the question",
    "contradiction": "contradicted key points",
}


@cache
def templates() -> dict[str, Template]:
    """The named blocks of ``templates/report.html``."""
    template = resources.files("voice_interview.interview.report") / "templates" / "report.html"
    text = template.read_text(encoding="utf-8")
    parts = re.split(r"^<!--@ (\w+) -->\n", text, flags=re.MULTILINE)
    return {name: Template(body.removesuffix("\n")) for name, body in zip(
        parts[1::2], parts[2::2], strict=True
    )}


def _t(name: str, **values: object) -> str:
    """Block ``name`` filled in; values are inserted as given (escape them first)."""
    return templates()[name].substitute({k: "" if v is None else str(v) for k, v in values.items()})


def _esc(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _score(value: object) -> str:
    return "not assessed" if value is None else f"{float(value):.0f} / 100"  # type: ignore[arg-type]


def _num(value: object, digits: int = 0) -> str:
    return f"{float(value):.{digits}f}" if isinstance(value, int | float) else "\u2013"


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
            return _t("audio_left_out")
        self.budget -= len(data)
        b64 = base64.b64encode(data).decode("ascii")
        return _t("audio", id=element_id, label=_esc(label), mime=AUDIO_MIME, b64=b64)

    def whole(self, answer_id: str, element_id: str) -> str:
        source = self._source(answer_id)
        if source is None:
            return ""
        if len(source.data) > WHOLE_ANSWER_EMBED_MAX_BYTES:
            self.omitted += 1
            return _t("audio_too_long")
        return self._tag(source.data, element_id, "the whole answer")

    def clip(self, answer_id: str, start: float, end: float, element_id: str) -> str:
        """An audio control for the clip, or a link to the control already on the page."""
        key = (answer_id, start, end)
        if key in self._ids:
            return _t("play_above", id=self._ids[key])
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
        return _t("meta", text=_esc(note)) if note else ""
    out = _t("quote", quote=_esc(quote)) if show_quote else ""
    clip = item.get("clip")
    if clip and answer_id:
        player = media.clip(answer_id, clip["start_s"], clip["end_s"], element_id)
        out += _t("clip", player=player, start=f'{clip["start_s"]:.1f}', end=f'{clip["end_s"]:.1f}')
    elif isinstance(item.get("start_s"), int | float) and audio_note:
        out += _t("quote_time", start=f'{item["start_s"]:.1f}', note=_esc(audio_note))
    return out


def _speech_html(m: Mapping[str, Any] | None) -> str:
    if not m:
        return ""
    parts = []
    if m.get("wpm") is not None:
        parts.append(f'{m["wpm"]:.0f} words per minute')
    p = m.get("pauses") or {}
    count = p.get("count", 0)
    over = p.get("min_pause_s", 0.5)
    if count:
        parts.append(
            f'{count} pause{"s" if count != 1 else ""} over {over} s '
            f'(longest {_secs(p.get("longest_s"))})'
        )
    else:
        parts.append(f"no pauses over {over} s")
    f = m.get("fillers") or {}
    n = f.get("count", 0)
    if n:
        by = ", ".join(f"{_esc(k)} \u00d7{v}" for k, v in (f.get("by_word") or {}).items())
        parts.append(f'{n} filler word{"s" if n != 1 else ""} ({by})')
    else:
        parts.append("no filler words found")
    notes = " ".join(_esc(x) for x in m.get("notes", []) if x != FILLER_NOTE)
    return _t("speech", summary=" \u00b7 ".join(parts), notes=notes)


def _penalty_text(penalties: Mapping[str, Any]) -> str:
    return "; ".join(
        f"\u2212{float(v):.0f} {PENALTY_NAMES.get(k, k)}"
        for k, v in penalties.items() if isinstance(v, int | float) and v > 0
    )


def _parts_html(ev: Mapping[str, Any]) -> str:
    """The score and its parts: sub-scores with their weights, penalties, caps, final."""
    sp = ev.get("score_parts")
    if ev.get("status") != "scored" or not sp:
        return ""
    rows: list[str] = []
    non = ev.get("non_answer")
    if non:
        rows.append(_t("part_row", part="No answer", value="0", weight="",
                       note=_esc((non or {}).get("reason"))))
    else:
        weights = sp.get("weights") or {}
        for part in ("coverage", "specificity", "relevance"):
            w = weights.get(part)
            rows.append(_t(
                "part_row", part=part.capitalize(), value=f"{_num(sp.get(part))} / 100",
                weight=f"\u00d7 {w:.2f}" if isinstance(w, int | float) else "",
                note=_esc(PART_NOTES[part]),
            ))
        penalties = _penalty_text(sp.get("penalties") or {})
        rows.append(_t(
            "part_row", part="Penalties", value=f"\u2212{_num(sp.get('penalty_total'))}",
            weight="", note=_esc(penalties or "none"),
        ))
        for key, value in sp.items():  # parts the evaluator added (a judge's grade, ...)
            if key not in _SHOWN and isinstance(value, int | float):
                rows.append(_t("part_row", part=_esc(key.replace("_", " ").capitalize()),
                               value=_num(value, 1), weight="", note=""))
        if isinstance(sp.get("uncapped"), int | float):
            rows.append(_t("part_row", part="Before caps", value=_num(sp["uncapped"], 1),
                           weight="", note="weighted parts, scaled for the question type, "
                           "minus penalties"))
    for cap in sp.get("caps") or []:
        if cap.get("kind") == "non_answer":
            continue
        rows.append(_t("cap_row", kind=_esc(cap.get("kind")), cap=_num(cap.get("cap")),
                       reason=_esc(cap.get("reason"))))
    check = ev.get("llm_check")
    if isinstance(sp.get("check_penalty"), int | float) and isinstance(check, Mapping):
        taken = f"\u2212{_num(sp['check_penalty'], 1)}"
        rows.append(_t("part_row", part="Check model", value=taken, weight="",
                       note=_esc(check.get("why"))))
    caps = [c for c in sp.get("caps") or [] if c.get("kind") != "non_answer"]
    note = "held by the cap above" if caps else ""
    rows.append(_t("part_final", value=_esc(_score(ev.get("score"))), note=note))
    return _t("parts", rows="".join(rows))


def _coverage_html(
    ev: Mapping[str, Any], media: _Media, answer_id: str | None, n: int, audio_note: str
) -> str:
    rows = []
    for k, c in enumerate(ev.get("coverage") or [] if ev.get("status") == "scored" else []):
        cited = _quote_html(c, media, answer_id, f"q{n}k{k}", audio_note)
        if c.get("contradiction"):
            cited += " " + _t("meta", text=_esc(f"contradiction: {c['contradiction']}"))
        if not cited and c.get("status") == "missing":
            cited = _t("meta", text="not mentioned")
        status = str(c.get("label") or c.get("status"))
        rows.append(_t("coverage_row", key_point=_esc(c.get("key_point")), status=_esc(status),
                       label=_esc(status), match=_num(c.get("similarity"), 2), cited=cited))
    return _t("coverage", rows="".join(rows)) if rows else ""


def _evidence_html(
    ev: Mapping[str, Any], media: _Media, answer_id: str | None, n: int, audio_note: str
) -> str:
    if ev.get("status") != "scored":
        return ""
    evidence = ev.get("evidence") or []
    lists: dict[str, list[str]] = {"strength": [], "weakness": []}
    for k, x in enumerate(evidence):
        # Key-point evidence already quotes in its text; red flags quote their sentence.
        show = x.get("status") not in ("covered", "partial", "contradicted")
        cited = _quote_html(x, media, answer_id, f"q{n}e{k}", audio_note, show_quote=show)
        lists.setdefault(str(x.get("kind")), []).append(_t(
            "evidence_item", text=_esc(x.get("text")),
            cited=_t("evidence_quote", cited=cited) if cited else "",
        ))
    if not evidence:  # evaluations stored before evidence was recorded
        for kind, key in (("strength", "strengths"), ("weakness", "weaknesses")):
            lists[kind] = [_t("evidence_item", text=_esc(s), cited="") for s in ev.get(key, [])]
    none = _t("none_noted")
    return _t("evidence", strengths="".join(lists["strength"]) or none,
              weaknesses="".join(lists["weakness"]) or none)


def _question_html(item: Mapping[str, Any], media: _Media) -> str:
    q = item["question"]
    n = q["index"] + 1
    ev = item["evaluation"] or {}
    status = ev.get("status")
    answer_id = item.get("answer_id")
    recording = item.get("recording")
    if status == "scored":
        verdict = _t("verdict_scored", score=_esc(_score(ev.get("score"))))
    elif answer_id is None:
        verdict = _t("verdict_not_answered")
    else:
        verdict = _t("verdict_not_assessed", reason=_esc(ev.get("reason") or status))
    audio_note = "audio not stored" if item.get("source") == "voice" and not recording else ""
    whole = media.whole(answer_id, f"a{n}") if recording and answer_id else ""
    timing = ", ".join(
        f"{_esc(k)} {_esc(v)} ms" for k, v in (item.get("metrics") or {}).items()
        if k in ("end_of_turn", "stt_final", "tts_first_audio", "voice_to_voice")
        and v is not None
    )
    skills = ", ".join(_esc(s) for s in q.get("skills", []))
    kind = f'{_esc(q["question_type"])} · {_esc(q["difficulty"])}' + (
        f" · {skills}" if skills else ""
    )
    return _t(
        "question", n=n, text=_esc(q["text"]), kind=kind, verdict=verdict,
        transcript=_esc(item.get("transcript")) or _t("no_answer"),
        audio=_t("whole_audio", player=whole) if whole else "",
        speech=_speech_html(item.get("speech_metrics")),
        feedback=_t("feedback", feedback=_esc(ev["feedback"])) if ev.get("feedback") else "",
        parts=_parts_html(ev),
        coverage=_coverage_html(ev, media, answer_id, n, audio_note),
        evidence=_evidence_html(ev, media, answer_id, n, audio_note),
        timing=timing or "n/a",
    )


def _row_score(item: Mapping[str, Any]) -> str:
    ev = item.get("evaluation")
    if item.get("answer_id") is None or ev is None:
        return "not answered yet"
    if ev.get("status") == "scored":
        return _score(ev.get("score"))
    return f"not assessed: {ev.get('reason') or ev.get('status')}"


def _breakdown_row(item: Mapping[str, Any]) -> str:
    ev = item.get("evaluation") or {}
    sp = ev.get("score_parts") if ev.get("status") == "scored" else None
    sp = sp or {}
    caps = [c for c in sp.get("caps") or [] if isinstance(c, Mapping)]
    cap = "; ".join(
        "non-answer (scores 0)" if c.get("kind") == "non_answer"
        else f"{c.get('kind')} (at most {_num(c.get('cap'))})" for c in caps
    )
    pen = sp.get("penalty_total")
    return _t(
        "breakdown_row", n=item["question"]["index"] + 1,
        difficulty=_esc(item["question"]["difficulty"]), score=_esc(_row_score(item)),
        coverage=_num(sp.get("coverage")), specificity=_num(sp.get("specificity")),
        relevance=_num(sp.get("relevance")),
        penalties=f"\u2212{_num(pen)}" if isinstance(pen, int | float) and pen else _num(pen),
        cap=_esc(cap),
    )


def render_html(
    report: Mapping[str, Any], audio: Mapping[str, tuple[str, bytes]] | None = None
) -> str:
    """The printable report. Audio comes from ``audio``, else from the ``Report`` itself;
    without it the page has the quotes and their times but no players."""
    media = _Media(audio if audio is not None else getattr(report, "audio", {}))
    sections = "".join(_question_html(item, media) for item in report["answers"])
    scoring = report["scoring"]
    left_out = "".join(
        _t("left_out", n=x["question_index"] + 1, reason=_esc(x["reason"]))
        for x in scoring.get("left_out", [])
    )
    skill_rows = "".join(
        _t("skill_row", skill=_esc(s["skill"]), score=_esc(_score(s["score"])),
           assessed=s["assessed"], total=s["assessed"] + s["not_assessed"])
        for s in report.get("per_skill", [])
    )
    spoken = any(i.get("speech_metrics") for i in report["answers"])
    return _t(
        "page", id=_esc(report["id"]), candidate=_esc(report["candidate_id"]),
        role=_esc(report["role"] or "general"), status=_esc(report["status"]),
        overall=_esc(_score(report["overall_score"])), method=_esc(scoring["method"]),
        note=_esc(scoring["note"]), left_out=_t("list", items=left_out) if left_out else "",
        skills=_t("skills", rows=skill_rows) if skill_rows else "",
        breakdown_rows="".join(_breakdown_row(i) for i in report["answers"]),
        omitted=_t("omitted", count=media.omitted) if media.omitted else "",
        speech_note=_t("speech_note", filler_note=_esc(FILLER_NOTE)) if spoken else "",
        sections=sections,
    )
