"""What the candidate asks for besides answering by voice: a typed answer, the question
again, pause and resume; and the interview's status changes they bring."""

from __future__ import annotations

from typing import TYPE_CHECKING

from voice_interview import protocol as p
from voice_interview.domain.interview import InterviewStatus, InvalidTransitionError
from voice_interview.store.repository import NotFoundError

if TYPE_CHECKING:
    from voice_interview.interview.session.session import InterviewSession


async def text_answer(s: InterviewSession, msg: p.TextAnswer) -> None:
    turn = s.open_turn
    if turn is None or s.status != InterviewStatus.IN_PROGRESS:
        await s.error(p.INTERVIEW_NOT_ACTIVE, f"the interview is {s.status.value}")
        return
    if msg.question_id != turn.question.id:
        await s.error(
            p.INVALID_MESSAGE,
            f"question_id {msg.question_id[:64]!r} is not the current question "
            f"({turn.question.id})",
        )
        return
    s.request_end("text_answer", msg.answer_text)


async def resend_question(s: InterviewSession) -> None:
    if s.status != InterviewStatus.IN_PROGRESS:
        await s.error(p.INTERVIEW_NOT_ACTIVE, f"the interview is {s.status.value}")
        return
    turn = s.open_turn
    if turn is None or turn.ending:
        return
    await s.ask(turn.question, new_turn=False)


async def set_status(s: InterviewSession, target: InterviewStatus) -> bool:
    try:
        row = await s.svc.store.set_status(s.interview_id, target)
    except InvalidTransitionError as e:
        await s.error(p.INTERVIEW_NOT_ACTIVE, str(e))
        return False
    except NotFoundError as e:
        await s.error(p.INTERVIEW_NOT_FOUND, str(e))
        return False
    s.status = InterviewStatus(row.status)
    return True


async def pause(s: InterviewSession) -> None:
    if not await set_status(s, InterviewStatus.PAUSED):
        return
    s.cancel_timer()
    s.continuation.settle()
    await s.cancel_question_audio()
    if s.open_turn is not None:
        s.open_turn.segmenter.reset()
    await s.send_session()


async def resume(s: InterviewSession) -> None:
    if not await set_status(s, InterviewStatus.IN_PROGRESS):
        return
    await s.send_session()
    await s.ask_current()
