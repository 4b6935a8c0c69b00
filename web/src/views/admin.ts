// Administration, by role, each section only for the role that holds it (the API refuses the
// rest anyway): a system administrator manages accounts, role bindings and API tokens (of the
// tenant, or of the whole system with its tenants), a security administrator sees the rule
// files and sources, an audit administrator reads the audit trail, and no one else.

import { ApiError, api, tenantPath } from "../api";
import { h, notice, replace, table, time } from "../dom";
import { go, viewPath, type Context } from "../main";

interface Binding { id: number; account_id: number; scope: string; role: string; created_at: string }
interface Account { id: number; name: string; disabled: boolean; created_at: string; bindings: Binding[] }
interface Token { id: number; name: string; binding: Binding; account: string; created_at: string; expires_at: string; revoked_at: string | null; last_used_at: string | null }
interface RuleFile { name: string; enabled: boolean; bytes: number; modified: string | null; documents: number | null; error: string | null }
interface AuditRecord { seq: number; chain: string; at: string; type: string; actor: string; address: string; object: string; action: string; outcome: string; detail: unknown }
interface Source { name: string; kind: string; accepted: number; dropped: number; rate: number; silent: boolean; last_seen: string | null }

const TENANT_ROLES = ["user", "security_admin", "system_admin", "audit_admin"];

/** The roles the account holds for this tenant (or system-wide). */
export function adminRoles(ctx: Pick<Context, "me" | "tenant">): { role: string; system: boolean }[] {
  return ctx.me.bindings
    .filter((b) => b.scope === "*" || b.scope === ctx.tenant)
    .filter((b) => b.role !== "user")
    .map((b) => ({ role: b.role, system: b.scope === "*" }));
}

export function failed(e: unknown): HTMLElement {
  if (e instanceof ApiError && e.status === 403) return notice("error", `Refused: ${e.detail || e.title}`);
  return notice("error", e instanceof Error ? e.message : String(e));
}

/** A section that fills itself when its data arrives. */
function section(title: string, fill: (body: HTMLElement) => Promise<void>): HTMLElement {
  const body = h("div", null, h("p", { class: "muted" }, "Loading…"));
  const el = h("section", { class: "panel admin-section" }, h("h2", null, title), body);
  fill(body).catch((e) => replace(body, failed(e)));
  return el;
}

export async function adminView(ctx: Context): Promise<void> {
  const roles = adminRoles(ctx);
  const has = (role: string, system?: boolean) => roles.some((r) => r.role === role && (system === undefined || r.system === system));
  const reload = () => go(location.pathname + location.search, true);
  const sections: HTMLElement[] = [];
  if (ctx.tenant && has("system_admin", false)) {
    sections.push(section(`Accounts in ${ctx.tenant}`, (body) => tenantAccounts(ctx, body, reload)));
    sections.push(section(`API tokens acting in ${ctx.tenant}`, (body) => tokens(tenantPath(ctx.tenant, "tokens"), tenantPath(ctx.tenant, "tokens"), body, reload)));
  }
  if (has("system_admin", true)) {
    sections.push(section("Tenants", (body) => tenantsSection(body, reload)));
    sections.push(section("Accounts of the whole system", (body) => systemAccounts(body, reload)));
    sections.push(section("API tokens of the whole system", (body) => tokens("/api/v1/system/tokens", "/api/v1/system/tokens", body, reload)));
  }
  if (ctx.tenant && (has("security_admin") || has("system_admin", false))) {
    sections.push(section(`Sources of ${ctx.tenant} and their health`, (body) => sources(ctx, body)));
  }
  if (ctx.tenant && has("security_admin")) {
    sections.push(section(`Detection rule files of ${ctx.tenant}`, (body) => rules(ctx, body, reload)));
  }
  if (has("audit_admin")) {
    const system = has("audit_admin", true) && !has("audit_admin", false);
    const path = system ? "/api/v1/system/audit" : tenantPath(ctx.tenant, "audit");
    sections.push(section(system ? "Audit trail of the whole system" : `Audit trail of ${ctx.tenant}`, (body) => audit(ctx, path, body)));
  }
  replace(ctx.main, h("div", { class: "view-head" }, h("h1", null, "Administration")),
    sections.length ? sections : notice("info", "Your roles here include no administration. Administrators are the system, security and audit administrators the guideline names."));
}

async function tenantAccounts(ctx: Context, body: HTMLElement, reload: () => void): Promise<void> {
  const status = h("div", { role: "status" });
  const list = h("div");
  // Listed again after a new account is made, without a reload, so that its one-time
  // enrolment stays on screen beside it.
  const fill = async () => {
    const accounts = await api.get<Account[]>(tenantPath(ctx.tenant, "accounts"), { limit: 200 });
    replace(list, accountsTable(ctx, accounts, status, reload));
  };
  await fill();
  const name = h("input", { id: "new-account", required: true, autocomplete: "off", maxlength: "128" });
  const password = h("input", { id: "new-password", type: "password", required: true, autocomplete: "new-password", minlength: "12" });
  const role = h("select", { id: "new-role" }, TENANT_ROLES.map((r) => h("option", { value: r }, r)));
  const form = h("form", { class: "inline-form" },
    h("label", { for: "new-account" }, "Name"), name,
    h("label", { for: "new-password" }, "Password (12 or more)"), password,
    h("label", { for: "new-role" }, "Role"), role,
    h("button", { type: "submit" }, "Create account"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    let made: { account: Account; otpauth_uri: string };
    try {
      made = await api.post<{ account: Account; otpauth_uri: string }>(tenantPath(ctx.tenant, "accounts"),
        { name: name.value.trim(), password: password.value, roles: [role.value] });
    } catch (err) {
      replace(status, failed(err));
      return;
    }
    password.value = "";
    // The enrolment is shown once, here; it is never stored in the page.
    replace(status, h("div", { class: "notice" },
      h("p", null, `Account ${made.account.name} created. Give its owner this authenticator enrolment, once:`),
      h("pre", { class: "raw" }, made.otpauth_uri)));
    try {
      await fill();
    } catch (err) {
      list.append(failed(err));
    }
  });
  replace(body, status, list, form);
}

function accountsTable(ctx: Context, accounts: Account[], status: HTMLElement, reload: () => void): HTMLElement {
  const rows = accounts.map((a) => [
    a.name,
    a.disabled ? "disabled" : "active",
    a.bindings.filter((b) => b.scope === ctx.tenant).map((b) => h("span", { class: "binding" }, `${b.role} `,
      h("button", {
        type: "button", class: "link", "aria-label": `Remove ${b.role} of ${a.name}`,
        onclick: async () => {
          try {
            await api.del(tenantPath(ctx.tenant, `bindings/${b.id}`));
            reload();
          } catch (e) {
            replace(status, failed(e));
          }
        },
      }, "(remove)"))),
    time(a.created_at),
  ]);
  return table("Accounts holding a role here", ["Account", "State", "Roles here", "Created (UTC)"], rows, { "data-results": "accounts" }, "No accounts");
}

export async function tokens(listPath: string, revokeBase: string, body: HTMLElement, reload: () => void): Promise<void> {
  const found = await api.get<Token[]>(listPath, { limit: 200 });
  const status = h("div", { role: "status" });
  const rows = found.map((t) => [
    t.name, t.account, `${t.binding.role} in ${t.binding.scope}`, time(t.expires_at),
    t.last_used_at ? time(t.last_used_at) : "never",
    t.revoked_at ? `revoked ${time(t.revoked_at)}` : h("button", {
      type: "button", class: "secondary", "aria-label": `Revoke token ${t.name} of ${t.account}`,
      onclick: async () => {
        try {
          await api.del(`${revokeBase}/${t.id}`);
          reload();
        } catch (e) {
          replace(status, failed(e));
        }
      },
    }, "Revoke"),
  ]);
  replace(body, status, table("API tokens", ["Name", "Account", "Acts as", "Expires (UTC)", "Last used", ""], rows, { "data-results": "tokens" }, "No tokens"));
}

async function tenantsSection(body: HTMLElement, reload: () => void): Promise<void> {
  const tenants = await api.get<{ id: string; name: string; created_at: string }[]>("/api/v1/system/tenants");
  const status = h("div", { role: "status" });
  const id = h("input", { id: "tenant-id", required: true, pattern: "[a-z0-9][a-z0-9-]*", maxlength: "63" });
  const name = h("input", { id: "tenant-name", required: true, maxlength: "200" });
  const form = h("form", { class: "inline-form" },
    h("label", { for: "tenant-id" }, "Id"), id, h("label", { for: "tenant-name" }, "Name"), name,
    h("button", { type: "submit" }, "Create tenant"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await api.post("/api/v1/system/tenants", { id: id.value.trim(), name: name.value.trim() });
      reload();
    } catch (err) {
      replace(status, failed(err));
    }
  });
  replace(body, status, table("Tenants", ["Id", "Name", "Created (UTC)"], tenants.map((t) => [t.id, t.name, time(t.created_at)]), { "data-results": "tenants" }, "No tenants"), form);
}

async function systemAccounts(body: HTMLElement, reload: () => void): Promise<void> {
  const accounts = await api.get<Account[]>("/api/v1/system/accounts", { limit: 200 });
  const status = h("div", { role: "status" });
  const rows = accounts.map((a) => [
    a.name,
    a.bindings.map((b) => `${b.role} in ${b.scope}`).join(", ") || "no role",
    h("button", {
      type: "button", class: "secondary", "aria-label": `${a.disabled ? "Enable" : "Disable"} ${a.name}`,
      onclick: async () => {
        try {
          await api.put(`/api/v1/system/accounts/${a.id}/disabled`, { disabled: !a.disabled });
          reload();
        } catch (e) {
          replace(status, failed(e));
        }
      },
    }, a.disabled ? "Enable" : "Disable"),
  ]);
  replace(body, status, table("Accounts", ["Account", "Roles", "State"], rows, { "data-results": "system-accounts" }, "No accounts"));
}

async function sources(ctx: Context, body: HTMLElement): Promise<void> {
  const found = await api.get<Source[]>(tenantPath(ctx.tenant, "sources"));
  replace(body, table("Sources", ["Source", "Kind", "Accepted", "Dropped", "Per second", "Health", "Last delivered (UTC)"],
    found.map((s) => [s.name, s.kind, String(s.accepted), String(s.dropped), s.rate.toFixed(1), s.silent ? "silent" : "delivering", s.last_seen ? time(s.last_seen) : "never"]),
    { "data-results": "sources" }, "No sources"));
}

async function rules(ctx: Context, body: HTMLElement, reload: () => void): Promise<void> {
  const files = await api.get<RuleFile[]>(tenantPath(ctx.tenant, "rules"));
  const status = h("div", { role: "status" });
  const rows = files.map((f) => [
    f.name,
    f.error ? `does not load: ${f.error}` : `${f.documents ?? 0} documents`,
    f.modified ? time(f.modified) : "",
    h("button", {
      type: "button", class: "secondary", "aria-label": `${f.enabled ? "Disable" : "Enable"} ${f.name}`,
      onclick: async () => {
        try {
          await api.put(tenantPath(ctx.tenant, `rules/${encodeURIComponent(f.name)}/enabled`), { enabled: !f.enabled });
          reload();
        } catch (e) {
          replace(status, failed(e));
        }
      },
    }, f.enabled ? "Disable" : "Enable"),
  ]);
  replace(body, status, table("Rule files", ["File", "Loads", "Changed (UTC)", "Enabled"], rows, { "data-results": "rules" }, "No rule files"));
}

async function audit(ctx: Context, path: string, body: HTMLElement): Promise<void> {
  const before = ctx.params.get("before") ?? "";
  const page = await api.get<{ items: AuditRecord[]; next_before: number | null }>(path, { limit: 100, before });
  replace(body,
    table("Newest records first", ["#", "When (UTC)", "Type", "Actor", "Address", "What", "Outcome"],
      page.items.map((r) => [String(r.seq), time(r.at), r.type, r.actor, r.address, `${r.object} ${r.action}`, r.outcome]),
      { "data-results": "audit" }, "No records"),
    page.next_before
      ? h("button", { type: "button", class: "secondary", onclick: () => go(viewPath("admin", ctx.tenant, { before: String(page.next_before) })) }, "Older records")
      : null);
}
