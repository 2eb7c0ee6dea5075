from __future__ import annotations

import base64
import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voice_interview import protocol as p


def parse(obj: object) -> p.ClientMessage:
    return p.parse_client_message(json.dumps(obj))


def test_session_update_defaults_and_rates() -> None:
    msg = parse(
        {"type": "session.update", "input_audio": {"encoding": "pcm_s16le", "sample_rate": 48000}}
    )
    assert isinstance(msg, p.SessionUpdate)
    assert msg.input_audio == p.AudioFormat("pcm_s16le", 48000)
    assert msg.output_audio is None
    opus = parse(
        {
            "type": "session.update",
            "input_audio": {"encoding": "webm_opus"},
            "output_audio": {"encoding": "opus"},
        }
    )
    assert isinstance(opus, p.SessionUpdate)
    assert opus.input_audio == p.AudioFormat("webm_opus", 48000)
    assert opus.output_audio is not None and opus.output_audio.encoding == "opus"


@pytest.mark.parametrize(
    ("audio", "code"),
    [
        ({"encoding": "mp3"}, p.UNSUPPORTED_AUDIO),
        ({"encoding": "pcm_s16le", "sample_rate": 100}, p.UNSUPPORTED_AUDIO),
        ({"encoding": "pcm_s16le", "sample_rate": 10**12}, p.UNSUPPORTED_AUDIO),
        ({"encoding": "pcm_s16le", "sample_rate": "16000"}, p.INVALID_MESSAGE),
        ({"encoding": "pcm_s16le", "sample_rate": True}, p.INVALID_MESSAGE),
        ("pcm", p.INVALID_MESSAGE),
    ],
)
def test_session_update_rejects_bad_audio(audio: object, code: str) -> None:
    with pytest.raises(p.ProtocolError) as info:
        parse({"type": "session.update", "input_audio": audio})
    assert info.value.code == code


def test_audio_chunk_decodes_base64() -> None:
    raw = b"\x01\x00\x02\x00"
    msg = parse(
        {"type": "audio_chunk", "chunk_data": base64.b64encode(raw).decode(), "is_final": True}
    )
    assert msg == p.AudioChunk(raw, True)


@pytest.mark.parametrize(
    "obj",
    [
        {"type": "audio_chunk", "chunk_data": "%%%not base64"},
        {"type": "audio_chunk", "chunk_data": 12},
        {"type": "audio_chunk", "chunk_data": "", "is_final": "yes"},
        {"type": "text_answer", "question_id": "", "answer_text": "x"},
        {"type": "text_answer", "question_id": "q", "answer_text": "   "},
        {"type": "text_answer", "question_id": "q", "answer_text": 5},
        {"type": "nope"},
        {"type": 3},
        {"no_type": True},
        [1, 2, 3],
        "just a string",
    ],
)
def test_bad_messages_are_invalid(obj: object) -> None:
    with pytest.raises(p.ProtocolError) as info:
        parse(obj)
    assert info.value.code == p.INVALID_MESSAGE
    assert info.value.message


def test_too_long_answer_is_answer_too_long() -> None:
    with pytest.raises(p.ProtocolError) as info:
        p.parse_client_message(
            json.dumps({"type": "text_answer", "question_id": "q", "answer_text": "a" * 50}),
            max_answer_chars=10,
        )
    assert info.value.code == p.ANSWER_TOO_LONG


@pytest.mark.parametrize("kind", ["end_of_answer", "get_next_question", "pause", "resume", "ping"])
def test_simple_messages(kind: str) -> None:
    assert parse({"type": kind}).type == kind


def test_server_messages_serialise_to_the_contract() -> None:
    q = json.loads(p.QuestionMsg("id1", "Why?", "technical", "easy", 0, 3).to_json())
    assert q == {
        "type": "question",
        "question_id": "id1",
        "text": "Why?",
        "question_type": "technical",
        "difficulty": "easy",
        "index": 0,
        "total": 3,
    }
    ev = json.loads(
        p.EvaluationMsg("a", "q", 71.5, "ok", ["s"], ["w"], {"status": "scored"}).to_json()
    )
    assert ev["type"] == "evaluation" and ev["score"] == 71.5 and ev["status"] == "scored"
    assert "extra" not in ev
    s = json.loads(
        p.SessionMsg.build(
            "i", "ready", p.DEFAULT_INPUT_AUDIO, p.AudioFormat("pcm_s16le", 22050), total=3
        ).to_json()
    )
    assert s["input_audio"] == {"encoding": "pcm_s16le", "sample_rate": 16000}
    assert s["total"] == 3


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), st.binary(max_size=200)))
def test_any_text_either_parses_or_is_a_protocol_error(raw: str | bytes) -> None:
    try:
        p.parse_client_message(raw)
    except p.ProtocolError as e:
        assert e.code in (p.INVALID_MESSAGE, p.UNSUPPORTED_AUDIO, p.ANSWER_TOO_LONG)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["session.update", "audio_chunk", "text_answer", "ping", "x"]),
    st.dictionaries(
        st.sampled_from(
            [
                "input_audio",
                "output_audio",
                "chunk_data",
                "is_final",
                "question_id",
                "answer_text",
                "encoding",
                "sample_rate",
            ]
        ),
        json_values,
        max_size=5,
    ),
)
def test_structured_garbage_never_crashes_the_parser(kind: str, fields: dict[str, object]) -> None:
    with contextlib.suppress(p.ProtocolError):
        p.parse_client_message(json.dumps({"type": kind, **fields}))
