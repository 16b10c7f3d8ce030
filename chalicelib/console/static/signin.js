// Signing in with a username (or email) and password: the API's token endpoint.
import { signIn } from "./api.js";
import { errorBox, h, replace } from "./dom.js";

export function render(main) {
  const username = h("input", { id: "signin-username", name: "username", autocomplete: "username", autocapitalize: "none", spellcheck: "false" });
  const password = h("input", { id: "signin-password", name: "password", type: "password", autocomplete: "current-password" });
  const status = h("div", { class: "signin-status" });
  const submit = h("button", { type: "submit", class: "primary" }, "Sign in");
  const form = h(
    "form",
    { class: "signin panel", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title", tabindex: "-1" }, "Sign in"),
    h("p", { class: "muted" }, "Your logs, dashboards and alerts."),
    status,
    h("div", { class: "field" }, h("label", { for: username.id }, "Username or email"), username),
    h("div", { class: "field" }, h("label", { for: password.id }, "Password"), password),
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    status.replaceChildren();
    try {
      // Success changes the session, and the app then draws the page the URL names.
      await signIn(username.value.trim(), password.value);
    } catch (error) {
      replace(status, errorBox(error));
      password.select();
    } finally {
      submit.disabled = false;
    }
  });
  replace(main, form);
  username.focus();
}
