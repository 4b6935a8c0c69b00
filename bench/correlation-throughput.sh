#!/usr/bin/env bash
# Detection and correlation with the shipped rule set (rules/: 7 base rules, 11 correlations), on
# one core, as `shieldwall serve` runs them per tenant:
#
#   bench/correlation-throughput.sh [EVENTS] [KEYS] [RUNS]    (defaults: 1000000, 100000, 3)
#
# EVENTS normalised events (failed and successful logons, firewall drops, web requests, one
# millisecond apart) from KEYS distinct source addresses, the group key of most correlations.
# Reports events per second with the rules only, with correlation, and for the whole alert
# pipeline (alerts built, deduplicated and written to SQLite on disk in batches of 1,000 events)
# (medians of RUNS), the groups held at the end, and memory per group as the correlator estimates
# it and as resident memory grew. No competitor is run: none of the engines at hand correlates our events.
source "$(dirname "$0")/lib.sh"
EVENTS=${1:-1000000}
KEYS=${2:-100000}
RUNS=${3:-3}
build
BENCH="$BIN/correlation-bench"
rules=(); stage=(); alerts=(); out=""
for _ in $(seq "$RUNS"); do
    out=$(taskset -c 0 "$BENCH" "$EVENTS" "$KEYS")
    rules+=("$(sed -n 's/^rules only: \([0-9]*\) events\/s.*/\1/p' <<< "$out")")
    stage+=("$(sed -n 's/.*rules and correlation: \([0-9]*\) events\/s.*/\1/p' <<< "$out")")
    alerts+=("$(sed -n 's/^alert pipeline.*: \([0-9]*\) events\/s.*/\1/p' <<< "$out")")
done
echo "$out" | grep -E "^[0-9]+ events|^hits|^state|^memory|^alert pipeline"
printf 'rules only:            %8.0f events/s (median of %s: %s)\n' \
    "$(printf '%s\n' "${rules[@]}" | median)" "$RUNS" "${rules[*]}"
printf 'rules and correlation: %8.0f events/s (median of %s: %s)\n' \
    "$(printf '%s\n' "${stage[@]}" | median)" "$RUNS" "${stage[*]}"
printf 'alert pipeline:        %8.0f events/s (median of %s: %s)\n' \
    "$(printf '%s\n' "${alerts[@]}" | median)" "$RUNS" "${alerts[*]}"
