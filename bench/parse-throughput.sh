#!/usr/bin/env bash
# Parse and normalise throughput of the built-in parsers on one core, on a mixed corpus built from
# the parser tests' real sample lines, and the share of the corpus parsed.
#
#   bench/parse-throughput.sh [LINES] [RUNS]     (defaults: 1000000 lines, 5 runs)
#
# Runs `shieldwall parse --summary` (read, syslog layer, dispatch, parse, build the event; no
# output per event) and reports lines per CPU second (user + system), median of the runs. The
# start-up cost (loading and compiling parsers, measured on empty input) is subtracted. Also
# runs the dispatch-scaling pairs: 10 vs 10,000 sending hosts, 10 vs 1,000 user parser types
# (each with its own regex; once with regexes of the simple shape, once with ones that need the
# regex engine). Regexes compile on first use, so their compile time counts as run time.
source "$(dirname "$0")/lib.sh"
LINES=${1:-1000000}
RUNS=${2:-5}
build
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

measure() { # name corpus [extra args...]
    local name=$1 corpus=$2; shift 2
    local rates=() out cpu base
    out=$( { TIMEFORMAT='%U %S'; time "$SHIELDWALL" parse --summary "$@" /dev/null > /dev/null; } 2>&1 )
    base=$(awk '{ print $1 + $2 }' <<< "$out")
    for _ in $(seq "$RUNS"); do
        out=$( { TIMEFORMAT='%U %S'; time "$SHIELDWALL" parse --summary "$@" "$corpus" > "$WORK/summary"; } 2>&1 )
        cpu=$(awk -v b="$base" '{ print $1 + $2 - b }' <<< "$out")
        rates+=("$(awk -v n="$LINES" -v c="$cpu" 'BEGIN { if (c <= 0.01) c = 0.01; printf "%.0f", n / c }')")
    done
    echo "  ($name: start-up ${base} CPU-s subtracted)"
    local med
    med=$(printf '%s\n' "${rates[@]}" | median)
    printf '%-34s %12s lines/CPU-s (median of %s; runs: %s)\n' "$name" "$med" "$RUNS" "${rates[*]}"
    echo "$med" > "$WORK/$name.rate"
}

"$GEN" mixed "$LINES" 10 > "$WORK/mixed-10"
"$GEN" mixed "$LINES" 10000 > "$WORK/mixed-10000"
measure mixed-corpus-10-hosts "$WORK/mixed-10"
tail -1 "$WORK/summary" | sed 's/^/  share: /'
measure mixed-corpus-10000-hosts "$WORK/mixed-10000"
for shape in simple backtracking; do
    for types in 10 1000; do
        mkdir -p "$WORK/$shape-$types"
        "$GEN" user-parsers "$types" "$LINES" "$WORK/$shape-$types/parsers.yaml" "$shape" > "$WORK/user-$shape-$types"
        measure "user-parsers-$shape-$types-types" "$WORK/user-$shape-$types" --parsers "$WORK/$shape-$types"
    done
done
ratio() { awk -v a="$(cat "$WORK/$1.rate")" -v b="$(cat "$WORK/$2.rate")" 'BEGIN { printf "%.2f", a / b }'; }
echo "ratio 10,000 hosts / 10 hosts:      $(ratio mixed-corpus-10000-hosts mixed-corpus-10-hosts)  (goal: >= 0.80)"
echo "ratio 1,000 types / 10 types:       $(ratio user-parsers-simple-1000-types user-parsers-simple-10-types)  (goal: >= 0.80; regexes walked without an engine)"
echo "  the same, backtracking regexes:  $(ratio user-parsers-backtracking-1000-types user-parsers-backtracking-10-types)  (\`.+\` before a literal: regex engine)"
