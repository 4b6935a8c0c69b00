#!/usr/bin/env bash
# End to end into the event store: syslog over TCP until stored and searchable, beside syslog-ng
# on the same input in the same run, and the store's size against the raw corpus.
#
#   bench/store-ingest.sh [LINES] [RUNS] [CORPUS]     (defaults: 300000 lines, 3 runs, mixed)
#
# - Shieldwall: `shieldwall serve` with a syslog-tcp source and the default [store] (no NDJSON
#   copy): each batch fsynced to the spool, parsed and normalised, appended to the tantivy store
#   and committed per pipeline batch. A run is complete when `shieldwall search '*' --count`
#   (a separate read-only open, which sees committed events only) prints LINES, polled every
#   0.1 s (each poll is a process that opens the store: about 10 ms of CPU).
# - syslog-ng 3.38 from Debian (lib.sh's run_syslog_ng): network() source over TCP, its syslog
#   header parser, JSON lines to a file, no fsync, no index: the "collection only" cost that the
#   ratio sets the index against.
#
# The sender is socat, reading the corpus: `mixed` is `gen-corpus mixed LINES 100` ( the parser tests' sample lines cycled, whose own timestamps
# fall on 27 different days from 1970 to 2026; events more than a day from their receipt are
# filed under the receive day, so a batch writes to one or two days);
# `generated` is `gen-events --lines LINES` (the events of bench/query-latency.sh as syslog
# lines: a week in time order, so a batch touches one or two days). Reported per tool:
# events/s (wall time from the first byte sent to the last event searchable, or written) and CPU
# seconds of the daemon (user + system, from /proc), medians of RUNS; the ratios; then the
# store's size on disk (`du` of <data_dir>/store once the server has stopped) per million events
# against the corpus's bytes per million lines.
source "$(dirname "$0")/lib.sh"
LINES=${1:-300000}
RUNS=${2:-3}
CORPUS=${3:-mixed}
build
need_socat
fetch_syslog_ng

WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
# A run's store takes 1.5 to 3 times its corpus (measured: 1.45 for this corpus, whose lines
# repeat; 2.6 for generated events) and is removed after the run: refuse rather than fill the disk.
case "$CORPUS" in
    mixed) "$GEN" mixed "$LINES" 100 > "$WORK/corpus" ;;
    generated)
        "$BIN/gen-events" --lines "$LINES" > "$WORK/corpus" ;;
    *) echo "CORPUS is mixed or generated, not $CORPUS" >&2; exit 2 ;;
esac
RAW_BYTES=$(stat -c %s "$WORK/corpus")
AVAIL_KB=$(df -Pk "$WORK" | awk 'NR == 2 { print $4 }')
NEED_KB=$(( RAW_BYTES * 4 / 1024 + 1024 * 1024 ))
if [ "$AVAIL_KB" -lt "$NEED_KB" ]; then
    echo "not enough free disk under $WORK: $((AVAIL_KB / 1024)) MiB free, want $((NEED_KB / 1024)) MiB" >&2
    exit 1
fi

run_shieldwall() {
    local port dir pid n
    port=$(free_port); dir="$WORK/sw.$1"; mkdir -p "$dir"
    cat > "$dir/shieldwall.toml" <<CONF
data_dir = "data"
[api]
listen = "127.0.0.1:0"
[[sources]]
type = "syslog-tcp"
name = "bench"
listen = "127.0.0.1:$port"
CONF
    "$SHIELDWALL" serve --config "$dir/shieldwall.toml" --log warn > "$dir/log" 2>&1 &
    pid=$!; PIDS+=("$pid")
    wait_for_count "ss -ltn | grep -c ':$port '" 1 20
    POLL_INTERVAL=0.1 WAIT_LIMIT=3600 measure_run "$pid" "$port" "'$SHIELDWALL' search '*' --count --store '$dir/data/store'"
    kill "$pid"; wait "$pid" 2>/dev/null || true
    n=$("$SHIELDWALL" search '*' --count --store "$dir/data/store")
    [ "$n" -eq "$LINES" ] || echo "warning: run $1 stored $n events, not $LINES" >&2
    du -sk "$dir/data/store" | awk '{ print $1 * 1024 }' >> "$WORK/store.sizes"
    rm -rf "$dir/data"
}

: > "$WORK/store.sizes"
for tool in syslog_ng shieldwall; do
    MEASURE_OUT="$WORK/$tool.results"; : > "$MEASURE_OUT"
    for r in $(seq "$RUNS"); do "run_$tool" "$r"; done
done
summary() { # tool -> "rate cpu"
    echo "$(cut -d' ' -f1 "$WORK/$1.results" | median) $(cut -d' ' -f2 "$WORK/$1.results" | median)"
}
read -r SNG_RATE SNG_CPU <<< "$(summary syslog_ng)"
read -r SW_RATE SW_CPU <<< "$(summary shieldwall)"
STORE_BYTES=$(median < "$WORK/store.sizes")
echo "corpus: $LINES $CORPUS syslog lines over TCP ($RAW_BYTES bytes), $RUNS runs each, medians"
printf '%-28s %12s events/s %8s CPU-s   (runs: %s)\n' "$SNG_VERSION" "$SNG_RATE" "$SNG_CPU" "$(tr '\n' ';' < "$WORK/syslog_ng.results")"
printf '%-28s %12s events/s %8s CPU-s   (runs: %s)\n' "shieldwall, stored+searchable" "$SW_RATE" "$SW_CPU" "$(tr '\n' ';' < "$WORK/shieldwall.results")"
awk -v a="$SW_RATE" -v b="$SNG_RATE" -v c="$SW_CPU" -v d="$SNG_CPU" 'BEGIN {
    printf "goal: >= 50000 events/s on 2 cores: %s\n", (a >= 50000 ? "met" : "not met")
    printf "ratio shieldwall/syslog-ng: throughput %.2f, CPU seconds %.2f\n", a / b, (d > 0 ? c / d : 0) }'
awk -v n="$LINES" -v raw="$RAW_BYTES" -v store="$STORE_BYTES" -v runs="$(tr '\n' ' ' < "$WORK/store.sizes")" 'BEGIN {
    printf "size per million events: raw corpus %.1f MB, store %.1f MB on disk (du; runs: %s), store/raw %.2f\n",
        raw * 1e6 / n / 1e6, store * 1e6 / n / 1e6, runs, store / raw }'
