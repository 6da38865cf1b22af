// The storefront's entry point: header, footer, language toggle and the hash router.

import { h, mount } from "./dom.js";
import { getLang, setLang, t, tn } from "./i18n.js";
import { logOut } from "./api.js";
import { renderFooter as drawFooter } from "./footer.js";
import { currentRoute, go, link, rerender } from "./router.js";
import { cartCount, changes, currentUser, isAdmin } from "./store.js";
import { clearNotice, notify } from "./ui.js";
import * as account from "./views/account.js";
import * as admin from "./views/admin.js";
import * as cart from "./views/cart.js";
import * as legal from "./views/legal.js";
import * as profile from "./views/profile.js";
import * as password from "./views/password.js";
import * as delivery from "./views/delivery.js";
import * as shop from "./views/shop.js";

const ROUTES = [
  [/^\/$/, shop.home],
  [/^\/product\/(\d+)$/, shop.product],
  [/^\/cart$/, cart.cartPage],
  [/^\/checkout$/, cart.checkout],
  [/^\/orders$/, account.myOrders],
  [/^\/orders\/(\d+)$/, account.orderPage],
  [/^\/account\/addresses$/, delivery.addressBook],
  [/^\/login$/, account.logIn],
  [/^\/signup$/, account.signUp],
  [/^\/account$/, profile.accountPage],
  [/^\/terms$/, legal.terms],
  [/^\/privacy$/, legal.privacy],
  [/^\/password$/, password.changePassword],
  [/^\/forgot-password$/, password.forgotPassword],
  [/^\/reset-password$/, password.resetPassword],
  [/^\/admin$/, admin.overview],
  [/^\/admin\/products$/, admin.products],
  [/^\/admin\/products\/(new|\d+)$/, admin.productForm],
  [/^\/admin\/orders$/, admin.orders],
  [/^\/admin\/categories$/, admin.categories],
];

const main = document.getElementById("main");
const header = document.getElementById("site-header");
const footer = document.getElementById("site-footer");
let renderCount = 0;
let lastPath = null;

function navLink(href, label, extra = {}) {
  const here = currentRoute().path;
  const target = href.replace(/^#/, "").split("?")[0];
  const active = target === "/" ? here === "/" : here === target || here.startsWith(`${target}/`);
  return h("a", { href, class: "nav-link", "aria-current": active ? "page" : null, ...extra }, label);
}

function loginNext() {
  const here = currentRoute();
  return here.path === "/login" || here.path === "/signup" ? here.query.get("next") || "" : here.raw;
}

function renderHeader() {
  const user = currentUser();
  const count = cartCount();
  const query = currentRoute().query;
  const search = h("input", {
    type: "search",
    id: "search-input",
    name: "q",
    placeholder: t("search.placeholder"),
    value: currentRoute().path === "/" ? query.get("q") || "" : "",
    autocomplete: "off",
  });
  const form = h(
    "form",
    {
      class: "search",
      role: "search",
      onsubmit: (event) => {
        event.preventDefault();
        go("/", { q: search.value.trim() });
      },
    },
    h("label", { for: "search-input", class: "visually-hidden" }, t("search.label")),
    search,
    h("button", { type: "submit", class: "search-button" }, t("search.button")),
  );
  const langButton = h(
    "button",
    {
      type: "button",
      class: "lang-toggle",
      lang: getLang() === "ko" ? "en" : "ko",
      "aria-label": t("lang.switchLabel"),
      onclick: () => {
        setLang(getLang() === "ko" ? "en" : "ko");
        renderChrome();
        render({ keepFocus: true });
        document.querySelector(".lang-toggle")?.focus();
      },
    },
    t("lang.switch"),
  );
  const nav = h(
    "nav",
    { class: "nav", "aria-label": t("nav.main") },
    navLink(
      "#/cart",
      [
        h("span", { class: "nav-label" }, t("nav.cart")),
        count ? h("span", { class: "cart-count", "aria-hidden": "true" }, count) : null,
      ],
      { "aria-label": count ? tn("nav.cartCount", count) : t("nav.cart"), id: "cart-link" },
    ),
    user ? navLink("#/orders", t("nav.orders")) : null,
    user ? navLink("#/account", t("nav.account")) : null,
    user ? navLink("#/account/addresses", t("nav.addresses")) : null,
    isAdmin() ? navLink("#/admin", t("nav.admin")) : null,
    user
      ? h(
          "button",
          {
            type: "button",
            class: "nav-link nav-button",
            onclick: async () => {
              await logOut();
              notify(t("auth.loggedOut"));
              go("/");
            },
          },
          t("nav.logout"),
        )
      : navLink(link("/login", { next: loginNext() }), t("nav.login")),
  );
  mount(
    header,
    h(
      "div",
      { class: "container header-inner" },
      h(
        "a",
        { class: "brand", href: "#/" },
        h("img", { src: "favicon.svg", alt: "", width: 32, height: 32, class: "brand-mark" }),
        h("span", { class: "brand-name" }, "cloudmall"),
      ),
      form,
      nav,
      langButton,
    ),
  );
}

function renderFooter() {
  drawFooter(footer, currentUser());
}

function renderChrome() {
  document.title = "cloudmall";
  document.querySelector(".skip-link").textContent = t("skip");
  renderHeader();
  renderFooter();
}

async function render({ keepFocus = false } = {}) {
  const route = currentRoute();
  const token = ++renderCount;
  const pathChanged = lastPath !== null && lastPath !== route.path;
  lastPath = route.path;
  if (pathChanged) clearNotice();
  renderHeader();
  let view = null;
  let params = [];
  for (const [pattern, handler] of ROUTES) {
    const match = pattern.exec(route.path);
    if (match) {
      view = handler;
      params = match.slice(1);
      break;
    }
  }
  const ctx = {
    main,
    params,
    query: route.query,
    isCurrent: () => token === renderCount,
  };
  main.setAttribute("aria-busy", "true");
  try {
    if (view) await view(ctx);
    else
      mount(
        main,
        h(
          "section",
          { class: "page-state" },
          h("h1", { tabindex: "-1" }, t("error.pageNotFound")),
          h("a", { href: "#/", class: "btn" }, t("product.back")),
        ),
      );
  } finally {
    if (token === renderCount) main.removeAttribute("aria-busy");
  }
  if (token === renderCount && pathChanged && !keepFocus) {
    window.scrollTo(0, 0);
    main.querySelector("h1")?.focus({ preventScroll: true });
  }
}

window.addEventListener("hashchange", () => render());
rerender.addEventListener("render", () => render());
changes.addEventListener("cart", renderHeader);
changes.addEventListener("session", () => {
  renderHeader();
  renderFooter();
});
window.addEventListener("storage", () => {
  renderHeader();
  renderFooter();
});

// The skip link must not touch the hash (the router owns it): move focus to the content instead.
document.querySelector(".skip-link").addEventListener("click", (event) => {
  event.preventDefault();
  (main.querySelector("h1") || main).focus();
});

renderChrome();
render();
