// Time to first meaningful paint of the console, for bench/console-paint.sh: signs in once in
// Debian's Chromium (playwright-core), then loads the overview and a search page RUNS times each,
// in a new page each time (assets from the browser's cache, as for a returning user). A view's
// time is the page's own clock (performance.now(), from the start of the navigation) at the
// first frame drawn after its headline figure entered the page (a MutationObserver notes the
// figure, requestAnimationFrame the frame): `events-total` on the overview, `search-total` on a
// search.
// The slowest API answer of each load is reported too, from the page's resource timings. Prints
// one JSON object.
//
// Environment: PAINT_URL (https://127.0.0.1:PORT), PAINT_TENANT, PAINT_USER, PAINT_PASSWORD,
// PAINT_SECRET (base32 TOTP secret), PAINT_RUNS (default 5), PAINT_WINDOW (overview window,
// default 7d), PAINT_QUERY and PAINT_FROM (the search, default "failed" over now-7d),
// CHROMIUM (default /usr/bin/chromium).

import { chromium } from "playwright-core";
import { totp } from "./totp.mjs";

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined || v === "") throw new Error(`${name} is not set`);
  return v;
};
const base = env("PAINT_URL");
const tenant = env("PAINT_TENANT");
const runs = Number(env("PAINT_RUNS", "5"));
const overviewWindow = env("PAINT_WINDOW", "7d");
const query = env("PAINT_QUERY", "failed");
const from = env("PAINT_FROM", "now-7d");

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
const problems = [];
try {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1366, height: 768 } });
  await context.addInitScript(() => {
    const painted = {};
    window.__painted = painted;
    new MutationObserver(() => {
      for (const name of ["events-total", "search-total"]) {
        if (name in painted || !document.querySelector(`[data-figure="${name}"]`)) continue;
        painted[name] = null;
        requestAnimationFrame(() => { painted[name] = performance.now(); });
      }
    }).observe(document, { childList: true, subtree: true });
  });
  const login = await context.newPage();
  await login.goto(`${base}/console/`);
  await login.waitForSelector("form.login");
  await login.fill("#name", env("PAINT_USER"));
  await login.fill("#password", env("PAINT_PASSWORD"));
  await login.fill("#code", totp(env("PAINT_SECRET")));
  await login.click("form.login button[type=submit]");
  await login.waitForSelector("header.topbar", { timeout: 30000 });
  await login.close();

  /** Loads `path` in a new page; the page's time when `figure` appears, its value, and the
   * slowest API answer. */
  async function paint(path, figure) {
    const page = await context.newPage();
    page.on("pageerror", (e) => problems.push(`${path}: ${e.message}`));
    await page.goto(`${base}${path}`, { waitUntil: "commit" });
    const selector = `[data-figure="${figure}"]`;
    await page.waitForFunction((name) => typeof window.__painted?.[name] === "number", figure, { timeout: 600000 });
    const found = await page.evaluate(([s, name]) => ({
      ms: window.__painted[name],
      value: Number(document.querySelector(s).textContent.replace(/,/g, "")),
      api: Math.max(0, ...performance.getEntriesByType("resource")
        .filter((e) => e.name.includes("/api/v1/tenants/"))
        .map((e) => e.responseEnd - e.requestStart)),
    }), [selector, figure]);
    await page.close();
    return found;
  }

  const params = (extra) => new URLSearchParams({ tenant, ...extra }).toString();
  const overview = [];
  const search = [];
  for (let i = 0; i < runs; i++) {
    overview.push(await paint(`/console/overview?${params({ window: overviewWindow })}`, "events-total"));
    search.push(await paint(`/console/investigate?${params({ q: query, from })}`, "search-total"));
    process.stderr.write(`paint run ${i + 1}/${runs}: overview ${overview.at(-1).ms.toFixed(0)} ms, search ${search.at(-1).ms.toFixed(0)} ms\n`);
  }
  console.log(JSON.stringify({ overview, search, problems }));
} finally {
  await browser.close();
}
