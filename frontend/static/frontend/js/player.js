// Play PCM16 chunks while they arrive: each chunk is scheduled right after the previous one on the
// Web Audio clock, so playback is gapless however the network delivers them.

export class StreamPlayer {
  constructor() {
    this.context = null;
    this.nextTime = 0;
    this.samples = [];
    this.sampleRate = 24000;
    this.stats = { chunksScheduled: 0, firstChunkAt: null };
  }

  ensureContext(sampleRate) {
    if (!this.context) {
      this.context = new AudioContext({ sampleRate });
      this.nextTime = this.context.currentTime + 0.1;
    }
    return this.context;
  }

  push(pcmBuffer, sampleRate) {
    const pcm = new Int16Array(pcmBuffer);
    const floats = Float32Array.from(pcm, (v) => v / 32767);
    this.samples.push(floats);
    this.sampleRate = sampleRate;
    const context = this.ensureContext(sampleRate);
    const buffer = context.createBuffer(1, floats.length, sampleRate);
    buffer.copyToChannel(floats, 0);
    const source = context.createBufferSource();
    source.buffer = buffer;
    source.connect(context.destination);
    this.nextTime = Math.max(this.nextTime, context.currentTime + 0.05);
    source.start(this.nextTime);
    this.nextTime += buffer.duration;
    this.stats.chunksScheduled += 1;
    if (this.stats.firstChunkAt === null) this.stats.firstChunkAt = performance.now();
  }

  allSamples() {
    const total = this.samples.reduce((n, s) => n + s.length, 0);
    const out = new Float32Array(total);
    let offset = 0;
    for (const part of this.samples) { out.set(part, offset); offset += part.length; }
    return out;
  }

  stop() {
    if (this.context) this.context.close();
    this.context = null;
  }
}

export function drawWaveform(canvas, samples) {
  const context = canvas.getContext("2d");
  const { width, height } = canvas;
  context.clearRect(0, 0, width, height);
  context.fillStyle = "#2457c5";
  const step = Math.max(1, Math.floor(samples.length / width));
  for (let x = 0; x < width; x++) {
    let peak = 0;
    for (let i = x * step; i < Math.min(samples.length, (x + 1) * step); i++) peak = Math.max(peak, Math.abs(samples[i]));
    const bar = Math.max(1, peak * height);
    context.fillRect(x, (height - bar) / 2, 1, bar);
  }
}

export async function samplesFromUrl(url) {
  const data = await (await fetch(url)).arrayBuffer();
  const context = new OfflineAudioContext(1, 1, 24000);
  const buffer = await context.decodeAudioData(data);
  return buffer.getChannelData(0);
}
