// Shared pieces of the pages: messages, errors in words, images, badges, page states.

import { mediaUrl } from "./api.js";
import { h, mount } from "./dom.js";
import { t } from "./i18n.js";

/** A message for everyone, screen-reader users included (the toast is an aria-live region). */
let toastTimer = 0;
export function notify(message, kind = "info") {
  const toast = document.getElementById("toast");
  if (!toast) return;
  mount(toast, h("p", { class: `toast-message toast-${kind}` }, message));
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

/** An API error as a sentence for the shopper, in the current language. Never raw JSON. */
export function describeError(error, { context } = {}) {
  if (!error || typeof error !== "object" || !("code" in error)) return t("error.generic");
  if (error.code === "network") return t("error.network");
  if (error.sessionExpired) return t("error.sessionExpired");
  switch (error.code) {
    case "authentication_failed":
      return context === "login" ? t("error.badLogin") : t("auth.needLogin");
    case "permission_denied":
      return t("error.forbidden");
    case "not_found":
      return t("error.notFound");
    case "email_taken":
      return t("error.emailTaken");
    case "payment_declined": {
      const reason = error.details?.reason;
      const key = DECLINE_REASONS.includes(reason) ? reason : "other";
      return t("pay.declined", { reason: t(`pay.reason.${key}`) });
    }
    case "out_of_stock":
      return t("checkout.outOfStockShort");
    case "address_required":
      return t("address.neededToPay");
    case "password_rejected": {
      const reason = error.details?.reason;
      return t(`error.password.${PASSWORD_REASONS.includes(reason) ? reason : "too_common"}`);
    }
    case "rate_limited":
      return t("error.tooMany");
    case "unsupported_media":
      return t("error.media");
    case "payload_too_large":
      return t("error.tooLarge");
    case "invalid_request":
    case "invalid_input":
    case "order_limit":
      return error.message ? `${t("error.invalid")} (${error.message})` : t("error.invalid");
    case "invalid_transition":
    case "conflict":
    case "idempotency_key_reused":
    case "payment_in_progress":
      return t("error.conflict");
    default:
      if (error.status >= 500 || error.status === 0) return t("error.unavailable");
      return t("error.generic");
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
      { class: `product-image placeholder ${kind}`, role: "img", "aria-label": `${product.name} – ${t("product.noImage")}` },
      h("span", { "aria-hidden": "true" }, (product.name || "?").trim().charAt(0).toUpperCase()),
    );
  }
  return h("img", {
    class: `product-image ${kind}`,
    src: url,
    alt: product.name,
    width: kind === "thumb" ? 400 : 800,
    height: kind === "thumb" ? 400 : 800,
    loading: kind === "thumb" ? "lazy" : "eager",
    decoding: "async",
  });
}

export function stockBadge(quantity) {
  if (quantity <= 0) return h("span", { class: "badge badge-out" }, t("stock.out"));
  if (quantity <= 5) return h("span", { class: "badge badge-low" }, t("stock.low", { n: quantity }));
  return h("span", { class: "badge badge-in" }, t("stock.in"));
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
