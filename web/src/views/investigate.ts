// Investigation: the query language (docs/query.md), a period, the histogram of matches, facets
// whose values filter on click, a page of results, and one event's raw text beside its
// normalised fields. Searches go through /events, which records them in the audit trail.

import { api, tenantPath, type AggregateView, type EventPage } from "../api";
import { intervals, timeChart } from "../charts";
import { figure, h, notice, num, replace, table, time } from "../dom";
import { go, viewPath, type Context } from "../main";

const RANGES = [
  ["now-15m", "Last 15 minutes", 15 * 60],
  ["now-1h", "Last hour", 3600],
  ["now-6h", "Last 6 hours", 6 * 3600],
  ["now-24h", "Last 24 hours", 86400],
  ["now-7d", "Last 7 days", 7 * 86400],
  ["now-30d", "Last 30 days", 30 * 86400],
] as const;
const FACETS = ["log_kind", "class", "source", "src_endpoint.ip", "user.name", "attack_type"];
const PAGE = 50;
const INTERVALS: [string, number][] = [["1m", 60], ["5m", 300], ["15m", 900], ["1h", 3600], ["6h", 21600], ["1d", 86400]];

/** The smallest interval that draws the period in at most 120 bars. */
function interval(seconds: number): [string, number] {
  return INTERVALS.find(([, s]) => seconds / s <= 120) ?? ["1d", 86400];
}

/** `field:"value"` with the query language's escapes. */
export function term(field: string, value: string): string {
  return `${field}:"${value.replace(/(["\\])/g, "\\$1")}"`;
}

export async function investigateView(ctx: Context): Promise<void> {
  const q = ctx.params.get("q") ?? "";
  const from = RANGES.some(([r]) => r === ctx.params.get("from")) ? ctx.params.get("from")! : "now-1h";
  const to = ctx.params.get("to") ?? "";
  const search = (next: Record<string, string>) =>
    go(viewPath("investigate", ctx.tenant, Object.fromEntries(Object.entries({ q, from, ...next }).filter(([, v]) => v !== ""))));
  const input = h("input", {
    id: "q",
    type: "search",
    value: q,
    placeholder: "class:authentication status:failure user.name:root",
    "aria-describedby": "q-help",
    spellcheck: "false",
    autocomplete: "off",
  });
  const range = h("select", { id: "from" }, RANGES.map(([r, label]) => h("option", { value: r, selected: r === from }, label)));
  const form = h("form", { class: "searchbar", role: "search" },
    h("label", { for: "q", class: "visually-hidden" }, "Query"),
    input,
    h("label", { for: "from", class: "visually-hidden" }, "Period"),
    range,
    h("button", { type: "submit" }, "Search"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    search({ q: input.value.trim(), from: range.value, to: "" });
  });
  const results = h("div", { class: "investigate" });
  const status = h("p", { role: "status", class: "visually-hidden" });
  replace(ctx.main,
    h("div", { class: "view-head" }, h("h1", null, "Investigate")),
    form,
    h("p", { id: "q-help", class: "muted" }, "Fields and values, AND/OR/NOT, wildcards, ranges: see docs/query.md. Click a facet value to filter on it."),
    status,
    results);
  replace(results, h("p", { class: "muted" }, "Searching…"));

  const seconds = RANGES.find(([r]) => r === from)?.[2] ?? 3600;
  const [step, stepSeconds] = interval(seconds);
  let page: EventPage;
  let agg: AggregateView;
  try {
    [page, agg] = await Promise.all([
      api.get<EventPage>(tenantPath(ctx.tenant, "events"), { q, from, to, limit: PAGE }),
      api.get<AggregateView>(tenantPath(ctx.tenant, "events/aggregate"), {
        q, from, to, interval: step, count_by: FACETS.join(","), top: 5,
      }),
    ]);
  } catch (e) {
    replace(results, notice("error", e instanceof Error ? e.message : String(e)));
    return;
  }
  if (!ctx.current()) return;
  status.textContent = `${agg.total} matching events`;
  // The server searched [now - period, to): the chart spans the same, to the interval.
  const now = Date.now() / 1000;
  const until = to ? new Date(to).getTime() / 1000 : NaN;
  const end = Math.ceil((Number.isFinite(until) ? Math.min(until, now) : now) / stepSeconds) * stepSeconds;
  const start = Math.floor((now - seconds) / stepSeconds) * stepSeconds;
  const histogram = agg.results.find((r) => "interval_secs" in r) as { buckets: [string, number][] } | undefined;
  const points = new Map((histogram?.buckets ?? []).map(([t, c]) => [Math.floor(new Date(t).getTime() / 1000), c]));
  const xs = intervals(new Date(start * 1000).toISOString(), new Date(end * 1000).toISOString(), stepSeconds);

  const facets = h("aside", { class: "facets", "aria-label": "Facets" },
    agg.results
      .filter((r) => "field" in r && Array.isArray((r as { buckets?: unknown }).buckets))
      .map((r) => {
        const f = r as { field: string; buckets: [string, number][]; other: number };
        return h("section", { class: "facet" },
          h("h2", null, f.field),
          f.buckets.length === 0 ? h("p", { class: "muted" }, "no values") : h("ul", null, f.buckets.map(([value, count]) =>
            h("li", null, h("button", {
              type: "button",
              class: "link",
              "data-facet": `${f.field}=${value}`,
              onclick: () => search({ q: [q, term(f.field, value)].filter(Boolean).join(" "), to: "" }),
            }, value), " ", h("span", { class: "muted" }, num(count))))),
          f.other > 0 ? h("p", { class: "muted" }, `${num(f.other)} with other values`) : null);
      }));

  const detail = h("section", { class: "event-detail" });
  const rows = page.events.map((event) => {
    const button = h("button", {
      type: "button",
      class: "link",
      onclick: () => showEvent(detail, event),
    }, time(String(event.time ?? "")));
    return [button, String(event.source ?? ""), String(event.class ?? ""), String(event.message ?? event.raw ?? "").slice(0, 300)];
  });
  const older = page.next_to
    ? h("button", { type: "button", class: "secondary", onclick: () => search({ to: page.next_to! }) }, "Older events")
    : null;
  replace(results,
    h("section", { class: "figures" }, figure("search-total", agg.total, "Matching events")),
    page.unreadable.length ? notice("error", `Some partitions could not be read: ${page.unreadable.join(", ")}`) : null,
    h("section", { class: "panel wide" }, timeChart(`Matching events per ${step}`, xs, [{ label: "Events", color: "#60a5fa", points }], "bars")),
    h("div", { class: "results-grid" },
      facets,
      h("div", null,
        table(`Newest ${num(page.events.length)} of ${num(agg.total)} matching events`, ["Time (UTC)", "Source", "Class", "Message"], rows, { "data-results": "events" }, "No event matches"),
        older,
        detail)));
}

function flatten(value: unknown, prefix: string, out: [string, string][]): void {
  if (out.length > 500) return;
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix !== "raw") {
    out.push([prefix, typeof value === "string" ? value : JSON.stringify(value)]);
  }
}

function showEvent(detail: HTMLElement, event: Record<string, unknown>): void {
  const fields: [string, string][] = [];
  flatten(event, "", fields);
  replace(detail,
    h("h2", { tabindex: "-1", id: "event-detail-title" }, "Event"),
    h("h3", null, "Raw text"),
    h("pre", { class: "raw" }, String(event.raw ?? "")),
    h("h3", null, "Normalised fields"),
    h("dl", { class: "fields" }, fields.map(([k, v]) => [h("dt", null, k), h("dd", null, v)])));
  (detail.querySelector("#event-detail-title") as HTMLElement).focus();
}
