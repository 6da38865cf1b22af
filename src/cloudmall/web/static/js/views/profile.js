// The account page (#/account): the profile (name, phone), a new password, what was agreed to at
// sign-up, and the place the address book goes.

import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { dateTime, t } from "../i18n.js";
import { handleAuthError, link, requireLogin } from "../router.js";
import { setSession } from "../store.js";
import { alertBox, describeError, errorPage, loadingState, notify, pageTitle } from "../ui.js";

function field(id, label, input, hint) {
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    input,
    hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null,
  );
}

/** A form that sends itself with `submit(errors)`, showing failures in its own alert area. */
function sendingForm(ctx, { id, title, button, submit }, ...fields) {
  const errors = h("div", { class: "form-errors", "aria-live": "assertive" });
  const send = h("button", { type: "submit", class: "btn btn-primary" }, button);
  return h(
    "form",
    {
      class: "panel account-form",
      id,
      "aria-labelledby": `${id}-title`,
      onsubmit: async (event) => {
        event.preventDefault();
        mount(errors);
        send.disabled = true;
        try {
          await submit();
        } catch (error) {
          if (!ctx.isCurrent() || handleAuthError(error)) return;
          mount(errors, alertBox(describeError(error, { context: id })));
        } finally {
          send.disabled = false;
        }
      },
    },
    h("h2", { id: `${id}-title` }, title),
    ...fields,
    errors,
    send,
  );
}

function profileForm(ctx, profile) {
  const name = h("input", { type: "text", id: "profile-name", name: "name", autocomplete: "name", required: true, maxlength: 100, value: profile.name });
  const phone = h("input", {
    type: "tel",
    id: "profile-phone",
    name: "phone",
    autocomplete: "tel",
    inputmode: "tel",
    maxlength: 32,
    pattern: "\\+?[0-9][0-9 \\-]{5,30}[0-9]",
    value: profile.phone,
    "aria-describedby": "profile-phone-hint",
  });
  return sendingForm(
    ctx,
    {
      id: "profile-form",
      title: t("account.profile"),
      button: t("account.save"),
      submit: async () => {
        const body = { name: name.value.trim(), phone: phone.value.trim() };
        const { data } = await api("PATCH", "/api/account/profile", { body });
        name.value = data.name;
        phone.value = data.phone;
        notify(t("account.saved"), "success");
      },
    },
    h("p", { class: "muted" }, `${t("auth.email")}: `, h("span", { id: "profile-email" }, profile.email)),
    field("profile-name", t("auth.name"), name),
    field("profile-phone", t("account.phone"), phone, t("account.phoneHint")),
  );
}

function passwordForm(ctx) {
  const current = h("input", { type: "password", id: "current-password", name: "current_password", autocomplete: "current-password", required: true });
  const next = h("input", { type: "password", id: "new-password", name: "new_password", autocomplete: "new-password", required: true, "aria-describedby": "new-password-hint" });
  return sendingForm(
    ctx,
    {
      id: "password-form",
      title: t("account.passwordTitle"),
      button: t("account.passwordButton"),
      submit: async () => {
        const body = { current_password: current.value, new_password: next.value };
        const { data } = await api("POST", "/api/auth/password", { body });
        setSession(data); // every other session ended; this device carries on with a new one
        current.value = "";
        next.value = "";
        notify(t("account.passwordChanged"), "success");
      },
    },
    field("current-password", t("account.currentPassword"), current),
    field("new-password", t("account.newPassword"), next, t("auth.passwordHint")),
  );
}

function consentList(profile) {
  return h(
    "section",
    { class: "panel", id: "consents", "aria-labelledby": "consents-title" },
    h("h2", { id: "consents-title" }, t("account.consents")),
    h(
      "ul",
      { class: "consent-list" },
      profile.consents.map((consent) =>
        h(
          "li",
          {},
          h("a", { href: `#/${consent.document}` }, t(`legal.${consent.document}.title`)),
          ` — ${t("legal.version", { version: consent.version })}, ${dateTime(consent.agreed_at)}`,
        ),
      ),
    ),
  );
}

export async function accountPage(ctx) {
  const { main } = ctx;
  if (!requireLogin()) return;
  mount(main, loadingState());
  let profile;
  try {
    profile = (await api("GET", "/api/account/profile")).data;
  } catch (error) {
    if (!ctx.isCurrent() || handleAuthError(error)) return;
    return errorPage(main, error, () => accountPage(ctx));
  }
  if (!ctx.isCurrent()) return;
  mount(
    main,
    pageTitle(t("account.title")),
    h(
      "div",
      { class: "account-layout" },
      profileForm(ctx, profile),
      passwordForm(ctx),
      h(
        "section",
        { class: "panel", id: "address-book" },
        h("h2", {}, t("address.book")),
        h("p", {}, h("a", { href: link("/account/addresses") }, t("address.book"))),
      ),
      consentList(profile),
    ),
  );
}
