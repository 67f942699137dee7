// History: my syntheses with voice, engine, duration and settings; play, download, run again, delete.
import { api, el, showError } from "./api.js";
import { downloadName } from "./names.js";

const $ = (id) => document.getElementById(id);
const RERUN = ["format", "sample_rate", "seed", "strategy", "temperature", "top_p", "top_k", "speed", "language",
               "use_kv_cache", "use_prompt_cache"];
let refreshTimer = null;

function voiceLabel(job) {
  const name = job.voice_name || job.voice || "Default voice";
  return job.voice_note && job.voice_note !== name ? `${name} — ${job.voice_note}` : name;
}

function settings(job) {
  const p = job.params;
  return `${p.strategy}, temperature ${p.temperature}, top-p ${p.top_p}, top-k ${p.top_k}, seed ${p.seed}, speed ${p.speed}`;
}

function row(job) {
  const error = el("p", { class: "error", role: "alert", hidden: "" });
  const duration = job.audio_duration_s == null ? "" : `${job.audio_duration_s.toFixed(1)} s`;
  const item = el("li", { class: "job", "data-job-id": job.id },
    el("p", {}, el("strong", {}, job.status), job.cache_hit ? " · from cache" : "",
       ` · ${new Date(job.created_at).toLocaleString()}`),
    el("p", {}, job.text.length > 160 ? `${job.text.slice(0, 160)}…` : job.text),
    el("p", { class: "job-meta" }, el("span", { class: "voice" }, `Voice: ${voiceLabel(job)}`),
       el("span", {}, `Engine: ${job.engine}`), duration ? el("span", {}, `Duration: ${duration}`) : "",
       el("span", {}, settings(job))));
  if (job.audio_urls.mp3 || job.audio_urls.wav) {
    item.append(el("audio", { controls: "", preload: "none", src: job.audio_urls.mp3 || job.audio_urls.wav,
                              "aria-label": `Play: ${job.text.slice(0, 40)}` }));
  }
  if (job.error) item.append(el("p", { class: "error" }, job.error.message));
  const actions = el("p", { class: "job-actions" });
  for (const ext of ["mp3", "wav"]) {
    if (job.audio_urls[ext]) actions.append(el("a", { href: job.audio_urls[ext], download: downloadName(job, ext) }, `Download ${ext.toUpperCase()}`));
  }
  actions.append(
    el("button", { type: "button", class: "again", onclick: () => again(job, error) }, "Run again"),
    el("button", { type: "button", class: "danger", onclick: () => remove(job, error) }, "Delete"));
  item.append(actions, error);
  return item;
}

// The same request again (voice, engine, every parameter): a cache hit when nothing changed. It opens
// in the studio, which plays it and shows its place in the queue.
async function again(job, error) {
  const body = { text: job.text, engine: job.engine };
  for (const name of RERUN) if (job.params[name] !== undefined) body[name] = job.params[name];
  if (job.voice_id) body.voice_id = job.voice_id;
  else if (job.voice) body.voice = job.voice;
  try {
    const rerun = await api("POST", "/api/v1/syntheses", body);
    location.assign(`/?job=${rerun.id}`);
  } catch (e) { showError(error, e); }
}

async function remove(job, error) {
  if (!confirm(`Delete this synthesis (“${job.text.slice(0, 60)}”)? Its audio links stop working.`)) return;
  try { await api("DELETE", `/api/v1/syntheses/${job.id}`); await refresh(); } catch (e) { showError(error, e); }
}

function query() {
  const params = new URLSearchParams({ limit: "50" });
  for (const name of ["status", "engine", "cache_hit"]) if ($(`filter-${name}`).value) params.set(name, $(`filter-${name}`).value);
  return params;
}

async function refresh() {
  clearTimeout(refreshTimer);
  const data = await api("GET", `/api/v1/syntheses?${query()}`);
  $("job-list").replaceChildren(...data.results.map(row));
  $("empty").hidden = data.results.length > 0;
  $("count").textContent = `${data.count} synthes${data.count === 1 ? "is" : "es"}`;
  if (data.results.some((j) => j.status === "queued" || j.status === "running")) refreshTimer = setTimeout(refresh, 2000);
}

for (const name of ["status", "engine", "cache_hit"]) $(`filter-${name}`).addEventListener("change", () => refresh().catch((e) => showError($("history-error"), e)));
refresh().catch((e) => showError($("history-error"), e));
