// Responsibility and compliance: the plan of the tenant's manifest (GET /plan, bounded by the
// 1 MiB manifest limit) as a grid of the guideline's areas against the parties of one workload,
// CCM coverage per domain and per control with the freshness of the evidence behind it, the
// ranked gaps, and the upload of a new manifest (PUT /manifest, which checks it first).

import { ApiError, api, tenantPath } from "../api";
import { figure, h, notice, num, replace, table } from "../dom";
import { go, viewPath, type Context } from "../main";

interface Area {
  category: string;
  area: string;
  name: string;
  owner: "csp" | "customer" | "shared";
  transfers: { to: string; items: string[] }[];
}
interface Workload {
  workload: string;
  service_model: string;
  provider: string;
  areas: Area[];
  responsibilities: { id: string; summary: string; section: string; owner: string; transferred_to: string | null }[];
}
interface Capability {
  capability: string;
  name: string;
  workload: string;
  owner: string;
  status: string;
  evidence: { state: string; detail: string; until: string | null; observed: string | null };
}
interface Control {
  id: string;
  domain: string;
  title: string;
  kind: string;
  status: string;
  workloads: { workload: string; status: string; covered_by: string[]; missing: string[] }[];
}
interface Domain {
  domain: string;
  name: string;
  controls: number;
  covered: number;
  partial: number;
  gap: number;
  inherited: number;
  not_applicable: number;
  percent_met: number;
  percent_own_covered: number;
}
interface Gap {
  rank: number;
  score: number;
  kind: string;
  id: string;
  name: string;
  owner: string;
  workloads: string[];
  reason: string;
  guidance: string;
}
interface Plan {
  notices: string[];
  organisation: string;
  as_of: string;
  framework: string;
  matrix: Workload[];
  capabilities: Capability[];
  coverage: { controls: Control[]; domains: Domain[]; total: Domain };
  gaps: Gap[];
}

const PARTY = { csp: "Cloud provider", customer: "Customer" } as const;
/** The outcome of an upload, shown once by the view it reloads. */
let flash: HTMLElement | null = null;
const CONTROLS_PAGE = 50;
const GAPS_PAGE = 20;

export async function complianceView(ctx: Context): Promise<void> {
  const status = h("div", { role: "status" });
  const uploaded = flash;
  flash = null;
  // Inserted after the region is in the page, so that it is announced.
  if (uploaded) setTimeout(() => replace(status, uploaded), 50);
  const body = h("div");
  replace(ctx.main, h("div", { class: "view-head" }, h("h1", null, "Responsibility and compliance")), status, body, uploadForm(ctx, status));
  let plan: Plan;
  try {
    plan = await api.get<Plan>(tenantPath(ctx.tenant, "plan"));
  } catch (e) {
    replace(body, e instanceof ApiError && e.status === 404
      ? notice("info", "This tenant has no manifest yet. Upload one below (docs/manifest.md describes the format).")
      : e instanceof ApiError && e.status === 403
        ? notice("info", "Your role in this tenant does not show the plan.")
        : notice("error", e instanceof Error ? e.message : String(e)));
    return;
  }
  const workloads = plan.matrix.map((w) => w.workload);
  const chosen = workloads.includes(ctx.params.get("workload") ?? "") ? ctx.params.get("workload")! : workloads[0] ?? "";
  const workload = plan.matrix.find((w) => w.workload === chosen);
  const picker = h("select", {
    id: "workload",
    onchange: (e: Event) => go(viewPath("compliance", ctx.tenant, { workload: (e.target as HTMLSelectElement).value })),
  }, workloads.map((w) => h("option", { value: w, selected: w === chosen }, w)));
  const total = plan.coverage.total;
  replace(body,
    h("p", { class: "muted" }, `${plan.organisation} · ${plan.framework} · evidence judged as of ${plan.as_of}`),
    plan.notices.length ? h("ul", { class: "notices" }, plan.notices.map((n) => h("li", null, n))) : null,
    h("section", { class: "figures", "aria-label": "Coverage totals" },
      figure("controls-total", total.controls, "Controls"),
      figure("controls-covered", total.covered, "Covered"),
      figure("controls-partial", total.partial, "Partly covered"),
      figure("controls-gap", total.gap, "Open"),
      figure("controls-inherited", total.inherited, "Inherited"),
      figure("gaps-total", plan.gaps.length, "Gaps")),
    h("section", { class: "panel" },
      h("h2", null, "Who owns what"),
      h("label", null, "Workload ", picker),
      workload ? grid(workload) : notice("info", "The manifest declares no workload.")),
    workload ? h("details", { class: "panel" }, h("summary", null, `Responsibilities of ${workload.workload} (${workload.responsibilities.length})`),
      table(`Responsibilities of ${workload.workload}`, ["Responsibility", "Owner", "Transferred to", "Section"],
        workload.responsibilities.map((r) => [r.summary, r.owner, r.transferred_to ?? "", r.section]))) : null,
    h("section", { class: "panel" }, table(`CCM coverage by domain (${plan.framework})`,
      ["Domain", "Controls", "Covered", "Partial", "Open", "Inherited", "Met", "Own covered"],
      plan.coverage.domains.map((d) => [
        `${d.domain} ${d.name}`, num(d.controls), num(d.covered), num(d.partial), num(d.gap), num(d.inherited),
        percent(d.percent_met), percent(d.percent_own_covered),
      ]), { "data-results": "domains" })),
    gaps(plan, ctx),
    controls(plan, ctx),
  );
}

function percent(value: number): HTMLElement {
  return h("span", { class: "percent" }, h("meter", { min: 0, max: 100, value, "aria-hidden": "true" }), ` ${value.toFixed(0)}%`);
}

/** The guideline's areas (rows) against the parties (columns) of one workload. */
function grid(workload: Workload): HTMLElement {
  const thirdParties = [...new Set(workload.areas.flatMap((a) => a.transfers.map((t) => t.to)))].sort();
  const parties = ["csp", "customer", ...thirdParties];
  const cell = (area: Area, party: string): HTMLElement => {
    let text = "";
    if (party === "csp" || party === "customer") {
      if (area.owner === party) text = "Owns";
      else if (area.owner === "shared") text = "Shares";
    } else {
      const items = area.transfers.filter((t) => t.to === party).flatMap((t) => t.items);
      if (items.length) text = `Runs ${items.join(", ")}`;
    }
    return h("td", { "data-cell": `${area.area}|${party}`, class: text ? "owned" : "" }, text);
  };
  return h("table", { class: "grid", "data-results": "grid" },
    h("caption", null, `${workload.workload}: ${workload.service_model.toUpperCase()} on ${workload.provider}`),
    h("thead", null, h("tr", null, h("th", { scope: "col" }, "Area"),
      parties.map((p) => h("th", { scope: "col" }, Object.hasOwn(PARTY, p) ? PARTY[p as keyof typeof PARTY] : p)))),
    h("tbody", null, workload.areas.map((a) => h("tr", null,
      h("th", { scope: "row" }, a.name, h("span", { class: "muted" }, ` (${a.category})`)),
      parties.map((p) => cell(a, p))))));
}

/** The ranked gaps, 20 at a time, each with its guidance folded. */
function gaps(plan: Plan, ctx: Context): HTMLElement {
  const limit = Math.max(GAPS_PAGE, Number(ctx.params.get("gaps")) || GAPS_PAGE);
  const more = () => go(viewPath("compliance", ctx.tenant, Object.fromEntries(Object.entries({
    workload: ctx.params.get("workload") ?? "", domain: ctx.params.get("domain") ?? "", status: ctx.params.get("status") ?? "",
    shown: ctx.params.get("shown") ?? "", gaps: String(limit + GAPS_PAGE),
  }).filter(([, v]) => v !== ""))));
  return h("section", { class: "panel" },
    table(`Gaps, highest risk first (${num(Math.min(limit, plan.gaps.length))} of ${num(plan.gaps.length)})`,
      ["Rank", "Score", "Gap", "Owner", "Workloads", "Why and what to do"],
      plan.gaps.slice(0, limit).map((g) => [num(g.rank), num(g.score), `${g.name} (${g.kind} ${g.id})`, g.owner, g.workloads.join(", "),
        h("details", null, h("summary", null, g.reason), g.guidance)]),
      { "data-results": "gaps" }, "No gaps"),
    plan.gaps.length > limit ? h("button", { type: "button", class: "secondary", onclick: more }, "Show more gaps") : null);
}

/** Each control's status, and how fresh the evidence of the capabilities covering it is. */
function controls(plan: Plan, ctx: Context): HTMLElement {
  const evidence = new Map(plan.capabilities.map((c) => [`${c.capability}|${c.workload}`, c]));
  const domains = [...new Set(plan.coverage.controls.map((c) => c.domain))].sort();
  const statuses = ["covered", "partial", "gap", "inherited", "not-applicable"];
  const domain = ctx.params.get("domain") ?? "";
  const state = ctx.params.get("status") ?? "";
  const shown = plan.coverage.controls.filter((c) => (!domain || c.domain === domain) && (!state || c.status === state));
  const limit = Math.max(CONTROLS_PAGE, Number(ctx.params.get("shown")) || CONTROLS_PAGE);
  const filter = (key: string, value: string) => go(viewPath("compliance", ctx.tenant, Object.fromEntries(Object.entries({
    workload: ctx.params.get("workload") ?? "", domain, status: state, gaps: ctx.params.get("gaps") ?? "",
    // A new filter starts the list again; "more" keeps it.
    shown: key === "shown" ? value : "", [key]: value,
  }).filter(([, v]) => v !== ""))));
  const freshness = (c: Control): string => {
    const parts = c.workloads.flatMap((w) => w.covered_by.map((cap) => {
      const e = evidence.get(`${cap}|${w.workload}`)?.evidence;
      if (!e) return `${cap}: no record`;
      const when = e.observed ? ` ${e.observed.slice(0, 10)}` : e.until ? ` until ${e.until}` : "";
      return `${cap}: ${e.state}${when}`;
    }));
    return [...new Set(parts)].join("; ") || "none needed";
  };
  return h("section", { class: "panel" },
    h("div", { class: "toolbar" },
      h("label", null, "Domain ", h("select", { id: "domain", onchange: (e: Event) => filter("domain", (e.target as HTMLSelectElement).value) },
        h("option", { value: "" }, "all"), domains.map((d) => h("option", { value: d, selected: d === domain }, d)))),
      h("label", null, "Status ", h("select", { id: "status", onchange: (e: Event) => filter("status", (e.target as HTMLSelectElement).value) },
        h("option", { value: "" }, "any"), statuses.map((s) => h("option", { value: s, selected: s === state }, s))))),
    table(`${num(shown.length)} controls${shown.length > limit ? `, first ${num(limit)} shown` : ""}`,
      ["Control", "Title", "Status", "Kind", "Evidence (state and date)"],
      shown.slice(0, limit).map((c) => [c.id, c.title, c.status, c.kind, freshness(c)]),
      { "data-results": "controls" }, "No control matches"),
    shown.length > limit
      ? h("button", { type: "button", class: "secondary", onclick: () => filter("shown", String(limit + CONTROLS_PAGE)) }, "Show more controls")
      : null);
}

function uploadForm(ctx: Context, status: HTMLElement): HTMLElement {
  const text = h("textarea", { id: "manifest", rows: 8, spellcheck: "false", "aria-describedby": "manifest-help" });
  const file = h("input", { id: "manifest-file", type: "file", accept: ".toml,text/plain" });
  file.addEventListener("change", async () => {
    const chosen = file.files?.[0];
    if (chosen) text.value = await chosen.text();
  });
  const form = h("form", { class: "panel upload" },
    h("h2", null, "Upload a manifest"),
    h("p", { id: "manifest-help", class: "muted" }, "TOML as docs/manifest.md describes; its tenant key must name this tenant. It is checked before it replaces the current one."),
    h("label", { for: "manifest-file" }, "File "), file,
    h("label", { for: "manifest", class: "block" }, "or paste it"), text,
    h("button", { type: "submit" }, "Check and upload"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!text.value.trim()) {
      replace(status, notice("error", "Choose a file or paste a manifest first."));
      return;
    }
    try {
      await api.put(tenantPath(ctx.tenant, "manifest"), { toml: text.value });
      flash = notice("info", "Manifest checked and kept; the plan below is computed from it.");
      go(viewPath("compliance", ctx.tenant), true);
    } catch (err) {
      replace(status, err instanceof ApiError && err.status === 403
        ? notice("error", "Your role in this tenant may not change the manifest.")
        : h("div", { class: "notice notice-error", role: "alert" }, h("p", null, "The manifest was refused:"),
          h("pre", { class: "raw" }, err instanceof ApiError ? err.detail || err.title : String(err))));
    }
  });
  return form;
}
