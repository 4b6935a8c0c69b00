// Time-series charts drawn by uPlot on canvas (no inline styles or scripts, so the page's
// Content-Security-Policy holds), each with a data table beside it for screen readers and for
// anyone who wants the numbers.

import uPlot from "uplot";
import { h, num, table, time } from "./dom";

export interface Series {
  label: string;
  color: string;
  /** Value per interval start (seconds since the epoch). */
  points: Map<number, number>;
}

/** Every interval start of `[from, to)`, so that empty intervals show as zero, not as gaps. */
export function intervals(from: string, to: string, step: number): number[] {
  const start = Math.floor(new Date(from).getTime() / 1000);
  const end = Math.floor(new Date(to).getTime() / 1000);
  const out: number[] = [];
  for (let t = start; t < end && out.length < 20000; t += step) out.push(t);
  return out;
}

const live = new Set<uPlot>();
const observer = new ResizeObserver((entries) => {
  for (const entry of entries) {
    const plot = (entry.target as HTMLElement & { plot?: uPlot }).plot;
    if (plot) plot.setSize(size(entry.target as HTMLElement));
  }
});

/** The plot's size: the frame's width, and a height from the window's (the frame grows to hold
 * the plot and its legend, so nothing overlaps). */
function size(el: HTMLElement): { width: number; height: number } {
  const width = Math.max(240, Math.floor(el.clientWidth));
  const wall = document.body.classList.contains("wall");
  const height = Math.round(Math.min(Math.max(window.innerHeight * (wall ? 0.2 : 0.25), 160), 1000));
  return { width, height };
}

/** Axis labels in the page's type size, which grows on large screens (canvas text does not
 * follow CSS). */
function axisFont(): number {
  return Math.round(parseFloat(getComputedStyle(document.body).fontSize) * 0.8) || 12;
}

function axis(): uPlot.Axis {
  const px = axisFont();
  return {
    stroke: "#cbd5e1",
    font: `${px}px system-ui, "Noto Sans", sans-serif`,
    size: px * 3.5,
    grid: { stroke: "#33415566" },
    ticks: { stroke: "#33415566" },
  };
}

/** Ends every chart of the previous view (their observers and canvases). */
export function disposeCharts(): void {
  for (const plot of live) plot.destroy();
  live.clear();
  observer.disconnect();
}

/** A chart of several series over the same intervals, with its data table. */
export function timeChart(
  title: string,
  xs: number[],
  series: Series[],
  kind: "lines" | "bars" | "stacked" = "lines",
): HTMLElement {
  const frame = h("div", { class: "chart", role: "img", "aria-label": `${title}: chart; the data table follows` });
  const figure = h("figure", { class: "chart-figure" }, h("figcaption", null, `${title} (UTC)`), frame);
  const values = series.map((s) => xs.map((x) => s.points.get(x) ?? 0));
  // Stacked bars: series i is drawn as the sum of itself and the series after it, first series
  // first, so each later (shorter) bar covers the lower part and every band shows its own count.
  const drawn = kind === "stacked"
    ? values.map((_, i) => xs.map((_, x) => values.slice(i).reduce((sum, v) => sum + (v[x] ?? 0), 0)))
    : values;
  const data: uPlot.AlignedData = [xs, ...drawn];
  const bars = kind === "lines" ? undefined : uPlot.paths.bars?.({ size: [0.8, 40] });
  const options: uPlot.Options = {
    ...size(frame),
    legend: { show: true, live: false },
    // Times on the axis in UTC, like every table of the console.
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
    // 24-hour times.
    fmtDate: (template) => uPlot.fmtDate(template.replace(/\{h\}/g, "{HH}").replace(/\{aa?\}/g, "")),
    axes: [axis(), { ...axis(), size: axisFont() * 4 }],
    series: [
      { label: "Time" },
      ...series.map((s) => ({
        label: s.label,
        stroke: s.color,
        width: 2,
        fill: kind === "lines" ? undefined : s.color + "cc",
        paths: bars,
        points: { show: false },
      })),
    ],
  };
  // Drawn once the element is in the page and has a width.
  queueMicrotask(() => {
    // A view left before this ran has nothing to draw into.
    if (!frame.isConnected) return;
    const plot = new uPlot({ ...options, ...size(frame) }, data, frame);
    (frame as HTMLElement & { plot?: uPlot }).plot = plot;
    live.add(plot);
    observer.observe(frame);
  });
  const rows = xs
    .map((x, i) => [x, values.map((v) => v[i] ?? 0)] as const)
    .filter(([, values]) => values.some((v) => v > 0))
    .map(([x, values]) => [time(new Date(x * 1000).toISOString()), ...values.map(num)]);
  const details = h(
    "details",
    { class: "chart-data" },
    h("summary", null, `${title}: data table (intervals with data)`),
    table(title, ["Interval start (UTC)", ...series.map((s) => s.label)], rows),
  );
  return h("div", { class: "chart-block" }, figure, details);
}
