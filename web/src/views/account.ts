// The signed-in account's own page, for every role: the roles it holds, and its own API tokens
// (made for one of its bindings, shown once when made, revoked here). Tokens are made only from
// a console session: a token cannot make tokens.

import { api, type MeBinding } from "../api";
import { h, notice, replace, table } from "../dom";
import { type Context } from "../main";
import { failed, tokens } from "./admin";

interface NewToken { token: string; details: { id: number; name: string; expires_at: string } }

function describe(b: MeBinding): string {
  return `${b.role} in ${b.scope === "*" ? "the whole system" : b.scope}`;
}

export function accountView(ctx: Context): void {
  const reload = () => void list();
  const listBody = h("div", null, h("p", { class: "muted" }, "Loading…"));
  const status = h("div", { role: "status" });
  // The latest listing wins: one asked after a change is never replaced by an older answer.
  let listing = 0;
  const list = async () => {
    const mine = ++listing;
    const target = h("div");
    try {
      await tokens("/api/v1/me/tokens", "/api/v1/me/tokens", target, reload);
      if (mine === listing && ctx.current()) replace(listBody, ...target.childNodes);
    } catch (e) {
      if (mine === listing && ctx.current()) replace(listBody, failed(e));
    }
  };
  const binding = h("select", { id: "token-binding" }, ctx.me.bindings.map((b) => h("option", { value: String(b.id) }, describe(b))));
  const name = h("input", { id: "token-name", required: true, maxlength: "128", autocomplete: "off" });
  const days = h("input", { id: "token-days", type: "number", min: "1", max: "366", placeholder: "server default" });
  const form = h("form", { class: "inline-form" },
    h("label", { for: "token-binding" }, "Acts as"), binding,
    h("label", { for: "token-name" }, "Name"), name,
    h("label", { for: "token-days" }, "Days (1 to 366)"), days,
    h("button", { type: "submit" }, "Create token"));
  const submit = form.querySelector("button") as HTMLButtonElement;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    // One token per click: a second submit while the first is made would lose its secret.
    if (submit.disabled) return;
    submit.disabled = true;
    try {
      const made = await api.post<NewToken>("/api/v1/me/tokens", {
        binding_id: Number(binding.value),
        name: name.value.trim(),
        ...(days.value ? { days: Number(days.value) } : {}),
      });
      name.value = "";
      // The secret is shown once, here; the server keeps only its digest.
      replace(status, h("div", { class: "notice" },
        h("p", null, `Token ${made.details.name} made. Copy it now: it is not shown again.`),
        h("pre", { class: "raw", "data-token": "new" }, made.token)));
      void list();
    } catch (err) {
      replace(status, failed(err));
    } finally {
      submit.disabled = false;
    }
  });
  replace(ctx.main,
    h("div", { class: "view-head" }, h("h1", null, `My account: ${ctx.me.account}`)),
    h("section", { class: "panel" }, h("h2", null, "Roles"),
      table("Roles this account holds", ["Role", "Where"], ctx.me.bindings.map((b) => [b.role, b.scope === "*" ? "whole system" : b.scope]),
        { "data-results": "roles" }, "No roles: an administrator binds accounts to tenants.")),
    h("section", { class: "panel" }, h("h2", null, "My API tokens"),
      h("p", { class: "muted" }, "A token acts for one of your roles, for scripts and integrations (docs/api.md). It stops at its expiry, when you revoke it, or when the role is removed."),
      ctx.me.token
        ? notice("info", "This session signed in with a token; tokens are made from a console session.")
        : ctx.me.bindings.length === 0
          ? notice("info", "A token acts for one of your roles, and this account holds none yet.")
          : form,
      status,
      listBody));
  void list();
}
