// Streaming playback of question audio with Web Audio.
//
// Chunks are scheduled back to back on the AudioContext clock: each one starts at
// `nextTime` (the end of the previous one), so there is no gap and no overlap however
// the frames arrive. If the stream falls behind (nextTime already passed), playback
// restarts a short lead into the future. PCM s16le arrives at the rate the server
// announced in `session.output_audio`; Opus packets (48 kHz) are decoded with
// WebCodecs' AudioDecoder when the page asked for them.

const LEAD_S = 0.06; // first chunk (or after an underrun) starts this far ahead

export class StreamPlayer {
  /**
   * @param {AudioContext} ctx
   * @param {{onDrained?: (tag: string) => void, onChunk?: () => void}} [hooks]
   */
  constructor(ctx, hooks = {}) {
    this.ctx = ctx;
    this.hooks = hooks;
    this.sources = new Set();
    this.nextTime = 0;
    this.tag = null; // the question whose audio is playing
    this.ended = true; // no more audio will come for `tag`
    this.carry = null; // odd trailing byte of a PCM frame
    this.format = { encoding: 'pcm_s16le', sample_rate: 22050 };
    this.decoder = null;
    this.opusTs = 0;
    this.stats = { chunks: 0, ended: 0, seconds: 0, underruns: 0, cancelled: 0, cancelledChunks: 0 };
  }

  /** Start a new stream (a question); stops whatever is still playing. */
  begin(tag, format) {
    this.stop();
    this.tag = tag;
    this.ended = false;
    this.carry = null;
    if (format) this.format = { ...format };
    if (this.format.encoding === 'opus') this._openDecoder();
  }

  /** One binary WebSocket frame of the current stream. */
  push(buffer) {
    if (this.tag === null) return;
    if (this.format.encoding === 'opus') {
      this._pushOpus(buffer);
      return;
    }
    let bytes = new Uint8Array(buffer);
    if (this.carry !== null) {
      const joined = new Uint8Array(bytes.length + 1);
      joined[0] = this.carry;
      joined.set(bytes, 1);
      bytes = joined;
      this.carry = null;
    }
    if (bytes.length % 2 === 1) {
      this.carry = bytes[bytes.length - 1];
      bytes = bytes.subarray(0, bytes.length - 1);
    }
    const n = bytes.length / 2;
    if (n === 0) return;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const f32 = new Float32Array(n);
    for (let i = 0; i < n; i++) f32[i] = view.getInt16(2 * i, true) / 32768;
    this.schedule(f32, this.format.sample_rate || 22050);
  }

  /** No more audio for this stream; `onDrained` fires once the last chunk has played. */
  end() {
    if (this.tag === null) return;
    if (this.decoder && this.decoder.state === 'configured') {
      // Let queued Opus packets come out before declaring the end.
      const tag = this.tag;
      this.decoder.flush().then(
        () => this._markEnded(tag),
        () => this._markEnded(tag),
      );
      return;
    }
    this._markEnded(this.tag);
  }

  /** Stop now: all scheduled chunks are cancelled. */
  stop() {
    for (const src of this.sources) {
      src.onended = null;
      try {
        src.stop();
      } catch {
        /* never started */
      }
      src.disconnect();
    }
    this.sources.clear();
    this.nextTime = 0;
    this.tag = null;
    this.ended = true;
    if (this.decoder) {
      try {
        this.decoder.close();
      } catch {
        /* already closed */
      }
      this.decoder = null;
    }
  }

  /**
   * Drop a stream now (the server cancelled its question): what is playing stops, what
   * is scheduled never plays, frames still coming are ignored (until the next `begin`),
   * and `onDrained` does not fire. A `tag` that is not the current stream is ignored.
   * Returns whether anything was dropped.
   */
  cancel(tag) {
    if (tag !== undefined && tag !== this.tag) return false;
    const dropped = this.sources.size;
    const had = dropped > 0 || !this.ended;
    this.stats.cancelled++;
    this.stats.cancelledChunks += dropped;
    this.stop();
    return had;
  }

  /** A snapshot, for tests and diagnostics. */
  state() {
    return {
      tag: this.tag,
      busy: this.busy,
      scheduled: this.sources.size,
      remaining: this.remaining,
      ended: this.ended,
    };
  }

  /** True while audio is scheduled or still expected. */
  get busy() {
    return this.tag !== null && (!this.ended || this.sources.size > 0);
  }

  /** Seconds of scheduled audio not yet played. */
  get remaining() {
    return Math.max(0, this.nextTime - this.ctx.currentTime);
  }

  schedule(f32, rate) {
    const buffer = this.ctx.createBuffer(1, f32.length, rate);
    buffer.copyToChannel(f32, 0);
    const src = this.ctx.createBufferSource();
    src.buffer = buffer;
    src.connect(this.ctx.destination);
    const now = this.ctx.currentTime;
    if (this.nextTime < now + 0.005) {
      if (this.nextTime !== 0) this.stats.underruns++;
      this.nextTime = now + LEAD_S;
    }
    src.start(this.nextTime);
    this.nextTime += buffer.duration;
    this.sources.add(src);
    this.stats.chunks++;
    this.stats.seconds += buffer.duration;
    const tag = this.tag;
    src.onended = () => {
      this.sources.delete(src);
      src.disconnect();
      this.stats.ended++;
      if (this.tag === tag && this.ended && this.sources.size === 0) this._drained(tag);
    };
    if (this.hooks.onChunk) this.hooks.onChunk();
  }

  _markEnded(tag) {
    if (this.tag !== tag) return;
    this.ended = true;
    if (this.sources.size === 0) this._drained(tag);
  }

  _drained(tag) {
    this.nextTime = 0;
    if (this.hooks.onDrained) this.hooks.onDrained(tag);
  }

  _openDecoder() {
    if (typeof AudioDecoder === 'undefined') throw new Error('AudioDecoder is not available');
    this.opusTs = 0;
    this.decoder = new AudioDecoder({
      output: (data) => {
        try {
          const n = data.numberOfFrames;
          const f32 = new Float32Array(n);
          data.copyTo(f32, { planeIndex: 0, format: 'f32-planar' });
          if (this.tag !== null) this.schedule(f32, data.sampleRate);
        } finally {
          data.close();
        }
      },
      error: (e) => console.warn('opus decode error', e),
    });
    this.decoder.configure({ codec: 'opus', sampleRate: 48000, numberOfChannels: 1 });
  }

  _pushOpus(buffer) {
    if (!this.decoder || this.decoder.state !== 'configured') return;
    const chunk = new EncodedAudioChunk({ type: 'key', timestamp: this.opusTs, data: buffer });
    this.opusTs += 20000; // microseconds; only ordering matters to the decoder
    this.decoder.decode(chunk);
  }
}

/** Whether this browser can decode raw Opus packets (WebCodecs). */
export async function opusDecodeSupported() {
  if (typeof AudioDecoder === 'undefined') return false;
  try {
    const r = await AudioDecoder.isConfigSupported({
      codec: 'opus',
      sampleRate: 48000,
      numberOfChannels: 1,
    });
    return Boolean(r.supported);
  } catch {
    return false;
  }
}
