// The synthesis studio: submit, follow the job over a websocket, play while it is generated.
import { api, clearError, el, showError } from "./api.js";
import { StreamPlayer, drawWaveform, samplesFromUrl } from "./player.js";

const $ = (id) => document.getElementById(id);
const STAGES = { queued: "Waiting in the queue", started: "Starting", synthesizing: "Generating speech" };
window.__glmtts = { chunksScheduled: 0, firstChunkAt: null, doneAt: null, cacheHit: null, jobId: null };

async function loadVoices() {
  const select = $("voice");
  const data = await api("GET", "/api/v1/voices?limit=200");
  for (const voice of data.results) {
    const label = voice.is_preset ? `${voice.name} (preset)` : `${voice.name}${voice.mine ? "" : " (shared)"}`;
    select.append(el("option", { value: voice.id }, label));
  }
  const wanted = new URLSearchParams(location.search).get("voice");
  if (wanted) select.value = wanted;
}

async function loadQuota() {
  const me = await api("GET", "/api/v1/me");
  const left = me.characters_left_today;
  $("quota").textContent = left === null ? "" : `${left.toLocaleString()} characters left today`;
}

function updateCount() {
  $("char-count").textContent = `${$("text").value.length} / 5000 characters`;
}

function requestBody() {
  const form = new FormData($("studio-form"));
  const body = { text: form.get("text"), strategy: form.get("strategy"), format: "wav",
                 sample_rate: Number(form.get("sample_rate")), seed: Number(form.get("seed") || 0),
                 use_kv_cache: form.get("use_kv_cache") === "on", use_prompt_cache: form.get("use_prompt_cache") === "on" };
  if (form.get("voice")) body.voice_id = form.get("voice");
  if (form.get("engine")) body.engine = form.get("engine");
  for (const name of ["temperature", "top_p", "top_k", "speed"]) {
    if (form.get(name) !== "") body[name] = Number(form.get(name));
  }
  return body;
}

function setProgress(fraction, words) {
  const bar = $("progress");
  bar.value = fraction;
  bar.setAttribute("aria-valuenow", String(Math.round(fraction * 100)));
  $("stage").textContent = words;
}

async function showResult(job, player) {
  window.__glmtts.doneAt = performance.now();
  window.__glmtts.cacheHit = job.cache_hit;
  setProgress(1, job.cache_hit ? "Served from the cache" : "Done");
  $("cache-note").hidden = !job.cache_hit;
  const urls = job.audio_urls;
  $("result-audio").src = urls.wav || urls.mp3;
  $("download-wav").href = urls.wav || "#";
  $("download-mp3").href = urls.mp3 || "#";
  $("result").hidden = false;
  const samples = player && player.samples.length ? player.allSamples() : await samplesFromUrl(urls.mp3 || urls.wav);
  drawWaveform($("waveform"), samples);
  $("duration").textContent = `${Number(job.duration ?? job.audio_duration_s).toFixed(1)} s`;
}

function follow(job) {
  const player = new StreamPlayer();
  window.__glmtts.player = player.stats;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}${job.websocket_url}`);
  socket.binaryType = "arraybuffer";
  let rate = 24000;
  socket.onopen = () => socket.send(JSON.stringify({ type: "resume", after_seq: -1 }));
  socket.onmessage = async (message) => {
    if (message.data instanceof ArrayBuffer) {
      player.push(message.data, rate);
      window.__glmtts.chunksScheduled = player.stats.chunksScheduled;
      window.__glmtts.firstChunkAt = player.stats.firstChunkAt;
      return;
    }
    const frame = JSON.parse(message.data);
    if (frame.type === "tts.queued") setProgress(0, `${STAGES.queued} (position ${frame.position})`);
    else if (frame.type === "tts.started") setProgress(0.02, STAGES.started);
    else if (frame.type === "tts.progress") setProgress(frame.fraction, `${STAGES[frame.stage] || frame.stage}: sentence ${frame.segment} of ${frame.segments}`);
    else if (frame.type === "tts.chunk") rate = frame.sample_rate;
    else if (frame.type === "tts.done") { await showResult(frame, player); finish(); }
    else if (frame.type === "tts.failed") { showError($("studio-error"), frame.message || "The synthesis failed."); finish(); }
    else if (frame.type === "tts.cancelled") { setProgress(0, "Cancelled"); finish(); }
  };
  socket.onerror = () => showError($("studio-error"), "Lost the live connection; the result will still appear in History.");
  $("cancel").onclick = () => socket.send(JSON.stringify({ type: "cancel" }));
  $("cancel").hidden = false;
}

function finish() {
  $("submit").disabled = false;
  $("cancel").hidden = true;
  loadQuota().catch(() => {});
}

async function submit(event) {
  event.preventDefault();
  clearError($("studio-error"));
  $("result").hidden = true;
  $("submit").disabled = true;
  Object.assign(window.__glmtts, { chunksScheduled: 0, firstChunkAt: null, doneAt: null, cacheHit: null });
  try {
    const job = await api("POST", "/api/v1/syntheses", requestBody());
    window.__glmtts.jobId = job.id;
    if (job.status === "done") { await showResult(job, null); finish(); }
    else { setProgress(0, STAGES.queued); follow(job); }
  } catch (error) {
    showError($("studio-error"), error);
    if (error.field) document.getElementsByName(error.field)[0]?.focus();
    finish();
  }
}

$("text").addEventListener("input", updateCount);
$("studio-form").addEventListener("submit", submit);
updateCount();
loadVoices().catch((error) => showError($("studio-error"), error));
loadQuota().catch(() => {});
