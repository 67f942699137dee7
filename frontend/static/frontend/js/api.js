// Small fetch helpers: JSON in and out, CSRF header for the session, errors as readable messages.

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

const PLAIN = {
  429: "Too many requests right now; wait a moment and try again.",
  503: "The service is busy or restarting; try again in a few seconds.",
  504: "The server took too long to answer; the job may still finish: see History.",
};

export class ApiError extends Error {
  // The server says "temperature: Ensure this value…"; people read the field's label instead.
  constructor(status, body) {
    const error = (body && body.error) || {};
    const field = error.field || null;
    let message = error.message || PLAIN[status] || `The server answered ${status}.`;
    if (field && message.startsWith(`${field}: `)) message = message.slice(field.length + 2);
    super(field ? `${fieldLabel(field)}: ${message}` : message);
    this.status = status;
    this.code = error.code || "error";
    this.field = field;
    this.detail = message;
  }
}

// A form field's visible label ("Temperature (0.1–1.5)"), or its name in words when none is on the page.
export function fieldLabel(name) {
  const input = document.getElementsByName(name)[0];
  const label = input && (input.labels?.[0] || document.querySelector(`label[for="${input.id}"]`));
  if (label) return label.textContent.trim();
  const words = name.replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

// The error in words next to its field (and announced), the field marked invalid and focused.
export function showFieldError(error) {
  const input = error.field && document.getElementsByName(error.field)[0];
  if (!input) return false;
  const id = `${input.name}-error`;
  let note = document.getElementById(id);
  if (!note) {
    note = el("small", { id, class: "error field-error", role: "alert" });
    input.insertAdjacentElement("afterend", note);
  }
  note.textContent = error.detail || error.message;
  input.setAttribute("aria-invalid", "true");
  input.setAttribute("aria-describedby", id);
  input.closest("details")?.setAttribute("open", "");
  input.focus();
  return true;
}

export function clearFieldErrors(root) {
  for (const note of root.querySelectorAll(".field-error")) note.remove();
  for (const input of root.querySelectorAll("[aria-invalid]")) {
    input.removeAttribute("aria-invalid");
    input.removeAttribute("aria-describedby");
  }
}

export async function api(method, url, body) {
  const options = { method, headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
                    credentials: "same-origin" };
  if (body instanceof FormData) {
    options.body = body;
  } else if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, options);
  } catch {
    throw new Error("The server cannot be reached; check the connection and try again.");
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export function showError(element, error) {
  element.textContent = error instanceof Error ? error.message : String(error);
  element.hidden = false;
}

export function clearError(element) {
  element.textContent = "";
  element.hidden = true;
}

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}
