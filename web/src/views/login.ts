// Sign-in: name, password and the current TOTP code, posted to /api/v1/login, which sets the
// HttpOnly session cookie and returns the CSRF token (kept in memory only).

import { ApiError, api, setCsrf, type Me } from "../api";
import { h, notice, replace } from "../dom";

interface SessionView {
  account: { name: string; bindings: { id: number; scope: string; role: string }[] };
  csrf: string;
  expires_at: string;
}

export function loginView(main: HTMLElement, signedIn: (me: Me) => void | Promise<void>): void {
  document.title = "Sign in · Shieldwall";
  const status = h("div", { "aria-live": "polite" });
  const field = (id: string, label: string, attrs: Record<string, string>) =>
    h("div", { class: "field" }, h("label", { for: id }, label), h("input", { id, name: id, required: true, ...attrs }));
  const form = h(
    "form",
    { class: "login", novalidate: false },
    h("h1", null, "Sign in to Shieldwall"),
    field("name", "Account", { autocomplete: "username", autocapitalize: "none", spellcheck: "false" }),
    field("password", "Password", { type: "password", autocomplete: "current-password" }),
    field("code", "Authenticator code", {
      inputmode: "numeric",
      autocomplete: "one-time-code",
      pattern: "[0-9]{6,8}",
      maxlength: "8",
    }),
    h("button", { type: "submit" }, "Sign in"),
    status,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const button = form.querySelector("button")!;
    button.disabled = true;
    replace(status, h("p", { class: "muted" }, "Signing in…"));
    try {
      const session = await api.post<SessionView>("/api/v1/login", {
        name: String(data.get("name") ?? ""),
        password: String(data.get("password") ?? ""),
        code: String(data.get("code") ?? ""),
      });
      setCsrf(session.csrf);
      await signedIn({
        account: session.account.name,
        bindings: session.account.bindings,
        token: false,
        csrf: session.csrf,
      });
    } catch (err) {
      const text = err instanceof ApiError && err.status === 429
        ? "Too many failed attempts: wait a while before trying again."
        : err instanceof ApiError && err.status === 401
          ? "Sign-in refused: the account, password or code is wrong (codes change every 30 seconds and work once)."
          : err instanceof Error ? err.message : String(err);
      replace(status, notice("error", text));
      button.disabled = false;
    }
  });
  replace(main, form);
  (form.querySelector("#name") as HTMLInputElement).focus();
}
