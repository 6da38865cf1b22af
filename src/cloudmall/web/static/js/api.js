// The shop's JSON API: one fetch wrapper that turns every failure into an ApiError, and renews
// an expired access token once (from the session's HttpOnly refresh cookie) before giving up.

import config from "../config.js";
import { accessExpired, clearSession, getSession, setSession } from "./store.js";

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

async function send(method, path, { body, form, query, headers = {}, withCookies = false } = {}) {
  const url = new URL(`${apiBase}${path}`, window.location.href);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  const session = getSession();
  const sent = { Accept: "application/json", ...headers };
  if (session && !withCookies) sent.Authorization = `Bearer ${session.token}`;
  let payload;
  if (form) payload = form;
  else if (body !== undefined) {
    sent["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  // Only the session routes carry the refresh cookie (its Path is theirs alone); "include" lets
  // it travel to an API on another origin of the same site.
  const credentials = withCookies ? "include" : "same-origin";
  let response;
  try {
    response = await fetch(url, { method, headers: sent, body: payload, mode: "cors", credentials });
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
    throw new ApiError(
      response.status,
      error.code || (response.status >= 500 ? "unavailable" : "http_error"),
      error.message || response.statusText,
      error.details,
    );
  }
  return { data, headers: response.headers, status: response.status };
}

let refreshing = null;

/**
 * A new access token from the refresh cookie (which the server rotates). One at a time in this
 * tab, and across tabs where the browser has Web Locks: a tab that waited finds the session
 * another tab renewed and reuses it, instead of presenting the cookie that was just rotated
 * (the server would take that for a stolen copy and end the session).
 */
export function refreshSession(stale) {
  refreshing ??= (async () => {
    const renew = async () => {
      const current = getSession();
      if (current && current.token !== stale && !accessExpired(current)) return true;
      try {
        const { data } = await send("POST", "/api/auth/refresh", { withCookies: true });
        setSession(data);
        return true;
      } catch (error) {
        if (error.status === 401) clearSession({ expired: true });
        return false;
      }
    };
    try {
      return navigator.locks ? await navigator.locks.request("cloudmall-refresh", renew) : await renew();
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/**
 * Call the API. Options: `body` (JSON), `form` (FormData), `query` (object), `headers`.
 * Returns `{ data, headers, status }`; throws ApiError.
 */
export async function api(method, path, options = {}) {
  const session = getSession();
  if (session && accessExpired(session)) await refreshSession(session.token);
  try {
    return await send(method, path, options);
  } catch (failure) {
    if (failure.status !== 401 || !session) throw failure;
    // Ended early (a new password on another device) or a refresh that did not work: renew once
    // if a session is still here, and try again.
    const current = getSession();
    if (current && (await refreshSession(current.token))) {
      try {
        return await send(method, path, options);
      } catch (again) {
        if (again.status !== 401) throw again;
      }
    }
    clearSession({ expired: true });
    failure.sessionExpired = true;
    throw failure;
  }
}

/** End this device's session on the server (the refresh cookie) and here. */
export async function logOut() {
  try {
    await send("POST", "/api/auth/logout", { withCookies: true });
  } catch {
    // Offline or already ended: the session is forgotten here all the same.
  }
  clearSession();
}
