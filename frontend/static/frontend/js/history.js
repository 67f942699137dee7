// History: my syntheses, replay, run again with the same settings, delete.
import { api, el, showError } from "./api.js";

const $ = (id) => document.getElementById(id);

function row(job) {
  const error = el("p", { class: "error", role: "alert", hidden: "" });
  const item = el("li", { class: "job" },
    el("p", {}, el("strong", {}, job.status), job.cache_hit ? " · from cache" : "", ` · ${new Date(job.created_at).toLocaleString()}`),
    el("p", {}, job.text.length > 160 ? `${job.text.slice(0, 160)}…` : job.text));
  if (job.audio_urls.mp3) item.append(el("audio", { controls: "", preload: "none", src: job.audio_urls.mp3 }));
  if (job.error) item.append(el("p", { class: "error" }, job.error.message));
  item.append(
    el("button", { type: "button", onclick: () => again(job, error) }, "Run again"),
    el("button", { type: "button", class: "danger", onclick: () => remove(job, error) }, "Delete"), error);
  return item;
}

async function again(job, error) {
  const { format, sample_rate, seed, strategy, temperature, top_p, top_k, speed, language, use_kv_cache, use_prompt_cache } = job.params;
  try {
    await api("POST", "/api/v1/syntheses", { text: job.text, format, sample_rate, seed, strategy, temperature, top_p,
      top_k, speed, language, use_kv_cache, use_prompt_cache, ...(job.voice ? { voice: job.voice } : {}) });
    await refresh();
  } catch (e) { showError(error, e); }
}

async function remove(job, error) {
  try { await api("DELETE", `/api/v1/syntheses/${job.id}`); await refresh(); } catch (e) { showError(error, e); }
}

async function refresh() {
  const data = await api("GET", "/api/v1/syntheses?limit=50");
  $("job-list").replaceChildren(...data.results.map(row));
  $("empty").hidden = data.results.length > 0;
  if (data.results.some((j) => j.status === "queued" || j.status === "running")) setTimeout(refresh, 2000);
}

refresh().catch((e) => showError($("history-error"), e));
