// Situation awareness: events per interval by log kind, alerts by severity, the top attack
// types, sources, targets, rules and ATT&CK techniques, and sources gone silent. Refreshed every
// 30 s; `?wall=1` shows it full screen without navigation for a large display.

import {
  ApiError, api, tenantPath, type AlertSummary, type CoverageSummary, type EventsOverview, type SourceView,
} from "../api";
import { disposeCharts, intervals, timeChart, type Series } from "../charts";
import { figure, h, notice, num, replace, table, time } from "../dom";
import { go, link, viewPath, type Context } from "../main";

const WINDOWS = [
  ["1h", "Last hour"],
  ["6h", "Last 6 hours"],
  ["24h", "Last 24 hours"],
  ["7d", "Last 7 days"],
] as const;
const REFRESH_SECONDS = 30;

const KINDS: Record<string, [string, string]> = {
  security_event: ["Security events", "#f87171"],
  behaviour_event: ["Behaviour", "#60a5fa"],
  vulnerability_scan: ["Vulnerability scans", "#fbbf24"],
  status_monitoring: ["Status monitoring", "#34d399"],
};
const SEVERITIES = [
  ["critical", "Critical", "#e11d48"],
  ["high", "High", "#f97316"],
  ["medium", "Medium", "#eab308"],
  ["low", "Low", "#38bdf8"],
  ["info", "Info", "#94a3b8"],
] as const;

/** Settles a request into its value, or the reason it failed, so one refused part (a role
 * without alerts) leaves the rest of the view. */
async function settle<T>(p: Promise<T>): Promise<T | ApiError | Error> {
  try {
    return await p;
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}

function refused(what: string, e: Error): HTMLElement {
  if (e instanceof ApiError && e.status === 403) {
    return notice("info", `Your role in this tenant does not show ${what}.`);
  }
  return notice("error", `${what}: ${e.message}`);
}

function investigateLink(ctx: Context, q: string, text: string, window: string): HTMLElement {
  return link(viewPath("investigate", ctx.tenant, { q, from: `now-${window}` }), text);
}

export async function overviewView(ctx: Context): Promise<void> {
  const window = WINDOWS.some(([w]) => w === ctx.params.get("window")) ? ctx.params.get("window")! : "1h";
  const wall = ctx.params.get("wall") === "1";
  // Not a live region: announcing the time every 30 s would drown a screen reader.
  const updated = h("span", { class: "muted" });
  const body = h("div", { class: "overview" });
  let paused = false;
  const pause = h("button", {
    type: "button",
    class: "secondary",
    "aria-pressed": "false",
    onclick: () => {
      paused = !paused;
      pause.setAttribute("aria-pressed", String(paused));
      pause.textContent = paused ? "Resume refresh" : "Pause refresh";
    },
  }, "Pause refresh");
  const windowSelect = h(
    "select",
    {
      id: "window",
      onchange: (e: Event) =>
        go(viewPath("overview", ctx.tenant, { window: (e.target as HTMLSelectElement).value, ...(wall ? { wall: "1" } : {}) })),
    },
    WINDOWS.map(([w, label]) => h("option", { value: w, selected: w === window }, label)),
  );
  const wallToggle = wall
    ? link(viewPath("overview", ctx.tenant, { window }), "Leave wall mode", { class: "button secondary" })
    : link(viewPath("overview", ctx.tenant, { window, wall: "1" }), "Wall mode", { class: "button secondary" });
  replace(
    ctx.main,
    h("div", { class: "view-head" },
      h("h1", null, wall ? `Shieldwall · ${ctx.tenant}` : "Overview"),
      h("label", null, "Period ", windowSelect),
      pause,
      wallToggle,
      updated),
    body,
  );

  // One load at a time, the next one 30 s after the last finished; stopped when the view is
  // left (registered before the first request, so a quick navigation cannot orphan it).
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  ctx.onLeave(() => {
    stopped = true;
    clearTimeout(timer);
  });
  const schedule = () => {
    if (!stopped) timer = setTimeout(tick, REFRESH_SECONDS * 1000);
  };
  const tick = async () => {
    try {
      if (!paused && document.visibilityState === "visible") await load();
    } finally {
      schedule();
    }
  };
  // The plan changes with the manifest and the evidence, not every 30 s: read once per view.
  const coverageOnce = settle(api.get<CoverageSummary>(tenantPath(ctx.tenant, "plan/coverage")));
  const readsSources = ctx.me.bindings.some(
    (b) => b.scope === ctx.tenant && (b.role === "security_admin" || b.role === "system_admin"),
  );
  const load = async () => {
    const [events, alerts, sources, coverage] = await Promise.all([
      settle(api.get<EventsOverview>(tenantPath(ctx.tenant, "events/overview"), { window })),
      settle(api.get<AlertSummary>(tenantPath(ctx.tenant, "alerts/summary"), { window })),
      // Sources are for administrators (read_sources): a common user's console does not ask,
      // so the audit trail is not filled with refusals every 30 s.
      readsSources
        ? settle(api.get<SourceView[]>(tenantPath(ctx.tenant, "sources")))
        : Promise.resolve(new ApiError(403, "Forbidden", "")),
      coverageOnce,
    ]);
    if (stopped || !ctx.current()) return;
    // Keep keyboard focus on the same link or button across the redraw.
    const focused = document.activeElement;
    const key = focused && body.contains(focused) ? focusKey(focused) : null;
    disposeCharts();
    replace(body, ...draw(ctx, window, events, alerts, sources), coveragePanel(ctx, coverage));
    if (key) (Array.from(body.querySelectorAll<HTMLElement>("a, button")).find((e) => focusKey(e) === key))?.focus();
    updated.textContent = `Updated ${time(new Date().toISOString())}`;
  };
  await load();
  schedule();
}

function focusKey(el: Element): string {
  return `${el.tagName}|${el.getAttribute("href") ?? ""}|${el.textContent ?? ""}`;
}

function draw(
  ctx: Context,
  window: string,
  events: EventsOverview | Error,
  alerts: AlertSummary | Error,
  sources: SourceView[] | Error,
): HTMLElement[] {
  const figures = h("section", { class: "figures", "aria-label": "Totals" });
  const out: HTMLElement[] = [figures];
  if (events instanceof Error) {
    out.push(refused("events", events));
  } else {
    figures.append(figure("events-total", events.total, "Events"));
    for (const k of events.kinds) figures.append(figure(`kind-${k.kind}`, k.total, KINDS[k.kind]?.[0] ?? k.kind));
    const xs = intervals(events.from, events.to, events.interval_secs);
    const series: Series[] = events.kinds.map((k) => ({
      label: KINDS[k.kind]?.[0] ?? k.kind,
      color: KINDS[k.kind]?.[1] ?? "#cbd5e1",
      points: new Map(k.buckets.map(([start, count]) => [Math.floor(new Date(start).getTime() / 1000), count])),
    }));
    out.push(h("section", { class: "panel wide" },
      timeChart(`Events per ${every(events.interval_secs)} by log kind`, xs, series)));
    const top = (title: string, field: string, values: { value: string; count: number }[], name: string) =>
      h("section", { class: "panel" }, table(title, ["Value", "Events"],
        values.map((v) => [investigateLink(ctx, `${field}:"${v.value.replace(/(["\\])/g, "\\$1")}"`, v.value, window), num(v.count)]),
        { "data-top": name }, "None in this period"));
    out.push(
      top("Top attack types", "attack_type", events.attack_types, "attack-types"),
      top("Top sources", "src_endpoint.ip", events.sources, "sources"),
      top("Top targets", "dst_endpoint.ip", events.targets, "targets"),
    );
  }
  if (alerts instanceof Error) {
    out.push(refused("alerts", alerts));
  } else {
    figures.append(figure("alerts-total", alerts.total, "Alerts raised"));
    figures.append(figure("alerts-unhandled", alerts.unhandled, "Not yet handled (all time)"));
    for (const [key, label] of SEVERITIES) figures.append(figure(`severity-${key}`, alerts.by_severity[key], label));
    const xs = intervals(alerts.from, alerts.to, alerts.interval_secs);
    const series: Series[] = SEVERITIES.map(([key, label, color]) => ({
      label,
      color,
      points: new Map(alerts.buckets.map((b) => [Math.floor(new Date(b.start).getTime() / 1000), b.counts[key]])),
    }));
    out.push(h("section", { class: "panel wide" },
      timeChart(`Alerts per ${every(alerts.interval_secs)} by severity`, xs, series, "stacked")));
    out.push(
      h("section", { class: "panel" }, table("Rules that raised the most alerts", ["Rule", "Alerts"],
        alerts.top_rules.map((r) => [link(viewPath("alerts", ctx.tenant, { rule: r.rule_id, state: "any" }), r.title), num(r.count)]),
        { "data-top": "rules" }, "None in this period")),
      h("section", { class: "panel" }, table("ATT&CK techniques and tactics seen", ["Tag", "Alerts"],
        alerts.attack.map((a) => [attackTag(a.value), num(a.count)]), { "data-top": "attack" }, "None in this period")),
    );
  }
  if (sources instanceof Error) {
    out.push(refused("sources", sources));
  } else {
    const silent = sources.filter((s) => s.silent);
    figures.append(figure("sources-silent", silent.length, `Silent sources of ${sources.length}`));
    out.push(h("section", { class: "panel" }, table("Sources gone silent", ["Source", "Kind", "Last delivered"],
      silent.map((s) => [s.name, s.kind, s.last_seen ? time(s.last_seen) : "never"]), { "data-top": "silent" }, "No source is silent")));
  }
  return out;
}

function every(seconds: number): string {
  if (seconds % 3600 === 0) return seconds === 3600 ? "hour" : `${seconds / 3600} hours`;
  if (seconds % 60 === 0) return seconds === 60 ? "minute" : `${seconds / 60} minutes`;
  return `${seconds} s`;
}

/** `attack.t1110.001` links to ATT&CK's page of the technique; tactics stay text. */
function attackTag(tag: string): HTMLElement | string {
  const m = /^attack\.(t\d{4})(?:\.(\d{3}))?$/i.exec(tag);
  if (!m) return tag.replace(/^attack\./, "");
  const id = m[1]!.toUpperCase() + (m[2] ? `.${m[2]}` : "");
  const path = m[1]!.toUpperCase() + (m[2] ? `/${m[2]}` : "");
  return h("a", { href: `https://attack.mitre.org/techniques/${path}/`, rel: "noopener noreferrer", target: "_blank" }, id);
}

/** CCM coverage by domain, from the plan of the tenant's manifest. */
function coveragePanel(ctx: Context, coverage: CoverageSummary | Error): HTMLElement {
  if (coverage instanceof ApiError && coverage.status === 404) {
    return h("section", { class: "panel" }, h("h2", null, "CCM coverage"),
      h("p", { class: "muted" }, "No manifest yet: ", link(viewPath("compliance", ctx.tenant), "upload one"), "."));
  }
  if (coverage instanceof Error) return h("section", { class: "panel" }, refused("the plan", coverage));
  const t = coverage.total;
  return h("section", { class: "panel" },
    table(`CCM coverage by domain (${coverage.framework}, ${num(Number(t.percent_met ?? 0))}% met)`, ["Domain", "Met", "Open"],
      coverage.domains.map((d) => [
        link(viewPath("compliance", ctx.tenant, { domain: String(d.domain) }), `${d.domain} ${d.name}`),
        h("span", { class: "percent" }, h("meter", { min: 0, max: 100, value: Number(d.percent_met), "aria-hidden": "true" }), ` ${Number(d.percent_met).toFixed(0)}%`),
        num(Number(d.gap)),
      ]), { "data-top": "coverage" }, "No controls"),
    h("p", { class: "muted" }, `${num(coverage.gaps)} gaps; evidence as of ${coverage.as_of}.`));
}
