// The page's one way out to the server: JSON and audio through the Uplink (in order,
// queued rather than dropped while the network is slow), with the numbers in __vi.

import { S, vi } from './state.js';
import { showNetwork } from './ui.js';
import { Uplink } from './uplink.js';

export const uplink = new Uplink({ onChange: showNetwork });

// __vi.audio reads the uplink's live numbers.
for (const key of ['framesSent', 'bytesSent', 'messagesSent', 'framesQueued', 'framesDropped', 'droppedMs', 'backpressure']) {
  Object.defineProperty(vi.audio, key, { get: () => uplink.stats[key], enumerable: true });
}

export function sendJson(msg) {
  return uplink.sendText(S.ws, JSON.stringify(msg));
}

/** One frame of microphone audio: `ms` of it; PCM may be merged with its neighbours. */
export function sendAudio(buffer, { ms, coalesce }) {
  return uplink.sendAudio(S.ws, buffer, { ms, frames: 1, coalesce });
}

/** Let queued frames out if the socket has room (called on every captured frame). */
export function pumpAudio() {
  if (uplink.queue.length === 0) return;
  uplink.pump(S.ws);
}

/** The socket is gone: its queued audio is stale. */
export function dropQueued() {
  uplink.clear();
}
