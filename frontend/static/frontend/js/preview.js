// Preset previews: a short sample of each preset voice, made once by a worker (GET /api/v1/previews).
// One button beside the voice picker plays the chosen preset's sample, or stops it.
import { api } from "./api.js";

export class PresetPreview {
  constructor(button) {
    this.button = button;
    this.samples = new Map(); // "engine/preset" -> preview
    this.audio = new Audio();
    this.current = null;
    this.audio.addEventListener("ended", () => this.showIdle());
    this.audio.addEventListener("error", () => this.showIdle());
    button.addEventListener("click", () => this.toggle());
  }

  async load() {
    const data = await api("GET", "/api/v1/previews");
    this.samples = new Map(data.previews.map((p) => [`${p.engine}/${p.voice}`, p]));
  }

  // The chosen voice's sample, if it is a preset of the chosen engine that has one.
  choose(voice, engineId) {
    const sample = voice?.is_preset && voice.engine === engineId ? this.samples.get(`${engineId}/${voice.preset_name}`)
      : null;
    if (sample?.audio_url !== this.current?.audio_url) this.stop();
    this.current = sample || null;
    this.button.hidden = !this.current;
    if (this.current) this.button.title = `“${this.current.text}” (${this.current.duration.toFixed(1)} s)`;
  }

  toggle() {
    if (!this.current) return;
    if (!this.audio.paused) { this.stop(); return; }
    this.audio.src = this.current.audio_url;
    this.audio.play().then(() => {
      this.button.textContent = "■ Stop preview";
      this.button.setAttribute("aria-pressed", "true");
    }).catch(() => this.showIdle());
  }

  stop() {
    this.audio.pause();
    this.showIdle();
  }

  showIdle() {
    this.button.textContent = "▶ Preview voice";
    this.button.setAttribute("aria-pressed", "false");
  }
}
