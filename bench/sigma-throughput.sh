#!/usr/bin/env bash
# Sigma rule evaluation, ours against rsigma 0.23.0, on the same normalised events and the same
# SigmaHQ rules, in one run:
#
#   bench/sigma-throughput.sh [EVENTS] [RUNS]     (defaults: 50000 events, 3 runs)
#
# The events are a realistic mixed stream (`sigma-bench events`): 60 % generated web access,
# firewall, SSH, sudo, web attack and malware events, 30 % SigmaHQ's Windows regression events,
# 10 % auditd, CloudTrail and Kubernetes samples, all normalised by our parsers. Each engine runs
# in its own process (`sigma-bench run`) on one core, with the first 100, the first 1,000 and all
# rule files of the corpus (name order); evaluation only is timed (events parsed and rules loaded
# before the clock starts). rsigma is given each event's product for its logsource pruning; both
# count the matches among the rules of each event's logsources (ours: `shieldwall-event`).
# Reports events per second (median of the runs), the ratio, the matches, the peak resident
# memory of each process (events included), and the memory of all rules loaded with no events.
#
# Needs the SigmaHQ corpus (../shared/testdata/sigma, or SHIELDWALL_SHARED_DIR).
source "$(dirname "$0")/lib.sh"
EVENTS=${1:-50000}
RUNS=${2:-3}
SHARED=${SHIELDWALL_SHARED_DIR:-$ROOT/../shared}
SIGMA="$SHARED/testdata/sigma"
[ -d "$SIGMA/rules" ] || { echo "no SigmaHQ corpus at $SIGMA (see its PROVENANCE.md)" >&2; exit 1; }
build
BENCH="$BIN/sigma-bench"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

"$BENCH" events "$SIGMA" "$ROOT/crates/parse/tests/samples" "$EVENTS" > "$WORK/events.ndjson"
echo "$(wc -l < "$WORK/events.ndjson") events, $(du -h "$WORK/events.ndjson" | cut -f1) of NDJSON"

field() { python3 -c "import json,sys; print(json.loads(sys.stdin.read())['$1'])"; }

for rules in 100 1000 all; do
    limit=$rules; [ "$rules" = all ] && limit=""
    declare -A rate=() matches=() memory=() loaded=()
    for engine in ours rsigma; do
        rates=()
        for _ in $(seq "$RUNS"); do
            # shellcheck disable=SC2086
            out=$(taskset -c 0 "$BENCH" run "$engine" "$SIGMA" "$WORK/events.ndjson" $limit 2>/dev/null)
            rates+=("$(field events_per_second <<< "$out")")
        done
        rate[$engine]=$(printf '%s\n' "${rates[@]}" | median)
        matches[$engine]=$(field matches <<< "$out")
        memory[$engine]=$(field peak_rss_kb <<< "$out")
        loaded[$engine]=$(field rules <<< "$out")
        printf '%-6s rules=%-5s %-7s %10.0f events/s (median of %s: %s)  matches %s  peak RSS %s MiB\n' \
            "$rules" "${loaded[$engine]}" "$engine" "${rate[$engine]}" "$RUNS" \
            "$(printf '%.0f ' "${rates[@]}")" "${matches[$engine]}" "$((${memory[$engine]} / 1024))"
    done
    awk -v a="${rate[ours]}" -v b="${rate[rsigma]}" -v r="$rules" \
        'BEGIN { printf "%-6s ratio ours/rsigma: %.2f\n", r, (b > 0 ? a / b : 0) }'
done

: > "$WORK/none.ndjson"
for engine in ours rsigma; do
    kb=$("$BENCH" run "$engine" "$SIGMA" "$WORK/none.ndjson" 2>/dev/null | field peak_rss_kb)
    printf 'all rules loaded, no events: %-7s peak RSS %s MiB\n' "$engine" "$((kb / 1024))"
done
