// Wire constants of the candidate WebSocket, named once: the same names and values as
// voice_interview/protocol.py and docs/PROTOCOL.md. The page decides on these codes,
// never on the wording of a server message (prose is only a fallback for old servers).

/** WebSocket close codes. */
export const CLOSE = Object.freeze({
  NORMAL: 1000, // idle timeout, server stop, or our own close
  TOO_BIG: 1009, // a frame over the framework's cap
  OVERLOADED: 1013, // SERVER_BUSY: models loading or too many sessions; try again later
  UNAUTHORIZED: 4401, // UNAUTHORIZED: bad or expired link
  NOT_FOUND: 4404, // INTERVIEW_NOT_FOUND
  SUPERSEDED: 4409, // another connection took this interview over (or it was deleted)
  NO_RESPONSE: 4000, // the page's own: the socket went silent, it is dropped and redialled
});

/** `error.reason` values (protocol.py REASON_*): the cause where one code covers several. */
export const REASON = Object.freeze({
  IDLE_TIMEOUT: 'idle_timeout',
  CANCELLED: 'cancelled',
});

/** `error.code` values. */
export const ERR = Object.freeze({
  INTERVIEW_NOT_FOUND: 'INTERVIEW_NOT_FOUND',
  UNAUTHORIZED: 'UNAUTHORIZED',
  INVALID_MESSAGE: 'INVALID_MESSAGE',
  UNSUPPORTED_AUDIO: 'UNSUPPORTED_AUDIO',
  AUDIO_DECODE_ERROR: 'AUDIO_DECODE_ERROR',
  INTERVIEW_NOT_ACTIVE: 'INTERVIEW_NOT_ACTIVE',
  ANSWER_TOO_LONG: 'ANSWER_TOO_LONG',
  EVALUATION_FAILED: 'EVALUATION_FAILED',
  SERVER_BUSY: 'SERVER_BUSY',
  INTERNAL_ERROR: 'INTERNAL_ERROR',
  // Asked of the server, not sent yet: until they are, the prose fallbacks below apply.
});

/** Server message types. */
export const MSG = Object.freeze({
  SESSION: 'session',
  QUESTION: 'question',
  QUESTION_AUDIO_END: 'question_audio_end',
  QUESTION_AUDIO_CANCEL: 'question_audio_cancel',
  TURN_RESUMED: 'turn_resumed',
  SPEECH_STARTED: 'speech_started',
  SPEECH_STOPPED: 'speech_stopped',
  TRANSCRIPT: 'transcript',
  EVALUATION: 'evaluation',
  TURN_METRICS: 'turn_metrics',
  INTERVIEW_COMPLETE: 'interview_complete',
  ERROR: 'error',
  PONG: 'pong',
});

/** `turn_resumed.reason`. */
export const RESUMED = Object.freeze({
  CONTINUED: 'continued', // the candidate went on right after an early end of turn
  BARGE_IN: 'barge_in', // the candidate talked over a question
});

/** Interview statuses (`session.status`, REST `status`). */
export const STATUS = Object.freeze({
  READY: 'ready',
  IN_PROGRESS: 'in_progress',
  PAUSED: 'paused',
  COMPLETED: 'completed',
  CANCELLED: 'cancelled',
});

/**
 * What the page does after a close: 'unauthorized' and 'not_found' end the page,
 * 'superseded' waits for the candidate (no automatic reconnect: two tabs would keep
 * taking the interview from each other), 'busy' and 'retry' reconnect with a backoff.
 */
export function closeAction(code) {
  switch (code) {
    case CLOSE.UNAUTHORIZED:
      return 'unauthorized';
    case CLOSE.NOT_FOUND:
      return 'not_found';
    case CLOSE.SUPERSEDED:
      return 'superseded';
    case CLOSE.OVERLOADED:
      return 'busy';
    default:
      return 'retry';
  }
}

/** The interview was cancelled by the recruiter. */
export function isCancelled(msg) {
  if (!msg) return false;
  if (msg.reason === REASON.CANCELLED) return true;
  // Fallback for a server without the code: INTERVIEW_NOT_ACTIVE "this interview was cancelled".
  return msg.code === ERR.INTERVIEW_NOT_ACTIVE && /cancel/i.test(msg.message || '');
}

/** The server is closing a socket that was idle too long. */
export function isIdleTimeout(msg) {
  if (!msg) return false;
  if (msg.reason === REASON.IDLE_TIMEOUT) return true;
  // Fallback: INVALID_MESSAGE "closed after being idle too long".
  return msg.code === ERR.INVALID_MESSAGE && /idle/i.test(msg.message || '');
}
