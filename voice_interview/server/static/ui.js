// What the candidate sees: phase line, connection pill, alerts, controls, question,
// transcript, network notice and the final screen. Reads state; sends nothing.

import { S, micLive, socketOpen, vi } from './state.js';

export const $ = (id) => document.getElementById(id);

export const PHASE_TEXT = {
  idle: 'Not started.',
  connecting: 'Connecting to the interview…',
  question: 'Listen to the question, then answer out loud. The microphone stays on.',
  listening: 'Your turn: answer out loud. Pause or press “I’m done” when you finish.',
  answered: 'Thanks. Processing your answer…',
  paused: 'The interview is paused. Press Resume when you are ready.',
  reconnecting: 'Connection lost. Reconnecting…',
  superseded: 'This interview was taken over by another tab or window.',
  complete: 'The interview is complete.',
  fatal: 'The interview cannot continue.',
};

/** Said when the server reopens an answer (turn_resumed.reason). */
export const RESUMED_TEXT = {
  continued: 'Go on, I’m listening.',
  barge_in: 'Go ahead, I’m listening.',
};

const NO_MIC_TEXT = {
  question: 'Listen to the question, then type your answer below.',
  listening: 'Your turn: type your answer below and press “Send typed answer”.',
};

export function setPhase(phase, text) {
  S.phase = phase;
  vi.state = phase;
  const noMic = S.mic === null && S.micError !== null;
  $('phase').textContent = text || (noMic && NO_MIC_TEXT[phase]) || PHASE_TEXT[phase] || '';
  $('phase-dot').dataset.phase = phase;
  document.body.dataset.phase = phase;
  updateControls();
  updateMicState();
}

export function setConn(state, text) {
  const el = $('conn');
  el.dataset.state = state;
  el.textContent = text;
}

export function showAlert(text, kind = 'error') {
  const el = $('alert');
  if (!text) {
    el.hidden = true;
    el.textContent = '';
    return;
  }
  el.hidden = false;
  el.dataset.kind = kind;
  el.textContent = text;
}

/** A transient alert (busy, reconnecting) is cleared once the session is back. */
export function clearTransientAlert() {
  const el = $('alert');
  if (!el.hidden && el.dataset.kind === 'transient') showAlert('');
}

export function updateControls() {
  const open = socketOpen();
  const inTurn = open && (S.phase === 'question' || S.phase === 'listening') && S.question !== null;
  $('done').disabled = !inTurn;
  $('repeat').disabled = !inTurn;
  $('typed-send').disabled = !inTurn;
  const paused = S.phase === 'paused';
  $('pause').hidden = paused;
  $('pause').disabled = !open || !(S.phase === 'question' || S.phase === 'listening' || S.phase === 'answered');
  $('resume').hidden = !paused;
  $('resume').disabled = !open;
  if (!inTurn) disarmDone();
}

export function updateMicState() {
  let text;
  const live = micLive();
  if (S.micError) text = 'unavailable';
  else if (!S.mic) text = 'off';
  else if (live) text = S.phase === 'listening' ? 'listening' : 'on';
  else if (S.phase === 'paused') text = 'paused';
  else text = 'on hold';
  $('mic-state').textContent = text;
  document.body.dataset.mic = live ? 'live' : 'held';
}

export function disarmDone() {
  S.doneArmed = false;
  clearTimeout(S.doneArmTimer);
  $('done').textContent = 'I’m done';
}

export function showStage() {
  $('intro').hidden = true;
  $('stage').hidden = false;
}

export function setProgress(answered, total) {
  if (!total) return;
  const bar = $('progress');
  bar.max = total;
  if (answered !== null) bar.value = Math.min(total, answered);
}

/** Put a question on screen (replacing whatever was there: never a second copy). */
export function renderQuestion(q) {
  $('progress-row').hidden = false;
  if (typeof q.index === 'number' && q.total) {
    $('progress-label').textContent = `Question ${q.index + 1} of ${q.total}`;
    setProgress(q.index, q.total);
  }
  $('question-text').textContent = q.text || '';
  $('question-meta').textContent = [q.question_type, q.difficulty].filter(Boolean).join(' · ');
}

export function setTranscript(text, isFinal, placeholder = false) {
  const el = $('transcript');
  el.replaceChildren();
  if (placeholder || !text) {
    const span = document.createElement('span');
    span.className = 'muted';
    span.textContent = placeholder ? 'Your words will appear here as you speak.' : '(nothing heard)';
    el.append(span);
    el.dataset.final = '0';
    return;
  }
  el.textContent = text;
  el.dataset.final = isFinal ? '1' : '0';
}

function seconds(ms) {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** The uplink's state, in words: audio waiting for a slow network, audio lost. */
export function showNetwork(stats) {
  const el = $('net');
  let text = '';
  if (stats.backpressure) {
    text = `The network is slow: your audio is queued (${seconds(stats.queuedMs)}) and will be sent.`;
  }
  if (stats.framesDropped > 0) {
    const lost = `${seconds(stats.droppedMs)} of your audio could not be sent.`;
    text = text ? `${text} ${lost}` : `The network was too slow: ${lost}`;
  }
  el.hidden = !text;
  el.textContent = text;
}

export function formatScore(score) {
  if (score === null || score === undefined || Number.isNaN(Number(score))) return 'Not assessed';
  return `${Math.round(Number(score))} / 100`;
}

// ------------------------------------------------------------------ final screen

export function renderFinal() {
  $('intro').hidden = true;
  $('stage').hidden = true;
  const final = $('final');
  const wasHidden = final.hidden;
  final.hidden = false;
  const msg = vi.complete || {};
  $('overall-score').textContent = formatScore(msg.overall_score);
  const list = $('results');
  list.replaceChildren();
  const total = (S.question && S.question.total) || Math.max(0, ...[...S.questions.values()].map((q) => q.total || 0));
  const byIndex = new Map([...S.questions.values()].map((q) => [q.index, q]));
  for (let i = 0; i < total; i++) {
    const q = byIndex.get(i);
    const li = document.createElement('li');
    li.className = 'result';
    const h = document.createElement('h2');
    h.textContent = q ? `Question ${i + 1}: ${q.text}` : `Question ${i + 1}`;
    li.append(h);
    const ev = q ? S.evaluations.get(q.question_id) : undefined;
    const score = document.createElement('p');
    score.className = 'result-score';
    if (ev) {
      const scored = ev.status === undefined || ev.status === 'scored';
      score.textContent = `Score: ${scored ? formatScore(ev.score) : 'Not assessed'}`;
      li.append(score);
      if (ev.feedback) {
        const fb = document.createElement('p');
        fb.textContent = ev.feedback;
        li.append(fb);
      }
      appendList(li, 'Strengths', ev.strengths);
      appendList(li, 'To improve', ev.weaknesses);
    } else {
      score.textContent = q
        ? 'The feedback for this answer was not received here; the recruiter has it.'
        : 'Answered in an earlier session; the recruiter has its feedback.';
      score.className = 'muted';
      li.append(score);
    }
    const answer = q ? S.answers.get(q.question_id) : undefined;
    if (answer && answer.text) {
      const d = document.createElement('details');
      const s = document.createElement('summary');
      s.textContent = 'Your answer';
      const p = document.createElement('p');
      p.className = 'transcript';
      p.textContent = answer.text;
      d.append(s, p);
      li.append(d);
    }
    list.append(li);
  }
  const n = Number(msg.not_assessed) || 0;
  const notAssessed = n ? ` ${n} answer${n === 1 ? '' : 's'} could not be assessed.` : '';
  $('final-note').textContent =
    `Your answers have been sent to the recruiter, who will be in touch.${notAssessed}`;
  if (wasHidden) $('final-title').focus();
}

function appendList(parent, title, items) {
  if (!Array.isArray(items) || items.length === 0) return;
  const h = document.createElement('h3');
  h.textContent = title;
  const ul = document.createElement('ul');
  for (const it of items) {
    const li = document.createElement('li');
    li.textContent = String(it);
    ul.append(li);
  }
  parent.append(h, ul);
}
