#!/usr/bin/env bash
# API latency on a large store while ingest runs.
#
#   bench/api-latency.sh [EVENTS] [ITERATIONS] [RATE] [ATTACKERS]
#   (defaults: 10000000 events, 200 calls per kind, 2000 lines/s, 2000 brute-force alerts)
#
# `gen-events` writes EVENTS events into a new data directory's store (as bench/query-latency.sh
# does); `shieldwall serve` then runs on it with the shipped rules, its HTTPS API on a loopback
# port, and a TCP syslog source. bench/api_client.py signs in (first administrator made with
# `shieldwall admin init`, TOTP computed), creates an analyst bound as security_admin in tenant
# `default` with an API token, raises ATTACKERS alerts (ten failed SSH logins from each of as
# many addresses, which the shipped brute-force correlation turns into an alert each), starts
# sending a mixed corpus to the source at RATE lines/s, and measures p50 and p99 of alert listing, event searches (field term, full text) and a 24-hour
# count by source address, each ITERATIONS calls over one kept-alive TLS connection.
source "$(dirname "$0")/lib.sh"
EVENTS=${1:-10000000}
ITERATIONS=${2:-200}
RATE=${3:-2000}
ATTACKERS=${4:-2000}
build

WORK=$(mktemp -d)
PIDS=()
# The server drains and stops on SIGTERM; its files go only after it has.
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
need_disk_for_events "$EVENTS"
mkdir -p "$WORK/data" "$WORK/rules/default"
echo "generating $EVENTS events into $WORK/data/store"
"$BIN/gen-events" "$WORK/data/store" "$EVENTS" | grep -v '^raw:' || true
cp "$ROOT"/rules/base/*.yml "$ROOT"/rules/correlation/*.yml "$WORK/rules/default/"
"$GEN" mixed 50000 100 > "$WORK/corpus"

API_PORT=$(free_port)
SYSLOG_PORT=$(free_port)
cat > "$WORK/shieldwall.toml" <<TOML
data_dir = "data"
[api]
listen = "127.0.0.1:$API_PORT"
[detection]
rules_dir = "rules"
[[sources]]
type = "syslog-tcp"
name = "bench"
listen = "127.0.0.1:$SYSLOG_PORT"
time_zone = "UTC"
TOML
start_server
python3 "$ROOT/bench/api_client.py" "https://127.0.0.1:$API_PORT" "$CA" \
    admin "$PASSWORD" "$SECRET" "$WORK/corpus" "$SYSLOG_PORT" "$RATE" "$ITERATIONS" "$ATTACKERS"
