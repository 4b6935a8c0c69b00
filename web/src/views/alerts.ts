// Alert triage: the queue with filters and bulk acknowledge or close, and one alert with its
// rule (credited to its author), the matching events, related alerts sharing a group-by value,
// its history, and the actions the analyst's role allows (the API refuses the others).

import { ApiError, api, tenantPath, type Alert, type AlertDetail, type EventPage } from "../api";
import { h, notice, num, replace, table, time } from "../dom";
import { go, link, viewPath, type Context } from "../main";

const STATES = ["new", "acknowledged", "closed"];
const SEVERITIES = ["info", "low", "medium", "high", "critical"];
const PAGE = 50;

/** What the last bulk action did, shown once by the queue it reloads. */
let flash: HTMLElement | null = null;

export async function alertsView(ctx: Context): Promise<void> {
  const id = ctx.rest[0];
  if (id) return alertDetail(ctx, id);
  return alertQueue(ctx);
}

function message(e: unknown): string {
  if (e instanceof ApiError && e.status === 403) {
    return `Refused: ${e.detail || "your role in this tenant does not allow that."}`;
  }
  return e instanceof Error ? e.message : String(e);
}

/** Shows a message in a live region after it is in the page (a region that already holds its
 * text when inserted is not announced). */
function announce(region: HTMLElement, message: HTMLElement | null): void {
  if (message) setTimeout(() => replace(region, message), 50);
}

async function alertQueue(ctx: Context): Promise<void> {
  // "any" is explicit in the address, so that choosing it is not taken for "no choice yet".
  const filters = {
    state: ctx.params.get("state") ?? "new",
    min_severity: ctx.params.get("min_severity") ?? "",
    rule: ctx.params.get("rule") ?? "",
    before: ctx.params.get("before") ?? "",
  };
  const apply = (next: Partial<typeof filters>) =>
    go(viewPath("alerts", ctx.tenant, Object.fromEntries(Object.entries({ ...filters, before: "", ...next }).filter(([, v]) => v !== ""))));
  const stateFilter = filters.state === "any" ? "" : filters.state;
  const select = (id: string, label: string, options: string[], current: string, any: string) =>
    h("label", null, `${label} `, h("select", {
      id,
      onchange: (e: Event) => apply({ [id]: (e.target as HTMLSelectElement).value }),
    }, h("option", { value: "", selected: current === "" }, any), options.map((o) => h("option", { value: o, selected: o === current }, o))));
  const status = h("div", { role: "status" });
  announce(status, flash);
  flash = null;
  const list = h("div");
  replace(ctx.main,
    h("div", { class: "view-head" }, h("h1", null, "Alerts"),
      h("label", null, "State ", h("select", {
        id: "state",
        onchange: (e: Event) => apply({ state: (e.target as HTMLSelectElement).value }),
      }, ["any", ...STATES].map((o) => h("option", { value: o, selected: o === filters.state }, o)))),
      select("min_severity", "Severity at least", SEVERITIES, filters.min_severity, "any"),
      filters.rule ? h("span", null, `Rule ${filters.rule} `, h("button", { type: "button", class: "link", onclick: () => apply({ rule: "" }) }, "(show all rules)")) : null),
    status,
    list);
  let found: { items: Alert[]; next_before: number | null };
  try {
    found = await api.get(tenantPath(ctx.tenant, "alerts"), {
      state: stateFilter, min_severity: filters.min_severity, rule: filters.rule, before: filters.before, limit: PAGE,
    });
  } catch (e) {
    replace(list, notice("error", message(e)));
    return;
  }
  const checks = found.items.map((a) => h("input", { type: "checkbox", value: String(a.id), "aria-label": `Select alert ${a.id}` }));
  const chosen = () => checks.filter((c) => c.checked).map((c) => Number(c.value));
  const resolution = h("input", { id: "resolution", maxlength: "16384" });
  const buttons: HTMLButtonElement[] = [];
  const bulk = async (action: "acknowledge" | "close") => {
    const ids = chosen();
    if (ids.length === 0) {
      replace(status, notice("info", "Select alerts first."));
      return;
    }
    if (action === "close" && !resolution.value.trim()) {
      replace(status, notice("error", "Closing needs a resolution."));
      resolution.focus();
      return;
    }
    const body = action === "close" ? { action, resolution: resolution.value.trim() } : { action };
    const failures: string[] = [];
    for (const b of buttons) b.disabled = true;
    replace(status, h("p", { class: "muted" }, `Working on ${ids.length} alerts…`));
    for (const id of ids) {
      try {
        await api.post(tenantPath(ctx.tenant, `alerts/${id}/actions`), body);
      } catch (e) {
        failures.push(`#${id}: ${message(e)}`);
      }
    }
    for (const b of buttons) b.disabled = false;
    const done = ids.length - failures.length;
    const verb = action === "close" ? "closed" : "acknowledged";
    flash = failures.length
      ? notice("error", `${done} ${verb}; ${failures.length} refused: ${failures.join("; ")}`)
      : notice("info", `${done} ${verb}.`);
    // Reload the queue only if the user is still on it.
    if (ctx.current()) go(location.pathname + location.search, true);
    else flash = null;
  };
  const all = h("input", {
    type: "checkbox",
    "aria-label": "Select all alerts shown",
    onchange: (e: Event) => checks.forEach((c) => (c.checked = (e.target as HTMLInputElement).checked)),
  });
  const rows = found.items.map((a, i) => [
    checks[i]!,
    h("span", { class: `severity severity-${a.severity}` }, a.severity),
    link(`/console/alerts/${a.id}?tenant=${encodeURIComponent(ctx.tenant)}`, a.title, { "data-alert": String(a.id) }),
    num(a.count),
    time(a.last_seen),
    a.state,
    a.assignee ?? "",
  ]);
  replace(list,
    h("div", { class: "toolbar" },
      h("label", null, all, " All"),
      push(buttons, h("button", { type: "button", onclick: () => void bulk("acknowledge") }, "Acknowledge selected")),
      h("label", { for: "resolution" }, "Resolution"),
      resolution,
      push(buttons, h("button", { type: "button", class: "secondary", onclick: () => void bulk("close") }, "Close selected"))),
    table(`${num(found.items.length)} alerts, newest first`, [h("span", { class: "visually-hidden" }, "Select"), "Severity", "Alert", "Events", "Last seen (UTC)", "State", "Assignee"], rows, { "data-results": "alerts" }, "No alerts match"),
    found.next_before ? h("button", { type: "button", class: "secondary", onclick: () => apply({ before: String(found.next_before) }) }, "Older alerts") : null);
}

function push<T>(list: T[], item: T): T {
  list.push(item);
  return item;
}

async function alertDetail(ctx: Context, id: string): Promise<void> {
  let detail: AlertDetail;
  try {
    detail = await api.get<AlertDetail>(tenantPath(ctx.tenant, `alerts/${encodeURIComponent(id)}`));
  } catch (e) {
    replace(ctx.main, h("h1", null, `Alert ${id}`), notice("error", message(e)));
    return;
  }
  const a = detail.alert;
  const status = h("div", { role: "status" });
  const act = async (body: Record<string, string>) => {
    try {
      await api.post(tenantPath(ctx.tenant, `alerts/${a.id}/actions`), body);
      if (ctx.current()) go(location.pathname + location.search, true);
    } catch (e) {
      replace(status, notice("error", message(e)));
    }
  };
  const textForm = (label: string, id: string, action: string, field: string, button: string) => {
    const input = h("textarea", { id, rows: 2, maxlength: "16384", required: true });
    const form = h("form", { class: "inline-form" }, h("label", { for: id }, label), input, h("button", { type: "submit" }, button));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      if (input.value.trim()) void act({ action, [field]: input.value.trim() });
    });
    return form;
  };
  const events = h("section", { class: "panel" }, h("h2", null, "Matching events"), h("p", { class: "muted" }, "Loading…"));
  const related = h("section", { class: "panel" }, h("h2", null, "Related alerts"), h("p", { class: "muted" }, "Loading…"));
  replace(ctx.main,
    h("p", null, link(viewPath("alerts", ctx.tenant), "← Alerts")),
    h("h1", null, h("span", { class: `severity severity-${a.severity}` }, a.severity), " ", a.title),
    status,
    h("dl", { class: "fields" },
      h("dt", null, "State"), h("dd", { "data-field": "state" }, a.state + (a.resolution ? ` (${a.resolution})` : "")),
      h("dt", null, "Assignee"), h("dd", null, a.assignee ?? "nobody"),
      h("dt", null, "Rule"), h("dd", null, `${a.rule_id} (${a.source}, level ${a.level})`),
      h("dt", null, "Rule author"), h("dd", null, a.author ? `${a.author}${a.license ? `, under ${a.license}` : ""}` : "not stated"),
      h("dt", null, "Events"), h("dd", null, num(a.count)),
      h("dt", null, "First and last seen"), h("dd", null, `${time(a.first_seen)} – ${time(a.last_seen)}`),
      h("dt", null, "ATT&CK"), h("dd", null, a.attack.join(", ") || "none"),
      h("dt", null, "CCM controls"), h("dd", null, a.controls.join(", ") || "none"),
      h("dt", null, "Grouped by"), h("dd", null, Object.entries(a.group).map(([k, v]) => `${k} = ${v}`).join(", ") || "nothing")),
    h("div", { class: "toolbar" },
      a.state === "new" ? h("button", { type: "button", onclick: () => void act({ action: "acknowledge" }) }, "Acknowledge") : null,
      a.state === "closed" ? h("button", { type: "button", onclick: () => void act({ action: "reopen" }) }, "Reopen") : null),
    a.state !== "closed" ? textForm("Resolution", "close-resolution", "close", "resolution", "Close") : null,
    textForm("Assign to", "assignee", "assign", "assignee", "Assign"),
    textForm("Comment", "comment", "comment", "text", "Add comment"),
    h("section", { class: "panel" }, table("History", ["When (UTC)", "Who", "What", "Detail"],
      detail.history.map((e) => [time(e.at), e.actor, e.action, e.detail ?? ""]), {}, "No history")),
    events,
    related);
  const ids = a.events.slice(0, 50);
  if (ids.length) {
    api.get<EventPage>(tenantPath(ctx.tenant, "events"), { q: `id:(${ids.map((i) => `"${i}"`).join(" OR ")})`, limit: 50 })
      .then((page) => replace(events, table(`Matching events (${num(page.events.length)} of ${num(a.count)})`, ["Time (UTC)", "Source", "Message"],
        page.events.map((e) => [time(String(e.time ?? "")), String(e.source ?? ""), String(e.message ?? e.raw ?? "").slice(0, 300)]),
        { "data-results": "alert-events" }, "None of its events is stored any more")))
      .catch((e) => replace(events, h("h2", null, "Matching events"), notice("error", message(e))));
  } else {
    replace(events, h("h2", null, "Matching events"), h("p", { class: "muted" }, "This alert keeps no event ids (a baseline check)."));
  }
  const shared = Object.entries(a.group);
  api.get<{ items: Alert[] }>(tenantPath(ctx.tenant, "alerts"), { limit: 200 })
    .then((page) => {
      const others = page.items.filter((o) => o.id !== a.id && shared.some(([k, v]) => o.group[k] === v));
      replace(related, table("Related alerts (sharing a group-by value, among the latest 200)", ["Alert", "Shared", "State"],
        others.map((o) => [link(`/console/alerts/${o.id}?tenant=${encodeURIComponent(ctx.tenant)}`, o.title),
          shared.filter(([k, v]) => o.group[k] === v).map(([k, v]) => `${k} = ${v}`).join(", "), o.state]), {}, "No related alert"));
    })
    .catch((e) => replace(related, h("h2", null, "Related alerts"), notice("error", message(e))));
}
