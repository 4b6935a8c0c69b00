// Reports: a period and sections, rendered by the server as one self-contained HTML page or as
// a PDF (no browser needed on the server). The links are plain API addresses: the browser
// sends the session cookie with them, and each report is recorded in the audit trail.

import { api, ApiError, tenantPath, type ReportMailing, type ReportSchedule } from "../api";
import { h, notice, replace, table, time } from "../dom";
import { go, viewPath, type Context } from "../main";

const PERIODS = [["24h", "Last 24 hours (per hour)"], ["7d", "Last 7 days (per day)"], ["30d", "Last 30 days (per day)"]] as const;
const SECTIONS = [
  ["overview", "Overview: events by log kind and over time, alerts raised and unhandled"],
  ["alerts", "Alerts: by severity and state, over time, the rules that raised the most"],
  ["attacks", "Attacks: attack types, ATT&CK techniques, top sources and targets"],
  ["compliance", "Compliance: CCM coverage by domain, the gaps with the highest risk"],
] as const;

export function reportsView(ctx: Context): void {
  const period = PERIODS.some(([p]) => p === ctx.params.get("period")) ? ctx.params.get("period")! : "7d";
  const asked = (ctx.params.get("sections") ?? "").split(",").filter((s) => SECTIONS.some(([k]) => k === s));
  const chosen = asked.length ? asked : SECTIONS.map(([k]) => k);
  const query = new URLSearchParams({ period, sections: chosen.join(",") }).toString();
  const base = `/api/v1/tenants/${encodeURIComponent(ctx.tenant)}/reports`;
  const form = h("form", { class: "panel report-form" },
    h("label", { for: "period" }, "Period"),
    h("select", { id: "period", name: "period" }, PERIODS.map(([p, label]) => h("option", { value: p, selected: p === period }, label))),
    h("fieldset", null, h("legend", null, "Sections"),
      SECTIONS.map(([key, label]) => h("div", null,
        h("input", { type: "checkbox", id: `section-${key}`, name: "sections", value: key, checked: chosen.includes(key) }),
        " ", h("label", { for: `section-${key}` }, label)))),
    h("button", { type: "submit" }, "Prepare"));
  const status = h("div", { role: "status" });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const sections = data.getAll("sections").map(String);
    if (sections.length === 0) {
      replace(status, h("p", { class: "notice notice-error" }, "Choose at least one section."));
      return;
    }
    go(viewPath("reports", ctx.tenant, { period: String(data.get("period") ?? "7d"), sections: sections.join(",") }));
  });
  // The links below describe the prepared report; changing the form withdraws them until it is
  // prepared again, so a download never silently uses the old choice.
  form.addEventListener("change", () => {
    links.hidden = true;
    replace(status, h("p", { class: "muted" }, "Choose “Prepare” to make the report of this choice."));
  });
  const links = h("section", { class: "panel" },
      h("h2", null, "This report"),
      h("p", null, `${PERIODS.find(([p]) => p === period)?.[1]}; sections: ${chosen.join(", ")}.`),
      h("ul", { class: "report-links" },
        h("li", null, h("a", { href: `${base}/html?${query}`, target: "_blank", rel: "noopener", "data-report": "html" }, "Open as a web page (HTML)")),
        h("li", null, h("a", { href: `${base}/pdf?${query}`, download: "", "data-report": "pdf" }, "Download as PDF"))));
  const scheduled = h("section", { class: "panel", "aria-busy": "true" }, h("h2", null, "Scheduled reports"), h("p", { class: "muted" }, "Loading…"));
  replace(ctx.main,
    h("div", { class: "view-head" }, h("h1", null, "Reports")),
    h("p", { class: "muted" }, "The server makes each report from the event and alert stores and the plan, for the whole hours or days of the period up to now."),
    form,
    status,
    links,
    scheduled);
  // Filled when it arrives: the form is usable (and focused) before.
  void showSchedules(ctx, scheduled);
}

async function showSchedules(ctx: Context, scheduled: HTMLElement): Promise<void> {
  let schedules: ReportSchedule[];
  try {
    schedules = (await api.get<{ schedules: ReportSchedule[] }>(tenantPath(ctx.tenant, "reports/schedules"))).schedules;
  } catch (e) {
    if (!ctx.current()) return;
    replace(scheduled, h("h2", null, "Scheduled reports"), e instanceof ApiError && e.status === 403
      ? notice("info", "Your role in this tenant does not show scheduled reports.")
      : notice("error", e instanceof Error ? e.message : String(e)));
    scheduled.removeAttribute("aria-busy");
    return;
  }
  if (!ctx.current()) return;
  scheduled.removeAttribute("aria-busy");
  const mailings = schedules.flatMap((s) => s.mailings.map((m) => [s.name, m] as const))
    .sort(([, a], [, b]) => b.id - a.id)
    .slice(0, 20);
  replace(scheduled,
    h("h2", null, "Scheduled reports"),
    h("p", { class: "muted" }, "Mailed by the server as the configuration's [[report]] tables say (docs/configuration.md); changed there, not here."),
    table("Schedules of this tenant", ["Name", "When", "Sections", "Files", "To channels", "Next"],
      schedules.map((s) => [s.name, s.schedule, s.sections.join(", "), s.formats.join(", ").toUpperCase(), s.channels.join(", "), time(s.next_due)]),
      { "data-table": "schedules" }, "No report is scheduled for this tenant."),
    table("Latest mailings", ["Due", "Schedule", "Channel", "State", "Attempts", "Last error"],
      mailings.map(([name, m]) => [time(m.due_at), name, m.channel, mailingState(m), String(m.attempts), m.last_error ?? ""]),
      { "data-table": "mailings" }, "Nothing mailed yet."));
}

function mailingState(m: ReportMailing): string {
  switch (m.state) {
    case "delivered": return `delivered ${time(m.done_at)}`;
    case "failed": return `given up ${time(m.done_at)}`;
    default: return "pending, to be retried";
  }
}
