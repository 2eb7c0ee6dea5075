// Audio on the page: the AudioContext and question player, the microphone (AudioWorklet,
// 16 kHz PCM16 in 20 ms frames, optional WebCodecs Opus) and the level meter.
// The microphone is opened once, on Start, and stays open; `micLive()` decides whether
// its frames go to the server.

import { sendAudio, sendJson, pumpAudio } from './link.js';
import { StreamPlayer } from './player.js';
import { FRAME_MS, FRAME_SAMPLES, INPUT_RATE, S, micLive, vi } from './state.js';
import { $, showAlert, updateMicState } from './ui.js';

/** Create (once) and resume the AudioContext; `onDrained(questionId)` when a question has played. */
export async function ensureAudioContext(onDrained) {
  if (!S.ctx) {
    S.ctx = new AudioContext({ latencyHint: 'interactive' });
    vi.audio.contextRate = S.ctx.sampleRate;
    S.player = new StreamPlayer(S.ctx, {
      onDrained: (tag) => onDrained && onDrained(tag),
      onChunk: () => {
        vi.audio.playedChunks++;
      },
    });
    vi.player = S.player.stats;
    vi.playerState = () => S.player.state();
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

export async function startMic() {
  const ctx = S.ctx;
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw Object.assign(new Error('no getUserMedia'), { name: 'NotSupportedError' });
  }
  // Echo cancellation matters more than ever: the microphone stays on while questions play.
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

export function stopMic() {
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
  closeEncoder();
  S.level = 0;
  updateMicState();
}

export function micErrorText(err) {
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

// ------------------------------------------------------------------ Opus (WebCodecs)

export async function setupOpusEncoder() {
  if (typeof AudioEncoder === 'undefined' || typeof AudioData === 'undefined') return false;
  const config = { codec: 'opus', sampleRate: INPUT_RATE, numberOfChannels: 1, bitrate: 32000 };
  try {
    const support = await AudioEncoder.isConfigSupported(config);
    if (!support.supported) return false;
    const enc = new AudioEncoder({
      output: (chunk) => {
        const bytes = new Uint8Array(chunk.byteLength);
        chunk.copyTo(bytes);
        // One Opus packet per message: never merged with the next.
        sendAudio(bytes.buffer, { ms: FRAME_MS, coalesce: false });
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

function closeEncoder() {
  if (!S.encoder) return;
  try {
    S.encoder.close();
  } catch {
    /* closed */
  }
  S.encoder = null;
}

export function switchToPcm() {
  if (S.inputEncoding === 'pcm_s16le') return;
  S.inputEncoding = 'pcm_s16le';
  vi.codec = 'pcm_s16le';
  closeEncoder();
  sendJson({ type: 'session.update', input_audio: { encoding: 'pcm_s16le', sample_rate: INPUT_RATE } });
}

export function inputFormat() {
  return S.inputEncoding === 'opus'
    ? { encoding: 'opus' }
    : { encoding: 'pcm_s16le', sample_rate: INPUT_RATE };
}

// ------------------------------------------------------------------ capture

function onCaptureFrame(data) {
  vi.audio.framesCaptured++;
  S.level = data.rms;
  pumpAudio();
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
  sendAudio(data.pcm, { ms: FRAME_MS, coalesce: true });
}

export function meterLoop() {
  const bar = $('meter-bar');
  // Map RMS to 0..1 on a -60..0 dBFS scale.
  const db = S.level > 0 ? 20 * Math.log10(S.level) : -100;
  const v = Math.max(0, Math.min(1, (db + 60) / 60));
  vi.level = v;
  bar.style.transform = `scaleX(${S.mic ? 1 - v : 1})`; // the bar is the cover above the level
  requestAnimationFrame(meterLoop);
}
