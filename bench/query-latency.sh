#!/usr/bin/env bash
# Query latency on a store of generated events, and the store's size per million events.
#
#   bench/query-latency.sh [EVENTS] [ITERATIONS]     (defaults: 10000000 events, 200 calls per kind)
#
# `gen-events` writes EVENTS realistic events (syslog lines from templates: web access,
# firewall, sshd, sudo, web attacks, malware, unparsed; normalised by the built-in parsers; a
# week of event times with a daily cycle, Zipf-distributed addresses and users; fixed seed)
# straight into a new store through the library, committing every 10,000, and reports the time
# it took. `query-latency` then opens the store read-only and measures p50 and p99 of: a 1-hour
# range with a field filter (newest 100), a full-text term (count, and newest 100), and a count
# by source address (top 10 over 24 hours). The store lives in a temporary directory, removed
# at the end; the script refuses to start without room for it: 1,000 bytes per event (it takes
# about 620, and merges need room for a second copy of a day while they run) and 1 GiB to spare.
source "$(dirname "$0")/lib.sh"
EVENTS=${1:-10000000}
ITERATIONS=${2:-200}
build

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
need_disk_for_events "$EVENTS"
echo "generating $EVENTS events into $WORK/store ($((AVAIL_KB / 1024)) MiB free)"
"$BIN/gen-events" "$WORK/store" "$EVENTS" | tee "$WORK/gen.out"
"$BIN/query-latency" "$WORK/store" "$ITERATIONS"
RAW=$(awk '/^raw:/ { print $2 }' "$WORK/gen.out")
DU=$(du -sk "$WORK/store" | awk '{ print $1 * 1024 }')
awk -v n="$EVENTS" -v raw="$RAW" -v du="$DU" 'BEGIN {
    printf "size per million events: raw (as syslog lines) %.1f MB, store %.1f MB on disk (du), store/raw %.2f\n",
        raw / n, du / n, du / raw }'
