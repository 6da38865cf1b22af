// Shared pieces of the pages: messages, errors in words, images, badges, page states.

import { mediaUrl } from "./api.js";
import { h, mount } from "./dom.js";
import { hasText, localized, money, t } from "./i18n.js";
import { percentOff, toCents } from "./money.js";

/** A message for everyone, screen-reader users included (the toast is an aria-live region). */
let toastTimer = 0;
let toastShownAt = 0;
// A message raised just before the navigation it led to ("saved", then the saved product's page)
// belongs to the new page; an older one belonged to the page being left.
const NAVIGATION_GRACE_MS = 1500;

/** Take the last page's message away when the shopper moves on. */
export function clearNotice() {
  const toast = document.getElementById("toast");
  if (!toast || Date.now() - toastShownAt < NAVIGATION_GRACE_MS) return;
  clearTimeout(toastTimer);
  toast.classList.remove("is-visible");
  toast.replaceChildren();
}

export function notify(message, kind = "info") {
  const toast = document.getElementById("toast");
  if (!toast) return;
  mount(toast, h("p", { class: `toast-message toast-${kind}` }, message));
  toastShownAt = Date.now();
  toast.classList.add("is-visible");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => toast.classList.remove("is-visible"), 6000);
}

const DECLINE_REASONS = [
  "card_declined",
  "insufficient_funds",
  "expired_card",
  "invalid_number",
  "invalid_expiry",
  "invalid_cvc",
];
const PASSWORD_REASONS = ["too_short", "too_long", "only_spaces", "personal", "too_common"];

/** A field the API named ("items.0.quantity") in the shopper's words: its last named part. */
function fieldLabel(field) {
  const name = String(field || "").split(".").filter((part) => !/^\d+$/.test(part)).pop() || "";
  return hasText(`field.${name}`) ? t(`field.${name}`) : name;
}

/** One problem with a field (`{field, reason}`, both codes) as a sentence. */
function problemText({ field, reason }) {
  const key = hasText(`problem.${reason}`) ? `problem.${reason}` : "problem.invalid";
  return t(key, { field: fieldLabel(field) });
}

/**
 * An API error as a sentence for the shopper, in the current language: made from the error's
 * codes only (`code`, `details.reason`, `details.problems`), never from the server's own text.
 */
export function describeError(error, { context } = {}) {
  if (!error || typeof error !== "object" || !("code" in error)) return t("api.error");
  if (error.sessionExpired) return t("error.sessionExpired");
  const details = error.details || {};
  switch (error.code) {
    case "authentication_failed":
      return context === "login" ? t("error.badLogin") : t("api.authentication_failed");
    case "permission_denied":
      return context === "password-form" ? t("account.wrongPassword") : t("api.permission_denied");
    case "payment_declined": {
      const key = DECLINE_REASONS.includes(details.reason) ? details.reason : "other";
      return t("pay.declined", { reason: t(`pay.reason.${key}`) });
    }
    case "password_rejected":
      return t(`error.password.${PASSWORD_REASONS.includes(details.reason) ? details.reason : "too_common"}`);
    case "invalid_request": {
      const problems = Array.isArray(details.problems) ? details.problems.slice(0, 3) : [];
      return [t("api.invalid_request"), ...problems.map(problemText)].join(" ");
    }
    case "invalid_input":
      return details.reason ? problemText(details) : t("api.invalid_input");
    default:
      if (hasText(`api.${error.code}`)) return t(`api.${error.code}`);
      if (error.status >= 500 || error.status === 0) return t("api.unavailable");
      return t("api.error");
  }
}

/** An inline alert under a form or on a page (role=alert so it is read out at once). */
export function alertBox(message, ...actions) {
  return h("div", { class: "alert alert-error", role: "alert" }, h("p", {}, message), actions);
}

export function errorPage(main, error, retry) {
  mount(
    main,
    h(
      "section",
      { class: "page-state" },
      h("h1", { tabindex: "-1" }, t("error.generic")),
      alertBox(
        describeError(error),
        retry && h("button", { type: "button", class: "btn", onclick: retry }, t("error.retry")),
      ),
    ),
  );
}

export function loadingState() {
  return h(
    "div",
    { class: "page-state", "aria-busy": "true" },
    h("span", { class: "spinner", "aria-hidden": "true" }),
    h("p", {}, t("loading")),
  );
}

/** A product image or a placeholder tile; `kind` is "thumb" (lazy, 400×400) or "full". */
export function productImage(product, kind = "thumb") {
  const url = mediaUrl(kind === "thumb" ? product.thumbnail_url || product.image_url : product.image_url);
  if (!url) {
    return h(
      "div",
      { class: `product-image placeholder ${kind}`, role: "img", "aria-label": `${localized(product, "name")} – ${t("product.noImage")}` },
      h("span", { "aria-hidden": "true" }, (localized(product, "name") || "?").trim().charAt(0).toUpperCase()),
    );
  }
  return h("img", {
    class: `product-image ${kind}`,
    src: url,
    alt: localized(product, "name"),
    width: kind === "thumb" ? 400 : 800,
    height: kind === "thumb" ? 400 : 800,
    loading: kind === "thumb" ? "lazy" : "eager",
    decoding: "async",
  });
}

/** Sold out, low (the exact count only where the row is fresh: `exact`), or in stock. */
export function stockBadge(quantity, { exact = true } = {}) {
  if (quantity <= 0) return h("span", { class: "badge badge-out" }, t("stock.out"));
  if (quantity <= 5) {
    return h("span", { class: "badge badge-low" }, exact ? t("stock.low", { n: quantity }) : t("stock.few"));
  }
  return h("span", { class: "badge badge-in" }, t("stock.in"));
}

/** The price; on sale, the list price struck through and the percent off beside it. */
export function priceTag(product, { large = false } = {}) {
  const onSale = product.list_price && toCents(product.list_price) > toCents(product.price);
  return h(
    "p",
    { class: `price-tag${large ? " price-large" : ""}${onSale ? " on-sale" : ""}` },
    onSale
      ? [
          h("span", { class: "price-off" }, t("price.off", { n: percentOff(product.price, product.list_price) })),
          h("span", { class: "price" }, money(product.price)),
          h("del", { class: "price-was" }, h("span", { class: "visually-hidden" }, t("price.was")), money(product.list_price)),
        ]
      : h("span", { class: "price" }, money(product.price)),
  );
}

export function statusBadge(status) {
  return h("span", { class: `status status-${status}`, dataset: { status } }, t(`status.${status}`));
}

/** The page's heading; focused after navigation so screen readers announce the new page. */
export function pageTitle(text, ...extra) {
  return h("div", { class: "page-head" }, h("h1", { tabindex: "-1" }, text), extra);
}

/** Disable a button while `work` runs, showing `busyText`; returns work's result. */
export async function busy(button, busyText, work) {
  const label = button.textContent;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  if (busyText) button.textContent = busyText;
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    if (busyText) button.textContent = label;
  }
}
