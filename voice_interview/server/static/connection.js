// The interview WebSocket: connect, keep alive, and what each close means (named close
// codes from protocol.js): reconnect with a backoff, wait for a free place, stop for
// good, or (4409, taken over by another tab) wait for the candidate to take it back.

import { dropQueued, sendJson } from './link.js';
import { inputFormat, stopMic } from './mic.js';
import { CLOSE, closeAction } from './protocol.js';
import { S, interviewId, pushCapped, token, vi } from './state.js';
import { $, PHASE_TEXT, setConn, setPhase, showAlert, updateControls } from './ui.js';

const MAX_BACKOFF_MS = 15000;
const STABLE_CONNECTION_MS = 10000; // a connection this old resets the backoff
const PING_EVERY_MS = 20000;
const SILENT_SOCKET_MS = 50000; // nothing heard for this long: treat the socket as dead

export const TEXT = {
  unauthorized: 'This interview link is not valid or has expired. Please ask the recruiter for a new link.',
  notFound: 'This interview could not be found. It may have been removed. Please contact the recruiter.',
  cancelled: 'This interview was cancelled by the recruiter.',
  superseded:
    'This interview was taken over by another tab or window, so this page stopped. Continue there, or press “Continue here” to bring it back to this page.',
};

let onMessage = () => {};
let onBinary = () => {};

/** Where JSON messages and binary frames of the current socket go. */
export function setHandlers(handlers) {
  onMessage = handlers.message;
  onBinary = handlers.binary;
}

function wsUrl() {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${location.host}/ws/interviews/${encodeURIComponent(interviewId)}?token=${encodeURIComponent(token)}`;
}

/** Open the socket unless one is open or the page has stopped. `manual`: the candidate asked. */
export function connect(manual = false) {
  clearTimeout(S.reconnectTimer);
  clearInterval(S.countdownTimer);
  S.reconnectTimer = null;
  $('reconnect').hidden = true;
  if (S.completed || S.fatal) return;
  if (S.superseded) {
    if (!manual) return; // only the candidate takes the interview back
    S.superseded = false;
    vi.superseded = false;
    showAlert('');
  }
  if (S.ws && (S.ws.readyState === WebSocket.OPEN || S.ws.readyState === WebSocket.CONNECTING)) return;
  vi.connects++;
  setConn('connecting', vi.connects > 1 ? 'Reconnecting…' : 'Connecting…');
  if (S.phase === 'idle' || S.phase === 'superseded') setPhase('connecting');
  let ws;
  try {
    ws = new WebSocket(wsUrl());
  } catch {
    scheduleReconnect(0);
    return;
  }
  ws.binaryType = 'arraybuffer';
  S.ws = ws;
  ws.onopen = () => {
    if (S.ws !== ws) return;
    vi.opens++;
    S.wsOpenedAt = performance.now();
    S.lastInbound = performance.now();
    S.busy = false;
    setConn('open', 'Connected');
    const update = { type: 'session.update', input_audio: inputFormat() };
    if (S.outputOpus) update.output_audio = { encoding: 'opus' };
    sendJson(update);
    clearInterval(S.pingTimer);
    S.pingTimer = setInterval(keepAlive, PING_EVERY_MS);
    if (S.phase === 'reconnecting' || S.phase === 'connecting') setPhase('connecting', 'Connected. Waiting for the question…');
    updateControls();
  };
  ws.onmessage = (ev) => {
    if (S.ws !== ws) return;
    S.lastInbound = performance.now();
    if (typeof ev.data === 'string') {
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      vi.messagesReceived++;
      pushCapped(vi.messages, msg);
      onMessage(msg);
    } else {
      vi.audio.binaryReceived++;
      vi.audio.bytesReceived += ev.data.byteLength;
      onBinary(ev.data);
    }
  };
  ws.onclose = (ev) => {
    pushCapped(vi.closes, { code: ev.code, reason: ev.reason });
    if (S.ws !== ws) return;
    S.ws = null;
    clearInterval(S.pingTimer);
    onSocketClosed(ev.code, ev.reason);
  };
  ws.onerror = () => {
    /* onclose follows with the code */
  };
}

function keepAlive() {
  const ws = S.ws;
  if (!ws || ws.readyState !== WebSocket.OPEN) return;
  if (performance.now() - S.lastInbound > SILENT_SOCKET_MS) {
    // Half-dead connection (no pong): drop it now (its close handshake may never finish)
    // and reconnect.
    S.ws = null;
    clearInterval(S.pingTimer);
    try {
      ws.close(CLOSE.NO_RESPONSE, 'no response');
    } catch {
      /* already closing */
    }
    onSocketClosed(CLOSE.NO_RESPONSE, 'no response');
    return;
  }
  sendJson({ type: 'ping' });
}

function onSocketClosed(code) {
  S.audioQuestion = null;
  dropQueued();
  if (S.completed) {
    setConn('done', 'Finished');
    return;
  }
  const action = closeAction(code);
  if (action === 'unauthorized') {
    fatal(TEXT.unauthorized);
    return;
  }
  if (action === 'not_found') {
    fatal(TEXT.notFound);
    return;
  }
  if (S.fatal) return;
  if (action === 'superseded') {
    superseded();
    return;
  }
  if (action === 'busy') S.busy = true;
  if (S.phase !== 'paused') {
    setPhase('reconnecting', S.busy ? 'The interview server is busy. Waiting for a free place…' : undefined);
  }
  scheduleReconnect(code);
  updateControls();
}

/** Another connection took the interview over: stop here, offer to take it back. */
function superseded() {
  S.superseded = true;
  vi.superseded = true;
  clearTimeout(S.reconnectTimer);
  clearInterval(S.countdownTimer);
  if (S.player) S.player.stop();
  setConn('lost', 'Taken over');
  setPhase('superseded', PHASE_TEXT.superseded);
  showAlert(TEXT.superseded, 'info');
  $('reconnect').hidden = false;
  $('reconnect-now').textContent = 'Continue here';
  $('reconnect-text').textContent = 'The interview continues in the other tab or window.';
}

function scheduleReconnect(code) {
  if (S.completed || S.fatal || S.superseded) return;
  if (S.wsOpenedAt && performance.now() - S.wsOpenedAt > STABLE_CONNECTION_MS) S.attempts = 0;
  S.wsOpenedAt = 0;
  let delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** S.attempts);
  if (S.busy || code === CLOSE.OVERLOADED) delay = Math.max(delay, 5000);
  delay = Math.round(delay * (0.8 + 0.4 * Math.random()));
  S.attempts++;
  S.reconnectAt = performance.now() + delay;
  S.reconnectTimer = setTimeout(connect, delay);
  setConn('lost', S.busy ? 'Server busy' : 'Reconnecting');
  $('reconnect').hidden = false;
  $('reconnect-now').textContent = 'Reconnect now';
  const tick = () => {
    const left = Math.max(0, Math.ceil((S.reconnectAt - performance.now()) / 1000));
    const what = S.busy
      ? 'The interview server is busy right now.'
      : navigator.onLine === false
        ? 'You appear to be offline.'
        : 'The connection to the interview was lost.';
    $('reconnect-text').textContent = `${what} Trying again in ${left} s. Your answers so far are saved.`;
  };
  tick();
  clearInterval(S.countdownTimer);
  S.countdownTimer = setInterval(tick, 1000);
}

/** Close this page's socket ourselves (complete, another tab, page closed). */
export function closeSocket(code, reason) {
  if (!S.ws) return;
  try {
    S.ws.close(code, reason);
  } catch {
    /* closed */
  }
}

export function fatal(text) {
  S.fatal = true;
  clearTimeout(S.reconnectTimer);
  clearInterval(S.countdownTimer);
  clearInterval(S.pingTimer);
  $('reconnect').hidden = true;
  if (S.ws) {
    closeSocket();
    S.ws = null;
  }
  stopMic();
  if (S.player) S.player.stop();
  setConn('error', 'Stopped');
  setPhase('fatal', text);
  $('intro-note').textContent = '';
  showAlert(text);
  $('start').disabled = true;
}
