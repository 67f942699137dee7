// The studio's voice and engine pickers: every voice says whether it will be cloned, and an engine
// that is still loading says so (Synthesize waits for it; the rest of the page does not).
import { api, el } from "./api.js";
import { PresetPreview } from "./preview.js";
import { cloningNote } from "./voice-notes.js";

const $ = (id) => document.getElementById(id);
const WAITING = new Set(["loading", "no_worker"]);

export class Pickers {
  constructor(onReadyChange) {
    this.voices = [];
    this.engines = [];
    this.onReadyChange = onReadyChange;
    this.poll = null;
    this.preview = new PresetPreview($("voice-preview"));
    $("voice").addEventListener("change", () => this.describe());
    $("engine").addEventListener("change", () => { this.relabel(); this.describe(); });
  }

  async load() {
    await this.loadEngines();
    await this.preview.load().catch(() => {}); // no previews: the studio works without them
    await this.loadVoices();
  }

  async loadEngines() {
    const before = this.engineState();
    this.engines = await api("GET", "/api/v1/engines");
    const state = this.engineState();
    $("engine-state").textContent = state === "ready" ? "" : this.engine()?.message || "";
    $("engine-state").hidden = state === "ready";
    this.onReadyChange(!WAITING.has(state), this.engine()?.message || "");
    clearTimeout(this.poll);
    if (state !== "ready") this.poll = setTimeout(() => this.loadEngines().catch(() => {}), 3000);
    if (before !== state && before !== null && state === "ready") await this.loadVoices(); // presets appear now
  }

  async loadVoices() {
    const data = await api("GET", "/api/v1/voices?limit=200");
    this.voices = data.results;
    const select = $("voice");
    const keep = select.value || new URLSearchParams(location.search).get("voice") || "";
    select.replaceChildren(el("option", { value: "" }, "Default voice"),
      ...this.voices.map((voice) => el("option", { value: voice.id }, voice.name)));
    select.value = this.voices.some((v) => v.id === keep) ? keep : "";
    this.relabel();
    this.describe();
  }

  engine() { return this.engines.find((e) => e.engine === $("engine").value) || null; }

  engineState() { return this.engines.length ? this.engine()?.state || "no_worker" : null; }

  voice() { return this.voices.find((v) => v.id === $("voice").value) || null; }

  // Option labels carry the short note ("resembles you: Kumo (male), similarity 0.72"), for the chosen engine.
  relabel() {
    for (const option of $("voice").options) {
      const voice = this.voices.find((v) => v.id === option.value);
      if (!voice) continue;
      const note = cloningNote(voice, this.engine(), this.engines).short;
      const owner = voice.is_preset || voice.mine ? "" : ", shared";
      option.textContent = `${voice.name} (${note}${owner})`;
    }
  }

  describe() {
    this.preview.choose(this.voice(), $("engine").value);
    const note = cloningNote(this.voice(), this.engine(), this.engines);
    const line = $("voice-note");
    line.textContent = note.long;
    line.hidden = !note.long;
    line.className = note.cloned === false ? "warning" : "muted";
  }

  // A preset voice of the library that matches a job's preset name and engine, for "run again".
  presetVoice(name, engineId) {
    return this.voices.find((v) => v.is_preset && v.preset_name === name && v.engine === engineId) || null;
  }
}
