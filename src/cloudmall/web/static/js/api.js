// The shop's JSON API: one fetch wrapper that turns every failure into an ApiError.

import config from "../config.js";
import { clearSession, getSession } from "./store.js";

export const apiBase = String(config.apiBase || "").replace(/\/+$/, "");

/** An API failure: `code` is the server's error code, or "network" when it could not be reached. */
export class ApiError extends Error {
  constructor(status, code, message, details = {}) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.details = details || {};
    this.sessionExpired = false;
  }
}

/** Media URLs may be relative to the API (`/media/...`): resolve them against its base. */
export function mediaUrl(url) {
  if (!url) return null;
  if (/^(https?:|data:|blob:)/i.test(url)) return url;
  return `${apiBase}${url.startsWith("/") ? "" : "/"}${url}`;
}

/**
 * Call the API. Options: `body` (JSON), `form` (FormData), `query` (object), `headers`.
 * Returns `{ data, headers, status }`; throws ApiError.
 */
export async function api(method, path, { body, form, query, headers = {} } = {}) {
  const url = new URL(`${apiBase}${path}`, window.location.href);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  const session = getSession();
  const sent = { Accept: "application/json", ...headers };
  if (session) sent.Authorization = `Bearer ${session.token}`;
  let payload;
  if (form) payload = form;
  else if (body !== undefined) {
    sent["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, { method, headers: sent, body: payload, mode: "cors" });
  } catch {
    throw new ApiError(0, "network", "network");
  }
  let data = null;
  const text = response.status === 204 ? "" : await response.text().catch(() => "");
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const error = data && typeof data === "object" && data.error ? data.error : {};
    const failure = new ApiError(
      response.status,
      error.code || (response.status >= 500 ? "unavailable" : "http_error"),
      error.message || response.statusText,
      error.details,
    );
    if (response.status === 401 && session) {
      failure.sessionExpired = true;
      clearSession();
    }
    throw failure;
  }
  return { data, headers: response.headers, status: response.status };
}
