// One player for live and finished audio. While a job streams, PCM16 chunks are scheduled back to back
// on the Web Audio clock (gapless however the network delivers them); once the file exists the same
// controls drive an <audio> element, which can seek. Cache hits start in that second mode.

export class StreamPlayer {
  constructor() {
    this.context = null;
    this.startTime = null;
    this.nextTime = 0;
    this.samples = [];
    this.sampleRate = 24000;
    this.stopped = false;
    this.stats = { chunksScheduled: 0, firstChunkAt: null };
  }

  push(pcmBuffer, sampleRate) {
    const pcm = new Int16Array(pcmBuffer);
    const floats = Float32Array.from(pcm, (v) => v / 32767);
    this.samples.push(floats);
    this.sampleRate = sampleRate;
    if (this.stopped) return; // kept for the waveform, not played
    if (!this.context) {
      this.context = new AudioContext({ sampleRate });
      this.nextTime = this.startTime = this.context.currentTime + 0.1;
    }
    const buffer = this.context.createBuffer(1, floats.length, sampleRate);
    buffer.copyToChannel(floats, 0);
    const source = this.context.createBufferSource();
    source.buffer = buffer;
    source.connect(this.context.destination);
    if (this.nextTime < this.context.currentTime + 0.05) {  // an underrun: the gap moves the start
      this.startTime += this.context.currentTime + 0.05 - this.nextTime;
      this.nextTime = this.context.currentTime + 0.05;
    }
    source.start(this.nextTime);
    this.nextTime += buffer.duration;
    this.stats.chunksScheduled += 1;
    if (this.stats.firstChunkAt === null) this.stats.firstChunkAt = performance.now();
  }

  get duration() { return this.samples.reduce((n, s) => n + s.length, 0) / this.sampleRate; }

  get position() {
    if (!this.context) return 0;
    return Math.min(Math.max(0, this.context.currentTime - this.startTime), this.nextTime - this.startTime);
  }

  get paused() { return !this.context || this.context.state !== "running"; }

  get ended() { return this.stopped || (this.context !== null && this.context.currentTime >= this.nextTime); }

  pause() { return this.context ? this.context.suspend() : Promise.resolve(); }

  resume() { return this.context ? this.context.resume() : Promise.resolve(); }

  stop() {
    this.stopped = true;
    if (this.context) this.context.close();
    this.context = null;
  }

  allSamples() {
    const out = new Float32Array(this.samples.reduce((n, s) => n + s.length, 0));
    let offset = 0;
    for (const part of this.samples) { out.set(part, offset); offset += part.length; }
    return out;
  }
}

const clock = (s) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, "0")}`;

// The controls: #play-pause, #stop, #seek, #play-time around one hidden <audio>.
export class OnePlayer {
  constructor({ audio, toggle, stop, seek, time }) {
    Object.assign(this, { audio, toggleButton: toggle, stopButton: stop, seek, time });
    this.mode = "idle";
    this.live = null;
    toggle.addEventListener("click", () => this.toggle());
    stop.addEventListener("click", () => this.stop());
    seek.addEventListener("input", () => { if (this.mode === "file") this.audio.currentTime = Number(seek.value); });
    for (const event of ["play", "pause", "timeupdate", "ended", "loadedmetadata"]) {
      audio.addEventListener(event, () => this.render());
    }
    this.timer = setInterval(() => this.tick(), 200);
  }

  startLive(stream) {
    this.reset();
    this.mode = "live";
    this.live = stream;
    this.render();
  }

  // The finished file: played now (autoplay, for a cache hit) or once live playback has ended.
  finish(url, { autoplay = false } = {}) {
    this.audio.src = url;
    this.fileReady = true;
    if (this.mode !== "live" || this.live.ended || !this.live.context) this.toFile(0, autoplay);
    this.render();
  }

  toFile(at, play) {
    if (this.live) this.live.stop();
    this.mode = "file";
    const start = () => { this.audio.currentTime = at; if (play) this.audio.play().catch(() => this.render()); };
    if (this.audio.readyState >= 1) start(); else this.audio.addEventListener("loadedmetadata", start, { once: true });
    this.render();
  }

  async toggle() {
    if (this.mode === "live") {
      if (this.live.paused) await this.live.resume();
      else if (this.fileReady) this.toFile(this.live.position, false); // paused: hand over to the file
      else await this.live.pause();
    } else if (this.mode === "file") {
      if (this.audio.paused) await this.audio.play().catch(() => {});
      else this.audio.pause();
    }
    this.render();
  }

  stop() {
    if (this.mode === "live") {
      this.live.stop();
      if (this.fileReady) this.toFile(0, false);
    } else if (this.mode === "file") {
      this.audio.pause();
      this.audio.currentTime = 0;
    }
    this.render();
  }

  reset() {
    if (this.live) this.live.stop();
    this.live = null;
    this.fileReady = false;
    this.audio.pause();
    this.audio.removeAttribute("src");
    this.mode = "idle";
    this.render();
  }

  get playing() {
    if (this.mode === "live") return !this.live.paused && !this.live.ended;
    return this.mode === "file" && !this.audio.paused && !this.audio.ended;
  }

  get position() { return this.mode === "live" ? this.live.position : this.audio.currentTime || 0; }

  tick() {
    if (this.mode === "live" && this.fileReady && this.live.ended) this.toFile(0, false);
    if (this.mode === "live") this.render();
  }

  render() {
    const live = this.mode === "live";
    const total = live ? this.live.duration : this.audio.duration || 0;
    this.toggleButton.disabled = this.stopButton.disabled = this.mode === "idle" || (live && this.live.stopped);
    this.toggleButton.textContent = this.playing ? "Pause" : "Play";
    this.toggleButton.setAttribute("aria-pressed", String(this.playing));
    this.seek.disabled = this.mode !== "file";
    this.seek.max = String(total || 0);
    this.seek.value = String(this.position);
    this.time.textContent = `${clock(this.position)} / ${clock(total)}${live && !this.fileReady ? " (still arriving)" : ""}`;
  }
}

export function drawWaveform(canvas, samples, position = null) {
  const context = canvas.getContext("2d");
  const { width, height } = canvas;
  context.clearRect(0, 0, width, height);
  const step = Math.max(1, Math.floor(samples.length / width));
  for (let x = 0; x < width; x++) {
    let peak = 0;
    for (let i = x * step; i < Math.min(samples.length, (x + 1) * step); i++) peak = Math.max(peak, Math.abs(samples[i]));
    const bar = Math.max(1, peak * height);
    context.fillStyle = position !== null && x / width < position ? "#173a85" : "#2457c5";
    context.fillRect(x, (height - bar) / 2, 1, bar);
  }
}

export async function samplesFromUrl(url) {
  const data = await (await fetch(url)).arrayBuffer();
  const context = new OfflineAudioContext(1, 1, 24000);
  const buffer = await context.decodeAudioData(data);
  return buffer.getChannelData(0);
}
