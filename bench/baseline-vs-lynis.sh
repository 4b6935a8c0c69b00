#!/usr/bin/env bash
# Wazuh's whole CIS Debian 12 policy on this host with `shieldwall check baseline`, beside Lynis's
# full audit of the same host (`lynis audit system`), in one run: wall time and CPU seconds
# (user + system, the process and its children), medians of RUNS, and the ratio.
#
#   bench/baseline-vs-lynis.sh [RUNS] [quick]      (defaults: 3 runs; `quick` limits Lynis to its
#                                                  authentication tests, for a smoke run)
#
# Needs root (both tools read /etc/shadow and run sshd -T, auditctl and the like) and Lynis
# (installed from Debian's packages when missing). The policy comes from the shared test data
# (SHIELDWALL_SHARED, default ../shared).
source "$(dirname "$0")/lib.sh"
RUNS=${1:-3}
MODE=${2:-full}
SHARED=${SHIELDWALL_SHARED:-$ROOT/../shared}
POLICY="$SHARED/testdata/sca/wazuh/ruleset/sca/debian/cis_debian12.yml"
[ -f "$POLICY" ] || { echo "missing $POLICY (see its folder's PROVENANCE.md)" >&2; exit 1; }
command -v lynis >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq lynis
}
# The shared build (lib.sh): building shieldwall alone would pick other features of shared
# dependencies and rebuild a hundred crates.
build
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
LYNIS_ARGS=(audit system --no-colors --quick --cronjob --report-file "$WORK/lynis-report.dat" --logfile "$WORK/lynis.log")
[ "$MODE" = quick ] && LYNIS_ARGS+=(--tests-from-group authentication)

# Prints "WALL CPU" of a command, from GNU time's %e, %U and %S (children included).
measure() {
    /usr/bin/time -f '%e %U %S' -o "$WORK/time" "$@" > "$WORK/out" 2> "$WORK/err" || {
        echo "failed: $*" >&2; tail -5 "$WORK/err" >&2; exit 1; }
    awk '{ printf "%s %.2f\n", $1, $2 + $3 }' "$WORK/time"
}
command -v /usr/bin/time >/dev/null 2>&1 || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time
}

declare -a sw_wall sw_cpu ly_wall ly_cpu
for i in $(seq "$RUNS"); do
    read -r w c < <(measure "$SHIELDWALL" check baseline --policy "$POLICY" --format json --output "$WORK/sw.json")
    sw_wall+=("$w"); sw_cpu+=("$c")
    read -r w c < <(measure lynis "${LYNIS_ARGS[@]}")
    ly_wall+=("$w"); ly_cpu+=("$c")
    echo "run $i: shieldwall ${sw_wall[-1]} s wall ${sw_cpu[-1]} s CPU; lynis ${ly_wall[-1]} s wall ${ly_cpu[-1]} s CPU"
done
python3 - "$WORK/sw.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["reports"][0]["summary"]
print(f"shieldwall results: {s['pass']} pass, {s['fail']} fail, {s['not_applicable']} not applicable, {s['error']} error of 207 checks")
PY
echo "lynis tests performed: $(awk -F= '/^tests_executed=/ { n = split($2, a, "|"); print n - 1 }' "$WORK/lynis-report.dat")"
SW_WALL=$(printf '%s\n' "${sw_wall[@]}" | median); SW_CPU=$(printf '%s\n' "${sw_cpu[@]}" | median)
LY_WALL=$(printf '%s\n' "${ly_wall[@]}" | median); LY_CPU=$(printf '%s\n' "${ly_cpu[@]}" | median)
awk -v sw="$SW_WALL" -v sc="$SW_CPU" -v lw="$LY_WALL" -v lc="$LY_CPU" -v n="$RUNS" -v mode="$MODE" 'BEGIN {
    printf "median of %d (lynis %s): shieldwall %.2f s wall, %.2f s CPU; lynis %.2f s wall, %.2f s CPU\n", n, mode, sw, sc, lw, lc
    printf "ratio lynis/shieldwall: %.1fx wall, %.1fx CPU\n", lw / (sw > 0 ? sw : 0.01), lc / (sc > 0 ? sc : 0.01) }'
