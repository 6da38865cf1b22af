// Delivery: the address form (checkout, an order's pending address, the address book), an
// order's address and shipment as facts, and the address book page.

import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { getLang, t } from "../i18n.js";
import { handleAuthError, requireLogin } from "../router.js";
import { alertBox, describeError, errorPage, loadingState, notify, pageTitle } from "../ui.js";

const POSTAL_CODE = /^\d{5}$/;
const PHONE = /^0\d{1,2}-?\d{3,4}-?\d{4}$/;

function input(id, attrs) {
  return h("input", { type: "text", id, name: id, ...attrs });
}

/**
 * The Korean address fields (받는 분, 연락처, 우편번호, 기본주소, 상세주소), filled from `prefill`
 * (an address as the API answers it). `value()` is the API's body, or null (with the first wrong
 * field focused and its message in `errors`) if a field breaks its rule.
 */
export function addressFields(prefix, prefill = null, errors = null) {
  const recipient = input(`${prefix}-recipient`, { autocomplete: "name", required: true, maxlength: 50, value: prefill?.recipient ?? "" });
  const phone = input(`${prefix}-phone`, { type: "tel", autocomplete: "tel", required: true, maxlength: 13, placeholder: "010-1234-5678", value: prefill?.phone ?? "" });
  const postal = input(`${prefix}-postal`, { inputmode: "numeric", autocomplete: "postal-code", required: true, maxlength: 5, placeholder: "06236", value: prefill?.postal_code ?? "" });
  const line1 = input(`${prefix}-address1`, { autocomplete: "address-line1", required: true, maxlength: 200, value: prefill?.address1 ?? "" });
  const line2 = input(`${prefix}-address2`, { autocomplete: "address-line2", maxlength: 200, value: prefill?.address2 ?? "" });
  const field = (el, key) => h("div", { class: "field" }, h("label", { for: el.id }, t(key)), el);
  const element = h(
    "fieldset",
    { class: "address-fields" },
    h("legend", {}, t("address.legend")),
    field(recipient, "address.recipient"),
    field(phone, "address.phone"),
    field(postal, "address.postalCode"),
    field(line1, "address.address1"),
    field(line2, "address.address2"),
  );
  function refuse(el, key) {
    if (errors) mount(errors, alertBox(t(key)));
    el.focus();
    return null;
  }
  function value() {
    if (!recipient.value.trim()) return refuse(recipient, "address.needRecipient");
    if (!PHONE.test(phone.value.trim())) return refuse(phone, "address.badPhone");
    if (!POSTAL_CODE.test(postal.value.trim())) return refuse(postal, "address.badPostalCode");
    if (!line1.value.trim()) return refuse(line1, "address.needAddress1");
    return {
      recipient: recipient.value.trim(),
      phone: phone.value.trim(),
      postalCode: postal.value.trim(),
      address1: line1.value.trim(),
      address2: line2.value.trim(),
    };
  }
  return { element, value };
}

/** One line of an address: (06236) 서울 강남구 테헤란로 152 12층 */
export function addressLine(address) {
  return `(${address.postal_code}) ${address.address1}${address.address2 ? ` ${address.address2}` : ""}`;
}

export function carrierName(carrier) {
  return getLang() === "ko" ? carrier.name_ko : carrier.name_en;
}

/** The order's address and shipment as <dt>/<dd> pairs for a facts list. */
export function deliveryFacts(order) {
  return [
    h("dt", {}, t("address.title")),
    h(
      "dd",
      { id: "order-address" },
      order.address
        ? [h("span", { class: "block" }, `${order.address.recipient} · ${order.address.phone}`), h("span", { class: "block" }, addressLine(order.address))]
        : t("address.pending"),
    ),
    order.shipment ? h("dt", {}, t("shipment.carrier")) : null,
    order.shipment ? h("dd", { id: "order-carrier" }, carrierName(order.shipment.carrier)) : null,
    order.shipment ? h("dt", {}, t("shipment.tracking")) : null,
    order.shipment ? h("dd", { id: "order-tracking" }, order.shipment.tracking_number) : null,
  ];
}

/** The customer's default address (or the first), or null; an unreadable book reads as empty. */
export async function defaultAddress() {
  try {
    const book = (await api("GET", "/api/account/addresses")).data || [];
    return book.find((a) => a.is_default) ?? book[0] ?? null;
  } catch (error) {
    if (handleAuthError(error)) throw error;
    return null;
  }
}

export async function addressBook(ctx) {
  const { main } = ctx;
  if (!requireLogin()) return;
  mount(main, loadingState());
  let book;
  try {
    book = (await api("GET", "/api/account/addresses")).data || [];
  } catch (error) {
    if (!ctx.isCurrent() || handleAuthError(error)) return;
    return errorPage(main, error, () => addressBook(ctx));
  }
  if (!ctx.isCurrent()) return;
  const errors = h("div", { class: "form-errors", "aria-live": "assertive" });
  const fields = addressFields("new", null, errors);
  const makeDefault = h("input", { type: "checkbox", id: "new-default", name: "makeDefault" });
  const save = h("button", { type: "submit", class: "btn btn-primary" }, t("address.add"));

  async function act(button, work) {
    button.disabled = true;
    try {
      await work();
      await addressBook(ctx);
    } catch (error) {
      button.disabled = false;
      if (!ctx.isCurrent() || handleAuthError(error)) return;
      mount(errors, alertBox(describeError(error)));
    }
  }

  const rows = book.map((saved) =>
    h(
      "li",
      { class: "address-card panel", dataset: { addressId: saved.id } },
      h("p", {}, h("strong", {}, saved.recipient), ` · ${saved.phone}`, saved.is_default ? h("span", { class: "status status-paid default-badge" }, t("address.default")) : null),
      h("p", { class: "muted" }, addressLine(saved)),
      h(
        "div",
        { class: "actions" },
        saved.is_default
          ? null
          : h(
              "button",
              {
                type: "button",
                class: "btn btn-secondary btn-small",
                onclick: (event) => act(event.currentTarget, () => api("PUT", `/api/account/addresses/${saved.id}/default`)),
              },
              t("address.makeDefault"),
            ),
        h(
          "button",
          {
            type: "button",
            class: "btn btn-ghost btn-small",
            "aria-label": `${t("address.delete")}: ${addressLine(saved)}`,
            onclick: (event) =>
              act(event.currentTarget, async () => {
                await api("DELETE", `/api/account/addresses/${saved.id}`);
                notify(t("address.deleted"));
              }),
          },
          t("address.delete"),
        ),
      ),
    ),
  );
  const form = h(
    "form",
    {
      class: "panel address-form",
      onsubmit: (event) => {
        event.preventDefault();
        const body = fields.value();
        if (!body) return;
        act(save, async () => {
          await api("POST", "/api/account/addresses", { body: { ...body, makeDefault: makeDefault.checked } });
          notify(t("address.added"), "success");
        });
      },
    },
    h("h2", {}, t("address.new")),
    fields.element,
    h("div", { class: "field field-check" }, makeDefault, h("label", { for: "new-default" }, t("address.setDefault"))),
    errors,
    save,
  );
  mount(
    main,
    pageTitle(t("address.book")),
    book.length ? h("ul", { class: "address-list" }, rows) : h("p", { class: "empty" }, t("address.none")),
    form,
  );
}
