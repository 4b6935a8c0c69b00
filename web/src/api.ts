// The console's only way to data: the public API, with the session cookie the browser keeps
// (HttpOnly, so script never sees it) and the CSRF token held in memory only. After a reload the
// token comes back from /api/v1/me; nothing is written to local or session storage.

export class ApiError extends Error {
  constructor(
    public status: number,
    public title: string,
    public detail: string,
  ) {
    super(detail ? `${title}: ${detail}` : title);
  }
}

let csrf: string | null = null;
let onSignedOut: () => void = () => {};

export function setCsrf(token: string | null): void {
  csrf = token;
}

export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

type Query = Record<string, string | number | undefined | null>;

function url(path: string, query?: Query): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v !== undefined && v !== null && v !== "") params.set(k, String(v));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

async function request<T>(method: string, path: string, query?: Query, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET" && csrf) headers["x-csrf-token"] = csrf;
  const response = await fetch(url(path, query), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
    cache: "no-store",
  });
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const problem = (data ?? {}) as { title?: string; detail?: string };
    if (response.status === 401 && path !== "/api/v1/login") onSignedOut();
    throw new ApiError(response.status, problem.title ?? response.statusText, problem.detail ?? "");
  }
  return data as T;
}

export const api = {
  get: <T>(path: string, query?: Query) => request<T>("GET", path, query),
  post: <T>(path: string, body: unknown) => request<T>("POST", path, undefined, body),
  put: <T>(path: string, body: unknown) => request<T>("PUT", path, undefined, body),
  del: <T>(path: string) => request<T>("DELETE", path),
};

export function tenantPath(tenant: string, rest: string): string {
  return `/api/v1/tenants/${encodeURIComponent(tenant)}/${rest}`;
}

// The wire types the views read (docs/openapi.json is their reference).
export interface MeBinding {
  id: number;
  scope: string;
  role: string;
}
export interface Me {
  account: string;
  bindings: MeBinding[];
  token: boolean;
  csrf?: string;
}
export interface TopValue {
  value: string;
  count: number;
}
export interface EventsOverview {
  from: string;
  to: string;
  interval_secs: number;
  total: number;
  kinds: { kind: string; total: number; buckets: [string, number][] }[];
  attack_types: TopValue[];
  sources: TopValue[];
  targets: TopValue[];
}
export type SeverityCounts = Record<"info" | "low" | "medium" | "high" | "critical", number>;
export interface AlertSummary {
  from: string;
  to: string;
  interval_secs: number;
  total: number;
  by_severity: SeverityCounts;
  by_state: { new: number; acknowledged: number; closed: number };
  unhandled: number;
  buckets: { start: string; counts: SeverityCounts }[];
  top_rules: { rule_id: string; title: string; count: number }[];
  attack: TopValue[];
}
export interface ReportMailing {
  id: number;
  due_at: string;
  channel: string;
  state: "pending" | "delivered" | "failed";
  attempts: number;
  last_error: string | null;
  done_at: string | null;
}
export interface ReportSchedule {
  name: string;
  every: "daily" | "weekly";
  schedule: string;
  period: string;
  sections: string[];
  formats: string[];
  channels: string[];
  next_due: string | null;
  mailings: ReportMailing[];
}
export interface SourceView {
  name: string;
  kind: string;
  accepted: number;
  dropped: number;
  rate: number;
  silent: boolean;
  last_seen: string | null;
}
export interface Alert {
  id: number;
  tenant: string;
  source: string;
  rule_id: string;
  title: string;
  author: string | null;
  license: string | null;
  level: string;
  severity: string;
  attack: string[];
  controls: string[];
  group: Record<string, string>;
  events: string[];
  count: number;
  first_seen: string;
  last_seen: string;
  state: string;
  assignee: string | null;
  resolution: string | null;
  created_at: string;
  updated_at: string;
}
export interface AlertDetail {
  alert: Alert;
  history: { id: number; at: string; actor: string; action: string; detail: string | null }[];
}
export interface EventPage {
  events: Record<string, unknown>[];
  next_to: string | null;
  unreadable: string[];
}
export interface AggregateView {
  total: number;
  results: Record<string, unknown>[];
}
export interface CoverageSummary {
  as_of: string;
  framework: string;
  domains: Record<string, string | number>[];
  total: Record<string, string | number>;
  gaps: number;
}
