// The console's entry: who is signed in, which tenant is shown, and which view the path names.
// Views are plain functions that fill the main element; the path and its query hold all view
// state, so every view can be bookmarked, reloaded and opened in a new tab.

import { ApiError, api, setCsrf, whenSignedOut, type Me } from "./api";
import { disposeCharts } from "./charts";
import { h, notice, replace } from "./dom";
import { accountView } from "./views/account";
import { adminRoles, adminView } from "./views/admin";
import { alertsView } from "./views/alerts";
import { complianceView } from "./views/compliance";
import { reportsView } from "./views/reports";
import { investigateView } from "./views/investigate";
import { loginView } from "./views/login";
import { overviewView } from "./views/overview";

export interface Context {
  me: Me;
  tenant: string;
  tenants: string[];
  params: URLSearchParams;
  /** Path segments after the view's name (`alerts/7` gives `["7"]`). */
  rest: string[];
  main: HTMLElement;
  /** Called when the view is left: stop timers. Register before the first `await`. */
  onLeave: (stop: () => void) => void;
  /** Whether this view is still the one shown (false once the user moved on). */
  current: () => boolean;
}

type View = (ctx: Context) => Promise<void> | void;

/** Which roles each view is for: navigation only shows what the account's roles can use, so
 * that it neither offers dead ends nor fills the audit trail with refusals. The API decides. */
const FOR_READERS = ["user", "security_admin"];
const views: { name: string; label: string; view: View; roles?: string[]; inNav?: false }[] = [
  { name: "overview", label: "Overview", view: overviewView, roles: FOR_READERS },
  { name: "investigate", label: "Investigate", view: investigateView, roles: FOR_READERS },
  { name: "alerts", label: "Alerts", view: alertsView, roles: FOR_READERS },
  { name: "compliance", label: "Compliance", view: complianceView, roles: FOR_READERS },
  { name: "reports", label: "Reports", view: reportsView, roles: FOR_READERS },
  { name: "admin", label: "Administration", view: adminView },
  // Reached from the account's name in the top bar, whatever its roles.
  { name: "account", label: "My account", view: accountView, inNav: false },
];

let me: Me | null = null;
let tenants: string[] = [];
let leaving: (() => void)[] = [];
/** Counts renders, so that a view still loading when the user moves on knows it is stale. */
let generation = 0;
/** The path and query last rendered: a change of the fragment alone (the skip link) is not a
 * navigation. */
let rendered = "";

/** Moves to a console path (`/console/...`) without reloading the page. */
export function go(path: string, replaceState = false): void {
  if (replaceState) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  void render();
}

/** A console link that navigates in place. */
export function link(path: string, text: string, attrs: Record<string, string> = {}): HTMLAnchorElement {
  return h("a", {
    ...attrs,
    href: path,
    onclick: (e: Event) => {
      const event = e as MouseEvent;
      if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
      e.preventDefault();
      go(path);
    },
  }, text);
}

/** The path of a view for the current tenant, with query parameters. */
export function viewPath(view: string, tenant: string, params: Record<string, string> = {}): string {
  const query = new URLSearchParams({ tenant, ...params });
  return `/console/${view}?${query.toString()}`;
}

async function loadMe(): Promise<Me | null> {
  try {
    const found = await api.get<Me>("/api/v1/me");
    setCsrf(found.csrf ?? null);
    return found;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null;
    throw e;
  }
}

async function loadTenants(found: Me): Promise<string[]> {
  const names = new Set(found.bindings.map((b) => b.scope).filter((s) => s !== "*"));
  if (found.bindings.some((b) => b.scope === "*" && b.role === "system_admin")) {
    try {
      const all = await api.get<{ id: string }[]>("/api/v1/system/tenants");
      for (const t of all) names.add(t.id);
    } catch {
      // Listing every tenant is a system permission; without it the bindings' tenants remain.
    }
  }
  return [...names].sort();
}

/** Whether the account holds a role in the tenant that the view is for. */
function offered(view: (typeof views)[number], ctx: Pick<Context, "me" | "tenant">): boolean {
  if (view.inNav === false) return false;
  if (view.name === "admin") return adminRoles(ctx).length > 0;
  return ctx.me.bindings.some((b) => b.scope === ctx.tenant && (view.roles ?? []).includes(b.role));
}

function shell(ctx: Pick<Context, "me" | "tenant" | "tenants">, current: string, wall: boolean): HTMLElement {
  const main = h("main", { id: "main", tabindex: "-1" });
  if (wall) {
    document.body.classList.add("wall");
    replace(document.getElementById("app")!, main);
    return main;
  }
  document.body.classList.remove("wall");
  const tenantSelect = h(
    "select",
    {
      id: "tenant",
      "aria-label": "Tenant",
      onchange: (e: Event) => go(viewPath(current, (e.target as HTMLSelectElement).value)),
    },
    ctx.tenants.map((t) => h("option", { value: t, selected: t === ctx.tenant }, t)),
  );
  const nav = h(
    "nav",
    { "aria-label": "Views" },
    h("ul", null, views.filter((v) => offered(v, ctx)).map((v) =>
      h("li", null, link(viewPath(v.name, ctx.tenant), v.label, v.name === current ? { "aria-current": "page" } : {})),
    )),
  );
  const header = h(
    "header",
    { class: "topbar" },
    h("span", { class: "brand" }, "Shieldwall"),
    nav,
    h("span", { class: "spacer" }),
    h("label", { class: "tenant-pick" }, "Tenant ", tenantSelect),
    link(viewPath("account", ctx.tenant), ctx.me.account, {
      class: "who",
      "data-account": ctx.me.account,
      title: "My account and API tokens",
      ...(current === "account" ? { "aria-current": "page" } : {}),
    }),
    h("button", {
      type: "button",
      class: "secondary",
      onclick: async () => {
        try {
          await api.post("/api/v1/logout", {});
        } finally {
          setCsrf(null);
          me = null;
          go("/console/");
        }
      },
    }, "Sign out"),
  );
  replace(document.getElementById("app")!, header, main);
  return main;
}

/** Where focus was, by element id, so that a control that re-renders the view (a select that
 * changes the period) keeps focus, and otherwise the new view's heading takes it. */
function focusAfterRender(main: HTMLElement, previous: string | null, navigated: boolean): void {
  // The user already moved on inside the new view while it loaded: leave focus there.
  const active = document.activeElement;
  if (active && main.contains(active) && active !== main) return;
  const again = previous && previous !== "main" ? document.getElementById(previous) : null;
  if (again) again.focus();
  else if (navigated) {
    const heading = main.querySelector("h1") as HTMLElement | null;
    if (heading) heading.setAttribute("tabindex", "-1");
    (heading ?? main).focus();
  }
}

async function render(): Promise<void> {
  const mine = ++generation;
  const navigated = rendered !== "";
  rendered = location.pathname + location.search;
  const previousFocus = document.activeElement && document.activeElement.id ? document.activeElement.id : null;
  for (const stop of leaving) stop();
  leaving = [];
  disposeCharts();
  const app = document.getElementById("app")!;
  if (!me) {
    try {
      me = await loadMe();
    } catch (e) {
      const main = h("main", { id: "main", tabindex: "-1" });
      replace(app, main);
      replace(main, h("h1", null, "Shieldwall"), notice("error",
        `The server did not answer (${e instanceof Error ? e.message : String(e)}).`),
        h("button", { type: "button", onclick: () => void render() }, "Try again"));
      return;
    }
    if (mine !== generation) return;
  }
  if (!me) {
    document.body.classList.remove("wall");
    const main = h("main", { id: "main", tabindex: "-1" });
    replace(app, main);
    loginView(main, async (signedIn) => {
      me = signedIn;
      tenants = await loadTenants(signedIn);
      go(location.pathname.startsWith("/console/") ? location.pathname + location.search : "/console/", true);
    });
    return;
  }
  if (tenants.length === 0) tenants = await loadTenants(me);
  if (mine !== generation) return;
  const params = new URLSearchParams(location.search);
  const segments = location.pathname.replace(/^\/console\/?/, "").split("/").filter(Boolean);
  const asked = params.get("tenant");
  const tenant = asked && tenants.includes(asked) ? asked : tenants[0];
  const who = me;
  // Without a view in the address: the first the account's roles are for.
  const name = segments[0] ?? (views.find((v) => offered(v, { me: who, tenant: tenant ?? "" }))?.name ?? "admin");
  if (tenant && asked !== tenant) {
    // The address names the tenant shown, never one the account cannot see.
    params.set("tenant", tenant);
    history.replaceState(null, "", `${location.pathname}?${params.toString()}`);
    rendered = location.pathname + location.search;
  }
  const view = views.find((v) => v.name === name);
  const main = shell({ me, tenant: tenant ?? "", tenants }, name, params.get("wall") === "1");
  if (!tenant && name !== "admin" && name !== "account") {
    replace(main, h("h1", null, "No tenant"), notice("info",
      "Your account holds no role in any tenant. The views here show a tenant's data; an administrator can bind you to one."));
    return;
  }
  if (!view) {
    replace(main, h("h1", null, "Not found"), notice("error", `There is no console view named “${name}”.`));
    return;
  }
  document.title = `${view.label} · ${tenant || "system"} · Shieldwall`;
  const ctx: Context = {
    me,
    tenant: tenant ?? "",
    tenants,
    params,
    rest: segments.slice(1),
    main,
    onLeave: (stop) => (mine === generation ? leaving.push(stop) : stop()),
    current: () => mine === generation,
  };
  try {
    await view.view(ctx);
  } catch (e) {
    if (mine === generation) main.appendChild(notice("error", e instanceof Error ? e.message : String(e)));
  }
  if (mine === generation) focusAfterRender(main, previousFocus, navigated);
}

whenSignedOut(() => {
  if (me) {
    me = null;
    setCsrf(null);
    void render();
  }
});
window.addEventListener("popstate", () => {
  if (location.pathname + location.search !== rendered) void render();
});
void render();
