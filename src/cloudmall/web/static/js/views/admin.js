// Staff pages: overview, products (create, edit, image, stock), categories, orders (ship, deliver,
// refund). Tables carry a data-label on each cell: at phone widths each row becomes a card (app.css).

import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { dateTime, localized, money, percent, t, tn } from "../i18n.js";
import { go, handleAuthError, link } from "../router.js";
import { getSession, isAdmin } from "../store.js";
import {
  alertBox,
  describeError,
  errorPage,
  loadingState,
  notify,
  pageTitle,
  priceTag,
  productImage,
  statusBadge,
} from "../ui.js";
import { carrierName } from "./delivery.js";

const STATUSES = ["pending", "paid", "shipped", "delivered", "cancelled"];
const ORDER_PAGE = 20;
const TRACKING_NUMBER = /^[0-9A-Za-z-]{6,32}$/; // the API's rule (domain/delivery.py)
const PRODUCT_PAGE = 20;

/** Only staff may see these pages; everyone else gets a clear message. */
function allowed(ctx) {
  if (getSession() && isAdmin()) return true;
  mount(
    ctx.main,
    h(
      "section",
      { class: "page-state" },
      h("h1", { tabindex: "-1" }, t("admin.title")),
      h("div", { class: "alert alert-info", role: "status" }, h("p", {}, t("admin.only"))),
      getSession()
        ? h("a", { class: "btn", href: "#/" }, t("product.back"))
        : h("a", { class: "btn btn-primary", href: link("/login", { next: "/admin" }) }, t("nav.login")),
    ),
  );
  return false;
}

function adminNav(active) {
  const item = (href, key, name) =>
    h("li", {}, h("a", { href, class: "tab", "aria-current": active === name ? "page" : null }, t(key)));
  return h(
    "nav",
    { class: "tabs", "aria-label": t("admin.nav") },
    h(
      "ul",
      {},
      item("#/admin", "admin.overview", "overview"),
      item("#/admin/products", "admin.products", "products"),
      item("#/admin/categories", "admin.categories", "categories"),
      item("#/admin/orders", "admin.orders", "orders"),
    ),
  );
}

function failed(ctx, error, retry) {
  if (!ctx.isCurrent() || handleAuthError(error)) return;
  errorPage(ctx.main, error, retry);
}

// --- overview -----------------------------------------------------------------------------

export async function overview(ctx) {
  if (!allowed(ctx)) return;
  mount(ctx.main, loadingState());
  let data;
  try {
    data = (await api("GET", "/api/admin/overview")).data;
  } catch (error) {
    return failed(ctx, error, () => overview(ctx));
  }
  if (!ctx.isCurrent()) return;
  const stat = (label, value, id, href) =>
    h(
      "div",
      { class: "stat panel" },
      h("p", { class: "stat-label" }, label),
      h("p", { class: "stat-value", id }, href ? h("a", { href }, value) : value),
    );
  mount(
    ctx.main,
    pageTitle(t("admin.title")),
    adminNav("overview"),
    h(
      "div",
      { class: "stats" },
      stat(t("admin.ordersToday"), String(data.orders_today), "stat-orders"),
      stat(t("admin.revenueToday"), money(data.revenue_today), "stat-revenue"),
      stat(t("admin.toShip"), String(data.orders_to_ship), "stat-to-ship", link("/admin/orders", { status: "paid" })),
      stat(t("admin.lowStock"), String(data.low_stock.length), "stat-low-stock"),
    ),
    h(
      "section",
      { class: "panel" },
      h("h2", {}, t("admin.lowStock")),
      data.low_stock.length
        ? h(
            "table",
            { class: "table table-cards" },
            h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("admin.name")), h("th", { scope: "col", class: "num" }, t("admin.stock")), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, t("admin.actions"))))),
            h(
              "tbody",
              {},
              data.low_stock.map((p) =>
                h(
                  "tr",
                  {},
                  h("td", { dataset: { label: t("admin.name") } }, localized(p, "name")),
                  h("td", { class: "num", dataset: { label: t("admin.stock") } }, p.stock_quantity),
                  h("td", { class: "num actions" }, h("a", { class: "btn btn-ghost btn-small", href: `#/admin/products/${p.id}` }, t("admin.edit"))),
                ),
              ),
            ),
          )
        : h("p", { class: "muted" }, t("admin.noLowStock")),
    ),
    h(
      "section",
      { class: "panel operations", id: "operations" },
      h("h2", {}, t("admin.operations")),
      h("div", { class: "stats" }, stat(t("admin.cacheHit"), data.cache_hit_ratio === null ? "—" : percent(data.cache_hit_ratio), "stat-cache")),
      lakePanel(data.lake, stat),
    ),
  );
}

// The data lake's report headline (`cloudmall lake report`), as exported so far.
function lakePanel(lake, stat) {
  if (!lake) return h("div", { id: "lake" }, h("p", { class: "muted" }, t("admin.lakeUnavailable")));
  const rate = (value) => (value === null ? "—" : percent(value));
  return h(
    "div",
    { id: "lake" },
    h("h3", {}, t("admin.lake", { from: lake.first_day, to: lake.last_day })),
    h(
      "div",
      { class: "stats" },
      stat(t("admin.lakeOrders"), String(lake.orders), "lake-orders"),
      stat(t("admin.lakeRevenue"), money(lake.revenue), "lake-revenue"),
      stat(t("admin.lakeAverage"), lake.average_order_value === null ? "—" : money(lake.average_order_value), "lake-average"),
      stat(t("admin.lakeCancelled"), rate(lake.cancellation_rate), "lake-cancelled"),
      stat(t("admin.lakeDeclined"), rate(lake.payment_decline_rate), "lake-declined"),
    ),
  );
}

// --- products -----------------------------------------------------------------------------

export async function products(ctx) {
  if (!allowed(ctx)) return;
  const { main, query } = ctx;
  const q = query.get("q") || "";
  const page = Math.max(1, Number.parseInt(query.get("page") || "1", 10) || 1);
  if (!main.querySelector(".admin-products")) mount(main, loadingState());
  let rows;
  let total;
  try {
    const answer = await api("GET", "/api/products", { query: { q, sort: "newest", limit: PRODUCT_PAGE, offset: (page - 1) * PRODUCT_PAGE } });
    rows = answer.data || [];
    total = Number(answer.headers.get("X-Total-Count") ?? rows.length);
  } catch (error) {
    return failed(ctx, error, () => products(ctx));
  }
  if (!ctx.isCurrent()) return;
  const search = h("input", { type: "search", id: "admin-search", value: q });
  const pages = Math.max(1, Math.ceil(total / PRODUCT_PAGE));
  mount(
    main,
    pageTitle(t("admin.products"), h("a", { class: "btn btn-primary", href: "#/admin/products/new" }, t("admin.newProduct"))),
    adminNav("products"),
    h(
      "form",
      { class: "inline-form", role: "search", onsubmit: (e) => { e.preventDefault(); go("/admin/products", { q: search.value.trim() }); } },
      h("label", { for: "admin-search" }, t("admin.search")),
      search,
      h("button", { type: "submit", class: "btn btn-secondary" }, t("search.button")),
    ),
    rows.length
      ? h(
          "div",
          { class: "table-wrap admin-products" },
          h(
            "table",
            { class: "table table-cards" },
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, t("admin.image"))),
                h("th", { scope: "col" }, t("admin.name")),
                h("th", { scope: "col", class: "hide-phone" }, t("admin.category")),
                h("th", { scope: "col", class: "num" }, t("admin.price")),
                h("th", { scope: "col" }, t("admin.stock")),
                h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, t("admin.actions"))),
              ),
            ),
            h("tbody", {}, rows.map((row) => productRow(ctx, row))),
          ),
        )
      : h("p", { class: "empty" }, t("admin.noProducts")),
    pages > 1
      ? h(
          "nav",
          { class: "pager", "aria-label": t("page.nav") },
          page > 1 ? h("a", { class: "btn btn-secondary", href: link("/admin/products", { q, page: page - 1 }) }, t("page.prev")) : null,
          h("span", { class: "pager-status" }, t("page.of", { page, pages })),
          page < pages ? h("a", { class: "btn btn-secondary", href: link("/admin/products", { q, page: page + 1 }) }, t("page.next")) : null,
        )
      : null,
  );
}

function productRow(ctx, row) {
  const stockId = `stock-${row.id}`;
  const stock = h("input", { type: "number", id: stockId, min: 0, max: 1000000, value: row.stock_quantity, class: "qty-input", inputmode: "numeric" });
  const save = h("button", { type: "submit", class: "btn btn-secondary btn-small" }, t("admin.saveStock"));
  const remove = h("button", { type: "button", class: "btn btn-ghost btn-small danger" }, t("admin.delete"));
  let armed = false;
  remove.addEventListener("click", async () => {
    if (!armed) {
      armed = true;
      remove.textContent = t("admin.confirmDelete");
      remove.classList.add("is-armed");
      return;
    }
    remove.disabled = true;
    try {
      await api("DELETE", `/api/products/${row.id}`);
      notify(t("admin.deleted"), "success");
      products(ctx);
    } catch (error) {
      remove.disabled = false;
      if (!handleAuthError(error)) notify(describeError(error), "error");
    }
  });
  return h(
    "tr",
    { dataset: { productId: row.id } },
    h("td", { class: "cell-thumb" }, productImage(row, "thumb")),
    h("td", { class: "cell-name" }, h("a", { href: `#/admin/products/${row.id}` }, localized(row, "name")), h("span", { class: "muted block" }, `#${row.id}`)),
    h("td", { class: "hide-phone", dataset: { label: t("admin.category") } }, localized({ name: row.category_name, name_en: row.category_name_en }, "name") || row.category),
    h("td", { class: "num", dataset: { label: t("admin.price") } }, priceTag(row)),
    h(
      "td",
      { dataset: { label: t("admin.stock") } },
      h(
        "form",
        {
          class: "stock-form",
          onsubmit: async (event) => {
            event.preventDefault();
            const n = Number.parseInt(stock.value, 10);
            if (!Number.isInteger(n) || n < 0) {
              notify(t("error.invalid"), "error");
              stock.focus();
              return;
            }
            save.disabled = true;
            try {
              await api("PATCH", `/api/products/${row.id}`, { body: { stock_quantity: n } });
              notify(`${localized(row, "name")}: ${t("admin.saved")}`, "success");
            } catch (error) {
              if (!handleAuthError(error)) notify(describeError(error), "error");
            } finally {
              save.disabled = false;
            }
          },
        },
        h("label", { for: stockId, class: "visually-hidden" }, t("admin.stockLabel", { name: localized(row, "name") })),
        stock,
        save,
      ),
    ),
    h("td", { class: "actions" }, h("a", { class: "btn btn-ghost btn-small", href: `#/admin/products/${row.id}` }, t("admin.edit")), remove),
  );
}

export async function productForm(ctx) {
  if (!allowed(ctx)) return;
  const { main, params } = ctx;
  const isNew = params[0] === "new";
  let product = null;
  let categoryRows = [];
  mount(main, loadingState());
  try {
    const [found, names] = await Promise.all([
      isNew ? null : api("GET", `/api/products/${params[0]}`).then((a) => a.data),
      api("GET", "/api/categories").then((a) => a.data || []).catch(() => []),
    ]);
    product = found;
    categoryRows = names;
  } catch (error) {
    return failed(ctx, error, () => productForm(ctx));
  }
  if (!ctx.isCurrent()) return;

  const input = (id, attrs) => h("input", { id, name: id, ...attrs });
  const name = input("p-name", { type: "text", required: true, maxlength: 255, value: product?.name ?? "" });
  const nameEn = input("p-name-en", { type: "text", maxlength: 255, lang: "en", value: product?.name_en ?? "" });
  const price = input("p-price", { type: "number", required: true, min: 1, step: "0.01", inputmode: "decimal", value: product ? Number(product.price) : "" });
  const listPrice = input("p-list-price", { type: "number", min: 1, step: "0.01", inputmode: "decimal", "aria-describedby": "p-list-price-hint", value: product?.list_price ? Number(product.list_price) : "" });
  const chosenCategory = product?.category ?? "general";
  const category = h(
    "select",
    { id: "p-category", name: "p-category", required: true },
    categoryRows.some((c) => c.slug === chosenCategory) ? null : h("option", { value: "", selected: true, disabled: true }, t("admin.chooseCategory")),
    categoryRows.map((c) => h("option", { value: c.slug, selected: c.slug === chosenCategory }, localized(c, "name"))),
  );
  const stock = input("p-stock", { type: "number", required: true, min: 0, max: 1000000, step: 1, value: product?.stock_quantity ?? 0 });
  const description = h("textarea", { id: "p-description", name: "p-description", rows: 5, maxlength: 10000 });
  description.value = product?.description ?? "";
  const descriptionEn = h("textarea", { id: "p-description-en", name: "p-description-en", rows: 4, maxlength: 10000, lang: "en" });
  descriptionEn.value = product?.description_en ?? "";
  const file = input("p-image", { type: "file", accept: "image/png,image/jpeg,image/webp", "aria-describedby": "p-image-hint" });
  const preview = h("div", { class: "image-preview", "aria-live": "polite" }, product ? productImage(product, "full") : h("p", { class: "muted" }, t("admin.image.none")));
  let previewUrl = null;
  file.addEventListener("change", () => {
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    const chosen = file.files?.[0];
    if (!chosen) return;
    previewUrl = URL.createObjectURL(chosen);
    mount(preview, h("img", { src: previewUrl, alt: `${t("admin.preview")}: ${chosen.name}`, class: "product-image full", id: "image-preview" }));
  });
  const errors = h("div", { class: "form-errors", "aria-live": "assertive" });
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-large" }, isNew ? t("admin.newProduct") : t("admin.save"));
  const form = h(
    "form",
    {
      class: "panel product-form",
      onsubmit: async (event) => {
        event.preventDefault();
        mount(errors);
        submit.disabled = true;
        const body = {
          name: name.value.trim(),
          price: price.value,
          category: category.value,
          stock_quantity: Number.parseInt(stock.value, 10),
          description: description.value,
          name_en: nameEn.value.trim(),
          description_en: descriptionEn.value,
        };
        // A list price puts the product on sale; an emptied one ("0") ends the sale.
        if (listPrice.value) body.list_price = listPrice.value;
        else if (!isNew && product.list_price) body.list_price = "0";
        try {
          const saved = isNew
            ? (await api("POST", "/api/products", { body })).data
            : (await api("PATCH", `/api/products/${product.id}`, { body })).data;
          const chosen = file.files?.[0];
          if (chosen) {
            const form = new FormData();
            form.append("file", chosen, chosen.name);
            try {
              await api("PUT", `/api/products/${saved.id}/image`, { form });
              notify(t("admin.uploaded"), "success");
            } catch (error) {
              if (handleAuthError(error)) return;
              notify(describeError(error), "error");
              go(`/admin/products/${saved.id}`);
              return;
            }
          }
          notify(isNew ? t("admin.created") : t("admin.saved"), "success");
          go(`/admin/products/${saved.id}`, { saved: Date.now() });
        } catch (error) {
          if (handleAuthError(error)) return;
          mount(errors, alertBox(describeError(error)));
        } finally {
          submit.disabled = false;
        }
      },
    },
    h(
      "div",
      { class: "form-grid" },
      h(
        "div",
        { class: "form-fields" },
        h("div", { class: "field" }, h("label", { for: "p-name" }, t("admin.name")), name),
        h("div", { class: "field" }, h("label", { for: "p-name-en" }, t("admin.nameEn")), nameEn),
        h(
          "div",
          { class: "field-row" },
          h("div", { class: "field" }, h("label", { for: "p-price" }, t("admin.price")), price),
          h("div", { class: "field" }, h("label", { for: "p-stock" }, t("admin.stock")), stock),
        ),
        h("div", { class: "field" }, h("label", { for: "p-list-price" }, t("admin.listPrice")), listPrice, h("p", { class: "hint", id: "p-list-price-hint" }, t("admin.listPriceHint"))),
        h("div", { class: "field" }, h("label", { for: "p-category" }, t("admin.category")), category),
        h("div", { class: "field" }, h("label", { for: "p-description" }, t("admin.description")), description),
        h("div", { class: "field" }, h("label", { for: "p-description-en" }, t("admin.descriptionEn")), descriptionEn),
      ),
      h(
        "div",
        { class: "form-media" },
        h("div", { class: "field" }, h("label", { for: "p-image" }, t("admin.image")), file, h("p", { class: "hint", id: "p-image-hint" }, t("admin.imageHint"))),
        h("p", { class: "preview-label" }, t("admin.preview")),
        preview,
      ),
    ),
    errors,
    h(
      "div",
      { class: "form-actions" },
      submit,
      product ? h("a", { class: "btn btn-ghost", href: `#/product/${product.id}` }, t("admin.view")) : null,
    ),
  );
  mount(main, pageTitle(isNew ? t("admin.newProduct") : `${t("admin.editProduct")} #${product.id}`), adminNav("products"), form);
}

// --- orders -------------------------------------------------------------------------------

export async function orders(ctx) {
  if (!allowed(ctx)) return;
  const { main, query } = ctx;
  const status = STATUSES.includes(query.get("status")) ? query.get("status") : "";
  const page = Math.max(1, Number.parseInt(query.get("page") || "1", 10) || 1);
  if (!main.querySelector(".admin-orders")) mount(main, loadingState());
  let rows;
  let carriers;
  try {
    [rows, carriers] = await Promise.all([
      api("GET", "/api/admin/orders", { query: { status, limit: ORDER_PAGE, offset: (page - 1) * ORDER_PAGE } }).then((answer) => answer.data || []),
      api("GET", "/api/delivery/carriers").then((answer) => answer.data || []),
    ]);
  } catch (error) {
    return failed(ctx, error, () => orders(ctx));
  }
  if (!ctx.isCurrent()) return;
  const filter = h(
    "select",
    { id: "status-filter", onchange: () => go("/admin/orders", { status: filter.value }) },
    h("option", { value: "" }, t("admin.allStatuses")),
    STATUSES.map((s) => h("option", { value: s, selected: s === status }, t(`status.${s}`))),
  );
  mount(
    main,
    pageTitle(t("admin.orders")),
    adminNav("orders"),
    h("div", { class: "inline-form" }, h("label", { for: "status-filter" }, t("admin.filterStatus")), filter),
    rows.length
      ? h(
          "div",
          { class: "table-wrap admin-orders", dataset: { filter: status || "all" } },
          h(
            "table",
            { class: "table table-cards" },
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                h("th", { scope: "col" }, t("admin.id")),
                h("th", { scope: "col", class: "hide-phone" }, t("order.date")),
                h("th", { scope: "col", class: "hide-phone" }, t("admin.customer")),
                h("th", { scope: "col" }, t("order.items")),
                h("th", { scope: "col", class: "num" }, t("order.total")),
                h("th", { scope: "col" }, t("order.status")),
                h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, t("admin.actions"))),
              ),
            ),
            h("tbody", {}, rows.map((order) => orderRow(ctx, order, carriers))),
          ),
        )
      : h("p", { class: "empty" }, t("admin.noOrders")),
    page > 1 || rows.length === ORDER_PAGE
      ? h(
          "nav",
          { class: "pager", "aria-label": t("page.nav") },
          page > 1 ? h("a", { class: "btn btn-secondary", href: link("/admin/orders", { status, page: page - 1 }) }, t("page.prev")) : null,
          rows.length === ORDER_PAGE ? h("a", { class: "btn btn-secondary", href: link("/admin/orders", { status, page: page + 1 }) }, t("page.next")) : null,
        )
      : null,
  );
}

/** The staff's ship dialog: a carrier from the shop's list and the tracking number. */
function shipDialog(order, carriers, done) {
  const errors = h("div", { class: "form-errors", "aria-live": "assertive" });
  const carrier = h(
    "select",
    { id: "ship-carrier", name: "carrier", required: true },
    carriers.map((c) => h("option", { value: c.code }, carrierName(c))),
  );
  const tracking = h("input", { type: "text", id: "ship-tracking", name: "trackingNumber", required: true, maxlength: 32, inputmode: "numeric", autocomplete: "off" });
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, t("admin.ship"));
  const dialog = h(
    "dialog",
    { class: "ship-dialog", "aria-labelledby": "ship-title" },
    h(
      "form",
      {
        method: "dialog",
        onsubmit: async (event) => {
          event.preventDefault();
          const number = tracking.value.trim();
          if (!TRACKING_NUMBER.test(number)) {
            mount(errors, alertBox(t("shipment.badTracking")));
            tracking.focus();
            return;
          }
          submit.disabled = true;
          try {
            const body = { carrier: carrier.value, trackingNumber: number };
            const updated = (await api("POST", `/api/admin/orders/${order.id}/ship`, { body })).data;
            dialog.close();
            dialog.remove();
            done(updated);
          } catch (error) {
            submit.disabled = false;
            if (handleAuthError(error)) return;
            mount(errors, alertBox(describeError(error)));
            tracking.focus();
          }
        },
      },
      h("h2", { id: "ship-title" }, `${t("admin.ship")}: ${t("order.title", { id: order.id })}`),
      h("div", { class: "field" }, h("label", { for: "ship-carrier" }, t("shipment.carrier")), carrier),
      h("div", { class: "field" }, h("label", { for: "ship-tracking" }, t("shipment.tracking")), tracking),
      errors,
      h(
        "div",
        { class: "actions" },
        submit,
        h("button", { type: "button", class: "btn btn-ghost", onclick: () => { dialog.close(); dialog.remove(); } }, t("admin.close")),
      ),
    ),
  );
  document.body.append(dialog);
  dialog.showModal();
  tracking.focus();
}

function orderRow(ctx, order, carriers) {
  const statusCell = h("td", { dataset: { label: t("order.status") } }, statusBadge(order.status));
  const actionCell = h("td", { class: "actions" });
  const draw = (current) => {
    mount(statusCell, statusBadge(current.status));
    const label = (key) => `${t(key)}: ${t("order.title", { id: current.id })}`;
    const after = (key) => (updated) => {
      notify(t(key, { id: current.id }), "success");
      draw(updated);
      actionCell.querySelector("button")?.focus();
    };
    const post = (action, key) => async (event) => {
      const button = event.currentTarget;
      button.disabled = true;
      try {
        after(key)((await api("POST", `/api/admin/orders/${current.id}/${action}`)).data);
      } catch (error) {
        button.disabled = false;
        if (!handleAuthError(error)) notify(describeError(error), "error");
      }
    };
    if (current.status === "paid") {
      const refund = h("button", { type: "button", class: "btn btn-ghost btn-small danger", "aria-label": label("admin.refund") }, t("admin.refund"));
      let armed = false;
      refund.addEventListener("click", (event) => {
        if (!armed) {
          armed = true;
          refund.textContent = t("admin.confirmRefund");
          refund.classList.add("is-armed");
          return;
        }
        post("refund", "admin.refunded")(event);
      });
      return mount(
        actionCell,
        h("button", { type: "button", class: "btn btn-secondary btn-small", "aria-label": label("admin.ship"), onclick: () => shipDialog(current, carriers, after("admin.shipped")) }, t("admin.ship")),
        refund,
      );
    }
    if (current.status === "shipped") {
      return mount(actionCell, h("button", { type: "button", class: "btn btn-secondary btn-small", "aria-label": label("admin.deliver"), onclick: post("deliver", "admin.delivered") }, t("admin.deliver")));
    }
    mount(actionCell);
  };
  draw(order);
  const items = order.lines.map((line) => `${line.product_name} × ${line.quantity}`).join(", ");
  return h(
    "tr",
    { dataset: { orderId: order.id } },
    h("td", { class: "cell-name" }, `#${order.id}`),
    h("td", { class: "hide-phone", dataset: { label: t("order.date") } }, dateTime(order.created_at)),
    // Whom it goes to (the order's own copy of the address); the account number until there is one.
    h("td", { dataset: { label: t("admin.customer") } }, order.address ? `${order.address.recipient} · ${order.address.address1}` : `#${order.user_id}`),
    h("td", { class: "cell-items", dataset: { label: t("order.items") } }, items),
    h("td", { class: "num", dataset: { label: t("order.total") } }, money(order.total_amount)),
    statusCell,
    actionCell,
  );
}

// --- categories ---------------------------------------------------------------------------

export async function categories(ctx) {
  if (!allowed(ctx)) return;
  const { main } = ctx;
  if (!main.querySelector(".admin-categories")) mount(main, loadingState());
  let rows;
  try {
    rows = (await api("GET", "/api/categories")).data || [];
  } catch (error) {
    return failed(ctx, error, () => categories(ctx));
  }
  if (!ctx.isCurrent()) return;
  const errors = h("div", { class: "form-errors", "aria-live": "assertive" });
  const name = h("input", { id: "c-name", type: "text", required: true, maxlength: 100 });
  const nameEn = h("input", { id: "c-name-en", type: "text", required: true, maxlength: 100, lang: "en", "aria-describedby": "c-hint" });
  const add = h("button", { type: "submit", class: "btn btn-primary" }, t("admin.newCategory"));
  const form = h(
    "form",
    {
      class: "panel category-form",
      onsubmit: async (event) => {
        event.preventDefault();
        mount(errors);
        add.disabled = true;
        try {
          await api("POST", "/api/admin/categories", { body: { name: name.value.trim(), name_en: nameEn.value.trim() } });
          notify(t("admin.categoryAdded"), "success");
          categories(ctx);
        } catch (error) {
          if (!handleAuthError(error)) mount(errors, alertBox(describeError(error)));
        } finally {
          add.disabled = false;
        }
      },
    },
    h("h2", {}, t("admin.newCategory")),
    h(
      "div",
      { class: "field-row" },
      h("div", { class: "field" }, h("label", { for: "c-name" }, t("admin.categoryName")), name),
      h("div", { class: "field" }, h("label", { for: "c-name-en" }, t("admin.categoryNameEn")), nameEn),
    ),
    h("p", { class: "hint", id: "c-hint" }, t("admin.categoryHint")),
    errors,
    h("div", { class: "form-actions" }, add),
  );
  mount(
    main,
    pageTitle(t("admin.categories")),
    adminNav("categories"),
    form,
    rows.length
      ? h(
          "div",
          { class: "table-wrap admin-categories" },
          h(
            "table",
            { class: "table table-cards" },
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                h("th", { scope: "col" }, t("admin.categoryName")),
                h("th", { scope: "col" }, t("admin.categoryNameEn")),
                h("th", { scope: "col" }, t("admin.categorySlug")),
                h("th", { scope: "col", class: "num" }, t("admin.categoryProducts")),
                h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, t("admin.actions"))),
              ),
            ),
            h("tbody", {}, rows.map((row) => categoryRow(ctx, row))),
          ),
        )
      : h("p", { class: "empty" }, t("admin.noCategories")),
    h("p", { class: "hint" }, t("admin.deleteWhenEmpty")),
  );
}

function categoryRow(ctx, row) {
  const nameId = `c-name-${row.id}`;
  const nameEnId = `c-name-en-${row.id}`;
  const name = h("input", { id: nameId, type: "text", required: true, maxlength: 100, value: row.name });
  const nameEn = h("input", { id: nameEnId, type: "text", required: true, maxlength: 100, lang: "en", value: row.name_en });
  const rename = h("button", { type: "submit", class: "btn btn-secondary btn-small", form: `c-form-${row.id}` }, t("admin.rename"));
  const remove = h("button", { type: "button", class: "btn btn-ghost btn-small danger", disabled: row.products > 0, title: row.products > 0 ? t("admin.deleteWhenEmpty") : null }, t("admin.delete"));
  let armed = false;
  remove.addEventListener("click", async () => {
    if (!armed) {
      armed = true;
      remove.textContent = t("admin.confirmDelete");
      remove.classList.add("is-armed");
      return;
    }
    remove.disabled = true;
    try {
      await api("DELETE", `/api/admin/categories/${row.id}`);
      notify(t("admin.categoryDeleted"), "success");
      categories(ctx);
    } catch (error) {
      remove.disabled = false;
      if (!handleAuthError(error)) notify(describeError(error), "error");
    }
  });
  const form = h("form", {
    id: `c-form-${row.id}`,
    class: "visually-hidden",
    onsubmit: async (event) => {
      event.preventDefault();
      rename.disabled = true;
      try {
        await api("PUT", `/api/admin/categories/${row.id}`, { body: { name: name.value.trim(), name_en: nameEn.value.trim() } });
        notify(t("admin.categoryRenamed"), "success");
        categories(ctx);
      } catch (error) {
        if (!handleAuthError(error)) notify(describeError(error), "error");
      } finally {
        rename.disabled = false;
      }
    },
  });
  name.setAttribute("form", form.id);
  nameEn.setAttribute("form", form.id);
  return h(
    "tr",
    { dataset: { categoryId: row.id, slug: row.slug } },
    h("td", { class: "cell-name", dataset: { label: t("admin.categoryName") } }, h("label", { for: nameId, class: "visually-hidden" }, t("admin.categoryName")), name, form),
    h("td", { dataset: { label: t("admin.categoryNameEn") } }, h("label", { for: nameEnId, class: "visually-hidden" }, t("admin.categoryNameEn")), nameEn),
    h("td", { dataset: { label: t("admin.categorySlug") } }, h("code", {}, row.slug)),
    h("td", { class: "num", dataset: { label: t("admin.categoryProducts") } }, h("a", { href: link("/", { category: row.slug }) }, tn("admin.categoryCount", row.products))),
    h("td", { class: "actions" }, rename, remove),
  );
}
