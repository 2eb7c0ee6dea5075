// Candidate page, the entry module: the buttons, the start-up checks, and the wiring
// of the modules (microphone -> uplink -> WebSocket; question audio back to the player).
// Wire contract: docs/PROTOCOL.md; constants: protocol.js.
//
//   state.js       page parameters, state `S`, the test hook `window.__vi`, sessionStorage
//   protocol.js    close codes, error codes, message types (no prose matching)
//   ui.js          what the candidate sees
//   uplink.js      ordered, bounded send queue under back-pressure (no DOM)
//   link.js        the page's uplink: sendJson / sendAudio
//   mic.js         AudioContext, microphone capture, Opus encoder, level meter
//   player.js      streaming playback of question audio
//   connection.js  the WebSocket: connect, keep alive, close codes, reconnect
//   turns.js       server messages: questions, transcripts, resumed turns, errors

import { TEXT, closeSocket, connect, fatal, setHandlers } from './connection.js';
import { sendJson } from './link.js';
import { ensureAudioContext, meterLoop, micErrorText, setupOpusEncoder, startMic, stopMic } from './mic.js';
import { opusDecodeSupported } from './player.js';
import { S, interviewId, loadLocal, pushCapped, saveLocal, token, vi, wantInput, wantOutput } from './state.js';
import { handleBinary, handleMessage, questionAudioPlayed } from './turns.js';
import { $, disarmDone, renderFinal, setPhase, setTranscript, showAlert, showStage } from './ui.js';

// ------------------------------------------------------------------ controls

function onDone() {
  if (!S.question) return;
  if (!S.heardSpeech && !S.doneArmed) {
    // Nothing said yet: ask for a second press instead of skipping by accident.
    S.doneArmed = true;
    $('done').textContent = 'Nothing heard yet: press again to skip';
    S.doneArmTimer = setTimeout(disarmDone, 5000);
    return;
  }
  disarmDone();
  if (sendJson({ type: 'end_of_answer' })) setPhase('answered');
}

function onTyped(ev) {
  ev.preventDefault();
  const text = $('typed-text').value.trim();
  if (!text || !S.question) return;
  if (sendJson({ type: 'text_answer', question_id: S.question.question_id, answer_text: text })) {
    S.answers.set(S.question.question_id, { text, source: 'text' });
    saveLocal();
    pushCapped(vi.transcripts, { question_id: S.question.question_id, text, is_final: true, typed: true });
    setTranscript(text, true);
    $('typed-text').value = '';
    if (S.player) S.player.stop();
    S.audioQuestion = null;
    setPhase('answered');
  }
}

function onPause() {
  if (sendJson({ type: 'pause' })) {
    $('pause').disabled = true;
  }
}

function onResume() {
  if (sendJson({ type: 'resume' })) {
    $('resume').disabled = true;
  }
}

function onRepeat() {
  if (sendJson({ type: 'get_next_question' })) S.repeatPending = true;
}

async function onStart() {
  $('start').disabled = true;
  S.started = true;
  $('intro-note').textContent = 'Starting… your browser may ask to use the microphone.';
  try {
    await ensureAudioContext(questionAudioPlayed);
  } catch {
    fatal('This browser cannot play audio with Web Audio. Please use a current version of Chrome, Edge, Firefox or Safari.');
    return;
  }
  if (wantOutput === 'opus' && (await opusDecodeSupported())) S.outputOpus = true;
  try {
    await startMic();
    if (wantInput === 'opus' && (await setupOpusEncoder())) S.inputEncoding = 'opus';
  } catch (e) {
    S.micError = e && e.name ? e.name : 'error';
    showAlert(micErrorText(e), 'mic');
    $('typed').open = true;
  }
  vi.codec = S.inputEncoding;
  showStage();
  setPhase('connecting');
  connect();
}

// ------------------------------------------------------------------ start-up

function unsupportedReason() {
  if (!('WebSocket' in window)) return 'This browser cannot keep a live connection (no WebSocket support).';
  const AC = window.AudioContext;
  if (!AC) return 'This browser cannot play or record audio (no Web Audio support).';
  if (!('AudioWorkletNode' in window)) {
    return window.isSecureContext
      ? 'This browser is too old for live audio (no AudioWorklet).'
      : 'Live audio needs a secure (https) page. Please ask the recruiter for an https link.';
  }
  return null;
}

async function checkInterview() {
  if (!interviewId || !token) {
    fatal('This interview link is incomplete (its access token is missing). Please use the full link from the recruiter.');
    return;
  }
  let res;
  try {
    res = await fetch(`/api/interviews/${encodeURIComponent(interviewId)}`, {
      headers: { Authorization: `Bearer ${token}` },
      cache: 'no-store',
    });
  } catch {
    $('intro-note').textContent = 'Could not reach the interview server yet. You can still press Start; it will keep trying.';
    $('start').disabled = false;
    return;
  }
  if (res.status === 401 || res.status === 403) {
    fatal(TEXT.unauthorized);
    return;
  }
  if (res.status === 404) {
    fatal('This interview could not be found. Please contact the recruiter.');
    return;
  }
  if (!res.ok) {
    $('intro-note').textContent = `The server answered with an error (${res.status}). You can try to start anyway.`;
    $('start').disabled = false;
    return;
  }
  const info = await res.json();
  const total = info.total;
  if (info.status === 'cancelled') {
    fatal(TEXT.cancelled);
    return;
  }
  if (info.status === 'completed') {
    S.completed = true;
    vi.complete = { overall_score: info.overall_score };
    setPhase('complete');
    renderFinal();
    $('final-title').textContent = 'This interview is already complete';
    return;
  }
  const answered = Number(info.current_question_index) || 0;
  const started = (info.status === 'in_progress' || info.status === 'paused') && answered > 0;
  $('intro-summary').textContent = started
    ? `Welcome back. You have answered ${answered} of ${total} question${total === 1 ? '' : 's'}; you will continue where you left off.`
    : `This interview has ${total} question${total === 1 ? '' : 's'}. You will hear each one spoken aloud, then answer out loud.`;
  $('start').textContent = started ? 'Continue interview' : 'Start interview';
  $('intro-note').textContent = 'Press the button when you are ready. Your browser will ask to use the microphone.';
  $('start').disabled = false;
}

function init() {
  loadLocal();
  setHandlers({ message: handleMessage, binary: handleBinary });
  $('start').addEventListener('click', onStart);
  $('done').addEventListener('click', onDone);
  $('repeat').addEventListener('click', onRepeat);
  $('pause').addEventListener('click', onPause);
  $('resume').addEventListener('click', onResume);
  $('typed-form').addEventListener('submit', onTyped);
  $('reconnect-now').addEventListener('click', () => {
    S.attempts = 0;
    connect(true);
  });
  window.addEventListener('online', () => {
    if (S.started && !S.ws && !S.completed && !S.fatal) connect();
  });
  window.addEventListener('beforeunload', () => closeSocket(1000, 'page closed'));
  // Another tab of the same interview would take over the connection: say so.
  if ('BroadcastChannel' in window && interviewId) {
    const bc = new BroadcastChannel(`vi-interview-${interviewId}`);
    bc.onmessage = (e) => {
      if (e.data === 'started' && S.started && !S.completed) {
        showAlert('This interview was opened in another tab or window. Please continue there and close this one.', 'info');
        S.fatal = true; // stop reconnecting here; the other tab owns the interview
        clearTimeout(S.reconnectTimer);
        closeSocket(1000, 'another tab');
        stopMic();
        setPhase('fatal', 'Continued in another tab.');
      }
    };
    $('start').addEventListener('click', () => bc.postMessage('started'));
  }
  requestAnimationFrame(meterLoop);
  const reason = unsupportedReason();
  if (reason) {
    fatal(`${reason} Please open this link in a current version of Chrome, Edge, Firefox or Safari.`);
    return;
  }
  checkInterview();
}

init();
