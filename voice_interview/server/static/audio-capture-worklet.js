// Capture AudioWorklet: mono input at the context's rate -> 16 kHz PCM16 frames of
// exactly 20 ms (320 samples), posted to the main thread with the frame's level.
//
// Resampling is a windowed-sinc interpolator (Blackman window, cutoff at 0.44 of the
// lower of the two rates, 8 zero crossings a side) read from a table of 512 phases,
// so it low-passes before decimating (no aliasing of 8-24 kHz content into speech)
// and works for any input rate (44.1 kHz needs fractional positions).
// Output sample n sits at input position n * inRate / 16000, computed from n each
// time so long sessions do not drift.

const OUT_RATE = 16000;
const FRAME = 320; // 20 ms at 16 kHz
const PHASES = 512;

function blackman(x) {
  // x in [-1, 1]
  return 0.42 + 0.5 * Math.cos(Math.PI * x) + 0.08 * Math.cos(2 * Math.PI * x);
}

class Resampler {
  constructor(inRate, outRate) {
    this.inRate = inRate;
    this.outRate = outRate;
    this.passthrough = inRate === outRate;
    const fc = 0.44 * Math.min(1, outRate / inRate); // cycles per input sample
    this.half = Math.max(8, Math.min(96, Math.ceil(8 / (2 * fc))));
    const taps = 2 * this.half;
    this.taps = taps;
    this.table = new Float32Array(PHASES * taps);
    for (let p = 0; p < PHASES; p++) {
      const frac = p / PHASES;
      let sum = 0;
      for (let j = 0; j < taps; j++) {
        // tap j reads input index floor(t) - half + 1 + j; d = t - index
        const d = frac + this.half - 1 - j;
        const x = 2 * fc * d;
        const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
        const w = Math.abs(d) >= this.half ? 0 : blackman(d / this.half);
        const h = 2 * fc * sinc * w;
        this.table[p * taps + j] = h;
        sum += h;
      }
      for (let j = 0; j < taps; j++) this.table[p * taps + j] /= sum; // unity gain at DC
    }
    // History buffer: absolute input index of buf[0] is `start`; `half` zeros of pre-roll.
    this.buf = new Float32Array(8192);
    this.len = this.half;
    this.start = -this.half;
    this.n = 0; // next output sample number
  }

  // Append input samples; call `emit(sample)` for every output sample now computable.
  push(input, emit) {
    if (this.passthrough) {
      for (let i = 0; i < input.length; i++) emit(input[i]);
      return;
    }
    if (this.len + input.length > this.buf.length) {
      const bigger = new Float32Array(Math.max(this.buf.length * 2, this.len + input.length));
      bigger.set(this.buf.subarray(0, this.len));
      this.buf = bigger;
    }
    this.buf.set(input, this.len);
    this.len += input.length;
    const end = this.start + this.len; // one past the last absolute index held
    const { half, taps, table, buf } = this;
    for (;;) {
      const t = (this.n * this.inRate) / this.outRate;
      const i0 = Math.floor(t);
      if (i0 + half >= end) break; // needs samples up to i0 + half
      const phase = Math.min(PHASES - 1, Math.round((t - i0) * PHASES));
      const base = phase * taps;
      const k = i0 - half + 1 - this.start;
      let acc = 0;
      for (let j = 0; j < taps; j++) acc += buf[k + j] * table[base + j];
      emit(acc);
      this.n++;
    }
    // Drop what no future output needs.
    const t = (this.n * this.inRate) / this.outRate;
    const keepFrom = Math.floor(t) - half + 1;
    const drop = keepFrom - this.start;
    if (drop > 0) {
      this.buf.copyWithin(0, drop, this.len);
      this.len -= drop;
      this.start += drop;
    }
  }
}

class Pcm16CaptureProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    // `sampleRate` is the AudioWorkletGlobalScope's: the context's rate.
    this.resampler = new Resampler(sampleRate, OUT_RATE);
    this.frame = new Int16Array(FRAME);
    this.fill = 0;
    this.sumSq = 0;
    this.peak = 0;
    this.frames = 0;
    this.running = true;
    this.mono = new Float32Array(128);
    this.port.onmessage = (e) => {
      if (e.data && e.data.type === 'stop') this.running = false;
    };
    this.emit = (s) => {
      const v = s > 1 ? 1 : s < -1 ? -1 : s;
      this.frame[this.fill++] = v < 0 ? Math.round(v * 32768) : Math.round(v * 32767);
      this.sumSq += v * v;
      const a = v < 0 ? -v : v;
      if (a > this.peak) this.peak = a;
      if (this.fill === FRAME) this.flushFrame();
    };
  }

  flushFrame() {
    const rms = Math.sqrt(this.sumSq / FRAME);
    const pcm = this.frame.buffer;
    this.port.postMessage({ pcm, rms, peak: this.peak, seq: this.frames++ }, [pcm]);
    this.frame = new Int16Array(FRAME);
    this.fill = 0;
    this.sumSq = 0;
    this.peak = 0;
  }

  process(inputs) {
    if (!this.running) return false;
    const input = inputs[0];
    if (!input || input.length === 0) return true; // no live track connected right now
    let mono = input[0];
    if (input.length > 1) {
      if (this.mono.length !== mono.length) this.mono = new Float32Array(mono.length);
      const out = this.mono;
      const nch = input.length;
      for (let i = 0; i < out.length; i++) {
        let s = 0;
        for (let c = 0; c < nch; c++) s += input[c][i];
        out[i] = s / nch;
      }
      mono = out;
    }
    this.resampler.push(mono, this.emit);
    return true; // outputs stay silent; the node is connected to the destination only to be pulled
  }
}

registerProcessor('pcm16-capture', Pcm16CaptureProcessor);
