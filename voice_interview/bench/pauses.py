"""The pause fixture set (``voice-interview bench --pauses``): answers with thinking pauses.

What it adds to a run's numbers:

* ends taken back (``turn_resumed``, continued) and answers cut and never taken back,
  with the pause each end mid-answer fell in;
* **misattributed words**: words of an answer's reference missing from its own final
  transcript and found in excess in a neighbouring answer's final (the previous or next
  turn of the same session), which is where the words of a cut answer land;
* **finals against one offline pass**: the stored (last) final transcript's WER against
  the WER of one full pass of the same STT model (beam 5) over the whole fixture file.

Everything but the offline pass works on plain dicts (the bench JSON).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from voice_interview.bench.fixtures import Fixture
from voice_interview.bench.wer import normalise, word_error_rate

PAUSE_FIXTURES = Path(__file__).resolve().parents[2] / "audio_fixtures" / "pauses"
# barge_in and talk_over are streamed over a question's audio: not answers to hear out.
PAUSE_KINDS = ("pauses", "short_first", "resume")
OFFLINE_BEAM = 5
RATIO_GOAL = 1.1  # issue #11: final WER <= 1.1x one offline pass


# ------------------------------------------------------------------------- misattribution


def misattributed_words(turns: Sequence[Mapping[str, Any]]) -> dict[tuple[int, int], list[str]]:
    """Per (session, turn): the reference words that went to a neighbouring answer.

    A bag-of-words alignment on normalised words (``wer.normalise``). A turn's missing
    words are its reference's multiset minus its final transcript's; a neighbour's
    surplus is its final's multiset minus its own reference's. A missing word counts as
    misattributed as far as the previous turn's surplus of that word covers it, then the
    next turn's; surplus counted once is used up, so no word is counted twice. A turn
    without a final transcript misses every word and has no surplus.
    """
    by_session: dict[int, list[Mapping[str, Any]]] = {}
    for t in turns:
        by_session.setdefault(int(t.get("session", 0)), []).append(t)
    out: dict[tuple[int, int], list[str]] = {}
    for session, group in by_session.items():
        group = sorted(group, key=lambda t: int(t.get("turn", 0)))
        refs = [Counter(normalise(str(t.get("reference") or ""))) for t in group]
        hyps = [Counter(normalise(str(t.get("transcript") or ""))) for t in group]
        surplus = [h - r for h, r in zip(hyps, refs, strict=True)]
        for i, t in enumerate(group):
            missing = refs[i] - hyps[i]
            words: list[str] = []
            for word in sorted(missing):
                need = missing[word]
                for j in (i - 1, i + 1):
                    if need <= 0 or not 0 <= j < len(group):
                        continue
                    take = min(need, surplus[j][word])
                    if take > 0:
                        surplus[j][word] -= take
                        need -= take
                        words += [word] * take
            out[(session, int(t.get("turn", 0)))] = words
    return out


# ------------------------------------------------------------------------- offline pass


def offline_pass(
    fixtures: Iterable[Fixture],
    *,
    server_models: Mapping[str, Any] | None,
    config_file: str | None = None,
) -> dict[str, Any]:
    """One full STT pass (beam 5) over each whole fixture file, in this process.

    The model is the one this machine's settings resolve (``VI_STT_MODEL``, ``models/``,
    the bundled package; ``config_file`` as the server's ``--config``), loaded through
    :class:`voice_interview.engines.stt.SpeechToText` as the server loads it. When the
    server named its STT model (``/health`` ``models.stt``) and it is another one, the
    pass is skipped with a note: a different model's WER is no yardstick.
    """
    from voice_interview.engines.models import ModelNotFoundError, resolve_model
    from voice_interview.settings import SettingsError, load_settings

    fixtures = list(fixtures)
    server_stt = (server_models or {}).get("stt")
    base: dict[str, Any] = {
        "beam_size": OFFLINE_BEAM,
        "server_model": server_stt,
        "model": None,
        "fixtures": {},
        "skipped": None,
    }
    try:
        settings = load_settings(config_file, stt_beam_size=OFFLINE_BEAM)
        model = resolve_model("stt", settings)
    except (SettingsError, ModelNotFoundError) as e:
        return {**base, "skipped": f"offline pass skipped: {e}"}
    base["model"] = model.name
    if server_stt and server_stt != model.name:
        return {
            **base,
            "skipped": f"offline pass skipped: the server's STT model is {server_stt}, "
            f"this machine resolves {model.name}",
        }
    from voice_interview.engines.stt import SpeechToText

    try:
        stt = SpeechToText(model, settings)
    except ModelNotFoundError as e:
        return {**base, "skipped": f"offline pass skipped: {e}"}
    t0 = time.monotonic()
    for f in fixtures:
        t = time.monotonic()
        text = stt.transcribe(f.pcm).text
        base["fixtures"][f.name] = {
            "transcript": text,
            "wer": round(word_error_rate(f.text, text), 4),
            "seconds": round(time.monotonic() - t, 2),
        }
    base["seconds"] = round(time.monotonic() - t0, 1)
    return base


# ------------------------------------------------------------------------- summary


def _mean(xs: Sequence[float]) -> float | None:
    return round(sum(xs) / len(xs), 4) if xs else None


def wer_ratio(final: float | None, offline: float | None) -> float | None:
    """final / offline; 1.0 when both are 0; None when offline is 0 alone, or unknown."""
    if final is None or offline is None:
        return None
    if offline == 0:
        return 1.0 if final == 0 else None
    return round(final / offline, 3)


def pause_at(pauses: Sequence[Mapping[str, Any]], at_s: float) -> Mapping[str, Any] | None:
    """The pause an end at ``at_s`` of the answer's audio came in: the last one begun."""
    begun = [p for p in pauses if float(p["start_s"]) <= at_s]
    return begun[-1] if begun else None


def pause_summary(
    turns: Sequence[Mapping[str, Any]],
    fixture_info: Mapping[str, Mapping[str, Any]],
    offline: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """One run's pause numbers: totals, per fixture, the ends mid-answer, the WER ratio.

    ``fixture_info`` maps a fixture name to ``{"kind", "pauses": [{"start_s", "end_s",
    "kind"}]}``; ``offline`` is :func:`offline_pass`'s result (or None: not run).
    """
    mis = misattributed_words(turns)
    off = (offline or {}).get("fixtures") or {}
    per: dict[str, dict[str, Any]] = {}
    ends: list[dict[str, Any]] = []
    for t in turns:
        name = str(t.get("fixture"))
        row = per.setdefault(
            name,
            {
                "kind": (fixture_info.get(name) or {}).get("kind"),
                "turns": 0,
                "finals": 0,
                "resumes": 0,
                "barge_ins": 0,
                "cut": 0,
                "misattributed": 0,
                "misattributed_words": [],
                "_wers": [],
            },
        )
        row["turns"] += 1
        row["resumes"] += int(t.get("resumes") or 0)
        row["barge_ins"] += int(t.get("barge_ins") or 0)
        row["cut"] += 1 if t.get("cut_early") else 0
        words = mis.get((int(t.get("session", 0)), int(t.get("turn", 0))), [])
        row["misattributed"] += len(words)
        row["misattributed_words"] += words
        if t.get("wer") is not None:
            row["finals"] += 1
            row["_wers"].append(float(t["wer"]))
        pauses = (fixture_info.get(name) or {}).get("pauses") or []
        for e in t.get("early_ends") or []:
            at_s = float(e["at_ms"]) / 1000.0
            p = pause_at(pauses, at_s)
            ends.append(
                {
                    "fixture": name,
                    "session": t.get("session"),
                    "turn": t.get("turn"),
                    "at_s": round(at_s, 2),
                    "taken_back": bool(e.get("taken_back")),
                    "pause": None
                    if p is None
                    else {
                        "start_s": p["start_s"],
                        "end_s": p["end_s"],
                        "length_s": round(float(p["end_s"]) - float(p["start_s"]), 2),
                        "kind": p.get("kind"),
                    },
                }
            )
    for name, row in per.items():
        wers = row.pop("_wers")
        row["final_wer"] = _mean(wers)
        o = off.get(name)
        row["offline_wer"] = None if o is None else o["wer"]
        row["ratio"] = wer_ratio(row["final_wer"], row["offline_wer"])
    both = [r for r in per.values() if r["final_wer"] is not None and r["offline_wer"] is not None]
    mean_final = _mean([r["final_wer"] for r in both])
    mean_offline = _mean([r["offline_wer"] for r in both])
    ratio = wer_ratio(mean_final, mean_offline)
    return {
        "taken_back": sum(r["resumes"] for r in per.values()),
        "cut_not_taken_back": sum(r["cut"] for r in per.values()),
        "barge_ins": sum(r["barge_ins"] for r in per.values()),
        "misattributed_words": sum(r["misattributed"] for r in per.values()),
        "fixtures": dict(sorted(per.items())),
        "early_ends": ends,
        "wer": {
            "fixtures": len(both),
            "mean_final": mean_final,
            "mean_offline": mean_offline,
            "ratio": ratio,  # ratio of the means (per fixture, each fixture once)
            "goal": RATIO_GOAL,
            "met": None if ratio is None else ratio <= RATIO_GOAL,
        },
        "offline": None
        if offline is None
        else {k: v for k, v in offline.items() if k != "fixtures"},
    }


# ------------------------------------------------------------------------- output


def _w(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


def _r(v: float | None, final: float | None, offline: float | None) -> str:
    if v is not None:
        return f"{v:.2f}"
    return "inf" if offline == 0 and final else "-"


def format_pause_table(s: Mapping[str, Any]) -> str:
    """The pause part of a run's table: per fixture, the mean, the ends mid-answer."""
    lines = [
        f"  pause fixtures: ends taken back {s['taken_back']}, cut and not taken back"
        f" {s['cut_not_taken_back']}, words misattributed {s['misattributed_words']},"
        f" barge-ins {s.get('barge_ins', 0)}",
        f"  {'fixture':<28}{'kind':<12}{'turns':>6}{'resumes':>8}{'cut':>5}{'barge':>6}"
        f"{'misattr':>8}{'final WER':>10}{'offline':>9}{'ratio':>7}",
    ]
    for name, r in s["fixtures"].items():
        lines.append(
            f"  {name:<28}{r['kind'] or '-':<12}{r['turns']:>6}{r['resumes']:>8}{r['cut']:>5}"
            f"{r.get('barge_ins', 0):>6}{r['misattributed']:>8}{_w(r['final_wer']):>10}"
            f"{_w(r['offline_wer']):>9}{_r(r['ratio'], r['final_wer'], r['offline_wer']):>7}"
        )
    w = s["wer"]
    goal = (
        ""
        if w["met"] is None
        else f" (goal <= {w['goal']:.1f}x: {'met' if w['met'] else 'NOT met'})"
    )
    lines.append(
        f"  {'mean (' + str(w['fixtures']) + ' fixtures)':<73}{_w(w['mean_final']):>10}"
        f"{_w(w['mean_offline']):>9}{_r(w['ratio'], w['mean_final'], w['mean_offline']):>7}" + goal
    )
    off = s.get("offline")
    if off is None:
        lines.append("  offline pass: not run")
    elif off.get("skipped"):
        lines.append(f"  {off['skipped']}")
    else:
        lines.append(
            f"  offline pass: {off.get('model')}, beam {off.get('beam_size')}, whole files,"
            f" {off.get('seconds', 0):.0f} s"
        )
    for e in s["early_ends"]:
        p = e["pause"]
        where = (
            "before any listed pause"
            if p is None
            else f"in the {p['length_s']:.2f} s {p['kind']} pause at {p['start_s']:.2f} s"
        )
        what = "taken back" if e["taken_back"] else "CUT, not taken back"
        lines.append(
            f"  end mid-answer: {e['fixture']} (session {e['session']} turn {e['turn']})"
            f" at {e['at_s']:.2f} s, {where}: {what}"
        )
    mis = {n: r["misattributed_words"] for n, r in s["fixtures"].items() if r["misattributed"]}
    for name, words in mis.items():
        shown = " ".join(words[:12]) + (" ..." if len(words) > 12 else "")
        lines.append(f"  misattributed from {name}: {shown}")
    return "\n".join(lines)


def fixture_info(fixtures: Iterable[Fixture]) -> dict[str, dict[str, Any]]:
    """Name -> kind and pauses, as :func:`pause_summary` reads them (JSON-ready)."""
    return {
        f.name: {
            "kind": f.kind,
            "pauses": [{"start_s": p.start_s, "end_s": p.end_s, "kind": p.kind} for p in f.pauses],
        }
        for f in fixtures
    }
