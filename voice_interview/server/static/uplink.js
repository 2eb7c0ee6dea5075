// Everything the page sends on the WebSocket goes through one Uplink, in order.
//
// While the socket's own send buffer (`bufferedAmount`) is below a high-water mark,
// frames go straight out. Above it (a slow or stalled network) they wait here: PCM
// frames are coalesced into bigger messages when they go out (PCM may be cut
// anywhere), Opus packets stay one per message (the wire format wants that), and JSON
// messages keep their place behind the audio before them (an `end_of_answer` must not
// overtake the end of the answer). The queue holds at most `maxQueuedMs` of audio;
// beyond that the oldest audio is dropped, and every drop is counted and reported.
// No DOM here: the page reads `stats` and is told of changes through `onChange`.

const OPEN = 1; // WebSocket.OPEN (a literal, so this module also loads outside a browser)

export class Uplink {
  /**
   * @param {{highWaterBytes?: number, maxQueuedMs?: number, maxMessageBytes?: number,
   *          pumpEveryMs?: number, onChange?: (stats: object) => void}} [opts]
   */
  constructor(opts = {}) {
    this.highWater = opts.highWaterBytes ?? 64 * 1024; // ~2 s of 16 kHz PCM in the socket
    this.maxQueuedMs = opts.maxQueuedMs ?? 8000;
    this.maxMessage = opts.maxMessageBytes ?? 64 * 1024; // far below the server's 1 MiB
    this.pumpEveryMs = opts.pumpEveryMs ?? 50;
    this.reportAfterMs = opts.reportAfterMs ?? 200; // a brief blip is not worth a notice
    this.onChange = opts.onChange || null;
    this.queue = []; // {kind: 'audio'|'text', data, ms, frames, coalesce}
    this.ws = null;
    this.timer = null;
    this.lastReport = '';
    this.stats = {
      framesSent: 0, // 20 ms capture frames (or Opus packets) that left
      bytesSent: 0, // audio bytes that left
      messagesSent: 0, // binary WebSocket messages (coalesced PCM counts once)
      framesQueued: 0, // waiting now
      queuedMs: 0,
      framesDropped: 0, // lost for good: over the queue bound, or stale at a disconnect
      droppedMs: 0,
      backpressure: false, // audio is waiting here for the network
    };
  }

  /** Queue or send one audio frame. `ms`/`frames`: how much audio it holds. */
  sendAudio(ws, data, { ms = 20, frames = 1, coalesce = true } = {}) {
    if (!ws || ws.readyState !== OPEN) return false;
    this.ws = ws;
    const item = { kind: 'audio', data, ms, frames, coalesce };
    if (this.queue.length === 0 && ws.bufferedAmount <= this.highWater) {
      this._sendAudio(ws, [item]);
      return true;
    }
    this.queue.push(item);
    this.stats.framesQueued += frames;
    this.stats.queuedMs += ms;
    while (this.stats.queuedMs > this.maxQueuedMs && this._dropOldestAudio()) {
      /* keep the queue bounded */
    }
    this.pump(ws);
    return true;
  }

  /** Send a JSON text message, behind any audio still queued. */
  sendText(ws, text) {
    if (!ws || ws.readyState !== OPEN) return false;
    this.ws = ws;
    if (this.queue.length === 0) {
      ws.send(text);
      return true;
    }
    this.queue.push({ kind: 'text', data: text, ms: 0, frames: 0, coalesce: false });
    this.pump(ws);
    return true;
  }

  /** Send what the socket's buffer has room for. */
  pump(ws = this.ws) {
    if (ws && ws.readyState === OPEN) {
      while (this.queue.length > 0 && ws.bufferedAmount <= this.highWater) {
        const head = this.queue[0];
        if (head.kind === 'text') {
          this.queue.shift();
          ws.send(head.data);
          continue;
        }
        let n = 1;
        let bytes = head.data.byteLength;
        if (head.coalesce) {
          while (n < this.queue.length) {
            const next = this.queue[n];
            if (next.kind !== 'audio' || !next.coalesce) break;
            if (bytes + next.data.byteLength > this.maxMessage) break;
            bytes += next.data.byteLength;
            n++;
          }
        }
        const items = this.queue.splice(0, n);
        for (const it of items) {
          this.stats.framesQueued -= it.frames;
          this.stats.queuedMs -= it.ms;
        }
        this._sendAudio(ws, items);
      }
    }
    this._schedule();
    this._report();
  }

  /** The socket is gone: queued audio belongs to a turn the server no longer has. */
  clear() {
    for (const it of this.queue) {
      if (it.kind !== 'audio') continue;
      this.stats.framesDropped += it.frames;
      this.stats.droppedMs += it.ms;
    }
    this.queue = [];
    this.stats.framesQueued = 0;
    this.stats.queuedMs = 0;
    this.ws = null;
    clearTimeout(this.timer);
    this.timer = null;
    this._report();
  }

  _sendAudio(ws, items) {
    let data;
    if (items.length === 1) {
      data = items[0].data;
    } else {
      const total = items.reduce((s, it) => s + it.data.byteLength, 0);
      const out = new Uint8Array(total);
      let at = 0;
      for (const it of items) {
        out.set(new Uint8Array(it.data), at);
        at += it.data.byteLength;
      }
      data = out.buffer;
    }
    ws.send(data);
    this.stats.messagesSent++;
    this.stats.bytesSent += data.byteLength;
    for (const it of items) this.stats.framesSent += it.frames;
  }

  _dropOldestAudio() {
    const i = this.queue.findIndex((it) => it.kind === 'audio');
    if (i < 0) return false;
    const [it] = this.queue.splice(i, 1);
    this.stats.framesQueued -= it.frames;
    this.stats.queuedMs -= it.ms;
    this.stats.framesDropped += it.frames;
    this.stats.droppedMs += it.ms;
    return true;
  }

  _schedule() {
    if (this.queue.length === 0) {
      clearTimeout(this.timer);
      this.timer = null;
      return;
    }
    // Nothing tells a page that bufferedAmount went down: look again shortly.
    if (this.timer === null) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.pump();
      }, this.pumpEveryMs);
    }
  }

  _report() {
    const s = this.stats;
    if (s.queuedMs === 0) s.backpressure = false;
    else if (s.queuedMs >= this.reportAfterMs) s.backpressure = true;
    // Tell the page when the picture changes: on/off, each half second queued, a drop.
    const key = `${s.backpressure}|${Math.floor(s.queuedMs / 500)}|${s.framesDropped}`;
    if (key === this.lastReport) return;
    this.lastReport = key;
    if (this.onChange) this.onChange(s);
  }
}
