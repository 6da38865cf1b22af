// The cart (kept in the browser) and the checkout that places the order at the server's total.

import { api } from "../api.js";
import { h, mount, randomKey } from "../dom.js";
import { localized, money, t } from "../i18n.js";
import { totalOf, toCents } from "../money.js";
import { go, handleAuthError, requireLogin } from "../router.js";
import {
  clearCart,
  getCart,
  refreshCartLine,
  removeFromCart,
  setCartQuantity,
} from "../store.js";
import { alertBox, describeError, loadingState, notify, pageTitle, productImage } from "../ui.js";
import { addressFields, defaultAddress } from "./delivery.js";

function shortage(stock) {
  return stock > 0 ? t("cart.onlyLeft", { n: stock }) : t("stock.out");
}

function emptyCart(main) {
  mount(
    main,
    pageTitle(t("cart.title")),
    h(
      "div",
      { class: "empty" },
      h("p", {}, t("cart.empty")),
      h("a", { class: "btn btn-primary", href: "#/" }, t("cart.continue")),
    ),
  );
}

function lineThumb(line) {
  return productImage({ name: line.name, name_en: line.name_en, thumbnail_url: line.thumbnail, image_url: null }, "thumb");
}

/** The cart as remembered, then again with each line's stock and price as the shop has them now. */
export function cartPage(ctx) {
  drawCart(ctx);
  if (!getCart().length) return;
  refreshCart()
    .then((removed) => {
      if (!ctx.isCurrent()) return;
      drawCart(ctx);
      if (removed.length) notify(t("cart.removed", { name: removed.join(", ") }), "info");
    })
    .catch(() => {}); // offline: the remembered lines stay, checkout checks again
}

function drawCart(ctx) {
  const { main } = ctx;
  const lines = getCart();
  if (!lines.length) return emptyCart(main);
  const rows = lines.map((line) => {
    const inputId = `qty-${line.productId}`;
    const quantity = h("input", {
      type: "number",
      id: inputId,
      min: 1,
      max: line.stock > 0 ? line.stock : null,
      value: line.quantity,
      inputmode: "numeric",
      class: "qty-input",
      onchange: () => {
        const n = Number.parseInt(quantity.value, 10);
        setCartQuantity(line.productId, Number.isInteger(n) && n > 0 ? n : 1);
        drawCart(ctx);
        document.getElementById(inputId)?.focus();
      },
    });
    return h(
      "li",
      { class: "cart-line", dataset: { productId: line.productId } },
      h("a", { href: `#/product/${line.productId}`, class: "cart-thumb", tabindex: "-1", "aria-hidden": "true" }, lineThumb(line)),
      h(
        "div",
        { class: "cart-line-info" },
        h("a", { href: `#/product/${line.productId}`, class: "cart-line-name" }, localized(line, "name")),
        h("p", { class: "muted" }, money(line.price)),
        line.stock !== undefined && line.quantity > line.stock
          ? h("p", { class: "warning" }, shortage(line.stock))
          : null,
      ),
      h(
        "div",
        { class: "cart-line-qty" },
        h("label", { for: inputId, class: "visually-hidden" }, t("cart.quantityLabel", { name: localized(line, "name") })),
        quantity,
      ),
      h("p", { class: "cart-line-total" }, money(totalOf([line]))),
      h(
        "button",
        {
          type: "button",
          class: "btn btn-ghost btn-small",
          "aria-label": t("cart.removeLabel", { name: localized(line, "name") }),
          onclick: () => {
            removeFromCart(line.productId);
            drawCart(ctx);
            main.querySelector("h1")?.focus();
          },
        },
        t("cart.remove"),
      ),
    );
  });
  mount(
    main,
    pageTitle(t("cart.title")),
    h(
      "div",
      { class: "cart-layout" },
      h("ul", { class: "cart-lines" }, rows),
      h(
        "aside",
        { class: "summary" },
        h("dl", {}, h("dt", {}, t("cart.total")), h("dd", { class: "summary-total" }, money(totalOf(lines)))),
        h("button", { type: "button", class: "btn btn-primary btn-block", onclick: () => go("/checkout") }, t("cart.checkout")),
        h("a", { class: "btn btn-ghost btn-block", href: "#/" }, t("cart.continue")),
      ),
    ),
  );
}

function cartItems() {
  return getCart().map((line) => ({ productId: line.productId, quantity: line.quantity }));
}

/** What the server will charge for the cart: goods, delivery fee and total (its own rule). */
async function quoteCart() {
  return (await api("POST", "/api/delivery/quote", { body: { items: cartItems() } })).data;
}

/** Fresh product rows for the cart's lines; lines whose product is gone are dropped. */
async function refreshCart() {
  const lines = getCart();
  const removed = [];
  await Promise.all(
    lines.map(async (line) => {
      try {
        refreshCartLine((await api("GET", `/api/products/${line.productId}`)).data);
      } catch (error) {
        if (error.code !== "not_found") throw error;
        removed.push(localized(line, "name"));
        removeFromCart(line.productId);
      }
    }),
  );
  return removed;
}

export async function checkout(ctx) {
  const { main } = ctx;
  if (!requireLogin(t("checkout.loginFirst"))) return;
  if (!getCart().length) return emptyCart(main);
  mount(main, loadingState());
  let removed;
  let quote;
  let prefill;
  try {
    [removed, prefill] = await Promise.all([refreshCart(), defaultAddress()]);
    quote = getCart().length ? await quoteCart() : null;
  } catch (error) {
    if (!ctx.isCurrent()) return;
    mount(main, pageTitle(t("checkout.title")), alertBox(describeError(error), h("button", { type: "button", class: "btn", onclick: () => checkout(ctx) }, t("error.retry"))));
    return;
  }
  if (!ctx.isCurrent()) return;
  if (!getCart().length) return emptyCart(main);
  if (removed.length) notify(t("cart.removed", { name: removed.join(", ") }), "error");

  // One idempotency key per checkout attempt (the same lines at the same total): a double click
  // or a retry after a lost answer cannot order twice.
  // `total` is the goods' total the shopper saw (the server adds the delivery fee).
  let attempt = { key: randomKey(), total: totalOf(getCart()), address: "" };
  const messages = h("div", { class: "checkout-messages", "aria-live": "polite" });
  const summary = h("div", {});
  const address = addressFields("ship", prefill, messages);
  const placeButton = h("button", { type: "button", class: "btn btn-primary btn-block btn-large", id: "place-order" });

  function drawSummary(outOfStockId = null) {
    const lines = getCart();
    const short = lines.some((line) => line.quantity > line.stock);
    mount(
      summary,
      h(
        "table",
        { class: "table order-table" },
        h("caption", { class: "visually-hidden" }, t("order.items")),
        h(
          "thead",
          {},
          h("tr", {}, h("th", { scope: "col" }, t("order.product")), h("th", { scope: "col", class: "num" }, t("order.qty")), h("th", { scope: "col", class: "num" }, t("order.lineTotal"))),
        ),
        h(
          "tbody",
          {},
          lines.map((line) =>
            h(
              "tr",
              { class: line.productId === outOfStockId || line.quantity > line.stock ? "row-problem" : null },
              h("td", {}, localized(line, "name"), line.quantity > line.stock ? h("span", { class: "warning block" }, shortage(line.stock)) : null),
              h("td", { class: "num" }, line.quantity),
              h("td", { class: "num" }, money(totalOf([line]))),
            ),
          ),
        ),
        h(
          "tfoot",
          {},
          h("tr", {}, h("th", { scope: "row", colspan: 2 }, t("cart.subtotal")), h("td", { class: "num", id: "checkout-subtotal" }, money(quote?.subtotal ?? attempt.total))),
          h("tr", {}, h("th", { scope: "row", colspan: 2 }, t("checkout.deliveryFee")), h("td", { class: "num", id: "checkout-fee" }, quote && toCents(quote.deliveryFee) === 0 ? t("checkout.freeDelivery") : money(quote?.deliveryFee ?? 0))),
          h("tr", {}, h("th", { scope: "row", colspan: 2 }, t("checkout.serverTotal")), h("td", { class: "num total-cell", id: "checkout-total" }, money(quote?.total ?? attempt.total))),
        ),
      ),
    );
    placeButton.textContent = t("checkout.place", { total: money(quote?.total ?? attempt.total) });
    placeButton.disabled = short;
    if (short) mount(messages, alertBox(t("checkout.outOfStockShort"), h("a", { class: "btn btn-secondary", href: "#/cart" }, t("checkout.fixCart"))));
  }

  async function place(total, key) {
    const where = address.value();
    if (!where) return;
    // The same goods to another address is another order: a new key, not a reused one.
    if (attempt.address && attempt.address !== JSON.stringify(where)) {
      attempt = { ...attempt, key: randomKey() };
      key = attempt.key;
    }
    attempt.address = JSON.stringify(where);
    const label = placeButton.textContent;
    placeButton.hidden = false;
    placeButton.disabled = true;
    placeButton.setAttribute("aria-busy", "true");
    placeButton.textContent = t("checkout.placing");
    mount(messages);
    try {
      const { data } = await api("POST", "/api/orders", {
        body: { items: cartItems(), totalAmount: total, address: where },
        headers: { "Idempotency-Key": key },
      });
      clearCart();
      go(`/orders/${data.orderId}`, { placed: 1 });
    } catch (error) {
      placeButton.textContent = label;
      placeButton.disabled = false;
      placeButton.removeAttribute("aria-busy");
      if (!ctx.isCurrent() || handleAuthError(error)) return;
      showFailure(error);
    }
  }

  async function showFailure(error) {
    if (error.code === "total_mismatch" && error.details?.currentTotal) {
      const current = error.details.currentTotal;
      try {
        await refreshCart();
        quote = await quoteCart();
      } catch {
        // the alert below still tells the new total
      }
      attempt = { key: randomKey(), total: current, address: "" };
      drawSummary();
      const confirm = h(
        "button",
        { type: "button", class: "btn btn-primary", id: "confirm-new-total", onclick: () => place(attempt.total, attempt.key) },
        t("checkout.confirmNew", { total: money(quote?.total ?? current) }),
      );
      mount(messages, alertBox(t("checkout.priceChanged", { total: money(quote?.total ?? current) }), confirm));
      placeButton.hidden = true; // one way forward: the button that names the new total
      confirm.focus();
      return;
    }
    if (error.code === "out_of_stock") {
      const productId = Number(error.details?.productId);
      const available = Number(error.details?.available ?? 0);
      const line = getCart().find((l) => l.productId === productId);
      if (line) refreshCartLine({ id: productId, name: line.name, name_en: line.name_en, price: line.price, thumbnail_url: line.thumbnail, stock_quantity: available });
      drawSummary(productId);
      mount(
        messages,
        alertBox(
          line ? t("checkout.outOfStock", { name: localized(line, "name"), n: available }) : t("checkout.outOfStockShort"),
          h("a", { class: "btn btn-secondary", href: "#/cart" }, t("checkout.fixCart")),
        ),
      );
      messages.querySelector("a")?.focus();
      return;
    }
    mount(messages, alertBox(describeError(error)));
  }

  placeButton.addEventListener("click", () => place(attempt.total, attempt.key));
  drawSummary();
  mount(
    main,
    pageTitle(t("checkout.title")),
    h("div", { class: "checkout-layout" }, h("section", { class: "panel" }, summary, address.element), h("aside", { class: "summary" }, messages, placeButton, h("a", { class: "btn btn-ghost btn-block", href: "#/cart" }, t("checkout.fixCart")))),
  );
  if (toCents(attempt.total) <= 0) placeButton.disabled = true;
}
