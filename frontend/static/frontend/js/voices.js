// The voice library: upload (with checks before sending) or record, list, play, edit, share, switch the
// voice match, delete.
import { api, clearError, el, showError } from "./api.js";
import { cloningNote } from "./voice-notes.js";

const $ = (id) => document.getElementById(id);
const MAX_BYTES = 10 * 1024 * 1024;
let recorded = null;
let engines = [];

const MIC_ERRORS = {
  NotAllowedError: "The browser was not allowed to use the microphone. Allow it for this site (the icon in the address bar) and try again.",
  SecurityError: "The browser was not allowed to use the microphone. Allow it for this site (the icon in the address bar) and try again.",
  NotFoundError: "No microphone was found. Plug one in, or upload a recording instead.",
  NotReadableError: "The microphone is in use by another program, or it could not be started.",
  OverconstrainedError: "No microphone here can record audio the way the page asked.",
};

function microphoneError(error) {
  if (!navigator.mediaDevices) return new Error("This browser cannot record here (recording needs HTTPS). Upload a file instead.");
  return new Error(MIC_ERRORS[error?.name] || "The microphone could not be started. Upload a recording instead.");
}

async function clipDuration(blob) {
  const context = new OfflineAudioContext(1, 1, 16000);
  const buffer = await context.decodeAudioData(await blob.arrayBuffer());
  return buffer.duration;
}

function wavFromBuffer(buffer) {
  // Browsers record webm/ogg; we upload PCM16 WAV, which the server reads everywhere.
  const samples = buffer.getChannelData(0);
  const view = new DataView(new ArrayBuffer(44 + samples.length * 2));
  const text = (offset, s) => [...s].forEach((c, i) => view.setUint8(offset + i, c.charCodeAt(0)));
  text(0, "RIFF"); view.setUint32(4, 36 + samples.length * 2, true); text(8, "WAVEfmt ");
  view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
  view.setUint32(24, buffer.sampleRate, true); view.setUint32(28, buffer.sampleRate * 2, true);
  view.setUint16(32, 2, true); view.setUint16(34, 16, true); text(36, "data");
  view.setUint32(40, samples.length * 2, true);
  samples.forEach((v, i) => view.setInt16(44 + i * 2, Math.max(-1, Math.min(1, v)) * 32767, true));
  return new Blob([view], { type: "audio/wav" });
}

async function checkClip(blob) {
  if (blob.size > MAX_BYTES) throw new Error("The file is larger than 10 MB.");
  let seconds;
  try { seconds = await clipDuration(blob); } catch { throw new Error("This file is not audio the browser can read."); }
  if (seconds < 2) throw new Error(`The clip is ${seconds.toFixed(1)} s; it needs at least 2 s.`);
  if (seconds > 30) throw new Error(`The clip is ${seconds.toFixed(1)} s; at most 30 s.`);
  return seconds;
}

async function upload(event) {
  event.preventDefault();
  const error = $("upload-error");
  clearError(error);
  const form = new FormData($("upload-form"));
  const file = recorded || form.get("audio");
  if (!file || !file.size) { showError(error, "Choose an audio file or record one."); return; }
  try {
    await checkClip(file);
    form.set("audio", file, recorded ? "recording.wav" : file.name);
    if (!form.get("prompt_text")) form.delete("prompt_text");
    await api("POST", "/api/v1/voices", form);
    $("upload-form").reset();
    recorded = null;
    $("upload-status").textContent = "Uploaded.";
    await refresh();
  } catch (failure) {
    showError(error, failure);
  }
}

async function record() {
  const button = $("record");
  if (button.dataset.recording) { button.recorder.stop(); return; }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (error) {
    throw microphoneError(error);
  }
  const recorder = new MediaRecorder(stream);
  const parts = [];
  recorder.ondataavailable = (e) => parts.push(e.data);
  recorder.onstop = async () => {
    stream.getTracks().forEach((t) => t.stop());
    const context = new AudioContext();
    const buffer = await context.decodeAudioData(await new Blob(parts).arrayBuffer());
    recorded = wavFromBuffer(buffer);
    delete button.dataset.recording;
    button.textContent = "Record from microphone";
    $("upload-status").textContent = `Recorded ${buffer.duration.toFixed(1)} s; press Upload.`;
  };
  button.recorder = recorder;
  button.dataset.recording = "1";
  button.textContent = "Stop recording";
  recorder.start();
}

function voiceRow(voice) {
  const transcript = el("textarea", { rows: "2", "aria-label": `Transcript of ${voice.name}` });
  transcript.value = voice.prompt_text;
  transcript.disabled = !voice.mine;
  const state = voice.transcript_state === "transcribing" ? "Transcribing…" : (voice.prompt_source || "");
  const row = el("li", { class: "voice", "data-voice-id": voice.id },
    el("strong", {}, voice.name), " ",
    el("span", { class: "muted" }, voice.is_preset ? " · preset" : ` · ${voice.duration_s?.toFixed(1)} s · ${voice.visibility}`));
  if (voice.audio_url) row.append(el("audio", { controls: "", preload: "none", src: voice.audio_url }));
  for (const w of voice.warnings) row.append(el("p", { class: "warning" }, w));
  for (const engine of engines) {
    const note = cloningNote(voice, engine, engines);
    if (!voice.is_preset && note.long) row.append(el("p", { class: note.cloned === false ? "warning" : "muted" }, note.long));
  }
  row.append(el("p", {}, el("a", { class: "use", href: `/?voice=${voice.id}` }, `Use “${voice.name}” in the studio`)));
  if (!voice.mine) return row;
  const error = el("p", { class: "error", role: "alert", hidden: "" });
  const share = el("select", { "aria-label": `Who can see ${voice.name}` },
    ...["private", "link", "public"].map((v) => el("option", { value: v }, v)));
  share.value = voice.visibility;
  const transcriptId = `transcript-${voice.id}`;
  transcript.id = transcriptId;
  row.append(el("label", { for: transcriptId }, `Transcript (${state})`), transcript,
    el("button", { type: "button", onclick: () => save(voice, { prompt_text: transcript.value }, error) }, "Save transcript"),
    el("button", { type: "button", onclick: () => api("POST", `/api/v1/voices/${voice.id}/transcribe`).then(refresh) }, "Transcribe again"),
    share,
    el("button", { type: "button", onclick: () => save(voice, { visibility: share.value }, error) }, "Save sharing"),
    el("button", { type: "button", class: "danger", onclick: () => remove(voice, error) }, "Delete"), error);
  const matcher = engines.find((e) => !e.clones_voices);
  if (matcher && !voice.is_preset) row.append(matchSwitch(voice, matcher, error));
  if (voice.share_url) row.append(el("p", {}, "Share link: ", el("code", {}, location.origin + voice.share_url)));
  return row;
}

function matchSwitch(voice, engine, error) {
  // The engine that cannot clone moves its preset towards this clip (pitch, formants, EQ) unless told not to.
  const id = `match-${voice.id}`;
  const box = el("input", { type: "checkbox", id, class: "voice-match" });
  box.checked = voice.voice_match !== false;
  box.addEventListener("change", () => save(voice, { voice_match: box.checked }, error));
  return el("p", {}, box, " ",
    el("label", { for: id }, `Match ${engine.name}'s preset to this voice (pitch, formants, tone colour)`));
}

async function save(voice, fields, error) {
  try { await api("PATCH", `/api/v1/voices/${voice.id}`, fields); await refresh(); } catch (e) { showError(error, e); }
}

async function remove(voice, error) {
  if (!confirm(`Delete the voice “${voice.name}”?`)) return;
  try { await api("DELETE", `/api/v1/voices/${voice.id}`); await refresh(); } catch (e) { showError(error, e); }
}

async function refresh() {
  const data = await api("GET", `/api/v1/voices?limit=200&q=${encodeURIComponent($("search").value)}`);
  $("voice-list").replaceChildren(...data.results.map(voiceRow));
  if (data.results.some((v) => v.transcript_state === "transcribing")) setTimeout(refresh, 2000);
}

$("upload-form").addEventListener("submit", upload);
$("record").addEventListener("click", () => record().catch((e) => showError($("upload-error"), e)));
$("search").addEventListener("input", () => refresh());
api("GET", "/api/v1/engines").then((list) => { engines = list; }).catch(() => {})
  .then(refresh).catch((e) => showError($("upload-error"), e));
