#!/usr/bin/env bash
# Time to first meaningful paint of the web console over a large store.
#
#   bench/console-paint.sh [EVENTS] [RUNS]     (defaults: 10000000 events, 5 loads of each view)
#
# `gen-events --ending-now` writes EVENTS events (as bench/query-latency.sh does, over the week
# up to the current hour) into a new data directory's store; `shieldwall serve` runs on it with
# its HTTPS API and console. An analyst bound as security_admin in tenant `default` signs in to
# the console in Debian's Chromium (web/tests/paint.mjs, playwright-core), which then loads the
# overview (window 7d) and a search ("failed" over the last 7 days) RUNS times each, a new page
# each time, and reads the page's own clock when the headline figure is in it (`events-total`,
# `search-total`). Prints each load, the medians, the figures shown against the store's own
# counts, and the slowest API answer of each load. No competitor is run: the issue names none,
# and Wazuh's dashboard (OpenSearch Dashboards) is not in the package registries this machine
# reaches.
source "$(dirname "$0")/lib.sh"
EVENTS=${1:-10000000}
RUNS=${2:-5}
(cd "$ROOT" && scripts/build-web > /dev/null)
build
[ -x /usr/bin/chromium ] || { echo "Debian's chromium is needed (apt-get install chromium; scripts/test-all installs it)" >&2; exit 1; }

WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
need_disk_for_events "$EVENTS"
mkdir -p "$WORK/data"
echo "generating $EVENTS events into $WORK/data/store (the week up to this hour)"
"$BIN/gen-events" --ending-now "$WORK/data/store" "$EVENTS" | grep -E '^(generated|store):' || true

API_PORT=$(free_port)
cat > "$WORK/shieldwall.toml" <<TOML
data_dir = "data"
[api]
listen = "127.0.0.1:$API_PORT"
TOML
start_server --log warn

# The analyst, made by the administrator through the API: its TOTP secret for the browser, and
# an API token of its own for the counts the views must show.
ANALYST_PASSWORD="analyst passphrase 2026"
read -r ANALYST_SECRET TOKEN < <(python3 - "$ROOT/bench" "https://127.0.0.1:$API_PORT" "$CA" admin "$PASSWORD" "$SECRET" "$ANALYST_PASSWORD" <<'PY'
import sys, urllib.parse
sys.path.insert(0, sys.argv[1])
from api_client import sign_in
base, ca, admin, password, secret, analyst_password = sys.argv[2:8]
root, _ = sign_in(base, ca, admin, password, secret)
created, _ = root.request("POST", "/api/v1/system/accounts", {"name": "analyst", "password": analyst_password, "roles": []})
analyst_secret = urllib.parse.parse_qs(urllib.parse.urlparse(created["otpauth_uri"]).query)["secret"][0]
binding, _ = root.request("POST", "/api/v1/system/bindings",
                          {"account_id": created["account"]["id"], "scope": "default", "role": "security_admin"})
# A code is accepted once per 30 s step; the browser signs in with the next one.
analyst, _ = sign_in(base, ca, "analyst", analyst_password, analyst_secret)
token, _ = analyst.request("POST", "/api/v1/me/tokens", {"binding_id": binding["id"], "name": "paint-bench"})
print(analyst_secret, token["token"])
PY
)
# The windows are relative to now and the events end at this hour, so the counts only fall as
# time passes: each figure shown must lie between the API's counts before and after the loads.
counts() {
    local overview matches
    overview=$(curl -s --fail --cacert "$CA" -H "authorization: Bearer $TOKEN" \
        "https://127.0.0.1:$API_PORT/api/v1/tenants/default/events/overview?window=7d")
    matches=$(curl -s --fail --cacert "$CA" -H "authorization: Bearer $TOKEN" \
        "https://127.0.0.1:$API_PORT/api/v1/tenants/default/events/aggregate?q=failed&from=now-7d")
    python3 -c 'import json, sys; print(json.loads(sys.argv[1])["total"], json.loads(sys.argv[2])["total"])' "$overview" "$matches"
}
read -r TOTAL_BEFORE MATCHES_BEFORE < <(counts)
echo "store: $EVENTS events; the overview's 7 days hold $TOTAL_BEFORE, the search \"failed\" over 7 days matches $MATCHES_BEFORE (API answers)"
# The analyst's code of this step was used above; the browser needs the next step's.
sleep $(( 31 - $(date +%s) % 30 ))
PAINT_URL="https://127.0.0.1:$API_PORT" PAINT_TENANT=default PAINT_USER=analyst PAINT_PASSWORD="$ANALYST_PASSWORD" \
    PAINT_SECRET="$ANALYST_SECRET" PAINT_RUNS="$RUNS" \
    node "$ROOT/web/tests/paint.mjs" > "$WORK/paint.json"
read -r TOTAL_AFTER MATCHES_AFTER < <(counts)
python3 - "$WORK/paint.json" "$TOTAL_AFTER" "$TOTAL_BEFORE" "$MATCHES_AFTER" "$MATCHES_BEFORE" <<'PY'
import json, statistics, sys
result = json.load(open(sys.argv[1]))
total_low, total_high, matches_low, matches_high = map(int, sys.argv[2:6])
ok = True
for name, figure, (low, high) in (("overview (7d)", "overview", (total_low, total_high)),
                                  ("search \"failed\" (7d)", "search", (matches_low, matches_high))):
    loads = result[figure]
    ms = [l["ms"] for l in loads]
    api = [l["api"] for l in loads]
    shown = sorted({l["value"] for l in loads})
    print("%-22s first paint median %8.0f ms (runs: %s); slowest API answer median %8.0f ms; figure shown %s, API %d..%d"
          % (name, statistics.median(ms), " ".join("%.0f" % m for m in ms), statistics.median(api), shown, low, high))
    if not all(low <= v <= high for v in shown):
        ok = False
        print("  a figure shown is outside the API's counts before and after", file=sys.stderr)
for problem in result["problems"]:
    ok = False
    print("page problem: " + problem, file=sys.stderr)
print("competitor: none run (the issue names none; Wazuh's dashboard is not in the reachable package registries)")
sys.exit(0 if ok else 1)
PY
