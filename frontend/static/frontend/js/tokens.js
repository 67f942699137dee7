// API tokens: create (the secret is shown once, with a copy button), list, revoke after a confirmation.
import { api, el, showError, clearError } from "./api.js";

const $ = (id) => document.getElementById(id);
let shownTokenId = null;

async function refresh() {
  const tokens = await api("GET", "/api/v1/tokens");
  $("token-list").replaceChildren(...tokens.map((t) => el("li", { "data-token-id": String(t.id) },
    el("strong", {}, t.name), ` ${t.prefix}… · created ${new Date(t.created_at).toLocaleDateString()}`,
    t.last_used_at ? ` · last used ${new Date(t.last_used_at).toLocaleString()}` : " · never used",
    t.is_active ? el("button", { type: "button", class: "danger", onclick: () => revoke(t) }, "Revoke") : " · revoked")));
}

async function revoke(token) {
  if (!confirm(`Revoke the token “${token.name}”? Programs that use it stop working at once.`)) return;
  try {
    await api("DELETE", `/api/v1/tokens/${token.id}`);
    if (token.id === shownTokenId) hideSecret();  // a revoked secret is of no use on screen
    await refresh();
  } catch (e) { showError($("token-error"), e); }
}

function hideSecret() {
  $("new-token").textContent = "";
  $("new-token-box").hidden = true;
  shownTokenId = null;
}

async function copySecret() {
  const secret = $("new-token").textContent;
  try {
    await navigator.clipboard.writeText(secret);
    $("copy-status").textContent = "Copied.";
  } catch {
    const range = document.createRange();  // no clipboard permission: select it for Ctrl+C
    range.selectNodeContents($("new-token"));
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    $("copy-status").textContent = "Selected: press Ctrl+C (⌘C) to copy.";
  }
}

$("copy-token").addEventListener("click", copySecret);
$("token-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  clearError($("token-error"));
  try {
    const created = await api("POST", "/api/v1/tokens", { name: $("token-name").value });
    $("new-token").textContent = created.token;
    $("copy-status").textContent = "";
    $("new-token-box").hidden = false;
    shownTokenId = created.id;
    $("token-form").reset();
    await refresh();
  } catch (e) { showError($("token-error"), e); }
});
refresh().catch((e) => showError($("token-error"), e));
