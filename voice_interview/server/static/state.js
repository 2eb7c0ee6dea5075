// The candidate page's state: page parameters, the one mutable state object `S`, the
// test hook `window.__vi` (read by tests/browser), and the copy kept in sessionStorage.

// ------------------------------------------------------------------ page parameters

const params = new URLSearchParams(location.search);
export const token = params.get('token') || '';
export const interviewId = decodeURIComponent(
  location.pathname.split('/').filter(Boolean).pop() || '',
);
// ?codec=pcm|opus picks the microphone encoding (PCM is the default and the fallback);
// ?out=pcm|opus picks the question audio encoding.
export const wantInput = (params.get('codec') || 'pcm').toLowerCase();
export const wantOutput = (params.get('out') || 'pcm').toLowerCase();

export const INPUT_RATE = 16000;
export const FRAME_SAMPLES = 320; // 20 ms at 16 kHz (the worklet's frame)
export const FRAME_MS = 20;
export const LOG_CAP = 200; // debug logs keep this many recent entries

// ------------------------------------------------------------------ debug hook for tests

export const vi = {
  state: 'idle',
  messages: [], // the last LOG_CAP JSON messages received
  messagesReceived: 0, // all of them
  questionsShown: [], // one per `question` message: {question_id, index, total, text, at}
  transcripts: [], // the last LOG_CAP: {question_id, text, is_final}
  evaluations: {}, // question_id -> evaluation message
  errors: [], // {code, message}
  closes: [], // {code, reason}
  cancels: [], // question_audio_cancel: {question_id, wasPlaying}
  resumes: [], // turn_resumed: {question_id, reason}
  connects: 0,
  opens: 0,
  codec: null, // input encoding in use
  outputCodec: null,
  complete: null, // the interview_complete message
  superseded: false, // another connection took the interview over
  audio: {
    framesCaptured: 0,
    // framesSent, bytesSent, messagesSent, framesQueued, framesDropped, droppedMs and
    // backpressure are added by link.js (the uplink's live numbers).
    binaryReceived: 0,
    bytesReceived: 0,
    playedChunks: 0,
    contextRate: null,
  },
  player: null, // the player's stats
  playerState: () => null, // set once the player exists
  level: 0,
};
window.__vi = vi;

/** Append to a debug log, keeping only the last `cap` entries. */
export function pushCapped(list, item, cap = LOG_CAP) {
  list.push(item);
  if (list.length > cap + 50) list.splice(0, list.length - cap);
}

// ------------------------------------------------------------------ state

export const S = {
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
  superseded: false, // closed with 4409: wait for the candidate before connecting again
  started: false,
  status: null, // server's interview status
  outputFormat: { encoding: 'pcm_s16le', sample_rate: 22050 },
  question: null, // the current question message (the one being asked or answered)
  audioQuestion: null, // question whose audio frames are arriving
  gateTimer: null,
  questions: new Map(), // question_id -> question message
  answers: new Map(), // question_id -> {text, source}: the last final transcript
  evaluations: new Map(),
  heardSpeech: false,
  resumedBase: '', // the answer's text so far, while a resumed turn is open
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

export function socketOpen() {
  return S.ws !== null && S.ws.readyState === WebSocket.OPEN;
}

// The microphone stays open and streams from the first question to the last answer,
// questions included: the server hears a candidate who goes on talking or talks over a
// question (turn_resumed). Not while paused, and not without a socket.
const LIVE_PHASES = new Set(['question', 'listening', 'answered']);

export function micLive() {
  return S.mic !== null && LIVE_PHASES.has(S.phase) && socketOpen();
}

// ------------------------------------------------------------------ sessionStorage

const storageKey = `vi:${interviewId}`;

export function saveLocal() {
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

export function loadLocal() {
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
