// Server messages and the turn they belong to: questions and their audio, transcripts,
// a turn the server reopens (question_audio_cancel + turn_resumed), evaluations, errors.

import { closeSocket, fatal, TEXT } from './connection.js';
import { switchToPcm, stopMic } from './mic.js';
import { ERR, MSG, STATUS, isCancelled, isIdleTimeout } from './protocol.js';
import { S, pushCapped, saveLocal, vi } from './state.js';
import {
  $, PHASE_TEXT, RESUMED_TEXT, clearTransientAlert, renderFinal, renderQuestion, setConn,
  setPhase, setProgress, setTranscript, showAlert, showStage,
} from './ui.js';
import { uplink } from './link.js';

const ERROR_TEXT = {
  UNAUTHORIZED: TEXT.unauthorized,
  INTERVIEW_NOT_FOUND: 'This interview could not be found. Please contact the recruiter.',
  ANSWER_TOO_LONG: 'Your answer reached the time limit, so it was ended there.',
  AUDIO_DECODE_ERROR: 'Some of your audio could not be understood by the server.',
  INTERNAL_ERROR: 'Something went wrong on the server. We will reconnect and carry on from the current question.',
};

export function handleMessage(msg) {
  switch (msg.type) {
    case MSG.SESSION:
      onSession(msg);
      break;
    case MSG.QUESTION:
      onQuestion(msg);
      break;
    case MSG.QUESTION_AUDIO_END:
      onQuestionAudioEnd(msg);
      break;
    case MSG.QUESTION_AUDIO_CANCEL:
      onQuestionAudioCancel(msg);
      break;
    case MSG.TURN_RESUMED:
      onTurnResumed(msg);
      break;
    case MSG.SPEECH_STARTED:
      S.heardSpeech = true;
      document.body.dataset.speaking = '1';
      break;
    case MSG.SPEECH_STOPPED:
      document.body.dataset.speaking = '0';
      break;
    case MSG.TRANSCRIPT:
      onTranscript(msg);
      break;
    case MSG.EVALUATION:
      onEvaluation(msg);
      break;
    case MSG.INTERVIEW_COMPLETE:
      onComplete(msg);
      break;
    case MSG.ERROR:
      onError(msg);
      break;
    default:
      break; // turn_metrics, pong and anything newer
  }
}

/** A binary frame: audio of the question named by the last `question` message. */
export function handleBinary(data) {
  if (S.audioQuestion !== null && S.player) S.player.push(data);
}

function onSession(msg) {
  S.status = msg.status;
  if (msg.output_audio) {
    S.outputFormat = { encoding: msg.output_audio.encoding, sample_rate: msg.output_audio.sample_rate };
    vi.outputCodec = S.outputFormat.encoding;
  }
  if (msg.input_audio) vi.codec = msg.input_audio.encoding;
  if (typeof msg.total === 'number') setProgress(msg.answered ?? null, msg.total);
  if (msg.status === STATUS.PAUSED) {
    if (S.player) S.player.stop();
    S.audioQuestion = null;
    setPhase('paused');
  } else if (msg.status === STATUS.IN_PROGRESS && S.phase === 'paused') {
    setPhase('connecting', 'Resuming…');
  } else if (msg.status === STATUS.CANCELLED) {
    fatal(TEXT.cancelled);
  }
  clearTransientAlert();
}

function onQuestion(msg) {
  const changed = !S.question || S.question.question_id !== msg.question_id;
  S.question = msg;
  // Keyed by id: a question sent again (reconnect, repeat, asked again after a resumed
  // answer) replaces its earlier copy; the page never shows it twice.
  S.questions.set(msg.question_id, msg);
  saveLocal();
  pushCapped(vi.questionsShown, {
    question_id: msg.question_id, index: msg.index, total: msg.total, text: msg.text, at: Date.now(),
  });
  renderQuestion(msg);
  if (changed) $('typed-text').value = '';
  if (changed || !S.repeatPending) {
    // A new turn on the server (new question, reconnect, reprompt): start the transcript afresh.
    S.heardSpeech = false;
    setTranscript('', false, true);
  }
  S.repeatPending = false;
  S.resumedBase = '';
  document.body.dataset.speaking = '0';
  // A slow-network note about the last answer is done with, unless it is still slow.
  if (!uplink.stats.backpressure && uplink.stats.framesDropped > 0) {
    $('net').hidden = true;
  }
  // Bind the audio format now: frames that follow were encoded in the format of the last
  // `session` message, even if a later session.update changes it for the next question.
  S.audioQuestion = msg.question_id;
  clearTimeout(S.gateTimer);
  if (S.player) {
    try {
      S.player.begin(msg.question_id, S.outputFormat);
    } catch (e) {
      console.warn('cannot play question audio', e);
    }
  }
  if (S.phase !== 'paused') setPhase('question');
  showStage();
}

function onQuestionAudioEnd(msg) {
  if (S.audioQuestion !== msg.question_id) return;
  S.audioQuestion = null;
  if (S.player) S.player.end();
  const audible = S.ctx && S.ctx.state === 'running' && S.player && S.player.busy;
  if (!audible) {
    questionAudioPlayed(msg.question_id);
    return;
  }
  // Safety net: open the turn even if an `ended` event never comes.
  const waitMs = S.player.remaining * 1000 + 1500;
  S.gateTimer = setTimeout(() => questionAudioPlayed(msg.question_id), waitMs);
}

/** The player's `onDrained`: the question has been heard, the answer may begin. */
export function questionAudioPlayed(questionId) {
  clearTimeout(S.gateTimer);
  if (!S.question || S.question.question_id !== questionId) return;
  if (S.phase === 'question') setPhase('listening');
}

/** The server stopped this question's audio: drop what is queued and playing, now. */
function onQuestionAudioCancel(msg) {
  const id = msg.question_id;
  let wasPlaying = false;
  if (S.audioQuestion === id || (S.player && S.player.tag === id)) {
    clearTimeout(S.gateTimer);
    S.audioQuestion = null; // frames still on their way for it are ignored
    if (S.player) wasPlaying = S.player.cancel(id);
  }
  pushCapped(vi.cancels, { question_id: id, wasPlaying });
}

/** The answer to `question_id` is open again: back to that question, listening. */
function onTurnResumed(msg) {
  const id = msg.question_id;
  pushCapped(vi.resumes, { question_id: id, reason: msg.reason });
  // Its question's audio cannot still be playing (the server cancels it first), but a
  // missed cancel must not talk over the candidate either.
  if (S.player && S.player.tag !== null) {
    clearTimeout(S.gateTimer);
    S.audioQuestion = null;
    S.player.cancel();
  }
  const q = S.questions.get(id) || (S.question && S.question.question_id === id ? S.question : null);
  if (q) {
    if (!S.question || S.question.question_id !== id) $('typed-text').value = '';
    S.question = q;
    renderQuestion(q);
  } else {
    S.question = { question_id: id }; // not seen on this page: keep the text on screen
  }
  S.repeatPending = false;
  S.heardSpeech = true; // the candidate is talking: "I'm done" needs no second press
  // What was heard so far stays on screen; the next final replaces it.
  const before = S.answers.get(id);
  S.resumedBase = before && before.text ? before.text : '';
  if (S.resumedBase) setTranscript(S.resumedBase, false);
  else setTranscript('', false, true);
  document.body.dataset.speaking = '1';
  const text = RESUMED_TEXT[msg.reason] || RESUMED_TEXT.continued;
  setPhase('listening', text);
  showStage();
}

function onTranscript(msg) {
  pushCapped(vi.transcripts, { question_id: msg.question_id, text: msg.text, is_final: msg.is_final });
  if (!S.question || msg.question_id !== S.question.question_id) {
    // The previous answer's final transcript (it follows the next question), or one
    // replayed after a resume: keep it for the summary, not under the new question.
    // A later final for the same question replaces the earlier one.
    if (msg.is_final) {
      S.answers.set(msg.question_id, { text: msg.text, source: 'voice' });
      saveLocal();
    }
    return;
  }
  if (msg.is_final) {
    // The whole answer, a resumed one included: it replaces what was shown, never adds to it.
    S.resumedBase = '';
    setTranscript(msg.text, true);
    S.answers.set(msg.question_id, { text: msg.text, source: msg.text ? 'voice' : 'none' });
    saveLocal();
    setPhase('answered', msg.text ? PHASE_TEXT.answered : 'No answer was heard for this question. Moving on…');
    document.body.dataset.speaking = '0';
    return;
  }
  setTranscript(resumedText(msg.text), false);
}

/** Interim text of a resumed answer, shown after what was heard before it (once). */
function resumedText(text) {
  const base = S.resumedBase;
  if (!base) return text;
  if (!text) return base;
  const norm = (s) => s.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
  if (norm(text).startsWith(norm(base))) return text; // the server sent the whole answer
  return `${base} ${text}`;
}

function onEvaluation(msg) {
  S.evaluations.set(msg.question_id, msg);
  vi.evaluations[msg.question_id] = msg;
  saveLocal();
  // Machine-readable: the evaluation itself says it failed for good (not the error's wording).
  if (msg.status === 'failed' && !msg.replayed) {
    showAlert('One answer could not be scored automatically; the recruiter will review it.', 'info');
  }
  if (S.completed) renderFinal();
}

function onComplete(msg) {
  S.completed = true;
  vi.complete = msg;
  clearTimeout(S.reconnectTimer);
  clearInterval(S.countdownTimer);
  clearInterval(S.pingTimer);
  stopMic();
  setPhase('complete');
  setConn('done', 'Finished');
  renderFinal();
  closeSocket(1000, 'complete');
}

function onError(msg) {
  pushCapped(vi.errors, { code: msg.code, message: msg.message });
  const code = msg.code;
  if (code === ERR.UNAUTHORIZED || code === ERR.INTERVIEW_NOT_FOUND) {
    fatal(ERROR_TEXT[code]);
    return;
  }
  if (code === ERR.SERVER_BUSY) {
    // The reconnect notice says so and counts down; no separate alert.
    S.busy = true;
    return;
  }
  if (isCancelled(msg)) {
    fatal(TEXT.cancelled);
    return;
  }
  if (code === ERR.INTERVIEW_NOT_ACTIVE) {
    showAlert(`That is not possible right now: ${msg.message}`, 'info');
    return;
  }
  if (code === ERR.UNSUPPORTED_AUDIO || (code === ERR.AUDIO_DECODE_ERROR && S.inputEncoding === 'opus')) {
    if (S.inputEncoding === 'opus') {
      switchToPcm();
      return;
    }
  }
  if (code === ERR.EVALUATION_FAILED) {
    // Retries happen on the server; a failure for good also arrives as an evaluation
    // with status "failed" (onEvaluation tells the candidate then).
    return;
  }
  if (isIdleTimeout(msg)) {
    showAlert('You were away for a long time, so the connection was closed. Reconnecting…', 'transient');
    return;
  }
  showAlert(ERROR_TEXT[code] || `The server reported a problem: ${msg.message || code}`, code === ERR.INTERNAL_ERROR ? 'transient' : 'info');
}
