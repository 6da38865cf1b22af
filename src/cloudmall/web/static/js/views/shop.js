// The shop window: the product grid with search, categories, sorting and pages; a product page.

import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { localized, t, tn } from "../i18n.js";
import { go, link } from "../router.js";
import { addToCart, getCart, refreshCartLine } from "../store.js";
import {
  alertBox,
  errorPage,
  loadingState,
  notify,
  pageTitle,
  priceTag,
  productImage,
  stockBadge,
} from "../ui.js";

const PAGE_SIZE = 12;
const SORTS = ["id", "newest", "price", "-price", "name"];
let categoriesCache = null;

async function loadCategories() {
  if (!categoriesCache) {
    const { data } = await api("GET", "/api/categories");
    categoriesCache = Array.isArray(data) ? data : [];
    setTimeout(() => {
      categoriesCache = null; // admins add categories; look again on a later visit
    }, 60_000);
  }
  return categoriesCache;
}

function cartQuantity(productId) {
  return getCart().find((line) => line.productId === productId)?.quantity ?? 0;
}

/** Put one more unit in the cart, keeping within the stock the shopper was shown. */
function addOne(product, quantity = 1) {
  const room = product.stock_quantity - cartQuantity(product.id);
  if (room < quantity) {
    notify(t("cart.onlyLeft", { n: product.stock_quantity }), "error");
    return false;
  }
  addToCart(product, quantity);
  notify(t("product.added", { name: localized(product, "name") }), "success");
  return true;
}

/** The category's name in the shopper's language (its slug if it has no names yet). */
function categoryName(product) {
  return localized({ name: product.category_name, name_en: product.category_name_en }, "name") || product.category;
}

function productCard(product) {
  const soldOut = product.stock_quantity <= 0;
  const name = localized(product, "name");
  return h(
    "li",
    { class: `card${soldOut ? " is-sold-out" : ""}`, dataset: { productId: product.id } },
    h(
      "a",
      { href: `#/product/${product.id}`, class: "card-link" },
      h("div", { class: "card-media" }, productImage(product, "thumb")),
      h(
        "div",
        { class: "card-body" },
        h("p", { class: "card-category" }, categoryName(product)),
        h("h2", { class: "card-title" }, name),
        h(
          "div",
          { class: "card-meta" },
          priceTag(product),
          // The list is cached and stock moves: the grid says "few left", the product page the count.
          stockBadge(product.stock_quantity, { exact: false }),
        ),
      ),
    ),
    h(
      "button",
      {
        type: "button",
        class: "btn btn-secondary btn-small card-add",
        disabled: soldOut,
        "aria-label": `${t("product.addToCart")}: ${name}`,
        onclick: () => addOne(product),
      },
      soldOut ? t("stock.out") : t("product.addToCart"),
    ),
  );
}

export async function home(ctx) {
  const { main, query } = ctx;
  const q = query.get("q") || "";
  const category = query.get("category") || "";
  const sort = SORTS.includes(query.get("sort")) ? query.get("sort") : "id";
  const page = Math.max(1, Number.parseInt(query.get("page") || "1", 10) || 1);
  const state = { q, category, sort };
  if (!main.querySelector(".product-grid")) mount(main, loadingState());
  let products;
  let total;
  let categories;
  try {
    const [listed, names] = await Promise.all([
      api("GET", "/api/products", {
        query: { q, category, sort, limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE },
      }),
      loadCategories().catch(() => []),
    ]);
    products = listed.data || [];
    total = Number(listed.headers.get("X-Total-Count") ?? products.length);
    categories = names;
  } catch (error) {
    if (ctx.isCurrent()) errorPage(main, error, () => home(ctx));
    return;
  }
  if (!ctx.isCurrent()) return;
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const filtered = q || category;
  const shown = categories.filter((c) => c.products > 0 || c.slug === category);
  const current = categories.find((c) => c.slug === category);

  const chips = h(
    "ul",
    { class: "chips" },
    [null, ...shown].map((c) =>
      h(
        "li",
        {},
        h(
          "a",
          {
            class: "chip",
            href: link("/", { ...state, category: c ? c.slug : "", page: "" }),
            "aria-current": (c ? c.slug : "") === category ? "true" : null,
          },
          c ? localized(c, "name") : t("filter.all"),
        ),
      ),
    ),
  );
  const sortSelect = h(
    "select",
    { id: "sort", onchange: () => go("/", { ...state, sort: sortSelect.value, page: "" }) },
    SORTS.map((value) => h("option", { value, selected: value === sort }, t(`sort.${value}`))),
  );

  mount(
    main,
    !filtered && page === 1
      ? h(
          "section",
          { class: "hero" },
          h("p", { class: "hero-kicker" }, "cloudmall"),
          h("p", { class: "hero-text" }, t("brand.tagline")),
        )
      : null,
    pageTitle(
      q ? t("home.resultsFor", { q }) : current ? localized(current, "name") : category || t("home.title"),
      h("p", { class: "muted", id: "result-count", "aria-live": "polite" }, tn("home.count", total)),
    ),
    h(
      "div",
      { class: "toolbar" },
      h("nav", { class: "chips-wrap", "aria-label": t("filter.categories") }, chips),
      h(
        "div",
        { class: "sort" },
        h("label", { for: "sort" }, t("sort.label")),
        sortSelect,
      ),
    ),
    products.length
      ? h("ul", { class: "product-grid" }, products.map(productCard))
      : h(
          "div",
          { class: "empty" },
          h("p", {}, t("home.empty")),
          filtered ? h("a", { class: "btn", href: "#/" }, t("home.clear")) : null,
        ),
    pages > 1 ? pager(page, pages, state) : null,
  );
}

function pager(page, pages, state) {
  return h(
    "nav",
    { class: "pager", "aria-label": t("page.nav") },
    page > 1
      ? h("a", { class: "btn btn-secondary", rel: "prev", href: link("/", { ...state, page: page - 1 }) }, t("page.prev"))
      : h("span", { class: "btn btn-secondary is-disabled", "aria-disabled": "true" }, t("page.prev")),
    h("span", { class: "pager-status" }, t("page.of", { page, pages })),
    page < pages
      ? h("a", { class: "btn btn-secondary", rel: "next", href: link("/", { ...state, page: page + 1 }) }, t("page.next"))
      : h("span", { class: "btn btn-secondary is-disabled", "aria-disabled": "true" }, t("page.next")),
  );
}

export async function product(ctx) {
  const { main, params } = ctx;
  const id = Number(params[0]);
  mount(main, loadingState());
  let item;
  try {
    item = (await api("GET", `/api/products/${id}`)).data;
  } catch (error) {
    if (!ctx.isCurrent()) return;
    if (error.code === "not_found") {
      mount(
        main,
        h(
          "section",
          { class: "page-state" },
          h("h1", { tabindex: "-1" }, t("product.notFound")),
          h("a", { class: "btn", href: "#/" }, t("product.back")),
        ),
      );
    } else errorPage(main, error, () => product(ctx));
    return;
  }
  if (!ctx.isCurrent()) return;
  refreshCartLine(item);
  const soldOut = item.stock_quantity <= 0;
  const quantity = h("input", {
    type: "number",
    id: "quantity",
    min: 1,
    max: Math.max(1, item.stock_quantity),
    value: 1,
    inputmode: "numeric",
    disabled: soldOut,
  });
  const after = h("div", { class: "after-add", "aria-live": "polite" });
  const addButton = h(
    "button",
    {
      type: "submit",
      class: "btn btn-primary btn-large",
      disabled: soldOut,
    },
    soldOut ? t("stock.out") : t("product.addToCart"),
  );
  const form = h(
    "form",
    {
      class: "buy-box",
      onsubmit: (event) => {
        event.preventDefault();
        const n = Number.parseInt(quantity.value, 10);
        if (!Number.isInteger(n) || n < 1) {
          mount(after, alertBox(t("error.invalid")));
          return;
        }
        if (addOne(item, n)) {
          mount(after, h("a", { class: "btn btn-secondary", href: "#/cart" }, t("product.goToCart")));
        } else {
          mount(after, alertBox(t("cart.onlyLeft", { n: item.stock_quantity })));
        }
      },
    },
    h(
      "div",
      { class: "field field-inline" },
      h("label", { for: "quantity" }, t("product.quantity")),
      quantity,
    ),
    addButton,
    after,
  );
  mount(
    main,
    h("a", { class: "back-link", href: "#/" }, t("product.back")),
    h(
      "article",
      { class: "product-detail" },
      h("div", { class: "product-detail-media" }, productImage(item, "full")),
      h(
        "div",
        { class: "product-detail-info" },
        h("p", { class: "card-category" }, h("a", { href: link("/", { category: item.category }) }, categoryName(item))),
        h("h1", { tabindex: "-1" }, localized(item, "name")),
        priceTag(item, { large: true }),
        h("p", { class: "stock-line" }, stockBadge(item.stock_quantity)),
        h("p", { class: "description" }, localized(item, "description")),
        form,
      ),
    ),
  );
}
