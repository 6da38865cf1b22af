// Hash routing (#/product/12?x=1) so the pages work as plain files on any static host or CDN.

import { t } from "./i18n.js";
import { getSession, takeExpiredNotice } from "./store.js";
import { notify } from "./ui.js";

export function currentRoute() {
  const raw = window.location.hash.replace(/^#/, "") || "/";
  const [path, search = ""] = raw.split("?");
  return { path: path || "/", query: new URLSearchParams(search), raw };
}

/** The hash for `path` with `query` (an object; empty values dropped). */
export function link(path, query = {}) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(name, String(value));
  }
  const search = params.toString();
  return `#${path}${search ? `?${search}` : ""}`;
}

export const rerender = new EventTarget();

export function go(path, query = {}) {
  const target = link(path, query);
  if (window.location.hash === target) rerender.dispatchEvent(new Event("render"));
  else window.location.hash = target;
}

/** Send the shopper to log in, then back to where they were. */
export function goLogIn(message) {
  const here = currentRoute();
  if (message) notify(message, "error");
  const next = here.path === "/login" || here.path === "/signup" ? "/" : here.raw;
  go("/login", { next });
}

/**
 * Deal with an error that means "log in (again)". Returns true when it did, so the caller stops.
 */
export function handleAuthError(error) {
  if (error?.sessionExpired) {
    goLogIn(t("error.sessionExpired"));
    return true;
  }
  if (error?.code === "authentication_failed") {
    goLogIn(t("auth.needLogin"));
    return true;
  }
  if (error?.code === "password_change_required") {
    const here = currentRoute();
    if (here.path !== "/password") go("/password", { required: 1, next: here.raw });
    notify(t("password.changeRequired"), "info");
    return true;
  }
  return false;
}

/** For pages that need an account: true when signed in, otherwise off to the log-in page. */
export function requireLogin(message = t("auth.needLogin")) {
  if (getSession()) return true;
  goLogIn(takeExpiredNotice() ? t("error.sessionExpired") : message);
  return false;
}
