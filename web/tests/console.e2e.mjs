// Drives the console in Debian's Chromium through playwright-core, as the server's test
// `crates/server/tests/console.rs` asks: signs in with a TOTP code computed here from the
// account's secret, visits each view, acts, reads back what the views show and what the API
// answers the same session, runs axe-core on each view, and saves screenshots. Prints one JSON
// object on its last line; exits non-zero only when it cannot drive the browser at all (the
// Rust test judges the figures).
//
// Environment: CONSOLE_URL (https://127.0.0.1:PORT), CONSOLE_TENANT, CONSOLE_ANALYST and
// CONSOLE_ANALYST_SECRET (base32), CONSOLE_USER and CONSOLE_USER_SECRET, CONSOLE_PASSWORD,
// CONSOLE_ALERT_TITLE (an alert to acknowledge), CONSOLE_QUERY, CONSOLE_FACET_FIELD,
// CONSOLE_ARTIFACTS (screenshot directory), CHROMIUM (default /usr/bin/chromium).

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { totp } from "./totp.mjs";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const base = env("CONSOLE_URL");
const tenant = env("CONSOLE_TENANT");
const artifacts = env("CONSOLE_ARTIFACTS");
mkdirSync(artifacts, { recursive: true });
const here = dirname(fileURLToPath(import.meta.url));
const axeSource = readFileSync(join(here, "..", "node_modules", "axe-core", "axe.min.js"), "utf8");

const result = { views: {}, axe: {}, problems: [], screenshots: [] };
const started = Date.now();
/** Progress on stderr, so a stuck step is named in the test's output. */
function step(name) {
  process.stderr.write(`console e2e: ${((Date.now() - started) / 1000).toFixed(1)} s: ${name}\n`);
}
// Nothing may hang the test: after five minutes, report what was done and stop.
const watchdog = setTimeout(() => {
  result.problems.push("driver: gave up after 300 s (see the last step on stderr)");
  console.log(JSON.stringify(result));
  process.exit(0);
}, 300_000);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});

/** A fresh browser context: no cookies, the self-signed certificate of the test server
 * accepted (the test's own certificate on 127.0.0.1), problems on the page collected. */
async function open(label, viewport = { width: 1366, height: 768 }) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport });
  const page = await context.newPage();
  page.on("console", (m) => {
    // The console asks /api/v1/me before sign-in (401), shows the API's refusals (403), a
    // tenant without a manifest (404) and a refused upload (400): Chromium logs those answers
    // as failed loads, which they are not. Page errors and CSP violations still count.
    const expected = /Failed to load resource: the server responded with a status of 40[0134]/;
    if (m.type() === "error" && !expected.test(m.text())) result.problems.push(`${label}: console: ${m.text()}`);
  });
  page.on("pageerror", (e) => result.problems.push(`${label}: page error: ${e.message}`));
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  return { context, page };
}

async function signIn(page, name, secret, checkAccessibility = false) {
  step(`sign in as ${name}`);
  await page.goto(`${base}/console/`);
  await page.waitForSelector("form.login");
  if (checkAccessibility) await axe(page, "login");
  await page.fill("#name", name);
  await page.fill("#password", env("CONSOLE_PASSWORD"));
  await page.fill("#code", totp(secret));
  await page.click("form.login button[type=submit]");
  await page.waitForSelector("header.topbar", { timeout: 15000 });
}

async function figures(page) {
  return page.$$eval("[data-figure]", (els) =>
    Object.fromEntries(els.map((e) => [e.getAttribute("data-figure"), Number(e.textContent.replace(/,/g, ""))])));
}

async function tops(page) {
  return page.$$eval("table[data-top]", (tables) =>
    Object.fromEntries(tables.map((t) => [t.getAttribute("data-top"),
      [...t.querySelectorAll("tbody tr")].filter((r) => r.cells.length > 1)
        .map((r) => [r.cells[0].textContent, Number(r.cells[1].textContent.replace(/,/g, ""))])])));
}

async function axe(page, view) {
  step(`axe: ${view}`);
  await page.evaluate(axeSource);
  const found = await page.evaluate(async () =>
    (await globalThis.axe.run(document, { resultTypes: ["violations"] })).violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length,
      targets: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
    })));
  result.axe[view] = found;
}

async function shot(page, name) {
  step(`screenshot: ${name}`);
  const path = join(artifacts, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  result.screenshots.push(path);
}

async function api(page, path) {
  return page.evaluate(async (p) => {
    const r = await fetch(p, { headers: { accept: "application/json" } });
    return { status: r.status, body: r.headers.get("content-type")?.includes("json") ? await r.json() : null };
  }, path);
}

try {
  // The analyst: a security administrator of the tenant.
  const { context, page } = await open("analyst");
  await signIn(page, env("CONSOLE_ANALYST"), env("CONSOLE_ANALYST_SECRET"), true);
  await page.waitForSelector('[data-figure="events-total"]');
  result.views.overview = {
    figures: await figures(page),
    tops: await tops(page),
    api_events: (await api(page, `/api/v1/tenants/${tenant}/events/overview?window=1h`)).body,
    api_alerts: (await api(page, `/api/v1/tenants/${tenant}/alerts/summary?window=1h`)).body,
    headers: await page.evaluate(async () => {
      const r = await fetch("/console/", { cache: "no-store" });
      const a = await fetch("/api/v1/me", { cache: "no-store" });
      return {
        ...Object.fromEntries(["content-security-policy", "x-frame-options", "x-content-type-options"].map((h) => [h, r.headers.get(h)])),
        api_csp: a.headers.get("content-security-policy"),
        api_frame: a.headers.get("x-frame-options"),
      };
    }),
  };
  await page.waitForSelector(".chart canvas");
  await shot(page, "overview-1366x768");
  await axe(page, "overview");

  // Investigate: a query, then a facet value as a filter.
  await page.click('nav a:has-text("Investigate")');
  await page.waitForSelector("#q");
  await page.fill("#q", env("CONSOLE_QUERY"));
  await page.click('form.searchbar button[type=submit]');
  await page.waitForSelector('[data-figure="search-total"]');
  await page.waitForFunction((q) => new URLSearchParams(location.search).get("q") === q, env("CONSOLE_QUERY"));
  await page.waitForSelector('table[data-results="events"]');
  const searched = await figures(page);
  const facetField = env("CONSOLE_FACET_FIELD");
  const facet = page.locator(`[data-facet^="${facetField}="]`).first();
  const facetValue = (await facet.getAttribute("data-facet")).slice(facetField.length + 1);
  await facet.click();
  await page.waitForFunction((f) => (new URLSearchParams(location.search).get("q") ?? "").includes(f), facetField);
  await page.waitForSelector('[data-figure="search-total"]');
  const filtered = await figures(page);
  const q = new URL(page.url()).searchParams.get("q");
  const firstRow = page.locator('table[data-results="events"] tbody tr button').first();
  await firstRow.click();
  await page.waitForSelector(".event-detail pre.raw");
  result.views.investigate = {
    total: searched["search-total"],
    api_total: (await api(page, `/api/v1/tenants/${tenant}/events/aggregate?q=${encodeURIComponent(env("CONSOLE_QUERY"))}&from=now-1h`)).body?.total,
    facet_value: facetValue,
    filtered_query: q,
    filtered_total: filtered["search-total"],
    api_filtered_total: (await api(page, `/api/v1/tenants/${tenant}/events/aggregate?q=${encodeURIComponent(q)}&from=now-1h`)).body?.total,
    detail_raw: await page.textContent(".event-detail pre.raw"),
  };
  await shot(page, "investigate-1366x768");
  await axe(page, "investigate");

  // Alerts: acknowledge one from the queue, then find it among the acknowledged. The page is
  // reloaded first, so the change carries the CSRF token the console got back from /me.
  await page.click('nav a:has-text("Alerts")');
  await page.waitForSelector('table[data-results="alerts"]');
  await page.reload();
  await page.waitForSelector('table[data-results="alerts"]');
  const title = env("CONSOLE_ALERT_TITLE");
  const row = page.locator('table[data-results="alerts"] tbody tr', { hasText: title }).first();
  const alertId = await row.locator("a[data-alert]").getAttribute("data-alert");
  await row.locator("input[type=checkbox]").check();
  await page.click('button:has-text("Acknowledge selected")');
  await page.waitForSelector('p.notice:has-text("1 acknowledged")');
  await shot(page, "alerts-1366x768");
  await axe(page, "alerts");
  await page.selectOption("#state", "acknowledged");
  await page.waitForSelector(`a[data-alert="${alertId}"]`);
  await page.click(`a[data-alert="${alertId}"]`);
  await page.waitForSelector('[data-field="state"]');
  await page.waitForSelector('table[data-results="alert-events"]');
  result.views.alerts = {
    matching_events: await page.locator('table[data-results="alert-events"] tbody tr').count(),
    acknowledged: alertId,
    state_shown: await page.textContent('[data-field="state"]'),
    api_state: (await api(page, `/api/v1/tenants/${tenant}/alerts/${alertId}`)).body?.alert?.state,
  };
  await shot(page, "alert-detail-1366x768");
  await axe(page, "alert-detail");

  // Compliance: a refused manifest shows the checker's words; a good one gives the grid.
  await page.click('nav a:has-text("Compliance")');
  await page.waitForSelector("#manifest-file");
  const noManifest = await page.textContent("main");
  await page.fill("#manifest", 'tenant = "acme"\nthis is not toml');
  await page.click('button:has-text("Check and upload")');
  await page.waitForSelector("div.notice-error pre");
  const refusal = await page.textContent("div.notice-error pre");
  await page.setInputFiles("#manifest-file", env("CONSOLE_MANIFEST"));
  await page.waitForFunction(() => document.querySelector("#manifest").value.length > 100);
  await page.click('button:has-text("Check and upload")');
  await page.waitForSelector('table[data-results="grid"]');
  const plan = (await api(page, `/api/v1/tenants/${tenant}/plan`)).body;
  result.views.compliance = {
    no_manifest_notice: noManifest.includes("no manifest yet"),
    refusal,
    figures: await figures(page),
    grid: await page.$$eval("td[data-cell]", (cells) => Object.fromEntries(cells.map((c) => [c.getAttribute("data-cell"), c.textContent]))),
    domain_rows: await page.locator('table[data-results="domains"] tbody tr').count(),
    gap_rows: await page.locator('table[data-results="gaps"] tbody tr').count(),
    api_total: plan.coverage.total,
    api_domains: plan.coverage.domains.length,
    api_gaps: plan.gaps.length,
    api_first_workload: plan.matrix[0],
  };
  await shot(page, "compliance-1366x768");
  await axe(page, "compliance");
  await page.selectOption("#status", "gap");
  await page.waitForFunction(() => new URLSearchParams(location.search).get("status") === "gap");
  await page.waitForSelector('table[data-results="controls"]');
  result.views.compliance.gap_controls_shown = await page.locator('table[data-results="controls"] caption').textContent();
  result.views.compliance.api_gap_controls = plan.coverage.controls.filter((c) => c.status === "gap").length;
  await page.click('nav a:has-text("Overview")');
  await page.waitForSelector('table[data-top="coverage"] tbody tr');
  result.views.compliance.overview_coverage = await page.locator('table[data-top="coverage"] tbody tr').count();

  // Reports: the last 24 hours, every section, as HTML and PDF.
  await page.click('nav a:has-text("Reports")');
  await page.waitForSelector("#period");
  await page.selectOption("#period", "24h");
  await page.click('form.report-form button[type=submit]');
  await page.waitForFunction(() => new URLSearchParams(location.search).get("period") === "24h");
  await shot(page, "reports-1366x768");
  await axe(page, "reports");
  const htmlHref = await page.getAttribute('a[data-report="html"]', "href");
  const pdfHref = await page.getAttribute('a[data-report="pdf"]', "href");
  const fetched = await page.evaluate(async ([h, p]) => {
    const html = await fetch(h);
    const pdf = await fetch(p);
    const bytes = new Uint8Array(await pdf.arrayBuffer());
    let binary = "";
    for (const b of bytes) binary += String.fromCharCode(b);
    return {
      html: await html.text(), html_type: html.headers.get("content-type"), html_csp: html.headers.get("content-security-policy"),
      pdf: btoa(binary), pdf_type: pdf.headers.get("content-type"), pdf_disposition: pdf.headers.get("content-disposition"),
    };
  }, [htmlHref, pdfHref]);
  const pdfPath = join(artifacts, "report-24h.pdf");
  writeFileSync(pdfPath, Buffer.from(fetched.pdf, "base64"));
  writeFileSync(join(artifacts, "report-24h.html"), fetched.html);
  const reportPage = await context.newPage();
  await reportPage.goto(`${base}${htmlHref}`);
  await reportPage.waitForSelector("h1");
  await shot(reportPage, "report-html");
  await axe(reportPage, "report-html");
  await reportPage.close();
  // The tenant's scheduled reports, as the view lists them and as the API answers.
  await page.waitForSelector('table[data-table="mailings"]');
  const rowsOf = (name) => page.locator(`table[data-table="${name}"] tbody tr`)
    .evaluateAll((rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
  const scheduleRows = await rowsOf("schedules");
  const mailingRows = await rowsOf("mailings");
  const apiSchedules = await page.evaluate((t) => fetch(`/api/v1/tenants/${t}/reports/schedules`).then((r) => r.json()), "acme");
  result.views.reports = {
    schedule_rows: scheduleRows,
    mailing_rows: mailingRows,
    api_schedules: apiSchedules,
    html_href: htmlHref,
    pdf_path: pdfPath,
    html_path: join(artifacts, "report-24h.html"),
    html_type: fetched.html_type,
    html_csp: fetched.html_csp,
    pdf_type: fetched.pdf_type,
    pdf_disposition: fetched.pdf_disposition,
  };

  // Administration for a security administrator: sources and rules, no accounts, no audit trail.
  await page.click('nav a:has-text("Administration")');
  await page.waitForSelector('table[data-results="sources"]');
  await page.waitForSelector('table[data-results="rules"], section.admin-section p.notice');
  result.views.admin_security = {
    sections: await page.$$eval("section.admin-section h2", (hs) => hs.map((x) => x.textContent)),
  };
  await shot(page, "admin-security-1366x768");
  await axe(page, "admin-security");

  // The wall screen at 4K.
  const wall = await context.newPage();
  await wall.setViewportSize({ width: 3840, height: 2160 });
  await wall.goto(`${base}/console/overview?tenant=${tenant}&wall=1`);
  await wall.waitForSelector(".chart canvas");
  // No refresh may replace the page under axe.
  await wall.click('button:has-text("Pause refresh")');
  result.views.wall = { figures: await figures(wall), has_nav: (await wall.$("header.topbar")) !== null };
  await shot(wall, "overview-wall-3840x2160");
  await axe(wall, "wall");
  await context.close();

  // A common user: sees the tenant's overview, no other tenant, and the API refuses what the
  // role does not allow even when the console is asked for it.
  const user = await open("user");
  await signIn(user.page, env("CONSOLE_USER"), env("CONSOLE_USER_SECRET"));
  await user.page.goto(`${base}/console/overview?tenant=${encodeURIComponent(env("CONSOLE_OTHER_TENANT"))}`);
  await user.page.waitForSelector('[data-figure="events-total"], p.notice');
  result.views.user = {
    tenant_options: await user.page.$$eval("#tenant option", (os) => os.map((o) => o.value)),
    title: await user.page.title(),
    other_tenant_api: (await api(user.page, `/api/v1/tenants/${env("CONSOLE_OTHER_TENANT")}/events/overview`)).status,
    admin_api: (await api(user.page, "/api/v1/system/accounts")).status,
    nav: await user.page.$$eval("nav a", (as) => as.map((a) => a.textContent)),
  };
  await user.page.goto(`${base}/console/alerts?tenant=${tenant}&state=acknowledged`);
  await user.page.waitForSelector('table[data-results="alerts"]');
  await user.page.locator('table[data-results="alerts"] tbody input[type=checkbox]').first().check();
  await user.page.click('button:has-text("Close selected")');
  await user.page.waitForSelector("p.notice");
  await user.page.fill("#resolution", "not mine to close");
  await user.page.click('button:has-text("Close selected")');
  await user.page.waitForSelector('p.notice:has-text("refused")');
  result.views.user.close_notice = await user.page.textContent("p.notice");
  await user.page.goto(`${base}/console/compliance?tenant=${tenant}`);
  await user.page.waitForSelector('table[data-results="grid"]');
  await user.page.fill("#manifest", readFileSync(env("CONSOLE_MANIFEST"), "utf8"));
  await user.page.click('button:has-text("Check and upload")');
  await user.page.waitForSelector("p.notice-error");
  result.views.user.upload_notice = await user.page.textContent("p.notice-error");
  // The user's own API token: made in the console, usable for the user's role, revoked there.
  await user.page.click("a.who");
  await user.page.waitForSelector('table[data-results="tokens"]');
  await axe(user.page, "account");
  await user.page.fill("#token-name", "my-script");
  await user.page.fill("#token-days", "7");
  await user.page.click('button:has-text("Create token")');
  await user.page.waitForSelector('pre[data-token="new"]');
  await user.page.waitForSelector('table[data-results="tokens"] tbody tr button');
  await shot(user.page, "account-1366x768");
  const token = (await user.page.textContent('pre[data-token="new"]')).trim();
  const withToken = (path) => user.page.evaluate(async ([p, t]) => (await fetch(p, { headers: { authorization: `Bearer ${t}` }, credentials: "omit" })).status, [path, token]);
  result.views.user.token = {
    shown: token.startsWith("swa_"),
    rows: await user.page.$$eval('table[data-results="tokens"] tbody tr', (rows) => rows.map((r) => [...r.cells].map((c) => c.textContent))),
    own_tenant: await withToken(`/api/v1/tenants/${tenant}/events/aggregate`),
    other_tenant: await withToken(`/api/v1/tenants/${env("CONSOLE_OTHER_TENANT")}/events/aggregate`),
  };
  await user.page.click('table[data-results="tokens"] tbody tr button:has-text("Revoke")');
  await user.page.waitForSelector('table[data-results="tokens"] tbody tr td:has-text("revoked")');
  result.views.user.token.after_revoke = await withToken(`/api/v1/tenants/${tenant}/events/aggregate`);
  await user.page.goto(`${base}/console/admin?tenant=${tenant}`);
  await user.page.waitForSelector("main p.notice");
  result.views.user.admin_notice = await user.page.textContent("main p.notice");
  result.views.user.admin_sections = await user.page.locator("section.admin-section").count();
  await shot(user.page, "user-alerts-1366x768");
  await user.context.close();

  // The tenant's system administrator makes an account; the audit administrator reads the trail.
  const sysadmin = await open("sysadmin");
  await signIn(sysadmin.page, env("CONSOLE_SYSADMIN"), env("CONSOLE_SYSADMIN_SECRET"));
  await sysadmin.page.goto(`${base}/console/admin?tenant=${tenant}`);
  await sysadmin.page.waitForSelector('table[data-results="accounts"]');
  await sysadmin.page.fill("#new-account", "new-analyst");
  await sysadmin.page.fill("#new-password", "a long enough passphrase");
  await sysadmin.page.selectOption("#new-role", "user");
  await sysadmin.page.click('button:has-text("Create account")');
  await sysadmin.page.waitForSelector("section.admin-section pre.raw");
  await sysadmin.page.waitForSelector('table[data-results="accounts"] td:text-is("new-analyst")', { timeout: 10000 }).catch(() => {});
  result.views.sysadmin = {
    listed: await sysadmin.page.$$eval('table[data-results="accounts"] tbody tr', (rows) => rows.map((r) => r.cells[0]?.textContent)),
    sections: await sysadmin.page.$$eval("section.admin-section h2", (hs) => hs.map((x) => x.textContent)),
    enrolment: await sysadmin.page.textContent("section.admin-section pre.raw"),
  };
  await shot(sysadmin.page, "admin-system-1366x768");
  await axe(sysadmin.page, "admin-system");
  await sysadmin.context.close();
  const auditor = await open("auditor");
  await signIn(auditor.page, env("CONSOLE_AUDITOR"), env("CONSOLE_AUDITOR_SECRET"));
  await auditor.page.goto(`${base}/console/admin?tenant=${tenant}`);
  await auditor.page.waitForSelector('table[data-results="audit"] tbody tr');
  result.views.auditor = {
    sections: await auditor.page.$$eval("section.admin-section h2", (hs) => hs.map((x) => x.textContent)),
    records: await auditor.page.$$eval('table[data-results="audit"] tbody tr', (rows) => rows.map((r) => [...r.cells].map((c) => c.textContent))),
  };
  await shot(auditor.page, "admin-audit-1366x768");
  await axe(auditor.page, "admin-audit");
  await auditor.context.close();
} catch (e) {
  result.problems.push(`driver: ${e.stack ?? e}`);
} finally {
  step("done");
  clearTimeout(watchdog);
  await browser.close();
}
console.log(JSON.stringify(result));
