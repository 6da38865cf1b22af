// Accounts and orders: log in, sign up, my orders, one order (pay or cancel it).

import { api } from "../api.js";
import { h, mount, randomKey } from "../dom.js";
import { dateTime, getLang, money, t, tn } from "../i18n.js";
import { toCents } from "../money.js";
import { go, handleAuthError, link, requireLogin } from "../router.js";
import { setSession } from "../store.js";
import {
  alertBox,
  describeError,
  errorPage,
  loadingState,
  notify,
  pageTitle,
  statusBadge,
} from "../ui.js";
import { addressFields, defaultAddress, deliveryFacts } from "./delivery.js";

function field(id, label, input, hint) {
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    input,
    hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null,
  );
}

function safeNext(query) {
  const next = query.get("next") || "/";
  return next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

function goNext(query) {
  const [path, search = ""] = safeNext(query).split("?");
  go(path, Object.fromEntries(new URLSearchParams(search)));
}

function authForm(ctx, mode) {
  const { main, query } = ctx;
  const signup = mode === "signup";
  const errors = h("div", { class: "form-errors", "aria-live": "assertive" });
  const email = h("input", { type: "email", id: "email", name: "email", autocomplete: "email", required: true });
  const password = h("input", {
    type: "password",
    id: "password",
    name: "password",
    autocomplete: signup ? "new-password" : "current-password",
    required: true,
    "aria-describedby": signup ? "password-hint" : null,
  });
  const name = signup ? h("input", { type: "text", id: "name", name: "name", autocomplete: "name", required: true, maxlength: 100 }) : null;
  // Left to the server to refuse (422 consent_required), so the message is the API's, in words.
  const consents = signup ? { privacy: consentBox("privacy"), terms: consentBox("terms") } : null;
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-block" }, signup ? t("auth.signupButton") : t("auth.loginButton"));
  const form = h(
    "form",
    {
      class: "panel auth-form",
      novalidate: false,
      onsubmit: async (event) => {
        event.preventDefault();
        mount(errors);
        submit.disabled = true;
        try {
          const body = signup
            ? {
                email: email.value.trim(),
                password: password.value,
                name: name.value.trim(),
                consent: { privacy: consents.privacy.checked, terms: consents.terms.checked },
                language: getLang(),
              }
            : { email: email.value.trim(), password: password.value };
          const { data } = await api("POST", signup ? "/api/auth/signup" : "/api/auth/login", { body });
          setSession(data);
          if (data.password_change_required) {
            // An initial password: nothing else works until it is changed.
            notify(t("password.changeRequired"), "info");
            go("/password", { required: 1, next: safeNext(query) });
            return;
          }
          notify(t("auth.welcome", { name: data.user.name }), "success");
          goNext(query);
        } catch (error) {
          mount(errors, alertBox(describeError(error, { context: "login" })));
          if (error.code === "consent_required") {
            const missing = error.details?.missing?.[0];
            (consents[missing] || consents.privacy).focus();
          } else (signup && error.code === "email_taken" ? email : password).focus();
        } finally {
          submit.disabled = false;
        }
      },
    },
    signup ? field("name", t("auth.name"), name) : null,
    field("email", t("auth.email"), email),
    field("password", t("auth.password"), password, signup ? t("auth.passwordHint") : null),
    signup
      ? h(
          "fieldset",
          { class: "consents" },
          h("legend", {}, t("consent.legend")),
          consentField(consents.privacy, "privacy"),
          consentField(consents.terms, "terms"),
        )
      : h("p", { class: "forgot-password" }, h("a", { href: link("/forgot-password") }, t("password.forgotLink"))),
    errors,
    submit,
    h(
      "p",
      { class: "switch-auth" },
      signup ? t("auth.haveAccount") : t("auth.noAccount"),
      " ",
      h("a", { href: link(signup ? "/login" : "/signup", { next: query.get("next") || "" }) }, signup ? t("auth.loginTitle") : t("auth.signupTitle")),
    ),
  );
  mount(main, h("div", { class: "auth-page" }, pageTitle(signup ? t("auth.signupTitle") : t("auth.loginTitle")), form));
}

function consentBox(document) {
  return h("input", { type: "checkbox", id: `consent-${document}`, name: `consent-${document}` });
}

function consentField(box, document) {
  return h(
    "div",
    { class: "check-field" },
    box,
    h("label", { for: box.id }, t(`consent.${document}`)),
    " ",
    h("a", { href: `#/${document}`, target: "_blank", rel: "noopener" }, t("consent.read")),
  );
}

export function logIn(ctx) {
  authForm(ctx, "login");
}

export function signUp(ctx) {
  authForm(ctx, "signup");
}

function orderSummary(order) {
  const count = order.lines.reduce((sum, line) => sum + line.quantity, 0);
  const first = order.lines[0]?.product_name ?? "";
  return order.lines.length > 1 ? `${first} + ${order.lines.length - 1} · ${tn("orders.summary", count)}` : `${first} · ${tn("orders.summary", count)}`;
}

export async function myOrders(ctx) {
  const { main } = ctx;
  if (!requireLogin()) return;
  mount(main, loadingState());
  let orders;
  try {
    orders = (await api("GET", "/api/orders", { query: { limit: 100 } })).data || [];
  } catch (error) {
    if (!ctx.isCurrent() || handleAuthError(error)) return;
    return errorPage(main, error, () => myOrders(ctx));
  }
  if (!ctx.isCurrent()) return;
  mount(
    main,
    pageTitle(t("orders.title")),
    orders.length
      ? h(
          "ul",
          { class: "order-list" },
          orders.map((order) =>
            h(
              "li",
              { class: "order-card panel", dataset: { orderId: order.id } },
              h(
                "div",
                { class: "order-card-head" },
                h("h2", {}, h("a", { href: `#/orders/${order.id}` }, t("order.title", { id: order.id }))),
                statusBadge(order.status),
              ),
              h("p", { class: "muted" }, dateTime(order.created_at)),
              h("p", {}, orderSummary(order)),
              h(
                "div",
                { class: "order-card-foot" },
                h("strong", { class: "price" }, money(order.total_amount)),
                h("a", { class: "btn btn-secondary btn-small", href: `#/orders/${order.id}` }, order.status === "pending" ? t("order.payNow") : t("order.view")),
              ),
            ),
          ),
        )
      : h("div", { class: "empty" }, h("p", {}, t("orders.empty")), h("a", { class: "btn btn-primary", href: "#/" }, t("cart.continue"))),
  );
}

function linesTable(order) {
  return h(
    "table",
    { class: "table order-table" },
    h("caption", { class: "visually-hidden" }, t("order.items")),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "col" }, t("order.product")),
        h("th", { scope: "col", class: "num" }, t("order.qty")),
        h("th", { scope: "col", class: "num hide-phone" }, t("order.unitPrice")),
        h("th", { scope: "col", class: "num" }, t("order.lineTotal")),
      ),
    ),
    h(
      "tbody",
      {},
      order.lines.map((line) =>
        h(
          "tr",
          {},
          h("td", {}, h("a", { href: `#/product/${line.product_id}` }, line.product_name)),
          h("td", { class: "num" }, line.quantity),
          h("td", { class: "num hide-phone" }, money(line.unit_price)),
          h("td", { class: "num" }, money(line.line_total)),
        ),
      ),
    ),
    h(
      "tfoot",
      {},
      h("tr", {}, h("th", { scope: "row", colspan: 2 }, t("cart.subtotal")), h("td", { class: "hide-phone" }), h("td", { class: "num", id: "order-subtotal" }, money(order.subtotal))),
      h("tr", {}, h("th", { scope: "row", colspan: 2 }, t("checkout.deliveryFee")), h("td", { class: "hide-phone" }), h("td", { class: "num", id: "order-fee" }, toCents(order.delivery_fee) === 0 ? t("checkout.freeDelivery") : money(order.delivery_fee))),
      h("tr", {}, h("th", { scope: "row", colspan: 2 }, t("order.total")), h("td", { class: "hide-phone" }), h("td", { class: "num total-cell", id: "order-total" }, money(order.total_amount))),
    ),
  );
}

export async function orderPage(ctx) {
  const { main, params, query } = ctx;
  if (!requireLogin()) return;
  const id = Number(params[0]);
  mount(main, loadingState());
  let order;
  try {
    order = (await api("GET", `/api/orders/${id}`)).data;
  } catch (error) {
    if (!ctx.isCurrent() || handleAuthError(error)) return;
    return errorPage(main, error, () => orderPage(ctx));
  }
  if (!ctx.isCurrent()) return;
  const prefill = order.status === "pending" && !order.address ? await defaultAddress().catch(() => null) : null;
  if (!ctx.isCurrent()) return;

  let banner = null;
  if (query.get("paid") && order.status !== "pending") {
    banner = h("div", { class: "alert alert-success", role: "status" }, h("p", {}, t("order.thanks")));
  } else if (query.get("placed") && order.status === "pending") {
    banner = h("div", { class: "alert alert-info", role: "status" }, h("p", {}, t("order.placed")));
  }
  mount(
    main,
    h("a", { class: "back-link", href: "#/orders" }, t("order.back")),
    pageTitle(t("order.title", { id: order.id })),
    banner,
    h(
      "div",
      { class: order.status === "pending" ? "checkout-layout" : "order-layout" },
      h(
        "section",
        { class: "panel" },
        h(
          "dl",
          { class: "facts" },
          h("dt", {}, t("order.date")),
          h("dd", {}, dateTime(order.created_at)),
          h("dt", {}, t("order.status")),
          h("dd", { id: "order-status" }, statusBadge(order.status)),
          deliveryFacts(order),
        ),
        linesTable(order),
      ),
      order.status === "pending" ? (order.address ? paymentPanel(ctx, order) : addressPanel(ctx, order, prefill)) : null,
      order.status === "paid" ? h("aside", { class: "summary" }, cancelButton(ctx, order, h("div", { class: "form-errors", "aria-live": "assertive" }))) : null,
    ),
  );
}

/** The address of an order placed without one: given here before paying. */
function addressPanel(ctx, order, prefill) {
  const errors = h("div", { class: "form-errors", "aria-live": "assertive" });
  const fields = addressFields("ship", prefill, errors);
  const save = h("button", { type: "submit", class: "btn btn-primary btn-block", id: "save-address" }, t("address.useForOrder"));
  return h(
    "form",
    {
      class: "summary pay-form",
      onsubmit: async (event) => {
        event.preventDefault();
        const body = fields.value();
        if (!body) return;
        save.disabled = true;
        try {
          await api("PUT", `/api/orders/${order.id}/address`, { body });
          go(`/orders/${order.id}`);
        } catch (error) {
          save.disabled = false;
          if (!ctx.isCurrent() || handleAuthError(error)) return;
          mount(errors, alertBox(describeError(error)));
        }
      },
    },
    h("h2", {}, t("address.title")),
    h("p", { class: "hint" }, t("address.neededToPay")),
    fields.element,
    errors,
    save,
    cancelButton(ctx, order, errors),
  );
}

/** Cancel the order, after a confirmation step (a paid one is refunded). */
function cancelButton(ctx, order, errors) {
  const paid = order.status === "paid";
  let confirming = false;
  const button = h(
    "button",
    {
      type: "button",
      class: "btn btn-ghost btn-block",
      id: "cancel-order",
      onclick: async () => {
        if (!confirming) {
          confirming = true;
          button.textContent = t(paid ? "order.confirmRefund" : "order.confirmCancel");
          button.classList.add("danger", "is-armed");
          mount(errors, h("p", { class: "warning", role: "status" }, t(paid ? "order.refundWarning" : "order.cancelWarning")));
          return;
        }
        button.disabled = true;
        try {
          await api("POST", `/api/orders/${order.id}/cancel`);
          notify(t(paid ? "order.refunded" : "order.cancelled"));
          go(`/orders/${order.id}`);
        } catch (error) {
          button.disabled = false;
          if (!ctx.isCurrent() || handleAuthError(error)) return;
          mount(errors, alertBox(describeError(error)));
        }
      },
    },
    t(paid ? "order.cancelAndRefund" : "order.cancel"),
  );
  return h("div", {}, errors, button);
}

function paymentPanel(ctx, order) {
  const errors = h("div", { class: "form-errors", "aria-live": "assertive" });
  const card = h("input", {
    type: "text",
    id: "card-number",
    name: "cardNumber",
    inputmode: "numeric",
    autocomplete: "cc-number",
    required: true,
    maxlength: 23,
    placeholder: "4242 4242 4242 4242",
    "aria-describedby": "card-number-hint",
  });
  const expiry = h("input", { type: "text", id: "card-expiry", name: "expiry", inputmode: "numeric", autocomplete: "cc-exp", required: true, maxlength: 5, placeholder: "MM/YY" });
  const cvc = h("input", { type: "text", id: "card-cvc", name: "cvc", inputmode: "numeric", autocomplete: "cc-csc", required: true, maxlength: 4, placeholder: "123" });
  const payButton = h("button", { type: "submit", class: "btn btn-primary btn-block btn-large", id: "pay-button" }, t("pay.button", { total: money(order.total_amount) }));
  // One idempotency key per card tried: a double click or a retry cannot charge twice.
  const keys = new Map();
  const form = h(
    "form",
    {
      class: "summary pay-form",
      onsubmit: async (event) => {
        event.preventDefault();
        const number = card.value.replace(/[\s-]/g, "");
        if (!/^\d{12,19}$/.test(number)) {
          mount(errors, alertBox(t("pay.declined", { reason: t("pay.reason.invalid_number") })));
          card.focus();
          return;
        }
        const body = { cardNumber: number, expiry: expiry.value.trim(), cvc: cvc.value.trim() };
        const tried = JSON.stringify(body);
        if (!keys.has(tried)) keys.set(tried, randomKey());
        mount(errors);
        const label = payButton.textContent;
        payButton.disabled = true;
        payButton.textContent = t("pay.paying");
        try {
          await api("POST", `/api/orders/${order.id}/pay`, {
            body,
            headers: { "Idempotency-Key": keys.get(tried) },
          });
          go(`/orders/${order.id}`, { paid: 1 });
        } catch (error) {
          payButton.disabled = false;
          payButton.textContent = label;
          if (!ctx.isCurrent() || handleAuthError(error)) return;
          mount(errors, alertBox(describeError(error)));
          const reason = error.details?.reason;
          (reason === "invalid_cvc" ? cvc : reason === "invalid_expiry" || reason === "expired_card" ? expiry : card).focus();
        }
      },
    },
    h("h2", {}, t("pay.title")),
    h("div", { class: "field" }, h("label", { for: "card-number" }, t("pay.card")), card, h("p", { class: "hint", id: "card-number-hint" }, t("pay.cardHint"))),
    h(
      "div",
      { class: "field-row" },
      h("div", { class: "field" }, h("label", { for: "card-expiry" }, t("pay.expiry")), expiry),
      h("div", { class: "field" }, h("label", { for: "card-cvc" }, t("pay.cvc")), cvc),
    ),
    errors,
    payButton,
    cancelButton(ctx, order, h("div", { class: "form-errors", "aria-live": "assertive" })),
  );
  return form;
}
