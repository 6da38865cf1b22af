// Passwords: change it (an initial password must be changed first), forgot it, reset it by mail.

import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { t } from "../i18n.js";
import { go, handleAuthError, link, requireLogin } from "../router.js";
import { setSession } from "../store.js";
import { alertBox, describeError, notify, pageTitle } from "../ui.js";

function field(id, label, input, hint) {
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    input,
    hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null,
  );
}

function newPasswordInput(id = "new-password") {
  return h("input", {
    type: "password",
    id,
    name: id,
    autocomplete: "new-password",
    required: true,
    "aria-describedby": `${id}-hint`,
  });
}

function safeNext(query) {
  const next = query.get("next") || "/";
  return next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

function goNext(query) {
  const [path, search = ""] = safeNext(query).split("?");
  go(path, Object.fromEntries(new URLSearchParams(search)));
}

/** A form page: `fields` then the error box and the button; `submit` does the work. */
function formPage(main, title, intro, fields, buttonLabel, submit) {
  const errors = h("div", { class: "form-errors", "aria-live": "assertive" });
  const button = h("button", { type: "submit", class: "btn btn-primary btn-block" }, buttonLabel);
  const form = h(
    "form",
    {
      class: "panel auth-form",
      onsubmit: async (event) => {
        event.preventDefault();
        mount(errors);
        button.disabled = true;
        try {
          await submit(errors);
        } finally {
          button.disabled = false;
        }
      },
    },
    intro ? h("p", { class: "form-intro" }, intro) : null,
    fields,
    errors,
    button,
  );
  mount(main, h("div", { class: "auth-page" }, pageTitle(title), form));
  return form;
}

/** Change the password; the only page an account with an initial password can use. */
export function changePassword(ctx) {
  const { main, query } = ctx;
  if (!requireLogin()) return;
  const required = query.get("required") === "1";
  const current = h("input", {
    type: "password",
    id: "current-password",
    name: "current-password",
    autocomplete: "current-password",
    required: true,
  });
  const next = newPasswordInput();
  formPage(
    main,
    t("password.changeTitle"),
    required ? t("password.changeRequired") : null,
    [
      field("current-password", t("password.current"), current),
      field("new-password", t("password.new"), next, t("auth.passwordHint")),
    ],
    t("password.changeButton"),
    async (errors) => {
      try {
        const { data } = await api("POST", "/api/auth/password", {
          body: { current_password: current.value, new_password: next.value },
        });
        setSession(data);
        notify(t("password.changed"), "success");
        goNext(query);
      } catch (error) {
        if (handleAuthError(error)) return;
        mount(errors, alertBox(describeError(error)));
        (error.code === "password_rejected" ? next : current).focus();
      }
    },
  );
}

/** Ask for a reset link: the answer is the same whether or not the email has an account. */
export function forgotPassword(ctx) {
  const { main } = ctx;
  const email = h("input", { type: "email", id: "email", name: "email", autocomplete: "email", required: true });
  formPage(
    main,
    t("password.forgotTitle"),
    t("password.forgotIntro"),
    [field("email", t("auth.email"), email)],
    t("password.sendLink"),
    async (errors) => {
      try {
        await api("POST", "/api/auth/password-reset", { body: { email: email.value.trim() } });
        mount(
          main,
          h(
            "div",
            { class: "auth-page" },
            pageTitle(t("password.checkMailTitle")),
            h(
              "div",
              { class: "panel", id: "reset-sent" },
              h("p", { role: "status" }, t("password.checkMail", { email: email.value.trim() })),
              h("a", { href: link("/login") }, t("auth.loginTitle")),
            ),
          ),
        );
        main.querySelector("h1")?.focus();
      } catch (error) {
        mount(errors, alertBox(describeError(error)));
        email.focus();
      }
    },
  );
}

/** The page a reset mail's link opens: the token comes from the link, the password from you. */
export function resetPassword(ctx) {
  const { main, query } = ctx;
  const token = query.get("token") || "";
  const next = newPasswordInput();
  formPage(
    main,
    t("password.resetTitle"),
    null,
    [field("new-password", t("password.new"), next, t("auth.passwordHint"))],
    t("password.resetButton"),
    async (errors) => {
      try {
        const { data } = await api("POST", "/api/auth/password-reset/confirm", {
          body: { token, newPassword: next.value },
        });
        setSession(data);
        notify(t("password.resetDone"), "success");
        go("/");
      } catch (error) {
        const linkBroken = String(error.code || "").startsWith("reset_link_");
        mount(
          errors,
          alertBox(
            describeError(error),
            linkBroken ? h("a", { href: link("/forgot-password") }, t("password.newLink")) : null,
          ),
        );
        next.focus();
      }
    },
  );
}
