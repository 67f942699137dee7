// API tokens: create (the secret is shown once), list, revoke.
import { api, el, showError, clearError } from "./api.js";

const $ = (id) => document.getElementById(id);

async function refresh() {
  const tokens = await api("GET", "/api/v1/tokens");
  $("token-list").replaceChildren(...tokens.map((t) => el("li", {},
    el("strong", {}, t.name), ` ${t.prefix}… · created ${new Date(t.created_at).toLocaleDateString()}`,
    t.last_used_at ? ` · last used ${new Date(t.last_used_at).toLocaleString()}` : " · never used",
    t.is_active ? el("button", { type: "button", class: "danger", onclick: () => revoke(t) }, "Revoke") : " · revoked")));
}

async function revoke(token) {
  await api("DELETE", `/api/v1/tokens/${token.id}`);
  await refresh();
}

$("token-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  clearError($("token-error"));
  try {
    const created = await api("POST", "/api/v1/tokens", { name: $("token-name").value });
    $("new-token").textContent = created.token;
    $("new-token-box").hidden = false;
    $("token-form").reset();
    await refresh();
  } catch (e) { showError($("token-error"), e); }
});
refresh().catch((e) => showError($("token-error"), e));
