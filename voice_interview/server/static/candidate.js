// Candidate page: microphone -> AudioWorklet (16 kHz PCM16, 20 ms frames) -> WebSocket;
// question audio streamed back and played as it arrives; live transcript; reconnects.
// Wire contract: PROTOCOL.md (session.update, question, question_audio_end, transcript...).

import { StreamPlayer, opusDecodeSupported } from './player.js';

const $ = (id) => document.getElementById(id);

// ------------------------------------------------------------------ page parameters

const params = new URLSearchParams(location.search);
const token = params.get('token') || '';
const interviewId = decodeURIComponent(location.pathname.split('/').filter(Boolean).pop() || '');
// ?codec=pcm|opus picks the microphone encoding (PCM is the default and the fallback);
// ?out=pcm|opus picks the question audio encoding.
const wantInput = (params.get('codec') || 'pcm').toLowerCase();
const wantOutput = (params.get('out') || 'pcm').toLowerCase();

const INPUT_RATE = 16000;
const FRAME_SAMPLES = 320; // 20 ms at 16 kHz (the worklet's frame)
const MAX_BACKOFF_MS = 15000;
const STABLE_CONNECTION_MS = 10000; // a connection this old resets the backoff
const PING_EVERY_MS = 20000;
const SILENT_SOCKET_MS = 50000; // nothing heard for this long: treat the socket as dead

// ------------------------------------------------------------------ debug hook for tests

const vi = {
  state: 'idle',
  messages: [], // every JSON message received
  questionsShown: [], // {question_id, index, total, text, at}
  transcripts: [], // {question_id, text, is_final}
  evaluations: {}, // question_id -> evaluation message
  errors: [], // {code, message}
  closes: [], // {code, reason}
  connects: 0,
  opens: 0,
  codec: null, // input encoding in use
  outputCodec: null,
  complete: null, // the interview_complete message
  audio: {
    framesCaptured: 0,
    framesSent: 0,
    bytesSent: 0,
    binaryReceived: 0,
    bytesReceived: 0,
    playedChunks: 0,
    contextRate: null,
  },
  level: 0,
};
window.__vi = vi;

// ------------------------------------------------------------------ state

const S = {
  phase: 'idle',
  ws: null,
  wsOpenedAt: 0,
  lastInbound: 0,
  attempts: 0,
  reconnectTimer: null,
  reconnectAt: 0,
  countdownTimer: null,
  pingTimer: null,
  busy: false,
  completed: false,
  fatal: false,
  started: false,
  status: null, // server's interview status
  outputFormat: { encoding: 'pcm_s16le', sample_rate: 22050 },
  question: null, // the current question message
  audioQuestion: null, // question whose audio frames are arriving
  gateTimer: null,
  questions: new Map(), // question_id -> question message
  answers: new Map(), // question_id -> {text, source}
  evaluations: new Map(),
  heardSpeech: false,
  doneArmed: false,
  repeatPending: false,
  doneArmTimer: null,
  ctx: null,
  player: null,
  mic: null, // {stream, source, node}
  micError: null,
  inputEncoding: 'pcm_s16le',
  encoder: null,
  encoderTs: 0,
  outputOpus: false,
  level: 0,
};

const storageKey = `vi:${interviewId}`;

function saveLocal() {
  try {
    const data = {
      questions: [...S.questions.values()].map((q) => ({
        question_id: q.question_id, text: q.text, index: q.index, total: q.total,
        question_type: q.question_type, difficulty: q.difficulty,
      })),
      answers: [...S.answers.entries()],
      evaluations: [...S.evaluations.entries()],
    };
    sessionStorage.setItem(storageKey, JSON.stringify(data));
  } catch {
    /* storage full or disabled: only this page's memory is used */
  }
}

function loadLocal() {
  try {
    const raw = sessionStorage.getItem(storageKey);
    if (!raw) return;
    const data = JSON.parse(raw);
    for (const q of data.questions || []) S.questions.set(q.question_id, q);
    for (const [k, v] of data.answers || []) S.answers.set(k, v);
    for (const [k, v] of data.evaluations || []) S.evaluations.set(k, v);
  } catch {
    /* ignore a damaged entry */
  }
}

// ------------------------------------------------------------------ UI helpers

const PHASE_TEXT = {
  idle: 'Not started.',
  connecting: 'Connecting to the interview…',
  question: 'Listen to the question. The microphone opens when it ends.',
  listening: 'Your turn: answer out loud. Pause or press “I’m done” when you finish.',
  answered: 'Thanks. Processing your answer…',
  paused: 'The interview is paused. Press Resume when you are ready.',
  reconnecting: 'Connection lost. Reconnecting…',
  complete: 'The interview is complete.',
  fatal: 'The interview cannot continue.',
};

const NO_MIC_TEXT = {
  question: 'Listen to the question, then type your answer below.',
  listening: 'Your turn: type your answer below and press “Send typed answer”.',
};

function setPhase(phase, text) {
  S.phase = phase;
  vi.state = phase;
  const noMic = S.mic === null && S.micError !== null;
  $('phase').textContent = text || (noMic && NO_MIC_TEXT[phase]) || PHASE_TEXT[phase] || '';
  $('phase-dot').dataset.phase = phase;
  document.body.dataset.phase = phase;
  updateControls();
  updateMicState();
}

function setConn(state, text) {
  const el = $('conn');
  el.dataset.state = state;
  el.textContent = text;
}

function showAlert(text, kind = 'error') {
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

function updateControls() {
  const open = S.ws !== null && S.ws.readyState === WebSocket.OPEN;
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

function updateMicState() {
  let text;
  if (S.micError) text = 'unavailable';
  else if (!S.mic) text = 'off';
  else if (micLive()) text = 'listening';
  else if (S.phase === 'question') text = 'waits for the question';
  else if (S.phase === 'paused') text = 'paused';
  else text = 'on hold';
  $('mic-state').textContent = text;
  document.body.dataset.mic = micLive() ? 'live' : 'held';
}

function formatScore(score) {
  if (score === null || score === undefined || Number.isNaN(Number(score))) return 'Not assessed';
  return `${Math.round(Number(score))} / 100`;
}

// ------------------------------------------------------------------ audio

function micLive() {
  return S.mic !== null && S.phase === 'listening' && S.ws !== null && S.ws.readyState === WebSocket.OPEN;
}

async function ensureAudioContext() {
  if (!S.ctx) {
    S.ctx = new AudioContext({ latencyHint: 'interactive' });
    vi.audio.contextRate = S.ctx.sampleRate;
    S.player = new StreamPlayer(S.ctx, {
      onDrained: (tag) => questionAudioPlayed(tag),
      onChunk: () => {
        vi.audio.playedChunks++;
      },
    });
    vi.player = S.player.stats;
  }
  if (S.ctx.state !== 'running') {
    try {
      await S.ctx.resume();
    } catch {
      /* stays suspended; playback is skipped, the mic still works once allowed */
    }
  }
  return S.ctx;
}

async function startMic() {
  const ctx = await ensureAudioContext();
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw Object.assign(new Error('no getUserMedia'), { name: 'NotSupportedError' });
  }
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: {
      echoCancellation: true,
      noiseSuppression: true,
      autoGainControl: true,
      channelCount: 1,
    },
  });
  await ctx.audioWorklet.addModule('/static/audio-capture-worklet.js');
  const source = ctx.createMediaStreamSource(stream);
  const node = new AudioWorkletNode(ctx, 'pcm16-capture', {
    numberOfInputs: 1,
    numberOfOutputs: 1,
    outputChannelCount: [1],
    channelCount: 1,
    channelCountMode: 'explicit',
    channelInterpretation: 'speakers',
  });
  node.port.onmessage = (e) => onCaptureFrame(e.data);
  source.connect(node);
  // The worklet writes silence; it must reach the destination or the graph stops pulling it.
  node.connect(ctx.destination);
  S.mic = { stream, source, node };
  for (const track of stream.getAudioTracks()) {
    track.addEventListener('ended', () => {
      S.micError = 'ended';
      showAlert('The microphone was disconnected. Plug it back in and reload the page, or type your answers.');
      updateMicState();
    });
  }
  S.micError = null;
  updateMicState();
}

function stopMic() {
  if (!S.mic) return;
  try {
    S.mic.node.port.postMessage({ type: 'stop' });
    S.mic.source.disconnect();
    S.mic.node.disconnect();
  } catch {
    /* already torn down */
  }
  for (const t of S.mic.stream.getTracks()) t.stop();
  S.mic = null;
  if (S.encoder) {
    try {
      S.encoder.close();
    } catch {
      /* closed */
    }
    S.encoder = null;
  }
  S.level = 0;
  updateMicState();
}

function micErrorText(err) {
  const name = err && err.name;
  if (name === 'NotAllowedError' || name === 'SecurityError' || name === 'PermissionDeniedError') {
    return 'Microphone access was blocked. To answer by voice, allow the microphone for this site (the icon in the address bar) and reload the page. You can also type your answers below.';
  }
  if (name === 'NotFoundError' || name === 'OverconstrainedError' || name === 'DevicesNotFoundError') {
    return 'No microphone was found. Connect one and reload the page, or type your answers below.';
  }
  if (name === 'NotReadableError' || name === 'AbortError') {
    return 'The microphone is in use by another application or could not be started. Close other apps that use it and reload, or type your answers below.';
  }
  if (name === 'NotSupportedError') {
    return window.isSecureContext
      ? 'This browser cannot record audio here. Use a current Chrome, Edge, Firefox or Safari, or type your answers below.'
      : 'The microphone only works on a secure (https) page. Ask the recruiter for an https link, or type your answers below.';
  }
  return `The microphone could not be started (${name || 'unknown error'}). You can type your answers below.`;
}

async function setupOpusEncoder() {
  if (typeof AudioEncoder === 'undefined' || typeof AudioData === 'undefined') return false;
  const config = { codec: 'opus', sampleRate: INPUT_RATE, numberOfChannels: 1, bitrate: 32000 };
  try {
    const support = await AudioEncoder.isConfigSupported(config);
    if (!support.supported) return false;
    const enc = new AudioEncoder({
      output: (chunk) => {
        const bytes = new Uint8Array(chunk.byteLength);
        chunk.copyTo(bytes);
        sendAudio(bytes.buffer);
      },
      error: (e) => {
        console.warn('Opus encoder failed; falling back to PCM', e);
        switchToPcm();
      },
    });
    enc.configure(config);
    S.encoder = enc;
    S.encoderTs = 0;
    return true;
  } catch (e) {
    console.warn('Opus encoder unavailable', e);
    return false;
  }
}

function switchToPcm() {
  if (S.inputEncoding === 'pcm_s16le') return;
  S.inputEncoding = 'pcm_s16le';
  vi.codec = 'pcm_s16le';
  if (S.encoder) {
    try {
      S.encoder.close();
    } catch {
      /* closed */
    }
    S.encoder = null;
  }
  sendJson({ type: 'session.update', input_audio: { encoding: 'pcm_s16le', sample_rate: INPUT_RATE } });
}

function onCaptureFrame(data) {
  vi.audio.framesCaptured++;
  S.level = data.rms;
  if (!micLive()) return;
  if (S.inputEncoding === 'opus' && S.encoder && S.encoder.state === 'configured') {
    const pcm = new Int16Array(data.pcm);
    const frame = new AudioData({
      format: 's16',
      sampleRate: INPUT_RATE,
      numberOfFrames: pcm.length,
      numberOfChannels: 1,
      timestamp: S.encoderTs,
      data: pcm,
    });
    S.encoderTs += (FRAME_SAMPLES / INPUT_RATE) * 1e6;
    S.encoder.encode(frame);
    frame.close();
    return;
  }
  sendAudio(data.pcm);
}

function sendAudio(buffer) {
  const ws = S.ws;
  if (!ws || ws.readyState !== WebSocket.OPEN) return;
  // Do not let a slow link queue minutes of audio in the browser.
  if (ws.bufferedAmount > 512 * 1024) return;
  ws.send(buffer);
  vi.audio.framesSent++;
  vi.audio.bytesSent += buffer.byteLength;
}

function meterLoop() {
  const bar = $('meter-bar');
  // Map RMS to 0..1 on a -60..0 dBFS scale.
  const db = S.level > 0 ? 20 * Math.log10(S.level) : -100;
  const v = Math.max(0, Math.min(1, (db + 60) / 60));
  vi.level = v;
  bar.style.transform = `scaleX(${S.mic ? 1 - v : 1})`; // the bar is the cover above the level
  requestAnimationFrame(meterLoop);
}

// ------------------------------------------------------------------ WebSocket

function wsUrl() {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${location.host}/ws/interviews/${encodeURIComponent(interviewId)}?token=${encodeURIComponent(token)}`;
}

function sendJson(msg) {
  const ws = S.ws;
  if (!ws || ws.readyState !== WebSocket.OPEN) return false;
  ws.send(JSON.stringify(msg));
  return true;
}

function connect() {
  clearTimeout(S.reconnectTimer);
  clearInterval(S.countdownTimer);
  S.reconnectTimer = null;
  $('reconnect').hidden = true;
  if (S.completed || S.fatal) return;
  if (S.ws && (S.ws.readyState === WebSocket.OPEN || S.ws.readyState === WebSocket.CONNECTING)) return;
  vi.connects++;
  setConn('connecting', vi.connects > 1 ? 'Reconnecting…' : 'Connecting…');
  if (S.phase === 'idle') setPhase('connecting');
  let ws;
  try {
    ws = new WebSocket(wsUrl());
  } catch (e) {
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
    ws.send(JSON.stringify(update));
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
      vi.messages.push(msg);
      handleMessage(msg);
    } else {
      vi.audio.binaryReceived++;
      vi.audio.bytesReceived += ev.data.byteLength;
      if (S.audioQuestion !== null && S.player) S.player.push(ev.data);
    }
  };
  ws.onclose = (ev) => {
    vi.closes.push({ code: ev.code, reason: ev.reason });
    if (S.ws !== ws) return;
    S.ws = null;
    clearInterval(S.pingTimer);
    onSocketClosed(ev.code, ev.reason);
  };
  ws.onerror = () => {
    /* onclose follows with the code */
  };
}

function inputFormat() {
  return S.inputEncoding === 'opus'
    ? { encoding: 'opus' }
    : { encoding: 'pcm_s16le', sample_rate: INPUT_RATE };
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
      ws.close(4000, 'no response');
    } catch {
      /* already closing */
    }
    onSocketClosed(4000, 'no response');
    return;
  }
  sendJson({ type: 'ping' });
}

function onSocketClosed(code, reason) {
  S.audioQuestion = null;
  if (S.completed) {
    setConn('done', 'Finished');
    return;
  }
  if (code === 4401) {
    fatal('This interview link is not valid or has expired. Please ask the recruiter for a new link.');
    return;
  }
  if (code === 4404) {
    fatal('This interview could not be found. It may have been removed. Please contact the recruiter.');
    return;
  }
  if (S.fatal) return;
  if (code === 1013) S.busy = true;
  if (S.phase !== 'paused') {
    setPhase('reconnecting', S.busy ? 'The interview server is busy. Waiting for a free place…' : undefined);
  }
  scheduleReconnect(code);
  updateControls();
}

function scheduleReconnect(code) {
  if (S.completed || S.fatal) return;
  if (S.wsOpenedAt && performance.now() - S.wsOpenedAt > STABLE_CONNECTION_MS) S.attempts = 0;
  S.wsOpenedAt = 0;
  let delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** S.attempts);
  if (S.busy || code === 1013) delay = Math.max(delay, 5000);
  delay = Math.round(delay * (0.8 + 0.4 * Math.random()));
  S.attempts++;
  S.reconnectAt = performance.now() + delay;
  S.reconnectTimer = setTimeout(connect, delay);
  setConn('lost', S.busy ? 'Server busy' : 'Reconnecting');
  const box = $('reconnect');
  box.hidden = false;
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

function fatal(text) {
  S.fatal = true;
  clearTimeout(S.reconnectTimer);
  clearInterval(S.countdownTimer);
  clearInterval(S.pingTimer);
  $('reconnect').hidden = true;
  if (S.ws) {
    try {
      S.ws.close();
    } catch {
      /* closed */
    }
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

// ------------------------------------------------------------------ messages

const ERROR_TEXT = {
  UNAUTHORIZED: 'This interview link is not valid or has expired. Please ask the recruiter for a new link.',
  INTERVIEW_NOT_FOUND: 'This interview could not be found. Please contact the recruiter.',
  ANSWER_TOO_LONG: 'Your answer reached the time limit, so it was ended there.',
  AUDIO_DECODE_ERROR: 'Some of your audio could not be understood by the server.',
  INTERNAL_ERROR: 'Something went wrong on the server. We will reconnect and carry on from the current question.',
};

function handleMessage(msg) {
  switch (msg.type) {
    case 'session':
      onSession(msg);
      break;
    case 'question':
      onQuestion(msg);
      break;
    case 'question_audio_end':
      onQuestionAudioEnd(msg);
      break;
    case 'speech_started':
      S.heardSpeech = true;
      document.body.dataset.speaking = '1';
      break;
    case 'speech_stopped':
      document.body.dataset.speaking = '0';
      break;
    case 'transcript':
      onTranscript(msg);
      break;
    case 'evaluation':
      S.evaluations.set(msg.question_id, msg);
      vi.evaluations[msg.question_id] = msg;
      saveLocal();
      if (S.completed) renderFinal();
      break;
    case 'turn_metrics':
      break;
    case 'interview_complete':
      onComplete(msg);
      break;
    case 'error':
      onError(msg);
      break;
    default:
      break; // pong and anything newer
  }
}

function onSession(msg) {
  S.status = msg.status;
  if (msg.output_audio) {
    S.outputFormat = { encoding: msg.output_audio.encoding, sample_rate: msg.output_audio.sample_rate };
    vi.outputCodec = S.outputFormat.encoding;
  }
  if (msg.input_audio) vi.codec = msg.input_audio.encoding;
  if (typeof msg.total === 'number') setProgress(msg.answered ?? null, msg.total);
  if (msg.status === 'paused') {
    if (S.player) S.player.stop();
    S.audioQuestion = null;
    setPhase('paused');
  } else if (msg.status === 'in_progress' && S.phase === 'paused') {
    setPhase('connecting', 'Resuming…');
  } else if (msg.status === 'cancelled') {
    fatal('This interview was cancelled by the recruiter.');
  }
  showAlertIfStale();
}

function showAlertIfStale() {
  // A transient alert (busy, reconnecting) is cleared once the session is back.
  const el = $('alert');
  if (!el.hidden && el.dataset.kind === 'transient') showAlert('');
}

function setProgress(answered, total) {
  if (!total) return;
  const bar = $('progress');
  bar.max = total;
  if (answered !== null) bar.value = Math.min(total, answered);
}

function onQuestion(msg) {
  const changed = !S.question || S.question.question_id !== msg.question_id;
  S.question = msg;
  S.questions.set(msg.question_id, msg);
  saveLocal();
  vi.questionsShown.push({
    question_id: msg.question_id, index: msg.index, total: msg.total, text: msg.text, at: Date.now(),
  });
  $('progress-row').hidden = false;
  $('progress-label').textContent = `Question ${msg.index + 1} of ${msg.total}`;
  setProgress(msg.index, msg.total);
  $('question-text').textContent = msg.text;
  const meta = [msg.question_type, msg.difficulty].filter(Boolean).join(' · ');
  $('question-meta').textContent = meta;
  if (changed) $('typed-text').value = '';
  if (changed || !S.repeatPending) {
    // A new turn on the server (new question, reconnect, reprompt): start the transcript afresh.
    S.heardSpeech = false;
    setTranscript('', false, true);
  }
  S.repeatPending = false;
  document.body.dataset.speaking = '0';
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
  // Safety net: open the mic even if an `ended` event never comes.
  const waitMs = S.player.remaining * 1000 + 1500;
  S.gateTimer = setTimeout(() => questionAudioPlayed(msg.question_id), waitMs);
}

function questionAudioPlayed(questionId) {
  clearTimeout(S.gateTimer);
  if (!S.question || S.question.question_id !== questionId) return;
  if (S.phase === 'question') setPhase('listening');
}

function onTranscript(msg) {
  vi.transcripts.push({ question_id: msg.question_id, text: msg.text, is_final: msg.is_final });
  if (!S.question || msg.question_id !== S.question.question_id) {
    // The previous answer's final transcript (it follows the next question), or one
    // replayed after a resume: keep it for the summary, not under the new question.
    if (msg.is_final) S.answers.set(msg.question_id, { text: msg.text, source: 'voice' });
    return;
  }
  setTranscript(msg.text, msg.is_final);
  if (msg.is_final) {
    S.answers.set(msg.question_id, { text: msg.text, source: msg.text ? 'voice' : 'none' });
    saveLocal();
    setPhase('answered', msg.text ? PHASE_TEXT.answered : 'No answer was heard for this question. Moving on…');
    document.body.dataset.speaking = '0';
  }
}

function setTranscript(text, isFinal, placeholder = false) {
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
  if (S.ws) {
    try {
      S.ws.close(1000, 'complete');
    } catch {
      /* closed */
    }
  }
}

function onError(msg) {
  vi.errors.push({ code: msg.code, message: msg.message });
  const code = msg.code;
  if (code === 'UNAUTHORIZED' || code === 'INTERVIEW_NOT_FOUND') {
    fatal(ERROR_TEXT[code]);
    return;
  }
  if (code === 'SERVER_BUSY') {
    // The reconnect notice says so and counts down; no separate alert.
    S.busy = true;
    return;
  }
  if (code === 'INTERVIEW_NOT_ACTIVE') {
    if (/cancel/i.test(msg.message || '')) {
      fatal('This interview was cancelled by the recruiter.');
    } else {
      showAlert(`That is not possible right now: ${msg.message}`, 'info');
    }
    return;
  }
  if (code === 'UNSUPPORTED_AUDIO' || (code === 'AUDIO_DECODE_ERROR' && S.inputEncoding === 'opus')) {
    if (S.inputEncoding === 'opus') {
      switchToPcm();
      return;
    }
  }
  if (code === 'EVALUATION_FAILED') {
    // Retries happen on the server; only a final failure is worth telling the candidate.
    if (/for good/i.test(msg.message || '')) {
      showAlert('One answer could not be scored automatically; the recruiter will review it.', 'info');
    }
    return;
  }
  if (code === 'INVALID_MESSAGE' && /idle/i.test(msg.message || '')) {
    showAlert('You were away for a long time, so the connection was closed. Reconnecting…', 'transient');
    return;
  }
  showAlert(ERROR_TEXT[code] || `The server reported a problem: ${msg.message || code}`, code === 'INTERNAL_ERROR' ? 'transient' : 'info');
}

// ------------------------------------------------------------------ final screen

function renderFinal() {
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

// ------------------------------------------------------------------ controls

function showStage() {
  $('intro').hidden = true;
  $('stage').hidden = false;
}

function disarmDone() {
  S.doneArmed = false;
  clearTimeout(S.doneArmTimer);
  $('done').textContent = 'I’m done';
}

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
    vi.transcripts.push({ question_id: S.question.question_id, text, is_final: true, typed: true });
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
    await ensureAudioContext();
  } catch (e) {
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
    fatal(ERROR_TEXT.UNAUTHORIZED);
    return;
  }
  if (res.status === 404) {
    fatal(ERROR_TEXT.INTERVIEW_NOT_FOUND);
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
    fatal('This interview was cancelled by the recruiter.');
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
  $('start').addEventListener('click', onStart);
  $('done').addEventListener('click', onDone);
  $('repeat').addEventListener('click', onRepeat);
  $('pause').addEventListener('click', onPause);
  $('resume').addEventListener('click', onResume);
  $('typed-form').addEventListener('submit', onTyped);
  $('reconnect-now').addEventListener('click', () => {
    S.attempts = 0;
    connect();
  });
  window.addEventListener('online', () => {
    if (S.started && !S.ws && !S.completed && !S.fatal) connect();
  });
  window.addEventListener('beforeunload', () => {
    if (S.ws) S.ws.close(1000, 'page closed');
  });
  // Another tab of the same interview would take over the connection: say so.
  if ('BroadcastChannel' in window && interviewId) {
    const bc = new BroadcastChannel(`vi-interview-${interviewId}`);
    bc.onmessage = (e) => {
      if (e.data === 'started' && S.started && !S.completed) {
        showAlert('This interview was opened in another tab or window. Please continue there and close this one.', 'info');
        S.fatal = true; // stop reconnecting here; the other tab owns the interview
        clearTimeout(S.reconnectTimer);
        if (S.ws) S.ws.close(1000, 'another tab');
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
