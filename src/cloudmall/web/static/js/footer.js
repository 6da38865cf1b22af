// Every page's footer: the business behind the shop (전자상거래법 requires it to be shown), from
// GET /api/shop/info, and the links to the terms and the privacy policy.

import { api } from "./api.js";
import { h, mount } from "./dom.js";
import { t } from "./i18n.js";

let info = null;
let asked = null;

function fact(label, value) {
  return value ? h("span", { class: "business-fact" }, `${label}: ${value}`) : null;
}

function draw(footer, user) {
  const b = info?.business;
  mount(
    footer,
    h(
      "div",
      { class: "container footer-inner" },
      h(
        "nav",
        { class: "footer-links", "aria-label": t("footer.links") },
        h("a", { href: "#/terms" }, t("legal.terms.title")),
        " · ",
        h("a", { href: "#/privacy" }, h("strong", {}, t("legal.privacy.title"))),
      ),
      b
        ? h(
            "address",
            { class: "business", id: "business-info" },
            h("strong", {}, b.name),
            fact(t("footer.representative"), b.representative),
            fact(t("footer.registration"), b.registration_number),
            fact(t("footer.mailOrder"), b.mail_order_number),
            fact(t("footer.address"), b.address),
            h(
              "span",
              { class: "business-fact" },
              `${t("footer.customerService")}: `,
              h("a", { href: `tel:${b.phone.replace(/[^0-9+]/g, "")}` }, b.phone),
              " · ",
              h("a", { href: `mailto:${b.email}` }, b.email),
            ),
          )
        : null,
      h("p", { class: "muted" }, t("footer.note")),
      user ? h("p", { class: "muted" }, t("nav.hello", { name: user.name })) : null,
    ),
  );
}

/** Draw the footer now, and again once the business details have arrived (asked once). */
export function renderFooter(footer, user) {
  draw(footer, user);
  if (info || asked) return;
  asked = api("GET", "/api/shop/info")
    .then(({ data }) => {
      info = data;
      draw(footer, user);
    })
    .catch(() => {
      asked = null; // the page works without it; the next render asks again
    });
}

