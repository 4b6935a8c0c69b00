#!/usr/bin/env bash
# Like for like with syslog-ng 3.38 from Debian: the same stream of syslog lines over TCP to each,
# one after the other, in one run.
#
#   bench/vs-syslog-ng.sh [LINES] [RUNS]     (defaults: 1000000 lines, 3 runs)
#
# - syslog-ng: network() source over TCP (newline framing), its syslog header parser, and a file
#   destination writing `$(format-json --scope rfc5424 --scope nv-pairs)`, one JSON object a line.
#   It does not fsync its output.
# - Shieldwall: `shieldwall serve` with a syslog-tcp source: each batch written and fsynced to the
#   durable spool before more is read, then the pipeline parses the message content with the
#   built-in parsers, normalises to the event schema, and appends NDJSON events (fsynced per batch).
#
# The sender is socat, reading the corpus file. A run is complete when the output holds LINES
# lines. Reported per tool: events/s (wall time from the first byte sent to the last line
# written) and CPU seconds of the daemon (user + system, from /proc), medians of RUNS; then the
# ratios. syslog-ng is taken from Debian's package without installing it (it conflicts with
# rsyslog, which the tests use): `apt-get download` + `dpkg -x` into target/bench-tools.
source "$(dirname "$0")/lib.sh"
LINES=${1:-1000000}
RUNS=${2:-3}
build
need_socat
fetch_syslog_ng

WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
"$GEN" mixed "$LINES" 100 > "$WORK/corpus"

run_shieldwall() {
    local port dir
    port=$(free_port); dir="$WORK/sw.$1"; mkdir -p "$dir"
    cat > "$dir/shieldwall.toml" <<CONF
data_dir = "data"
[store]
ndjson_copy = true
[[sources]]
type = "syslog-tcp"
name = "bench"
listen = "127.0.0.1:$port"
CONF
    "$SHIELDWALL" serve --config "$dir/shieldwall.toml" --log warn > "$dir/log" 2>&1 &
    local pid=$!; PIDS+=("$pid")
    wait_for_count "ss -ltn | grep -c ':$port '" 1 20
    measure_run "$pid" "$port" "cat '$dir'/data/events/*/*.ndjson | wc -l"
    kill "$pid"; wait "$pid" 2>/dev/null || true
}

for tool in syslog_ng shieldwall; do
    MEASURE_OUT="$WORK/$tool.results"; : > "$MEASURE_OUT"
    for r in $(seq "$RUNS"); do "run_$tool" "$r"; done
done
summary() { # tool -> "rate cpu"
    echo "$(cut -d' ' -f1 "$WORK/$1.results" | median) $(cut -d' ' -f2 "$WORK/$1.results" | median)"
}
read -r SNG_RATE SNG_CPU <<< "$(summary syslog_ng)"
read -r SW_RATE SW_CPU <<< "$(summary shieldwall)"
echo "corpus: $LINES mixed syslog lines over TCP, $RUNS runs each, medians"
printf '%-28s %12s events/s %8s CPU-s   (runs: %s)\n' "$SNG_VERSION" "$SNG_RATE" "$SNG_CPU" "$(tr '\n' ';' < "$WORK/syslog_ng.results")"
printf '%-28s %12s events/s %8s CPU-s   (runs: %s)\n' "shieldwall" "$SW_RATE" "$SW_CPU" "$(tr '\n' ';' < "$WORK/shieldwall.results")"
awk -v a="$SW_RATE" -v b="$SNG_RATE" -v c="$SW_CPU" -v d="$SNG_CPU" 'BEGIN {
    printf "ratio shieldwall/syslog-ng: throughput %.2f, CPU seconds %.2f\n", a / b, (d > 0 ? c / d : 0) }'
