// The synthesis studio: submit, follow the job over a websocket, hear it while it is generated.
import { api, clearError, clearFieldErrors, showError, showFieldError } from "./api.js";
import { downloadName } from "./names.js";
import { Pickers } from "./picker.js";
import { OnePlayer, StreamPlayer, drawWaveform, samplesFromUrl } from "./player.js";
import { ProgressView, spokenSeconds } from "./progress.js";

const $ = (id) => document.getElementById(id);
const STAGES = { queued: "Waiting in the queue", started: "Starting", synthesizing: "Generating speech",
                 loading: "Loading the engine", transcribing: "Transcribing the reference" };
const PARAMS = ["strategy", "temperature", "top_p", "top_k", "seed", "speed", "sample_rate"];
const player = new OnePlayer({ audio: $("result-audio"), toggle: $("play-pause"), stop: $("stop"),
                               seek: $("seek"), time: $("play-time") });
const progress = new ProgressView({ bar: $("progress"), stage: $("stage"), elapsed: $("elapsed"),
                                    section: $("progress-section") });
let engineReady = true;
const pickers = new Pickers((ready, message) => {
  engineReady = ready;
  $("submit").disabled = !ready || $("cancel").hidden === false;
  $("submit").title = ready ? "" : message;
});
window.__glmtts = { chunksScheduled: 0, firstChunkAt: null, doneAt: null, cacheHit: null, jobId: null,
                    playing: () => player.playing, position: () => player.position };

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
                 use_kv_cache: form.get("use_kv_cache") === "on", use_prompt_cache: form.get("use_prompt_cache") === "on",
                 voice_match: form.get("voice_match") === "on" };
  if (form.get("voice")) body.voice_id = form.get("voice");
  if (form.get("engine")) body.engine = form.get("engine");
  for (const name of ["temperature", "top_p", "top_k", "speed"]) {
    if (form.get(name) !== "") body[name] = Number(form.get(name));
  }
  return body;
}

// The form as a job had it, so that what is shown is what runs ("run again" lands here).
function fillForm(job) {
  $("text").value = job.text;
  $("engine").value = job.engine;
  const preset = job.voice ? pickers.presetVoice(job.voice, job.engine) : null;
  $("voice").value = job.voice_id || preset?.id || "";
  for (const name of PARAMS) if (job.params[name] !== undefined) $(name).value = String(job.params[name]);
  document.getElementsByName("use_kv_cache")[0].checked = job.params.use_kv_cache !== false;
  document.getElementsByName("use_prompt_cache")[0].checked = job.params.use_prompt_cache !== false;
  document.getElementsByName("voice_match")[0].checked = job.params.voice_match !== false;
  pickers.relabel();
  pickers.describe();
  updateCount();
}

async function showResult(job, live) {
  window.__glmtts.doneAt = performance.now();
  window.__glmtts.cacheHit = job.cache_hit;
  progress.stop(1, job.cache_hit ? "Served from the cache" : "Done");
  $("cache-note").hidden = !job.cache_hit;
  $("result-voice").textContent = job.voice_note || job.voice_name || "default voice";
  const urls = job.audio_urls;
  for (const ext of ["wav", "mp3"]) {
    $(`download-${ext}`).href = urls[ext] || "#";
    $(`download-${ext}`).download = downloadName(job, ext);
  }
  $("result").hidden = false;
  player.finish(urls.wav || urls.mp3, { autoplay: !live });
  const samples = live && live.samples.length ? live.allSamples() : await samplesFromUrl(urls.mp3 || urls.wav);
  drawWaveform($("waveform"), samples);
  $("duration").textContent = `${Number(job.duration ?? job.audio_duration_s).toFixed(1)} s`;
}

function expectedSeconds(text) {
  const rtf = pickers.engine()?.rtf;
  return rtf ? spokenSeconds(text) * rtf : null;
}

function follow(job) {
  const live = new StreamPlayer();
  player.startLive(live);
  window.__glmtts.player = live.stats;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}${job.websocket_url}`);
  socket.binaryType = "arraybuffer";
  let rate = 24000;
  let lastSeq = -1;
  socket.onopen = () => socket.send(JSON.stringify({ type: "resume", after_seq: lastSeq }));
  socket.onmessage = async (message) => {
    if (message.data instanceof ArrayBuffer) {
      live.push(message.data, rate);
      window.__glmtts.chunksScheduled = live.stats.chunksScheduled;
      window.__glmtts.firstChunkAt = live.stats.firstChunkAt;
      return;
    }
    const frame = JSON.parse(message.data);
    if (frame.type === "tts.queued") progress.set(0, `${STAGES.queued}: position ${frame.position}`);
    else if (frame.type === "tts.started") progress.set(0.02, STAGES.started);
    else if (frame.type === "tts.progress") progress.sentences(STAGES[frame.stage] || frame.stage, frame.segment, frame.segments, frame.fraction);
    else if (frame.type === "tts.chunk") { rate = frame.sample_rate; lastSeq = frame.seq; }
    else if (frame.type === "tts.done") {
      const done = { ...job, audio_urls: frame.audio_urls, duration: frame.duration, cache_hit: frame.cache_hit,
                     voice_note: frame.voice };
      await showResult(done, live);
      finish(socket);
    }
    else if (frame.type === "tts.failed") { progress.stop(0, "Failed"); showError($("studio-error"), frame.message || "The synthesis failed."); finish(socket); }
    else if (frame.type === "tts.cancelled") { progress.stop(0, "Cancelled"); player.stop(); finish(socket); }
  };
  socket.onerror = () => showError($("studio-error"), "Lost the live connection; the result will still appear in History.");
  $("cancel").onclick = () => socket.send(JSON.stringify({ type: "cancel" }));
  $("cancel").hidden = false;
}

function finish(socket) {
  if (socket) socket.close(1000);
  $("submit").disabled = !engineReady;
  $("cancel").hidden = true;
  loadQuota().catch(() => {});
}

function begin(job) {
  window.__glmtts.jobId = job.id;
  if (job.status === "done") return showResult(job, null).then(() => finish());
  if (job.status === "failed" || job.status === "cancelled") {
    progress.stop(0, job.status === "failed" ? "Failed" : "Cancelled");
    if (job.error) showError($("studio-error"), job.error.message);
    return finish();
  }
  progress.start(STAGES.queued, expectedSeconds(job.text));
  return follow(job);
}

async function submit(event) {
  event.preventDefault();
  clearError($("studio-error"));
  clearFieldErrors($("studio-form"));
  $("result").hidden = true;
  $("submit").disabled = true;
  player.reset();
  progress.set(0, "Sending…");
  $("elapsed").textContent = "";
  Object.assign(window.__glmtts, { chunksScheduled: 0, firstChunkAt: null, doneAt: null, cacheHit: null });
  try {
    await begin(await api("POST", "/api/v1/syntheses", requestBody()));
  } catch (error) {
    progress.stop(0, "Nothing running.");
    if (!showFieldError(error)) showError($("studio-error"), error);
    finish();
  }
}

// /?job=<id>: show that job (History's "run again" opens its new job here).
async function openJob(jobId) {
  const job = await api("GET", `/api/v1/syntheses/${encodeURIComponent(jobId)}`);
  fillForm(job);
  await begin(job);
}

$("text").addEventListener("input", updateCount);
$("studio-form").addEventListener("submit", submit);
updateCount();
const wanted = new URLSearchParams(location.search).get("job");
pickers.load()
  .then(() => (wanted ? openJob(wanted) : null))
  .catch((error) => showError($("studio-error"), error));
loadQuota().catch(() => {});
